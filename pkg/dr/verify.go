package dr

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/partition"
)

// VerifyInput is dr-verify's input: the drill table and the drill's state
// (restoreError when the restore failed, restore.restoreDateTime when it
// worked).
type VerifyInput struct {
	DrillTable string          `json:"drillTable"`
	State      json.RawMessage `json:"state"`
	Execution  string          `json:"execution"`
}

// Check is one drill check.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// VerifyOutput lists the checks; Passed when all passed.
type VerifyOutput struct {
	Checks []Check `json:"checks"`
	Passed bool    `json:"passed"`
}

// ReplicationBound is the age after which a P object must have its replica
// in B: S3 Replication Time Control's SLA, 99.99% within 15 minutes.
const ReplicationBound = 15 * time.Minute

// verifySample is how many restored markers are compared with P's.
const verifySample = 20

// Verify is the dr-verify step of the isolated drill. It checks that the
// restored drill table matches P's table as of the restore time (marker
// counts and a sample of markers), that every P object older than
// ReplicationBound has its replica in B, and that B's catalog lists every
// partition in B's buckets. It changes nothing.
type Verify struct {
	DrillDB   Scanner      // B's DynamoDB
	PrimaryDB MarkerReader // P's DynamoDB
	PrimaryS3 ObjectLister // P's S3
	BackupS3  ObjectLister // B's S3
	Catalog   CatalogAPI   // B's Glue
	Config    Config
	Clock     clock.Clock
	// RecoveryPoint, when set, is one more check: that the newest backup
	// copy in B's vault is recent enough, the restore source a failover
	// falls back to. The wiring sets the readiness function's own check
	// (pkg/readiness RecoveryPoint), so the drill and readiness judge it
	// alike.
	RecoveryPoint func(ctx context.Context) Check
}

// Scanner reads an aggregates table's items.
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// MarkerReader reads P's aggregates table.
type MarkerReader interface {
	Scanner
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

type drillState struct {
	RestoreError json.RawMessage `json:"restoreError"`
	Restore      struct {
		RestoreDateTime json.RawMessage `json:"restoreDateTime"`
	} `json:"restore"`
}

// Handle runs the checks. Errors reading a service are returned (the state
// machine retries them); a check that finds a problem fails, with detail.
func (v *Verify) Handle(ctx context.Context, in VerifyInput) (VerifyOutput, error) {
	if in.DrillTable == "" {
		return VerifyOutput{}, invalidf("drillTable is required")
	}
	var st drillState
	if len(in.State) > 0 {
		if err := json.Unmarshal(in.State, &st); err != nil {
			return VerifyOutput{}, invalidf("state: %v", err)
		}
	}
	var checks []Check
	if len(st.RestoreError) > 0 && string(st.RestoreError) != "null" {
		checks = append(checks, Check{Name: "restore", Passed: false, Detail: "restore failed: " + errorText(st.RestoreError)})
	} else {
		checks = append(checks, Check{Name: "restore", Passed: true, Detail: "drill table " + in.DrillTable + " restored"})
		c, err := v.markers(ctx, in.DrillTable, restoreTime(st.Restore.RestoreDateTime))
		if err != nil {
			return VerifyOutput{}, err
		}
		checks = append(checks, c)
	}
	c, err := v.replication(ctx)
	if err != nil {
		return VerifyOutput{}, err
	}
	checks = append(checks, c)
	if c, err = v.catalog(ctx); err != nil {
		return VerifyOutput{}, err
	}
	checks = append(checks, c)
	if v.RecoveryPoint != nil {
		checks = append(checks, v.RecoveryPoint(ctx))
	}
	out := VerifyOutput{Checks: checks, Passed: true}
	for _, c := range checks {
		out.Passed = out.Passed && c.Passed
	}
	return out, nil
}

// restoreTime reads the restore's time as Step Functions renders it (an
// RFC 3339 string, or epoch seconds); zero when absent.
func restoreTime(raw json.RawMessage) time.Time {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil && f > 0 {
		return time.Unix(0, int64(f*1e9)).UTC()
	}
	return time.Time{}
}

// verifyScanSegments is how many segments of a parallel scan (Scan's
// Segment and TotalSegments) read a table's markers at once: a table of
// millions is read in a fraction of the time one cursor takes.
const verifyScanSegments = 4

// scanMarkers calls each for every record marker of table, a page at a
// time (a table of millions is never held), read by
// verifyScanSegments parallel scans; each is called by one of them at a
// time, in no particular order. An entry carries what the verification
// compares (aggregate.MarkerProjection): its id, window, bytes, producer,
// time and expiry, not its regions or content hash.
func scanMarkers(ctx context.Context, clk clock.Clock, db Scanner, table string, each func(aggregate.Entry)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var first error
	err := clock.GoEach(clk, verifyScanSegments, func(seg int) error {
		err := scanSegment(ctx, db, table, seg, func(e aggregate.Entry) {
			mu.Lock()
			each(e)
			mu.Unlock()
		})
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
				cancel() // the other segments stop
			}
			mu.Unlock()
		}
		return err
	})
	if first != nil {
		return first // not the others' cancellations
	}
	return err
}

