package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
)

// Follow shows an execution's states as its history grows, polling
// GetExecutionHistory every s.Poll, until it ends, and returns its
// outcome. On a terminal (tty) the states still running are shown in place
// on one line; otherwise every state entered and left is a line.
func Follow(ctx context.Context, s *Session, arn string, w io.Writer, tty bool) (*Outcome, error) {
	v := &view{w: w, tty: tty, open: map[string]time.Time{}, loops: map[string]*loop{}, depth: map[string]int{}, visits: map[string]int{}, entered: map[int64]string{}, prev: map[int64]int64{}}
	var all []sfntypes.HistoryEvent
	var last int64
	for {
		evs, err := newEvents(ctx, s.Clients.SFN, arn, last)
		if err != nil {
			v.clearLine()
			return nil, err
		}
		for _, ev := range evs {
			v.event(ev)
			last = ev.Id
		}
		all = append(all, evs...)
		if v.ended {
			break
		}
		v.runningLine(s.Clock.Now())
		if err := s.Clock.Sleep(ctx, s.Poll); err != nil {
			v.clearLine()
			return nil, err
		}
	}
	v.clearLine()
	d, err := s.Clients.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", arn, err)
	}
	o := outcomeOf(s, d, all)
	fmt.Fprintln(w, o.Summary())
	return o, nil
}

// outcomeOf is an ended execution's outcome and steps.
func outcomeOf(s *Session, d *sfn.DescribeExecutionOutput, events []sfntypes.HistoryEvent) *Outcome {
	o := &Outcome{Workflow: s.workflowOf(aws.ToString(d.StateMachineArn)), Execution: aws.ToString(d.ExecutionArn), Status: string(d.Status),
		Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause), Started: aws.ToTime(d.StartDate), Stopped: d.StopDate, Steps: []StepSeconds{}}
	if d.Output != nil {
		o.Output = json.RawMessage(*d.Output)
	}
	end := s.Clock.Now()
	if d.StopDate != nil {
		end = *d.StopDate
	}
	o.Seconds = drapi.Round(end.Sub(o.Started).Seconds())
	steps, _ := drapi.Steps(events, end)
	for _, st := range steps {
		o.Steps = append(o.Steps, StepSeconds{Name: st.Name, Seconds: drapi.Round(st.Total.Seconds()), Visits: st.Visits})
	}
	return o
}

// Summary is the outcome in one line: status, duration, and the output's
// status and message or the error and cause.
func (o *Outcome) Summary() string {
	line := fmt.Sprintf("%s %s %s in %s", o.Workflow, short(o.Execution), o.Status, duration(time.Duration(o.Seconds*float64(time.Second))))
	if o.Error != "" || o.Cause != "" {
		line += ": " + o.Error
		if o.Cause != "" {
			line += ": " + oneLine(o.Cause, 400)
		}
		return line
	}
	var out struct {
		Status, Outcome, Message string
		Report                   *drapi.ReportOutput
	}
	if json.Unmarshal(o.Output, &out) == nil {
		var parts []string
		for _, p := range []string{out.Status, out.Outcome, out.Message} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		if out.Report != nil && o.Workflow == drapi.WorkflowDrill {
			parts = append(parts, map[bool]string{true: "drill PASSED", false: "drill FAILED"}[out.Report.Passed])
		}
		if len(parts) > 0 {
			line += ": " + oneLine(strings.Join(parts, ", "), 400)
		}
	}
	return line
}

// newEvents returns the execution's events after event id last, oldest
// first, reading the history newest first until it reaches last.
func newEvents(ctx context.Context, api StepFunctions, arn string, last int64) ([]sfntypes.HistoryEvent, error) {
	var got []sfntypes.HistoryEvent
	var token *string
	for {
		out, err := api.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: 200, NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", arn, err)
		}
		done := false
		for _, ev := range out.Events {
			if ev.Id <= last {
				done = true
				break
			}
			got = append(got, ev)
		}
		if token = out.NextToken; done || aws.ToString(token) == "" {
			break
		}
	}
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	return got, nil
}

// view prints a followed execution's states.
type view struct {
	w          io.Writer
	tty        bool
	start      time.Time
	open       map[string]time.Time // running states, by name
	order      []string             // running states, in entry order
	depth      map[string]int
	visits     map[string]int
	containers []string         // open Parallel and Map states
	entered    map[int64]string // StateEntered event id → state name
	prev       map[int64]int64  // event id → previous event id
	ended      bool
	inPlace    bool // the running line is on screen
	// loops are the states entered again since the last state entered
	// for the first time: their visits are printed as one line each.
	loops     map[string]*loop
	loopOrder []string
}

// loop sums a state's repeated visits.
type loop struct {
	name   string
	visits int
	took   time.Duration
	at     time.Time // the last exit
}

