package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// s3Update rewrites the S3 golden files; its name is S3-specific so that
// other services' tests in this package can define their own.
var s3Update = flag.Bool("update-s3", false, "rewrite the S3 golden files in testdata/")

// s3API is the consumer-style interface the simulator must satisfy with the
// SDK's exact signatures.
type s3API interface {
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	PutBucketVersioning(ctx context.Context, in *s3.PutBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.PutBucketVersioningOutput, error)
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	PutBucketReplication(ctx context.Context, in *s3.PutBucketReplicationInput, optFns ...func(*s3.Options)) (*s3.PutBucketReplicationOutput, error)
	GetBucketReplication(ctx context.Context, in *s3.GetBucketReplicationInput, optFns ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error)
	DeleteBucketReplication(ctx context.Context, in *s3.DeleteBucketReplicationInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketReplicationOutput, error)
	PutBucketNotificationConfiguration(ctx context.Context, in *s3.PutBucketNotificationConfigurationInput, optFns ...func(*s3.Options)) (*s3.PutBucketNotificationConfigurationOutput, error)
	GetBucketNotificationConfiguration(ctx context.Context, in *s3.GetBucketNotificationConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetBucketNotificationConfigurationOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
}

var (
	_ s3API = (*S3)(nil)
	_ s3API = (*s3.Client)(nil)
)

const (
	s3TestP = "us-east-1"
	s3TestB = "us-west-2"
)

var s3TestStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func s3TestWorld(t testing.TB) (*World, *clock.Virtual) {
	t.Helper()
	clk := clock.NewVirtual(s3TestStart)
	return NewWorld(clk, "111122223333", s3TestP, s3TestB), clk
}

func s3MustBucket(t testing.TB, c *S3, name string, versioned bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	if versioned {
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
			t.Fatalf("enable versioning on %s: %v", name, err)
		}
	}
}

func s3MustPut(t testing.TB, c *S3, bucket, key, body string) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return out
}

func s3ErrCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func s3Replicate(t testing.TB, c *S3, bucket, destBucket string, rtc bool) {
	t.Helper()
	dest := &s3types.Destination{Bucket: aws.String("arn:aws:s3:::" + destBucket)}
	if rtc {
		dest.ReplicationTime = &s3types.ReplicationTime{Status: s3types.ReplicationTimeStatusEnabled, Time: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}}
		dest.Metrics = &s3types.Metrics{Status: s3types.MetricsStatusEnabled, EventThreshold: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}}
	}
	_, err := c.PutBucketReplication(context.Background(), &s3.PutBucketReplicationInput{Bucket: aws.String(bucket),
		ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::111122223333:role/replication"),
			Rules: []s3types.ReplicationRule{{ID: aws.String("all"), Status: s3types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
				Filter: &s3types.ReplicationRuleFilter{Prefix: aws.String("")}, Destination: dest,
				DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled}}}}})
	if err != nil {
		t.Fatalf("put replication on %s: %v", bucket, err)
	}
}

