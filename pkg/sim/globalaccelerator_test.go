package sim

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

type gaTestRig struct {
	w           *World
	clk         *clock.Virtual
	ga          *GlobalAccelerator
	acc         string
	groupP      string
	groupB      string
	albP, albP2 string
	albB        string
	primary, dr string
	listenerARN string
}

// gaTestSetup builds an accelerator with a group in P (one ALB, weight 128)
// and a group in B (one ALB, weight 128, dial 100), and waits until both
// endpoints pass their health checks.
func gaTestSetup(t testing.TB) *gaTestRig {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2", "us-west-2")
	rig := &gaTestRig{w: w, clk: clk, ga: w.Region("us-west-2").GlobalAccelerator(), primary: "us-east-1", dr: "us-east-2"}
	rig.albP = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/ingest/aaaa"
	rig.albP2 = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/ingest2/cccc"
	rig.albB = "arn:aws:elasticloadbalancing:us-east-2:111122223333:loadbalancer/app/ingest/bbbb"
	acc, err := rig.ga.CreateAccelerator(ctx, &globalaccelerator.CreateAcceleratorInput{Name: aws.String("pendulum")})
	if err != nil {
		t.Fatal(err)
	}
	rig.acc = *acc.Accelerator.AcceleratorArn
	l, err := rig.ga.CreateListener(ctx, &globalaccelerator.CreateListenerInput{AcceleratorArn: acc.Accelerator.AcceleratorArn, Protocol: gatypes.ProtocolTcp,
		PortRanges: []gatypes.PortRange{{FromPort: aws.Int32(443), ToPort: aws.Int32(443)}}})
	if err != nil {
		t.Fatal(err)
	}
	rig.listenerARN = *l.Listener.ListenerArn
	for _, g := range []struct {
		region string
		alb    string
		out    *string
	}{{"us-east-1", rig.albP, &rig.groupP}, {"us-east-2", rig.albB, &rig.groupB}} {
		eg, err := rig.ga.CreateEndpointGroup(ctx, &globalaccelerator.CreateEndpointGroupInput{ListenerArn: l.Listener.ListenerArn, EndpointGroupRegion: aws.String(g.region),
			EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(g.alb), Weight: aws.Int32(128)}}})
		if err != nil {
			t.Fatal(err)
		}
		*g.out = *eg.EndpointGroup.EndpointGroupArn
	}
	// Before the checks pass every endpoint is INITIAL: GA fails open to
	// the closest group.
	r, err := rig.ga.RouteInfo(rig.acc, 443)
	if err != nil {
		t.Fatalf("route before health checks pass: %v", err)
	}
	if got, want := r, (GARoute{EndpointID: rig.albP, Region: rig.primary, Health: gatypes.HealthStateInitial, FailOpen: true}); got != want {
		t.Fatalf("route before health checks pass = %+v, want %+v", got, want)
	}
	_ = clk.Sleep(ctx, 90*time.Second) // 30 s × 3 (docs/aws-facts.md "Global Accelerator" defaults)
	return rig
}

// routeShare routes n connections and returns the share per endpoint.
func (rig *gaTestRig) routeShare(t testing.TB, n int) map[string]float64 {
	t.Helper()
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		ep, region, err := rig.ga.Route(rig.acc, 443)
		if err != nil {
			t.Fatal(err)
		}
		if gaEndpointRegion(ep) != region {
			t.Fatalf("endpoint %s reported in region %s", ep, region)
		}
		counts[ep]++
	}
	out := map[string]float64{}
	for k, v := range counts {
		out[k] = float64(v) / float64(n)
	}
	return out
}

