package dr

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

const stackB = "pendulum-workload-us-east-2"

func newStackWorld(t *testing.T) (*Stack, *sim.World, *sim.CloudFormation) {
	t.Helper()
	w, clk := newWorld(t)
	cf := w.Region(regionB).CloudFormation()
	ctx := context.Background()
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(stackB), TemplateBody: aws.String("{}"),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("false")}, {ParameterKey: aws.String("ConsumerEnabled"), ParameterValue: aws.String("false")}, {ParameterKey: aws.String("Other"), ParameterValue: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, time.Hour) // let the dormant create complete
	s := &Stack{Clients: func(region string) (StackAPI, error) { return w.Region(region).CloudFormation(), nil }}
	return s, w, cf
}

func TestStackEnsure(t *testing.T) {
	ctx := context.Background()
	s, w, cf := newStackWorld(t)
	clk := w.Clock
	in := StackInput{Region: regionB, StackName: stackB, Parameters: map[string]string{"Active": "true"}}

	out, err := s.Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Changed || out.Done || out.Failed || out.Status != "UPDATE_IN_PROGRESS" {
		t.Fatalf("first call = %+v, want update started", out)
	}
	out, err = s.Handle(ctx, in)
	if err != nil || out.Done || out.Changed || out.Status != "UPDATE_IN_PROGRESS" {
		t.Fatalf("in progress call = %+v, %v", out, err)
	}
	if got := w.CallCount(sim.CallKey{Operation: "UpdateStack"}); got != 1 {
		t.Fatalf("UpdateStack calls = %d, want 1", got)
	}
	clk.Sleep(ctx, 10*time.Minute)
	out, err = s.Handle(ctx, in)
	if err != nil || !out.Done || out.Changed || out.Status != "UPDATE_COMPLETE" {
		t.Fatalf("after completion = %+v, %v", out, err)
	}
	// Other parameters kept their values.
	d, _ := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stackB)})
	got := map[string]string{}
	for _, p := range d.Stacks[0].Parameters {
		got[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	if got["Active"] != "true" || got["ConsumerEnabled"] != "false" || got["Other"] != "x" {
		t.Fatalf("parameters = %v", got)
	}
	// No-op: already as asked.
	if out, err = s.Handle(ctx, in); err != nil || !out.Done || out.Changed {
		t.Fatalf("no-op = %+v, %v", out, err)
	}
	if got := w.CallCount(sim.CallKey{Operation: "UpdateStack"}); got != 1 {
		t.Fatalf("UpdateStack calls = %d, want 1 (no-op must not update)", got)
	}
}

func TestStackRollbackIsFailed(t *testing.T) {
	ctx := context.Background()
	s, w, cf := newStackWorld(t)
	cf.OnActivate(stackB, func(ctx context.Context, active bool) error {
		if active {
			return errors.New("ALB quota exceeded")
		}
		return nil
	})
	in := StackInput{Region: regionB, StackName: stackB, Parameters: map[string]string{"Active": "true"}}
	if out, err := s.Handle(ctx, in); err != nil || !out.Changed {
		t.Fatalf("start = %+v, %v", out, err)
	}
	w.Clock.Sleep(ctx, time.Hour)
	out, err := s.Handle(ctx, in)
	if err != nil || !out.Failed || out.Done || out.Status != "UPDATE_ROLLBACK_COMPLETE" {
		t.Fatalf("after rollback = %+v, %v; want failed", out, err)
	}
}

func TestStackErrors(t *testing.T) {
	ctx := context.Background()
	s, w, _ := newStackWorld(t)
	tests := []struct {
		name string
		in   StackInput
		down bool
		want string
	}{
		{name: "MissingFields", in: StackInput{}, want: "invalid"},
		{name: "UnknownParameter", in: StackInput{Region: regionB, StackName: stackB, Parameters: map[string]string{"Nope": "1"}}, want: "invalid"},
		{name: "NoSuchStack", in: StackInput{Region: regionB, StackName: "nope", Parameters: map[string]string{"Active": "true"}}, want: "not found"},
		{name: "RegionDown", in: StackInput{Region: regionB, StackName: stackB, Parameters: map[string]string{"Active": "true"}}, down: true, want: "transient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w.SetDown(regionB, tc.down)
			defer w.SetDown(regionB, false)
			if _, err := s.Handle(ctx, tc.in); kindOf(err) != tc.want {
				t.Fatalf("err = %v (%s), want %s", err, kindOf(err), tc.want)
			}
		})
	}
}

// roleRecorder records the RoleARN of each UpdateStack.
type roleRecorder struct {
	StackAPI
	roles []string
}

func (r *roleRecorder) UpdateStack(ctx context.Context, in *cloudformation.UpdateStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.UpdateStackOutput, error) {
	r.roles = append(r.roles, aws.ToString(in.RoleARN))
	return r.StackAPI.UpdateStack(ctx, in, optFns...)
}

// An update passes the region's execution role, so CloudFormation does not
// fall back to the role the stack was last deployed with.
func TestStackPassesRoleARN(t *testing.T) {
	s, w, _ := newStackWorld(t)
	rec := &roleRecorder{StackAPI: w.Region(regionB).CloudFormation()}
	s.Clients = func(string) (StackAPI, error) { return rec, nil }
	const role = "arn:aws:iam::111111111111:role/pendulum-workload-exec-us-east-2"
	s.RoleARNs = map[string]string{regionB: role}
	in := StackInput{Region: regionB, StackName: stackB, Parameters: map[string]string{"Active": "true"}}
	if _, err := s.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(rec.roles) != 1 || rec.roles[0] != role {
		t.Fatalf("UpdateStack RoleARNs = %q, want [%s]", rec.roles, role)
	}
}

// A stack without the switch (the primary's workload stack, never dormant)
// already has what Active=true asks: no update, done; asking it to switch
// off is an input error.
func TestStackWithoutSwitchIsAlwaysOn(t *testing.T) {
	ctx := context.Background()
	s, w, cf := newStackWorld(t)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("always"), TemplateBody: aws.String("{}"),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Other"), ParameterValue: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	w.Clock.Sleep(ctx, time.Hour)
	out, err := s.Handle(ctx, StackInput{Region: regionB, StackName: "always", Parameters: map[string]string{"Active": "true", "ConsumerEnabled": "true"}})
	if err != nil || !out.Done || out.Changed {
		t.Fatalf("Active=true on a stack without the switch = %+v, %v; want done, unchanged", out, err)
	}
	if got := w.CallCount(sim.CallKey{Operation: "UpdateStack"}); got != 0 {
		t.Fatalf("UpdateStack calls = %d, want 0", got)
	}
	if _, err := s.Handle(ctx, StackInput{Region: regionB, StackName: "always", Parameters: map[string]string{"Active": "false"}}); kindOf(err) != "invalid" {
		t.Fatalf("Active=false on a stack without the switch: %v, want invalid", err)
	}
}
