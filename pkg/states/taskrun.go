package states

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// causeOf is the cause a handler's error reports: an Error's own Cause, or
// the error message.
func causeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Cause
	}
	return err.Error()
}

// runTask invokes the state's resource once (one attempt), with the
// TimeoutSeconds and HeartbeatSeconds limits, and records the task events.
// eff is the effective input (after InputPath and Parameters); input is the
// state input, which TimeoutSecondsPath and HeartbeatSecondsPath read, as
// Step Functions documents ("from the state input").
//
// handler is the Go handler that answers the task (stub: registered for
// the state's name), nil for the built-in integrations. effJSON, when not
// nil, is eff already encoded and eff is nil; only a Go handler gets it.
func (t *thread) runTask(ctx context.Context, s *state, sr *stateRun, eff any, effJSON []byte, handler TaskHandler, stub bool, input any) (any, *failure) {
	res := s.resource
	e := t.x.eng
	clk := e.clk
	limits := t.env(sr, input)

	timeout, heartbeat := s.timeoutSeconds, s.heartbeatSeconds
	if s.timeoutPath != nil {
		n, f := intFromPath(limits, s.timeoutPath, "TimeoutSecondsPath")
		if f != nil {
			return nil, f
		}
		timeout = n
	}
	if s.heartbeatPath != nil {
		n, f := intFromPath(limits, s.heartbeatPath, "HeartbeatSecondsPath")
		if f != nil {
			return nil, f
		}
		heartbeat = n
	}

	// The pending completion, the Task the handler sees and the context
	// carrying its TaskInfo, in one allocation.
	call := &struct {
		pt   pendingTask
		task Task
		info infoContext
	}{pt: pendingTask{sig: clk.NewSignal(), lastBeat: clk.Now()}}
	pt := &call.pt
	usesToken := res.pattern == patToken && !stub
	if res.pattern == patToken {
		e.mu.Lock()
		e.tokens[sr.token] = pt
		e.mu.Unlock()
		defer func() {
			e.mu.Lock()
			delete(e.tokens, sr.token)
			e.mu.Unlock()
		}()
	}
	params := effJSON
	if params == nil {
		var err error
		if params, err = marshal(eff); err != nil {
			return nil, fail(ErrorRuntime, "task parameters are not JSON: "+err.Error())
		}
	}
	if t.tooBig(len(params)) {
		return nil, fail(ErrorDataLimitExceeded, fmt.Sprintf("The task parameters of state '%s' exceed the maximum number of bytes service limit.", s.name))
	}

	lambdaEvents := res.kind == resLambdaARN
	if lambdaEvents {
		t.emit("LambdaFunctionScheduled", &LambdaFunctionScheduledEventDetails{
			Resource: res.raw, Input: string(params), TimeoutInSeconds: int64(timeout),
		})
		t.emit("LambdaFunctionStarted", nil)
	} else {
		// Both events' details in one allocation: they live as long as the
		// history either way.
		d := &struct {
			scheduled TaskScheduledEventDetails
			started   TaskEventDetails
		}{
			scheduled: TaskScheduledEventDetails{
				ResourceType: res.eventType, Resource: res.eventResource, Region: e.opts.Region,
				Parameters: string(params), TimeoutInSeconds: int64(timeout), HeartbeatInSeconds: int64(heartbeat),
			},
			started: TaskEventDetails{ResourceType: res.eventType, Resource: res.eventResource},
		}
		t.emit("TaskScheduled", &d.scheduled)
		t.emit("TaskStarted", &d.started)
	}

	// Every handler, built-in integrations' Lambda and SDK handlers too,
	// learns from its context which role and machine it serves, since in
	// AWS the call is made with the machine's role.
	call.info = infoContext{Context: ctx, info: TaskInfo{RoleARN: t.x.roleARN, StateMachineARN: t.x.machineARN, ExecutionARN: t.x.arn, StateName: s.name}}
	tctx, cancel := context.WithCancel(&call.info)
	defer cancel()
	task := &call.task
	*task = Task{
		Resource: res.raw, StateName: s.name, ExecutionARN: t.x.arn, StateMachineARN: t.x.machineARN, RoleARN: t.x.roleARN,
		Input: params, Token: sr.token, Heartbeat: func() { pt.beat(clk.Now()) },
	}
	clk.Go(func() {
		var out json.RawMessage
		var f *failure
		defer func() {
			// A panicking handler fails its task, named as aws-lambda-go
			// names a panic (the panic value's type), instead of taking the
			// engine down.
			if v := recover(); v != nil {
				name := panicName(v)
				pt.complete(nil, fail(name, lambdaCause(name, fmt.Errorf("%v", v))))
			}
		}()
		if handler != nil {
			var err error
			out, err = handler.RunTask(tctx, task)
			if err != nil {
				f = fail(ErrorName(err), causeOf(err))
			}
		} else {
			out, f = t.builtin(tctx, res, s.name, task, eff, func(out json.RawMessage) { t.taskSubmitted(res, out) })
		}
		if f != nil || !usesToken {
			pt.complete(out, f)
			return
		}
		// The callback pattern: the request went out; the result comes with
		// SendTaskSuccess or SendTaskFailure.
		if len(out) == 0 {
			out = json.RawMessage("null")
		}
		t.taskSubmitted(res, out)
	})

	out, f := awaitTask(ctx, clk, pt, timeout, heartbeat)
	if f == nil && len(out) == 0 {
		out = json.RawMessage("null")
	}
	var result any
	var compact string
	if f == nil {
		v, c, err := decodeCompact(out)
		compact = c
		if err != nil {
			f = fail(ErrorRuntime, fmt.Sprintf("the task returned invalid JSON: %v", err))
		}
		result = v
		if f == nil && t.tooBig(len(out)) {
			f = fail(ErrorDataLimitExceeded, fmt.Sprintf("The state/task '%s' has returned a result with a size exceeding the maximum number of bytes service limit.", s.name))
		}
	}
	switch {
	case f == nil:
		o := compact
		if o == "" {
			o = compactJSON(result)
		}
		if lambdaEvents {
			t.emit("LambdaFunctionSucceeded", &OutputEventDetails{Output: o})
		} else {
			t.emit("TaskSucceeded", taskOutputDetails(res, o))
		}
		return result, nil
	case f.name == abortedName:
		return nil, f
	case isTimeout(f.name):
		if lambdaEvents {
			t.emit("LambdaFunctionTimedOut", &FailureEventDetails{Error: f.name, Cause: f.cause})
		} else {
			t.emit("TaskTimedOut", &TaskEventDetails{
				ResourceType: res.eventType, Resource: res.eventResource, Error: f.name, Cause: f.cause,
			})
		}
	default:
		if lambdaEvents {
			t.emit("LambdaFunctionFailed", &FailureEventDetails{Error: f.name, Cause: f.cause})
		} else {
			t.emit("TaskFailed", &TaskEventDetails{
				ResourceType: res.eventType, Resource: res.eventResource, Error: f.name, Cause: f.cause,
			})
		}
	}
	return nil, f
}