func (rig *gaTestRig) update(t *testing.T, group string, in *globalaccelerator.UpdateEndpointGroupInput) {
	t.Helper()
	in.EndpointGroupArn = aws.String(group)
	if _, err := rig.ga.UpdateEndpointGroup(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func gaTestNear(t *testing.T, name string, got, want float64) {
	t.Helper()
	if got < want-0.03 || got > want+0.03 {
		t.Fatalf("%s share = %.3f, want %.2f ± 0.03", name, got, want)
	}
}

func TestGlobalAcceleratorRouting(t *testing.T) {
	ctx := context.Background()
	t.Run("NearestGroupTakesAll", func(t *testing.T) {
		rig := gaTestSetup(t)
		share := rig.routeShare(t, 1000)
		gaTestNear(t, "P", share[rig.albP], 1)
	})
	t.Run("WeightsWithinGroup", func(t *testing.T) {
		rig := gaTestSetup(t)
		if _, err := rig.ga.AddEndpoints(ctx, &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(rig.groupP),
			EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(rig.albP), Weight: aws.Int32(200)}, {EndpointId: aws.String(rig.albP2), Weight: aws.Int32(50)}}}); err != nil {
			t.Fatal(err)
		}
		_ = rig.clk.Sleep(ctx, 90*time.Second) // the new endpoint passes its checks
		share := rig.routeShare(t, 10000)
		gaTestNear(t, "P1", share[rig.albP], 0.8)
		gaTestNear(t, "P2", share[rig.albP2], 0.2)
	})
	t.Run("TrafficDial", func(t *testing.T) {
		rig := gaTestSetup(t)
		rig.update(t, rig.groupP, &globalaccelerator.UpdateEndpointGroupInput{TrafficDialPercentage: aws.Float32(30)})
		share := rig.routeShare(t, 10000)
		gaTestNear(t, "P", share[rig.albP], 0.3)
		gaTestNear(t, "B", share[rig.albB], 0.7)
	})
	t.Run("HealthFailoverIgnoresDial", func(t *testing.T) {
		rig := gaTestSetup(t)
		rig.update(t, rig.groupB, &globalaccelerator.UpdateEndpointGroupInput{TrafficDialPercentage: aws.Float32(0)})
		// No Observe call: SetDown itself starts the health checks' clock.
		rig.w.SetDown(rig.primary, true)
		_ = rig.clk.Sleep(ctx, 89*time.Second)
		if share := rig.routeShare(t, 100); share[rig.albP] != 1 {
			t.Fatalf("before detection: %v, want still P (new connections fail there)", share)
		}
		_ = rig.clk.Sleep(ctx, time.Second)
		if share := rig.routeShare(t, 1000); share[rig.albB] != 1 {
			t.Fatalf("after detection: %v, want all to B despite its dial of 0", share)
		}
		desc, err := rig.ga.DescribeEndpointGroup(ctx, &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(rig.groupP)})
		if err != nil {
			t.Fatal(err)
		}
		if got := desc.EndpointGroup.EndpointDescriptions[0].HealthState; got != gatypes.HealthStateUnhealthy {
			t.Fatalf("P health = %s", got)
		}
		rig.w.SetDown(rig.primary, false)
		_ = rig.clk.Sleep(ctx, 89*time.Second)
		if share := rig.routeShare(t, 100); share[rig.albB] != 1 {
			t.Fatalf("before P's recovery is detected: %v, want still B", share)
		}
		_ = rig.clk.Sleep(ctx, time.Second)
		if share := rig.routeShare(t, 100); share[rig.albP] != 1 {
			t.Fatalf("after P recovers: %v, want back to P", share)
		}
	})
	t.Run("FencingByWeightZero", func(t *testing.T) {
		rig := gaTestSetup(t)
		rig.update(t, rig.groupP, &globalaccelerator.UpdateEndpointGroupInput{EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(rig.albP), Weight: aws.Int32(0)}}})
		if share := rig.routeShare(t, 1000); share[rig.albB] != 1 {
			t.Fatalf("fenced: %v, want all to B at once", share)
		}
		// A dial of 0 alone would not fence: with B unhealthy, GA fails over to P.
		rig.update(t, rig.groupP, &globalaccelerator.UpdateEndpointGroupInput{TrafficDialPercentage: aws.Float32(0),
			EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(rig.albP), Weight: aws.Int32(128)}}})
		rig.ga.SetEndpointServing(rig.albB, false)
		_ = rig.clk.Sleep(ctx, 89*time.Second)
		if share := rig.routeShare(t, 100); share[rig.albB] != 1 {
			t.Fatalf("before B's failure is detected: %v, want B", share)
		}
		_ = rig.clk.Sleep(ctx, time.Second)
		if share := rig.routeShare(t, 100); share[rig.albP] != 1 {
			t.Fatalf("dial 0 with B unhealthy: %v, want P", share)
		}
	})
	t.Run("AllUnhealthyFailsOpenToClosestGroup", func(t *testing.T) {
		rig := gaTestSetup(t)
		rig.ga.SetEndpointServing(rig.albP, false)
		rig.w.SetDown(rig.dr, true)
		_ = rig.routeShare(t, 1)
		_ = rig.clk.Sleep(ctx, 90*time.Second)
		for i := 0; i < 20; i++ {
			r, err := rig.ga.RouteInfo(rig.acc, 443)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := r, (GARoute{EndpointID: rig.albP, Region: rig.primary, Health: gatypes.HealthStateUnhealthy, FailOpen: true}); got != want {
				t.Fatalf("route %d = %+v, want %+v", i, got, want)
			}
		}
	})
	t.Run("FencedPrimaryWhileNewEndpointInitial", func(t *testing.T) {
		// The failover fences P with weight 0 while B's endpoint is a new
		// ALB whose checks have not passed yet: nothing is healthy with
		// weight > 0, so GA fails open to the closest group, P, and its
		// weight-0 endpoint takes the connection.
		rig := gaTestSetup(t)
		albB2 := "arn:aws:elasticloadbalancing:us-east-2:111122223333:loadbalancer/app/ingest2/dddd"
		rig.update(t, rig.groupB, &globalaccelerator.UpdateEndpointGroupInput{
			EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(albB2), Weight: aws.Int32(128)}}})
		rig.update(t, rig.groupP, &globalaccelerator.UpdateEndpointGroupInput{
			EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(rig.albP), Weight: aws.Int32(0)}}})
		r, err := rig.ga.RouteInfo(rig.acc, 443)
		if err != nil {
			t.Fatalf("route while B's endpoint is INITIAL: %v", err)
		}
		if got, want := r, (GARoute{EndpointID: rig.albP, Region: rig.primary, Health: gatypes.HealthStateHealthy, FailOpen: true}); got != want {
			t.Fatalf("route = %+v, want %+v", got, want)
		}
		// P's region down too: the connection still goes to P's endpoint,
		// where it fails (the caller sees the dial error).
		rig.w.SetDown(rig.primary, true)
		_ = rig.clk.Sleep(ctx, 30*time.Second)
		if _, region, err := rig.ga.Route(rig.acc, 443); err != nil || region != rig.primary {
			t.Fatalf("route with P down and B INITIAL = %s, %v; want %s (fail open)", region, err, rig.primary)
		}
		// Once B's checks pass, B takes everything.
		_ = rig.clk.Sleep(ctx, 60*time.Second)
		if share := rig.routeShare(t, 100); share[albB2] != 1 {
			t.Fatalf("after B's endpoint turned healthy: %v, want all on B", share)
		}
	})
	t.Run("NoEndpoints", func(t *testing.T) {
		rig := gaTestSetup(t)
		for _, g := range []string{rig.groupP, rig.groupB} {
			rig.update(t, g, &globalaccelerator.UpdateEndpointGroupInput{EndpointConfigurations: []gatypes.EndpointConfiguration{}})
		}
		if _, _, err := rig.ga.Route(rig.acc, 443); !errors.Is(err, ErrNoHealthyEndpoint) {
			t.Fatalf("err = %v, want ErrNoHealthyEndpoint", err)
		}
	})
	t.Run("OnlyTheListenersPort", func(t *testing.T) {
		// The listener takes 443; a connection to 80 is refused.
		rig := gaTestSetup(t)
		if _, _, err := rig.ga.Route(rig.acc, 80); !errors.Is(err, ErrNoListener) {
			t.Fatalf("route to port 80 = %v, want ErrNoListener", err)
		}
		if _, _, err := rig.ga.Route(rig.acc, 443); err != nil {
			t.Fatalf("route to port 443: %v", err)
		}
	})
	t.Run("Deterministic", func(t *testing.T) {
		seq := func() []string {
			rig := gaTestSetup(t)
			rig.update(t, rig.groupP, &globalaccelerator.UpdateEndpointGroupInput{TrafficDialPercentage: aws.Float32(50)})
			rig.ga.SetSeed(42)
			var out []string
			for i := 0; i < 50; i++ {
				ep, _, _ := rig.ga.Route(rig.acc, 443)
				out = append(out, ep)
			}
			return out
		}
		a, b := seq(), seq()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("route %d differs with the same seed", i)
			}
		}
	})
}

