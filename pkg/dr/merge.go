package dr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/partition"
)

// MergeTotals are the merge's counts, accumulated across calls. Listed
// counts the objects of B's raw bucket listed; each is Older (last
// modified before since − CopySkew: not B's since the failover),
// Replicas (replicated from P: P counted their records), Skipped (no
// data: a folder marker or temporary file, or deleted since the listing),
// Read or BadObjects (not gzip NDJSON or not in the dt=/hr= layout;
// BadKeys names the first). Every line of a read object is a record
// (Records: Merged, counted in P now; Already, P's marker exists: an
// earlier pass or run merged it; or OtherOrigin, acknowledged by another
// region than B, which never comes from B's table or objects into P), a
// canary (Canaries) or bad (BadRecords: undecodable, no id, or rejected
// as invalid).
type MergeTotals struct {
	Listed      int64    `json:"listed"`
	Older       int64    `json:"older"`
	Replicas    int64    `json:"replicas"`
	Skipped     int64    `json:"skipped"`
	Read        int64    `json:"read"`
	BadObjects  int64    `json:"badObjects"`
	BadKeys     []string `json:"badKeys,omitempty"`
	Records     int64    `json:"records"`
	Merged      int64    `json:"merged"`
	Already     int64    `json:"already"`
	OtherOrigin int64    `json:"otherOrigin"`
	BadRecords  int64    `json:"badRecords"`
	Canaries    int64    `json:"canaries"`
	// Conflicts are records of B's whose id P counted with other content
	// (P's marker holds another content hash): not merged, each recorded
	// as a conflict item in P's table (pkg/aggregate), as P's consumer
	// records one. Every conflict B's own consumer met is met here again —
	// B counted the same records P's table now sees — so B's conflict
	// items, deleted with B's table, are not copied.
	Conflicts int64 `json:"conflicts,omitempty"`
}

// MergeInput is dr-merge's input.
type MergeInput struct {
	Since  string      `json:"since"`
	Pass   int         `json:"pass"`
	Cursor *string     `json:"cursor"`
	Totals MergeTotals `json:"totals"`
}

// MergeOutput is dr-merge's output: a nil cursor means the pass is done.
type MergeOutput struct {
	Cursor *string     `json:"cursor"`
	Totals MergeTotals `json:"totals"`
}

// Merge is the dr-merge step: it counts in P's aggregates table the
// records B acknowledged while it served, read from the raw objects B's own
// Firehose wrote since the failover — the objects copy-back copies to P —
// with the aggregate consumer's idempotent transaction (pkg/aggregate).
//
// It reads records, not B's record markers: a marker expires (TTL) and
// DynamoDB deletes it some time within two days, so after a failover
// longer than the TTL B's table no longer holds markers of the records it
// counted first, and P's no longer holds markers of the records it counted
// before the outage. Neither decides anything here. What B acknowledged is
// in B's own objects (P's replicated objects are skipped, whatever B's
// replay counted from them), and each record says which region
// acknowledged it (record.Region): only B's are applied, so a record P
// acknowledged is never counted in P a second time, whether or not P's
// marker of it still exists. P's markers of the merged records are written
// now, so a re-run, or pass 2 reading pass 1's objects again, finds every
// record Already for a TTL to come: the merge is idempotent and resumable
// from its cursor. P's own items are never overwritten, summaries are
// never copied, nothing is deleted.
type Merge struct {
	// S3 reads B's raw bucket.
	S3 ObjectSource
	// P applies entries to P's table (aggregate.New over a DynamoDB client
	// for P's region).
	P *aggregate.Aggregator
	// Bucket is B's raw bucket; Table the aggregates table, the same name
	// in both regions.
	Bucket, Table string
	// BackupRegion is B: the region whose acknowledged records are merged.
	BackupRegion string
	Clock        clock.Clock
	Budget       Budget
}

type mergeCursor struct {
	After string `json:"a"`
}

