package main

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/readiness"
)

// ReadinessFunction is the readiness check's function directory
// (functions/readiness) and name (<prefix>-readiness).
const ReadinessFunction = "readiness"

// ReadinessOutput is the Recovery stack's output naming the readiness
// function, which `make verify-deploy` invokes.
const ReadinessOutput = readiness.OutputFunctionName

// recoveryPointEnv is the recovery-point check's environment, which the
// readiness function and dr-verify (the isolated drill) share: B's vault,
// P's aggregates table, and the most the newest copy's age may be — the
// backup plan's longest interval plus readiness.RecoveryPointMargin.
func recoveryPointEnv(c drContext) map[string]string {
	n := c.names
	return map[string]string{
		readiness.EnvBackupVault:           n.BackupVault(),
		readiness.EnvRecoveryPointResource: n.TableARN(c.cfg.PrimaryRegion, n.AggregatesTable()),
		readiness.EnvRecoveryPointMaxAge:   c.cfg.RecoveryPointMaxAge().String(),
	}
}

// readinessWildcards says why the readiness role has wildcard resources
// (its cdk-nag IAM5 suppression).
const readinessWildcards = "CloudWatch GetMetricStatistics and PutMetricData (conditioned on its namespace) support no resource-level permissions (\"*\"); " +
	"the workload stacks' IDs (stack/<name>/*); the accelerator's endpoint groups (<accelerator ARN>/*)."

// readinessMachines are the DR state machines with the digest of the
// definitions they are synthesized from (readiness.DefinitionDigest: not
// hex, which the assembly snapshot's normalization would take for an
// asset hash).
func readinessMachines(cfg Config) ([]readiness.StateMachine, error) {
	n := NamesFor(cfg)
	var out []readiness.StateMachine
	for _, m := range DRMachines(cfg.Machines) {
		def, err := cfg.Machines.Definition(m)
		if err != nil {
			return nil, err
		}
		out = append(out, readiness.StateMachine{Name: m, ARN: n.StateMachineARN(cfg.BackupRegion, m), SHA256: readiness.DefinitionDigest(def)})
	}
	return out, nil
}

// readinessPermissions are the readiness role's grants: reads of what the
// checks look at, each on this deployment's resources in its region, the
// readiness metrics in the installation's namespace.
func readinessPermissions(c drContext, machines []readiness.StateMachine) []Permission {
	n, P, B, acct := c.names, c.cfg.PrimaryRegion, c.cfg.BackupRegion, c.cfg.Account
	var stacks, smARNs []string
	for _, r := range []string{P, B} {
		stacks = append(stacks, fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/*", r, acct, n.Stack("workload", r)))
	}
	for _, m := range machines {
		smARNs = append(smARNs, m.ARN)
	}
	return []Permission{
		{Actions: []string{"backup:ListRecoveryPointsByBackupVault"}, Resources: []string{n.BackupVaultARN(B)}},
		{Actions: []string{"cloudwatch:GetMetricStatistics"}, Resources: []string{"*"}},
		{Actions: []string{"cloudwatch:PutMetricData"}, Resources: []string{"*"},
			Conditions: map[string]map[string][]string{"StringEquals": {"cloudwatch:namespace": {readiness.MetricNamespace}}}},
		{Actions: []string{"cloudformation:DescribeStacks", "cloudformation:GetTemplate"}, Resources: stacks},
		{Actions: []string{"states:DescribeStateMachine"}, Resources: smARNs},
		{Actions: []string{"globalaccelerator:DescribeEndpointGroup"}, Resources: []string{c.accARN + "/*"}},
		{Actions: []string{"dynamodb:DescribeContinuousBackups"}, Resources: []string{n.TableARN(P, n.AggregatesTable()), n.TableARN(B, n.AggregatesTable())}},
		{Actions: []string{"dynamodb:GetItem"}, Resources: []string{n.TableARN(B, n.ControlTable())}},
	}
}

// addReadiness adds the readiness function, its schedule and the output
// naming it. Its not-ready alarm is one of B's alarms (observe.go).
func (r *RecoveryStack) addReadiness(cfg Config, c drContext) (Function, error) {
	n := NamesFor(cfg)
	machines, err := readinessMachines(cfg)
	if err != nil {
		return Function{}, err
	}
	var rules []readiness.ReplicationRule
	for _, kind := range dataKinds {
		rules = append(rules, readiness.ReplicationRule{Source: n.Bucket(kind, cfg.PrimaryRegion), Destination: n.Bucket(kind, cfg.BackupRegion), Rule: replicationRuleID(cfg)})
	}
	env := DRFunction{}.env(c)
	for k, v := range recoveryPointEnv(c) {
		env[k] = v
	}
	rulesJSON, _ := json.Marshal(rules)
	machinesJSON, _ := json.Marshal(machines)
	env[readiness.EnvReplicationRules] = string(rulesJSON)
	env[readiness.EnvStateMachines] = string(machinesJSON)
	env[readiness.EnvInterval] = cfg.ReadinessInterval().String()
	fn := NewFunction(r.Stack, cfg, cfg.BackupRegion, FunctionSpec{
		Name: ReadinessFunction, Env: env, TimeoutSeconds: 120, Wildcards: readinessWildcards,
	})
	for _, p := range readinessPermissions(c, machines) {
		fn.Role.AddToPolicy(p.statement())
	}
	// sns:Publish on the topic, and its key's use when it has one.
	r.Topic.GrantPublish(fn.Role)
	awsevents.NewRule(r.Stack, jsii.String("ReadinessSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the readiness check (docs/dr.md \"Readiness\")"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(cfg.ReadinessSchedule)),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn.Fn, nil)},
	})
	awscdk.NewCfnOutput(r.Stack, jsii.String(ReadinessOutput), &awscdk.CfnOutputProps{
		Value:       fn.Fn.FunctionName(),
		Description: jsii.String("The readiness check's function: make verify-deploy invokes it once"),
	})
	return fn, nil
}