// taskSubmitted records that a task's request went out (callback and .sync
// patterns).
func (t *thread) taskSubmitted(res *resource, out json.RawMessage) {
	t.emit("TaskSubmitted", taskOutputDetails(res, string(out)))
}

// taskOutputDetails are the details of TaskSubmitted and TaskSucceeded,
// with the output and its PayloadDetails in the same allocation.
func taskOutputDetails(res *resource, output string) *TaskEventDetails {
	d := &struct {
		details TaskEventDetails
		output  string
		payload PayloadDetails
	}{output: output}
	d.details = TaskEventDetails{ResourceType: res.eventType, Resource: res.eventResource, Output: &d.output, OutputDetails: &d.payload}
	return &d.details
}

// awaitTask waits for the task to complete, time out (TimeoutSeconds) or
// miss a heartbeat (HeartbeatSeconds), using only the clock.
func awaitTask(ctx context.Context, clk clock.Clock, pt *pendingTask, timeout, heartbeat int) (json.RawMessage, *failure) {
	start := clk.Now()
	for {
		now := clk.Now()
		var wait time.Duration
		var which string
		if timeout > 0 {
			wait, which = start.Add(time.Duration(timeout)*time.Second).Sub(now), ErrorTimeout
		}
		if heartbeat > 0 {
			pt.mu.Lock()
			hb := pt.lastBeat.Add(time.Duration(heartbeat) * time.Second).Sub(now)
			pt.mu.Unlock()
			if which == "" || hb < wait {
				wait, which = hb, ErrorHeartbeatTimeout
			}
		}
		if which != "" && wait <= 0 {
			if pt.complete(nil, fail(which, "")) {
				return nil, fail(which, "")
			}
			break // completed at the same instant: take the result
		}
		err := clk.Await(ctx, pt.sig, wait)
		if err == nil {
			break
		}
		if !errors.Is(err, clock.ErrTimeout) {
			pt.complete(nil, errAborted)
			return nil, errAborted
		}
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.result, pt.f
}

// builtin runs the integrations the engine provides itself.
func (t *thread) builtin(ctx context.Context, res *resource, stateName string, task *Task, eff any, submitted func(json.RawMessage)) (json.RawMessage, *failure) {
	e := t.x.eng
	switch res.kind {
	case resLambdaInvoke:
		p, _ := eff.(map[string]any)
		fn, _ := p["FunctionName"].(string)
		if fn == "" {
			return nil, fail(ErrorRuntime, "The field 'FunctionName' is required by arn:aws:states:::lambda:invoke")
		}
		payload := json.RawMessage("{}")
		if v, ok := p["Payload"]; ok {
			payload = json.RawMessage(compactJSON(v))
		}
		h := e.reg.lambda(fn)
		if h == nil {
			return nil, lambdaNotFound(e, fn)
		}
		if p["InvocationType"] == "Event" {
			// An asynchronous invocation: Lambda accepts it with 202 and
			// runs the function on its own.
			e.clk.Go(func() { _, _ = h(context.WithoutCancel(ctx), payload) })
			return json.RawMessage(`{"Payload":"","StatusCode":202}`), nil
		}
		out, err := h(ctx, payload)
		if err != nil {
			name := ErrorName(err)
			return nil, fail(name, lambdaCause(name, errors.New(causeOf(err))))
		}
		r, err := invokeResult(out, e.opts.UUID())
		if err != nil {
			return nil, fail(ErrorRuntime, err.Error())
		}
		return r, nil
	case resLambdaARN:
		h := e.reg.lambda(res.base)
		if h == nil {
			return nil, lambdaNotFound(e, res.base)
		}
		out, err := h(ctx, task.Input)
		if err != nil {
			name := ErrorName(err)
			return nil, fail(name, lambdaCause(name, errors.New(causeOf(err))))
		}
		return out, nil
	case resSDK:
		h := e.reg.sdkAction(res.service, res.action)
		if h == nil {
			return nil, errNoHandler(res, stateName)
		}
		out, err := h(ctx, task.Input)
		if err != nil {
			return nil, fail(SDKErrorName(res.service, err), causeOf(err))
		}
		return out, nil
	case resStartExecution:
		return t.startExecution(ctx, res, eff, submitted)
	}
	return nil, errNoHandler(res, stateName)
}

func lambdaNotFound(e *Engine, fn string) *failure {
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", e.opts.Region, e.opts.AccountID, lambdaName(fn))
	return fail("Lambda.ResourceNotFoundException", fmt.Sprintf("Function not found: %s (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException) — register it with Registry.HandleLambda", arn))
}

// startExecution is the states:startExecution integration: a nested
// execution on the same engine; .sync and .sync:2 wait for it.
func (t *thread) startExecution(ctx context.Context, res *resource, eff any, submitted func(json.RawMessage)) (json.RawMessage, *failure) {
	e := t.x.eng
	p, _ := eff.(map[string]any)
	target, _ := p["StateMachineArn"].(string)
	// The child runs as its own machine, with that machine's role.
	sm := e.lookup(target)
	if sm == nil {
		return nil, fail("StepFunctions.StateMachineDoesNotExistException", fmt.Sprintf("State Machine Does Not Exist: '%s' (register it with Engine.Register)", target))
	}
	var input json.RawMessage
	switch v := p["Input"].(type) {
	case nil:
	case string:
		input = json.RawMessage(v)
	default:
		input = json.RawMessage(compactJSON(v))
	}
	name, _ := p["Name"].(string)
	child, err := e.start(ctx, sm.m, sm, name, input)
	if err != nil {
		return nil, fail("StepFunctions."+ErrorName(err), err.Error())
	}
	started := map[string]any{"ExecutionArn": child.arn, "StartDate": formatTime(child.start)}
	if res.pattern != patSync && res.pattern != patSync2 {
		b, _ := json.Marshal(started)
		return b, nil
	}
	submitted(json.RawMessage(compactJSON(started)))
	if err := e.clk.Await(ctx, child.done, 0); err != nil {
		child.Stop("States.Aborted", "the parent execution's task was stopped")
		return nil, errAborted
	}
	r := child.Result()
	desc := map[string]any{
		"ExecutionArn":    child.arn,
		"Name":            child.name,
		"StateMachineArn": child.machineARN,
		"Status":          string(r.Status),
		"StartDate":       r.StartDate.UnixMilli(),
		"StopDate":        r.StopDate.UnixMilli(),
		"RedriveCount":    0,
		"RedriveStatus":   "NOT_REDRIVABLE",
	}
	if res.pattern == patSync2 {
		desc["Input"] = child.input
		desc["InputDetails"] = map[string]any{"Included": true}
	} else {
		desc["Input"] = child.inputJSON
		desc["InputDetails"] = map[string]any{"Included": true}
	}
	if r.Status == StatusSucceeded {
		if res.pattern == patSync2 {
			v, _ := decode(r.Output)
			desc["Output"] = v
		} else {
			desc["Output"] = string(r.Output)
		}
		desc["OutputDetails"] = map[string]any{"Included": true}
		b, _ := json.Marshal(desc)
		return b, nil
	}
	desc["Error"], desc["Cause"] = r.Error, r.Cause
	return nil, fail(ErrorTaskFailed, compactJSON(desc))
}

func panicName(v any) string {
	if err, ok := v.(error); ok {
		return ErrorName(err)
	}
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
