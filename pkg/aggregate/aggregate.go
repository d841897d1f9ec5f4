// Package aggregate keeps per-minute window aggregates of the record stream
// in DynamoDB, counting every record exactly once.
//
// # Measures
//
// For each minute of event time (record.TS truncated to the minute, in UTC)
// the window summary holds:
//
//   - records:   how many distinct records (by id) fell in the minute;
//   - bytes:     the sum of len(Data), the producer's JSON object as sent;
//   - producers: the set of distinct non-empty producer names (its size is
//     the distinct-producer count).
//
// Canary records are never counted; the consumer only notes, in the
// canary heartbeat item, the newest canary it has got past (heartbeat.go),
// so that the health canary can tell the pipeline's lag.
//
// # Exactly once
//
// Every record leaves a marker item keyed by its id. A record is applied in
// one DynamoDB transaction that puts its marker on condition
// attribute_not_exists(pk) and adds its measures to its window summary; if the
// marker exists the whole transaction is cancelled and the record is dropped
// as already counted. That makes counting idempotent on record id whatever the
// cause of the repeat: Lambda redelivering a batch, a producer resending after
// a lost acknowledgement (possibly with another arrival time, even another
// window), or failback merging the backup region's records into the primary's
// table. The marker's key does not contain the window for that reason.
//
// # Conflicts
//
// A marker keeps its record's content hash (record.ContentHash). A record
// whose marker exists is a repeat when its hash is the marker's (or either
// is unknown), and a conflict when it is another: a different record under
// a counted id. Ingest refuses such a record within a region (its
// idempotency table), but not across regions: B's ingest does not know
// what P accepted. The first writer still wins — the conflicting record is
// not counted — but never silently: ApplyAll reports it as Conflict and
// writes a conflict item for it, which the drill counts and an operator can
// query, and the consumer logs it and emits a metric.
//
// # Schema (table "aggregates", key pk (S) + sk (S))
//
//	record marker   pk "R#<id>"      sk "R"        window (S, "2006-01-02T15:04Z"), bytes (N),
//	                                               producer (S, absent if empty), region (S),
//	                                               origin (S, absent if unknown),
//	                                               at (S, RFC 3339), expires (N, epoch s, TTL),
//	                                               h (S, content hash; absent on markers
//	                                               written before hashes were kept)
//	conflict        pk "X#<id>"      sk "<hash>"   kept (S, the marker's hash), window, bytes,
//	                                               producer, region (of the record not
//	                                               counted), at (S, when it was found), expires
//	window summary  pk "W#<window>"  sk "SUMMARY"  records (N), bytes (N),
//	                                               producers (SS, absent if empty), updated (S)
//	heartbeat       pk "C#heartbeat" sk "C"        received (N, epoch ms), id (S), region (S), at (S)
//	                                               (one item; see heartbeat.go)
//
// region is the region that counted the record (whose table the marker is
// in, or the table a merge copied it from); origin is the region that
// acknowledged it (the record's region, as its ingest wrote it): a record
// the primary acknowledged and the backup region counted again (a failover's
// replay) has origin the primary and region the backup.
//
// Summaries are derived data: never copy one between tables. To count in
// one table what another region counted, Apply the entries again — read
// from the records themselves (failback reads the backup region's raw
// objects) or from markers (MarkerEntry): records the table already counted
// are dropped by their markers, the others are added to its summaries.
//
// A window summary is one item, so DynamoDB's 400 KB item limit bounds the
// producers set: about 20,000 distinct producer names of 20 bytes per minute.
// Concurrent shards updating the same minute meet TransactionConflict and
// retry with jittered backoff.
//
// Markers expire (TTL, default 7 days): the guarantee holds for repeats
// within that time, which must exceed the stream's retention. A marker's
// absence after its TTL says nothing: DynamoDB deletes an expired item
// some time within two days, so nothing may read the markers of another
// region to decide what to count once they may have expired (failback
// reads records, not markers; docs/dr.md "Failback and the markers' TTL").
package aggregate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

// DB is the part of the DynamoDB API an Aggregator uses. *dynamodb.Client and
// the simulator satisfy it.
type DB interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	// PutItem writes conflict items.
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// WindowLayout formats a window's minute in item keys and attributes.
const WindowLayout = "2006-01-02T15:04Z"

