// Package sim simulates AWS regions for the local drill and for tests.
//
// Each simulated service is a struct whose methods have the aws-sdk-go-v2
// client method signatures, so code written against small interfaces of SDK
// methods runs unchanged on the real client and on the simulator. The
// simulator returns AWS's own error codes (as the SDK's typed errors where the
// SDK has one, else smithy.GenericAPIError), wrapped in smithy.OperationError as
// the SDK does, and models AWS's eventual behaviour on a shared clock.
//
// A World holds the regions. A region can be taken down (every call to it then
// fails as an unreachable endpoint fails) and brought back; faults can be
// injected per operation; every call is counted.
//
// A region's services, each from its accessor (Region.S3, Region.Lambda, …):
// S3, DynamoDB, Backup, Glue, SQS, SNS, Kinesis, Firehose, CloudFormation,
// CloudWatch, ELB, Global Accelerator, ACM (imported certificates), Lambda (functions whose code the
// embedding program sets with World.SetLambdaCode, and event-source
// mappings), EventBridge (rules, targets, alarm state change events),
// EventBridge Scheduler and SSM Parameter Store. EventBridge and Scheduler
// start Step Functions executions through World.SetStateMachineStarter.
//
// CloudFormation deploys templates (cfn_*.go): a synthesized cloud assembly
// deployed stack by stack creates every resource through the services
// above, so a rehearsal runs what `cdk deploy` would create. With
// World.EnforceIAM, every call made as a role (WithPrincipal) and the work
// services do as a role they were given are authorized against that role's
// policies (iam*.go), and denials are recorded (World.Denied).
package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// World is a set of simulated regions in one account, on one clock.
type World struct {
	// Clock is the time source of every service in the world.
	Clock clock.Clock
	// Account is the AWS account ID used in ARNs.
	Account string

	mu      sync.Mutex
	regions map[string]*Region
	faults  []*Fault
	calls   map[CallKey]int
	// settlers run just before and just after a region goes down or comes
	// back, so services that notice outages over time (Global Accelerator's
	// health checks) time them from the outage itself.
	settlers []func()
	// watchers are told of every change to the world that can change how
	// a call ends (watch).
	watchers    map[int]func()
	changeCount uint64 // calls of changed, for changes
	watchSeq    int
	// iam holds roles, policies and denials (iam.go); it has its own lock
	// because authorizing a call reads service state.
	iam iamState
	// bg runs the services' own background work (background.go).
	bg background
	// machines runs the state machines templates deploy.
	machines StateMachineHost
}

// NewWorld returns a world with the named regions, all up.
func NewWorld(clk clock.Clock, account string, regions ...string) *World {
	w := &World{Clock: clk, Account: account, regions: make(map[string]*Region), calls: make(map[CallKey]int)}
	for _, name := range regions {
		w.regions[name] = &Region{Name: name, world: w, services: make(map[string]any), sinks: make(map[string]func(string))}
	}
	return w
}

// Region returns the named region. It panics for a region the world was not
// created with: that is a wiring bug, not a runtime condition.
func (w *World) Region(name string) *Region {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.regions[name]
	if !ok {
		panic(fmt.Sprintf("sim: no region %q in this world", name))
	}
	return r
}

// lookupRegion returns the named region, or an error for a region the
// world was not created with (a template that names another region).
func (w *World) lookupRegion(name string) (*Region, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.regions[name]
	if !ok {
		return nil, fmt.Errorf("sim: no region %q in this world", name)
	}
	return r, nil
}

// Regions returns the region names, sorted.
func (w *World) Regions() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(w.regions))
	for n := range w.regions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SetDown takes a region down (true) or brings it back (false). While down,
// every API call to it fails with a transport error, as a call to an
// unreachable regional endpoint does; its state is kept.
func (w *World) SetDown(region string, down bool) {
	r := w.Region(region)
	w.mu.Lock()
	settlers := w.settlers
	w.mu.Unlock()
	for _, settle := range settlers {
		settle()
	}
	w.mu.Lock()
	r.down = down
	w.mu.Unlock()
	for _, settle := range settlers {
		settle()
	}
	w.changed()
}

