package statemachines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/compact"
	"github.com/pendulum-dr/pendulum/pkg/compact/plan"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// nightlyRun is one nightly-batch execution on the local engine, with
// handlers standing in for the compact-plan and compact functions (their
// real input and output types, their real error types).
type nightlyRun struct {
	planFn    func(in plan.Input) (plan.Plan, error)
	compactFn func(in compact.Input, attempt int) (compact.Result, error)

	mu        sync.Mutex
	planCalls []plan.Input
	attempts  map[string]int
}

func (n *nightlyRun) run(t *testing.T, input string) (states.Result, time.Time) {
	t.Helper()
	subs := map[string]string{
		"CompactPlanFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:pendulum-compact-plan",
		"CompactFunctionArn":     "arn:aws:lambda:eu-west-1:123456789012:function:pendulum-compact",
	}
	def, err := Render("nightly-batch", subs)
	if err != nil {
		t.Fatal(err)
	}
	m, err := states.Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	n.attempts = map[string]int{}
	reg := states.NewRegistry()
	reg.HandleLambda(subs["CompactPlanFunctionArn"], func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in plan.Input
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		n.mu.Lock()
		n.planCalls = append(n.planCalls, in)
		n.mu.Unlock()
		out, err := n.planFn(in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	})
	reg.HandleLambda(subs["CompactFunctionArn"], func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in compact.Input
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		n.mu.Lock()
		n.attempts[in.HR]++
		a := n.attempts[in.HR]
		n.mu.Unlock()
		out, err := n.compactFn(in, a)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	})
	e := states.New(states.Options{Clock: clock.NewVirtual(start), Registry: reg, Random: func() float64 { return 1 }})
	e.Register("nightly-batch", m)
	x, err := e.Start(context.Background(), m, "nightly", json.RawMessage(input))
	if err != nil {
		t.Fatal(err)
	}
	r, err := x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r, start
}

func threeHours(in plan.Input) (plan.Plan, error) {
	date := in.Date
	p := plan.Plan{Date: date}
	for _, hr := range []string{"00", "01", "02"} {
		p.Partitions = append(p.Partitions, plan.Partition{Table: "raw", DT: date, HR: hr})
	}
	return p, nil
}

func compacted(in compact.Input) compact.Result {
	return compact.Result{Table: in.Table, DT: in.DT, HR: in.HR, Objects: 2, Records: 12, Duplicates: 1, Canaries: 1, Rows: 10, Key: compact.Key(in), Bytes: 1000}
}

