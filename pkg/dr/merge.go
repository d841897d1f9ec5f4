package dr

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/partition"
)

// MergeTotals are the merge's counts of a pass, summed over its batches.
// Listed counts the objects of B's raw bucket listed; each is Older (last
// modified before the pass's from — since − CopySkew in pass 1: not B's
// since the failover; in pass 2 read by pass 1 already),
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

func (t MergeTotals) plus(o MergeTotals) MergeTotals {
	out := MergeTotals{
		Listed: t.Listed + o.Listed, Older: t.Older + o.Older, Replicas: t.Replicas + o.Replicas, Skipped: t.Skipped + o.Skipped,
		Read: t.Read + o.Read, BadObjects: t.BadObjects + o.BadObjects, Records: t.Records + o.Records, Merged: t.Merged + o.Merged,
		Already: t.Already + o.Already, OtherOrigin: t.OtherOrigin + o.OtherOrigin, BadRecords: t.BadRecords + o.BadRecords,
		Canaries: t.Canaries + o.Canaries, Conflicts: t.Conflicts + o.Conflicts,
	}
	for _, k := range append(append([]string(nil), t.BadKeys...), o.BadKeys...) {
		if len(out.BadKeys) < MaxBadKeys {
			out.BadKeys = append(out.BadKeys, k)
		}
	}
	return out
}

// MergeInput is dr-merge's input: Op says which fields apply (pass.go).
type MergeInput struct {
	Op string `json:"op"`
	// plan
	PlanInput
	// batch: the ItemBatcher's BatchInput and Items.
	Batch *BatchInput    `json:"batch,omitempty"`
	Items []ListedObject `json:"items,omitempty"`
	// sum: the pass state with the Map Run's result.
	State *PassState[MergeTotals] `json:"state,omitempty"`
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
// now, so a re-run, a retried batch, or pass 2 reading pass 1's objects
// again, finds every record Already for a TTL to come: the merge is
// idempotent. P's own items are never overwritten, summaries are never
// copied, nothing is deleted.
//
// Its passes run on a Distributed Map (pass.go): plan lists B's raw bucket
// by hour folders, each batch reads its objects one at a time and applies
// their records together, mergeFlush records at a time, in as few
// transactions as the action limit allows (the Map's concurrency is the
// parallelism), sum adds up the batches.
type Merge struct {
	// S3 reads B's raw bucket.
	S3 ObjectSource
	// P applies entries to P's table (aggregate.New over a DynamoDB client
	// for P's region).
	P *aggregate.Aggregator
	// Results is the failback bucket in B (B's S3).
	Results  ResultStore
	Settings FailbackSettings
	// Bucket is B's raw bucket; Table the aggregates table, the same name
	// in both regions.
	Bucket, Table string
	// BackupRegion is B: the region whose acknowledged records are merged.
	BackupRegion string
	Clock        clock.Clock
}

func (m *Merge) passes() *passes {
	return &passes{step: "merge", B: m.S3, Results: m.Results, Settings: m.Settings, Clock: m.Clock, Raw: m.Bucket}
}

// Handle runs one operation: plan and sum return the pass state
// (PassState[MergeTotals]), batch the batch's MergeTotals.
func (m *Merge) Handle(ctx context.Context, in MergeInput) (any, error) {
	switch in.Op {
	case OpPlan:
		return plan[MergeTotals](ctx, m.passes(), in.PlanInput)
	case OpSum:
		return sum(ctx, m.passes(), in.State)
	case OpBatch:
		return m.batch(ctx, in.Batch, in.Items)
	}
	return nil, invalidf("invalid merge input: op %q: want %s, %s or %s", in.Op, OpPlan, OpBatch, OpSum)
}

// mergeFlush is how many records a batch reads before it applies them:
// one TransactWriteItems call holds up to aggregate.MaxActions actions, so
// records of many small objects share calls, and a batch of large objects
// holds no more than this many entries at once.
const mergeFlush = 1000

// batch merges the objects of one batch. A failure returns an error and
// the child's retry redoes the batch: the records merged before it come
// back Already.
func (m *Merge) batch(ctx context.Context, b *BatchInput, items []ListedObject) (MergeTotals, error) {
	from, err := b.parse("merge", items, []string{m.Bucket})
	if err != nil {
		return MergeTotals{}, err
	}
	table, _ := partition.Table{Name: "raw", Bucket: m.Bucket, Layout: partition.LayoutHive}.Normalize()
	var t MergeTotals
	var p pendingEntries
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return MergeTotals{}, fmt.Errorf("merge %s: %w", m.Bucket, err)
		}
		t.Listed++
		if it.olderThan(from) {
			t.Older++
			continue
		}
		if err := m.object(ctx, table, it.Key, from, &t, &p); err != nil {
			return MergeTotals{}, err
		}
		if len(p.entries) >= mergeFlush {
			if err := m.apply(ctx, &p, &t); err != nil {
				return MergeTotals{}, err
			}
		}
	}
	if err := m.apply(ctx, &p, &t); err != nil {
		return MergeTotals{}, err
	}
	return t, nil
}