func TestS3VersioningAndDeleteMarkers(t *testing.T) {
	w, _ := s3TestWorld(t)
	ctx := context.Background()
	c := w.Region(s3TestP).S3()
	s3MustBucket(t, c, "raw", true)
	v1 := s3MustPut(t, c, "raw", "k", "one")
	v2 := s3MustPut(t, c, "raw", "k", "two")
	if aws.ToString(v1.VersionId) == "" || aws.ToString(v1.VersionId) == aws.ToString(v2.VersionId) {
		t.Fatalf("version IDs %q and %q: want distinct, non-empty", aws.ToString(v1.VersionId), aws.ToString(v2.VersionId))
	}
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("raw"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("delete in versioned bucket: DeleteMarker=%v VersionId=%q, want a marker", aws.ToBool(del.DeleteMarker), aws.ToString(del.VersionId))
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("raw"), Key: aws.String("k")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Fatalf("get after delete marker: %v, want NoSuchKey", err)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.ServiceID != "S3" || oe.OperationName != "GetObject" {
		t.Fatalf("error %v is not wrapped as the SDK wraps it", err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("raw"), Key: aws.String("k"), VersionId: v1.VersionId})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	if got, want := string(body), "one"; got != want {
		t.Fatalf("old version body = %q, want %q", got, want)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("raw"), Key: aws.String("k"), VersionId: del.VersionId})
	if got, want := s3ErrCode(err), "MethodNotAllowed"; got != want {
		t.Fatalf("get of a delete marker version: code %q, want %q", got, want)
	}
	vers, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("raw")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(vers.Versions), 2; got != want {
		t.Fatalf("versions = %d, want %d", got, want)
	}
	if got, want := len(vers.DeleteMarkers), 1; got != want || !aws.ToBool(vers.DeleteMarkers[0].IsLatest) {
		t.Fatalf("delete markers = %d (latest %v), want %d latest", got, len(vers.DeleteMarkers) > 0 && aws.ToBool(vers.DeleteMarkers[0].IsLatest), want)
	}
	if got, want := aws.ToString(vers.Versions[0].VersionId), aws.ToString(v2.VersionId); got != want {
		t.Fatalf("newest version first: got %q, want %q", got, want)
	}
	// Removing the delete marker brings the object back.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("raw"), Key: aws.String("k"), VersionId: del.VersionId}); err != nil {
		t.Fatal(err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("raw"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(head.VersionId), aws.ToString(v2.VersionId); got != want {
		t.Fatalf("after removing the marker, latest = %q, want %q", got, want)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("raw"), Key: aws.String("missing")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("head of a missing key: %v, want NotFound", err)
	}
}

func TestS3UnversionedOverwrite(t *testing.T) {
	w, _ := s3TestWorld(t)
	c := w.Region(s3TestP).S3()
	s3MustBucket(t, c, "plain", false)
	out := s3MustPut(t, c, "plain", "k", "a")
	if out.VersionId != nil {
		t.Fatalf("unversioned put returned VersionId %q", aws.ToString(out.VersionId))
	}
	s3MustPut(t, c, "plain", "k", "bb")
	vers, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(vers.Versions), 1; got != want {
		t.Fatalf("versions in an unversioned bucket = %d, want %d", got, want)
	}
	if got, want := aws.ToInt64(vers.Versions[0].Size), int64(2); got != want {
		t.Fatalf("size = %d, want %d", got, want)
	}
	_, err = c.PutBucketReplication(context.Background(), &s3.PutBucketReplicationInput{Bucket: aws.String("plain"),
		ReplicationConfiguration: &s3types.ReplicationConfiguration{Rules: []s3types.ReplicationRule{{Status: s3types.ReplicationRuleStatusEnabled,
			Destination: &s3types.Destination{Bucket: aws.String("arn:aws:s3:::x")}}}}})
	if got, want := s3ErrCode(err), "InvalidRequest"; got != want {
		t.Fatalf("replication on an unversioned bucket: code %q, want %q", got, want)
	}
}

func TestS3ListObjectsV2(t *testing.T) {
	w, _ := s3TestWorld(t)
	ctx := context.Background()
	c := w.Region(s3TestP).S3()
	s3MustBucket(t, c, "lst", false)
	keys := []string{"a/1", "a/2", "a/b/3", "b/1", "c", "d/x/1", "d/y/2"}
	for _, k := range keys {
		s3MustPut(t, c, "lst", k, k)
	}
	tests := []struct {
		name                     string
		prefix, delim, startAftr string
		maxKeys                  int32
		want                     []string // every page concatenated; common prefixes end in "/"
		pages                    int
	}{
		{name: "All", maxKeys: 1000, want: keys, pages: 1},
		{name: "PagesOfTwo", maxKeys: 2, want: keys, pages: 4},
		{name: "Prefix", prefix: "a/", maxKeys: 1000, want: []string{"a/1", "a/2", "a/b/3"}, pages: 1},
		{name: "Delimiter", delim: "/", maxKeys: 1000, want: []string{"a/", "b/", "c", "d/"}, pages: 1},
		{name: "DelimiterPagesOfOne", delim: "/", maxKeys: 1, want: []string{"a/", "b/", "c", "d/"}, pages: 4},
		{name: "PrefixAndDelimiter", prefix: "d/", delim: "/", maxKeys: 1000, want: []string{"d/x/", "d/y/"}, pages: 1},
		{name: "StartAfter", startAftr: "b/1", maxKeys: 1000, want: []string{"c", "d/x/1", "d/y/2"}, pages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			pages := 0
			in := &s3.ListObjectsV2Input{Bucket: aws.String("lst"), Prefix: aws.String(tt.prefix), Delimiter: aws.String(tt.delim), MaxKeys: aws.Int32(tt.maxKeys)}
			if tt.startAftr != "" {
				in.StartAfter = aws.String(tt.startAftr)
			}
			p := s3.NewListObjectsV2Paginator(c, in)
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				var page []string
				for _, o := range out.Contents {
					page = append(page, aws.ToString(o.Key))
				}
				for _, cp := range out.CommonPrefixes {
					page = append(page, aws.ToString(cp.Prefix))
				}
				if got, want := int(aws.ToInt32(out.KeyCount)), len(page); got != want {
					t.Fatalf("KeyCount = %d, want %d", got, want)
				}
				got = append(got, s3SortedPage(page)...)
			}
			if got, want := strings.Join(got, ","), strings.Join(tt.want, ","); got != want {
				t.Fatalf("listed %s, want %s", got, want)
			}
			if got, want := pages, tt.pages; got != want {
				t.Fatalf("pages = %d, want %d", got, want)
			}
		})
	}
}

