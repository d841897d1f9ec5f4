package dr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

const aggTable = "pendulum-aggregates"

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

// runMerge runs a merge pass as the failback does and returns its totals
// and how many batches (child executions) it ran; pass 2 reads what was
// written since listedFrom.
func runMerge(t testing.TB, mw *mergeWorld, m *Merge, since string, pass int, listedFrom string) (MergeTotals, int) {
	t.Helper()
	st, res := mergePass(t, mw, m, since, pass, listedFrom)
	if res.Status != states.StatusSucceeded {
		t.Fatalf("merge pass %d: %s %s: %s", pass, res.Status, res.Error, res.Cause)
	}
	return st.Totals, st.Batches
}

func mergePass(t testing.TB, mw *mergeWorld, m *Merge, since string, pass int, listedFrom string) (PassState[MergeTotals], states.Result) {
	t.Helper()
	pr := passRun{clk: mw.clk, b: mw.b, handle: lambdaOf("dr-merge", m.Handle), fn: "dr-merge", prefix: "Merge", state: "merge"}
	raw, res := pr.run(t, since, pass, listedFrom)
	var st PassState[MergeTotals]
	if raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
	}
	return st, res
}

// mergeWorld is replayWorld's P and B (P replicating its raw bucket to B)
// through a failover: P counted records before it, B's table was restored
// from P and B's consumer counted what B acknowledged, which B's Firehose
// wrote to B's raw bucket.
type mergeWorld struct {
	*replayWorld
	aggB  *aggregate.Aggregator // B's consumer
	since string                // the failover's start
}

func newMergeWorld(t testing.TB) *mergeWorld {
	t.Helper()
	mw := &mergeWorld{replayWorld: newReplayWorld(t)}
	mw.aggB = aggregate.New(mw.bdb, aggregate.Options{Table: aggTable, Region: regionB, Clock: mw.clk})
	return mw
}

// merge is dr-merge as the function wires it, batches of batch objects.
func (mw *mergeWorld) merge(batch int) *Merge {
	return &Merge{S3: mw.b, P: mw.aggP, Results: mw.b, Settings: testSettings(batch), Bucket: mw.cfg.BackupRawBucket, Table: aggTable,
		BackupRegion: regionB, Clock: mw.clk}
}

// recsIn makes n records named prefix-i acknowledged by region, received
// now + i seconds.
func (mw *mergeWorld) recsIn(prefix string, n int, region string) []record.Record {
	rs := mw.recs(prefix, n)
	for i := range rs {
		rs[i].Region = region
	}
	return rs
}

