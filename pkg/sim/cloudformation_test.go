package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// cfTestTemplate is a small workload: a queue always, and while
// Active=true an ALB with a Lambda target group and a listener, the ALB's
// ARN and DNS name as outputs. With broken, a queue whose name SQS rejects
// is created after the listener while Active=true, so the activation fails
// once the ALB exists.
func cfTestTemplate(broken bool) string {
	extra := ""
	if broken {
		extra = `,
    "Broken": {"Type": "AWS::SQS::Queue", "Condition": "IsActive", "DependsOn": "Listener", "Properties": {"QueueName": "not a queue name!"}}`
	}
	return `{
  "Parameters": {
    "Active": {"Type": "String", "Default": "false", "AllowedValues": ["true", "false"]},
    "Env": {"Type": "String"}
  },
  "Conditions": {"IsActive": {"Fn::Equals": [{"Ref": "Active"}, "true"]}},
  "Resources": {
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "work-${Env}"}}},
    "LoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Condition": "IsActive", "Properties": {"Scheme": "internet-facing"}},
    "TargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Condition": "IsActive", "Properties": {"TargetType": "lambda"}},
    "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Condition": "IsActive", "Properties": {
      "LoadBalancerArn": {"Ref": "LoadBalancer"}, "Port": 80, "Protocol": "HTTP",
      "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]}}` + extra + `
  },
  "Outputs": {
    "Active": {"Value": {"Ref": "Active"}},
    "LoadBalancerArn": {"Condition": "IsActive", "Value": {"Ref": "LoadBalancer"}},
    "LoadBalancerDNSName": {"Condition": "IsActive", "Value": {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}}
  }
}`
}

// cfTestStack creates the stack "workload" from cfTestTemplate, dormant
// (Active=false), in us-east-2; it is CREATE_IN_PROGRESS on return.
func cfTestStack(t *testing.T, broken bool) (*World, *clock.Virtual, *CloudFormation) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	t.Cleanup(w.Close)
	c := w.Region("us-east-2").CloudFormation()
	ctx := context.Background()
	_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("workload"), TemplateBody: aws.String(cfTestTemplate(broken)),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("false")}, {ParameterKey: aws.String("Env"), ParameterValue: aws.String("prod")}}})
	if err != nil {
		t.Fatal(err)
	}
	return w, clk, c
}

func cfTestDescribe(t *testing.T, c *CloudFormation) cftypes.Stack {
	t.Helper()
	out, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("workload")})
	if err != nil {
		t.Fatal(err)
	}
	return out.Stacks[0]
}

func cfTestOutput(s cftypes.Stack, key string) string {
	for _, o := range s.Outputs {
		if aws.ToString(o.OutputKey) == key {
			return aws.ToString(o.OutputValue)
		}
	}
	return ""
}

func cfTestSetActive(c *CloudFormation, active string) error {
	_, err := c.UpdateStack(context.Background(), &cloudformation.UpdateStackInput{StackName: aws.String("workload"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String(active)}, {ParameterKey: aws.String("Env"), UsePreviousValue: aws.Bool(true)}}})
	return err
}

// cfTestValidation checks err is a ValidationError whose message contains want.
func cfTestValidation(t *testing.T, err error, want string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" || !strings.Contains(ae.ErrorMessage(), want) {
		t.Fatalf("err = %v, want ValidationError containing %q", err, want)
	}
}

