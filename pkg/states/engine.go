package states

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// Limits of Standard workflows that the engine enforces by default.
const (
	// DefaultMaxPayloadBytes is the largest input or output a state, task
	// or execution may have (256 KiB).
	DefaultMaxPayloadBytes = 256 * 1024
	// DefaultMaxHistoryEvents is the most events an execution's history
	// may hold.
	DefaultMaxHistoryEvents = 25000
)

// Options configure an Engine. The zero value works: real clock, empty
// registry, account 123456789012 in us-east-1.
type Options struct {
	// Clock is the only time source the engine uses: Wait states, retry
	// intervals, timeouts, heartbeats and history timestamps. With a
	// clock.Virtual a Wait of a day takes no wall time.
	Clock clock.Clock
	// Registry holds the task handlers; nil means an empty one.
	Registry *Registry
	// AccountID and Region go into the ARNs the engine makes.
	AccountID, Region string
	// RoleARN is reported as the execution role ($$.Execution.RoleArn).
	RoleARN string
	// MaxPayloadBytes overrides DefaultMaxPayloadBytes; negative means no limit.
	MaxPayloadBytes int
	// MaxHistoryEvents overrides DefaultMaxHistoryEvents; negative means no
	// limit (an inline Map over many thousands of items needs that, as it
	// would need a Distributed Map in the cloud).
	MaxHistoryEvents int
	// Random returns uniform values in [0, 1) for retry jitter and
	// States.MathRandom; nil means math/rand/v2.
	Random func() float64
	// UUID returns execution names and States.UUID values; nil means random
	// version 4 UUIDs.
	UUID func() string
	// Logger receives one line per finished execution; nil means none.
	Logger *slog.Logger
	// ObjectStore is the S3 that Distributed Map states read items from
	// (ItemReader) and write results to (ResultWriter), called with the
	// Map state's TaskInfo in the context; nil makes such a state fail
	// with States.ItemReaderFailed or States.ResultWriterFailed.
	ObjectStore ObjectStore
	// Authorize, when set, is asked before the engine itself acts as an
	// execution's role rather than through a task handler: before a
	// Distributed Map starts its Map Run it asks for "states:StartExecution"
	// on the execution's state machine ARN, as Step Functions needs that
	// permission to start the child workflow executions. ctx carries the
	// Map state's TaskInfo. An error fails the Map Run and the state with
	// States.Permissions, its message as the cause.
	Authorize func(ctx context.Context, action, resource string) error
	// StatusChange, when set, is called when an execution starts (status
	// RUNNING) and when it ends (with its result, before Wait returns), on
	// the execution's clock goroutine: how an embedding program emits Step
	// Functions' "Execution Status Change" events. It must not block.
	StatusChange func(x *Execution, r Result)
}

// Engine runs executions of parsed machines. It is safe for concurrent use;
// many executions may run at once.
type Engine struct {
	opts     Options
	clk      clock.Clock
	reg      *Registry
	mu       sync.Mutex
	machines map[string]*registration // by name and by ARN
	names    map[*Machine]string      // the name each was last registered under, for Start
	execs    map[string]*Execution
	tokens   map[string]*pendingTask
	stats    historyStats
}

// HistoryStats are figures of every execution that has ended in the
// engine, children of Distributed Maps included (which the engine does not
// keep): how many, and the longest history.
type HistoryStats struct {
	// Executions and ChildExecutions count the ended executions: those
	// started with Start (or StartExecution), and a Distributed Map's
	// children.
	Executions, ChildExecutions int64
	// MaxEvents is the most events any ended execution's history held, by
	// MaxEventsExecution; MaxChildEvents the most of any child's.
	MaxEvents          int
	MaxEventsExecution string
	MaxChildEvents     int
}

type historyStats struct {
	mu sync.Mutex
	s  HistoryStats
}

func (h *historyStats) ended(child bool, events int, arn string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if child {
		h.s.ChildExecutions++
		h.s.MaxChildEvents = max(h.s.MaxChildEvents, events)
	} else {
		h.s.Executions++
	}
	if events > h.s.MaxEvents {
		h.s.MaxEvents, h.s.MaxEventsExecution = events, arn
	}
}