// s3SortedPage orders one page's keys and prefixes together, as S3 does.
func s3SortedPage(p []string) []string {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j] < p[j-1]; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
	return p
}

func TestS3CopyObjectAcrossRegions(t *testing.T) {
	w, _ := s3TestWorld(t)
	ctx := context.Background()
	p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	s3MustBucket(t, p, "src", true)
	s3MustBucket(t, b, "dst", true)
	put := s3MustPut(t, p, "src", "dt=2026-03-01/a b.json", "payload")
	out, err := b.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.json"),
		CopySource: aws.String("src/dt%3D2026-03-01/a%20b.json?versionId=" + aws.ToString(put.VersionId))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.CopySourceVersionId), aws.ToString(put.VersionId); got != want {
		t.Fatalf("CopySourceVersionId = %q, want %q", got, want)
	}
	got, err := b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.json")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	if string(body) != "payload" {
		t.Fatalf("copied body = %q", body)
	}
	w.SetDown(s3TestP, true)
	_, err = b.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("again"), CopySource: aws.String("src/dt%3D2026-03-01/a%20b.json")})
	if got, want := s3ErrCode(err), "ServiceUnavailable"; got != want {
		t.Fatalf("copy from a down region: code %q, want %q", got, want)
	}
}

func s3Status(t testing.TB, c *S3, bucket, key string) (s3types.ReplicationStatus, string) {
	t.Helper()
	h, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("head %s/%s: %v", bucket, key, err)
	}
	return h.ReplicationStatus, aws.ToString(h.VersionId)
}