// TestCloudFormationActivation: a dormant stack is created in the time of
// its queue; the activation takes as long as its critical path, the ALB
// (cfnALB) then its listener, and publishes the ALB's ARN and DNS name;
// the deactivation deletes them, quicker. The stack refuses updates while
// IN_PROGRESS, and an update that changes nothing.
func TestCloudFormationActivation(t *testing.T) {
	ctx := context.Background()
	w, clk, c := cfTestStack(t, false)
	elb := w.Region("us-east-2").ELB()
	if got := cfTestDescribe(t, c).StackStatus; got != cftypes.StackStatusCreateInProgress {
		t.Fatalf("status = %s", got)
	}
	cfTestValidation(t, cfTestSetActive(c, "true"), "CREATE_IN_PROGRESS state and can not be updated")
	_ = clk.Sleep(ctx, time.Minute)
	s := cfTestDescribe(t, c)
	if s.StackStatus != cftypes.StackStatusCreateComplete || cfTestOutput(s, "Active") != "false" || cfTestOutput(s, "LoadBalancerDNSName") != "" {
		t.Fatalf("dormant stack: %s (%s) %v", s.StackStatus, aws.ToString(s.StackStatusReason), s.Outputs)
	}
	if lbs := elb.LoadBalancers(); len(lbs) != 0 {
		t.Fatalf("dormant stack has load balancers %v", lbs)
	}

	start := clk.Now()
	if err := cfTestSetActive(c, "true"); err != nil {
		t.Fatal(err)
	}
	cfTestValidation(t, cfTestSetActive(c, "false"), "is in UPDATE_IN_PROGRESS state and can not be updated")
	// The listener needs the ALB: the activation takes the ALB's time and
	// the listener's.
	activation := cfnALB + cfnProviders["AWS::ElasticLoadBalancingV2::Listener"].createTime
	if activation < 2*time.Minute || activation > 5*time.Minute {
		t.Fatalf("activation takes %v; docs/aws-facts.md: an ALB takes 2–4 min", activation)
	}
	_ = clk.Sleep(ctx, activation-time.Second)
	if got := cfTestDescribe(t, c).StackStatus; got != cftypes.StackStatusUpdateInProgress {
		t.Fatalf("status after %v = %s, want UPDATE_IN_PROGRESS", clk.Now().Sub(start), got)
	}
	_ = clk.Sleep(ctx, 2*time.Second)
	s = cfTestDescribe(t, c)
	if s.StackStatus != cftypes.StackStatusUpdateComplete {
		t.Fatalf("status after %v = %s (%s)", clk.Now().Sub(start), s.StackStatus, aws.ToString(s.StackStatusReason))
	}
	lbs := elb.LoadBalancers()
	if len(lbs) != 1 || cfTestOutput(s, "LoadBalancerArn") != lbs[0] {
		t.Fatalf("LoadBalancerArn output = %q, load balancers %v", cfTestOutput(s, "LoadBalancerArn"), lbs)
	}
	if got, want := cfTestOutput(s, "LoadBalancerDNSName"), func() string { d, _ := elb.DNSName(lbs[0]); return d }(); got != want || !strings.HasSuffix(got, ".us-east-2.elb.amazonaws.com") {
		t.Fatalf("ALB DNS output = %q, want the ALB's %q", got, want)
	}
	cfTestValidation(t, cfTestSetActive(c, "true"), "No updates are to be performed.")

	start = clk.Now()
	if err := cfTestSetActive(c, "false"); err != nil {
		t.Fatal(err)
	}
	s = cfnTestWait(t, clk, c, "workload")
	deact := clk.Now().Sub(start)
	if s.StackStatus != cftypes.StackStatusUpdateComplete || cfTestOutput(s, "Active") != "false" || cfTestOutput(s, "LoadBalancerArn") != "" {
		t.Fatalf("after deactivation: %s %v", s.StackStatus, s.Outputs)
	}
	if deact >= activation {
		t.Fatalf("deactivation %v not shorter than activation %v", deact, activation)
	}
	if lbs := elb.LoadBalancers(); len(lbs) != 0 {
		t.Fatalf("load balancers after deactivation: %v", lbs)
	}
}

// TestCloudFormationFailureRollsBack: a resource that fails during an
// activation rolls the update back; what the update had created (the ALB,
// its listener) is deleted, and the stack can be updated again.
func TestCloudFormationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	w, clk, c := cfTestStack(t, true)
	elb := w.Region("us-east-2").ELB()
	if s := cfnTestWait(t, clk, c, "workload"); s.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("create: %s (%s)", s.StackStatus, aws.ToString(s.StackStatusReason))
	}
	if err := cfTestSetActive(c, "true"); err != nil {
		t.Fatal(err)
	}
	// The broken queue comes after the listener, so the ALB exists when it fails.
	for range 600 {
		if cfTestDescribe(t, c).StackStatus != cftypes.StackStatusUpdateInProgress {
			break
		}
		_ = clk.Sleep(ctx, time.Second)
	}
	s := cfTestDescribe(t, c)
	if s.StackStatus != cftypes.StackStatusUpdateRollbackInProgress || !strings.Contains(aws.ToString(s.StackStatusReason), "Broken") {
		t.Fatalf("status = %s (%s), want UPDATE_ROLLBACK_IN_PROGRESS naming Broken", s.StackStatus, aws.ToString(s.StackStatusReason))
	}
	if len(elb.LoadBalancers()) != 1 {
		t.Fatalf("load balancers when the activation failed: %v, want the one it created", elb.LoadBalancers())
	}
	s = cfnTestWait(t, clk, c, "workload")
	if s.StackStatus != cftypes.StackStatusUpdateRollbackComplete || cfTestOutput(s, "Active") != "false" || cfTestOutput(s, "LoadBalancerArn") != "" {
		t.Fatalf("status = %s outputs %v", s.StackStatus, s.Outputs)
	}
	if lbs := elb.LoadBalancers(); len(lbs) != 0 {
		t.Fatalf("load balancers after the rollback: %v", lbs)
	}
	for _, p := range s.Parameters {
		if aws.ToString(p.ParameterKey) == "Active" && aws.ToString(p.ParameterValue) != "false" {
			t.Fatalf("Active = %s after the rollback, want false", aws.ToString(p.ParameterValue))
		}
	}
	if err := cfTestSetActive(c, "true"); err != nil {
		t.Fatalf("update after rollback: %v", err)
	}
}