// Key values of the schema.
const (
	markerPrefix  = "R#"
	markerSK      = "R"
	summaryPrefix = "W#"
	summarySK     = "SUMMARY"
	// ConflictPrefix begins the pk of a conflict item: a record not
	// counted because its id's marker holds another content hash.
	ConflictPrefix = "X#"
)

// Attributes of markers and conflict items that readers outside the
// package name.
const (
	// AttrHash is a marker's content hash (record.ContentHash) and a
	// conflict item's sort key.
	AttrHash = "h"
	// AttrKept is a conflict item's hash of the record that was counted.
	AttrKept = "kept"
)

// MaxActions is the most actions one TransactWriteItems call accepts.
const MaxActions = 100

// DefaultMarkerTTL is how long markers are kept when Options.MarkerTTL is 0.
const DefaultMarkerTTL = 7 * 24 * time.Hour

// Errors the package reports.
var (
	// ErrNoID reports an entry without a record id: it cannot be counted
	// exactly once, so it is not counted.
	ErrNoID = errors.New("record has no id")
	// ErrLongID reports a record whose id is longer than record.MaxIDBytes:
	// ingest never writes one, and past DynamoDB's key limit it could never
	// be counted.
	ErrLongID = errors.New("record id longer than the limit")
	// ErrNotAttempted marks entries a batch stopped before (see Handler).
	ErrNotAttempted = errors.New("not attempted after an earlier record failed")
	// ErrBadMarker reports an item that is not a record marker.
	ErrBadMarker = errors.New("not a record marker")
)

// Entry is what one record contributes to the aggregates: the content of its
// marker.
type Entry struct {
	// ID is the record id.
	ID string
	// Window is the minute of event time the record counts in (UTC,
	// truncated to the minute).
	Window time.Time
	// Bytes is len(record.Data).
	Bytes int64
	// Producer is the record's producer, "" if unknown.
	Producer string
	// Region is the region that counted the record; "" means the
	// Aggregator's own region.
	Region string
	// Origin is the region that acknowledged the record (record.Region,
	// which ingest sets); "" if unknown.
	Origin string
	// At is when the record was counted; zero means now.
	At time.Time
	// Expires is when the marker expires (its TTL attribute), as
	// MarkerEntry reads it; Apply ignores it and writes now + MarkerTTL.
	Expires time.Time
	// Hash is the record's content hash (record.ContentHash of its Data);
	// "" when unknown (a marker from before hashes were kept), which
	// matches any.
	Hash string
}

// EntryOf returns the entry of rec. Its window comes from rec.TS, or from
// rec.Received when TS is zero.
func EntryOf(rec record.Record) Entry {
	ts := rec.TS
	if ts.IsZero() {
		ts = rec.Received
	}
	return Entry{ID: rec.ID, Window: ts.UTC().Truncate(time.Minute), Bytes: int64(len(rec.Data)), Producer: rec.Producer, Origin: rec.Region,
		Hash: record.ContentHash(rec.Data)}
}

// Outcome is what applying an entry did.
type Outcome int

// The outcomes of applying an entry.
const (
	// Counted: the entry was added to its window now.
	Counted Outcome = iota
	// Duplicate: its marker existed (counted before, here or by a merge),
	// or the same id came earlier in the same call; nothing was added.
	Duplicate
	// Failed: not applied; Result.Err says why. Applying it again is safe.
	Failed
	// Conflict: its id was counted with other content (the marker's hash,
	// or that of the same id earlier in the same call, is another); nothing
	// was added, and a conflict item records it (Result.Kept is the
	// counted content's hash).
	Conflict
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Counted:
		return "counted"
	case Duplicate:
		return "duplicate"
	case Conflict:
		return "conflict"
	}
	return "failed"
}

// Result is the outcome of one entry.
type Result struct {
	Outcome Outcome
	// Err is set when Outcome is Failed.
	Err error
	// Kept is the content hash of the record counted under the id: always
	// set for a Conflict; for a Duplicate, when its marker has one.
	Kept string
}