func TestS3ReplicationLagAndStatus(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	s3MustBucket(t, p, "src", true)
	s3MustBucket(t, b, "dst", true)
	s3Replicate(t, p, "src", "dst", true)
	p.SetReplicationLag(func(string, bool) time.Duration { return 5 * time.Second })
	put := s3MustPut(t, p, "src", "k", "v")
	if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusPending {
		t.Fatalf("right after put: %q, want PENDING", st)
	}
	_ = clk.Sleep(ctx, 4*time.Second)
	if _, err := b.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("k")}); err == nil {
		t.Fatal("replica visible before the lag elapsed")
	}
	_ = clk.Sleep(ctx, 2*time.Second)
	if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusCompleted {
		t.Fatalf("after the lag: source %q, want COMPLETED", st)
	}
	st, vid := s3Status(t, b, "dst", "k")
	if st != s3types.ReplicationStatusReplica || vid != aws.ToString(put.VersionId) {
		t.Fatalf("replica: status %q version %q, want REPLICA %q", st, vid, aws.ToString(put.VersionId))
	}
	if got, want := p.CountByReplicationStatus("src")[s3types.ReplicationStatusCompleted], 1; got != want {
		t.Fatalf("COMPLETED count = %d, want %d", got, want)
	}
	// Delete markers replicate when DeleteMarkerReplication is enabled.
	if _, err := p.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("src"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 6*time.Second)
	_, err := b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dst"), Key: aws.String("k")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Fatalf("replicated delete marker: get = %v, want NoSuchKey", err)
	}
}

func TestS3DefaultLagWithinRTC(t *testing.T) {
	for i := 0; i < 1000; i++ {
		key := fmt.Sprintf("raw/%d.json", i)
		if d := DefaultReplicationLag(key, true); d <= 0 || d > 15*time.Minute {
			t.Fatalf("RTC lag for %s = %v, outside the 15-minute SLA", key, d)
		}
		if d := DefaultReplicationLag(key, false); d < DefaultReplicationLag(key, true) {
			t.Fatalf("lag without RTC %v shorter than with RTC", d)
		}
	}
}

func TestS3ReplicationOutages(t *testing.T) {
	t.Run("StuckWhileSourceDown", func(t *testing.T) {
		w, clk := s3TestWorld(t)
		ctx := context.Background()
		p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
		s3MustBucket(t, p, "src", true)
		s3MustBucket(t, b, "dst", true)
		s3Replicate(t, p, "src", "dst", true)
		p.SetReplicationLag(func(string, bool) time.Duration { return 10 * time.Second })
		s3MustPut(t, p, "src", "k", "v")
		w.SetDown(s3TestP, true)
		_ = clk.Sleep(ctx, 30*time.Minute)
		if _, err := b.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("k")}); err == nil {
			t.Fatal("object replicated out of a region that is down")
		}
		if got, want := p.CountByReplicationStatus("src")[s3types.ReplicationStatusPending], 1; got != want {
			t.Fatalf("PENDING while source down = %d, want %d", got, want)
		}
		if ops, bytes := p.ReplicationBacklog("src"); ops != 1 || bytes != 1 {
			t.Fatalf("backlog = %d ops, %d bytes; want 1 and 1", ops, bytes)
		}
		w.SetDown(s3TestP, false)
		_ = clk.Sleep(ctx, 2*time.Minute)
		if st, _ := s3Status(t, b, "dst", "k"); st != s3types.ReplicationStatusReplica {
			t.Fatalf("after the source came back: replica status %q, want REPLICA", st)
		}
	})
	t.Run("PendingWhileDestinationDown", func(t *testing.T) {
		w, clk := s3TestWorld(t)
		ctx := context.Background()
		p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
		s3MustBucket(t, p, "src", true)
		s3MustBucket(t, b, "dst", true)
		s3Replicate(t, p, "src", "dst", true)
		w.SetDown(s3TestB, true)
		s3MustPut(t, p, "src", "k", "v")
		_ = clk.Sleep(ctx, time.Hour)
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusPending {
			t.Fatalf("while destination down: %q, want PENDING", st)
		}
		w.SetDown(s3TestB, false)
		_ = clk.Sleep(ctx, 2*time.Minute)
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusCompleted {
			t.Fatalf("after destination back: %q, want COMPLETED", st)
		}
	})
	t.Run("CatchUpWhenRegionReturns", func(t *testing.T) {
		w, clk := s3TestWorld(t)
		ctx := context.Background()
		p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
		s3MustBucket(t, p, "src", true)
		s3MustBucket(t, b, "dst", true)
		s3Replicate(t, p, "src", "dst", true)
		w.SetDown(s3TestB, true)
		s3MustPut(t, p, "src", "k", "v")
		_ = clk.Sleep(ctx, time.Minute)
		w.SetDown(s3TestB, false)
		_ = clk.Sleep(ctx, time.Second)
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusCompleted {
			t.Fatalf("a second after the destination came back: %s, want COMPLETED", st)
		}
	})
	t.Run("InjectedFailure", func(t *testing.T) {
		w, clk := s3TestWorld(t)
		p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
		s3MustBucket(t, p, "src", true)
		s3MustBucket(t, b, "dst", true)
		s3Replicate(t, p, "src", "dst", true)
		p.SetReplicationFailure(func(key string) bool { return strings.HasSuffix(key, ".bad") })
		s3MustPut(t, p, "src", "k.bad", "v")
		s3MustPut(t, p, "src", "k.good", "v")
		_ = clk.Sleep(context.Background(), time.Hour)
		counts := p.CountByReplicationStatus("src")
		if counts[s3types.ReplicationStatusFailed] != 1 || counts[s3types.ReplicationStatusCompleted] != 1 {
			t.Fatalf("statuses %v, want one FAILED and one COMPLETED", counts)
		}
		if got := b.CountByReplicationStatus("dst")[s3types.ReplicationStatusReplica]; got != 1 {
			t.Fatalf("replicas = %d, want 1", got)
		}
	})
	t.Run("FailedWithoutDestination", func(t *testing.T) {
		w, clk := s3TestWorld(t)
		p := w.Region(s3TestP).S3()
		s3MustBucket(t, p, "src", true)
		s3Replicate(t, p, "src", "nowhere", true)
		s3MustPut(t, p, "src", "k", "v")
		_ = clk.Sleep(context.Background(), time.Minute)
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusFailed {
			t.Fatalf("missing destination: %q, want FAILED", st)
		}
	})
}