// HistoryStats returns the figures of the executions that have ended so
// far.
func (e *Engine) HistoryStats() HistoryStats {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	return e.stats.s
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.RoleARN == "" {
		opts.RoleARN = "arn:aws:iam::" + opts.AccountID + ":role/pendulum-states"
	}
	if opts.MaxPayloadBytes == 0 {
		opts.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if opts.MaxHistoryEvents == 0 {
		opts.MaxHistoryEvents = DefaultMaxHistoryEvents
	}
	if opts.Random == nil {
		opts.Random = mrand.Float64
	}
	if opts.UUID == nil {
		opts.UUID = newUUID
	}
	return &Engine{
		opts:     opts,
		clk:      opts.Clock,
		reg:      opts.Registry,
		machines: map[string]*registration{},
		names:    map[*Machine]string{},
		execs:    map[string]*Execution{},
		tokens:   map[string]*pendingTask{},
	}
}

// Registry returns the engine's task registry.
func (e *Engine) Registry() *Registry { return e.reg }

// Clock returns the engine's clock.
func (e *Engine) Clock() clock.Clock { return e.clk }

// StateMachineARN returns the ARN the engine gives a machine name.
func (e *Engine) StateMachineARN(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", e.opts.Region, e.opts.AccountID, name)
}

// Register names m on the engine, so executions report that name and
// states:startExecution tasks can start it by name or ARN. It returns the
// machine's ARN. The machine runs as Options.RoleARN; RegisterMachine gives
// it a role of its own.
func (e *Engine) Register(name string, m *Machine) string {
	return e.RegisterMachine(name, m, MachineOptions{})
}

// Machine types, as AWS::StepFunctions::StateMachine StateMachineType names
// them.
const (
	TypeStandard = "STANDARD"
	TypeExpress  = "EXPRESS"
)

// MachineOptions are the settings of one registered state machine, the
// counterparts of CreateStateMachine's roleArn and type.
type MachineOptions struct {
	// RoleARN is the machine's execution role: its executions report it
	// ($$.Execution.RoleArn, ExecutionStarted, DescribeStateMachine) and
	// its tasks run as it (Task.RoleARN, TaskInfoFrom). Empty means
	// Options.RoleARN.
	RoleARN string
	// Type is TypeStandard (the default when empty) or TypeExpress. It is
	// reported only: the engine runs both kinds the same way.
	Type string
}

// registration is one name's current state machine.
type registration struct {
	name, arn string
	m         *Machine
	opts      MachineOptions // defaults filled in
	// created is when the name was first registered; updated when it was
	// last (re-)registered, as DescribeStateMachineForExecution reports.
	created, updated time.Time
}

// RegisterMachine is Register with the machine's own options, as
// CreateStateMachine takes them. Registering a name again replaces its
// definition and options, as UpdateStateMachine does: executions already
// running keep the definition and role they started with; new ones get the
// new. It returns the machine's ARN.
func (e *Engine) RegisterMachine(name string, m *Machine, opts MachineOptions) string {
	if opts.RoleARN == "" {
		opts.RoleARN = e.opts.RoleARN
	}
	if opts.Type == "" {
		opts.Type = TypeStandard
	}
	arn := e.StateMachineARN(name)
	now := e.clk.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	r := &registration{name: name, arn: arn, m: m, opts: opts, created: now, updated: now}
	if old := e.machines[name]; old != nil {
		r.created = old.created
	}
	e.machines[name] = r
	e.machines[arn] = r
	e.names[m] = name
	return arn
}

// Unregister deletes the state machine registered under a name or ARN, as
// DeleteStateMachine does: executions already running continue, while
// StartExecution (through SFN or a states:startExecution task) fails with
// StateMachineDoesNotExist. Start with one of its *Machine values runs it
// unnamed, as for a machine never registered. It reports whether the name
// was registered.
func (e *Engine) Unregister(nameOrARN string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.machines[nameOrARN]
	if !ok {
		return false
	}
	delete(e.machines, r.name)
	delete(e.machines, r.arn)
	// Every definition ever registered under the name forgets it; one still
	// registered under another name takes that name back.
	for m, n := range e.names {
		if n == r.name {
			delete(e.names, m)
		}
	}
	for _, other := range e.machines {
		if _, named := e.names[other.m]; !named {
			e.names[other.m] = other.name
		}
	}
	return true
}

// Machine returns the machine registered under a name or ARN, and its name.
func (e *Engine) Machine(nameOrARN string) (*Machine, string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.machines[nameOrARN]
	if !ok {
		return nil, "", false
	}
	return r.m, r.name, true
}

// StateMachine describes a registered state machine.
type StateMachine struct {
	Name, ARN string
	Machine   *Machine
	// Options are as registered, with the defaults filled in.
	Options MachineOptions
	// CreationDate is when the name was first registered; UpdateDate when
	// it was last registered.
	CreationDate, UpdateDate time.Time
}

// StateMachine returns the state machine registered under a name or ARN.
func (e *Engine) StateMachine(nameOrARN string) (StateMachine, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.machines[nameOrARN]
	if !ok {
		return StateMachine{}, false
	}
	return StateMachine{Name: r.name, ARN: r.arn, Machine: r.m, Options: r.opts, CreationDate: r.created, UpdateDate: r.updated}, true
}

// lookup returns the registration of a name or ARN, nil if there is none.
func (e *Engine) lookup(nameOrARN string) *registration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.machines[nameOrARN]
}

