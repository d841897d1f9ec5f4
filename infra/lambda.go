package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// FunctionSpec describes one Go Lambda built by `make build`.
type FunctionSpec struct {
	// Name is the directory under functions/ and dist/ (e.g. "compact-plan").
	Name string
	// Env is exactly the environment the function reads.
	Env map[string]string
	// TimeoutSeconds and MemoryMB size the function.
	TimeoutSeconds, MemoryMB float64
	// Wildcards says why the wildcard resources the stack grants the role
	// beyond its own log streams are needed; empty when there are none.
	// It is part of the reason of the role's cdk-nag IAM5 suppression.
	Wildcards string
}

// Function is a deployed Lambda with its own role.
type Function struct {
	Fn   awslambda.Function
	Role awsiam.Role
}

// AssetPath is the directory `make build` writes the function's bootstrap to.
func AssetPath(cfg Config, name string) string { return filepath.Join(cfg.AssetDir, name) }

// CheckAssets fails, naming the first, if a function's bootstrap is missing:
// jsii would otherwise fail deep inside synth with a path and no advice.
func CheckAssets(cfg Config, names ...string) error {
	for _, n := range names {
		p := filepath.Join(AssetPath(cfg, n), "bootstrap")
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("lambda asset %s: %w (run `make build` first, or set %sassetDir)", p, err, ContextPrefix)
		}
	}
	return nil
}

// NewFunction creates a provided.al2023/arm64 Lambda from dist/<name>, with
// a role of its own that may only write to its own log group: every other
// permission is granted explicitly by the stack that uses it.
func NewFunction(scope constructs.Construct, cfg Config, region string, spec FunctionSpec) Function {
	names := NamesFor(cfg)
	id := topology.Camel(spec.Name)
	fnName := names.Function(spec.Name)
	logGroupName := "/aws/lambda/" + fnName

	lg := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(logGroupName),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	lg.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(float64(cfg.LogRetentionDays)))

	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Pendulum " + spec.Name + " Lambda"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(names.LogGroupARN(region, logGroupName)),
	}))

	env := map[string]*string{}
	for k, v := range spec.Env {
		env[k] = jsii.String(v)
	}
	timeout := spec.TimeoutSeconds
	if timeout == 0 {
		timeout = 30
	}
	memory := spec.MemoryMB
	if memory == 0 {
		memory = 256
	}
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		FunctionName: jsii.String(fnName),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(AssetPath(cfg, spec.Name)), nil),
		Role:         role,
		Environment:  &env,
		Timeout:      awscdk.Duration_Seconds(jsii.Number(timeout)),
		MemorySize:   jsii.Number(memory),
		LogGroup:     lg,
		Description:  jsii.String("Pendulum " + spec.Name),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String(strings.TrimSpace("Log streams of the function's own log group (log-group:/aws/lambda/<name>:*). " + spec.Wildcards)),
	}}, jsii.Bool(true))
	return Function{Fn: fn, Role: role}
}

// suppress attaches cdk-nag suppressions, each with its reason, to a
// construct and its children.
func suppress(c constructs.IConstruct, rules map[string]string) {
	// In rule order, not map order: the template must be the same on every
	// synth, or every deploy would show a spurious change.
	var s []*cdknag.NagPackSuppression
	for _, id := range slices.Sorted(maps.Keys(rules)) {
		s = append(s, &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-" + id), Reason: jsii.String(rules[id])})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
}