func TestCloudFormationErrors(t *testing.T) {
	ctx := context.Background()
	w, clk, c := cfTestStack(t, false)
	cfnTestWait(t, clk, c, "workload")
	t.Run("NotFound", func(t *testing.T) {
		_, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("other")})
		cfTestValidation(t, err, "Stack with id other does not exist")
	})
	t.Run("Exists", func(t *testing.T) {
		_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("workload"), TemplateBody: aws.String(cfTestTemplate(false)),
			Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Env"), ParameterValue: aws.String("dev")}}})
		var ae *cftypes.AlreadyExistsException
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v, want AlreadyExistsException", err)
		}
	})
	t.Run("NoResources", func(t *testing.T) {
		_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("empty"), TemplateBody: aws.String("{}")})
		cfTestValidation(t, err, "Template format error: At least one Resources member must be defined.")
		if _, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("empty")}); err == nil {
			t.Fatal("a stack refused at creation exists")
		}
	})
	t.Run("TemplateURL", func(t *testing.T) {
		_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("by-url"), TemplateURL: aws.String("https://s3.amazonaws.com/b/t.json")})
		cfTestValidation(t, err, "TemplateURL")
	})
	t.Run("NoTemplateOnCreate", func(t *testing.T) {
		_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("none")})
		cfTestValidation(t, err, "Either Template URL or Template Body must be specified.")
	})
	t.Run("PreviousValueOnCreate", func(t *testing.T) {
		_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("new"), TemplateBody: aws.String(cfTestTemplate(false)),
			Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Env"), UsePreviousValue: aws.Bool(true)}}})
		cfTestValidation(t, err, "Cannot specify usePreviousValue as true for new stack")
	})
	t.Run("MissingParameter", func(t *testing.T) {
		_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("workload"), UsePreviousTemplate: aws.Bool(true),
			Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("true")}}})
		cfTestValidation(t, err, "Parameters: [Env] must have values")
	})
	t.Run("PreviousValueAndValue", func(t *testing.T) {
		_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("workload"), UsePreviousTemplate: aws.Bool(true),
			Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("true"), UsePreviousValue: aws.Bool(true)}, {ParameterKey: aws.String("Env"), UsePreviousValue: aws.Bool(true)}}})
		cfTestValidation(t, err, "Cannot specify usePreviousValue as true and non empty value")
	})
	t.Run("PreviousValueUnknown", func(t *testing.T) {
		_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("workload"), UsePreviousTemplate: aws.Bool(true),
			Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Nope"), UsePreviousValue: aws.Bool(true)}, {ParameterKey: aws.String("Env"), UsePreviousValue: aws.Bool(true)}}})
		cfTestValidation(t, err, "Cannot specify usePreviousValue as true for a parameter key not in the previous template")
	})
	t.Run("NoTemplate", func(t *testing.T) {
		_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("workload")})
		cfTestValidation(t, err, "Either Template URL or Template Body must be specified.")
	})
	t.Run("PreviousTemplateAndBody", func(t *testing.T) {
		_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("workload"), UsePreviousTemplate: aws.Bool(true), TemplateBody: aws.String(cfTestTemplate(false))})
		cfTestValidation(t, err, "You cannot specify both usePreviousTemplate and Template Body/Template URL.")
	})
	t.Run("NoUpdates", func(t *testing.T) {
		cfTestValidation(t, cfTestSetActive(c, "false"), "No updates are to be performed.")
	})
	t.Run("RegionDown", func(t *testing.T) {
		w.SetDown("us-east-2", true)
		defer w.SetDown("us-east-2", false)
		if err := cfTestSetActive(c, "true"); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		id := aws.ToString(cfTestDescribe(t, c).StackId)
		if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("workload")}); err != nil {
			t.Fatal(err)
		}
		if got := cfTestDescribe(t, c).StackStatus; got != cftypes.StackStatusDeleteInProgress {
			t.Fatalf("status = %s, want DELETE_IN_PROGRESS", got)
		}
		_ = clk.Sleep(ctx, 5*time.Minute)
		_, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("workload")})
		cfTestValidation(t, err, "Stack with id workload does not exist")
		if _, err := w.Region("us-east-2").SQS().GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("work-prod")}); err == nil {
			t.Fatal("the stack's queue survived its deletion")
		}
		// By stack ID CloudFormation still answers for the deleted stack.
		out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(id)})
		if err != nil {
			t.Fatalf("describe deleted stack by ID: %v", err)
		}
		if got, want := len(out.Stacks), 1; got != want {
			t.Fatalf("stacks = %d, want %d", got, want)
		}
		if got, want := out.Stacks[0].StackStatus, cftypes.StackStatusDeleteComplete; got != want {
			t.Fatalf("status = %s, want %s", got, want)
		}
		if got, want := aws.ToString(out.Stacks[0].StackId), id; got != want {
			t.Fatalf("stack ID = %s, want %s", got, want)
		}
		if out.Stacks[0].DeletionTime == nil {
			t.Fatal("deleted stack has no DeletionTime")
		}
		// Not listed among the live stacks, and the name is free again.
		all, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(all.Stacks), 0; got != want {
			t.Fatalf("live stacks = %d, want %d", got, want)
		}
		re, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("workload"), TemplateBody: aws.String(cfTestTemplate(false)),
			Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Env"), ParameterValue: aws.String("prod")}}})
		if err != nil {
			t.Fatalf("re-create after delete: %v", err)
		}
		if aws.ToString(re.StackId) == id {
			t.Fatal("re-created stack reuses the deleted stack's ID")
		}
		old, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := old.Stacks[0].StackStatus, cftypes.StackStatusDeleteComplete; got != want {
			t.Fatalf("old ID after re-create: status = %s, want %s", got, want)
		}
	})
}

