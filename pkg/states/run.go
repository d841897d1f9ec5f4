package states

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/states/jsonpath"
)

// abortedName marks a failure caused by cancellation (Stop, timeout, a
// sibling branch failing); it never reaches a history or a caller.
const abortedName = "\x00aborted"

var errAborted = &failure{name: abortedName}

// maxInlineConcurrency is how many iterations an inline Map runs at once in
// AWS ("up to 40 concurrent iterations").
const maxInlineConcurrency = 40

// thread is one line of execution: the top level, a Parallel branch or a
// Map iteration. It tracks the id of its last event for previousEventId.
type thread struct {
	x *Execution
	// prev is guarded by x.mu: a task's goroutine may emit TaskSubmitted
	// while the thread waits, and the history append takes x.mu anyway.
	prev int64
	item *mapItem
}

type mapItem struct {
	index int
	value any
}

// emit appends an event of type typ after the thread's last one; details
// is a pointer to one of the *EventDetails types, or nil.
func (t *thread) emit(typ string, details any) int64 {
	return t.x.add(&t.prev, typ, details)
}

func (t *thread) last() int64 {
	t.x.mu.Lock()
	defer t.x.mu.Unlock()
	return t.prev
}

// stateRun is what the context object needs about the current state.
type stateRun struct {
	s         *state
	entered   time.Time
	enteredID int64
	retries   int
	token     string
	// mapRun is set while a Distributed Map state's Map Run runs, so an
	// execution that ends meanwhile records MapRunAborted.
	// (1: running; read and written with sync/atomic: a stateRun is copied
	// by value for an ItemSelector's context, so it holds no atomic type).
	mapRun uint32
	// prevActive and nextActive link the execution's active states
	// (guarded by Execution.activeMu).
	prevActive, nextActive *stateRun
}

func (t *thread) contextObject(sr *stateRun) any {
	x := t.x
	exec := x.executionContext() // sets x.machineContext too
	c := map[string]any{
		"Execution":    exec,
		"StateMachine": x.machineContext,
		"State": map[string]any{
			"Name":        sr.s.name,
			"EnteredTime": formatTime(sr.entered),
			"RetryCount":  sr.retries,
		},
	}
	if sr.token != "" {
		c["Task"] = map[string]any{"Token": sr.token}
	}
	if t.item != nil {
		c["Map"] = map[string]any{"Item": map[string]any{"Index": t.item.index, "Value": t.item.value}}
	}
	return c
}

// executionContext returns $$.Execution, built once per execution: values
// are never modified in place, so every context object may share it.
func (x *Execution) executionContext() map[string]any {
	x.ctxOnce.Do(func() {
		x.machineContext = map[string]any{"Id": x.machineARN, "Name": x.machineName}
		x.execCtx = map[string]any{
			"Id":           x.arn,
			"Input":        x.input,
			"Name":         x.name,
			"RoleArn":      x.roleARN,
			"StartTime":    formatTime(x.start),
			"RedriveCount": 0,
		}
	})
	return x.execCtx
}

// formatTime formats as the context object does: RFC 3339, milliseconds, Z.
func formatTime(tm time.Time) string { return tm.UTC().Format("2006-01-02T15:04:05.000Z") }

func (t *thread) env(sr *stateRun, input any) *evalEnv {
	return &evalEnv{input: input, t: t, sr: sr}
}

// runGraph runs a graph from its StartAt to a terminal state.
func (t *thread) runGraph(ctx context.Context, g *graph, input any, inputJSON string) (any, string, *failure) {
	s := g.start
	for {
		if ctx.Err() != nil {
			return nil, "", errAborted
		}
		if t.x.overflowed() {
			return nil, "", fail(ErrorDataLimitExceeded, fmt.Sprintf("The execution history exceeded the limit of %d events", t.x.maxEvents))
		}
		out, outJSON, next, f := t.runState(ctx, s, input, inputJSON)
		if f != nil {
			return nil, "", f
		}
		if next == nil {
			return out, outJSON, nil
		}
		s, input, inputJSON = next, out, outJSON
	}
}