// pendingEntries are records read and not yet applied, each with the key
// of its object.
type pendingEntries struct {
	entries []aggregate.Entry
	keys    []string
}

// apply applies the pending entries and counts their outcomes.
func (m *Merge) apply(ctx context.Context, p *pendingEntries, t *MergeTotals) error {
	if len(p.entries) == 0 {
		return nil
	}
	for i, res := range m.P.ApplyAll(ctx, p.entries) {
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
			return fmt.Errorf("merge record %s of s3://%s/%s into %s: %w", p.entries[i].ID, m.Bucket, p.keys[i], m.Table, res.Err)
		}
	}
	p.entries, p.keys = p.entries[:0], p.keys[:0]
	return nil
}

// object reads one listed object not older than the pass's from into p,
// or counts why it does not.
func (m *Merge) object(ctx context.Context, table partition.Table, key string, from time.Time, t *MergeTotals, p *pendingEntries) error {
	counts := rawObjectCounts{skipped: &t.Skipped, badObjects: &t.BadObjects, badKeys: &t.BadKeys}
	head, err := headRawObject(ctx, m.S3, table, m.Bucket, key, counts)
	if err != nil || head == nil {
		return err
	}
	if head.ReplicationStatus == s3types.ReplicationStatusReplica && head.Metadata[MetaCopyback] == "" {
		t.Replicas++ // P's object: P counted its records
		return nil
	}
	// A replica that carries MetaCopyback is B's own object come home: the
	// copy-back wrote it to P, and P's replication rule, which cannot
	// exclude by tag or metadata, replicated it back over B's original.
	// Its records are B's, as the original's were, and it was written when
	// the original was (MetaSourceModified): the second pass does not read
	// again what the first merged, only what B wrote since.
	modified := aws.ToTime(head.LastModified)
	if head.ReplicationStatus == s3types.ReplicationStatusReplica {
		if v, err := time.Parse(time.RFC3339Nano, head.Metadata[MetaSourceModified]); err == nil {
			modified = v
			if (ListedObject{LastModified: v.Unix()}).olderThan(from) {
				t.Older++
				return nil
			}
		}
	}
	recs, ok, err := readRawObject(ctx, m.S3, m.Bucket, key, modified)
	if err != nil {
		return err
	}
	if !ok {
		counts.bad(key)
		return nil
	}
	t.Read++
	t.BadRecords += recs.badRecords
	t.Canaries += recs.canaries
	for _, e := range recs.entries {
		t.Records++
		if e.Origin != "" && e.Origin != m.BackupRegion {
			t.OtherOrigin++ // acknowledged by P (or another region): never re-applied
			continue
		}
		p.entries, p.keys = append(p.entries, e), append(p.keys, key)
	}
	return nil
}