func TestNightlyBatchAllHoursCompacted(t *testing.T) {
	n := &nightlyRun{planFn: threeHours, compactFn: func(in compact.Input, _ int) (compact.Result, error) { return compacted(in), nil }}
	r, _ := n.run(t, `{"date":"2026-03-01"}`)
	if r.Status != states.StatusSucceeded {
		t.Fatalf("status %s: %s: %s", r.Status, r.Error, r.Cause)
	}
	var out struct {
		Date                               string
		Hours, HoursCompacted, HoursFailed int
		Compacted                          []map[string]any
	}
	if err := json.Unmarshal(r.Output, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := [3]int{out.Hours, out.HoursCompacted, out.HoursFailed}, [3]int{3, 3, 0}; got != want {
		t.Fatalf("hours, compacted, failed = %v, want %v (output %s)", got, want, r.Output)
	}
	if got, want := out.Compacted[1]["key"], "dt=2026-03-01/hr=01/part-00000.parquet"; got != want {
		t.Fatalf("compacted[1].key = %v, want %v", got, want)
	}
}

func TestNightlyBatchFailedHourDoesNotStopTheOthers(t *testing.T) {
	n := &nightlyRun{planFn: threeHours, compactFn: func(in compact.Input, _ int) (compact.Result, error) {
		if in.HR == "01" {
			return compact.Result{}, fault.InvalidErr(fmt.Errorf("s3://raw/dt=2026-03-01/hr=01/o.gz line 7: %w", compact.ErrCorrupt))
		}
		return compacted(in), nil
	}}
	r, _ := n.run(t, `{"date":"2026-03-01"}`)
	if r.Status != states.StatusFailed || r.Error != "CompactionFailed" {
		t.Fatalf("status %s error %s, want FAILED CompactionFailed (cause %s)", r.Status, r.Error, r.Cause)
	}
	for _, want := range []string{"1 of 3 hour partitions of 2026-03-01 failed", `"hr":"01"`, "InvalidInputError", "line 7"} {
		if !strings.Contains(r.Cause, want) {
			t.Errorf("cause %q lacks %q", r.Cause, want)
		}
	}
	// an invalid hour is not retried; the other hours ran once each
	if got, want := fmt.Sprint(n.attempts), "map[00:1 01:1 02:1]"; got != want {
		t.Fatalf("attempts = %s, want %s", got, want)
	}
}

func TestNightlyBatchRetriesTransientErrorsThenGivesUp(t *testing.T) {
	n := &nightlyRun{planFn: threeHours, compactFn: func(in compact.Input, attempt int) (compact.Result, error) {
		switch {
		case in.HR == "00" && attempt <= 2:
			return compact.Result{}, fault.TransientErr(errors.New("SlowDown"))
		case in.HR == "02":
			return compact.Result{}, fault.TransientErr(errors.New("SlowDown"))
		}
		return compacted(in), nil
	}}
	r, start := n.run(t, `{"date":"2026-03-01"}`)
	if r.Status != states.StatusFailed || r.Error != "CompactionFailed" || !strings.Contains(r.Cause, `"hr":"02"`) || strings.Contains(r.Cause, `"hr":"00"`) {
		t.Fatalf("status %s error %s cause %s, want only hour 02 failed", r.Status, r.Error, r.Cause)
	}
	// 00 recovered on its third attempt; 02 had 1 + MaxAttempts (6) tries
	if got, want := fmt.Sprint(n.attempts), "map[00:3 01:1 02:7]"; got != want {
		t.Fatalf("attempts = %s, want %s", got, want)
	}
	// backoff 2,4,8,16,32,64 s (the last capped by MaxDelaySeconds 120 only later)
	if got := r.StopDate.Sub(start); got < 126*time.Second {
		t.Fatalf("execution took %v of virtual time, want at least the 126 s of backoff", got)
	}
}

func TestNightlyBatchInput(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		planFn    func(plan.Input) (plan.Plan, error)
		wantError string
		wantCause string
		wantPlan  []plan.Input
	}{
		{"EmptyInputPlansYesterday", `{}`, func(in plan.Input) (plan.Plan, error) {
			return plan.Plan{Date: "2026-03-01", Partitions: []plan.Partition{}}, nil
		}, "", "", []plan.Input{{Now: "2026-03-02T01:00:00.000Z"}}},
		{"DateNotString", `{"date":20260301}`, threeHours, "InvalidInput", `{"date":"YYYY-MM-DD"}`, nil},
		{"DateNotADate", `{"date":"yesterday"}`, threeHours, "InvalidInput", "YYYY-MM-DD", nil},
		{"PlanRejectsDate", `{"date":"2026-02-30"}`, func(in plan.Input) (plan.Plan, error) {
			return plan.Plan{}, fault.InvalidErr(errors.New(`date: "2026-02-30" is not a date in the form YYYY-MM-DD`))
		}, "InvalidInput", "2026-02-30", []plan.Input{{Date: "2026-02-30", Now: "2026-03-02T01:00:00.000Z"}}},
		{"PlanFails", `{"date":"2026-03-01"}`, func(in plan.Input) (plan.Plan, error) {
			return plan.Plan{}, &fault.PermissionError{Err: errors.New("AccessDenied listing s3://raw")}
		}, "PlanFailed", "AccessDenied", []plan.Input{{Date: "2026-03-01", Now: "2026-03-02T01:00:00.000Z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &nightlyRun{planFn: tt.planFn, compactFn: func(in compact.Input, _ int) (compact.Result, error) { return compacted(in), nil }}
			r, _ := n.run(t, tt.input)
			if tt.wantError == "" {
				if r.Status != states.StatusSucceeded {
					t.Fatalf("status %s: %s: %s", r.Status, r.Error, r.Cause)
				}
			} else if r.Status != states.StatusFailed || r.Error != tt.wantError || !strings.Contains(r.Cause, tt.wantCause) {
				t.Fatalf("status %s error %q cause %q, want FAILED %s with %q", r.Status, r.Error, r.Cause, tt.wantError, tt.wantCause)
			}
			if got, want := fmt.Sprint(n.planCalls), fmt.Sprint(tt.wantPlan); got != want {
				t.Fatalf("plan calls = %s, want %s", got, want)
			}
		})
	}
}