// watch calls fn (outside any lock) after every change to the world that
// can change how a call ends — a region down or back, a fault injected or
// cleared, an IAM role or policy changed — until the returned cancel is
// called. A poller that waits for its own cue rather than polling (an idle
// event-source mapping) polls again on it, as polling would have noticed.
func (w *World) watch(fn func()) (cancel func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watchers == nil {
		w.watchers = make(map[int]func())
	}
	w.watchSeq++
	id := w.watchSeq
	w.watchers[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.watchers, id)
	}
}

// changes is how many times the world changed (changed).
func (w *World) changes() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changeCount
}

// changed tells the watchers; it must be called without w.mu held.
func (w *World) changed() {
	w.mu.Lock()
	w.changeCount++
	fns := make([]func(), 0, len(w.watchers))
	for _, fn := range w.watchers {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// onRegionChange registers settle to run just before and just after every
// SetDown. settle must not call SetDown.
func (w *World) onRegionChange(settle func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.settlers = append(w.settlers, settle)
}

// Down reports whether the region is down.
func (w *World) Down(region string) bool {
	r := w.Region(region)
	w.mu.Lock()
	defer w.mu.Unlock()
	return r.down
}

// Fault makes matching calls fail. Empty Region, Service or Operation match
// any. Times is how many calls fail before the fault is spent (0: every call).
type Fault struct {
	Region    string
	Service   string // the SDK's ServiceID, e.g. "DynamoDB", "S3", "Glue"
	Operation string // e.g. "RestoreTableToPointInTime"
	Err       error  // returned as the OperationError's cause
	Times     int

	hits int
}

// Inject adds a fault.
func (w *World) Inject(f *Fault) {
	w.mu.Lock()
	w.faults = append(w.faults, f)
	w.mu.Unlock()
	w.changed()
}

// RemoveFault removes f (the pointer Inject was given), leaving the others.
func (w *World) RemoveFault(f *Fault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, g := range w.faults {
		if g == f {
			w.faults = append(w.faults[:i:i], w.faults[i+1:]...)
			return
		}
	}
}

// ClearFaults removes every fault.
func (w *World) ClearFaults() {
	w.mu.Lock()
	w.faults = nil
	w.mu.Unlock()
	w.changed()
}

// CallKey names one API operation in one region.
type CallKey struct {
	Region, Service, Operation string
}

// Calls returns how often each operation was called (failed calls included).
func (w *World) Calls() map[CallKey]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[CallKey]int, len(w.calls))
	for k, n := range w.calls {
		out[k] = n
	}
	return out
}

// CallCount sums the calls matching the key; empty fields match any.
func (w *World) CallCount(match CallKey) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for k, c := range w.calls {
		if (match.Region == "" || match.Region == k.Region) &&
			(match.Service == "" || match.Service == k.Service) &&
			(match.Operation == "" || match.Operation == k.Operation) {
			n += c
		}
	}
	return n
}

// Region is one simulated region.
type Region struct {
	// Name is the region code, e.g. "us-east-1".
	Name string

	world    *World
	down     bool           // guarded by world.mu
	mu       sync.Mutex     // guards services and sinks
	services map[string]any // service state, created on first use
	sinks    map[string]func(body string)
}

// World returns the world the region belongs to.
func (r *Region) World() *World { return r.world }

// service returns the region's state for a service, creating it with mk on
// first use. Each service's file defines a typed accessor over it.
func (r *Region) service(name string, mk func() any) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.services[name]
	if !ok {
		s = mk()
		r.services[name] = s
	}
	return s
}

