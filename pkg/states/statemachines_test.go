package states_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/statemachines"
)

// TestProjectStateMachinesValid validates every ASL document the project
// deploys, placeholders and all: the engine must accept what CloudFormation
// will be given.
func TestProjectStateMachinesValid(t *testing.T) {
	names := statemachines.Names()
	if len(names) == 0 {
		t.Fatal("no embedded state machines")
	}
	for _, name := range names {
		var sub strings.Builder
		for _, w := range strings.Split(name, "-") {
			if w != "" {
				sub.WriteString(strings.ToUpper(w[:1]) + w[1:])
			}
		}
		t.Run(sub.String(), func(t *testing.T) {
			def, err := statemachines.Definition(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range states.Validate(def) {
				t.Errorf("%s: %s", name, p)
			}
		})
	}
}

// TestNightlyBatchRuns runs the deployed nightly-batch machine end to end on
// a virtual clock with Go Lambda handlers: one hour is throttled once and
// retried with backoff, every hour compacts, the execution succeeds.
func TestNightlyBatchRuns(t *testing.T) {
	const name = "nightly-batch"
	placeholders, err := statemachines.Placeholders(name)
	if err != nil {
		t.Fatal(err)
	}
	subs := map[string]string{}
	for _, p := range placeholders {
		subs[p] = "arn:aws:lambda:us-east-1:123456789012:function:" + p
	}
	def, err := statemachines.Render(name, subs)
	if err != nil {
		t.Fatal(err)
	}
	m, err := states.Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	reg := states.NewRegistry()
	var mu sync.Mutex
	compactCalls := map[string]int{}
	reg.HandleLambda("CompactPlanFunctionArn", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var parts []map[string]any
		for _, hr := range []string{"00", "01", "02"} {
			parts = append(parts, map[string]any{"table": "events", "dt": "2026-03-01", "hr": hr})
		}
		return json.Marshal(map[string]any{"date": "2026-03-01", "partitions": parts})
	})
	reg.HandleLambda("CompactFunctionArn", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in map[string]any
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		hr, _ := in["hr"].(string)
		mu.Lock()
		compactCalls[hr]++
		n := compactCalls[hr]
		mu.Unlock()
		if hr == "01" && n == 1 {
			return nil, fault.TransientErr(errors.New("throttled"))
		}
		in["rows"], in["duplicates"], in["canaries"], in["key"] = 10, 0, 1, "curated/"+hr
		return json.Marshal(in)
	})
	e := states.New(states.Options{Clock: clk, Registry: reg, Random: func() float64 { return 1 }})
	e.Register(name, m)
	x, err := e.Start(context.Background(), m, "2026-03-01", json.RawMessage(`{"date":"2026-03-01"}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != states.StatusSucceeded {
		t.Fatalf("status %s: %s: %s", r.Status, r.Error, r.Cause)
	}
	if got, want := compactCalls, (map[string]int{"00": 1, "01": 2, "02": 1}); !maps.Equal(got, want) {
		t.Errorf("compact calls = %v, want %v", got, want)
	}
	if got := r.StopDate.Sub(r.StartDate); got < 2*time.Second {
		t.Errorf("execution took %v of virtual time, want at least the 2 s retry interval", got)
	}
}