func (t *thread) tooBig(n int) bool {
	max := t.x.eng.opts.MaxPayloadBytes
	return max > 0 && n > max
}

// runState runs one state: its entered event, its work with Retry and
// Catch, its exited event. next is nil at the end of the graph.
func (t *thread) runState(ctx context.Context, s *state, input any, inputJSON string) (out any, outJSON string, next *state, f *failure) {
	// The state's run and both of its events' details in one allocation.
	a := &struct {
		sr      stateRun
		entered StateEnteredEventDetails
		exited  StateExitedEventDetails
	}{sr: stateRun{s: s, entered: t.x.eng.clk.Now()}, entered: StateEnteredEventDetails{Name: s.name, Input: inputJSON}}
	sr := &a.sr
	sr.enteredID = t.emit(s.enteredType, &a.entered)
	if s.typ != "Pass" && s.typ != "Choice" && s.typ != "Succeed" && s.typ != "Fail" {
		t.x.setActive(sr, true)
		defer t.x.setActive(sr, false)
	}
	defer func() {
		if f != nil && f.name == ErrorRuntime && !strings.HasPrefix(f.cause, "An error occurred while executing the state") {
			f = fail(ErrorRuntime, fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). %s", s.name, sr.enteredID, f.cause))
		}
	}()
	if t.tooBig(len(inputJSON)) {
		return nil, "", nil, fail(ErrorDataLimitExceeded, fmt.Sprintf("The state/task '%s' has returned a result with a size exceeding the maximum number of bytes service limit.", s.name))
	}

	next = s.next
	switch s.typ {
	case "Fail":
		return nil, "", nil, t.runFail(s, sr, input)
	case "Choice":
		var eff any
		if eff, f = t.applyInputPath(s.inputPath, input, sr); f != nil {
			return nil, "", nil, f
		}
		if next, f = s.choose(t.env(sr, eff)); f != nil {
			return nil, "", nil, f
		}
		out, f = t.applyOutputPath(s.outputPath, eff, sr)
	case "Succeed":
		var eff any
		if eff, f = t.applyInputPath(s.inputPath, input, sr); f != nil {
			return nil, "", nil, f
		}
		next = nil
		out, f = t.applyOutputPath(s.outputPath, eff, sr)
	case "Wait":
		var eff any
		if eff, f = t.applyInputPath(s.inputPath, input, sr); f != nil {
			return nil, "", nil, f
		}
		if f = t.runWait(ctx, s, sr, eff); f != nil {
			return nil, "", nil, f
		}
		out, f = t.applyOutputPath(s.outputPath, eff, sr)
	case "Pass":
		out, f = t.pipeline(s, sr, input, false, func(eff any, _ []byte) (any, *failure) {
			if s.hasResult {
				return s.result, nil
			}
			return eff, nil
		})
	default: // Task, Parallel, Map: with Retry and Catch
		out, next, f = t.withErrorHandling(ctx, s, sr, input)
	}
	if f != nil {
		return nil, "", nil, f
	}
	if s.end && next == s.next {
		next = nil // a Catch's Next still applies to an End state
	}
	b, err := marshal(out)
	if err != nil {
		return nil, "", nil, fail(ErrorRuntime, "state output is not JSON: "+err.Error())
	}
	outJSON = unsafe.String(unsafe.SliceData(b), len(b)) // b is never written again
	if t.tooBig(len(outJSON)) {
		return nil, "", nil, fail(ErrorDataLimitExceeded, fmt.Sprintf("The state/task '%s' has returned a result with a size exceeding the maximum number of bytes service limit.", s.name))
	}
	a.exited = StateExitedEventDetails{Name: s.name, Output: outJSON}
	t.emit(s.exitedType, &a.exited)
	return out, outJSON, next, nil
}

