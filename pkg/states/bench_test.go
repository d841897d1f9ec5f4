package states

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

func passChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		if i == n-1 {
			fmt.Fprintf(&b, `"S%d":{"Type":"Pass","Parameters":{"n.$":"$.n","step":%d},"End":true}`, i, i)
		} else {
			fmt.Fprintf(&b, `"S%d":{"Type":"Pass","Parameters":{"n.$":"$.n","step":%d},"Next":"S%d"}`, i, i, i+1)
		}
	}
	b.WriteString("}}")
	return b.String()
}

// BenchmarkPassChain100 runs a chain of 100 Pass states with a small
// payload; ns/transition is the figure to watch (target < 5 µs).
func BenchmarkPassChain100(b *testing.B) {
	const n = 100
	m := mustParse(b, passChain(n))
	e := New(Options{Clock: clock.Real{}})
	ctx := context.Background()
	in := json.RawMessage(`{"n":1}`)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		x, err := e.Start(ctx, m, "", in)
		if err != nil {
			b.Fatal(err)
		}
		r, err := x.Wait(ctx)
		if err != nil || r.Status != StatusSucceeded {
			b.Fatalf("%v %+v", err, r)
		}
		// Forget the finished execution so histories do not pile up across b.N and
		// inflate heap and GC figures.
		if !e.Forget(x.ARN()) {
			b.Fatal("Forget did not drop the finished execution")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/transition")
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*n), "cpu-ns/transition")
}

// BenchmarkMap10000 runs an inline Map over 10,000 items (target < 1 s on
// one core: go test -bench Map10000 -cpu 1). The history limit is lifted:
// the cloud would need a Distributed Map for this many items.
func BenchmarkMap10000(b *testing.B) {
	const n = 10000
	m := mustParse(b, `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
	  "ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},
	  "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":"$.v","End":true}}},"End":true}}}`)
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	in, _ := json.Marshal(map[string]any{"items": items})
	e := New(Options{Clock: clock.Real{}, MaxHistoryEvents: -1})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		x, err := e.Start(ctx, m, "", in)
		if err != nil {
			b.Fatal(err)
		}
		r, err := x.Wait(ctx)
		if err != nil || r.Status != StatusSucceeded {
			b.Fatalf("%v %+v", err, r.Error)
		}
		// Forget the finished execution so histories do not pile up across b.N and
		// inflate heap and GC figures.
		if !e.Forget(x.ARN()) {
			b.Fatal("Forget did not drop the finished execution")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
}

// mapDefinition is the Map of the whole-process comparison with
// aws-local-stepfunctions (see docs/states-crosscheck.md and tools/crosscheck).
const mapDefinition = `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
  "ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},
  "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"sum.$":"States.MathAdd($.v, $.i)"},"End":true}}},"End":true}}}`

// BenchmarkMap10000Virtual runs mapDefinition over 10,000 items on a
// virtual clock, as the CLI and the drill run it.
func BenchmarkMap10000Virtual(b *testing.B) {
	const n = 10000
	m := mustParse(b, mapDefinition)
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	in, _ := json.Marshal(map[string]any{"items": items})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		e := New(Options{Clock: clock.NewVirtual(conformanceStart), MaxHistoryEvents: -1})
		x, err := e.Start(ctx, m, "", in)
		if err != nil {
			b.Fatal(err)
		}
		if r, err := x.Wait(ctx); err != nil || r.Status != StatusSucceeded {
			b.Fatalf("%v %+v", err, r.Error)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	def := []byte(passChain(100))
	b.ReportAllocs()
	b.SetBytes(int64(len(def)))
	for b.Loop() {
		if _, err := Parse(def); err != nil {
			b.Fatal(err)
		}
	}
}

// mapTaskDefinition is the Task Map of the whole-process comparison with
// aws-local-stepfunctions (tools/crosscheck/bench/map-task.asl.json): each
// iteration calls a stubbed Task with an intrinsic in its Parameters.
const mapTaskDefinition = `{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items",
  "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Call","States":{"Call":{"Type":"Task",
  "Resource":"arn:aws:states:::aws-sdk:dynamodb:putItem",
  "Parameters":{"TableName":"t","Item":{"id":{"N.$":"States.Format('{}', $.id)"}}},
  "ResultSelector":{"ok.$":"$.ok"},"End":true}}},"End":true}}}`

// BenchmarkMapTask3000Virtual runs mapTaskDefinition over 3,000 items on a
// virtual clock with the Task answered by a Go handler, as `pendulum states
// run --stub` answers it.
func BenchmarkMapTask3000Virtual(b *testing.B) {
	const n = 3000
	m := mustParse(b, mapTaskDefinition)
	items := make([]map[string]int, n)
	for i := range items {
		items[i] = map[string]int{"id": i}
	}
	in, _ := json.Marshal(map[string]any{"items": items})
	reg := NewRegistry()
	result := json.RawMessage(`{"ok":true}`)
	reg.HandleState("Call", TaskHandlerFunc(func(context.Context, *Task) (json.RawMessage, error) {
		return result, nil
	}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		e := New(Options{Clock: clock.NewVirtual(conformanceStart), Registry: reg})
		x, err := e.Start(ctx, m, "", in)
		if err != nil {
			b.Fatal(err)
		}
		if r, err := x.Wait(ctx); err != nil || r.Status != StatusSucceeded {
			b.Fatalf("%v %+v", err, r.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
}

// benchDistributed runs a Distributed Map over n JSON items read from S3
// (an in-memory ObjectStore) on a virtual clock, batch items a child
// (1: no ItemBatcher); ns/item and B/item are the figures to watch.
func benchDistributed(b *testing.B, n, batch int) {
	batcher := ""
	if batch > 1 {
		batcher = fmt.Sprintf(`"ItemBatcher":{"MaxItemsPerBatch":%d},`, batch)
	}
	m := mustParse(b, `{"StartAt":"M","States":{"M":{"Type":"Map",
	  "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON"},"Parameters":{"Bucket":"b","Key":"items.json"}},`+batcher+`
	  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"seen.$":"$"},"End":true}}},
	  "ResultSelector":{"n.$":"States.ArrayLength($)"},"End":true}}}`)
	items := make([]map[string]int, n)
	for i := range items {
		items[i] = map[string]int{"id": i}
	}
	body, _ := json.Marshal(items)
	store := &memStore{objs: map[string][]byte{"b/items.json": body}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		e := New(Options{Clock: clock.NewVirtual(conformanceStart), ObjectStore: store, MaxPayloadBytes: -1})
		x, err := e.Start(ctx, m, "", nil)
		if err != nil {
			b.Fatal(err)
		}
		r, err := x.Wait(ctx)
		if want := fmt.Sprintf(`{"n":%d}`, (n+batch-1)/batch); err != nil || r.Status != StatusSucceeded || string(r.Output) != want {
			b.Fatalf("%v %+v, want output %s", err, r, want)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*n), "B/item")
}

// BenchmarkDistributedMap10000 is a Map Run of 10,000 child workflow
// executions, one item each.
func BenchmarkDistributedMap10000(b *testing.B) { benchDistributed(b, 10000, 1) }

// BenchmarkDistributedMap100000Batched is a Map Run over 100,000 items, 100
// a child: 1,000 child workflow executions.
func BenchmarkDistributedMap100000Batched(b *testing.B) { benchDistributed(b, 100000, 100) }
