package dr

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/partition"
)

// TableDescriber reads a table's description: the replay reads the
// restored table's RestoreSummary.
type TableDescriber interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// DefaultReplayMargin is how far before the restore point the replay
// starts reading (Replay.Margin). A restored table holds the records P's
// consumer had counted by the restore point; a record received shortly
// before it may not have been counted yet. The margin covers that consumer
// lag, the clock skew between ingest and S3, and a backup copy dated when
// the copy finished rather than when its source backup read the table
// (docs/dr.md "Replay").
const DefaultReplayMargin = time.Hour

// ReplayListLookback is how far before the replay's start the listing of
// the raw bucket begins, by the keys' hour prefix: Firehose names an
// object by the arrival of its oldest record and retries a failed
// delivery for up to 24 hours (docs/aws-facts.md "Amazon Data Firehose"),
// so an object written after the start has a key at most a day and a
// buffer interval older. Objects are selected by LastModified, not by key.
const ReplayListLookback = 25 * time.Hour

// MaxBadKeys is how many keys of unreadable objects the totals name.
const MaxBadKeys = 10

// ReplayTotals are the replay's counts, accumulated across calls.
// Listed counts the objects listed; each is Older (written before From:
// not read), Own (written by B's Firehose, not replicated from P: B's
// consumer counts those from B's stream), Skipped (no data: a folder
// marker or temporary file, or deleted since the listing), Read or Bad
// (not gzip NDJSON or not in the dt=/hr= layout; BadKeys names the first). Every line of a
// read object is a record (Records, then Applied: counted in B's table
// now, or Already: the restored table or an earlier slice had it), a
// canary (Canaries) or bad (BadRecords: undecodable, no id, or rejected as
// invalid).
type ReplayTotals struct {
	// RestorePoint is the restored table's RestoreSummary.RestoreDateTime:
	// the point in time, or the backup's time, whose state it holds.
	RestorePoint string `json:"restorePoint,omitempty"`
	// From is RestorePoint − Margin: objects last modified before it are
	// not read.
	From       string   `json:"from,omitempty"`
	Listed     int64    `json:"listed"`
	Older      int64    `json:"older"`
	Own        int64    `json:"own"`
	Skipped    int64    `json:"skipped"`
	Read       int64    `json:"read"`
	BadObjects int64    `json:"badObjects"`
	BadKeys    []string `json:"badKeys,omitempty"`
	Records    int64    `json:"records"`
	Applied    int64    `json:"applied"`
	Already    int64    `json:"already"`
	// Conflicts are records whose id the restored table counted with other
	// content: not applied, each recorded as a conflict item.
	Conflicts  int64 `json:"conflicts,omitempty"`
	BadRecords int64 `json:"badRecords"`
	Canaries   int64 `json:"canaries"`
	// HighWaterMark is the newest received time of the records read: B's
	// aggregates now count what P acknowledged up to it, so their RPO is
	// the outage minus it (Firehose's buffer and S3 replication's lag), not
	// the restore point's age.
	HighWaterMark string `json:"highWaterMark,omitempty"`
}

// ReplayInput is dr-replay's input.
type ReplayInput struct {
	Cursor *string      `json:"cursor"`
	Totals ReplayTotals `json:"totals"`
}

// ReplayOutput is dr-replay's output: a nil cursor means the replay is
// done.
type ReplayOutput struct {
	Cursor *string      `json:"cursor"`
	Totals ReplayTotals `json:"totals"`
}

// Replay is the dr-replay step: after failover restored B's aggregates
// table from a recovery point, it applies to that table the records of the
// raw objects S3 replicated from P into B's raw bucket since shortly before
// the restore point, with the aggregate consumer's idempotent transaction
// (pkg/aggregate): a record the restored table already holds is dropped by
// its marker, the others are counted. So B's aggregates become current up
// to what replication had brought over, and the consumer, started after,
// adds what B's own stream holds. A re-run reports every record as
// Already.
type Replay struct {
	// S3 reads B's raw bucket.
	S3 ObjectSource
	// DB describes B's restored table.
	DB TableDescriber
	// Agg applies entries to B's table (aggregate.New over B's DynamoDB,
	// Region B: the markers say B counted them).
	Agg *aggregate.Aggregator
	// Bucket is B's raw bucket; Table the aggregates table.
	Bucket, Table string
	// Margin is how far before the restore point to read
	// (DefaultReplayMargin when 0).
	Margin time.Duration
	Clock  clock.Clock
	Budget Budget
}

type replayCursor struct {
	After        string `json:"a"`
	From         string `json:"f"`
	RestorePoint string `json:"t"`
}