// pipeline applies InputPath, Parameters, the state's work, ResultSelector,
// ResultPath and OutputPath, in the order the specification gives. With
// asJSON, Parameters that can be are evaluated straight to JSON: work then
// gets effJSON (exactly what marshal(eff) would give) and a nil eff.
func (t *thread) pipeline(s *state, sr *stateRun, input any, asJSON bool, work func(eff any, effJSON []byte) (any, *failure)) (any, *failure) {
	eff, f := t.applyInputPath(s.inputPath, input, sr)
	if f != nil {
		return nil, f
	}
	var effJSON []byte
	if s.parameters != nil {
		done := false
		if asJSON && s.parameters.streams {
			b, ok, f := s.parameters.appendEval(make([]byte, 0, 128), t.env(sr, eff))
			if f != nil {
				return nil, f
			}
			if ok {
				eff, effJSON, done = nil, b, true
			}
		}
		if !done {
			if eff, f = s.parameters.eval(t.env(sr, eff)); f != nil {
				return nil, f
			}
		}
	}
	res, f := work(eff, effJSON)
	if f != nil {
		return nil, f
	}
	if s.resultSelector != nil {
		if res, f = s.resultSelector.eval(t.env(sr, res)); f != nil {
			return nil, f
		}
	}
	out, f := applyResultPath(s.resultPath, input, res)
	if f != nil {
		return nil, f
	}
	return t.applyOutputPath(s.outputPath, out, sr)
}

func (t *thread) applyInputPath(p ioPath, v any, sr *stateRun) (any, *failure) {
	return t.applyIOPath(p, v, sr, "InputPath")
}

func (t *thread) applyOutputPath(p ioPath, v any, sr *stateRun) (any, *failure) {
	return t.applyIOPath(p, v, sr, "OutputPath")
}

func (t *thread) applyIOPath(p ioPath, v any, sr *stateRun, field string) (any, *failure) {
	switch {
	case p.null:
		return map[string]any{}, nil
	case p.path == nil:
		return v, nil
	}
	out, err := p.path.get(t.env(sr, v))
	if err != nil {
		return nil, fail(ErrorRuntime, fmt.Sprintf("Invalid path '%s' : No results for path: %s (%s)", p.path.src, p.path.src, field))
	}
	return out, nil
}

func applyResultPath(p resultPath, raw, result any) (any, *failure) {
	switch {
	case p.null:
		return raw, nil
	case p.path == nil:
		return result, nil
	}
	out, err := jsonpath.Set(raw, p.path, result)
	if err != nil {
		return nil, fail(ErrorResultPathMatchFailure, fmt.Sprintf("Unable to apply ResultPath \"%s\" to input \"%s\"", p.path.String(), compactJSON(raw)))
	}
	return out, nil
}

func (t *thread) runFail(s *state, sr *stateRun, input any) *failure {
	name, cause := s.errorName, s.cause
	env := t.env(sr, input)
	for _, e := range []struct {
		ex  *expr
		dst *string
		f   string
	}{{s.errorExpr, &name, "ErrorPath"}, {s.causeExpr, &cause, "CausePath"}} {
		if e.ex == nil {
			continue
		}
		v, f := e.ex.eval(env, e.f)
		if f != nil {
			return f
		}
		str, ok := v.(string)
		if !ok {
			return fail(ErrorRuntime, fmt.Sprintf("The value of %s %s must be a string, got %s", e.f, e.ex.src, compactJSON(v)))
		}
		*e.dst = str
	}
	return fail(name, cause)
}

