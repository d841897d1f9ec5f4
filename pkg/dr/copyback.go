package dr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// ObjectSource is the part of S3 the copy-back reads B's buckets with.
type ObjectSource interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// ObjectTarget is the part of S3 the copy-back writes P's buckets with.
type ObjectTarget interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// CopyTotals are the copy-back's counts, accumulated across calls and
// passes' invocations. Listed counts every object listed; objects older than
// since − CopySkew are listed only; the others are exactly one of Copied,
// Skipped (P has the same content) or Replicas (P's own objects).
type CopyTotals struct {
	Listed   int64 `json:"listed"`
	Copied   int64 `json:"copied"`
	Skipped  int64 `json:"skipped"`
	Replicas int64 `json:"replicas"`
}

// CopyInput is dr-copyback's input.
type CopyInput struct {
	Since  string     `json:"since"`
	Pass   int        `json:"pass"`
	Cursor *string    `json:"cursor"`
	Totals CopyTotals `json:"totals"`
}

// CopyOutput is dr-copyback's output: a nil cursor means the pass is done.
type CopyOutput struct {
	Cursor *string    `json:"cursor"`
	Totals CopyTotals `json:"totals"`
}

// CopySkew widens the since bound: clock skew and Firehose buffering can
// give an object written after the failover started an earlier
// LastModified.
const CopySkew = 15 * time.Minute

// Metadata the copy-back sets on the objects it writes to P: which pass
// wrote it and the source's ETag (a multipart source has an ETag a
// single-part copy cannot match).
const (
	MetaCopyback   = "pendulum-copyback"
	MetaSourceETag = "pendulum-source-etag"
)

// CopyTagging is set on every copied object, so that a copy is told from
// P's own writes in S3's console, inventory and lifecycle rules. S3
// replication cannot exclude objects by tag: P's rule replicates each copy
// back to B, where it becomes the current version of B's original, marked
// REPLICA and carrying MetaCopyback (the merge reads it as B's own).
const CopyTagging = "pendulum-copyback=true"

// BucketPair is one bucket of B and its counterpart in P.
type BucketPair struct{ From, To string }

// CopyBack is the dr-copyback step: it copies to P every object B's
// buckets gained since the failover that P lacks, under the same key.
type CopyBack struct {
	B       ObjectSource
	P       ObjectTarget
	Buckets []BucketPair // B's raw and curated buckets → P's
	Clock   clock.Clock
	Budget  Budget
	// Workers is how many objects are copied at once (DefaultCopyWorkers).
	Workers int
}

type copyCursor struct {
	Bucket int    `json:"b"`
	After  string `json:"a"`
}

// Handle copies one bounded slice of the listing and returns where to go on.
func (c *CopyBack) Handle(ctx context.Context, in CopyInput) (CopyOutput, error) {
	since, err := parseSince(in.Since)
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	if in.Pass < 1 {
		problems = append(problems, fmt.Sprintf("pass %d: want 1 (bulk) or 2 (delta)", in.Pass))
	}
	var cur copyCursor
	if err := decodeCursor(in.Cursor, &cur); err != nil {
		problems = append(problems, err.Error())
	} else if cur.Bucket < 0 || cur.Bucket >= len(c.Buckets) {
		problems = append(problems, fmt.Sprintf("cursor names bucket %d of %d", cur.Bucket, len(c.Buckets)))
	}
	if err := invalidAll("copy-back input", problems); err != nil {
		return CopyOutput{}, err
	}
	from := since.Add(-CopySkew)
	totals := in.Totals
	m := c.Budget.start(c.Clock)
	for cur.Bucket < len(c.Buckets) {
		pair := c.Buckets[cur.Bucket]
		stop, err := m.spent(ctx)
		if err != nil {
			return CopyOutput{}, fmt.Errorf("copy back %s: %w", pair.From, err)
		}
		if stop {
			return CopyOutput{Cursor: encodeCursor(cur), Totals: totals}, nil
		}
		page, err := c.B.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(pair.From), StartAfter: aws.String(cur.After),
			MaxKeys: aws.Int32(int32(min(1000, m.b.MaxItems-m.items))),
		})
		if err != nil {
			return CopyOutput{}, fmt.Errorf("list %s after %q: %w", pair.From, cur.After, err)
		}
		var todo []string
		for _, o := range page.Contents {
			totals.Listed++
			m.items++
			if !aws.ToTime(o.LastModified).Before(from) {
				todo = append(todo, aws.ToString(o.Key))
			}
		}
		// The cursor moves past the page only when every object of it is
		// done: a failure returns an error and the retry redoes the page,
		// skipping what was copied (same ETag in P).
		if err := c.page(ctx, pair, todo, in.Pass, &totals); err != nil {
			return CopyOutput{}, err
		}
		if n := len(page.Contents); n > 0 {
			cur.After = aws.ToString(page.Contents[n-1].Key)
		}
		if !aws.ToBool(page.IsTruncated) {
			cur = copyCursor{Bucket: cur.Bucket + 1}
		}
	}
	return CopyOutput{Cursor: nil, Totals: totals}, nil
}

