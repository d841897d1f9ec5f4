package dr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

const stackB = "pendulum-workload-us-east-2"

func newStackWorld(t *testing.T) (*Stack, *sim.World, *sim.CloudFormation) {
	return newStackWorldWith(t, testWorkload{Switch: true, Params: []string{"ConsumerEnabled", "Other"}})
}

// newStackWorldWith creates B's dormant workload stack from tw and waits
// for it.
func newStackWorldWith(t *testing.T, tw testWorkload) (*Stack, *sim.World, *sim.CloudFormation) {
	t.Helper()
	w, clk := newWorld(t)
	cf := w.Region(regionB).CloudFormation()
	createWorkloadStack(t, w, regionB, stackB, tw, map[string]string{"Active": "false", "ConsumerEnabled": "false", "Other": "x"})
	clk.Sleep(context.Background(), time.Hour) // let the dormant create complete
	if st := describeStack(t, w, regionB, stackB); st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("create %s: %s (%s)", stackB, st.StackStatus, aws.ToString(st.StackStatusReason))
	}
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

// An activation that fails (a resource CloudFormation cannot create) is
// rolled back; the step reports the rolled-back stack as failed rather
// than starting the same update again.
func TestStackRollbackIsFailed(t *testing.T) {
	ctx := context.Background()
	s, w, _ := newStackWorldWith(t, testWorkload{Switch: true, Params: []string{"ConsumerEnabled", "Other"}, FailActivation: true})
	in := StackInput{Region: regionB, StackName: stackB, Parameters: map[string]string{"Active": "true"}}
	if out, err := s.Handle(ctx, in); err != nil || !out.Changed {
		t.Fatalf("start = %+v, %v", out, err)
	}
	w.Clock.Sleep(ctx, time.Hour)
	out, err := s.Handle(ctx, in)
	if err != nil || !out.Failed || out.Done || out.Status != "UPDATE_ROLLBACK_COMPLETE" {
		t.Fatalf("after rollback = %+v, %v; want failed", out, err)
	}
	st := describeStack(t, w, regionB, stackB)
	if reason := aws.ToString(st.StackStatusReason); !strings.Contains(reason, "BrokenQueue") {
		t.Errorf("status reason %q does not name the failed resource", reason)
	}
	// The rollback deleted the ALB the failed activation had created.
	if lbs := w.Region(regionB).ELB().LoadBalancers(); len(lbs) != 0 {
		t.Errorf("load balancers after the rollback: %v", lbs)
	}
	if got := w.CallCount(sim.CallKey{Operation: "UpdateStack"}); got != 1 {
		t.Fatalf("UpdateStack calls = %d, want 1 (a rolled-back update is not retried)", got)
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
	s, w, _ := newStackWorld(t)
	createWorkloadStack(t, w, regionB, "always", testWorkload{Params: []string{"Other"}}, map[string]string{"Other": "x"})
	w.Clock.Sleep(ctx, time.Hour)
	if st := describeStack(t, w, regionB, "always"); st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("create always: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
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