func TestS3NoReplicationLoop(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	s3MustBucket(t, p, "pbk", true)
	s3MustBucket(t, b, "bbk", true)
	s3Replicate(t, p, "pbk", "bbk", true)
	s3Replicate(t, b, "bbk", "pbk", true)
	s3MustPut(t, p, "pbk", "from-p", "1")
	s3MustPut(t, b, "bbk", "from-b", "2")
	_ = clk.Sleep(ctx, time.Hour)
	for _, tc := range []struct {
		c      *S3
		bucket string
	}{{p, "pbk"}, {b, "bbk"}} {
		vers, err := tc.c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(tc.bucket)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(vers.Versions), 2; got != want {
			t.Fatalf("%s holds %d versions, want %d (one own, one replica)", tc.bucket, got, want)
		}
		counts := tc.c.CountByReplicationStatus(tc.bucket)
		if counts[s3types.ReplicationStatusReplica] != 1 || counts[s3types.ReplicationStatusCompleted] != 1 {
			t.Fatalf("%s statuses %v, want one REPLICA and one COMPLETED", tc.bucket, counts)
		}
	}
	// Copy-back of the replica is a new write in P: it replicates once, as
	// S3 would, and does not bounce further.
	if _, err := p.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("pbk"), Key: aws.String("copied"), CopySource: aws.String("bbk/from-b")}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, time.Hour)
	vers, err := p.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("pbk")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(vers.Versions), 3; got != want {
		t.Fatalf("P holds %d versions after copy-back, want %d", got, want)
	}
}