// DefaultCopyWorkers is how many objects a call copies at once: each
// object costs a few round trips (two HEADs, a GET and a PUT), so
// concurrency, not bandwidth, bounds a copy of many small objects.
const DefaultCopyWorkers = 16

// page copies keys with up to Workers objects in flight, on the step's
// clock so the local drill's virtual time stays in charge.
func (c *CopyBack) page(ctx context.Context, pair BucketPair, keys []string, pass int, t *CopyTotals) error {
	workers := c.Workers
	if workers <= 0 {
		workers = DefaultCopyWorkers
	}
	workers = min(workers, len(keys))
	if workers <= 1 {
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("copy back %s: %w", pair.From, err)
			}
			if err := c.one(ctx, pair, k, pass, t); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		mu    sync.Mutex
		next  int
		first error
		sum   CopyTotals
	)
	work := func() {
		var mine CopyTotals
		for {
			mu.Lock()
			if next == len(keys) || first != nil {
				sum.Copied, sum.Skipped, sum.Replicas = sum.Copied+mine.Copied, sum.Skipped+mine.Skipped, sum.Replicas+mine.Replicas
				mu.Unlock()
				return
			}
			k := keys[next]
			next++
			mu.Unlock()
			err := ctx.Err()
			if err == nil {
				err = c.one(ctx, pair, k, pass, &mine)
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}
	}
	done := make([]*clock.Signal, workers)
	for i := range done {
		done[i] = c.Clock.Go(work)
	}
	for _, d := range done {
		// Background: the workers stop on their own once ctx is done;
		// waiting for them keeps no goroutine behind the call.
		if err := c.Clock.Await(context.Background(), d, 0); err != nil {
			return fmt.Errorf("copy back %s: %w", pair.From, err)
		}
	}
	if first != nil {
		return first
	}
	t.Copied += sum.Copied
	t.Skipped += sum.Skipped
	t.Replicas += sum.Replicas
	return nil
}

// one examines and, if needed, copies one object.
func (c *CopyBack) one(ctx context.Context, pair BucketPair, key string, pass int, t *CopyTotals) error {
	src, err := c.B.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(pair.From), Key: aws.String(key)})
	var nf *s3types.NotFound
	if errors.As(err, &nf) {
		return nil // deleted since the listing: nothing to copy
	}
	if err != nil {
		return fmt.Errorf("head s3://%s/%s: %w", pair.From, key, err)
	}
	if src.ReplicationStatus == s3types.ReplicationStatusReplica {
		t.Replicas++ // replicated from P: P has it
		return nil
	}
	etag := aws.ToString(src.ETag)
	dst, err := c.P.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(pair.To), Key: aws.String(key)})
	switch {
	case errors.As(err, &nf):
	case err != nil:
		return fmt.Errorf("head s3://%s/%s: %w", pair.To, key, err)
	case aws.ToString(dst.ETag) == etag || dst.Metadata[MetaSourceETag] == etag:
		t.Skipped++
		return nil
	}
	obj, err := c.B.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(pair.From), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", pair.From, key, err)
	}
	body, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		return transientf("read s3://%s/%s: %v", pair.From, key, err)
	}
	meta := make(map[string]string, len(obj.Metadata)+2)
	for k, v := range obj.Metadata {
		meta[k] = v
	}
	meta[MetaCopyback] = strconv.Itoa(pass)
	meta[MetaSourceETag] = etag
	if _, err := c.P.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(pair.To), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: obj.ContentType, Metadata: meta, Tagging: aws.String(CopyTagging),
	}); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", pair.To, key, err)
	}
	t.Copied++
	return nil
}
