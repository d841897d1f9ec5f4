package states

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// TestMapItemPathsMatchContextObject checks that $$.Map.Item.Value, $$.Map.Item.Index and
// paths into the value, answered from the iteration without building the context object,
// give what the context object gives: the same value, or an error where it gives one.
func TestMapItemPathsMatchContextObject(t *testing.T) {
	x := &Execution{eng: New(Options{}), arn: "arn:x", name: "x", machineName: "m", machineARN: "arn:m", input: map[string]any{}}
	values := []any{nil, json.Number("1.50"), "s", true, map[string]any{"a": []any{nil}}, []any{},
		map[string]any{"Key": "k", "a": []any{json.Number("1"), map[string]any{"a": "deep"}}, "b": map[string]any{"c": true}},
		[]any{map[string]any{"Key": "x"}, map[string]any{"Key": "y"}}}
	paths := []string{"$$.Map.Item.Value", "$$.Map.Item.Index", "$$.Map.Item.Value.Key", "$$.Map.Item.Value.a[0]",
		"$$.Map.Item.Value.a[1].a", "$$.Map.Item.Value['b'].c", "$$.Map.Item.Value..a", "$$.Map.Item.Value[*].Key",
		"$$.Map.Item.Value.missing", "$$.Map.Item.Value[0]"}
	for i, v := range values {
		th := &thread{x: x, item: &mapItem{index: i, value: v}}
		sr := &stateRun{s: &state{name: "M"}, entered: time.Unix(0, 0)}
		for _, src := range paths {
			vp, err := compileValuePath(src)
			if err != nil {
				t.Fatal(err)
			}
			if vp.item == itemNone {
				t.Fatalf("%s: not recognised as a Map.Item path", src)
			}
			got, gerr := vp.get(th.env(sr, nil))
			want, werr := vp.p.Get(th.env(sr, nil).ctx())
			if (gerr == nil) != (werr == nil) || isNotFound(gerr) != isNotFound(werr) {
				t.Fatalf("%s on %#v: error %v, context object gives %v", src, v, gerr, werr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s on %#v = %#v, context object gives %#v", src, v, got, want)
			}
		}
	}
}

// TestStopAbortsEveryActiveState stops an execution while three Map iterations wait: each
// running Wait, then the Map, ends with a …StateAborted event, innermost (latest entered)
// first, whatever the order the iterations entered their states in.
func TestStopAbortsEveryActiveState(t *testing.T) {
	m := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":3,"ItemsPath":"$.items",
	  "ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}},"End":true}}}`)
	clk := clock.NewVirtual(conformanceStart)
	e := New(Options{Clock: clk})
	ctx := context.Background()
	x, err := e.Start(ctx, m, "", json.RawMessage(`{"items":[1,2,3,4,5]}`))
	if err != nil {
		t.Fatal(err)
	}
	// Virtual time stands still while this goroutine runs, so the Waits stay pending.
	deadline := time.Now().Add(10 * time.Second)
	for count(x.History(), "WaitStateEntered") < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the iterations did not start")
		}
		time.Sleep(time.Millisecond)
	}
	x.Stop("Stopped", "by the test")
	r, err := x.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Status, StatusAborted; got != want {
		t.Fatalf("status = %s, want %s", got, want)
	}
	h := x.History()
	if got, want := count(h, "WaitStateAborted"), 3; got != want {
		t.Fatalf("%d WaitStateAborted, want %d", got, want)
	}
	var aborted []HistoryEvent
	for _, ev := range h {
		if strings.HasSuffix(ev.Type, "StateAborted") {
			aborted = append(aborted, ev)
		}
	}
	if got, want := len(aborted), 4; got != want {
		t.Fatalf("%d …StateAborted events, want %d", got, want)
	}
	if got, want := aborted[3].Type, "MapStateAborted"; got != want {
		t.Fatalf("last aborted event %s, want %s (the outermost state last)", got, want)
	}
	if got, want := h[len(h)-1].Type, "ExecutionAborted"; got != want {
		t.Fatalf("last event %s, want %s", got, want)
	}
	for i, ev := range h {
		if got, want := ev.ID, int64(i+1); got != want {
			t.Fatalf("event %d has id %d", i, got)
		}
	}
}

func count(h []HistoryEvent, typ string) int {
	n := 0
	for _, ev := range h {
		if ev.Type == typ {
			n++
		}
	}
	return n
}
