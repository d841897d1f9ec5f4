package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// GAControlRegion is the only region with a Global Accelerator control-plane
// endpoint (docs/aws-facts.md "Global Accelerator"). A client configured for any
// other region fails to resolve globalaccelerator.<region>.amazonaws.com.
const GAControlRegion = "us-west-2"

// GlobalAccelerator is a Global Accelerator client bound to one region. The
// accelerators themselves are global (kept once per world); only a client
// for us-west-2 can manage them. Route, the data plane, needs no region.
type GlobalAccelerator struct {
	r     *Region
	state *gaState
}

// gaState is the world's Global Accelerator: accelerators, listeners,
// endpoint groups, and what the health checks have observed.
type gaState struct {
	mu           sync.Mutex
	world        *World
	seq          int
	accelerators map[string]*gaAccelerator // by ARN
	listeners    map[string]*gaListener    // by ARN
	groups       map[string]*gaGroup       // by ARN
	serving      map[string]bool           // endpoint ID -> registered as serving
	health       map[string]*gaHealth      // group ARN + "|" + endpoint ID
	rng          *rand.Rand
}

type gaAccelerator struct {
	a         gatypes.Accelerator
	listeners []string
}

type gaListener struct {
	l      gatypes.Listener
	accARN string
	groups []string // in creation order: nearest first for Route
}

type gaGroup struct {
	arn, region, listener string
	interval              time.Duration
	threshold             int
	dial                  float32
	path                  string
	protocol              gatypes.HealthCheckProtocol
	port                  *int32
	endpoints             []gatypes.EndpointConfiguration
}

// gaHealth is one endpoint's health as the group's checks see it. Checks
// change the observed state once the raw state has held for interval ×
// threshold, so a region going down is seen ~90 s later with the defaults
// (docs/aws-facts.md "Global Accelerator": new connections move within ~30–60 s of an endpoint turning
// unhealthy behind the checks).
type gaHealth struct {
	observed gatypes.HealthState
	raw      bool
	rawSince time.Time
}

// GA defaults and limits from the Global Accelerator developer guide.
const (
	gaDefaultInterval  = 30 * time.Second
	gaDefaultThreshold = 3
	gaMaxWeight        = 255
	gaMaxEndpoints     = 10
)

// GlobalAccelerator returns a Global Accelerator client for this region. It
// works only for us-west-2, as in AWS.
func (r *Region) GlobalAccelerator() *GlobalAccelerator {
	return r.service(globalaccelerator.ServiceID, func() any {
		w := r.world
		var st *gaState
		w.mu.Lock()
		control, ok := w.regions[GAControlRegion]
		w.mu.Unlock()
		if ok && control != r {
			st = control.GlobalAccelerator().state
		} else {
			st = &gaState{world: w, accelerators: map[string]*gaAccelerator{}, listeners: map[string]*gaListener{},
				groups: map[string]*gaGroup{}, serving: map[string]bool{}, health: map[string]*gaHealth{}, rng: rand.New(rand.NewPCG(1, 2))}
			// Health checks time an outage from the moment the region fails.
			w.onRegionChange(func() {
				st.mu.Lock()
				defer st.mu.Unlock()
				st.observeAllLocked()
			})
		}
		return &GlobalAccelerator{r: r, state: st}
	}).(*GlobalAccelerator)
}

// call is r.call plus the us-west-2 rule: another region has no endpoint.
// Only a call that reaches the endpoint is authorized, with in.
func (g *GlobalAccelerator) call(ctx context.Context, op string, in any) error {
	if g.r.Name == GAControlRegion {
		return g.r.call(ctx, globalaccelerator.ServiceID, op, in)
	}
	if err := g.r.call(ctx, globalaccelerator.ServiceID, op); err != nil {
		return err
	}
	host := "globalaccelerator." + g.r.Name + ".amazonaws.com"
	return &smithy.OperationError{ServiceID: globalaccelerator.ServiceID, OperationName: op, Err: &smithyhttp.RequestSendError{
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}},
	}}
}

