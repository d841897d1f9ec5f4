package states

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// TestDistributedMapKeepsNoChildren runs 20,000 children, at most 50 at a
// time, and watches from inside them how many are alive: never more than
// MaxConcurrency, and none is kept by the engine once the Map Run ends (a
// child's history goes with it). The heap after the run does not grow with
// the children's histories.
func TestDistributedMapKeepsNoChildren(t *testing.T) {
	const n, conc = 20000, 50
	m, err := Parse([]byte(fmt.Sprintf(`{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":%d,
	  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:headObject","End":true}}},
	  "ResultSelector":{"n.$":"States.ArrayLength($)"},"End":true}}}`, conc)))
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	var mu sync.Mutex
	running, most := 0, 0
	clk := clock.NewVirtual(conformanceStart)
	reg.HandleSDK("s3", "headObject", func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		// A child takes a second of virtual time, so the workers overlap.
		err := clk.Sleep(ctx, 1e9)
		mu.Lock()
		running--
		mu.Unlock()
		return json.RawMessage(`{}`), err
	})
	e := New(Options{Clock: clk, Registry: reg})
	items := make([]int, n)
	in, _ := json.Marshal(items)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x, err := e.Start(context.Background(), m, "parent", in)
	if err != nil {
		t.Fatal(err)
	}
	r, err := x.Wait(context.Background())
	if err != nil || r.Status != StatusSucceeded || string(r.Output) != fmt.Sprintf(`{"n":%d}`, n) {
		t.Fatalf("%v %+v", err, r)
	}
	if most > conc || most < conc/2 {
		t.Fatalf("at most %d children ran at once, want up to MaxConcurrency %d", most, conc)
	}
	if got := e.Executions(); len(got) != 1 || got[0] != x {
		t.Fatalf("the engine keeps %d executions, want only the parent", len(got))
	}
	if h := x.History(); len(h) != 8 || !strings.HasPrefix(h[4].Type, "MapRunSucceeded") {
		t.Fatalf("parent history has %d events", len(h))
	}
	// The engine's figures count every child it did not keep, and the
	// longest history: a child's (ExecutionStarted, the Task's five events,
	// ExecutionSucceeded) or the parent's eight.
	st := e.HistoryStats()
	if st.Executions != 1 || st.ChildExecutions != n || st.MaxChildEvents != 7 || st.MaxEvents != 8 || st.MaxEventsExecution != x.ARN() {
		t.Fatalf("history stats %+v, want 1 execution, %d children of 7 events, the parent's 8 the most", st, n)
	}
	if want := float64(n / conc); r.StopDate.Sub(r.StartDate).Seconds() != want {
		t.Fatalf("the Map Run took %v of virtual time, want %vs (%d children a second)", r.StopDate.Sub(r.StartDate), want, conc)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	// 20,000 kept histories of 6 events would be megabytes; allow the
	// parent's input, output and noise.
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2<<20 {
		t.Fatalf("the heap grew by %d bytes after the run", grew)
	}
	runtime.KeepAlive(x)
}