// Options configure an Aggregator. Zero values take the defaults.
type Options struct {
	// Table is the aggregates table name. Required.
	Table string
	// Region is the region this Aggregator runs in, written to markers.
	Region string
	// MarkerTTL is how long a marker is kept (DefaultMarkerTTL).
	MarkerTTL time.Duration
	// Clock is the time source for timestamps and backoff (clock.Real).
	Clock clock.Clock
	// MaxAttempts bounds the tries of one transaction that keeps meeting
	// throttling or conflicts (8).
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the jittered exponential backoff
	// between such tries (20 ms, 1 s).
	BaseBackoff, MaxBackoff time.Duration
	// MaxActions caps the actions per transaction (MaxActions). Records of a
	// window share one summary update, so a transaction holds up to
	// MaxActions-1 records.
	MaxActions int
}

// Aggregator applies entries to the aggregates table. It is safe for
// concurrent use.
type Aggregator struct {
	db  DB
	opt Options
}

// New returns an Aggregator writing through db.
func New(db DB, opt Options) *Aggregator {
	if opt.MarkerTTL <= 0 {
		opt.MarkerTTL = DefaultMarkerTTL
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.BaseBackoff <= 0 {
		opt.BaseBackoff = 20 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = time.Second
	}
	if opt.MaxActions <= 1 || opt.MaxActions > MaxActions {
		opt.MaxActions = MaxActions
	}
	return &Aggregator{db: db, opt: opt}
}

// Apply counts e exactly once: it reports true if e was added to its window
// now and false if its record was already counted.
func (a *Aggregator) Apply(ctx context.Context, e Entry) (counted bool, err error) {
	r := a.ApplyAll(ctx, []Entry{e})[0]
	return r.Outcome == Counted, r.Err
}

// ApplyAll applies every entry exactly once, batching them into as few
// transactions as the action limit allows, and returns one Result per entry
// in order. An entry whose id repeats an earlier one in es is a Duplicate
// (or Failed with it). It keeps going past failures, so a merge can retry
// just the failed entries.
func (a *Aggregator) ApplyAll(ctx context.Context, es []Entry) []Result {
	return a.applyAll(ctx, es, false)
}

// applyAll is ApplyAll; with stopOnFailure it attempts no transaction after
// one that left an entry Failed (later entries get ErrNotAttempted), except
// Failed with an error of kind fault.Invalid: retrying cannot clear that, so
// the Handler skips such an entry and goes on.
func (a *Aggregator) applyAll(ctx context.Context, es []Entry, stopOnFailure bool) []Result {
	res := make([]Result, len(es))
	first := make(map[string]int, len(es))
	dupOf := make(map[int]int)
	var chunk []int
	windows := make(map[time.Time]bool)
	stopped := false
	flush := func() {
		if len(chunk) == 0 {
			return
		}
		if stopped {
			for _, i := range chunk {
				res[i] = Result{Outcome: Failed, Err: ErrNotAttempted}
			}
		} else {
			a.applyChunk(ctx, es, chunk, res)
			if stopOnFailure {
				for _, i := range chunk {
					stopped = stopped || res[i].Outcome == Failed && fault.Classify(res[i].Err) != fault.Invalid
				}
			}
		}
		chunk = chunk[:0]
		clear(windows)
	}
	for i, e := range es {
		if e.ID == "" {
			res[i] = Result{Outcome: Failed, Err: fault.InvalidErr(ErrNoID)}
			continue
		}
		if j, dup := first[e.ID]; dup {
			dupOf[i] = j
			continue
		}
		first[e.ID] = i
		w := e.Window.UTC().Truncate(time.Minute)
		need := len(chunk) + 1 + len(windows)
		if !windows[w] {
			need++
		}
		if need > a.opt.MaxActions {
			flush()
		}
		chunk = append(chunk, i)
		windows[w] = true
	}
	flush()
	for i, j := range dupOf {
		// What the id holds: the first's content if it was counted now,
		// else its marker's.
		kept := res[j].Kept
		if res[j].Outcome == Counted {
			kept = es[j].Hash
		}
		switch {
		case res[j].Outcome == Failed:
			res[i] = res[j]
		case differ(es[i].Hash, kept):
			res[i] = Result{Outcome: Conflict, Kept: kept}
		default:
			res[i] = Result{Outcome: Duplicate, Kept: kept}
		}
	}
	a.recordConflicts(ctx, es, res)
	return res
}

// differ reports whether two content hashes are both known and different.
func differ(a, b string) bool { return a != "" && b != "" && a != b }

// recordConflicts writes a conflict item for each Conflict of res; one
// that cannot be written makes its entry Failed, so that a retry finds the
// conflict again and records it.
func (a *Aggregator) recordConflicts(ctx context.Context, es []Entry, res []Result) {
	now := a.opt.Clock.Now().UTC()
	for i, r := range res {
		if r.Outcome != Conflict {
			continue
		}
		e := es[i]
		region := e.Region
		if region == "" {
			region = a.opt.Region
		}
		item := map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: ConflictPrefix + e.ID},
			"sk":      &types.AttributeValueMemberS{Value: e.Hash},
			AttrKept:  &types.AttributeValueMemberS{Value: r.Kept},
			"window":  &types.AttributeValueMemberS{Value: e.Window.UTC().Truncate(time.Minute).Format(WindowLayout)},
			"bytes":   &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Bytes, 10)},
			"region":  &types.AttributeValueMemberS{Value: region},
			"at":      &types.AttributeValueMemberS{Value: now.Format(time.RFC3339)},
			"expires": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(a.opt.MarkerTTL).Unix(), 10)},
		}
		if e.Producer != "" {
			item["producer"] = &types.AttributeValueMemberS{Value: e.Producer}
		}
		if _, err := a.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(a.opt.Table), Item: item}); err != nil {
			res[i] = Result{Outcome: Failed, Err: fmt.Errorf("record the conflict of record %s in %s: %w", e.ID, a.opt.Table, err)}
		}
	}
}