// Handle replays one bounded slice of B's raw bucket.
func (r *Replay) Handle(ctx context.Context, in ReplayInput) (ReplayOutput, error) {
	var cur replayCursor
	if err := decodeCursor(in.Cursor, &cur); err != nil {
		return ReplayOutput{}, err
	}
	totals := in.Totals
	var from time.Time
	if in.Cursor == nil || *in.Cursor == "" {
		point, err := r.restorePoint(ctx)
		if err != nil {
			return ReplayOutput{}, err
		}
		margin := r.Margin
		if margin <= 0 {
			margin = DefaultReplayMargin
		}
		from = point.Add(-margin)
		cur = replayCursor{From: from.Format(time.RFC3339Nano), RestorePoint: point.Format(time.RFC3339Nano)}
		totals = ReplayTotals{RestorePoint: cur.RestorePoint, From: cur.From}
	} else {
		t, err := time.Parse(time.RFC3339Nano, cur.From)
		if err != nil {
			return ReplayOutput{}, invalidf("cursor %q: not a cursor this step returned", *in.Cursor)
		}
		from = t
	}
	start := cur.After
	if start == "" {
		start = rawListStart(from, ReplayListLookback)
	}
	table, _ := partition.Table{Name: "raw", Bucket: r.Bucket, Layout: partition.LayoutHive}.Normalize()
	m := r.Budget.start(r.Clock)
	for {
		stop, err := m.spent(ctx)
		if err != nil {
			return ReplayOutput{}, fmt.Errorf("replay %s: %w", r.Bucket, err)
		}
		if stop {
			return ReplayOutput{Cursor: encodeCursor(cur), Totals: totals}, nil
		}
		page, err := r.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(r.Bucket), Prefix: aws.String("dt="), StartAfter: aws.String(start),
			MaxKeys: aws.Int32(int32(min(1000, m.b.MaxItems-m.items))),
		})
		if err != nil {
			return ReplayOutput{}, fmt.Errorf("list s3://%s after %q: %w", r.Bucket, start, err)
		}
		for i, o := range page.Contents {
			if i > 0 {
				// The cursor moves past an object only once it is done: a
				// failure returns an error and the retry redoes that object
				// (its records come back Already).
				if stop, err := m.spent(ctx); err != nil {
					return ReplayOutput{}, fmt.Errorf("replay %s: %w", r.Bucket, err)
				} else if stop {
					return ReplayOutput{Cursor: encodeCursor(cur), Totals: totals}, nil
				}
			}
			key := aws.ToString(o.Key)
			totals.Listed++
			m.items++
			if err := r.object(ctx, table, key, aws.ToTime(o.LastModified), from, &totals); err != nil {
				return ReplayOutput{}, err
			}
			cur.After, start = key, key
		}
		if !aws.ToBool(page.IsTruncated) {
			return ReplayOutput{Cursor: nil, Totals: totals}, nil
		}
	}
}

// restorePoint reads the restored table's RestoreSummary.RestoreDateTime.
func (r *Replay) restorePoint(ctx context.Context) (time.Time, error) {
	out, err := r.DB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.Table)})
	if err != nil {
		return time.Time{}, fmt.Errorf("describe %s: %w", r.Table, err)
	}
	t := out.Table
	switch {
	case t == nil:
		return time.Time{}, fmt.Errorf("describe %s: no table description", r.Table)
	case t.TableStatus != ddbtypes.TableStatusActive:
		return time.Time{}, transientf("table %s is %s: replay once it is ACTIVE", r.Table, t.TableStatus)
	case t.RestoreSummary == nil || t.RestoreSummary.RestoreDateTime == nil:
		return time.Time{}, invalidf("table %s has no RestoreSummary: it was not created by a restore, so what it already holds is unknown; replay applies only to a restored table", r.Table)
	case aws.ToBool(t.RestoreSummary.RestoreInProgress):
		return time.Time{}, transientf("table %s: restore still in progress", r.Table)
	}
	return t.RestoreSummary.RestoreDateTime.UTC(), nil
}

// object replays one listed object, or counts why it does not.
func (r *Replay) object(ctx context.Context, table partition.Table, key string, modified, from time.Time, t *ReplayTotals) error {
	if modified.Before(from) {
		t.Older++
		return nil
	}
	counts := rawObjectCounts{skipped: &t.Skipped, badObjects: &t.BadObjects, badKeys: &t.BadKeys}
	head, err := headRawObject(ctx, r.S3, table, r.Bucket, key, counts)
	if err != nil || head == nil {
		return err
	}
	if head.ReplicationStatus != s3types.ReplicationStatusReplica {
		t.Own++
		return nil
	}
	recs, ok, err := readRawObject(ctx, r.S3, r.Bucket, key, modified)
	if err != nil {
		return err
	}
	if !ok {
		counts.bad(key)
		return nil
	}
	t.BadRecords += recs.badRecords
	t.Canaries += recs.canaries
	if hw, err := time.Parse(time.RFC3339Nano, t.HighWaterMark); !recs.newest.IsZero() && (err != nil || recs.newest.After(hw)) {
		t.HighWaterMark = recs.newest.UTC().Format(time.RFC3339Nano)
	}
	entries := recs.entries
	t.Read++
	for i, res := range r.Agg.ApplyAll(ctx, entries) {
		switch {
		case res.Outcome == aggregate.Counted:
			t.Applied++
		case res.Outcome == aggregate.Duplicate:
			t.Already++
		case res.Outcome == aggregate.Conflict:
			t.Conflicts++
		case fault.Classify(res.Err) == fault.Invalid:
			t.BadRecords++
			continue
		default:
			return fmt.Errorf("replay record %s of s3://%s/%s into %s: %w", entries[i].ID, r.Bucket, key, r.Table, res.Err)
		}
		t.Records++
	}
	return nil
}