// Status is an execution's status, as DescribeExecution reports it.
type Status string

// The execution statuses.
const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// Result is how an execution ended.
type Result struct {
	Status Status
	// Output is the execution output (SUCCEEDED only).
	Output json.RawMessage
	// Error and Cause describe a failure (FAILED, TIMED_OUT, ABORTED).
	Error, Cause        string
	StartDate, StopDate time.Time
}

// Execution is one run of a machine.
type Execution struct {
	eng         *Engine
	m           *Machine
	arn, name   string
	machineName string
	machineARN  string
	input       any
	inputJSON   string
	start       time.Time
	done        *clock.Signal // fires when the result is set
	finish      *clock.Signal // fires when the run ends or Stop is called
	ctx         context.Context
	cancel      context.CancelFunc

	// roleARN is the execution role, fixed at start: registering the
	// machine again does not change it for a running execution.
	roleARN string
	// machineUpdated is when the definition it runs was registered (zero
	// if unknown: an unregistered machine, or one replaced before the
	// start).
	machineUpdated time.Time

	// maxEvents is the history limit (Options.MaxHistoryEvents, or none
	// for an Express child); timeout ends the run TIMED_OUT (0: none).
	maxEvents int
	timeout   time.Duration
	// child is set for a Distributed Map's child workflow execution: it
	// is not kept by the engine once it ends, and neither logged nor
	// reported to StatusChange.
	child bool

	ctxOnce sync.Once
	execCtx map[string]any // $$.Execution
	// machineContext is $$.StateMachine, set with execCtx.
	machineContext map[string]any

	mu        sync.Mutex
	history   eventLog
	closed    bool // no more events
	result    Result
	stopped   *failure
	overflow  atomic.Bool // the history reached MaxHistoryEvents
	stoppedIn []*stateRun // the active states when Stop was called

	// activeMu guards active and nActive; when both are held, x.mu comes
	// first.
	activeMu sync.Mutex
	active   *stateRun // states entered and not yet left, a list through nextActive
	nActive  int
}

// ARN returns the execution ARN ($$.Execution.Id).
func (x *Execution) ARN() string { return x.arn }

// Name returns the execution name.
func (x *Execution) Name() string { return x.name }

// StateMachineARN returns the ARN of the state machine the execution runs
// ($$.StateMachine.Id).
func (x *Execution) StateMachineARN() string { return x.machineARN }

// RoleARN returns the execution role ($$.Execution.RoleArn), the role its
// tasks run as.
func (x *Execution) RoleARN() string { return x.roleARN }

// Input returns the execution's input as JSON, as DescribeExecution
// reports it.
func (x *Execution) Input() string { return x.inputJSON }

// Machine returns the definition the execution runs, which stays the same
// when its name is registered again.
func (x *Execution) Machine() *Machine { return x.m }

// Done returns a signal that fires when the execution has ended. Await it
// with the engine's clock (or read Done().Done() outside the clock).
func (x *Execution) Done() *clock.Signal { return x.done }

// Wait blocks until the execution ends (through the engine's clock, so a
// virtual clock advances meanwhile) and returns its result. With a
// clock.Virtual, call it from a goroutine the clock accounts for (the one
// that created the clock, or one started with its Go); any other goroutine
// should wait on Done().Done() instead.
func (x *Execution) Wait(ctx context.Context) (Result, error) {
	if err := x.eng.clk.Await(ctx, x.done, 0); err != nil {
		return Result{}, err
	}
	return x.Result(), nil
}