// scanSegment reads segment seg of verifyScanSegments of table's markers.
func scanSegment(ctx context.Context, db Scanner, table string, seg int, each func(aggregate.Entry)) error {
	var start map[string]ddbtypes.AttributeValue
	for {
		page, err := db.Scan(ctx, &dynamodb.ScanInput{
			TableName: aws.String(table), ExclusiveStartKey: start,
			Segment: aws.Int32(int32(seg)), TotalSegments: aws.Int32(verifyScanSegments),
			FilterExpression:          aws.String("begins_with(pk, :marker)"),
			ProjectionExpression:      aws.String(aggregate.MarkerProjection),
			ExpressionAttributeNames:  aggregate.MarkerProjectionNames(),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":marker": &ddbtypes.AttributeValueMemberS{Value: "R#"}},
		})
		if err != nil {
			return fmt.Errorf("scan %s: %w", table, err)
		}
		for _, item := range page.Items {
			e, err := aggregate.MarkerEntry(item)
			if err != nil {
				return fmt.Errorf("scan %s: %w", table, err)
			}
			each(e)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		start = page.LastEvaluatedKey
	}
}

// markerHash is the 64-bit FNV-1a hash of a marker's record id: the drill
// table's markers are known by their hashes (8 bytes each), so a table of
// millions is compared with P's in a few megabytes; a collision (odds of
// about n²/2⁶⁵) could only hide a missing marker, never report one falsely.
func markerHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// markers compares the drill table with P's: P's markers counted up to
// the restore time must all be in the drill table, and a sample of the
// drill table's markers must be identical in P: all of them while there are
// fewer than twice verifySample, else the verifySample of smallest hash
// (a deterministic sample, spread like the ids' hashes).
func (v *Verify) markers(ctx context.Context, drill string, at time.Time) (Check, error) {
	var hashes []uint64
	var restored []aggregate.Entry // the sample
	total := 0
	if err := scanMarkers(ctx, v.Clock, v.DrillDB, drill, func(e aggregate.Entry) {
		total++
		h := markerHash(e.ID)
		hashes = append(hashes, h)
		restored = append(restored, e)
		if len(restored) > 2*verifySample {
			sort.Slice(restored, func(i, j int) bool { return markerHash(restored[i].ID) < markerHash(restored[j].ID) })
			restored = restored[:verifySample]
		}
	}); err != nil {
		return Check{}, err
	}
	if total >= 2*verifySample && len(restored) > verifySample {
		sort.Slice(restored, func(i, j int) bool { return markerHash(restored[i].ID) < markerHash(restored[j].ID) })
		restored = restored[:verifySample]
	}
	slices.Sort(hashes)
	var expected, missing int
	var missingIDs []string
	if err := scanMarkers(ctx, v.Clock, v.PrimaryDB, v.Config.AggregatesTable, func(e aggregate.Entry) {
		if !at.IsZero() && e.At.After(at) {
			return
		}
		expected++
		if _, ok := slices.BinarySearch(hashes, markerHash(e.ID)); !ok {
			missing++
			// The first five ids in order, whichever segment read them.
			if i, _ := slices.BinarySearch(missingIDs, e.ID); i < 5 {
				missingIDs = slices.Insert(missingIDs, i, e.ID)[:min(len(missingIDs)+1, 5)]
			}
		}
	}); err != nil {
		return Check{}, err
	}
	sort.Slice(restored, func(i, j int) bool { return restored[i].ID < restored[j].ID })
	var differ []string
	expired := 0
	now := v.Clock.Now()
	for _, e := range restored {
		got, err := v.PrimaryDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(v.Config.AggregatesTable), Key: aggregate.MarkerKey(e.ID), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return Check{}, fmt.Errorf("read marker %s in the primary: %w", e.ID, err)
		}
		if got.Item == nil && !e.Expires.IsZero() && e.Expires.Before(now) {
			// Expired: P's TTL may have deleted it since the restore
			// point (the drill table, a restore, has TTL off).
			expired++
			continue
		}
		p, err := aggregate.MarkerEntry(got.Item)
		if err != nil || !p.Window.Equal(e.Window) || p.Bytes != e.Bytes || p.Producer != e.Producer {
			differ = append(differ, e.ID)
		}
	}
	detail := fmt.Sprintf("%d markers restored; %d of P's %d markers counted by %s are missing; %d sampled, %d differ",
		total, missing, expected, restoreLabel(at), len(restored), len(differ))
	if expired > 0 {
		detail += fmt.Sprintf(", %d expired and gone from P (TTL)", expired)
	}
	if len(missingIDs) > 0 {
		detail += "; missing e.g. " + strings.Join(missingIDs, ", ")
	}
	if len(differ) > 0 {
		detail += "; differing: " + strings.Join(differ, ", ")
	}
	return Check{Name: "markers", Passed: missing == 0 && len(differ) == 0, Detail: detail}, nil
}