// putB writes one of B's own raw objects (B's Firehose), in the current
// hour folder.
func (mw *mergeWorld) putB(t testing.TB, name string, rs []record.Record) {
	t.Helper()
	put(t, mw.b, mw.cfg.BackupRawBucket, mw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/")+name, string(ndjson(t, rs, true)))
}

// failover plays P's life before the outage and B's during it: P counts
// p-0..p-4 (in an object replicated to B) and an older object's records;
// the failover restores P's table into B (TTL on, as the failover sets it)
// and replays; B acknowledges and counts b-0..b-6 in two of its own
// objects, one also holding p-4 resent by its producer after a lost
// acknowledgement (B acknowledged it too), and a record P acknowledged
// that ended up in one of B's objects.
func (mw *mergeWorld) failover(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	hour := func() string { return mw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/") }
	ps := mw.recs("p", 5)
	mw.putP(t, hour()+"p.gz", ndjson(t, ps, true))
	mw.consume(t, ps)
	mw.sleep(t, 10*time.Minute) // replicated
	point := mw.clk.Now()
	mw.sleep(t, 6*time.Minute) // PITR's latest restorable time is 5 minutes ago
	mw.restore(t, point)
	if _, err := mw.bdb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(aggTable),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	runReplay(t, mw.replay(1000))
	mw.since = mw.clk.Now().UTC().Format(time.RFC3339)
	mw.sleep(t, 5*time.Minute)

	bs := mw.recsIn("b", 7, regionB)
	resent := ps[4]
	resent.Region, resent.Received = regionB, mw.clk.Now().UTC()
	foreign := mw.recsIn("q", 1, regionP)
	first := append(append([]record.Record{}, bs[:4]...), resent)
	mw.putB(t, "b-1.gz", first)
	mw.putB(t, "b-2.gz", append(append([]record.Record{}, bs[4:]...), foreign...))
	var es []aggregate.Entry
	for _, r := range append(first, bs[4:]...) {
		es = append(es, aggregate.EntryOf(r))
	}
	apply(t, mw.aggB, es...)
}

// pWindows sums P's window summaries and lists its markers.
func (mw *mergeWorld) pCounts(t testing.TB) (map[string]bool, int64) {
	t.Helper()
	return markersAndSummed(t, mw.pdb)
}

func TestMerge(t *testing.T) {
	mw := newMergeWorld(t)
	mw.failover(t)

	got, batches := runMerge(t, mw, mw.merge(1), mw.since, 1, "")
	// Listed: P's replica (older than since? no: replicated before the
	// failover, so older), B's two objects.
	want := MergeTotals{Listed: 3, Older: 1, Read: 2, Records: 9, Merged: 7, Already: 1, OtherOrigin: 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("totals\n got %+v\nwant %+v", got, want)
	}
	if batches != 3 {
		t.Fatalf("%d batches of one object, want 3: one child execution each", batches)
	}
	markers, summed := mw.pCounts(t)
	if len(markers) != 12 || summed != 12 {
		t.Fatalf("P holds %d markers, its summaries count %d; want its 5 and B's 7 once", len(markers), summed)
	}
	if markers["q-0"] {
		t.Fatal("a record P acknowledged was merged from B's object")
	}
	e, ok, err := mw.aggP.Marker(context.Background(), "b-3")
	if err != nil || !ok || e.Origin != regionB || e.Region != regionP {
		t.Fatalf("P's marker of b-3 = %+v %v %v; want origin %s, counted in %s", e, ok, err, regionB, regionP)
	}

	// Pass 2 reading the same objects again (as if pass 1 had listed at
	// since): nothing counts twice.
	got, _ = runMerge(t, mw, mw.merge(1000), mw.since, 2, mw.since)
	if got.Merged != 0 || got.Already != 8 || got.OtherOrigin != 1 {
		t.Fatalf("pass 2 totals %+v, want 0 merged, 8 already", got)
	}
	if m, s := mw.pCounts(t); len(m) != 12 || s != 12 {
		t.Fatalf("after pass 2: %d markers, summaries count %d; want 12, 12", len(m), s)
	}
}

// TestMergeAfterMarkersExpired is the long failover: failback comes nine
// days after B took over, longer than the markers' TTL and DynamoDB's two
// days to delete them. B's table holds no marker of what B counted first,
// P's none of what P counted before the outage, and B's replayed markers of
// P's records are gone or going. The merge reads B's objects: B's records
// are counted in P once, P's never again.
func TestMergeAfterMarkersExpired(t *testing.T) {
	mw := newMergeWorld(t)
	ctx := context.Background()
	if _, err := mw.pdb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(aggTable),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	mw.failover(t)
	mw.sleep(t, aggregate.DefaultMarkerTTL+sim.DefaultTTLDeletionWindow+time.Hour)
	if m, _ := markersAndSummed(t, mw.bdb); len(m) != 0 {
		t.Fatalf("B still holds %d markers: the scenario needs them expired and deleted", len(m))
	}
	if m, s := mw.pCounts(t); len(m) != 0 || s != 5 {
		t.Fatalf("P holds %d markers and counts %d: want its markers deleted, its 5 records still counted", len(m), s)
	}

	got, _ := runMerge(t, mw, mw.merge(1000), mw.since, 1, "")
	if got.Merged != 8 || got.Already != 0 || got.OtherOrigin != 1 || got.Read != 2 {
		t.Fatalf("totals %+v, want B's 7 and its copy of p-4 merged, P's q-0 left out", got)
	}
	_, summed := mw.pCounts(t)
	// p-4 was acknowledged by both regions (a producer resent it after a
	// lost acknowledgement): once P's marker of it is gone, B's copy
	// counts again. That is the one repeat the TTL bounds (docs/dr.md).
	if summed != 5+8 {
		t.Fatalf("P's summaries count %d, want its 5 and B's 8 (7 + the resent p-4)", summed)
	}
	again, _ := runMerge(t, mw, mw.merge(1000), mw.since, 2, mw.since)
	if again.Merged != 0 || again.Already != 8 {
		t.Fatalf("re-run totals %+v, want everything already merged", again)
	}
}

// A replica of P's in B's bucket is never read, whenever it arrived: P
// counted it. Objects before the failover are not B's since then.
func TestMergeSkipsReplicasAndOlderObjects(t *testing.T) {
	mw := newMergeWorld(t)
	mw.putB(t, "before.gz", mw.recsIn("old", 2, regionB)) // a previous failover's
	mw.sleep(t, time.Hour)
	since := mw.clk.Now().UTC().Format(time.RFC3339)
	mw.sleep(t, time.Minute)
	ps := mw.recs("p", 3)
	mw.putP(t, mw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/")+"late.gz", ndjson(t, ps, true)) // replicates after since
	mw.putB(t, "own.gz", mw.recsIn("b", 2, regionB))
	mw.sleep(t, 10*time.Minute)
	got, _ := runMerge(t, mw, mw.merge(1000), since, 1, "")
	want := MergeTotals{Listed: 3, Older: 1, Replicas: 1, Read: 1, Records: 2, Merged: 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("totals\n got %+v\nwant %+v", got, want)
	}
}

func TestMergeBadObjectsAndLines(t *testing.T) {
	mw := newMergeWorld(t)
	since := mw.clk.Now().UTC().Format(time.RFC3339)
	mw.sleep(t, time.Minute)
	hour := mw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/")
	canary := record.Record{ID: "canary-1", TS: mw.clk.Now(), Received: mw.clk.Now(), Region: regionB, Canary: true, Data: json.RawMessage(`{}`)}
	body := append(ndjson(t, mw.recsIn("b", 2, regionB), false), []byte("{not json\n")...)
	put(t, mw.b, mw.cfg.BackupRawBucket, hour+"mixed.ndjson", string(append(body, ndjson(t, []record.Record{canary}, false)...)))
	put(t, mw.b, mw.cfg.BackupRawBucket, hour+"corrupt.gz", "\x1f\x8bnot gzip")
	// Under an hour-decade folder the listing reads, but not Firehose's
	// layout.
	put(t, mw.b, mw.cfg.BackupRawBucket, mw.clk.Now().UTC().Format("dt=2006-01-02/hr=")+"1x/x.gz", string(ndjson(t, mw.recsIn("n", 1, regionB), true)))
	got, _ := runMerge(t, mw, mw.merge(1000), since, 1, "")
	if got.Read != 1 || got.Merged != 2 || got.BadRecords != 1 || got.Canaries != 1 || got.BadObjects != 2 || len(got.BadKeys) != 2 {
		t.Fatalf("totals %+v", got)
	}
}

func TestMergeInputAndFaults(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	m := mw.merge(10)
	since := mw.clk.Now().UTC().Format(time.RFC3339)
	batch := &BatchInput{Pass: 1, From: since, Bucket: mw.cfg.BackupRawBucket}
	for _, in := range []MergeInput{
		{Op: OpPlan, PlanInput: PlanInput{Since: "", Pass: 1}},
		{Op: OpPlan, PlanInput: PlanInput{Since: since}},
		{Op: "merge"},
		{Op: OpBatch, Batch: &BatchInput{Pass: 1, From: since, Bucket: mw.cfg.BackupCuratedBucket}},
		{Op: OpSum, State: &PassState[MergeTotals]{}},
	} {
		if _, err := m.Handle(ctx, in); kindOf(err) != "invalid" {
			t.Errorf("%+v: %v, want invalid", in, err)
		}
	}
	mw.sleep(t, time.Minute)
	mw.putB(t, "b.gz", mw.recsIn("b", 1, regionB))
	key := mw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/") + "b.gz"
	items := []ListedObject{{Key: key, LastModified: mw.clk.Now().Unix()}}
	mw.w.SetDown(regionP, true)
	if _, err := m.Handle(ctx, MergeInput{Op: OpBatch, Batch: batch, Items: items}); kindOf(err) != "transient" {
		t.Fatalf("P down: %v, want transient", err)
	}
	mw.w.SetDown(regionP, false)
	if got, err := m.Handle(ctx, MergeInput{Op: OpBatch, Batch: batch, Items: items}); err != nil || got.(MergeTotals).Merged != 1 {
		t.Fatalf("after P is back: %+v %v, want the record merged", got, err)
	}
	// The pass's sum refuses a Map Run whose manifest lists failed batches.
	put(t, mw.b, failbackBucket, "failback/x/manifest.json", `{"ResultFiles":{"FAILED":[{"Key":"failback/x/FAILED_0.json"}],"SUCCEEDED":[]}}`)
	st := &PassState[MergeTotals]{Pass: 1, Pending: []Listing{{Bucket: mw.cfg.BackupRawBucket, Prefix: "dt="}}, Results: ResultsLocation{Bucket: failbackBucket, Prefix: "failback/x/"}, Run: &MapRunResult{}}
	st.Run.ResultWriterDetails.Bucket, st.Run.ResultWriterDetails.Key = failbackBucket, "failback/x/manifest.json"
	if _, err := m.Handle(ctx, MergeInput{Op: OpSum, State: st}); err == nil || !strings.Contains(err.Error(), "FAILED") {
		t.Fatalf("sum of a Map Run with failed batches: %v, want an error naming them", err)
	}
}

// The copy-back's copy of B's object, replicated from P back over B's
// original, is still B's own: the merge reads it (by MetaCopyback), and a
// plain replica of P's is still skipped.
func TestMergeReadsCopiesReplicatedHome(t *testing.T) {
	mw := newMergeWorld(t)
	since := mw.clk.Now().UTC().Format(time.RFC3339)
	mw.sleep(t, time.Minute)
	key := mw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/") + "own.gz"
	own := ndjson(t, mw.recsIn("b", 3, regionB), true)
	if _, err := mw.b.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(mw.cfg.BackupRawBucket), Key: aws.String(key), Body: bytes.NewReader(own)}); err != nil {
		t.Fatal(err)
	}
	if _, err := mw.p.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(mw.cfg.PrimaryRawBucket), Key: aws.String(key), Body: bytes.NewReader(own),
		Metadata: map[string]string{MetaCopyback: "1"}}); err != nil {
		t.Fatal(err)
	}
	mw.putP(t, mw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/")+"p.gz", ndjson(t, mw.recs("p", 2), true))
	mw.sleep(t, 10*time.Minute) // both replicated to B
	head, err := mw.b.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(mw.cfg.BackupRawBucket), Key: aws.String(key)})
	if err != nil || head.ReplicationStatus != s3types.ReplicationStatusReplica {
		t.Fatalf("B's object after the round trip: %v %v, want a replica", err, head)
	}
	got, _ := runMerge(t, mw, mw.merge(1000), since, 1, "")
	want := MergeTotals{Listed: 2, Replicas: 1, Read: 1, Records: 3, Merged: 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("totals\n got %+v\nwant %+v", got, want)
	}
}

