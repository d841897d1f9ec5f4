package dr

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// copyWorld has P's and B's raw and curated buckets, P replicating to B.
type copyWorld struct {
	w    *sim.World
	clk  *clock.Virtual
	cfg  Config
	p, b *sim.S3
}

func newCopyWorld(t testing.TB) *copyWorld {
	t.Helper()
	w, clk := newWorld(t)
	cw := &copyWorld{w: w, clk: clk, cfg: testConfig(), p: w.Region(regionP).S3(), b: w.Region(regionB).S3()}
	for _, kind := range []struct{ p, b string }{{cw.cfg.PrimaryRawBucket, cw.cfg.BackupRawBucket}, {cw.cfg.PrimaryCuratedBucket, cw.cfg.BackupCuratedBucket}} {
		createBucket(t, cw.p, regionP, kind.p)
		createBucket(t, cw.b, regionB, kind.b)
		if _, err := cw.p.PutBucketReplication(context.Background(), &s3.PutBucketReplicationInput{Bucket: aws.String(kind.p),
			ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::111111111111:role/replication"), Rules: []s3types.ReplicationRule{{
				ID: aws.String("to-backup"), Status: s3types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
				Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
				DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusDisabled},
				Destination:             &s3types.Destination{Bucket: aws.String("arn:aws:s3:::" + kind.b)},
			}}}}); err != nil {
			t.Fatal(err)
		}
	}
	createBucket(t, cw.b, regionB, failbackBucket)
	return cw
}

// copyBack is dr-copyback as the function wires it, batches of batch
// objects.
func (cw *copyWorld) copyBack(batch int) *CopyBack {
	return &CopyBack{B: cw.b, P: cw.p, Results: cw.b, Settings: testSettings(batch), Clock: cw.clk,
		Buckets: []BucketPair{{cw.cfg.BackupRawBucket, cw.cfg.PrimaryRawBucket}, {cw.cfg.BackupCuratedBucket, cw.cfg.PrimaryCuratedBucket}}}
}

func put(t testing.TB, c *sim.S3, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// runPass runs a copy-back pass as the failback does and returns its
// totals and how many batches (child executions) it ran; pass 2 reads what
// was written since listedFrom.
func runPass(t testing.TB, cw *copyWorld, c *CopyBack, since string, pass int, listedFrom string) (CopyTotals, int) {
	t.Helper()
	st, res := copyPass(t, cw, c, since, pass, listedFrom)
	if res.Status != states.StatusSucceeded {
		t.Fatalf("copy-back pass %d: %s %s: %s", pass, res.Status, res.Error, res.Cause)
	}
	return st.Totals, st.Batches
}

func TestCopyBack(t *testing.T) {
	ctx := context.Background()
	cw := newCopyWorld(t)
	raw, craw := cw.cfg.BackupRawBucket, cw.cfg.PrimaryRawBucket
	// An object B wrote long before the failover (e.g. a drill): too old.
	put(t, cw.b, raw, "dt=2026-11-25/hr=10/old.ndjson", "old")
	cw.clk.Sleep(ctx, 2*time.Hour)
	since := cw.clk.Now().UTC().Format(time.RFC3339)
	// P's last objects replicate to B around the failover (REPLICA there).
	put(t, cw.p, craw, "dt=2026-11-25/hr=09/p-1.ndjson", "p1")
	put(t, cw.p, cw.cfg.PrimaryCuratedBucket, "dt=2026-11-24/hr=00/c-1.parquet", "c1")
	cw.clk.Sleep(ctx, 10*time.Minute)
	// During the failover B is written to.
	for i := 0; i < 5; i++ {
		put(t, cw.b, raw, fmt.Sprintf("dt=2026-11-25/hr=12/b-%d.ndjson", i), fmt.Sprintf("b%d", i))
	}
	put(t, cw.b, cw.cfg.BackupCuratedBucket, "dt=2026-11-25/hr=12/b.parquet", "bc")
	// One B object P already has with the same content.
	put(t, cw.b, raw, "dt=2026-11-25/hr=12/same.ndjson", "same")
	put(t, cw.p, craw, "dt=2026-11-25/hr=12/same.ndjson", "same")

	c := cw.copyBack(3)
	st, res := copyPass(t, cw, c, since, 1, "")
	if res.Status != states.StatusSucceeded {
		t.Fatalf("pass 1: %s %s: %s", res.Status, res.Error, res.Cause)
	}
	// Listed: the raw bucket from the hour of since − 15 min (the old
	// object and P's replica of 09:00 are in earlier folders), the curated
	// bucket whole.
	want := CopyTotals{Listed: 8, Copied: 6, Skipped: 1, Replicas: 1}
	if st.Totals != want {
		t.Fatalf("pass 1 totals = %+v, want %+v", st.Totals, want)
	}
	if st.Batches != 3 || st.Done != 2 || st.Reused != 0 {
		t.Fatalf("pass 1 ran %d batches over %d listings (%d reused), want 6 raw objects and 2 curated in batches of 3: 3 over 2", st.Batches, st.Done, st.Reused)
	}
	// Each B-written object is in P with its content and the pass noted.
	out, err := cw.p.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(craw), Key: aws.String("dt=2026-11-25/hr=12/b-3.ndjson")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	if string(body) != "b3" || out.Metadata[MetaCopyback] != "1" {
		t.Fatalf("copied object: body %q metadata %v", body, out.Metadata)
	}
	src, err := cw.b.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(cw.cfg.BackupRawBucket), Key: aws.String("dt=2026-11-25/hr=12/b-3.ndjson")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Metadata[MetaSourceModified], aws.ToTime(src.LastModified).UTC().Format(time.RFC3339Nano); got != want {
		t.Fatalf("copied object's %s = %q, want B's LastModified %q", MetaSourceModified, got, want)
	}
	if _, err := cw.p.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(craw), Key: aws.String("dt=2026-11-25/hr=10/old.ndjson")}); kindOf(err) != "not found" {
		t.Fatalf("old object copied: %v", err)
	}

	// A re-run of pass 1 for the same failover reads nothing again: every
	// listing is done, its totals are the first run's.
	cw.clk.Sleep(ctx, time.Hour) // replication of the copies settles
	put(t, cw.b, raw, "dt=2026-11-25/hr=12/late.ndjson", "late")
	again, res := copyPass(t, cw, cw.copyBack(3), since, 1, "")
	if res.Status != states.StatusSucceeded || again.Totals != want || again.Batches != 0 || again.Reused != 2 || again.ListedFrom != st.ListedFrom {
		t.Fatalf("re-run of pass 1: %s %+v, want the first run's totals, no batch, both listings reused and its listedFrom %s", res.Status, again, st.ListedFrom)
	}
	// Pass 2 reads what was written since the first run listed: the late
	// object, in a folder pass 1 had done.
	got, _ := runPass(t, cw, cw.copyBack(1000), since, 2, again.ListedFrom)
	if got.Copied != 1 {
		t.Fatalf("pass 2 totals = %+v, want exactly the late object copied", got)
	}
	// A re-run copies nothing.
	got, _ = runPass(t, cw, cw.copyBack(1000), since, 2, again.ListedFrom)
	if got.Copied != 0 || got.Listed == 0 {
		t.Fatalf("re-run totals = %+v, want nothing copied", got)
	}
}

