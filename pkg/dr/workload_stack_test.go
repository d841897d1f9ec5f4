package dr

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// testWorkload is a small stand-in for the workload stack, deployed
// through the simulated CloudFormation as the real one is: an ingest
// function and, while active, a VPC-less ALB with a Lambda target group for
// it and an HTTP listener (the ALB Global Accelerator routes to), its ARN
// the output LoadBalancerArn.
type testWorkload struct {
	// Switch declares the parameter Active (default false): the ALB, its
	// target group, listener and the function's permission exist only
	// while Active=true, as in the backup region's dormant stack. Without
	// it (the primary's stack) they always exist.
	Switch bool
	// Params are further String parameters without a default.
	Params []string
	// FailActivation adds a queue whose name SQS rejects, created only
	// while Active=true (after the listener): every activation fails and
	// is rolled back.
	FailActivation bool
}

// template renders the workload's CloudFormation template.
func (tw testWorkload) template() string {
	params := map[string]any{}
	for _, p := range tw.Params {
		params[p] = map[string]any{"Type": "String"}
	}
	cond := func(r map[string]any) map[string]any { return r }
	t := map[string]any{}
	if tw.Switch {
		params["Active"] = map[string]any{"Type": "String", "Default": "false", "AllowedValues": []string{"true", "false"}}
		t["Conditions"] = map[string]any{"IsActive": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Active"}, "true"}}}
		cond = func(r map[string]any) map[string]any { r["Condition"] = "IsActive"; return r }
	}
	if len(params) > 0 {
		t["Parameters"] = params
	}
	ref := func(id string) map[string]any { return map[string]any{"Ref": id} }
	resources := map[string]any{
		"IngestFunction": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{
			"Role":    map[string]any{"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/pendulum-ingest-${AWS::Region}"},
			"Handler": "bootstrap", "Runtime": "provided.al2023", "Architectures": []string{"arm64"},
			"Code": map[string]any{"ZipFile": "ingest"}}},
		"IngestPermission": cond(map[string]any{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{
			"Action": "lambda:InvokeFunction", "FunctionName": map[string]any{"Fn::GetAtt": []string{"IngestFunction", "Arn"}},
			"Principal": "elasticloadbalancing.amazonaws.com"}}),
		"IngestLoadBalancer": cond(map[string]any{"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": map[string]any{
			"Scheme": "internet-facing", "Type": "application"}}),
		"IngestTargetGroup": cond(map[string]any{"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "DependsOn": "IngestPermission", "Properties": map[string]any{
			"TargetType": "lambda", "Targets": []any{map[string]any{"Id": map[string]any{"Fn::GetAtt": []string{"IngestFunction", "Arn"}}}}}}),
		"IngestListener": cond(map[string]any{"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": map[string]any{
			"LoadBalancerArn": ref("IngestLoadBalancer"), "Port": 80, "Protocol": "HTTP",
			"DefaultActions": []any{map[string]any{"Type": "forward", "TargetGroupArn": ref("IngestTargetGroup")}}}}),
	}
	if tw.FailActivation {
		resources["BrokenQueue"] = cond(map[string]any{"Type": "AWS::SQS::Queue", "DependsOn": "IngestListener",
			"Properties": map[string]any{"QueueName": "not a queue name!"}})
	}
	t["Resources"] = resources
	t["Outputs"] = map[string]any{
		"LoadBalancerArn": cond(map[string]any{"Value": ref("IngestLoadBalancer")}),
	}
	b, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// createWorkloadStack creates a testWorkload stack named name in region
// with params. The create runs on the world's clock: the caller waits.
func createWorkloadStack(t testing.TB, w *sim.World, region, name string, tw testWorkload, params map[string]string) {
	t.Helper()
	in := &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(tw.template())}
	for k, v := range params {
		in.Parameters = append(in.Parameters, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	if _, err := w.Region(region).CloudFormation().CreateStack(context.Background(), in); err != nil {
		t.Fatalf("create %s in %s: %v", name, region, err)
	}
}

// describeStack returns the stack name in region.
func describeStack(t testing.TB, w *sim.World, region, name string) cftypes.Stack {
	t.Helper()
	out, err := w.Region(region).CloudFormation().DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe %s in %s: %v", name, region, err)
	}
	return out.Stacks[0]
}

// loadBalancerARN is the ARN of the ALB of the active workload stack name
// in region, from its LoadBalancerArn output; it must be one of the
// region's load balancers.
func loadBalancerARN(t testing.TB, w *sim.World, region, name string) string {
	t.Helper()
	s := describeStack(t, w, region, name)
	for _, o := range s.Outputs {
		if aws.ToString(o.OutputKey) != "LoadBalancerArn" {
			continue
		}
		arn := aws.ToString(o.OutputValue)
		if !w.Region(region).ELB().HasLoadBalancer(arn) {
			t.Fatalf("%s in %s: output LoadBalancerArn %s is none of the region's load balancers %v", name, region, arn, w.Region(region).ELB().LoadBalancers())
		}
		return arn
	}
	t.Fatalf("%s in %s (%s %s) has no LoadBalancerArn output: is it active?", name, region, s.StackStatus, aws.ToString(s.StackStatusReason))
	return ""
}