// The second pass reads what B wrote since the first listed, not B's
// objects the copy-back's copies, replicated home, made new again: a copy
// replicated over B's original is as old as its MetaSourceModified.
func TestMergeSecondPassSkipsCopiesOfMerged(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	since := mw.clk.Now().UTC().Format(time.RFC3339)
	mw.sleep(t, time.Minute)
	// copyHome writes B's object and the copy-back's copy of it in P, which
	// P's replication rule sends back over it.
	copyHome := func(name string, recs []record.Record) {
		key := mw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/") + name
		body := ndjson(t, recs, true)
		if _, err := mw.b.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(mw.cfg.BackupRawBucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		head, err := mw.b.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(mw.cfg.BackupRawBucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		mw.sleep(t, 2*time.Minute)
		if _, err := mw.p.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(mw.cfg.PrimaryRawBucket), Key: aws.String(key), Body: bytes.NewReader(body),
			Metadata: map[string]string{MetaCopyback: "1", MetaSourceModified: aws.ToTime(head.LastModified).UTC().Format(time.RFC3339Nano)}}); err != nil {
			t.Fatal(err)
		}
		mw.sleep(t, 10*time.Minute) // replicated to B
	}
	first := mw.recsIn("first", 3, regionB)
	copyHome("first.gz", first)
	mw.sleep(t, 2*CopySkew) // pass 1 lists it well after it was written
	st, _ := mergePass(t, mw, mw.merge(1000), since, 1, "")
	if want := (MergeTotals{Listed: 1, Read: 1, Records: 3, Merged: 3}); fmt.Sprint(st.Totals) != fmt.Sprint(want) {
		t.Fatalf("pass 1 totals\n got %+v\nwant %+v", st.Totals, want)
	}
	// During the drain B writes another object; both copies come home.
	mw.sleep(t, time.Minute)
	copyHome("drain.gz", mw.recsIn("drain", 2, regionB))
	got, _ := runMerge(t, mw, mw.merge(1000), since, 2, st.ListedFrom)
	if want := (MergeTotals{Listed: 2, Older: 1, Read: 1, Records: 2, Merged: 2}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pass 2 totals\n got %+v\nwant %+v", got, want)
	}
}