func (t *thread) runWait(ctx context.Context, s *state, sr *stateRun, eff any) *failure {
	clk := t.x.eng.clk
	var d time.Duration
	env := t.env(sr, eff)
	switch {
	case s.hasSeconds:
		d = time.Duration(s.seconds) * time.Second
	case s.hasTimestamp:
		d = s.timestamp.Sub(clk.Now())
	case s.secondsPath != nil:
		v, err := s.secondsPath.get(env)
		n, ok := intValue(v)
		if err != nil || !ok || n < 0 {
			return fail(ErrorRuntime, fmt.Sprintf("The SecondsPath parameter does not reference a valid non-negative integer: %s", s.secondsPath.src))
		}
		d = time.Duration(n) * time.Second
	case s.timestampPath != nil:
		v, err := s.timestampPath.get(env)
		str, _ := v.(string)
		ts, perr := parseTimestamp(str)
		if err != nil || perr != nil {
			return fail(ErrorRuntime, fmt.Sprintf("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s", s.timestampPath.src))
		}
		d = ts.Sub(clk.Now())
	}
	if d <= 0 {
		return nil
	}
	if err := clk.Sleep(ctx, d); err != nil {
		return errAborted
	}
	return nil
}

// withErrorHandling runs a Task, Parallel or Map state with its retriers
// and catchers.
func (t *thread) withErrorHandling(ctx context.Context, s *state, sr *stateRun, input any) (any, *state, *failure) {
	attempts := make([]int, len(s.retry))
	for {
		if s.resource != nil && s.resource.pattern == patToken {
			// A fresh token per attempt, in $$.Task.Token for Parameters.
			sr.token = newToken()
		}
		var handler TaskHandler
		stub := false
		if s.typ == "Task" {
			handler, stub = t.x.eng.reg.taskHandler(s.name, s.resource)
		}
		// A Go handler reads the Parameters as JSON only: they are
		// written as JSON directly, with no value built for them.
		out, f := t.pipeline(s, sr, input, handler != nil, func(eff any, effJSON []byte) (any, *failure) {
			switch s.typ {
			case "Task":
				return t.runTask(ctx, s, sr, eff, effJSON, handler, stub, input)
			case "Parallel":
				return t.runParallel(ctx, s, eff)
			default:
				return t.runMap(ctx, s, sr, eff)
			}
		})
		if f == nil {
			return out, s.next, nil
		}
		if f.name == abortedName || ctx.Err() != nil {
			return nil, nil, errAborted
		}
		if f.name == ErrorRuntime && s.typ == "Task" {
			// AWS reports the task's failure, then the runtime error ends the
			// execution: no retry, no catch.
			return nil, nil, f
		}
		if d, ok := t.retryDelay(s, attempts, f); ok {
			sr.retries++
			if d > 0 {
				if err := t.x.eng.clk.Sleep(ctx, d); err != nil {
					return nil, nil, errAborted
				}
			}
			continue
		}
		for _, c := range s.catch {
			if !matches(c.errorEquals, f.name) {
				continue
			}
			errOut := map[string]any{"Error": f.name}
			if f.cause != "" {
				errOut["Cause"] = f.cause
			}
			out, rf := applyResultPath(c.resultPath, input, errOut)
			if rf != nil {
				return nil, nil, rf
			}
			return out, c.next, nil
		}
		return nil, nil, f
	}
}

// retryDelay finds the first retrier matching f; it returns the delay before
// the next attempt, or false when no retrier applies or its attempts are
// spent.
func (t *thread) retryDelay(s *state, attempts []int, f *failure) (time.Duration, bool) {
	for i, r := range s.retry {
		if !matches(r.errorEquals, f.name) {
			continue
		}
		if attempts[i] >= r.maxAttempts {
			return 0, false
		}
		secs := float64(r.interval) * math.Pow(r.backoff, float64(attempts[i]))
		if r.maxDelay > 0 && secs > float64(r.maxDelay) {
			secs = float64(r.maxDelay)
		}
		if r.jitter == "FULL" {
			secs *= t.x.eng.opts.Random()
		}
		attempts[i]++
		return time.Duration(secs * float64(time.Second)), true
	}
	return 0, false
}