func restoreLabel(at time.Time) string {
	if at.IsZero() {
		return "now"
	}
	return at.UTC().Format(time.RFC3339)
}

// listAll lists a bucket's keys with their ETags and times.
func listAll(ctx context.Context, c ObjectLister, bucket string, fn func(key, etag string, modified time.Time)) error {
	var token *string
	for {
		page, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), ContinuationToken: token})
		if err != nil {
			return fmt.Errorf("list %s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			fn(aws.ToString(o.Key), aws.ToString(o.ETag), aws.ToTime(o.LastModified))
		}
		if !aws.ToBool(page.IsTruncated) {
			return nil
		}
		token = page.NextContinuationToken
	}
}

// replication checks that every P object older than ReplicationBound is
// in B with the same ETag.
func (v *Verify) replication(ctx context.Context) (Check, error) {
	cutoff := v.Clock.Now().Add(-ReplicationBound)
	var checked, missing int
	var examples []string
	for _, pair := range []BucketPair{{v.Config.PrimaryRawBucket, v.Config.BackupRawBucket}, {v.Config.PrimaryCuratedBucket, v.Config.BackupCuratedBucket}} {
		inB := map[string]string{}
		if err := listAll(ctx, v.BackupS3, pair.To, func(k, etag string, _ time.Time) { inB[k] = etag }); err != nil {
			return Check{}, err
		}
		err := listAll(ctx, v.PrimaryS3, pair.From, func(k, etag string, mod time.Time) {
			if !mod.Before(cutoff) {
				return
			}
			checked++
			if inB[k] != etag {
				missing++
				if len(examples) < 5 {
					examples = append(examples, pair.From+"/"+k)
				}
			}
		})
		if err != nil {
			return Check{}, err
		}
	}
	detail := fmt.Sprintf("%d primary objects older than %s checked, %d without a replica in the backup region", checked, ReplicationBound, missing)
	if len(examples) > 0 {
		detail += ", e.g. " + strings.Join(examples, ", ")
	}
	return Check{Name: "replication", Passed: missing == 0, Detail: detail}, nil
}

// catalog checks that B's catalog has every partition in B's buckets.
func (v *Verify) catalog(ctx context.Context) (Check, error) {
	var total, missing int
	var examples []string
	for _, t := range []partition.Table{{Name: "raw", Bucket: v.Config.BackupRawBucket, Layout: partition.LayoutHive}, {Name: "curated", Bucket: v.Config.BackupCuratedBucket, Layout: partition.LayoutHive}} {
		t, _ = t.Normalize()
		keys, err := dataKeys(ctx, v.BackupS3, t.Bucket)
		if err != nil {
			return Check{}, err
		}
		var ps []partition.Partition
		for _, k := range keys {
			if p, ok, err := partition.ParseKey(t, k); err == nil && ok {
				ps = append(ps, p)
			}
		}
		miss, err := partition.Missing(ctx, v.Catalog, v.Config.GlueDatabase, t, ps)
		if err != nil {
			return Check{}, fmt.Errorf("read %s.%s partitions: %w", v.Config.GlueDatabase, t.Name, err)
		}
		seen := map[partition.Partition]bool{}
		for _, p := range ps {
			seen[p] = true
		}
		total += len(seen)
		missing += len(miss)
		for _, p := range miss {
			if len(examples) < 5 {
				examples = append(examples, t.Name+"/"+p.String())
			}
		}
	}
	detail := strconv.Itoa(total) + " partitions in the backup region's buckets, " + strconv.Itoa(missing) + " missing from its catalog"
	if len(examples) > 0 {
		detail += ", e.g. " + strings.Join(examples, ", ")
	}
	return Check{Name: "catalog", Passed: missing == 0, Detail: detail}, nil
}