// Result returns the execution's result; Status is RUNNING until it ends.
func (x *Execution) Result() Result {
	x.mu.Lock()
	defer x.mu.Unlock()
	r := x.result
	if r.Status == "" {
		r.Status = StatusRunning
		r.StartDate = x.start
	}
	return r
}

// History returns a copy of the events so far, in order.
func (x *Execution) History() []HistoryEvent {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.history.expand()
}

// Stop aborts a running execution, as StopExecution does. It returns at
// once; the execution ends ABORTED.
func (x *Execution) Stop(errName, cause string) {
	x.mu.Lock()
	if x.closed || x.stopped != nil {
		x.mu.Unlock()
		return
	}
	x.stopped = &failure{name: errName, cause: cause}
	// Snapshot the running states before cancelling makes them return.
	x.activeMu.Lock()
	x.stoppedIn = make([]*stateRun, 0, x.nActive)
	for sr := x.active; sr != nil; sr = sr.nextActive {
		x.stoppedIn = append(x.stoppedIn, sr)
	}
	x.activeMu.Unlock()
	x.mu.Unlock()
	x.cancel()
	x.finish.Fire()
}

// Start starts an execution of m with the given name ("" for a generated
// one) and JSON input (empty means {}). The execution runs in a goroutine
// of the engine's clock and outlives ctx's cancellation; only its values
// are kept. It runs as the state machine m was last registered as, with
// that machine's current role; an m never registered (or unregistered)
// runs unnamed, as Options.RoleARN. Errors are the sfn types
// StartExecution returns: ExecutionAlreadyExists, InvalidExecutionInput,
// InvalidName.
func (e *Engine) Start(ctx context.Context, m *Machine, name string, input json.RawMessage) (*Execution, error) {
	if m == nil {
		return nil, fmt.Errorf("start execution: nil machine")
	}
	return e.start(ctx, m, nil, name, input)
}

// start starts an execution of m as r's state machine, or, with r nil, as
// the one m was last registered as (unnamed if none).
func (e *Engine) start(ctx context.Context, m *Machine, r *registration, name string, input json.RawMessage) (*Execution, error) {
	if name == "" {
		name = e.opts.UUID()
	}
	if len(name) > 80 {
		return nil, &sfntypes.InvalidName{Message: aws.String("execution name longer than 80 characters: " + name)}
	}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	in, err := decode(input)
	if err != nil {
		return nil, &sfntypes.InvalidExecutionInput{Message: aws.String("Invalid State Machine Execution Input: " + err.Error())}
	}
	if e.opts.MaxPayloadBytes > 0 && len(input) > e.opts.MaxPayloadBytes {
		return nil, &sfntypes.InvalidExecutionInput{Message: aws.String(fmt.Sprintf("execution input of %d bytes exceeds the limit of %d bytes", len(input), e.opts.MaxPayloadBytes))}
	}
	e.mu.Lock()
	if r == nil {
		if n, ok := e.names[m]; ok {
			r = e.machines[n]
		}
	}
	mname, role := "StateMachine", e.opts.RoleARN
	var updated time.Time
	if r != nil {
		// m may be a definition the name had before it was registered
		// again: the execution runs m, as the name's state machine with its
		// current role.
		mname, role = r.name, r.opts.RoleARN
		if r.m == m {
			updated = r.updated
		}
	}
	marn := e.StateMachineARN(mname)
	arn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", e.opts.Region, e.opts.AccountID, mname, name)
	if _, dup := e.execs[arn]; dup {
		e.mu.Unlock()
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: '" + arn + "'")}
	}
	xctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	x := &Execution{
		eng: e, m: m, arn: arn, name: name, machineName: mname, machineARN: marn, roleARN: role, machineUpdated: updated,
		input: in, inputJSON: compactJSON(in), start: e.clk.Now(),
		done: e.clk.NewSignal(), finish: e.clk.NewSignal(), ctx: xctx, cancel: cancel,
		maxEvents: e.opts.MaxHistoryEvents, timeout: time.Duration(m.TimeoutSeconds) * time.Second,
	}
	e.execs[arn] = x
	e.mu.Unlock()
	x.launch()
	return x, nil
}

// launch records ExecutionStarted and runs the execution.
func (x *Execution) launch() {
	var prev int64
	x.add(&prev, "ExecutionStarted", &ExecutionStartedEventDetails{Input: x.inputJSON, RoleARN: x.roleARN})
	if f := x.eng.opts.StatusChange; f != nil && !x.child {
		f(x, Result{Status: StatusRunning, StartDate: x.start})
	}
	x.eng.clk.Go(x.run)
}

