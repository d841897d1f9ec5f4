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
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

func cfTestStack(t *testing.T) (*World, *clock.Virtual, *CloudFormation) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	c := w.Region("us-east-2").CloudFormation()
	ctx := context.Background()
	_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("workload"), TemplateBody: aws.String("{}"),
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

func TestCloudFormationActivation(t *testing.T) {
	ctx := context.Background()
	_, clk, c := cfTestStack(t)
	if got := cfTestDescribe(t, c).StackStatus; got != cftypes.StackStatusCreateInProgress {
		t.Fatalf("status = %s", got)
	}
	cfTestValidation(t, cfTestSetActive(c, "true"), "CREATE_IN_PROGRESS state and can not be updated")
	_ = clk.Sleep(ctx, c.DormantCreate)
	s := cfTestDescribe(t, c)
	if s.StackStatus != cftypes.StackStatusCreateComplete || cfTestOutput(s, "Active") != "false" || cfTestOutput(s, "LoadBalancerDNSName") != "" {
		t.Fatalf("dormant stack: %s %v", s.StackStatus, s.Outputs)
	}

	var calls []bool
	c.OnActivate("workload", func(ctx context.Context, active bool) error {
		calls = append(calls, active)
		// The drill creates the region's resources here; the stack stays IN
		// PROGRESS while it does, on the clock.
		return clk.Sleep(ctx, 10*time.Second)
	})
	start := clk.Now()
	if err := cfTestSetActive(c, "true"); err != nil {
		t.Fatal(err)
	}
	cfTestValidation(t, cfTestSetActive(c, "false"), "is in UPDATE_IN_PROGRESS state and can not be updated")
	plan := CFPlanDuration(c.ActivationPlan)
	if plan < 2*time.Minute || plan > 5*time.Minute {
		t.Fatalf("activation plan takes %v; docs/aws-facts.md: ALB 2–4 min + Kinesis under a minute", plan)
	}
	_ = clk.Sleep(ctx, plan+5*time.Second)
	if got := cfTestDescribe(t, c).StackStatus; got != cftypes.StackStatusUpdateInProgress {
		t.Fatalf("status while the hook runs = %s, want UPDATE_IN_PROGRESS", got)
	}
	_ = clk.Sleep(ctx, 5*time.Second)
	s = cfTestDescribe(t, c)
	if s.StackStatus != cftypes.StackStatusUpdateComplete {
		t.Fatalf("status after %v = %s", clk.Now().Sub(start), s.StackStatus)
	}
	if got, want := cfTestOutput(s, "LoadBalancerDNSName"), c.LoadBalancerDNSName("workload"); got != want || !strings.HasSuffix(got, ".us-east-2.elb.amazonaws.com") {
		t.Fatalf("ALB DNS output = %q, want %q", got, want)
	}
	if len(calls) != 1 || !calls[0] {
		t.Fatalf("hook calls = %v, want [true]", calls)
	}
	cfTestValidation(t, cfTestSetActive(c, "true"), "No updates are to be performed.")

	start = clk.Now()
	if err := cfTestSetActive(c, "false"); err != nil {
		t.Fatal(err)
	}
	deact := CFPlanDuration(c.DeactivationPlan)
	if deact >= plan {
		t.Fatalf("deactivation %v not shorter than activation %v", deact, plan)
	}
	_ = clk.Sleep(ctx, deact+11*time.Second) // the hook takes 10 s
	s = cfTestDescribe(t, c)
	if s.StackStatus != cftypes.StackStatusUpdateComplete || cfTestOutput(s, "Active") != "false" || cfTestOutput(s, "LoadBalancerArn") != "" {
		t.Fatalf("after deactivation: %s %v", s.StackStatus, s.Outputs)
	}
	if len(calls) != 2 || calls[1] {
		t.Fatalf("hook calls = %v, want [true false]", calls)
	}
}

func TestCloudFormationHookFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	_, clk, c := cfTestStack(t)
	_ = clk.Sleep(ctx, c.DormantCreate)
	var calls []bool
	c.OnActivate("workload", func(_ context.Context, active bool) error {
		calls = append(calls, active)
		if active {
			return errors.New("stream limit exceeded")
		}
		return nil
	})
	if err := cfTestSetActive(c, "true"); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, CFPlanDuration(c.ActivationPlan)+time.Second)
	s := cfTestDescribe(t, c)
	if s.StackStatus != cftypes.StackStatusUpdateRollbackInProgress || !strings.Contains(aws.ToString(s.StackStatusReason), "stream limit exceeded") {
		t.Fatalf("status = %s (%s)", s.StackStatus, aws.ToString(s.StackStatusReason))
	}
	_ = clk.Sleep(ctx, CFPlanDuration(c.DeactivationPlan))
	s = cfTestDescribe(t, c)
	if s.StackStatus != cftypes.StackStatusUpdateRollbackComplete || cfTestOutput(s, "Active") != "false" {
		t.Fatalf("status = %s outputs %v", s.StackStatus, s.Outputs)
	}
	if len(calls) != 2 || calls[1] {
		t.Fatalf("hook calls = %v, want [true false]", calls)
	}
	if err := cfTestSetActive(c, "true"); err != nil {
		t.Fatalf("update after rollback: %v", err)
	}
}

func TestCloudFormationErrors(t *testing.T) {
	ctx := context.Background()
	w, clk, c := cfTestStack(t)
	_ = clk.Sleep(ctx, c.DormantCreate)
	t.Run("NotFound", func(t *testing.T) {
		_, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("other")})
		cfTestValidation(t, err, "Stack with id other does not exist")
	})
	t.Run("Exists", func(t *testing.T) {
		_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("workload"), TemplateBody: aws.String("{}")})
		var ae *cftypes.AlreadyExistsException
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v, want AlreadyExistsException", err)
		}
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
	t.Run("NoTemplate", func(t *testing.T) {
		_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("workload")})
		cfTestValidation(t, err, "Either Template URL or Template Body must be specified.")
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
		_ = clk.Sleep(ctx, 5*time.Minute)
		_, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("workload")})
		cfTestValidation(t, err, "Stack with id workload does not exist")
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
		re, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("workload"), TemplateBody: aws.String("{}")})
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

func TestCloudFormationSetOutputs(t *testing.T) {
	ctx := context.Background()
	_, clk, c := cfTestStack(t)
	c.SetOutputs("workload", map[string]string{"IngestURL": "https://example.invalid"})
	_ = clk.Sleep(ctx, c.DormantCreate)
	if got, want := cfTestOutput(cfTestDescribe(t, c), "IngestURL"), "https://example.invalid"; got != want {
		t.Fatalf("output IngestURL = %q, want %q", got, want)
	}
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
