package dr

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

type mergeWorld struct {
	w        *sim.World
	clk      *clock.Virtual
	aggP     *aggregate.Aggregator // P's consumer
	aggB     *aggregate.Aggregator // B's consumer
	aggBOldP *aggregate.Aggregator // writes markers as the restore brought them from P
}

const aggTable = "pendulum-aggregates"

func newMergeWorld(t testing.TB) *mergeWorld {
	t.Helper()
	w, clk := newWorld(t)
	pdb, bdb := w.Region(regionP).DynamoDB(), w.Region(regionB).DynamoDB()
	createTable(t, pdb, aggTable, true)
	createTable(t, bdb, aggTable, true)
	return &mergeWorld{w: w, clk: clk,
		aggP:     aggregate.New(pdb, aggregate.Options{Table: aggTable, Region: regionP, Clock: clk}),
		aggB:     aggregate.New(bdb, aggregate.Options{Table: aggTable, Region: regionB, Clock: clk}),
		aggBOldP: aggregate.New(bdb, aggregate.Options{Table: aggTable, Region: regionP, Clock: clk}),
	}
}

func (mw *mergeWorld) merge(budget int) *Merge {
	return &Merge{B: mw.w.Region(regionB).DynamoDB(), P: mw.aggP, Table: aggTable, BackupRegion: regionB, Clock: mw.clk, Budget: Budget{MaxItems: budget}}
}

func entry(id string, w time.Time, producer string) aggregate.Entry {
	return aggregate.Entry{ID: id, Window: w, Bytes: 10, Producer: producer}
}

func apply(t testing.TB, a *aggregate.Aggregator, es ...aggregate.Entry) {
	t.Helper()
	for _, r := range a.ApplyAll(context.Background(), es) {
		if r.Outcome == aggregate.Failed {
			t.Fatal(r.Err)
		}
	}
}

func runMerge(t testing.TB, m *Merge, since string, pass int) (MergeTotals, int) {
	t.Helper()
	in := MergeInput{Since: since, Pass: pass}
	for calls := 1; ; calls++ {
		out, err := m.Handle(context.Background(), in)
		if err != nil {
			t.Fatalf("call %d: %v", calls, err)
		}
		if out.Cursor == nil {
			return out.Totals, calls
		}
		in.Cursor, in.Totals = out.Cursor, out.Totals
	}
}

func TestMerge(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	win := t0.Truncate(time.Minute)
	// P counted p-0..p-4 before the outage; the restore brought p-0..p-3
	// into B (p-4 was within the PITR lag).
	for i := 0; i < 5; i++ {
		apply(t, mw.aggP, entry(fmt.Sprintf("p-%d", i), win, "alpha"))
	}
	for i := 0; i < 4; i++ {
		e := entry(fmt.Sprintf("p-%d", i), win, "alpha")
		e.At = t0
		apply(t, mw.aggBOldP, e)
	}
	mw.clk.Sleep(ctx, time.Hour)
	since := mw.clk.Now().UTC().Format(time.RFC3339)
	// B counted b-0..b-6 during the failover, and p-4 again (the producer
	// resent it after a lost acknowledgement).
	for i := 0; i < 7; i++ {
		apply(t, mw.aggB, entry(fmt.Sprintf("b-%d", i), win.Add(time.Hour), "beta"))
	}
	apply(t, mw.aggB, entry("p-4", win, "alpha"))

	got, calls := runMerge(t, mw.merge(3), since, 1)
	want := MergeTotals{Scanned: 12, Merged: 7, Already: 1, Skipped: 4}
	if got != want {
		t.Fatalf("totals = %+v, want %+v", got, want)
	}
	if calls < 2 {
		t.Fatalf("calls = %d, want the budget to split the work", calls)
	}
	// P's windows: its own 5 records kept, B's 7 added once.
	tot, err := mw.aggP.Totals(ctx, win)
	if err != nil || tot.Records != 5 {
		t.Fatalf("P window 1 = %+v, %v; want 5 records", tot, err)
	}
	tot, err = mw.aggP.Totals(ctx, win.Add(time.Hour))
	if err != nil || tot.Records != 7 || len(tot.Producers) != 1 || tot.Producers[0] != "beta" {
		t.Fatalf("P window 2 = %+v, %v; want 7 records from beta", tot, err)
	}
	// The merged marker keeps the region that counted it.
	if e, ok, err := mw.aggP.Marker(ctx, "b-3"); err != nil || !ok || e.Region != regionB {
		t.Fatalf("marker b-3 = %+v %v %v", e, ok, err)
	}

	// A re-run (pass 2, nothing new) counts nothing twice.
	got, _ = runMerge(t, mw.merge(1000), since, 2)
	if want := (MergeTotals{Scanned: 12, Merged: 0, Already: 8, Skipped: 4}); got != want {
		t.Fatalf("re-run totals = %+v, want %+v", got, want)
	}
	if tot, _ = mw.aggP.Totals(ctx, win.Add(time.Hour)); tot.Records != 7 {
		t.Fatalf("re-run changed P's window: %+v", tot)
	}
}