func TestGlobalAcceleratorControlPlane(t *testing.T) {
	ctx := context.Background()
	rig := gaTestSetup(t)
	t.Run("OnlyUsWest2", func(t *testing.T) {
		_, err := rig.w.Region("us-east-1").GlobalAccelerator().DescribeAccelerator(ctx, &globalaccelerator.DescribeAcceleratorInput{AcceleratorArn: aws.String(rig.acc)})
		var dns *net.DNSError
		if !errors.As(err, &dns) || !dns.IsNotFound {
			t.Fatalf("err = %v, want a DNS no-such-host error", err)
		}
	})
	t.Run("List", func(t *testing.T) {
		second, err := rig.ga.CreateAccelerator(ctx, &globalaccelerator.CreateAcceleratorInput{Name: aws.String("other")})
		if err != nil {
			t.Fatal(err)
		}
		accs, err := rig.ga.ListAccelerators(ctx, &globalaccelerator.ListAcceleratorsInput{MaxResults: aws.Int32(1)})
		if err != nil || len(accs.Accelerators) != 1 || aws.ToString(accs.Accelerators[0].AcceleratorArn) != rig.acc || accs.NextToken == nil {
			t.Fatalf("first page %+v, %v", accs, err)
		}
		accs, err = rig.ga.ListAccelerators(ctx, &globalaccelerator.ListAcceleratorsInput{MaxResults: aws.Int32(1), NextToken: accs.NextToken})
		if err != nil || len(accs.Accelerators) != 1 || aws.ToString(accs.Accelerators[0].AcceleratorArn) != aws.ToString(second.Accelerator.AcceleratorArn) || accs.NextToken != nil {
			t.Fatalf("second page %+v, %v", accs, err)
		}
		ls, err := rig.ga.ListListeners(ctx, &globalaccelerator.ListListenersInput{AcceleratorArn: aws.String(rig.acc)})
		if err != nil || len(ls.Listeners) != 1 || aws.ToString(ls.Listeners[0].ListenerArn) != rig.listenerARN {
			t.Fatalf("listeners %+v, %v", ls, err)
		}
		var nf *gatypes.AcceleratorNotFoundException
		if _, err := rig.ga.ListListeners(ctx, &globalaccelerator.ListListenersInput{AcceleratorArn: aws.String(rig.acc + "x")}); !errors.As(err, &nf) {
			t.Fatalf("unknown accelerator: %v", err)
		}
		var tok *gatypes.InvalidNextTokenException
		if _, err := rig.ga.ListAccelerators(ctx, &globalaccelerator.ListAcceleratorsInput{NextToken: aws.String("x")}); !errors.As(err, &tok) {
			t.Fatalf("bad token: %v", err)
		}
		var arg *gatypes.InvalidArgumentException
		if _, err := rig.ga.ListAccelerators(ctx, &globalaccelerator.ListAcceleratorsInput{MaxResults: aws.Int32(101)}); !errors.As(err, &arg) {
			t.Fatalf("MaxResults 101: %v", err)
		}
	})
	t.Run("DnsName", func(t *testing.T) {
		out, err := rig.ga.DescribeAccelerator(ctx, &globalaccelerator.DescribeAcceleratorInput{AcceleratorArn: aws.String(rig.acc)})
		if err != nil || len(aws.ToString(out.Accelerator.DnsName)) < len(".awsglobalaccelerator.com")+1 {
			t.Fatalf("%v %v", out, err)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name string
			call func() error
			want any
		}{
			{"WeightOver255", func() error {
				_, err := rig.ga.AddEndpoints(ctx, &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(rig.groupP), EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(rig.albP), Weight: aws.Int32(256)}}})
				return err
			}, new(*gatypes.InvalidArgumentException)},
			{"EndpointInOtherRegion", func() error {
				_, err := rig.ga.AddEndpoints(ctx, &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(rig.groupP), EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(rig.albB)}}})
				return err
			}, new(*gatypes.InvalidArgumentException)},
			{"GroupExists", func() error {
				_, err := rig.ga.CreateEndpointGroup(ctx, &globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(rig.listenerARN), EndpointGroupRegion: aws.String("us-east-1")})
				return err
			}, new(*gatypes.EndpointGroupAlreadyExistsException)},
			{"NoGroup", func() error {
				_, err := rig.ga.DescribeEndpointGroup(ctx, &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(rig.groupP + "x")})
				return err
			}, new(*gatypes.EndpointGroupNotFoundException)},
			{"BadInterval", func() error {
				_, err := rig.ga.UpdateEndpointGroup(ctx, &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(rig.groupP), HealthCheckIntervalSeconds: aws.Int32(20)})
				return err
			}, new(*gatypes.InvalidArgumentException)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); err == nil || !errors.As(err, tt.want) {
					t.Fatalf("err = %v, want %T", err, tt.want)
				}
			})
		}
	})
	t.Run("RemoveAndListAreIdempotent", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			if _, err := rig.ga.RemoveEndpoints(ctx, &globalaccelerator.RemoveEndpointsInput{EndpointGroupArn: aws.String(rig.groupB), EndpointIdentifiers: []gatypes.EndpointIdentifier{{EndpointId: aws.String(rig.albB)}}}); err != nil {
				t.Fatal(err)
			}
		}
		out, err := rig.ga.ListEndpointGroups(ctx, &globalaccelerator.ListEndpointGroupsInput{ListenerArn: aws.String(rig.listenerARN)})
		if err != nil || len(out.EndpointGroups) != 2 || len(out.EndpointGroups[1].EndpointDescriptions) != 0 {
			t.Fatalf("%v %v", out, err)
		}
	})
	t.Run("ControlRegionDownDataPlaneUp", func(t *testing.T) {
		rig.w.SetDown("us-west-2", true)
		defer rig.w.SetDown("us-west-2", false)
		if _, err := rig.ga.DescribeAccelerator(ctx, &globalaccelerator.DescribeAcceleratorInput{AcceleratorArn: aws.String(rig.acc)}); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
		if _, _, err := rig.ga.Route(rig.acc, 443); err != nil {
			t.Fatalf("route with us-west-2 down: %v", err)
		}
	})
}