// cloudformationAPI is every CloudFormation method the simulator implements, with the SDK's
// signatures: the SDK client and the simulator must both satisfy it.
type cloudformationAPI interface {
	CreateStack(ctx context.Context, in *cloudformation.CreateStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error)
	UpdateStack(ctx context.Context, in *cloudformation.UpdateStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.UpdateStackOutput, error)
	DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

var (
	_ cloudformationAPI = (*cloudformation.Client)(nil)
	_ cloudformationAPI = (*CloudFormation)(nil)
)

// TestCloudFormationGetTemplate: GetTemplate returns the body the stack was
// created with, at either stage, by name or stack ID (a deleted stack by its
// ID only), and refuses an unknown stack or stage as CloudFormation does.
func TestCloudFormationGetTemplate(t *testing.T) {
	ctx := context.Background()
	_, clk, c := cfTestStack(t, false)
	_ = clk.Sleep(ctx, time.Minute)
	id := aws.ToString(cfTestDescribe(t, c).StackId)
	for _, in := range []*cloudformation.GetTemplateInput{
		{StackName: aws.String("workload")},
		{StackName: aws.String(id), TemplateStage: cftypes.TemplateStageProcessed},
	} {
		out, err := c.GetTemplate(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.TemplateBody) != cfTestTemplate(false) || len(out.StagesAvailable) != 2 {
			t.Fatalf("GetTemplate(%s) = %d bytes, stages %v", aws.ToString(in.StackName), len(aws.ToString(out.TemplateBody)), out.StagesAvailable)
		}
	}
	_, err := c.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String("nope")})
	cfTestValidation(t, err, "Stack with id nope does not exist")
	_, err = c.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String("workload"), TemplateStage: "Final"})
	cfTestValidation(t, err, "Member must satisfy enum value set: [Original, Processed]")
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("workload")}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 5*time.Minute)
	if _, err := c.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String(id)}); err != nil {
		t.Fatalf("GetTemplate of the deleted stack by ID: %v", err)
	}
	_, err = c.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String("workload")})
	cfTestValidation(t, err, "does not exist")
}