// Execution returns a started execution by ARN.
func (e *Engine) Execution(arn string) (*Execution, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[arn]
	return x, ok
}

// run drives the execution to its end.
func (x *Execution) run() {
	defer x.cancel()
	clk := x.eng.clk
	var out any
	var outJSON string
	var f *failure
	var lastID int64
	clk.Go(func() {
		defer x.finish.Fire()
		t := &thread{x: x, prev: 1}
		out, outJSON, f = t.runGraph(x.ctx, x.m.root, x.input, x.inputJSON)
		x.mu.Lock()
		lastID = t.prev
		x.mu.Unlock()
	})
	err := clk.Await(context.Background(), x.finish, x.timeout)

	x.mu.Lock()
	prev := lastID
	if prev == 0 {
		prev = int64(x.history.n)
	}
	var ev HistoryEvent
	r := Result{StartDate: x.start}
	switch {
	case x.stopped != nil:
		r.Status, r.Error, r.Cause = StatusAborted, x.stopped.name, x.stopped.cause
		ev = HistoryEvent{Type: "ExecutionAborted", ExecutionAbortedEventDetails: &FailureEventDetails{Error: r.Error, Cause: r.Cause}}
	case err != nil:
		r.Status, r.Error = StatusTimedOut, ErrorTimeout
		r.Cause = fmt.Sprintf("The execution exceeded its TimeoutSeconds of %d", int(x.timeout/time.Second))
		if x.child && x.m.TimeoutSeconds == 0 {
			r.Cause = fmt.Sprintf("The Express child workflow execution ran longer than its limit of %s", x.timeout)
		}
		ev = HistoryEvent{Type: "ExecutionTimedOut", ExecutionTimedOutEventDetails: &FailureEventDetails{Error: r.Error, Cause: r.Cause}}
	case f != nil:
		if f.name == abortedName {
			// Only cancellation yields it, and cancellation comes with Stop
			// or a timeout; report it plainly should that ever not hold.
			f = fail(ErrorRuntime, "the execution was cancelled")
		}
		r.Status, r.Error, r.Cause = StatusFailed, f.name, f.cause
		ev = HistoryEvent{Type: "ExecutionFailed", ExecutionFailedEventDetails: &FailureEventDetails{Error: r.Error, Cause: r.Cause}}
	default:
		if max := x.eng.opts.MaxPayloadBytes; max > 0 && len(outJSON) > max {
			r.Status, r.Error = StatusFailed, ErrorDataLimitExceeded
			r.Cause = fmt.Sprintf("The execution output of %d bytes exceeds the limit of %d bytes", len(outJSON), max)
			ev = HistoryEvent{Type: "ExecutionFailed", ExecutionFailedEventDetails: &FailureEventDetails{Error: r.Error, Cause: r.Cause}}
			break
		}
		_ = out
		r.Status, r.Output = StatusSucceeded, json.RawMessage(outJSON)
		ev = HistoryEvent{Type: "ExecutionSucceeded", ExecutionSucceededEventDetails: &OutputEventDetails{Output: outJSON}}
	}
	if r.Status == StatusAborted || r.Status == StatusTimedOut {
		// The states still running end with …StateAborted, innermost first.
		running := x.stoppedIn
		if x.stopped == nil {
			x.activeMu.Lock()
			for sr := x.active; sr != nil; sr = sr.nextActive {
				running = append(running, sr)
			}
			x.activeMu.Unlock()
		}
		sort.Slice(running, func(i, j int) bool { return running[i].enteredID > running[j].enteredID })
		for _, sr := range running {
			if atomic.LoadUint32(&sr.mapRun) == 1 {
				x.history.add(event{ts: clk.Now(), typ: "MapRunAborted", id: int64(x.history.n + 1), prev: prev})
				prev = int64(x.history.n)
			}
			switch sr.s.typ {
			case "Task", "Wait", "Map", "Parallel":
				x.history.add(event{ts: clk.Now(), typ: sr.s.typ + "StateAborted", id: int64(x.history.n + 1), prev: prev})
				prev = int64(x.history.n)
			}
		}
	}
	x.closed = true
	ev.ID = int64(x.history.n + 1)
	ev.PreviousEventID = prev
	ev.Timestamp = clk.Now()
	r.StopDate = ev.Timestamp
	x.history.add(compact(&ev))
	x.eng.stats.ended(x.child, x.history.n, x.arn)
	x.result = r
	x.mu.Unlock()
	x.cancel()
	if l := x.eng.opts.Logger; l != nil && !x.child {
		l.Info("execution ended", "executionArn", x.arn, "status", string(r.Status), "error", r.Error)
	}
	if f := x.eng.opts.StatusChange; f != nil && !x.child {
		f(x, r)
	}
	x.done.Fire()
}