func TestS3NotificationGolden(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	var got []string
	const qP = "arn:aws:sqs:us-east-1:111122223333:raw-events"
	const qB = "arn:aws:sqs:us-west-2:111122223333:raw-events"
	w.Region(s3TestP).registerSink(qP, func(body string) { got = append(got, body) })
	w.Region(s3TestB).registerSink(qB, func(body string) { got = append(got, body) })
	s3MustBucket(t, p, "src", true)
	s3MustBucket(t, b, "dst", true)
	for _, nc := range []struct {
		c           *S3
		bucket, arn string
	}{{p, "src", qP}, {b, "dst", qB}} {
		_, err := nc.c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(nc.bucket),
			NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
				Id: aws.String("raw-created"), QueueArn: aws.String(nc.arn), Events: []s3types.Event{"s3:ObjectCreated:*"},
				Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{{Name: "prefix", Value: aws.String("raw/")}}}},
			}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	s3Replicate(t, p, "src", "dst", true)
	s3MustPut(t, p, "src", "ignored/by-filter.json", "x")
	s3MustPut(t, p, "src", "raw/dt=2026-03-01/hour=12/part 1.json", `{"id":"r1"}`)
	if _, err := p.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("raw/copy.json"), CopySource: aws.String("src/ignored/by-filter.json")}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, time.Minute)
	// The bodies are kept as sent (field order included), one per line of a
	// JSON array, so the golden file shows exactly what a queue receives.
	if n := len(got); n != 4 {
		// Put and copy in P, then the replica of each in B (the filtered-out
		// key replicates too but notifies no one).
		t.Fatalf("notifications = %d, want 4: %v", n, got)
	}
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, body := range got {
		if !json.Valid([]byte(body)) {
			t.Fatalf("notification body is not JSON: %s", body)
		}
		buf.WriteString("  ")
		if err := json.Indent(&buf, []byte(body), "  ", "  "); err != nil {
			t.Fatal(err)
		}
		if i < len(got)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("]")
	gotJSON := buf.Bytes()
	golden := filepath.Join("testdata", "s3_notifications.golden.json")
	if *s3Update {
		if err := os.WriteFile(golden, append(gotJSON, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update-s3 to create): %v", err)
	}
	if !bytes.Equal(bytes.TrimSpace(gotJSON), bytes.TrimSpace(want)) {
		t.Fatalf("notification bodies differ from %s:\n%s", golden, gotJSON)
	}
}

func TestS3EventKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"raw/dt=2026-03-01/a.json", "raw/dt%3D2026-03-01/a.json"},
		{"red flower.jpg", "red+flower.jpg"},
		{"a+b/ü", "a%2Bb/%C3%BC"},
	}
	for _, tt := range tests {
		if got := S3EventKey(tt.key); got != tt.want {
			t.Errorf("S3EventKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestS3RegionDown(t *testing.T) {
	w, _ := s3TestWorld(t)
	p := w.Region(s3TestP).S3()
	s3MustBucket(t, p, "src", false)
	w.SetDown(s3TestP, true)
	_, err := p.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("k"), Body: strings.NewReader("v")})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("put to a down region: %v, want ErrUnreachable in the chain", err)
	}
}

func BenchmarkS3PutObjectReplicated(b *testing.B) {
	w, clk := s3TestWorld(b)
	ctx := context.Background()
	p, d := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	s3MustBucket(b, p, "src", true)
	s3MustBucket(b, d, "dst", true)
	s3Replicate(b, p, "src", "dst", true)
	body := bytes.Repeat([]byte("x"), 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(fmt.Sprintf("raw/%d", i)), Body: bytes.NewReader(body)}); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			_ = clk.Sleep(ctx, time.Hour) // let the replicas land
		}
	}
	_ = clk.Sleep(ctx, time.Hour)
	b.StopTimer()
	if got := d.CountByReplicationStatus("dst")[s3types.ReplicationStatusReplica]; got != b.N {
		b.Fatalf("replicas = %d, want %d", got, b.N)
	}
}

