package dr

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// gaWorld sets up the accelerator (us-west-2) with P's load balancer at
// weight 100 in P's group, an empty group for B, and both workload stacks
// active.
func gaWorld(t *testing.T) (*sim.World, Config) {
	t.Helper()
	ctx := context.Background()
	w, clk := newWorld(t)
	cfg := testConfig()
	for _, r := range []string{regionP, regionB} {
		createWorkloadStack(t, w, r, cfg.WorkloadStack(r), testWorkload{Switch: true}, map[string]string{"Active": "true"})
	}
	clk.Sleep(ctx, time.Hour)
	ga := w.Region(regionG).GlobalAccelerator()
	acc, err := ga.CreateAccelerator(ctx, &globalaccelerator.CreateAcceleratorInput{Name: aws.String("pendulum"), IdempotencyToken: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ga.CreateListener(ctx, &globalaccelerator.CreateListenerInput{AcceleratorArn: acc.Accelerator.AcceleratorArn, Protocol: gatypes.ProtocolTcp,
		PortRanges: []gatypes.PortRange{{FromPort: aws.Int32(80), ToPort: aws.Int32(80)}}, IdempotencyToken: aws.String("l")})
	if err != nil {
		t.Fatal(err)
	}
	pLB := loadBalancerARN(t, w, regionP, cfg.WorkloadStack(regionP))
	for _, r := range []string{regionP, regionB} {
		in := &globalaccelerator.CreateEndpointGroupInput{ListenerArn: l.Listener.ListenerArn, EndpointGroupRegion: aws.String(r), IdempotencyToken: aws.String(r)}
		if r == regionP {
			in.EndpointConfigurations = []gatypes.EndpointConfiguration{{EndpointId: aws.String(pLB), Weight: aws.Int32(100)}}
		}
		g, err := ga.CreateEndpointGroup(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if r == regionP {
			cfg.PrimaryEndpointGroupARN = aws.ToString(g.EndpointGroup.EndpointGroupArn)
		} else {
			cfg.BackupEndpointGroupARN = aws.ToString(g.EndpointGroup.EndpointGroupArn)
		}
	}
	cfg.AcceleratorARN = aws.ToString(acc.Accelerator.AcceleratorArn)
	return w, cfg
}

func newTraffic(w *sim.World, cfg Config, gaRegion string) *Traffic {
	return &Traffic{GA: w.Region(gaRegion).GlobalAccelerator(), Config: cfg,
		Stacks: func(region string) (StackDescriber, error) { return w.Region(region).CloudFormation(), nil }}
}

func groupWeights(t *testing.T, w *sim.World, group string) map[string]int32 {
	t.Helper()
	d, err := w.Region(regionG).GlobalAccelerator().DescribeEndpointGroup(context.Background(), &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(group)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int32{}
	for _, e := range d.EndpointGroup.EndpointDescriptions {
		out[aws.ToString(e.EndpointId)] = aws.ToInt32(e.Weight)
	}
	return out
}

func TestTrafficFailoverAndBack(t *testing.T) {
	ctx := context.Background()
	w, cfg := gaWorld(t)
	tr := newTraffic(w, cfg, regionG)
	pLB := loadBalancerARN(t, w, regionP, cfg.WorkloadStack(regionP))
	bLB := loadBalancerARN(t, w, regionB, cfg.WorkloadStack(regionB))
	writes := func() int {
		return w.CallCount(sim.CallKey{Operation: "UpdateEndpointGroup"}) + w.CallCount(sim.CallKey{Operation: "AddEndpoints"})
	}

	// Fence P while P is down: the control plane is in us-west-2.
	w.SetDown(regionP, true)
	out, err := tr.Handle(ctx, TrafficInput{Op: "fence", Region: regionP})
	if err != nil || out.Weights[regionP] != 0 {
		t.Fatalf("fence = %+v, %v", out, err)
	}
	if got := groupWeights(t, w, cfg.PrimaryEndpointGroupARN)[pLB]; got != 0 {
		t.Fatalf("P weight = %d, want 0", got)
	}
	n := writes()
	if _, err := tr.Handle(ctx, TrafficInput{Op: "fence", Region: regionP}); err != nil || writes() != n {
		t.Fatalf("second fence: err %v, writes %d → %d", err, n, writes())
	}

	out, err = tr.Handle(ctx, TrafficInput{Op: "promote", Region: regionB})
	if err != nil || out.Weights[regionB] != 100 || out.Weights[regionP] != 0 {
		t.Fatalf("promote B = %+v, %v", out, err)
	}
	if got := groupWeights(t, w, cfg.BackupEndpointGroupARN)[bLB]; got != 100 {
		t.Fatalf("B's load balancer weight = %d, want 100", got)
	}
	n = writes()
	if _, err := tr.Handle(ctx, TrafficInput{Op: "promote", Region: regionB}); err != nil || writes() != n {
		t.Fatalf("second promote: err %v, writes %d → %d", err, n, writes())
	}

	// Failback.
	w.SetDown(regionP, false)
	out, err = tr.Handle(ctx, TrafficInput{Op: "promote", Region: regionP})
	if err != nil || out.Weights[regionP] != 100 || out.Weights[regionB] != 0 {
		t.Fatalf("promote P = %+v, %v", out, err)
	}
	if got := groupWeights(t, w, cfg.BackupEndpointGroupARN)[bLB]; got != 0 {
		t.Fatalf("B fenced after failback: weight %d", got)
	}
	// Every accelerator call went to us-west-2.
	if got, all := w.CallCount(sim.CallKey{Region: regionG, Service: "Global Accelerator"}), w.CallCount(sim.CallKey{Service: "Global Accelerator"}); got != all || all == 0 {
		t.Fatalf("GA calls in us-west-2 = %d of %d", got, all)
	}
}

func TestTrafficErrors(t *testing.T) {
	ctx := context.Background()
	w, cfg := gaWorld(t)
	// A client for another region cannot reach the control plane.
	if _, err := newTraffic(w, cfg, regionB).Handle(ctx, TrafficInput{Op: "fence", Region: regionP}); kindOf(err) != "transient" {
		t.Fatalf("GA via us-east-2: %v, want transient", err)
	}
	tr := newTraffic(w, cfg, regionG)
	if _, err := tr.Handle(ctx, TrafficInput{Op: "fence", Region: "eu-west-1"}); kindOf(err) != "invalid" {
		t.Fatalf("unknown region: %v", err)
	}
	if _, err := tr.Handle(ctx, TrafficInput{Op: "drain", Region: regionP}); kindOf(err) != "invalid" {
		t.Fatalf("unknown op: %v", err)
	}
	// A dormant stack has no load balancer to promote.
	cf := w.Region(regionB).CloudFormation()
	if _, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String(cfg.WorkloadStack(regionB)), UsePreviousTemplate: aws.Bool(true),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	w.Clock.Sleep(ctx, time.Hour)
	if _, err := tr.Handle(ctx, TrafficInput{Op: "promote", Region: regionB}); kindOf(err) != "not found" {
		t.Fatalf("promote dormant: %v, want not found", err)
	}
}