// retryableReasons are the cancellation reason codes that a later attempt
// can clear: another transaction touched the same window, or capacity ran
// short.
var retryableReasons = map[string]bool{
	"TransactionConflict":           true,
	"ThrottlingError":               true,
	"ProvisionedThroughputExceeded": true,
	"RequestLimitExceeded":          true,
}

// action says which entries one transaction action stands for.
type action struct {
	marker  bool
	entries []int
}

// applyChunk applies the entries es[idx...] (distinct ids, at most
// MaxActions actions) in one transaction, dropping entries already counted
// and retrying throttled or conflicting transactions with backoff. A
// transaction rejected as invalid is split until the invalid entries are
// alone, so they fail (kind fault.Invalid) and the others are applied.
func (a *Aggregator) applyChunk(ctx context.Context, es []Entry, idx []int, res []Result) {
	live := append([]int(nil), idx...)
	attempt := 0
	for len(live) > 0 {
		if err := ctx.Err(); err != nil {
			a.fail(res, live, fmt.Errorf("apply %d records: %w", len(live), err))
			return
		}
		in, acts := a.transaction(es, live)
		_, err := a.db.TransactWriteItems(ctx, in)
		if err == nil {
			for _, i := range live {
				res[i] = Result{Outcome: Counted}
			}
			return
		}
		var tce *types.TransactionCanceledException
		retry := false
		if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 {
			drop := make(map[int]bool)
			for k, r := range tce.CancellationReasons {
				if k >= len(acts) {
					break
				}
				code := aws.ToString(r.Code)
				switch {
				case code == "" || code == "None":
				case code == "ConditionalCheckFailed" && acts[k].marker:
					// Already counted: drop the record, keep the others. The
					// marker (ALL_OLD) says whether it is this record again
					// or another one under its id.
					i := acts[k].entries[0]
					held := ""
					if h, ok := r.Item[AttrHash].(*types.AttributeValueMemberS); ok {
						held = h.Value
					}
					if differ(es[i].Hash, held) {
						res[i] = Result{Outcome: Conflict, Kept: held}
					} else {
						res[i] = Result{Outcome: Duplicate, Kept: held}
					}
					drop[i] = true
				case retryableReasons[code]:
					retry = true
				default:
					perr := fault.Edge(fmt.Errorf("apply records to %s: transaction action %d: %s: %s", a.opt.Table, k, code, aws.ToString(r.Message)))
					for _, i := range acts[k].entries {
						res[i] = Result{Outcome: Failed, Err: perr}
						drop[i] = true
					}
				}
			}
			if len(drop) > 0 {
				kept := live[:0]
				for _, i := range live {
					if !drop[i] {
						kept = append(kept, i)
					}
				}
				live = kept
				if !retry {
					continue // the rest was never the problem: try it at once
				}
			} else if !retry {
				retry = true // cancelled for no reason we know: treat as transient
			}
		} else if fault.Classify(err) == fault.Transient {
			retry = true
		}
		if !retry {
			if len(live) > 1 && fault.Classify(err) == fault.Invalid {
				// DynamoDB rejects the whole call for one invalid item (such
				// as a key over its size limit): apply the halves apart, so
				// only the entries at fault fail.
				half := len(live) / 2
				a.applyChunk(ctx, es, live[:half], res)
				a.applyChunk(ctx, es, live[half:], res)
				return
			}
			a.fail(res, live, fmt.Errorf("apply %d records to %s: %w", len(live), a.opt.Table, err))
			return
		}
		attempt++
		if attempt >= a.opt.MaxAttempts {
			a.fail(res, live, fault.TransientErr(fmt.Errorf("apply %d records to %s: gave up after %d attempts: %w", len(live), a.opt.Table, attempt, err)))
			return
		}
		if err := a.opt.Clock.Sleep(ctx, a.backoff(attempt)); err != nil {
			a.fail(res, live, fmt.Errorf("apply %d records: %w", len(live), err))
			return
		}
	}
}