func TestS3ReplicaModificationSync(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	s3MustBucket(t, p, "pbk", true)
	s3MustBucket(t, b, "bbk", true)
	s3Replicate(t, p, "pbk", "bbk", true)
	s3Replicate(t, b, "bbk", "pbk", true)
	// Turn on replica modification sync in B: replicas written there replicate on.
	out, err := b.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("bbk")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := out.ReplicationConfiguration
	cfg.Rules[0].SourceSelectionCriteria = &s3types.SourceSelectionCriteria{ReplicaModifications: &s3types.ReplicaModifications{Status: s3types.ReplicaModificationsStatusEnabled}}
	if _, err := b.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("bbk"), ReplicationConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	put := s3MustPut(t, p, "pbk", "k", "v")
	_ = clk.Sleep(ctx, time.Hour)
	// The replica in B is replicated back to P, where the same version
	// already exists: no new version, no loop.
	vers, err := p.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("pbk")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(vers.Versions), 1; got != want || aws.ToString(vers.Versions[0].VersionId) != aws.ToString(put.VersionId) {
		t.Fatalf("P holds %d versions, want %d (the original)", got, want)
	}
	if got := b.CountByReplicationStatus("bbk"); got[s3types.ReplicationStatusPending] != 0 {
		t.Fatalf("B still has pending replications: %v", got)
	}
	if got := p.PendingReplication() + b.PendingReplication(); got != 0 {
		t.Fatalf("queued replications = %d, want 0", got)
	}
}

func TestS3Errors(t *testing.T) {
	w, _ := s3TestWorld(t)
	ctx := context.Background()
	c := w.Region(s3TestP).S3()
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nope"), Key: aws.String("k"), Body: strings.NewReader("")})
	var nsb *s3types.NoSuchBucket
	if !errors.As(err, &nsb) {
		t.Fatalf("put to a missing bucket: %v, want NoSuchBucket", err)
	}
	s3MustBucket(t, c, "dup", true)
	_, err = w.Region(s3TestB).S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("dup")})
	var owned *s3types.BucketAlreadyOwnedByYou
	if !errors.As(err, &owned) {
		t.Fatalf("bucket name taken in another region: %v, want BucketAlreadyOwnedByYou", err)
	}
	_, err = w.Region(s3TestB).S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("dup"), Key: aws.String("k"), Body: strings.NewReader("")})
	if got, want := s3ErrCode(err), "PermanentRedirect"; got != want {
		t.Fatalf("put through another region's endpoint: code %q, want %q", got, want)
	}
	_, err = c.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("dup")})
	if got, want := s3ErrCode(err), "ReplicationConfigurationNotFoundError"; got != want {
		t.Fatalf("replication of an unconfigured bucket: code %q, want %q", got, want)
	}
	s3MustPut(t, c, "dup", "a", "1")
	s3MustPut(t, c, "dup", "b", "2")
	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("dup"), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("b")}}}})
	if err != nil || len(del.Deleted) != 2 || !aws.ToBool(del.Deleted[0].DeleteMarker) {
		t.Fatalf("DeleteObjects = %+v, %v; want two delete markers", del, err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("dup")})
	if err != nil || aws.ToInt32(list.KeyCount) != 0 {
		t.Fatalf("list after DeleteObjects: %d keys, %v", aws.ToInt32(list.KeyCount), err)
	}
}

func TestS3LagFollowsRTC(t *testing.T) {
	for _, rtc := range []bool{true, false} {
		name := "WithoutRTC"
		if rtc {
			name = "WithRTC"
		}
		t.Run(name, func(t *testing.T) {
			w, clk := s3TestWorld(t)
			ctx := context.Background()
			p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
			s3MustBucket(t, p, "src", true)
			s3MustBucket(t, b, "dst", true)
			s3Replicate(t, p, "src", "dst", rtc)
			p.SetReplicationLag(func(_ string, withRTC bool) time.Duration {
				if withRTC {
					return time.Second
				}
				return time.Hour
			})
			s3MustPut(t, p, "src", "k", "v")
			_ = clk.Sleep(ctx, 2*time.Second)
			st, _ := s3Status(t, p, "src", "k")
			want := s3types.ReplicationStatusPending
			if rtc {
				want = s3types.ReplicationStatusCompleted
			}
			if st != want {
				t.Fatalf("after 2 s: %s, want %s", st, want)
			}
		})
	}
}