func TestCopyBackInputAndFaults(t *testing.T) {
	ctx := context.Background()
	cw := newCopyWorld(t)
	c := cw.copyBack(10)
	batch := &BatchInput{Pass: 1, From: "2026-11-25T10:00:00Z", Bucket: cw.cfg.BackupRawBucket}
	items := []ListedObject{{Key: "dt=2026-11-25/hr=12/x.ndjson", LastModified: t0.Unix()}}
	for _, in := range []CopyInput{
		{Op: OpPlan, PlanInput: PlanInput{Since: "yesterday", Pass: 1}},
		{Op: OpPlan, PlanInput: PlanInput{Since: "2026-11-25T10:00:00Z", Pass: 0}},
		{Op: OpPlan, PlanInput: PlanInput{Since: "2026-11-25T10:00:00Z", Pass: 2}}, // no listedFrom
		{Op: "copy"},
		{Op: OpBatch, Items: items},
		{Op: OpBatch, Batch: &BatchInput{Pass: 1, From: "soon", Bucket: "elsewhere"}, Items: items},
		{Op: OpBatch, Batch: batch, Items: []ListedObject{{}}},
		{Op: OpSum},
		{Op: OpSum, State: &PassState[CopyTotals]{Pending: []Listing{{Bucket: "b"}}}},
	} {
		if _, err := c.Handle(ctx, in); kindOf(err) != "invalid" {
			t.Errorf("%+v: %v, want invalid", in, err)
		}
	}
	put(t, cw.b, cw.cfg.BackupRawBucket, items[0].Key, "x")
	cw.w.SetDown(regionP, true)
	if _, err := c.Handle(ctx, CopyInput{Op: OpBatch, Batch: batch, Items: items}); kindOf(err) != "transient" {
		t.Fatalf("P down: %v, want transient", err)
	}
	cw.w.SetDown(regionP, false)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Handle(cctx, CopyInput{Op: OpBatch, Batch: batch, Items: items}); err == nil {
		t.Fatal("cancelled context: no error")
	}
	if got, err := c.Handle(ctx, CopyInput{Op: OpBatch, Batch: batch, Items: items}); err != nil || got != (CopyTotals{Listed: 1, Copied: 1}) {
		t.Fatalf("after P is back: %+v %v, want the object copied", got, err)
	}
}

// A batch that keeps failing fails the Map Run (no failure is tolerated)
// and so the pass: a failback that could not copy something fails.
func TestCopyBackPassFailsOnAFailedBatch(t *testing.T) {
	cw := newCopyWorld(t)
	since := cw.clk.Now().UTC().Format(time.RFC3339)
	for i := range 4 {
		put(t, cw.b, cw.cfg.BackupRawBucket, fmt.Sprintf("dt=2026-11-25/hr=10/b-%d.ndjson", i), "b")
	}
	cw.w.Inject(&sim.Fault{Region: regionP, Service: "S3", Operation: "PutObject", Err: sim.ServiceUnavailableError()})
	_, res := copyPass(t, cw, cw.copyBack(2), since, 1, "")
	if res.Status != states.StatusFailed || !strings.Contains(res.Cause, "tolerated failure threshold") {
		t.Fatalf("pass with P refusing writes: %s %s (%s), want it failed past the tolerated failure threshold", res.Status, res.Error, res.Cause)
	}
}