func (a *Aggregator) fail(res []Result, idx []int, err error) {
	for _, i := range idx {
		res[i] = Result{Outcome: Failed, Err: err}
	}
}

// backoff returns the wait before try attempt+1: full jitter over an
// exponentially growing cap, so conflicting writers of a hot window spread out.
func (a *Aggregator) backoff(attempt int) time.Duration {
	d := a.opt.BaseBackoff << min(attempt-1, 16)
	if d <= 0 || d > a.opt.MaxBackoff {
		d = a.opt.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// transaction builds the TransactWriteItems input for the live entries: a
// conditional marker Put per entry, then one summary Update per window.
func (a *Aggregator) transaction(es []Entry, live []int) (*dynamodb.TransactWriteItemsInput, []action) {
	now := a.opt.Clock.Now().UTC()
	type sum struct {
		w         time.Time
		records   int64
		bytes     int64
		producers map[string]bool
		entries   []int
	}
	var order []*sum
	sums := make(map[time.Time]*sum)
	items := make([]types.TransactWriteItem, 0, len(live)+1)
	acts := make([]action, 0, len(live)+1)
	for _, i := range live {
		e := es[i]
		w := e.Window.UTC().Truncate(time.Minute)
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName:           aws.String(a.opt.Table),
			Item:                a.markerItem(e, w, now),
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
			// A marker already there comes back with its hash.
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
		acts = append(acts, action{marker: true, entries: []int{i}})
		s := sums[w]
		if s == nil {
			s = &sum{w: w, producers: make(map[string]bool)}
			sums[w] = s
			order = append(order, s)
		}
		s.records++
		s.bytes += e.Bytes
		if e.Producer != "" {
			s.producers[e.Producer] = true
		}
		s.entries = append(s.entries, i)
	}
	for _, s := range order {
		vals := map[string]types.AttributeValue{
			":n": &types.AttributeValueMemberN{Value: strconv.FormatInt(s.records, 10)},
			":b": &types.AttributeValueMemberN{Value: strconv.FormatInt(s.bytes, 10)},
			":u": &types.AttributeValueMemberS{Value: now.Format(time.RFC3339)},
		}
		names := map[string]string{"#r": "records", "#b": "bytes", "#u": "updated"}
		expr := "ADD #r :n, #b :b"
		if len(s.producers) > 0 {
			ps := make([]string, 0, len(s.producers))
			for p := range s.producers {
				ps = append(ps, p)
			}
			sort.Strings(ps)
			vals[":p"] = &types.AttributeValueMemberSS{Value: ps}
			names["#p"] = "producers"
			expr += ", #p :p"
		}
		expr += " SET #u = :u"
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(a.opt.Table),
			Key:                       summaryKey(s.w),
			UpdateExpression:          aws.String(expr),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: vals,
		}})
		acts = append(acts, action{entries: s.entries})
	}
	return &dynamodb.TransactWriteItemsInput{TransactItems: items}, acts
}