// Handle merges one bounded slice of B's raw bucket.
func (m *Merge) Handle(ctx context.Context, in MergeInput) (MergeOutput, error) {
	since, err := parseSince(in.Since)
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	if in.Pass < 1 {
		problems = append(problems, fmt.Sprintf("pass %d: want 1 or 2", in.Pass))
	}
	var cur mergeCursor
	if err := decodeCursor(in.Cursor, &cur); err != nil {
		problems = append(problems, err.Error())
	}
	if err := invalidAll("merge input", problems); err != nil {
		return MergeOutput{}, err
	}
	// B's own objects hold records B's stream received, after the failover
	// activated it: keys (the oldest record's arrival) and write times are
	// after since, give or take copy-back's skew.
	from := since.Add(-CopySkew)
	start := cur.After
	if start == "" {
		start = rawListStart(from, 0)
	}
	table, _ := partition.Table{Name: "raw", Bucket: m.Bucket, Layout: partition.LayoutHive}.Normalize()
	totals := in.Totals
	meter := m.Budget.start(m.Clock)
	for {
		page, err := m.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(m.Bucket), Prefix: aws.String("dt="), StartAfter: aws.String(start),
			MaxKeys: aws.Int32(int32(min(1000, meter.b.MaxItems-meter.items))),
		})
		if err != nil {
			return MergeOutput{}, fmt.Errorf("list s3://%s after %q: %w", m.Bucket, start, err)
		}
		for _, o := range page.Contents {
			// The cursor moves past an object only once it is done: a
			// failure returns an error and the retry redoes that object
			// (its records come back Already).
			if stop, err := meter.spent(ctx); err != nil {
				return MergeOutput{}, fmt.Errorf("merge %s: %w", m.Bucket, err)
			} else if stop {
				return MergeOutput{Cursor: encodeCursor(mergeCursor{After: start}), Totals: totals}, nil
			}
			key := aws.ToString(o.Key)
			totals.Listed++
			meter.items++
			if err := m.object(ctx, table, key, aws.ToTime(o.LastModified), from, &totals); err != nil {
				return MergeOutput{}, err
			}
			start = key
		}
		if !aws.ToBool(page.IsTruncated) {
			return MergeOutput{Cursor: nil, Totals: totals}, nil
		}
		if stop, err := meter.spent(ctx); err != nil {
			return MergeOutput{}, fmt.Errorf("merge %s: %w", m.Bucket, err)
		} else if stop {
			return MergeOutput{Cursor: encodeCursor(mergeCursor{After: start}), Totals: totals}, nil
		}
	}
}

// object merges one listed object, or counts why it does not.
func (m *Merge) object(ctx context.Context, table partition.Table, key string, modified, from time.Time, t *MergeTotals) error {
	if modified.Before(from) {
		t.Older++
		return nil
	}
	bad := func() {
		t.BadObjects++
		if len(t.BadKeys) < MaxBadKeys {
			t.BadKeys = append(t.BadKeys, key)
		}
	}
	if _, ok, err := partition.ParseKey(table, key); err != nil {
		bad() // under dt= but not in the layout: not Firehose's
		return nil
	} else if !ok {
		t.Skipped++ // a folder marker or temporary file: no records
		return nil
	}
	head, err := m.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String(key)})
	var nf *s3types.NotFound
	if errors.As(err, &nf) {
		t.Skipped++ // deleted since the listing: nothing to read
		return nil
	}
	if err != nil {
		return fmt.Errorf("head s3://%s/%s: %w", m.Bucket, key, err)
	}
	if head.ReplicationStatus == s3types.ReplicationStatusReplica && head.Metadata[MetaCopyback] == "" {
		t.Replicas++ // P's object: P counted its records
		return nil
	}
	// A replica that carries MetaCopyback is B's own object come home: the
	// copy-back wrote it to P, and P's replication rule, which cannot
	// exclude by tag or metadata, replicated it back over B's original.
	// Its records are B's, as the original's were.
	recs, ok, err := readRawObject(ctx, m.S3, m.Bucket, key, modified)
	if err != nil {
		return err
	}
	if !ok {
		bad()
		return nil
	}
	t.Read++
	t.BadRecords += recs.badRecords
	t.Canaries += recs.canaries
	var entries []aggregate.Entry
	for _, e := range recs.entries {
		t.Records++
		if e.Origin != "" && e.Origin != m.BackupRegion {
			t.OtherOrigin++ // acknowledged by P (or another region): never re-applied
			continue
		}
		entries = append(entries, e)
	}
	for i, res := range m.P.ApplyAll(ctx, entries) {
		switch {
		case res.Outcome == aggregate.Counted:
			t.Merged++
		case res.Outcome == aggregate.Duplicate:
			t.Already++
		case res.Outcome == aggregate.Conflict:
			t.Conflicts++
		case fault.Classify(res.Err) == fault.Invalid:
			t.Records--
			t.BadRecords++
		default:
			return fmt.Errorf("merge record %s of s3://%s/%s into %s: %w", entries[i].ID, m.Bucket, key, m.Table, res.Err)
		}
	}
	return nil
}