// intFromPath resolves a …Path field that must hold a non-negative integer.
func intFromPath(env *evalEnv, vp *valuePath, field string) (int, *failure) {
	v, err := vp.get(env)
	n, ok := intValue(v)
	if err != nil || !ok || n < 0 {
		return 0, fail(ErrorRuntime, fmt.Sprintf("The %s field references %s, which is not a non-negative integer", field, vp.src))
	}
	return n, nil
}

func (t *thread) runParallel(ctx context.Context, s *state, eff any) (any, *failure) {
	clk := t.x.eng.clk
	t.emit("ParallelStateStarted", nil)
	effJSON := compactJSON(eff)
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, len(s.branches))
	var mu sync.Mutex
	var first *failure
	sigs := make([]*clock.Signal, len(s.branches))
	start := t.last()
	for i, b := range s.branches {
		sigs[i] = clk.Go(func() {
			bt := &thread{x: t.x, prev: start, item: t.item}
			out, _, f := bt.runGraph(bctx, b, eff, effJSON)
			mu.Lock()
			defer mu.Unlock()
			if f != nil {
				if first == nil && f.name != abortedName {
					first = f
					cancel()
				}
				return
			}
			results[i] = out
		})
	}
	for _, sig := range sigs {
		if err := clk.Await(ctx, sig, 0); err != nil {
			return nil, errAborted
		}
	}
	if first != nil {
		// AWS fails the Parallel state with the branch's own error.
		t.emit("ParallelStateFailed", nil)
		return nil, first
	}
	if ctx.Err() != nil {
		return nil, errAborted
	}
	t.emit("ParallelStateSucceeded", nil)
	return results, nil
}