// TestMergeConflict: B's ingest accepted, during the failover, an id that
// P had accepted with other content (the idempotency tables are regional).
// The merge does not count B's record in P, and does not drop it silently:
// it counts it in Conflicts, and P's table holds a conflict item for it.
func TestMergeConflict(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	win := t0.Truncate(time.Minute)
	inP := entry("c-1", win, "alpha")
	inP.Hash = record.ContentHash([]byte(`{"v":"from P"}`))
	apply(t, mw.aggP, inP)
	mw.clk.Sleep(ctx, time.Hour)
	since := mw.clk.Now().UTC().Format(time.RFC3339)
	inB := entry("c-1", win, "beta")
	inB.Hash = record.ContentHash([]byte(`{"v":"from B"}`))
	apply(t, mw.aggB, inB, entry("b-1", win, "beta"))

	got, _ := runMerge(t, mw.merge(100), since, 1)
	if want := (MergeTotals{Scanned: 2, Merged: 1, Conflicts: 1}); got != want {
		t.Fatalf("totals = %+v, want %+v", got, want)
	}
	if e, ok, err := mw.aggP.Marker(ctx, "c-1"); err != nil || !ok || e.Hash != inP.Hash || e.Producer != "alpha" {
		t.Fatalf("P's marker c-1 = %+v %v %v, want P's own", e, ok, err)
	}
	out, err := mw.w.Region(regionP).DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(aggTable), Key: map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: aggregate.ConflictPrefix + "c-1"}, "sk": &ddbtypes.AttributeValueMemberS{Value: inB.Hash}}})
	if err != nil || out.Item == nil {
		t.Fatalf("conflict item in P: %v, %v", out, err)
	}
	// A re-run finds the same conflict and records it once.
	if got, _ = runMerge(t, mw.merge(100), since, 2); got != (MergeTotals{Scanned: 2, Already: 1, Conflicts: 1}) {
		t.Fatalf("re-run totals = %+v", got)
	}

	// B's consumer met a conflict itself: its restored table held P's
	// marker of c-2, B's ingest accepted c-2 with other content. Failback
	// deletes B's table, so the merge copies B's conflict item to P.
	restored := entry("c-2", win, "alpha")
	restored.Hash, restored.At = record.ContentHash([]byte(`{"v":"P's c-2"}`)), t0
	apply(t, mw.aggBOldP, restored)
	other := entry("c-2", win, "beta")
	other.Hash = record.ContentHash([]byte(`{"v":"B's c-2"}`))
	if r := mw.aggB.ApplyAll(ctx, []aggregate.Entry{other})[0]; r.Outcome != aggregate.Conflict {
		t.Fatalf("B's consumer: %v, want Conflict", r.Outcome)
	}
	got, _ = runMerge(t, mw.merge(100), since, 2)
	if want := (MergeTotals{Scanned: 4, Already: 1, Conflicts: 1, Skipped: 1, ConflictItems: 1}); got != want {
		t.Fatalf("totals with B's conflict = %+v, want %+v", got, want)
	}
	out, err = mw.w.Region(regionP).DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(aggTable), Key: map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: aggregate.ConflictPrefix + "c-2"}, "sk": &ddbtypes.AttributeValueMemberS{Value: other.Hash}}})
	if err != nil || out.Item == nil || attrS(out.Item[aggregate.AttrKept]) != restored.Hash || attrS(out.Item["region"]) != regionB {
		t.Fatalf("B's conflict item in P: %v, %v", out, err)
	}
}

func TestMergeInputAndFaults(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	m := mw.merge(10)
	for _, in := range []MergeInput{{Since: "", Pass: 1}, {Since: "2026-11-25T10:00:00Z"}, {Since: "2026-11-25T10:00:00Z", Pass: 1, Cursor: ptr("e30")}} {
		_, err := m.Handle(ctx, in)
		if in.Cursor != nil {
			// "e30" is {} : a valid, empty cursor.
			if err != nil {
				t.Errorf("empty cursor: %v", err)
			}
			continue
		}
		if kindOf(err) != "invalid" {
			t.Errorf("%+v: %v, want invalid", in, err)
		}
	}
	apply(t, mw.aggB, entry("b-0", t0, "beta"))
	mw.w.SetDown(regionP, true)
	if _, err := m.Handle(ctx, MergeInput{Since: "2026-11-25T09:00:00Z", Pass: 1}); kindOf(err) != "transient" {
		t.Fatalf("P down: %v, want transient", err)
	}
}

// BenchmarkMerge measures merge throughput against the simulator: markers
// applied to P per second.
func BenchmarkMerge(b *testing.B) {
	const n = 2000
	b.ReportAllocs()
	var merged int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mw := newMergeWorld(b)
		es := make([]aggregate.Entry, n)
		for j := range es {
			es[j] = entry(fmt.Sprintf("b-%05d", j), t0.Add(time.Duration(j%60)*time.Minute), "beta")
		}
		apply(b, mw.aggB, es...)
		m := mw.merge(1000)
		b.StartTimer()
		got, _ := runMerge(b, m, "2026-11-25T09:00:00Z", 1)
		merged += got.Merged
	}
	b.ReportMetric(float64(merged)/b.Elapsed().Seconds(), "markers/s")
}

func newAgg(cw *copyWorld, region string) *aggregate.Aggregator {
	return aggregate.New(cw.w.Region(region).DynamoDB(), aggregate.Options{Table: aggTable, Region: region, Clock: cw.clk})
}
