package local

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// deploy rehearses `cdk bootstrap` and `cdk deploy --all`: the bootstrap
// stack in every region, then every stack of the assembly in the
// manifest's order, each in its own region, each awaited.
func (l *Local) deploy(ctx context.Context) error {
	if err := l.bootstrap(ctx); err != nil {
		return err
	}
	if l.opts.HTTPS {
		if err := l.importCertificates(ctx, l.Regions.Primary, l.Regions.Backup); err != nil {
			return err
		}
	}
	for _, s := range l.opts.Assembly.Stacks {
		if err := l.deployStack(ctx, s); err != nil {
			return err
		}
	}
	if err := l.readDeployed(ctx); err != nil {
		return err
	}
	// Operator switches: a disabled rule is what an operator would set.
	if l.opts.NoAutoFailover {
		if err := l.disableRules(ctx, "failover"); err != nil {
			return err
		}
	}
	if l.opts.NoCanary {
		if err := l.disableRules(ctx, "health"); err != nil {
			return err
		}
	}
	return nil
}

func (l *Local) deployStack(ctx context.Context, s assembly.Stack) error {
	body := s.Template
	if l.opts.EditTemplate != nil {
		body = l.opts.EditTemplate(s.Name, body)
	}
	return l.createStack(ctx, s.Region, s.Name, body)
}

// stackParameters are the parameters the deployment gives the stack.
func (l *Local) stackParameters(name string) []cftypes.Parameter {
	given := map[string]string{}
	for k, v := range l.opts.Parameters[name] {
		given[k] = v
	}
	for region, arn := range l.Certificates {
		if name == l.Names.Stack("workload", region) {
			if _, set := given[topology.CertificateParameter]; !set {
				given[topology.CertificateParameter] = arn
			}
		}
	}
	var out []cftypes.Parameter
	for _, k := range sortedKeys(given) {
		out = append(out, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(given[k])})
	}
	return out
}

// createStack creates a stack from a template in region and waits for it.
func (l *Local) createStack(ctx context.Context, region, name string, body []byte) error {
	c := l.World.Region(region).CloudFormation()
	start := l.Clock.Now()
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(string(body)),
		Parameters: l.stackParameters(name)}); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	st, err := l.waitStack(ctx, region, name)
	if err != nil {
		return err
	}
	if st.StackStatus != cftypes.StackStatusCreateComplete {
		return fmt.Errorf("stack %s is %s: %s", name, st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	l.log.Info("stack deployed", "stack", name, "region", region, "took", l.Clock.Now().Sub(start))
	return nil
}

// waitStack waits, in virtual time, until the stack is no longer in
// progress.
func (l *Local) waitStack(ctx context.Context, region, name string) (cftypes.Stack, error) {
	c := l.World.Region(region).CloudFormation()
	for range 10_000 {
		out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			return cftypes.Stack{}, fmt.Errorf("describe %s: %w", name, err)
		}
		if st := out.Stacks[0]; !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			return st, nil
		}
		if err := l.Clock.Sleep(ctx, 5*time.Second); err != nil {
			return cftypes.Stack{}, err
		}
	}
	return cftypes.Stack{}, fmt.Errorf("stack %s did not settle", name)
}

// readDeployed reads what the deployment decided that the installation's
// own tooling needs: the accelerator's DNS name (the global stack's
// output) and the ARNs the DR functions were given (their environment).
func (l *Local) readDeployed(ctx context.Context) error {
	ctx = sim.Unmetered(ctx) // the tooling's own reads, outside the timeline
	g := l.World.Region(topology.GlobalRegion).CloudFormation()
	out, err := g.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(l.Names.Stack("global", ""))})
	if err != nil {
		return fmt.Errorf("global stack: %w", err)
	}
	var dns, url string
	for _, o := range out.Stacks[0].Outputs {
		switch aws.ToString(o.OutputKey) {
		case "AcceleratorDnsName":
			dns = aws.ToString(o.OutputValue)
		case topology.AcceleratorURLOutput:
			url = aws.ToString(o.OutputValue)
		}
	}
	fn, err := l.World.Region(l.Regions.Backup).Lambda().GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(l.Names.Function("dr-control"))})
	if err != nil {
		return fmt.Errorf("dr-control: %w", err)
	}
	env := fn.Environment.Variables
	arn := env[dr.EnvAcceleratorARN]
	if dns == "" || arn == "" || url == "" {
		return fmt.Errorf("the deployment names no accelerator (DNS %q, ARN %q, URL %q)", dns, arn, url)
	}
	// Written under the lock, and only when they change: a redeployment
	// reads them again while producers' requests read them.
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.AcceleratorDNS != dns || l.AcceleratorARN != arn || l.AcceleratorURL != url {
		l.AcceleratorDNS, l.AcceleratorARN, l.AcceleratorURL = dns, arn, url
	}
	l.PrimaryGroupARN, l.BackupGroupARN = env[dr.EnvPrimaryEndpointGroupARN], env[dr.EnvBackupEndpointGroupARN]
	return nil
}

// disableRules disables B's EventBridge rules whose targets are the named
// state machine or function, as an operator would.
func (l *Local) disableRules(ctx context.Context, target string) error {
	c := l.World.Region(l.Regions.Backup).CloudFormation()
	res, err := c.StackResources(l.Names.Stack("recovery", l.Regions.Backup))
	if err != nil {
		return err
	}
	eb := l.World.Region(l.Regions.Backup).EventBridge()
	n := 0
	for _, r := range res {
		if r.Type != "AWS::Events::Rule" {
			continue
		}
		targets, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(r.PhysicalID)})
		if err != nil {
			return err
		}
		// The rule starting failover targets its state machine; the
		// canary's schedule, its function.
		want := l.Names.StateMachineARN(l.Regions.Backup, target)
		if target == "health" {
			want = l.Names.FunctionARN(l.Regions.Backup, target)
		}
		hit := false
		for _, t := range targets.Targets {
			hit = hit || aws.ToString(t.Arn) == want
		}
		if hit {
			if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(r.PhysicalID)}); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("no rule of %s to disable in the recovery stack", target)
	}
	return nil
}
