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
	return cw
}

func (cw *copyWorld) copyBack(budget int) *CopyBack {
	return &CopyBack{B: cw.b, P: cw.p, Clock: cw.clk, Budget: Budget{MaxItems: budget},
		Buckets: []BucketPair{{cw.cfg.BackupRawBucket, cw.cfg.PrimaryRawBucket}, {cw.cfg.BackupCuratedBucket, cw.cfg.PrimaryCuratedBucket}}}
}

func put(t testing.TB, c *sim.S3, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// runPass loops like the state machine until the cursor is empty and
// returns the totals and the number of calls.
func runPass(t testing.TB, c *CopyBack, since string, pass int) (CopyTotals, int) {
	t.Helper()
	in := CopyInput{Since: since, Pass: pass}
	for calls := 1; ; calls++ {
		out, err := c.Handle(context.Background(), in)
		if err != nil {
			t.Fatalf("call %d: %v", calls, err)
		}
		if out.Cursor == nil {
			return out.Totals, calls
		}
		in.Cursor, in.Totals = out.Cursor, out.Totals
		if calls > 10000 {
			t.Fatal("no end")
		}
	}
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

	got, calls := runPass(t, cw.copyBack(3), since, 1)
	want := CopyTotals{Listed: 10, Copied: 6, Skipped: 1, Replicas: 2}
	if got != want {
		t.Fatalf("pass 1 totals = %+v, want %+v", got, want)
	}
	if calls < 4 {
		t.Fatalf("calls = %d: a budget of 3 must split 10 objects over several calls", calls)
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
	if _, err := cw.p.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(craw), Key: aws.String("dt=2026-11-25/hr=10/old.ndjson")}); kindOf(err) != "not found" {
		t.Fatalf("old object copied: %v", err)
	}

	// Pass 2 after more writes: only the new object is copied.
	cw.clk.Sleep(ctx, time.Hour) // replication of the copies settles
	put(t, cw.b, raw, "dt=2026-11-25/hr=13/late.ndjson", "late")
	got, _ = runPass(t, cw.copyBack(1000), since, 2)
	if got.Copied != 1 {
		t.Fatalf("pass 2 totals = %+v, want exactly the late object copied", got)
	}
	// A re-run copies nothing.
	got, _ = runPass(t, cw.copyBack(1000), since, 2)
	if got.Copied != 0 {
		t.Fatalf("re-run totals = %+v, want nothing copied", got)
	}
}

func TestCopyBackInputAndFaults(t *testing.T) {
	ctx := context.Background()
	cw := newCopyWorld(t)
	c := cw.copyBack(10)
	for _, in := range []CopyInput{{Since: "yesterday", Pass: 1}, {Since: "2026-11-25T10:00:00Z", Pass: 0}, {Since: "2026-11-25T10:00:00Z", Pass: 1, Cursor: aws.String("!!")}} {
		if _, err := c.Handle(ctx, in); kindOf(err) != "invalid" {
			t.Errorf("%+v: %v, want invalid", in, err)
		}
	}
	put(t, cw.b, cw.cfg.BackupRawBucket, "dt=2026-11-25/hr=12/x.ndjson", "x")
	cw.w.SetDown(regionP, true)
	if _, err := c.Handle(ctx, CopyInput{Since: "2026-11-25T10:00:00Z", Pass: 1}); kindOf(err) != "transient" {
		t.Fatalf("P down: %v, want transient", err)
	}
	cw.w.SetDown(regionP, false)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Handle(cctx, CopyInput{Since: "2026-11-25T10:00:00Z", Pass: 1}); err == nil {
		t.Fatal("cancelled context: no error")
	}
}

// BenchmarkCopyBack measures copy-back throughput against the simulator:
// objects examined and copied per second.
func BenchmarkCopyBack(b *testing.B) {
	const n = 2000
	b.ReportAllocs()
	var copied int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cw := newCopyWorld(b)
		for j := 0; j < n; j++ {
			put(b, cw.b, cw.cfg.BackupRawBucket, fmt.Sprintf("dt=2026-11-25/hr=12/b-%05d.ndjson", j), strings.Repeat("x", 512))
		}
		c := cw.copyBack(1000)
		b.StartTimer()
		got, _ := runPass(b, c, "2026-11-25T09:00:00Z", 1)
		copied += got.Copied
	}
	b.ReportMetric(float64(copied)/b.Elapsed().Seconds(), "objects/s")
}