// add appends an event of type typ after *prev, sets *prev to its id and
// returns the id (0 once closed, leaving *prev as it was). details is a
// pointer to one of the *EventDetails types, or nil. Every line of
// execution appends here, so the critical section is kept to the id and
// the append; the timestamp is read before it (the clock's Now does not
// lock).
func (x *Execution) add(prev *int64, typ string, details any) int64 {
	now := x.eng.clk.Now()
	max := x.maxEvents
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return 0
	}
	id := int64(x.history.n + 1)
	x.history.add(event{ts: now, typ: typ, id: id, prev: *prev, details: details})
	*prev = id
	if max > 0 && x.history.n >= max {
		x.overflow.Store(true)
	}
	x.mu.Unlock()
	return id
}

func (x *Execution) overflowed() bool { return x.overflow.Load() }

// pendingTask is a running task's completion: by its handler, or by
// SendTaskSuccess/SendTaskFailure for a task token.
type pendingTask struct {
	sig      *clock.Signal
	mu       sync.Mutex
	done     bool
	result   json.RawMessage
	f        *failure
	lastBeat time.Time
}

func (p *pendingTask) complete(result json.RawMessage, f *failure) bool {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return false
	}
	p.done, p.result, p.f = true, result, f
	p.mu.Unlock()
	p.sig.Fire()
	return true
}

func (p *pendingTask) beat(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.lastBeat = now
	return true
}

func (e *Engine) token(token string) (*pendingTask, error) {
	e.mu.Lock()
	pt, ok := e.tokens[token]
	e.mu.Unlock()
	if !ok {
		return nil, &sfntypes.TaskDoesNotExist{Message: aws.String("Task does not exist anymore")}
	}
	return pt, nil
}

// SendTaskSuccess completes the .waitForTaskToken task holding token with
// output (JSON). Errors are the sfn types: TaskDoesNotExist, TaskTimedOut,
// InvalidOutput.
func (e *Engine) SendTaskSuccess(token string, output json.RawMessage) error {
	pt, err := e.token(token)
	if err != nil {
		return err
	}
	if _, err := decode(output); err != nil {
		return &sfntypes.InvalidOutput{Message: aws.String("Invalid Output: " + err.Error())}
	}
	if !pt.complete(append(json.RawMessage(nil), output...), nil) {
		return &sfntypes.TaskTimedOut{Message: aws.String("Task Timed Out")}
	}
	return nil
}

// SendTaskFailure fails the task holding token with an error name and cause.
func (e *Engine) SendTaskFailure(token, errName, cause string) error {
	pt, err := e.token(token)
	if err != nil {
		return err
	}
	if !pt.complete(nil, fail(errName, cause)) {
		return &sfntypes.TaskTimedOut{Message: aws.String("Task Timed Out")}
	}
	return nil
}

// SendTaskHeartbeat resets the HeartbeatSeconds timer of the task holding token.
func (e *Engine) SendTaskHeartbeat(token string) error {
	pt, err := e.token(token)
	if err != nil {
		return err
	}
	if !pt.beat(e.clk.Now()) {
		return &sfntypes.TaskTimedOut{Message: aws.String("Task Timed Out")}
	}
	return nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newToken() string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Executions returns every execution started on the engine and not
// forgotten, in start order.
func (e *Engine) Executions() []*Execution {
	e.mu.Lock()
	out := make([]*Execution, 0, len(e.execs))
	for _, x := range e.execs {
		out = append(out, x)
	}
	e.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].start.Equal(out[j].start) {
			return out[i].start.Before(out[j].start)
		}
		return out[i].arn < out[j].arn
	})
	return out
}

// Forget drops a finished execution from the engine, so a long-lived engine
// does not keep every history it ever recorded. It reports whether the
// execution was known and finished; running executions are kept.
func (e *Engine) Forget(arn string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[arn]
	if !ok || !x.done.Fired() {
		return false
	}
	delete(e.execs, arn)
	return true
}