func (t *thread) runMap(ctx context.Context, s *state, sr *stateRun, eff any) (any, *failure) {
	if s.dist != nil {
		return t.runDistributed(ctx, s, sr, eff)
	}
	clk := t.x.eng.clk
	env := t.env(sr, eff)
	itemsV := eff
	if s.itemsPath != nil {
		v, err := s.itemsPath.get(env)
		if err != nil {
			return nil, fail(ErrorRuntime, fmt.Sprintf("Invalid path '%s': The ItemsPath field references a missing value", s.itemsPath.src))
		}
		itemsV = v
	}
	items, ok := itemsV.([]any)
	if !ok {
		return nil, fail(ErrorRuntime, fmt.Sprintf("Invalid path '%s' : Expected an array, but found %s", pathSrc(s.itemsPath), compactJSON(itemsV)))
	}
	maxConc := s.maxConcurrency
	if s.maxConcPath != nil {
		n, f := intFromPath(env, s.maxConcPath, "MaxConcurrencyPath")
		if f != nil {
			return nil, f
		}
		maxConc = n
	}
	tolCount, tolPct := -1, -1.0
	if s.tolCountPath != nil {
		n, f := intFromPath(env, s.tolCountPath, "ToleratedFailureCountPath")
		if f != nil {
			return nil, f
		}
		tolCount = n
	} else if s.tolCount > 0 {
		tolCount = s.tolCount
	}
	if s.tolPercentPath != nil {
		v, err := s.tolPercentPath.get(env)
		x, ok := floatValue(v)
		if err != nil || !ok || x < 0 || x > 100 {
			return nil, fail(ErrorRuntime, fmt.Sprintf("The ToleratedFailurePercentagePath field references %s, which is not a number from 0 to 100", s.tolPercentPath.src))
		}
		tolPct = x
	} else if s.hasTolPercent {
		tolPct = s.tolPercent
	}
	tolerant := tolCount >= 0 || tolPct >= 0

	n := len(items)
	t.emit("MapStateStarted", &MapStateStartedEventDetails{Length: n})
	// An inline Map runs at most 40 iterations at once in AWS, whatever
	// MaxConcurrency says.
	workers := min(n, maxInlineConcurrency)
	if maxConc > 0 && maxConc < workers {
		workers = maxConc
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, n)
	var nextIdx atomic.Int64
	var mu sync.Mutex
	var first *failure
	failures := 0
	start := t.last()
	exceeded := func() bool {
		if tolCount >= 0 && failures > tolCount {
			return true
		}
		if tolPct >= 0 && float64(failures)*100/float64(n) > tolPct {
			return true
		}
		return false
	}
	runItem := func(i int) {
		// The iteration's thread, item, state run and event details in one
		// allocation.
		a := &struct {
			it      thread
			item    mapItem
			isr     stateRun
			details MapIterationEventDetails
		}{item: mapItem{index: i, value: items[i]}, details: MapIterationEventDetails{Name: s.name, Index: i}}
		it := &a.it
		*it = thread{x: t.x, prev: start, item: &a.item}
		in := items[i]
		if s.itemSelector != nil {
			a.isr = *sr
			v, f := s.itemSelector.eval(it.env(&a.isr, eff))
			if f != nil {
				mu.Lock()
				if first == nil {
					first = f
					cancel()
				}
				mu.Unlock()
				return
			}
			in = v
		}
		// $$.Map.Item exists for ItemSelector only, as in AWS.
		it.item = nil
		// The details outlive the iteration in the history: drop what they
		// need not keep.
		a.item, a.isr = mapItem{}, stateRun{}
		details := &a.details
		it.emit("MapIterationStarted", details)
		out, _, f := it.runGraph(mctx, s.processor, in, compactJSON(in))
		mu.Lock()
		defer mu.Unlock()
		switch {
		case f == nil:
			results[i] = out
			it.emit("MapIterationSucceeded", details)
		case f.name == abortedName:
			it.emit("MapIterationAborted", details)
		default:
			it.emit("MapIterationFailed", details)
			failures++
			errOut := map[string]any{"Error": f.name}
			if f.cause != "" {
				errOut["Cause"] = f.cause
			}
			results[i] = errOut
			if first != nil {
				return
			}
			if !tolerant {
				first = f
				cancel()
			} else if exceeded() {
				first = fail(ErrorExceedToleratedFailureThreshold, "The specified tolerated failure threshold was exceeded")
				cancel()
			}
		}
	}
	sigs := make([]*clock.Signal, workers)
	for w := range workers {
		sigs[w] = clk.Go(func() {
			for mctx.Err() == nil {
				i := int(nextIdx.Add(1) - 1)
				if i >= n {
					return
				}
				runItem(i)
			}
		})
	}
	for _, sig := range sigs {
		if err := clk.Await(ctx, sig, 0); err != nil {
			return nil, errAborted
		}
	}
	if first != nil {
		t.emit("MapStateFailed", nil)
		return nil, first
	}
	if ctx.Err() != nil {
		return nil, errAborted
	}
	t.emit("MapStateSucceeded", nil)
	return results, nil
}

func pathSrc(vp *valuePath) string {
	if vp == nil {
		return "$"
	}
	return vp.src
}

// setActive records whether a (possibly long-running) state is in progress,
// so a stopped or timed-out execution can report it aborted. It has its own
// lock, not x.mu, which every history event takes, and a list through the
// stateRuns rather than a map, so entering and leaving allocate nothing.
func (x *Execution) setActive(sr *stateRun, on bool) {
	x.activeMu.Lock()
	defer x.activeMu.Unlock()
	if on {
		sr.prevActive, sr.nextActive = nil, x.active
		if x.active != nil {
			x.active.prevActive = sr
		}
		x.active = sr
		x.nActive++
		return
	}
	if sr.prevActive != nil {
		sr.prevActive.nextActive = sr.nextActive
	} else {
		x.active = sr.nextActive
	}
	if sr.nextActive != nil {
		sr.nextActive.prevActive = sr.prevActive
	}
	sr.prevActive, sr.nextActive = nil, nil
	x.nActive--
}