func BenchmarkGlobalAcceleratorRoute(b *testing.B) {
	rig := gaTestSetup(b)
	ctx := context.Background()
	_, _ = rig.ga.UpdateEndpointGroup(ctx, &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(rig.groupP), TrafficDialPercentage: aws.Float32(50)})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := rig.ga.Route(rig.acc, 443); err != nil {
			b.Fatal(err)
		}
	}
}

// globalacceleratorAPI is every GlobalAccelerator method the simulator implements, with the SDK's
// signatures: the SDK client and the simulator must both satisfy it.
type globalacceleratorAPI interface {
	CreateAccelerator(ctx context.Context, in *globalaccelerator.CreateAcceleratorInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.CreateAcceleratorOutput, error)
	DescribeAccelerator(ctx context.Context, in *globalaccelerator.DescribeAcceleratorInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.DescribeAcceleratorOutput, error)
	CreateListener(ctx context.Context, in *globalaccelerator.CreateListenerInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.CreateListenerOutput, error)
	CreateEndpointGroup(ctx context.Context, in *globalaccelerator.CreateEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.CreateEndpointGroupOutput, error)
	DescribeEndpointGroup(ctx context.Context, in *globalaccelerator.DescribeEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.DescribeEndpointGroupOutput, error)
	UpdateEndpointGroup(ctx context.Context, in *globalaccelerator.UpdateEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.UpdateEndpointGroupOutput, error)
	AddEndpoints(ctx context.Context, in *globalaccelerator.AddEndpointsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.AddEndpointsOutput, error)
	RemoveEndpoints(ctx context.Context, in *globalaccelerator.RemoveEndpointsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.RemoveEndpointsOutput, error)
	ListEndpointGroups(ctx context.Context, in *globalaccelerator.ListEndpointGroupsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.ListEndpointGroupsOutput, error)
}

