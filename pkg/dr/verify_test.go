package dr

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/partition"
)

// drillWorld is P with aggregates (PITR on) and replicated buckets, B with
// its catalog, and a drill table restored from P into B.
type drillWorld struct {
	*copyWorld
	aggP       *aggregate.Aggregator // P's consumer
	drillTable string
	restoreAt  time.Time
}

func newDrillWorld(t *testing.T, slowKey string) *drillWorld {
	return newDrillWorldRestored(t, slowKey, true)
}

// newDrillWorldRestored is newDrillWorld; without restore the drill table
// is left for the drill state machine to restore.
func newDrillWorldRestored(t *testing.T, slowKey string, restore bool) *drillWorld {
	t.Helper()
	ctx := context.Background()
	cw := newCopyWorld(t)
	if slowKey != "" {
		cw.p.SetReplicationLag(func(key string, rtc bool) time.Duration {
			if key == slowKey {
				return 3 * time.Hour
			}
			return 5 * time.Second
		})
	}
	pdb := cw.w.Region(regionP).DynamoDB()
	createTable(t, pdb, aggTable, true)
	if _, err := pdb.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(aggTable),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	aggP := aggregate.New(pdb, aggregate.Options{Table: aggTable, Region: regionP, Clock: cw.clk})
	for i := 0; i < 30; i++ {
		apply(t, aggP, entry(fmt.Sprintf("p-%02d", i), t0.Add(time.Duration(i)*time.Minute), "alpha"))
	}
	put(t, cw.p, cw.cfg.PrimaryRawBucket, "dt=2026-11-25/hr=10/a.ndjson", "a")
	put(t, cw.p, cw.cfg.PrimaryRawBucket, "dt=2026-11-25/hr=10/b.ndjson", "b")
	put(t, cw.p, cw.cfg.PrimaryCuratedBucket, "dt=2026-11-24/hr=23/c.parquet", "c")
	cw.clk.Sleep(ctx, time.Hour)
	g := createCatalog(t, cw.w, cw.cfg, regionB)
	reg := partition.NewRegistrar(g, cw.cfg.GlueDatabase, 0)
	for _, tb := range []partition.Table{{Name: "raw", Bucket: cw.cfg.BackupRawBucket, Layout: partition.LayoutHive}, {Name: "curated", Bucket: cw.cfg.BackupCuratedBucket, Layout: partition.LayoutHive}} {
		tb, _ = tb.Normalize()
		p := partition.Partition{DT: "2026-11-25", HR: "10"}
		if tb.Name == "curated" {
			p = partition.Partition{DT: "2026-11-24", HR: "23"}
		}
		if _, err := reg.Register(ctx, tb, []partition.Partition{p}); err != nil {
			t.Fatal(err)
		}
	}
	dw := &drillWorld{copyWorld: cw, aggP: aggP, drillTable: DrillTable(aggTable, execARN("drill", "d1"))}
	if !restore {
		return dw
	}
	dw.restoreDrillTable(t)
	// Counted after the restore point: not expected in the drill table.
	apply(t, aggP, entry("late", t0.Add(2*time.Hour), "alpha"))
	cw.clk.Sleep(ctx, time.Hour)
	return dw
}

