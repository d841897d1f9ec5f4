package dr

import (
	"bytes"
	"compress/gzip"
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
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// replayWorld is P replicating its raw bucket to B, P's aggregates table
// with PITR counted by "P's consumer", and B, where the table is restored
// from P at a point in time and the replay runs.
type replayWorld struct {
	*copyWorld
	pdb, bdb *sim.DynamoDB
	aggP     *aggregate.Aggregator
	counted  map[string]bool // ids P's consumer counted
	newest   time.Time       // the newest received time of a record the replay must read
}

func newReplayWorld(t testing.TB) *replayWorld {
	t.Helper()
	cw := newCopyWorld(t)
	pdb, bdb := cw.w.Region(regionP).DynamoDB(), cw.w.Region(regionB).DynamoDB()
	createTable(t, pdb, aggTable, true)
	if _, err := pdb.UpdateContinuousBackups(context.Background(), &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(aggTable),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	bdb.SetRestoreDuration(2 * time.Minute)
	return &replayWorld{copyWorld: cw, pdb: pdb, bdb: bdb, counted: map[string]bool{},
		aggP: aggregate.New(pdb, aggregate.Options{Table: aggTable, Region: regionP, Clock: cw.clk})}
}

// recs makes n records named prefix-i, received now + i seconds.
func (rw *replayWorld) recs(prefix string, n int) []record.Record {
	var out []record.Record
	for i := range n {
		at := rw.clk.Now().Add(time.Duration(i) * time.Second).UTC()
		out = append(out, record.Record{ID: fmt.Sprintf("%s-%d", prefix, i), TS: at, Received: at, Region: regionP, Producer: "p1", Data: json.RawMessage(`{"v":1}`)})
	}
	return out
}

// ndjson encodes records as Firehose writes them; gz compresses.
func ndjson(t testing.TB, rs []record.Record, gz bool) []byte {
	t.Helper()
	var b []byte
	for i := range rs {
		var err error
		if b, err = record.AppendJSON(b, &rs[i]); err != nil {
			t.Fatal(err)
		}
		b = append(b, '\n')
	}
	if !gz {
		return b
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}

func (rw *replayWorld) putP(t testing.TB, key string, body []byte) {
	t.Helper()
	if _, err := rw.p.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(rw.cfg.PrimaryRawBucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// consume counts records in P's table, as P's consumer does.
func (rw *replayWorld) consume(t testing.TB, rs []record.Record) {
	t.Helper()
	var es []aggregate.Entry
	for _, r := range rs {
		es = append(es, aggregate.EntryOf(r))
		rw.counted[r.ID] = true
	}
	apply(t, rw.aggP, es...)
}

func (rw *replayWorld) sleep(t testing.TB, d time.Duration) {
	t.Helper()
	if err := rw.clk.Sleep(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// restore restores P's table into B as of at and waits until ACTIVE.
func (rw *replayWorld) restore(t testing.TB, at time.Time) {
	t.Helper()
	if _, err := rw.bdb.RestoreTableToPointInTime(context.Background(), &dynamodb.RestoreTableToPointInTimeInput{
		SourceTableArn: aws.String("arn:aws:dynamodb:" + regionP + ":" + account + ":table/" + aggTable), TargetTableName: aws.String(aggTable),
		RestoreDateTime: aws.Time(at)}); err != nil {
		t.Fatal(err)
	}
	rw.sleep(t, 3*time.Minute)
}

func (rw *replayWorld) replay(budget int) *Replay {
	return &Replay{S3: rw.b, DB: rw.bdb, Agg: aggregate.New(rw.bdb, aggregate.Options{Table: aggTable, Region: regionB, Clock: rw.clk}),
		Bucket: rw.cfg.BackupRawBucket, Table: aggTable, Clock: rw.clk, Budget: Budget{MaxItems: budget}}
}

// runReplay loops like the state machine until the cursor is empty.
func runReplay(t testing.TB, r *Replay) (ReplayTotals, int) {
	t.Helper()
	in := ReplayInput{}
	for calls := 1; ; calls++ {
		out, err := r.Handle(context.Background(), in)
		if err != nil {
			t.Fatalf("call %d: %v", calls, err)
		}
		if out.Cursor == nil {
			return out.Totals, calls
		}
		in.Cursor, in.Totals = out.Cursor, out.Totals
		if calls > 1000 {
			t.Fatal("no end")
		}
	}
}

// markersAndSummed reads B's table: record ids with a marker, and the
// records the window summaries count.
func markersAndSummed(t testing.TB, db *sim.DynamoDB) (map[string]bool, int64) {
	t.Helper()
	markers := map[string]bool{}
	var summed int64
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(aggTable)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		pk := it["pk"].(*ddbtypes.AttributeValueMemberS).Value
		switch pk[:2] {
		case "R#":
			markers[pk[2:]] = true
		case "W#":
			var n int64
			fmt.Sscan(it["records"].(*ddbtypes.AttributeValueMemberN).Value, &n)
			summed += n
		}
	}
	return markers, summed
}

// scenario builds: an object of P's written hours before the restore point
// (not read: older than the margin), records P counted before the restore
// point and records it counted after (the restore lacks those), a replica
// with a bad line and a canary, a corrupt gzip replica, a key outside the
// layout, one of B's own objects and Firehose's error output. It returns
// the restore point and the ids the replay must count.
func (rw *replayWorld) scenario(t *testing.T) (time.Time, []string) {
	t.Helper()
	hour := func() string { return rw.clk.Now().UTC().Format("dt=2006-01-02/hr=15/") }
	old := rw.recs("old", 3)
	rw.putP(t, hour()+"raw-old.gz", ndjson(t, old, true)) // P never counted these: only a margin reaching back would
	rw.sleep(t, 3*time.Hour)

	before := rw.recs("before", 10)
	rw.sleep(t, time.Minute)
	rw.putP(t, hour()+"raw-1.gz", ndjson(t, before, true))
	rw.consume(t, before)
	rw.sleep(t, 5*time.Minute)
	point := rw.clk.Now()
	rw.sleep(t, time.Minute)

	late := rw.recs("late", 10) // received after the restore point
	rw.sleep(t, time.Minute)
	rw.putP(t, hour()+"raw-2.gz", ndjson(t, late, true))
	rw.consume(t, late)
	mixed := rw.recs("mixed", 2)
	rw.newest = mixed[1].Received
	canary := record.Record{ID: "canary-1", TS: rw.clk.Now(), Received: rw.clk.Now(), Region: regionP, Canary: true, Data: json.RawMessage(`{}`)}
	body := append(ndjson(t, mixed, false), []byte("{not json\n")...)
	body = append(body, ndjson(t, []record.Record{canary}, false)...)
	rw.putP(t, hour()+"raw-3.ndjson", body) // uncompressed: read as is
	rw.putP(t, hour()+"raw-4.gz", append([]byte{0x1f, 0x8b}, []byte("not gzip at all")...))
	rw.putP(t, "dt=sometime/raw-5.gz", ndjson(t, rw.recs("nolayout", 1), true))
	rw.putP(t, "errors/processing-failed/dt=2026-11-25/x.gz", ndjson(t, rw.recs("err", 1), true))
	put(t, rw.b, rw.cfg.BackupRawBucket, hour()+"b-own.gz", string(ndjson(t, rw.recs("own", 4), true)))
	rw.sleep(t, 10*time.Minute) // replication (30 s – 5 min without RTC)
	var want []string
	for _, r := range append(late, mixed...) {
		want = append(want, r.ID)
	}
	return point, want
}

func TestReplayBringsRestoredTableCurrent(t *testing.T) {
	rw := newReplayWorld(t)
	point, want := rw.scenario(t)
	rw.restore(t, point)
	before, _ := markersAndSummed(t, rw.bdb)
	if len(before) != 10 {
		t.Fatalf("restored table holds %d markers, want the 10 counted before the restore point", len(before))
	}

	got, calls := runReplay(t, rw.replay(1))
	if calls < 5 {
		t.Fatalf("%d calls with a budget of 1 object, want one per listed object or so", calls)
	}
	t.Logf("totals %+v in %d calls", got, calls)
	if got.RestorePoint != point.UTC().Format(time.RFC3339Nano) || got.From != point.Add(-DefaultReplayMargin).UTC().Format(time.RFC3339Nano) {
		t.Fatalf("restore point %s from %s, want %s and an hour before", got.RestorePoint, got.From, point)
	}
	// raw-old older than the margin; raw-1, raw-2, raw-3 read; raw-4 and
	// dt=sometime bad; b-own B's own; errors/ not listed.
	wantTotals := ReplayTotals{RestorePoint: got.RestorePoint, From: got.From, Listed: 7, Older: 1, Own: 1, Read: 3, BadObjects: 2,
		BadKeys: got.BadKeys, Records: 22, Applied: 12, Already: 10, BadRecords: 1, Canaries: 1, HighWaterMark: got.HighWaterMark}
	if fmt.Sprint(got) != fmt.Sprint(wantTotals) {
		t.Fatalf("totals\n got %+v\nwant %+v", got, wantTotals)
	}
	if len(got.BadKeys) != 2 || !strings.HasSuffix(got.BadKeys[0], "/raw-4.gz") || got.BadKeys[1] != "dt=sometime/raw-5.gz" {
		t.Fatalf("bad keys %v, want raw-4.gz and dt=sometime/raw-5.gz named", got.BadKeys)
	}
	markers, summed := markersAndSummed(t, rw.bdb)
	for _, id := range want {
		if !markers[id] {
			t.Errorf("record %s not counted in B after the replay", id)
		}
	}
	for _, id := range []string{"old-0", "own-0", "canary-1", "nolayout-0", "err-0"} {
		if markers[id] {
			t.Errorf("record %s counted, want it left out", id)
		}
	}
	if len(markers) != 22 || summed != 22 {
		t.Fatalf("B holds %d markers and its summaries count %d, want 22 and 22", len(markers), summed)
	}
	// The high-water mark is the newest record received among replicas.
	hw, err := time.Parse(time.RFC3339Nano, got.HighWaterMark)
	if err != nil || !hw.Equal(rw.newest) {
		t.Fatalf("high-water mark %s, want the newest replicated record's received time", got.HighWaterMark)
	}

	// A re-run is idempotent: everything is already there.
	again, _ := runReplay(t, rw.replay(1000))
	if again.Applied != 0 || again.Already != 22 || again.Read != 3 {
		t.Fatalf("re-run totals %+v, want 0 applied, 22 already", again)
	}
	if m, s := markersAndSummed(t, rw.bdb); len(m) != 22 || s != 22 {
		t.Fatalf("after the re-run: %d markers, summaries count %d; want 22, 22", len(m), s)
	}
}

func TestReplayBudgetResumes(t *testing.T) {
	// One call and many calls give the same totals and the same table.
	var results []ReplayTotals
	for _, budget := range []int{1000, 2} {
		rw := newReplayWorld(t)
		point, _ := rw.scenario(t)
		rw.restore(t, point)
		got, calls := runReplay(t, rw.replay(budget))
		if budget == 1000 && calls != 1 {
			t.Fatalf("budget 1000: %d calls, want 1", calls)
		}
		got.RestorePoint, got.From, got.HighWaterMark = "", "", ""
		results = append(results, got)
		if m, s := markersAndSummed(t, rw.bdb); len(m) != 22 || s != 22 {
			t.Fatalf("budget %d: %d markers, %d summed", budget, len(m), s)
		}
	}
	if fmt.Sprint(results[0]) != fmt.Sprint(results[1]) {
		t.Fatalf("one call %+v\nmany calls %+v", results[0], results[1])
	}
}

func TestReplayRefusals(t *testing.T) {
	ctx := context.Background()
	rw := newReplayWorld(t)
	// A table not made by a restore: what it holds is unknown.
	createTable(t, rw.bdb, aggTable, true)
	if _, err := rw.replay(10).Handle(ctx, ReplayInput{}); kindOf(err) != "invalid" {
		t.Fatalf("replay into a table not restored: %v, want an input error", err)
	}
	bad := "not-a-cursor"
	if _, err := rw.replay(10).Handle(ctx, ReplayInput{Cursor: &bad}); kindOf(err) != "invalid" {
		t.Fatalf("bad cursor: %v, want an input error", err)
	}
	// No table yet: DescribeTable's ResourceNotFound is not retried as
	// transient by the step.
	rw2 := newReplayWorld(t)
	if _, err := rw2.replay(10).Handle(ctx, ReplayInput{}); err == nil {
		t.Fatal("replay without a table succeeded")
	}
	// A restore in progress is transient: the state machine retries.
	rw2.sleep(t, 10*time.Minute)
	if _, err := rw2.bdb.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{
		SourceTableArn: aws.String("arn:aws:dynamodb:" + regionP + ":" + account + ":table/" + aggTable), TargetTableName: aws.String(aggTable),
		UseLatestRestorableTime: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := rw2.replay(10).Handle(ctx, ReplayInput{}); kindOf(err) != "transient" {
		t.Fatalf("replay while restoring: %v, want transient", err)
	}
}

// TestReplayFailureIsNotSkipped: a write that fails for a reason other
// than bad input fails the call (the state machine retries it), nothing is
// counted as done that was not, and the retry from the last cursor
// finishes with every record counted once.
func TestReplayFailureIsNotSkipped(t *testing.T) {
	ctx := context.Background()
	rw := newReplayWorld(t)
	point, want := rw.scenario(t)
	rw.restore(t, point)
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: dynamodb:PutItem"}
	r := rw.replay(2)
	in := ReplayInput{}
	out, err := r.Handle(ctx, in) // the older object and raw-1 (all already): no write
	if err != nil || out.Cursor == nil {
		t.Fatalf("first call: %+v, %v", out, err)
	}
	in.Cursor, in.Totals = out.Cursor, out.Totals
	rw.w.Inject(&sim.Fault{Region: regionB, Service: "DynamoDB", Operation: "TransactWriteItems", Err: denied, Times: 1})
	if _, err := r.Handle(ctx, in); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("call with writes denied: %v, want the denial", err)
	}
	got := in.Totals
	for {
		out, err := r.Handle(ctx, in) // the same input again: the state machine's retry
		if err != nil {
			t.Fatal(err)
		}
		got = out.Totals
		if out.Cursor == nil {
			break
		}
		in.Cursor, in.Totals = out.Cursor, out.Totals
	}
	if got.Records != 22 || got.Applied+got.Already != 22 {
		t.Fatalf("totals after the retry %+v, want 22 records", got)
	}
	markers, summed := markersAndSummed(t, rw.bdb)
	for _, id := range want {
		if !markers[id] {
			t.Errorf("%s not counted after the retry", id)
		}
	}
	if len(markers) != 22 || summed != 22 {
		t.Fatalf("%d markers, summaries count %d; want 22 and 22", len(markers), summed)
	}
}