// flushLoops prints one line for each state visited again since the last
// flush: how many more times, and for how long in all.
func (v *view) flushLoops() {
	sort.SliceStable(v.loopOrder, func(i, j int) bool { return v.loops[v.loopOrder[i]].at.Before(v.loops[v.loopOrder[j]].at) })
	for _, name := range v.loopOrder {
		l := v.loops[name]
		more := "more entries"
		if l.visits == 1 {
			more = "more entry"
		}
		v.line(l.at, v.depth[name], "↻ %-34s %9s  (%d %s, %d in all)", name, duration(l.took), l.visits, more, v.visits[name])
	}
	v.loops, v.loopOrder = map[string]*loop{}, nil
}

func (v *view) offset(at time.Time) string {
	return "+" + duration(at.Sub(v.start))
}

func (v *view) line(at time.Time, depth int, format string, args ...any) {
	v.clearLine()
	fmt.Fprintf(v.w, "  [%9s] %s%s\n", v.offset(at), strings.Repeat("  ", depth), fmt.Sprintf(format, args...))
}

// stateOf is the state an event belongs to: the StateEntered event its
// previous-event chain leads back to.
func (v *view) stateOf(id int64) string {
	for i := 0; i < 10000 && id > 0; i++ {
		if name, ok := v.entered[id]; ok {
			return name
		}
		id = v.prev[id]
	}
	return ""
}

func (v *view) event(ev sfntypes.HistoryEvent) {
	at := aws.ToTime(ev.Timestamp)
	v.prev[ev.Id] = ev.PreviousEventId
	switch {
	case ev.Type == sfntypes.HistoryEventTypeExecutionStarted:
		v.start = at
	case ev.StateEnteredEventDetails != nil:
		name := aws.ToString(ev.StateEnteredEventDetails.Name)
		v.entered[ev.Id] = name
		v.depth[name] = len(v.containers)
		if _, running := v.open[name]; !running {
			v.order = append(v.order, name)
		}
		v.open[name] = at
		v.visits[name]++
		if ev.Type == sfntypes.HistoryEventTypeParallelStateEntered || ev.Type == sfntypes.HistoryEventTypeMapStateEntered {
			v.containers = append(v.containers, name)
		}
		if v.visits[name] == 1 {
			v.flushLoops()
			if !v.tty {
				v.line(at, v.depth[name], "→ %s", name)
			}
		}
	case ev.StateExitedEventDetails != nil:
		name := aws.ToString(ev.StateExitedEventDetails.Name)
		if n := len(v.containers); n > 0 && v.containers[n-1] == name {
			v.containers = v.containers[:n-1]
		}
		var took time.Duration
		if t, ok := v.open[name]; ok {
			took = at.Sub(t)
			delete(v.open, name)
			for i, n := range v.order {
				if n == name {
					v.order = append(v.order[:i], v.order[i+1:]...)
					break
				}
			}
		}
		if v.visits[name] > 1 {
			// A polling loop's later visits are summed into one line,
			// printed when the execution moves on (flushLoops).
			l := v.loops[name]
			if l == nil {
				l = &loop{name: name}
				v.loops[name] = l
				v.loopOrder = append(v.loopOrder, name)
			}
			l.visits++
			l.took += took
			l.at = at
			break
		}
		v.line(at, v.depth[name], "✓ %-34s %9s", name, duration(took))
	default:
		if name, cause, ok := failure(ev); ok {
			v.line(at, v.depth[v.stateOf(ev.Id)]+1, "! %s: %s", v.stateOf(ev.Id), oneLine(name+": "+cause, 300))
		}
	}
	switch ev.Type {
	case sfntypes.HistoryEventTypeExecutionSucceeded, sfntypes.HistoryEventTypeExecutionFailed, sfntypes.HistoryEventTypeExecutionAborted, sfntypes.HistoryEventTypeExecutionTimedOut:
		v.flushLoops()
		v.ended = true
	}
}

// failure returns a failed task's error and cause.
func failure(ev sfntypes.HistoryEvent) (name, cause string, ok bool) {
	switch {
	case ev.TaskFailedEventDetails != nil:
		return aws.ToString(ev.TaskFailedEventDetails.Error), aws.ToString(ev.TaskFailedEventDetails.Cause), true
	case ev.TaskTimedOutEventDetails != nil:
		return "States.Timeout " + aws.ToString(ev.TaskTimedOutEventDetails.Error), aws.ToString(ev.TaskTimedOutEventDetails.Cause), true
	case ev.LambdaFunctionFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionFailedEventDetails.Cause), true
	case ev.LambdaFunctionTimedOutEventDetails != nil:
		return "States.Timeout " + aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Error), aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Cause), true
	}
	return "", "", false
}

// runningLine shows, on a terminal, the states running now.
func (v *view) runningLine(now time.Time) {
	if !v.tty || len(v.order) == 0 {
		return
	}
	var parts []string
	for _, n := range v.order {
		parts = append(parts, fmt.Sprintf("%s %s", n, duration(now.Sub(v.open[n]))))
	}
	v.clearLine()
	fmt.Fprintf(v.w, "  [%9s] … %s", v.offset(now), oneLine(strings.Join(parts, " · "), 150))
	v.inPlace = true
}

// clearLine erases the running line.
func (v *view) clearLine() {
	if v.inPlace {
		fmt.Fprint(v.w, "\r\033[K")
		v.inPlace = false
	}
}