// restoreDrillTable restores P's table as it is latest into B under the
// drill table's name, as the drill does, and notes the restore point.
func (dw *drillWorld) restoreDrillTable(t *testing.T) {
	t.Helper()
	out, err := dw.w.Region(regionB).DynamoDB().RestoreTableToPointInTime(context.Background(), &dynamodb.RestoreTableToPointInTimeInput{
		SourceTableArn: aws.String("arn:aws:dynamodb:" + regionP + ":" + account + ":table/" + aggTable), TargetTableName: aws.String(dw.drillTable), UseLatestRestorableTime: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	dw.restoreAt = aws.ToTime(out.TableDescription.RestoreSummary.RestoreDateTime)
}

// verifyChecks runs dr-verify on the drill table restored at restoreAt and
// returns its checks by name.
func (dw *drillWorld) verifyChecks(t *testing.T) map[string]Check {
	t.Helper()
	state, _ := json.Marshal(map[string]any{"restore": map[string]any{"restoreDateTime": dw.restoreAt.Format(time.RFC3339)}})
	res, err := dw.verify().Handle(context.Background(), VerifyInput{DrillTable: dw.drillTable, State: state, Execution: execARN("drill", "d1")})
	if err != nil {
		t.Fatal(err)
	}
	return checkMap(res)
}

func (dw *drillWorld) verify() *Verify {
	return &Verify{DrillDB: dw.w.Region(regionB).DynamoDB(), PrimaryDB: dw.w.Region(regionP).DynamoDB(), PrimaryS3: dw.p, BackupS3: dw.b,
		Catalog: dw.w.Region(regionB).Glue(), Config: dw.cfg, Clock: dw.clk}
}

func checkMap(out VerifyOutput) map[string]Check {
	m := map[string]Check{}
	for _, c := range out.Checks {
		m[c.Name] = c
	}
	return m
}

func TestVerifyPasses(t *testing.T) {
	dw := newDrillWorld(t, "")
	state, _ := json.Marshal(map[string]any{"restore": map[string]any{"restoreDateTime": dw.restoreAt.Format(time.RFC3339)}})
	out, err := dw.verify().Handle(context.Background(), VerifyInput{DrillTable: dw.drillTable, State: state, Execution: execARN("drill", "d1")})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Passed || len(out.Checks) != 4 {
		t.Fatalf("out = %+v, want 4 passing checks", out)
	}
	m := checkMap(out)
	if !strings.Contains(m["markers"].Detail, "30 markers restored; 0 of P's 30") {
		t.Fatalf("markers detail %q", m["markers"].Detail)
	}
	if !strings.Contains(m["replication"].Detail, "3 primary objects") || !strings.Contains(m["catalog"].Detail, "2 partitions") {
		t.Fatalf("details: %q / %q", m["replication"].Detail, m["catalog"].Detail)
	}
}

func TestVerifyFailures(t *testing.T) {
	ctx := context.Background()
	dw := newDrillWorld(t, "dt=2026-11-25/hr=10/b.ndjson")
	// A partition B's catalog does not know.
	put(t, dw.b, dw.cfg.BackupRawBucket, "dt=2026-11-25/hr=11/x.ndjson", "x")
	// A restored marker that differs from P's.
	if _, err := dw.w.Region(regionB).DynamoDB().UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(dw.drillTable),
		Key:              map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "R#p-00"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "R"}},
		UpdateExpression: aws.String("SET #b = :b"), ExpressionAttributeNames: map[string]string{"#b": "bytes"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":b": &ddbtypes.AttributeValueMemberN{Value: "999"}}}); err != nil {
		t.Fatal(err)
	}
	out, err := dw.verify().Handle(ctx, VerifyInput{DrillTable: dw.drillTable, State: json.RawMessage(`{"restore":{}}`)})
	if err != nil {
		t.Fatal(err)
	}
	m := checkMap(out)
	if out.Passed || m["replication"].Passed || m["catalog"].Passed || m["markers"].Passed || !m["restore"].Passed {
		t.Fatalf("out = %+v", out)
	}
	if !strings.Contains(m["replication"].Detail, "b.ndjson") || !strings.Contains(m["catalog"].Detail, "raw/dt=2026-11-25/hr=11") || !strings.Contains(m["markers"].Detail, "differing: p-00") {
		t.Fatalf("details: %+v", m)
	}

	// A failed restore fails its check and skips the marker comparison.
	out, err = dw.verify().Handle(ctx, VerifyInput{DrillTable: dw.drillTable, State: json.RawMessage(`{"restoreError":{"Error":"DynamoDb.PointInTimeRecoveryUnavailableException","Cause":"PITR off"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if m = checkMap(out); m["restore"].Passed || !strings.Contains(m["restore"].Detail, "PITR off") || out.Passed {
		t.Fatalf("restore error: %+v", out)
	}
	if _, ok := m["markers"]; ok {
		t.Fatal("markers compared without a restored table")
	}
}

// A sampled marker P no longer holds differs — unless it has expired: P's
// TTL may have deleted it after the restore point, and the drill table (a
// restore, TTL off) keeps it.
func TestVerifyMarkersGoneByTTL(t *testing.T) {
	ctx := context.Background()
	dw := newDrillWorld(t, "")
	pdb := dw.w.Region(regionP).DynamoDB()
	if _, err := pdb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(aggTable), Key: aggregate.MarkerKey("p-01")}); err != nil {
		t.Fatal(err)
	}
	state, _ := json.Marshal(map[string]any{"restore": map[string]any{"restoreDateTime": dw.restoreAt.Format(time.RFC3339)}})
	in := VerifyInput{DrillTable: dw.drillTable, State: state, Execution: execARN("drill", "d1")}
	out, err := dw.verify().Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if m := checkMap(out); m["markers"].Passed || !strings.Contains(m["markers"].Detail, "differing: p-01") {
		t.Fatalf("a marker deleted from P before it expired: %+v", m["markers"])
	}
	pdb.SetTTLDeletionWindow(0)
	if _, err := pdb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(aggTable),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	dw.clk.Sleep(ctx, aggregate.DefaultMarkerTTL+time.Hour) // every marker expired and deleted in P
	out, err = dw.verify().Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if m := checkMap(out); !m["markers"].Passed || !strings.Contains(m["markers"].Detail, "expired and gone from P (TTL)") {
		t.Fatalf("markers expired in P: %+v", m["markers"])
	}
}

// Past twice verifySample markers, the comparison samples the verifySample
// of smallest id hash, and still finds every marker missing from the
// drill table by its hash.
func TestVerifyManyMarkers(t *testing.T) {
	ctx := context.Background()
	dw := newDrillWorldRestored(t, "", false)
	ids := []string{}
	for i := 0; i < 30; i++ {
		ids = append(ids, fmt.Sprintf("p-%02d", i))
	}
	for i := 0; i < 70; i++ {
		id := fmt.Sprintf("q-%02d", i)
		ids = append(ids, id)
		apply(t, dw.aggP, entry(id, t0.Add(time.Duration(i)*time.Minute), "beta"))
	}
	dw.clk.Sleep(ctx, time.Hour)
	dw.restoreDrillTable(t)
	dw.clk.Sleep(ctx, time.Hour)
	bdb := dw.w.Region(regionB).DynamoDB()
	// The sampled marker of smallest hash differs in the drill table, and
	// a marker outside any sample is missing from it.
	sort.Slice(ids, func(i, j int) bool { return markerHash(ids[i]) < markerHash(ids[j]) })
	sampled, unsampled := ids[0], ids[len(ids)-1]
	if _, err := bdb.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(dw.drillTable), Key: aggregate.MarkerKey(sampled),
		UpdateExpression: aws.String("SET #b = :b"), ExpressionAttributeNames: map[string]string{"#b": "bytes"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":b": &ddbtypes.AttributeValueMemberN{Value: "999"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(dw.drillTable), Key: aggregate.MarkerKey(unsampled)}); err != nil {
		t.Fatal(err)
	}
	m := dw.verifyChecks(t)["markers"]
	want := fmt.Sprintf("99 markers restored; 1 of P's 100 markers counted by %s are missing; %d sampled, 1 differ", dw.restoreAt.UTC().Format(time.RFC3339), verifySample)
	if m.Passed || !strings.Contains(m.Detail, want) || !strings.Contains(m.Detail, unsampled) || !strings.Contains(m.Detail, "differing: "+sampled) {
		t.Fatalf("markers check %+v, want %q naming %s missing and %s differing", m, want, unsampled, sampled)
	}
}

// The markers missing from the drill table are named by the first five
// ids in order, however the parallel scans of P's table meet them.
func TestVerifyNamesFirstMissingMarkers(t *testing.T) {
	ctx := context.Background()
	dw := newDrillWorldRestored(t, "", false)
	for i := 0; i < 40; i++ {
		apply(t, dw.aggP, entry(fmt.Sprintf("m-%02d", i), t0.Add(time.Duration(i)*time.Minute), "beta"))
	}
	dw.clk.Sleep(ctx, time.Hour)
	dw.restoreDrillTable(t)
	dw.clk.Sleep(ctx, time.Hour)
	bdb := dw.w.Region(regionB).DynamoDB()
	gone := []string{"m-33", "m-07", "m-21", "m-02", "m-38", "m-15", "m-29"}
	for _, id := range gone {
		if _, err := bdb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(dw.drillTable), Key: aggregate.MarkerKey(id)}); err != nil {
			t.Fatal(err)
		}
	}
	m := dw.verifyChecks(t)["markers"]
	if want := "7 of P's 70 markers"; m.Passed || !strings.Contains(m.Detail, want) || !strings.Contains(m.Detail, "missing e.g. m-02, m-07, m-15, m-21, m-29") || strings.Contains(m.Detail, "m-33") {
		t.Fatalf("markers check %+v, want %q (the world's 30 and these 40) and the five first missing ids, m-02 to m-29", m, want)
	}
}

// TestVerifyRecoveryPoint: the recovery-point check, when wired, is one of
// the drill's checks and fails the drill when it fails.
func TestVerifyRecoveryPoint(t *testing.T) {
	dw := newDrillWorld(t, "")
	state, _ := json.Marshal(map[string]any{"restore": map[string]any{"restoreDateTime": dw.restoreAt.Format(time.RFC3339)}})
	for _, passed := range []bool{true, false} {
		v := dw.verify()
		v.RecoveryPoint = func(context.Context) Check {
			return Check{Name: "recoveryPoint", Passed: passed, Detail: "the newest copy"}
		}
		out, err := v.Handle(context.Background(), VerifyInput{DrillTable: dw.drillTable, State: state, Execution: execARN("drill", "d1")})
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := checkMap(out)["recoveryPoint"]; !ok || c.Passed != passed || out.Passed != passed || len(out.Checks) != 5 {
			t.Fatalf("recovery point passed=%v: %+v", passed, out)
		}
	}
}