// markerAttrs is how many attributes a marker has at most.
const markerAttrs = 10

// markerItem returns the marker item of e.
func (a *Aggregator) markerItem(e Entry, w, now time.Time) map[string]types.AttributeValue {
	region, at := e.Region, e.At
	if region == "" {
		region = a.opt.Region
	}
	if at.IsZero() {
		at = now
	}
	// Sized for all ten attributes: a map literal of the seven always
	// there grows once more for the optional three, and a merge makes a
	// million of these.
	item := make(map[string]types.AttributeValue, markerAttrs)
	item["pk"] = &types.AttributeValueMemberS{Value: markerPrefix + e.ID}
	item["sk"] = &types.AttributeValueMemberS{Value: markerSK}
	item["window"] = &types.AttributeValueMemberS{Value: w.Format(WindowLayout)}
	item["bytes"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Bytes, 10)}
	item["region"] = &types.AttributeValueMemberS{Value: region}
	item["at"] = &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339)}
	item["expires"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(a.opt.MarkerTTL).Unix(), 10)}
	if e.Producer != "" {
		item["producer"] = &types.AttributeValueMemberS{Value: e.Producer}
	}
	if e.Origin != "" {
		item["origin"] = &types.AttributeValueMemberS{Value: e.Origin}
	}
	if e.Hash != "" {
		item[AttrHash] = &types.AttributeValueMemberS{Value: e.Hash}
	}
	return item
}

func summaryKey(w time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: summaryPrefix + w.UTC().Format(WindowLayout)},
		"sk": &types.AttributeValueMemberS{Value: summarySK},
	}
}

// MarkerKey returns the key of the marker of record id, for reading or
// scanning markers (a merge selects items whose pk begins with "R#").
func MarkerKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: markerPrefix + id},
		"sk": &types.AttributeValueMemberS{Value: markerSK},
	}
}

// MarkerProjection is a ProjectionExpression (with its attribute names)
// that reads of a marker what MarkerEntry needs for an entry's id, window,
// bytes, producer, time and expiry: a reader that needs no more (a
// verification scanning millions) reads that alone; the entry then has
// no regions and no content hash.
const MarkerProjection = "pk, sk, #window, #bytes, #producer, #at, #expires"

// MarkerProjectionNames are MarkerProjection's ExpressionAttributeNames.
func MarkerProjectionNames() map[string]string {
	return map[string]string{"#window": "window", "#bytes": "bytes", "#producer": "producer", "#at": "at", "#expires": "expires"}
}

// MarkerEntry returns the entry a marker item records, with its region,
// origin, time and expiry.
func MarkerEntry(item map[string]types.AttributeValue) (Entry, error) {
	str := func(name string) (string, bool) {
		v, ok := item[name].(*types.AttributeValueMemberS)
		if !ok {
			return "", false
		}
		return v.Value, true
	}
	pk, _ := str("pk")
	sk, _ := str("sk")
	if len(pk) <= len(markerPrefix) || pk[:len(markerPrefix)] != markerPrefix || sk != markerSK {
		return Entry{}, fault.InvalidErr(fmt.Errorf("item pk %q sk %q: %w", pk, sk, ErrBadMarker))
	}
	e := Entry{ID: pk[len(markerPrefix):]}
	ws, ok := str("window")
	w, err := time.Parse(WindowLayout, ws)
	if !ok || err != nil {
		return Entry{}, fault.InvalidErr(fmt.Errorf("marker %s: window %q: %w", e.ID, ws, ErrBadMarker))
	}
	e.Window = w
	b, ok := item["bytes"].(*types.AttributeValueMemberN)
	if !ok {
		return Entry{}, fault.InvalidErr(fmt.Errorf("marker %s: bytes missing: %w", e.ID, ErrBadMarker))
	}
	if e.Bytes, err = strconv.ParseInt(b.Value, 10, 64); err != nil {
		return Entry{}, fault.InvalidErr(fmt.Errorf("marker %s: bytes %q: %w", e.ID, b.Value, ErrBadMarker))
	}
	e.Producer, _ = str("producer")
	e.Region, _ = str("region")
	e.Origin, _ = str("origin")
	e.Hash, _ = str(AttrHash)
	if at, ok := str("at"); ok {
		if e.At, err = time.Parse(time.RFC3339, at); err != nil {
			return Entry{}, fault.InvalidErr(fmt.Errorf("marker %s: at %q: %w", e.ID, at, ErrBadMarker))
		}
	}
	if x, ok := item["expires"].(*types.AttributeValueMemberN); ok {
		sec, err := strconv.ParseInt(x.Value, 10, 64)
		if err != nil {
			return Entry{}, fault.InvalidErr(fmt.Errorf("marker %s: expires %q: %w", e.ID, x.Value, ErrBadMarker))
		}
		e.Expires = time.Unix(sec, 0).UTC()
	}
	return e, nil
}