// call is the first thing every simulated API method does: it counts the
// call, spends the call's modelled latency on the caller's clock (unless
// ctx is Unmetered), and returns the error the call must fail with, if any
// (cancelled context, region down, IAM denial, injected fault). The error
// is already wrapped as the SDK wraps it.
//
// in is the operation's input: with it the call is authorized, when the
// context carries a principal and IAM is enforced, with the actions and
// resources iam_actions.go maps the operation to. Every exported operation
// passes it (TestIAMEveryOperationIsGated); a call without it is not
// authorized.
func (r *Region) call(ctx context.Context, service, operation string, in ...any) error {
	w := r.world
	w.mu.Lock()
	w.calls[CallKey{r.Name, service, operation}]++
	down := r.down
	w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return &smithy.OperationError{ServiceID: service, OperationName: operation, Err: &smithy.CanceledError{Err: err}}
	}
	if down {
		return &smithy.OperationError{ServiceID: service, OperationName: operation, Err: &smithyhttp.RequestSendError{
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connect to %s endpoint in %s: %w", service, r.Name, ErrUnreachable)},
		}}
	}
	// The request takes its modelled time (latency.go) before the service
	// acts on it; a caller that is not part of the rehearsed timeline
	// calls unmetered.
	if w.Clock != nil && metered(ctx) {
		var input any
		if len(in) > 0 {
			input = in[0]
		}
		if d := CallLatency(service, operation, input); d > 0 {
			if err := w.Clock.Sleep(ctx, d); err != nil {
				return &smithy.OperationError{ServiceID: service, OperationName: operation, Err: &smithy.CanceledError{Err: err}}
			}
		}
	}
	// AWS authorizes a request before the service acts on it, so a denied
	// call neither spends an injected fault nor reaches the service.
	if len(in) > 0 {
		if err := r.authorize(ctx, service, operation, in[0]); err != nil {
			return err
		}
	}
	// A fault is spent only by a call that reached the service: one that
	// failed on a cancelled context or an unreachable region leaves it for
	// the next call, so a fault injected for a drill survives an outage.
	var injected error
	w.mu.Lock()
	for _, f := range w.faults {
		if (f.Region == "" || f.Region == r.Name) && (f.Service == "" || f.Service == service) &&
			(f.Operation == "" || f.Operation == operation) && (f.Times == 0 || f.hits < f.Times) {
			f.hits++
			injected = f.Err
			break
		}
	}
	w.mu.Unlock()
	if injected != nil {
		return &smithy.OperationError{ServiceID: service, OperationName: operation, Err: injected}
	}
	return nil
}

// ErrUnreachable is in the chain of every error from a region that is down.
var ErrUnreachable = errors.New("region unreachable")

// opErr wraps an API error as the SDK does.
func opErr(service, operation string, err error) error {
	return &smithy.OperationError{ServiceID: service, OperationName: operation, Err: err}
}

// apiErr returns a generic AWS API error with a client fault, for codes the
// SDK has no typed error for.
func apiErr(code, format string, args ...any) *smithy.GenericAPIError {
	return &smithy.GenericAPIError{Code: code, Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient}
}

// ThrottlingError returns the error a throttled call gets, for fault injection.
func ThrottlingError() error {
	return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded", Fault: smithy.FaultClient}
}

// ServiceUnavailableError returns a server-side 503, for fault injection.
func ServiceUnavailableError() error {
	return &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "Service is unavailable", Fault: smithy.FaultServer}
}

// registerSink makes body deliveries to arn reach fn (an SQS queue, an SNS
// topic, an event bus). Services that emit notifications deliver through
// deliver, so the emitting service needs no compile-time tie to the target.
func (r *Region) registerSink(arn string, fn func(body string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sinks[arn] = fn
}

// unregisterSink removes the sink of arn (a deleted topic or queue):
// deliveries to it are dropped from then on.
func (r *Region) unregisterSink(arn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sinks, arn)
}

// AddRegion adds a region to the world, up, with no resources: a region an
// installation extends into later (a new backup region). Adding a region
// the world has is a no-op.
// The new region runs the code and starts the state machines the
// embedding program set for the world (SetLambdaCode,
// SetStateMachineStarter).
func (w *World) AddRegion(name string) {
	w.mu.Lock()
	var from *Region
	for _, r := range w.regions {
		from = r
		break
	}
	_, ok := w.regions[name]
	if !ok {
		w.regions[name] = &Region{Name: name, world: w, services: make(map[string]any), sinks: make(map[string]func(string))}
	}
	r := w.regions[name]
	w.mu.Unlock()
	if !ok && from != nil {
		src := from.hooks()
		src.mu.Lock()
		code, start := src.lambdaCode, src.startMachine
		src.mu.Unlock()
		h := r.hooks()
		h.mu.Lock()
		h.lambdaCode, h.startMachine = code, start
		h.mu.Unlock()
	}
	w.changed()
}

// deliver hands body to the sink registered for arn, in whichever region the
// ARN names. It reports whether a sink was found; a notification to a
// missing target is dropped, as AWS drops it.
func (w *World) deliver(region, arn, body string) bool {
	r := w.Region(region)
	r.mu.Lock()
	fn := r.sinks[arn]
	r.mu.Unlock()
	if fn == nil {
		return false
	}
	fn(body)
	return true
}