// SetSeed makes Route's choices reproducible from seed.
func (g *GlobalAccelerator) SetSeed(seed uint64) {
	g.state.mu.Lock()
	defer g.state.mu.Unlock()
	g.state.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// SetEndpointServing registers whether the endpoint (an ALB ARN) serves
// traffic: the drill marks an ALB serving when the region's workload stack
// is active and its ingest answers. Unregistered endpoints serve. An
// endpoint is healthy when it serves and its region is up.
func (g *GlobalAccelerator) SetEndpointServing(endpointID string, serving bool) {
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	st.observeAllLocked() // settle the state before the change…
	st.serving[endpointID] = serving
	st.observeAllLocked() // …and time the change from now
}

// Observe runs the health checks' bookkeeping now. GA notices a raw health
// change when it next evaluates health (Route, Describe, SetEndpointServing)
// and, for region outages, when World.SetDown changes a region.
func (g *GlobalAccelerator) Observe() {
	g.state.mu.Lock()
	defer g.state.mu.Unlock()
	g.state.observeAllLocked()
}

func (st *gaState) observeAllLocked() {
	for _, grp := range st.groups {
		for _, e := range grp.endpoints {
			st.observeLocked(grp, aws.ToString(e.EndpointId))
		}
	}
}

// gaEndpointRegion reads the region out of an endpoint ARN.
func gaEndpointRegion(id string) string {
	f := strings.Split(id, ":")
	if len(f) > 3 && f[0] == "arn" {
		return f[3]
	}
	return ""
}

// rawHealthyLocked is the ground truth a health check would find; st.mu held.
func (st *gaState) rawHealthyLocked(id string) bool {
	reg := gaEndpointRegion(id)
	if reg == "" {
		return false
	}
	st.world.mu.Lock()
	r, ok := st.world.regions[reg]
	down := ok && r.down
	st.world.mu.Unlock()
	serving, set := st.serving[id]
	if !set && ok {
		// An ALB a template created answers its health checks while it
		// exists with a listener (elb.go).
		if known, listening := r.ELB().answers(id); known {
			serving, set = listening, true
		}
	}
	return ok && !down && (serving || !set)
}

// observeLocked brings an endpoint's observed health up to now. Raw changes
// are noticed when health is evaluated (every Route and Describe call); the
// drill routes continuously, so they are noticed within a second of virtual
// time. st.mu held.
func (st *gaState) observeLocked(g *gaGroup, id string) gatypes.HealthState {
	now := st.world.Clock.Now()
	key := g.arn + "|" + id
	h, ok := st.health[key]
	raw := st.rawHealthyLocked(id)
	detect := g.interval * time.Duration(g.threshold)
	if !ok {
		h = &gaHealth{observed: gatypes.HealthStateInitial, raw: raw, rawSince: now}
		st.health[key] = h
	}
	if raw != h.raw {
		// Settle the previous raw state if it had held long enough.
		if now.Sub(h.rawSince) >= detect {
			h.observed = gaState2(h.raw)
		}
		h.raw, h.rawSince = raw, now
	}
	if now.Sub(h.rawSince) >= detect {
		h.observed = gaState2(h.raw)
	}
	return h.observed
}

func gaState2(healthy bool) gatypes.HealthState {
	if healthy {
		return gatypes.HealthStateHealthy
	}
	return gatypes.HealthStateUnhealthy
}

func gaInvalid(format string, args ...any) error {
	return &gatypes.InvalidArgumentException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func (st *gaState) arn(kind string, parent string) string {
	st.seq++
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", kind, st.seq)
	id := fmt.Sprintf("%016x", h.Sum64())
	if parent == "" {
		return fmt.Sprintf("arn:aws:globalaccelerator::%s:accelerator/%s", st.world.Account, id)
	}
	return fmt.Sprintf("%s/%s/%s", parent, kind, id[:8])
}

// CreateAccelerator creates a standard accelerator.
func (g *GlobalAccelerator) CreateAccelerator(ctx context.Context, in *globalaccelerator.CreateAcceleratorInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.CreateAcceleratorOutput, error) {
	const op = "CreateAccelerator"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	if aws.ToString(in.Name) == "" {
		return nil, opErr(globalaccelerator.ServiceID, op, gaInvalid("Name is required"))
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	arn := st.arn("accelerator", "")
	now := st.world.Clock.Now()
	a := gatypes.Accelerator{
		AcceleratorArn: aws.String(arn), Name: in.Name, Enabled: aws.Bool(in.Enabled == nil || *in.Enabled),
		DnsName: aws.String(arn[strings.LastIndexByte(arn, '/')+1:] + ".awsglobalaccelerator.com"), IpAddressType: gatypes.IpAddressTypeIpv4,
		Status: gatypes.AcceleratorStatusDeployed, CreatedTime: &now, LastModifiedTime: &now,
	}
	st.accelerators[arn] = &gaAccelerator{a: a}
	return &globalaccelerator.CreateAcceleratorOutput{Accelerator: &a}, nil
}

// DescribeAccelerator describes an accelerator (its DnsName is where
// producers send traffic).
func (g *GlobalAccelerator) DescribeAccelerator(ctx context.Context, in *globalaccelerator.DescribeAcceleratorInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.DescribeAcceleratorOutput, error) {
	const op = "DescribeAccelerator"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	a, ok := st.accelerators[aws.ToString(in.AcceleratorArn)]
	if !ok {
		return nil, opErr(globalaccelerator.ServiceID, op, &gatypes.AcceleratorNotFoundException{Message: aws.String("Accelerator not found")})
	}
	cp := a.a
	return &globalaccelerator.DescribeAcceleratorOutput{Accelerator: &cp}, nil
}

// gaPage returns the page of items (n in all) that MaxResults and
// NextToken select: a token is the index of the page's first item. max
// is 1…100; 0 means 10, the API's default.
func gaPage(n int, maxResults *int32, nextToken *string) (from, to int, next *string, err error) {
	size := 10
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return 0, 0, nil, gaInvalid("MaxResults must be between 1 and 100")
		}
		size = int(*maxResults)
	}
	if t := aws.ToString(nextToken); t != "" {
		if _, err := fmt.Sscanf(t, "%d", &from); err != nil || from < 0 || from > n || fmt.Sprint(from) != t {
			return 0, 0, nil, &gatypes.InvalidNextTokenException{Message: aws.String("Invalid next token")}
		}
	}
	to = min(from+size, n)
	if to < n {
		next = aws.String(fmt.Sprint(to))
	}
	return from, to, next, nil
}

// ListAccelerators lists the account's standard accelerators, oldest
// first, in pages.
func (g *GlobalAccelerator) ListAccelerators(ctx context.Context, in *globalaccelerator.ListAcceleratorsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.ListAcceleratorsOutput, error) {
	const op = "ListAccelerators"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	all := make([]gatypes.Accelerator, 0, len(st.accelerators))
	for _, a := range st.accelerators {
		all = append(all, a.a)
	}
	sort.Slice(all, func(i, j int) bool {
		if ti, tj := aws.ToTime(all[i].CreatedTime), aws.ToTime(all[j].CreatedTime); !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return aws.ToString(all[i].AcceleratorArn) < aws.ToString(all[j].AcceleratorArn)
	})
	from, to, next, err := gaPage(len(all), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	return &globalaccelerator.ListAcceleratorsOutput{Accelerators: all[from:to], NextToken: next}, nil
}

// ListListeners lists an accelerator's listeners, in creation order, in
// pages.
func (g *GlobalAccelerator) ListListeners(ctx context.Context, in *globalaccelerator.ListListenersInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.ListListenersOutput, error) {
	const op = "ListListeners"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	a, ok := st.accelerators[aws.ToString(in.AcceleratorArn)]
	if !ok {
		return nil, opErr(globalaccelerator.ServiceID, op, &gatypes.AcceleratorNotFoundException{Message: aws.String("Accelerator not found")})
	}
	from, to, next, err := gaPage(len(a.listeners), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	out := &globalaccelerator.ListListenersOutput{Listeners: []gatypes.Listener{}, NextToken: next}
	for _, arn := range a.listeners[from:to] {
		l := st.listeners[arn].l
		l.PortRanges = append([]gatypes.PortRange(nil), l.PortRanges...)
		out.Listeners = append(out.Listeners, l)
	}
	return out, nil
}

// CreateListener adds a listener to an accelerator.
func (g *GlobalAccelerator) CreateListener(ctx context.Context, in *globalaccelerator.CreateListenerInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.CreateListenerOutput, error) {
	const op = "CreateListener"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	if len(in.PortRanges) == 0 || (in.Protocol != gatypes.ProtocolTcp && in.Protocol != gatypes.ProtocolUdp) {
		return nil, opErr(globalaccelerator.ServiceID, op, gaInvalid("PortRanges and a Protocol of TCP or UDP are required"))
	}
	for _, p := range in.PortRanges {
		if aws.ToInt32(p.FromPort) < 1 || aws.ToInt32(p.ToPort) > 65535 || aws.ToInt32(p.FromPort) > aws.ToInt32(p.ToPort) {
			return nil, opErr(globalaccelerator.ServiceID, op, &gatypes.InvalidPortRangeException{Message: aws.String("Invalid port range")})
		}
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	a, ok := st.accelerators[aws.ToString(in.AcceleratorArn)]
	if !ok {
		return nil, opErr(globalaccelerator.ServiceID, op, &gatypes.AcceleratorNotFoundException{Message: aws.String("Accelerator not found")})
	}
	arn := st.arn("listener", *in.AcceleratorArn)
	l := gatypes.Listener{ListenerArn: aws.String(arn), PortRanges: append([]gatypes.PortRange(nil), in.PortRanges...), Protocol: in.Protocol, ClientAffinity: in.ClientAffinity}
	if l.ClientAffinity == "" {
		l.ClientAffinity = gatypes.ClientAffinityNone
	}
	st.listeners[arn] = &gaListener{l: l, accARN: *in.AcceleratorArn}
	a.listeners = append(a.listeners, arn)
	return &globalaccelerator.CreateListenerOutput{Listener: &l}, nil
}

// gaCheckEndpoints validates endpoint configurations for a group's region.
func gaCheckEndpoints(region string, eps []gatypes.EndpointConfiguration) error {
	if len(eps) > gaMaxEndpoints {
		return &gatypes.LimitExceededException{Message: aws.String(fmt.Sprintf("An endpoint group can have at most %d endpoints", gaMaxEndpoints))}
	}
	seen := map[string]bool{}
	for _, e := range eps {
		id := aws.ToString(e.EndpointId)
		if id == "" {
			return gaInvalid("EndpointId is required")
		}
		if seen[id] {
			return gaInvalid("Duplicate endpoint %s", id)
		}
		seen[id] = true
		if e.Weight != nil && (*e.Weight < 0 || *e.Weight > gaMaxWeight) {
			return gaInvalid("Weight must be between 0 and %d", gaMaxWeight)
		}
		if r := gaEndpointRegion(id); r != region {
			return gaInvalid("Endpoint %s is not in the endpoint group's region %s", id, region)
		}
	}
	return nil
}

// gaWeight is an endpoint's weight; unset means the default 128.
func gaWeight(e gatypes.EndpointConfiguration) int32 {
	if e.Weight == nil {
		return 128
	}
	return *e.Weight
}

// applyHealthSettings sets the group's health check and dial fields.
func (grp *gaGroup) applyHealthSettings(interval, threshold *int32, dial *float32, path *string, port *int32, proto gatypes.HealthCheckProtocol) error {
	if interval != nil {
		if *interval != 10 && *interval != 30 {
			return gaInvalid("HealthCheckIntervalSeconds must be 10 or 30")
		}
		grp.interval = time.Duration(*interval) * time.Second
	}
	if threshold != nil {
		if *threshold < 1 || *threshold > 10 {
			return gaInvalid("ThresholdCount must be between 1 and 10")
		}
		grp.threshold = int(*threshold)
	}
	if dial != nil {
		if *dial < 0 || *dial > 100 {
			return gaInvalid("TrafficDialPercentage must be between 0 and 100")
		}
		grp.dial = *dial
	}
	if path != nil {
		grp.path = *path
	}
	if port != nil {
		grp.port = port
	}
	if proto != "" {
		grp.protocol = proto
	}
	return nil
}

// CreateEndpointGroup adds a region's endpoint group to a listener.
func (g *GlobalAccelerator) CreateEndpointGroup(ctx context.Context, in *globalaccelerator.CreateEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.CreateEndpointGroupOutput, error) {
	const op = "CreateEndpointGroup"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	region := aws.ToString(in.EndpointGroupRegion)
	if region == "" {
		return nil, opErr(globalaccelerator.ServiceID, op, gaInvalid("EndpointGroupRegion is required"))
	}
	if err := gaCheckEndpoints(region, in.EndpointConfigurations); err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	l, ok := st.listeners[aws.ToString(in.ListenerArn)]
	if !ok {
		return nil, opErr(globalaccelerator.ServiceID, op, &gatypes.ListenerNotFoundException{Message: aws.String("Listener not found")})
	}
	for _, ga := range l.groups {
		if st.groups[ga].region == region {
			return nil, opErr(globalaccelerator.ServiceID, op, &gatypes.EndpointGroupAlreadyExistsException{Message: aws.String("Endpoint group already exists for region " + region)})
		}
	}
	grp := &gaGroup{arn: st.arn("endpoint-group", *in.ListenerArn), region: region, listener: *in.ListenerArn,
		interval: gaDefaultInterval, threshold: gaDefaultThreshold, dial: 100, path: "/", protocol: gatypes.HealthCheckProtocolTcp}
	if err := grp.applyHealthSettings(in.HealthCheckIntervalSeconds, in.ThresholdCount, in.TrafficDialPercentage, in.HealthCheckPath, in.HealthCheckPort, in.HealthCheckProtocol); err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	grp.endpoints = append([]gatypes.EndpointConfiguration(nil), in.EndpointConfigurations...)
	st.groups[grp.arn] = grp
	l.groups = append(l.groups, grp.arn)
	out := st.describeGroupLocked(grp)
	return &globalaccelerator.CreateEndpointGroupOutput{EndpointGroup: &out}, nil
}

func (st *gaState) describeGroupLocked(grp *gaGroup) gatypes.EndpointGroup {
	out := gatypes.EndpointGroup{
		EndpointGroupArn: aws.String(grp.arn), EndpointGroupRegion: aws.String(grp.region),
		HealthCheckIntervalSeconds: aws.Int32(int32(grp.interval / time.Second)), ThresholdCount: aws.Int32(int32(grp.threshold)),
		TrafficDialPercentage: aws.Float32(grp.dial), HealthCheckPath: aws.String(grp.path), HealthCheckProtocol: grp.protocol, HealthCheckPort: grp.port,
	}
	for _, e := range grp.endpoints {
		d := gatypes.EndpointDescription{EndpointId: e.EndpointId, Weight: aws.Int32(gaWeight(e)), ClientIPPreservationEnabled: aws.Bool(e.ClientIPPreservationEnabled == nil || *e.ClientIPPreservationEnabled)}
		d.HealthState = st.observeLocked(grp, aws.ToString(e.EndpointId))
		if d.HealthState == gatypes.HealthStateUnhealthy {
			d.HealthReason = aws.String("Timeout")
		}
		out.EndpointDescriptions = append(out.EndpointDescriptions, d)
	}
	return out
}

func (st *gaState) groupLocked(arn *string) (*gaGroup, error) {
	grp, ok := st.groups[aws.ToString(arn)]
	if !ok {
		return nil, &gatypes.EndpointGroupNotFoundException{Message: aws.String("Endpoint group not found")}
	}
	return grp, nil
}

// DescribeEndpointGroup describes an endpoint group with each endpoint's
// observed health.
func (g *GlobalAccelerator) DescribeEndpointGroup(ctx context.Context, in *globalaccelerator.DescribeEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.DescribeEndpointGroupOutput, error) {
	const op = "DescribeEndpointGroup"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	grp, err := st.groupLocked(in.EndpointGroupArn)
	if err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	out := st.describeGroupLocked(grp)
	return &globalaccelerator.DescribeEndpointGroupOutput{EndpointGroup: &out}, nil
}

// UpdateEndpointGroup updates a group's settings. EndpointConfigurations,
// when given, replaces the whole endpoint list (AddEndpoints and
// RemoveEndpoints change single endpoints).
func (g *GlobalAccelerator) UpdateEndpointGroup(ctx context.Context, in *globalaccelerator.UpdateEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.UpdateEndpointGroupOutput, error) {
	const op = "UpdateEndpointGroup"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	grp, err := st.groupLocked(in.EndpointGroupArn)
	if err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	if in.EndpointConfigurations != nil {
		if err := gaCheckEndpoints(grp.region, in.EndpointConfigurations); err != nil {
			return nil, opErr(globalaccelerator.ServiceID, op, err)
		}
	}
	next := *grp
	if err := next.applyHealthSettings(in.HealthCheckIntervalSeconds, in.ThresholdCount, in.TrafficDialPercentage, in.HealthCheckPath, in.HealthCheckPort, in.HealthCheckProtocol); err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	if in.EndpointConfigurations != nil {
		next.endpoints = append([]gatypes.EndpointConfiguration(nil), in.EndpointConfigurations...)
		keep := map[string]bool{}
		for _, e := range next.endpoints {
			keep[aws.ToString(e.EndpointId)] = true
		}
		for _, e := range grp.endpoints { // a dropped endpoint starts INITIAL if re-added
			if !keep[aws.ToString(e.EndpointId)] {
				delete(st.health, grp.arn+"|"+aws.ToString(e.EndpointId))
			}
		}
	}
	*grp = next
	out := st.describeGroupLocked(grp)
	return &globalaccelerator.UpdateEndpointGroupOutput{EndpointGroup: &out}, nil
}

// DeleteEndpointGroup deletes an endpoint group: the accelerator no longer
// routes to its endpoints.
func (g *GlobalAccelerator) DeleteEndpointGroup(ctx context.Context, in *globalaccelerator.DeleteEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.DeleteEndpointGroupOutput, error) {
	const op = "DeleteEndpointGroup"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	grp, err := st.groupLocked(in.EndpointGroupArn)
	if err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	for _, e := range grp.endpoints {
		delete(st.health, grp.arn+"|"+aws.ToString(e.EndpointId))
	}
	delete(st.groups, grp.arn)
	if l := st.listeners[grp.listener]; l != nil {
		kept := l.groups[:0:0]
		for _, a := range l.groups {
			if a != grp.arn {
				kept = append(kept, a)
			}
		}
		l.groups = kept
	}
	return &globalaccelerator.DeleteEndpointGroupOutput{}, nil
}

// AddEndpoints adds endpoints to a group, or updates the ones already in it
// (so a retried call is harmless). A new endpoint starts INITIAL and takes
// traffic only once its health checks pass.
func (g *GlobalAccelerator) AddEndpoints(ctx context.Context, in *globalaccelerator.AddEndpointsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.AddEndpointsOutput, error) {
	const op = "AddEndpoints"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	grp, err := st.groupLocked(in.EndpointGroupArn)
	if err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	merged := append([]gatypes.EndpointConfiguration(nil), grp.endpoints...)
	for _, e := range in.EndpointConfigurations {
		found := false
		for i := range merged {
			if aws.ToString(merged[i].EndpointId) == aws.ToString(e.EndpointId) {
				merged[i], found = e, true
			}
		}
		if !found {
			merged = append(merged, e)
		}
	}
	if len(in.EndpointConfigurations) == 0 {
		return nil, opErr(globalaccelerator.ServiceID, op, gaInvalid("EndpointConfigurations is required"))
	}
	if err := gaCheckEndpoints(grp.region, merged); err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	grp.endpoints = merged
	out := &globalaccelerator.AddEndpointsOutput{EndpointGroupArn: aws.String(grp.arn)}
	desc := st.describeGroupLocked(grp)
	for _, d := range desc.EndpointDescriptions {
		for _, e := range in.EndpointConfigurations {
			if aws.ToString(d.EndpointId) == aws.ToString(e.EndpointId) {
				out.EndpointDescriptions = append(out.EndpointDescriptions, d)
			}
		}
	}
	return out, nil
}

// RemoveEndpoints removes endpoints from a group; removing one that is not
// there succeeds, so a retried call is harmless.
func (g *GlobalAccelerator) RemoveEndpoints(ctx context.Context, in *globalaccelerator.RemoveEndpointsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.RemoveEndpointsOutput, error) {
	const op = "RemoveEndpoints"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	grp, err := st.groupLocked(in.EndpointGroupArn)
	if err != nil {
		return nil, opErr(globalaccelerator.ServiceID, op, err)
	}
	drop := map[string]bool{}
	for _, id := range in.EndpointIdentifiers {
		drop[aws.ToString(id.EndpointId)] = true
	}
	kept := grp.endpoints[:0:0]
	for _, e := range grp.endpoints {
		if drop[aws.ToString(e.EndpointId)] {
			delete(st.health, grp.arn+"|"+aws.ToString(e.EndpointId))
			continue
		}
		kept = append(kept, e)
	}
	grp.endpoints = kept
	return &globalaccelerator.RemoveEndpointsOutput{}, nil
}

// ListEndpointGroups lists a listener's endpoint groups.
func (g *GlobalAccelerator) ListEndpointGroups(ctx context.Context, in *globalaccelerator.ListEndpointGroupsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.ListEndpointGroupsOutput, error) {
	const op = "ListEndpointGroups"
	if err := g.call(ctx, op, in); err != nil {
		return nil, err
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	l, ok := st.listeners[aws.ToString(in.ListenerArn)]
	if !ok {
		return nil, opErr(globalaccelerator.ServiceID, op, &gatypes.ListenerNotFoundException{Message: aws.String("Listener not found")})
	}
	out := &globalaccelerator.ListEndpointGroupsOutput{}
	for _, arn := range l.groups {
		out.EndpointGroups = append(out.EndpointGroups, st.describeGroupLocked(st.groups[arn]))
	}
	return out, nil
}

// ErrNoHealthyEndpoint is returned by Route when the accelerator cannot
// take a connection at all: it is disabled or has no endpoint in any
// group. An accelerator with endpoints, healthy or not, fails open instead
// (see Route): producers then see their connection to the endpoint fail.
var ErrNoHealthyEndpoint = errors.New("global accelerator: no healthy endpoint")

// ErrNoListener is returned by Route for a port no listener of the
// accelerator listens on.
var ErrNoListener = errors.New("global accelerator: no listener on the port")

// accepts reports whether the TCP listener takes connections to port.
func (l *gaListener) accepts(port int) bool {
	if l.l.Protocol != gatypes.ProtocolTcp {
		return false
	}
	for _, r := range l.l.PortRanges {
		if int32(port) >= aws.ToInt32(r.FromPort) && int32(port) <= aws.ToInt32(r.ToPort) {
			return true
		}
	}
	return false
}

// gaFailoverGroups is how many of the closest endpoint groups Global
// Accelerator searches for a healthy endpoint with weight > 0 before it
// fails open ("How failover works for unhealthy endpoints").
const gaFailoverGroups = 3

// GARoute is where Route sent a connection, and why.
type GARoute struct {
	// EndpointID is the endpoint (an ALB ARN) the connection goes to.
	EndpointID string
	// Region is the endpoint group's region.
	Region string
	// Health is the endpoint's health as the checks observe it. When
	// FailOpen it may be UNHEALTHY or INITIAL: the connection then fails
	// at the endpoint, as it would in AWS.
	Health gatypes.HealthState
	// FailOpen reports that no healthy endpoint with weight > 0 was found
	// in the closest groups, so the endpoint was picked at random from the
	// closest group, ignoring health and weight.
	FailOpen bool
}

// Route picks where Global Accelerator sends a new TCP connection to the
// accelerator's port and returns the endpoint and its group's region;
// RouteInfo says more. See RouteInfo for the rules.
func (g *GlobalAccelerator) Route(acceleratorARN string, port int) (endpointARN, region string, err error) {
	r, err := g.RouteInfo(acceleratorARN, port)
	if err != nil {
		return "", "", err
	}
	return r.EndpointID, r.Region, nil
}

// RouteInfo picks where Global Accelerator sends a new TCP connection to
// the accelerator's port. Only a listener whose port ranges hold the port
// takes it (ErrNoListener otherwise: the connection is refused, as the
// accelerator's address answers only its listeners' ports). The endpoint
// groups of that listener are in order of
// proximity (creation order: the first group created is the nearest); the
// traffic dials pick the original group, each group taking its dial share
// of what reaches it. When that group has a healthy endpoint with weight
// > 0, one of those takes the connection, chosen by weight. When it has
// none (or no group took the connection by dial), it goes to the nearest
// of the three closest groups with a healthy weighted endpoint, whatever
// its dial: GA ignores the traffic dial when it fails over on health
// (docs/aws-facts.md "Global Accelerator"), which is why a region is fenced with weight 0, never with
// the dial.
//
// When none of the three closest groups has a healthy endpoint with weight
// > 0, GA fails open: it routes to a random endpoint of the closest group
// (the nearest one that has endpoints), ignoring health. Weight is ignored
// too, and weight-0 endpoints are candidates: the documented example sets
// the only healthy endpoint's weight to 0 and says traffic then goes to a
// random endpoint of the closest group, not only to the weighted ones. So
// a region fenced with weight 0 can still receive connections while the
// other region's endpoint is not yet healthy (INITIAL) — the endpoint
// picked may be down, and the caller's connection then fails, as in AWS.
// RouteInfo returns ErrNoHealthyEndpoint only when the accelerator is
// disabled or has no endpoint at all.
//
// Health is as observed by the checks (see gaHealth). Routing is data
// plane: it works whichever region is down. Choices are deterministic
// given the seed (SetSeed).
func (g *GlobalAccelerator) RouteInfo(acceleratorARN string, port int) (GARoute, error) {
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	a, ok := st.accelerators[acceleratorARN]
	if !ok {
		return GARoute{}, fmt.Errorf("route to %s: %w", acceleratorARN, &gatypes.AcceleratorNotFoundException{Message: aws.String("Accelerator not found")})
	}
	if !aws.ToBool(a.a.Enabled) {
		return GARoute{}, fmt.Errorf("route to %s: accelerator disabled: %w", acceleratorARN, ErrNoHealthyEndpoint)
	}
	type cand struct {
		grp     *gaGroup
		healthy []gatypes.EndpointConfiguration // weight > 0
	}
	var (
		cands   []cand   // every group, nearest first
		closest *gaGroup // the nearest group with any endpoint, to fail open to
	)
	listening := false
	for _, la := range a.listeners {
		if !st.listeners[la].accepts(port) {
			continue
		}
		listening = true
		for _, ga := range st.listeners[la].groups {
			grp := st.groups[ga]
			c := cand{grp: grp}
			for _, e := range grp.endpoints {
				// Every endpoint is observed, weight 0 too: GA health-checks them all.
				if st.observeLocked(grp, aws.ToString(e.EndpointId)) == gatypes.HealthStateHealthy && gaWeight(e) > 0 {
					c.healthy = append(c.healthy, e)
				}
			}
			if closest == nil && len(grp.endpoints) > 0 {
				closest = grp
			}
			cands = append(cands, c)
		}
	}
	if !listening {
		return GARoute{}, fmt.Errorf("route to %s: connection refused on port %d: %w", acceleratorARN, port, ErrNoListener)
	}
	if closest == nil {
		return GARoute{}, fmt.Errorf("route to %s: no endpoints: %w", acceleratorARN, ErrNoHealthyEndpoint)
	}
	// The traffic dials pick the original group: each group takes its share
	// of what reaches it, the rest spills to the next nearest.
	var chosen *cand
	for i := range cands {
		if st.rng.Float64()*100 < float64(cands[i].grp.dial) {
			chosen = &cands[i]
			break
		}
	}
	if chosen == nil || len(chosen.healthy) == 0 {
		// Health failover, dial ignored: the nearest of the three closest
		// groups with a healthy weighted endpoint.
		chosen = nil
		for i := range cands[:min(len(cands), gaFailoverGroups)] {
			if len(cands[i].healthy) > 0 {
				chosen = &cands[i]
				break
			}
		}
	}
	if chosen == nil {
		// Fail open: a random endpoint of the closest group, health and
		// weight ignored.
		e := closest.endpoints[st.rng.IntN(len(closest.endpoints))]
		id := aws.ToString(e.EndpointId)
		return GARoute{EndpointID: id, Region: closest.region, Health: st.observeLocked(closest, id), FailOpen: true}, nil
	}
	total := int32(0)
	for _, e := range chosen.healthy {
		total += gaWeight(e)
	}
	pick := st.rng.Int32N(total)
	for _, e := range chosen.healthy {
		if pick -= gaWeight(e); pick < 0 {
			return GARoute{EndpointID: aws.ToString(e.EndpointId), Region: chosen.grp.region, Health: gatypes.HealthStateHealthy}, nil
		}
	}
	panic("unreachable: weights sum to total")
}

// GAHealthSnapshot is one endpoint's observed health, for the drill's log.
type GAHealthSnapshot struct {
	GroupRegion string
	EndpointID  string
	Weight      int32
	Health      gatypes.HealthState
}

// Health returns the observed health of every endpoint of the accelerator,
// sorted by region then endpoint, without counting an API call.
func (g *GlobalAccelerator) Health(acceleratorARN string) []GAHealthSnapshot {
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []GAHealthSnapshot
	a, ok := st.accelerators[acceleratorARN]
	if !ok {
		return nil
	}
	for _, la := range a.listeners {
		for _, ga := range st.listeners[la].groups {
			grp := st.groups[ga]
			for _, e := range grp.endpoints {
				out = append(out, GAHealthSnapshot{GroupRegion: grp.region, EndpointID: aws.ToString(e.EndpointId), Weight: gaWeight(e), Health: st.observeLocked(grp, aws.ToString(e.EndpointId))})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GroupRegion != out[j].GroupRegion {
			return out[i].GroupRegion < out[j].GroupRegion
		}
		return out[i].EndpointID < out[j].EndpointID
	})
	return out
}