// B's ingest accepted, during the failover, an id that P had accepted and
// counted with other content (the idempotency tables are regional). The
// merge does not count B's record in P, and does not drop it silently: it
// counts it in Conflicts and P's table holds a conflict item for it. A
// re-run finds the same conflict and records it once.
func TestMergeConflict(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	fromP := mw.recs("c", 1)
	mw.consume(t, fromP)
	mw.sleep(t, time.Hour)
	since := mw.clk.Now().UTC().Format(time.RFC3339)
	mw.sleep(t, time.Minute)
	fromB := mw.recsIn("c", 1, regionB)
	fromB[0].Data = json.RawMessage(`{"v":"B's c-0"}`)
	mw.putB(t, "own.gz", append(fromB, mw.recsIn("b", 1, regionB)...))
	got, _ := runMerge(t, mw, mw.merge(100), since, 1, "")
	if want := (MergeTotals{Listed: 1, Read: 1, Records: 2, Merged: 1, Conflicts: 1}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("totals\n got %+v\nwant %+v", got, want)
	}
	if e, ok, err := mw.aggP.Marker(ctx, "c-0"); err != nil || !ok || e.Hash != record.ContentHash(fromP[0].Data) {
		t.Fatalf("P's marker c-0 = %+v %v %v, want P's own", e, ok, err)
	}
	hash := record.ContentHash(fromB[0].Data)
	out, err := mw.pdb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(aggTable), Key: map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: aggregate.ConflictPrefix + "c-0"}, "sk": &ddbtypes.AttributeValueMemberS{Value: hash}}})
	if err != nil || out.Item == nil {
		t.Fatalf("conflict item in P: %v, %v", out, err)
	}
	if got, _ = runMerge(t, mw, mw.merge(100), since, 2, since); fmt.Sprint(got) != fmt.Sprint(MergeTotals{Listed: 1, Read: 1, Records: 2, Already: 1, Conflicts: 1}) {
		t.Fatalf("re-run totals = %+v", got)
	}
}