var (
	_ globalacceleratorAPI = (*globalaccelerator.Client)(nil)
	_ globalacceleratorAPI = (*GlobalAccelerator)(nil)
)

// TestGlobalAcceleratorFailoverSearchesThreeClosestGroups checks that a
// healthy endpoint in the fourth-closest group does not take failover
// traffic: GA fails open to the closest group instead.
func TestGlobalAcceleratorFailoverSearchesThreeClosestGroups(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewVirtual(glueTestStart)
	regions := []string{"us-east-1", "us-east-2", "us-west-2", "eu-west-1"}
	w := NewWorld(clk, "111122223333", regions...)
	ga := w.Region(GAControlRegion).GlobalAccelerator()
	acc, err := ga.CreateAccelerator(ctx, &globalaccelerator.CreateAcceleratorInput{Name: aws.String("pendulum")})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ga.CreateListener(ctx, &globalaccelerator.CreateListenerInput{AcceleratorArn: acc.Accelerator.AcceleratorArn, Protocol: gatypes.ProtocolTcp,
		PortRanges: []gatypes.PortRange{{FromPort: aws.Int32(443), ToPort: aws.Int32(443)}}})
	if err != nil {
		t.Fatal(err)
	}
	albs := make([]string, len(regions))
	for i, region := range regions {
		albs[i] = "arn:aws:elasticloadbalancing:" + region + ":111122223333:loadbalancer/app/ingest/" + region
		if _, err := ga.CreateEndpointGroup(ctx, &globalaccelerator.CreateEndpointGroupInput{ListenerArn: l.Listener.ListenerArn, EndpointGroupRegion: aws.String(region),
			EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(albs[i]), Weight: aws.Int32(128)}}}); err != nil {
			t.Fatal(err)
		}
	}
	accARN := aws.ToString(acc.Accelerator.AcceleratorArn)
	for _, tt := range []struct {
		name       string
		down       int // the closest groups whose endpoints stop serving
		wantRegion string
		wantOpen   bool
	}{
		{"ThirdClosestTakesOver", 2, "us-west-2", false},
		{"FourthClosestIsNotSearched", 3, "us-east-1", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i, alb := range albs {
				ga.SetEndpointServing(alb, i >= tt.down)
			}
			_ = clk.Sleep(ctx, 90*time.Second)
			r, err := ga.RouteInfo(accARN, 443)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := r.Region, tt.wantRegion; got != want {
				t.Fatalf("region = %s, want %s (%+v)", got, want, r)
			}
			if got, want := r.FailOpen, tt.wantOpen; got != want {
				t.Fatalf("fail open = %v, want %v", got, want)
			}
		})
	}
}
