package dr

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// benchItems is how many objects the pass benchmarks copy or merge: the
// 10⁵ objects of the scale drill (pkg/drill "scale").
const benchItems = 100_000

// perItem reports the benchmark's time and allocations per item (object):
// setup builds the world (untimed) and returns the pass to time.
func perItem(b *testing.B, items int, setup func() func()) {
	b.Helper()
	var before, after runtime.MemStats
	var elapsed time.Duration
	var alloc uint64
	for range b.N {
		b.StopTimer()
		run := setup()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		start := time.Now()
		run()
		elapsed += time.Since(start)
		b.StopTimer()
		runtime.ReadMemStats(&after)
		alloc += after.TotalAlloc - before.TotalAlloc
	}
	b.ReportMetric(float64(alloc)/float64(items*b.N), "B/item")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(items*b.N), "ns/item")
}

// BenchmarkCopyBackPass copies 10⁵ of B's raw objects to P in one pass on
// the Distributed Map (plan, 100 batches of 1,000, sum) against the
// simulator: ns and bytes allocated per object, the engine's, the
// simulator's and dr-copyback's together.
func BenchmarkCopyBackPass(b *testing.B) {
	perItem(b, benchItems, func() func() {
		cw := newCopyWorld(b)
		since := cw.clk.Now().UTC().Format(time.RFC3339)
		body := strings.Repeat("x", 256)
		for j := range benchItems {
			put(b, cw.b, cw.cfg.BackupRawBucket, fmt.Sprintf("dt=2026-11-25/hr=%02d/b-%06d.ndjson", 10+j*12/benchItems, j), body)
		}
		c := cw.copyBack(1000)
		c.Settings.MaxConcurrency = 100
		return func() {
			st, res := copyPass(b, cw, c, since, 1, "")
			if res.Status != states.StatusSucceeded || st.Totals.Copied != int64(benchItems) {
				b.Fatalf("%s %s: %+v", res.Status, res.Cause, st.Totals)
			}
		}
	})
}

// BenchmarkMergePass merges 10⁵ of B's raw objects of ten records each (10⁶
// records) into P's table in one pass on the Distributed Map: ns and bytes
// allocated per object.
func BenchmarkMergePass(b *testing.B) {
	perItem(b, benchItems, func() func() {
		mw := newMergeWorld(b)
		since := mw.clk.Now().UTC().Format(time.RFC3339)
		mw.sleep(b, time.Minute)
		at := mw.clk.Now().UTC()
		rs := make([]record.Record, 10)
		for j := range benchItems {
			for k := range rs {
				rs[k] = record.Record{ID: fmt.Sprintf("b-%06d-%d", j, k), TS: at, Received: at, Region: regionB, Producer: "p1", Data: []byte(`{"v":1}`)}
			}
			put(b, mw.b, mw.cfg.BackupRawBucket, fmt.Sprintf("dt=2026-11-25/hr=%02d/b-%06d.gz", at.Hour()+j*10/benchItems, j), string(ndjson(b, rs, true)))
		}
		m := mw.merge(1000)
		m.Settings.MaxConcurrency = 100
		return func() {
			st, res := mergePass(b, mw, m, since, 1, "")
			if res.Status != states.StatusSucceeded || st.Totals.Merged != int64(10*benchItems) {
				b.Fatalf("%s %s: %+v", res.Status, res.Cause, st.Totals)
			}
		}
	})
}
