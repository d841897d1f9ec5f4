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

// CopyTotals are the copy-back's counts of a pass, summed over its
// batches. Listed counts every object listed; objects older than the
// pass's from (since − CopySkew in pass 1) are listed only; the others are
// exactly one of Copied, Skipped (P has the same content) or Replicas (P's
// own objects).
type CopyTotals struct {
	Listed   int64 `json:"listed"`
	Copied   int64 `json:"copied"`
	Skipped  int64 `json:"skipped"`
	Replicas int64 `json:"replicas"`
}

func (t CopyTotals) plus(o CopyTotals) CopyTotals {
	return CopyTotals{Listed: t.Listed + o.Listed, Copied: t.Copied + o.Copied, Skipped: t.Skipped + o.Skipped, Replicas: t.Replicas + o.Replicas}
}

// CopyInput is dr-copyback's input: Op says which fields apply (pass.go).
type CopyInput struct {
	Op string `json:"op"`
	// plan
	PlanInput
	// batch: the ItemBatcher's BatchInput and Items.
	Batch *BatchInput    `json:"batch,omitempty"`
	Items []ListedObject `json:"items,omitempty"`
	// sum: the pass state with the Map Run's result.
	State *PassState[CopyTotals] `json:"state,omitempty"`
}

// CopySkew widens the since bound: clock skew and Firehose buffering can
// give an object written after the failover started an earlier
// LastModified.
const CopySkew = 15 * time.Minute

// Metadata the copy-back sets on the objects it writes to P: which pass
// wrote it, the source's ETag (a multipart source has an ETag a
// single-part copy cannot match) and the source's LastModified (RFC 3339):
// P's replication rule sends the copy back over B's original with a new
// LastModified, and the merge's second pass tells by it an object B wrote
// during the drain from one it merged in the first.
const (
	MetaCopyback       = "pendulum-copyback"
	MetaSourceETag     = "pendulum-source-etag"
	MetaSourceModified = "pendulum-source-modified"
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
// buckets gained since the failover that P lacks, under the same key. Its
// passes run on a Distributed Map (pass.go): plan lists B's raw bucket by
// hour folders and its curated bucket whole, each batch copies its
// objects, sum adds up the batches.
type CopyBack struct {
	B ObjectSource
	P ObjectTarget
	// Results is the failback bucket in B (B's S3).
	Results  ResultStore
	Settings FailbackSettings
	Buckets  []BucketPair // B's raw bucket, then its curated bucket → P's
	Clock    clock.Clock
	// Workers is how many objects a batch copies at once (DefaultCopyWorkers).
	Workers int
}

func (c *CopyBack) passes() *passes {
	p := &passes{step: "copy", B: c.B, Results: c.Results, Settings: c.Settings, Clock: c.Clock}
	if len(c.Buckets) > 0 {
		p.Raw = c.Buckets[0].From
		for _, b := range c.Buckets[1:] {
			p.Whole = append(p.Whole, b.From)
		}
	}
	return p
}

// Handle runs one operation: plan and sum return the pass state
// (PassState[CopyTotals]), batch the batch's CopyTotals.
func (c *CopyBack) Handle(ctx context.Context, in CopyInput) (any, error) {
	switch in.Op {
	case OpPlan:
		return plan[CopyTotals](ctx, c.passes(), in.PlanInput)
	case OpSum:
		return sum(ctx, c.passes(), in.State)
	case OpBatch:
		return c.batch(ctx, in.Batch, in.Items)
	}
	return nil, invalidf("invalid copy-back input: op %q: want %s, %s or %s", in.Op, OpPlan, OpBatch, OpSum)
}

// batch copies the objects of one batch that are not older than its from.
// A failure returns an error and the child's retry redoes the batch,
// skipping what was copied (same ETag in P).
func (c *CopyBack) batch(ctx context.Context, b *BatchInput, items []ListedObject) (CopyTotals, error) {
	var froms []string
	var pair BucketPair
	for _, p := range c.Buckets {
		froms = append(froms, p.From)
		if b != nil && p.From == b.Bucket {
			pair = p
		}
	}
	from, err := b.parse("copy-back", items, froms)
	if err != nil {
		return CopyTotals{}, err
	}
	var t CopyTotals
	var todo []string
	for _, it := range items {
		t.Listed++
		if !it.olderThan(from) {
			todo = append(todo, it.Key)
		}
	}
	if err := c.page(ctx, pair, todo, b.Pass, &t); err != nil {
		return CopyTotals{}, err
	}
	return t, nil
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
	// The workers stop on their own once ctx is done; waiting for them
	// keeps no goroutine behind the call.
	if err := clock.GoEach(c.Clock, workers, func(int) error { work(); return nil }); err != nil {
		return fmt.Errorf("copy back %s: %w", pair.From, err)
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
	meta := make(map[string]string, len(obj.Metadata)+3)
	for k, v := range obj.Metadata {
		meta[k] = v
	}
	meta[MetaCopyback] = strconv.Itoa(pass)
	meta[MetaSourceETag] = etag
	if src.LastModified != nil {
		meta[MetaSourceModified] = src.LastModified.UTC().Format(time.RFC3339Nano)
	}
	if _, err := c.P.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(pair.To), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: obj.ContentType, Metadata: meta, Tagging: aws.String(CopyTagging),
	}); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", pair.To, key, err)
	}
	t.Copied++
	return nil
}