// Totals are a window's aggregates.
type Totals struct {
	// Window is the minute.
	Window time.Time
	// Records is the number of distinct records counted.
	Records int64
	// Bytes is the sum of their data sizes.
	Bytes int64
	// Producers are the distinct producers, sorted.
	Producers []string
	// Updated is when the window last changed; zero if never.
	Updated time.Time
}

// Totals reads window's aggregates with a strongly consistent read. A
// window nothing was counted in has zero totals.
func (a *Aggregator) Totals(ctx context.Context, window time.Time) (Totals, error) {
	w := window.UTC().Truncate(time.Minute)
	out, err := a.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(a.opt.Table), Key: summaryKey(w), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Totals{}, fmt.Errorf("read window %s: %w", w.Format(WindowLayout), err)
	}
	t := Totals{Window: w}
	if out.Item == nil {
		return t, nil
	}
	num := func(name string) (int64, error) {
		v, ok := out.Item[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0, nil
		}
		return strconv.ParseInt(v.Value, 10, 64)
	}
	if t.Records, err = num("records"); err != nil {
		return Totals{}, fmt.Errorf("read window %s: records: %w", w.Format(WindowLayout), err)
	}
	if t.Bytes, err = num("bytes"); err != nil {
		return Totals{}, fmt.Errorf("read window %s: bytes: %w", w.Format(WindowLayout), err)
	}
	if ps, ok := out.Item["producers"].(*types.AttributeValueMemberSS); ok {
		t.Producers = append([]string(nil), ps.Value...)
		sort.Strings(t.Producers)
	}
	if u, ok := out.Item["updated"].(*types.AttributeValueMemberS); ok {
		t.Updated, _ = time.Parse(time.RFC3339, u.Value)
	}
	return t, nil
}

// Marker reports whether record id has been counted, and its entry if so,
// with a strongly consistent read of its marker (the drill's accounting).
func (a *Aggregator) Marker(ctx context.Context, id string) (Entry, bool, error) {
	out, err := a.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(a.opt.Table), Key: MarkerKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Entry{}, false, fmt.Errorf("read marker %s: %w", id, err)
	}
	if out.Item == nil {
		return Entry{}, false, nil
	}
	e, err := MarkerEntry(out.Item)
	return e, err == nil, err
}

// TotalsBetween sums the windows from from up to, not including, to (both
// truncated to the minute): one strongly consistent read per minute. The
// drill's accounting compares its Records with the number of distinct ids
// the producers had acknowledged. Window is from; Updated is the latest.
func (a *Aggregator) TotalsBetween(ctx context.Context, from, to time.Time) (Totals, error) {
	from, to = from.UTC().Truncate(time.Minute), to.UTC().Truncate(time.Minute)
	sum := Totals{Window: from}
	producers := make(map[string]bool)
	for w := from; w.Before(to); w = w.Add(time.Minute) {
		t, err := a.Totals(ctx, w)
		if err != nil {
			return Totals{}, err
		}
		sum.Records += t.Records
		sum.Bytes += t.Bytes
		for _, p := range t.Producers {
			producers[p] = true
		}
		if t.Updated.After(sum.Updated) {
			sum.Updated = t.Updated
		}
	}
	for p := range producers {
		sum.Producers = append(sum.Producers, p)
	}
	sort.Strings(sum.Producers)
	return sum, nil
}
