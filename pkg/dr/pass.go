package dr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// A failback pass (copy-back or merge, pass 1 or 2) runs on a Distributed
// Map (statemachines/failback.asl.json, docs/dr.md "failback, step by
// step"). Its step Lambda has three operations, by the input's "op":
//
//   - plan: the listings the pass reads — the hour folders of B's raw bucket
//     from the pass's start, as the fewest key prefixes (ListingPrefixes)
//     that hold any object, and B's whole curated bucket for the copy-back —
//     the batch settings, where the Map Run writes its results, and the
//     totals so far. A re-run of pass 1 of the same failover (the same
//     since) skips the listings an earlier run finished (their done
//     markers) and starts from their totals.
//   - batch: one child workflow execution's batch of listed objects
//     ({"items":[{"Key","LastModified"}…], "batch":{pass, from, bucket}}),
//     returning the batch's totals.
//   - sum: after the Map Run of the first pending listing, the totals of its
//     children read from the ResultWriter's manifest and result files, added
//     to the pass's; the listing is then done (its marker written) and
//     removed from the pending ones.
//
// The state machine loops plan → (Map Run → sum)* until nothing is pending.
// Every batch is idempotent (a copy P already holds is skipped, a merged
// record is Already), so a child the Map's retries run twice, a listing a
// re-run redoes, or a failed Map Run's redrive change nothing twice.

// The environment of the failback pass steps (dr-copyback, dr-merge),
// besides the common DR environment; infra sets them from cdk.json.
const (
	// EnvFailbackBucket names the variable holding the bucket in B the
	// Distributed Maps write their results to and the done markers live in.
	EnvFailbackBucket = "FAILBACK_BUCKET"
	// EnvFailbackBatchItems names the variable holding MaxItemsPerBatch:
	// the objects one child workflow execution copies or merges.
	EnvFailbackBatchItems = "FAILBACK_BATCH_ITEMS"
	// EnvFailbackMaxConcurrency names the variable holding the Map Runs'
	// MaxConcurrency: child executions at once, each one Lambda invocation
	// of dr-copyback or dr-merge — the Lambda concurrency failback needs.
	EnvFailbackMaxConcurrency = "FAILBACK_MAX_CONCURRENCY"
)

// The ranges of the failback settings (cdk.json pendulum:failbackBatchItems
// and pendulum:failbackMaxConcurrency, which infra validates with these).
const (
	// MinFailbackBatchItems..MaxFailbackBatchItems: a batch is at most what
	// one Lambda invocation handles well within its 15 minutes (a merge
	// of 1,000 objects of ten records takes some 80 s of modelled calls);
	// the state machine's MaxInputBytesPerBatch keeps every child's input
	// within the 256 KiB payload limit whatever the keys' length.
	MinFailbackBatchItems = 1
	MaxFailbackBatchItems = 1000
	// MinFailbackMaxConcurrency..MaxFailbackMaxConcurrency: up to the
	// 10,000 child executions a Map Run runs at once.
	MinFailbackMaxConcurrency = 1
	MaxFailbackMaxConcurrency = 10000
)

// FailbackSettings configure the failback passes' Distributed Maps.
type FailbackSettings struct {
	// Bucket is EnvFailbackBucket's bucket.
	Bucket string
	// BatchItems is MaxItemsPerBatch; MaxConcurrency the Map Runs'.
	BatchItems, MaxConcurrency int
}

// FailbackSettingsFromEnv reads the failback settings; every variable is
// required and must be in range.
func FailbackSettingsFromEnv(getenv func(string) string) (FailbackSettings, error) {
	var s FailbackSettings
	var problems []string
	s.Bucket = strings.TrimSpace(getenv(EnvFailbackBucket))
	if s.Bucket == "" {
		problems = append(problems, "missing "+EnvFailbackBucket)
	}
	num := func(name string, lo, hi int) int {
		v := strings.TrimSpace(getenv(name))
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			problems = append(problems, fmt.Sprintf("%s=%q: want a whole number from %d to %d", name, v, lo, hi))
		}
		return n
	}
	s.BatchItems = num(EnvFailbackBatchItems, MinFailbackBatchItems, MaxFailbackBatchItems)
	s.MaxConcurrency = num(EnvFailbackMaxConcurrency, MinFailbackMaxConcurrency, MaxFailbackMaxConcurrency)
	if len(problems) > 0 {
		return FailbackSettings{}, errors.New(strings.Join(problems, "; "))
	}
	return s, nil
}

// The operations of a pass step's input ("op").
const (
	OpPlan  = "plan"
	OpBatch = "batch"
	OpSum   = "sum"
)

// Listing is one ItemReader listing of a pass: every object of Bucket whose
// key starts with Prefix.
type Listing struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
}

// ListedObject is one item of a batch: an object as the ItemReader listed
// it (listObjectsV2), reduced by the Map's ItemSelector to its key and
// LastModified, in whole epoch seconds.
type ListedObject struct {
	Key          string `json:"Key"`
	LastModified int64  `json:"LastModified"`
}

// olderThan reports whether the object was last modified before from. The
// listing gives whole seconds: an object of second s was modified in
// [s, s+1), so it is older only when s+1 <= from — an object written at
// from itself is never skipped.
func (o ListedObject) olderThan(from time.Time) bool {
	return !time.Unix(o.LastModified+1, 0).After(from)
}

// BatchInput is the ItemBatcher's BatchInput of a pass's Map Run: what
// every batch of it shares.
type BatchInput struct {
	Pass int `json:"pass"`
	// From: objects last modified before it are Older (listed only).
	From string `json:"from"`
	// Bucket is the listing's bucket in B.
	Bucket string `json:"bucket"`
}

// parse validates the batch input and its items.
func (b *BatchInput) parse(what string, items []ListedObject, buckets []string) (time.Time, error) {
	var problems []string
	if b == nil {
		return time.Time{}, invalidf("invalid %s batch: no batch (the ItemBatcher's BatchInput)", what)
	}
	from, err := time.Parse(time.RFC3339Nano, b.From)
	if err != nil {
		problems = append(problems, fmt.Sprintf("batch.from %q: want RFC 3339", b.From))
	}
	if b.Pass < 1 || b.Pass > 2 {
		problems = append(problems, fmt.Sprintf("batch.pass %d: want 1 or 2", b.Pass))
	}
	known := false
	for _, k := range buckets {
		known = known || k == b.Bucket
	}
	if !known {
		problems = append(problems, fmt.Sprintf("batch.bucket %q: want one of %s", b.Bucket, strings.Join(buckets, ", ")))
	}
	for i, it := range items {
		if it.Key == "" {
			problems = append(problems, fmt.Sprintf("items[%d]: no Key", i))
			break
		}
	}
	return from, invalidAll(what+" batch", problems)
}

// BatchSettings are the Map Run's batching, from FailbackSettings.
type BatchSettings struct {
	MaxItems       int `json:"maxItems"`
	MaxConcurrency int `json:"maxConcurrency"`
}

// ResultsLocation is where a pass's results are: its done markers under
// Prefix, its Map Runs' manifests and result files under Runs (the
// ResultWriter's Prefix), in Bucket.
type ResultsLocation struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
	Runs   string `json:"runs"`
}

// MapRunResult is a Distributed Map's result with a ResultWriter: the
// Map Run and its manifest.
type MapRunResult struct {
	MapRunArn           string `json:"MapRunArn"`
	ResultWriterDetails struct {
		Bucket string `json:"Bucket"`
		Key    string `json:"Key"`
	} `json:"ResultWriterDetails"`
}

// PassState is a pass in progress: what plan returns and each sum updates,
// kept by the state machine in $.copy1, $.merge1… Totals are the pass's
// counts, the failback facts' copy1/copy2/merge1/merge2.
type PassState[T any] struct {
	Pass  int    `json:"pass"`
	Since string `json:"since"`
	// From: objects last modified before it are Older.
	From string `json:"from"`
	// ListedFrom is when the earliest listing this pass counts was
	// planned: an object written after it may be missing from that
	// listing, so the next pass reads what was written since then.
	ListedFrom string `json:"listedFrom"`
	// Pending are the listings still to run, in key order; the Map runs
	// the first.
	Pending []Listing `json:"pending"`
	// Done is how many listings are done (Reused of them by an earlier
	// run's markers); Batches how many batches their Map Runs ran.
	Done    int             `json:"done"`
	Reused  int             `json:"reused"`
	Batches int             `json:"batches"`
	Batch   BatchSettings   `json:"batch"`
	Results ResultsLocation `json:"results"`
	Totals  T               `json:"totals"`
	// Run is the Map Run of Pending[0] (the Map state's ResultPath), for
	// sum.
	Run *MapRunResult `json:"run,omitempty"`
}

// totals are a pass's counts that batches add up.
type totals[T any] interface {
	plus(T) T
}

// ResultStore is the S3 of the failback bucket in B: Map Run manifests and
// result files are read, done markers written and listed.
type ResultStore interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// objectPager lists a bucket (B's raw bucket, to find the hour folders
// that hold objects).
type objectPager interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// passes plans and sums the passes of one step (copy or merge).
type passes struct {
	step     string // "copy" or "merge": the results' folder
	B        objectPager
	Results  ResultStore
	Settings FailbackSettings
	Clock    clock.Clock
	// Raw is B's raw bucket (listed by hour folders); Whole are buckets
	// listed whole (B's curated bucket for the copy-back).
	Raw   string
	Whole []string
}

// PlanInput is plan's input.
type PlanInput struct {
	Since string `json:"since"`
	Pass  int    `json:"pass"`
	// ListedFrom (pass 2) is pass 1's ListedFrom.
	ListedFrom string `json:"listedFrom"`
}

// plan lists the pass's listings and starts its totals.
func plan[T totals[T]](ctx context.Context, p *passes, in PlanInput) (PassState[T], error) {
	var st PassState[T]
	since, err := parseSince(in.Since)
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	var listedFrom time.Time
	switch in.Pass {
	case 1:
	case 2:
		if listedFrom, err = time.Parse(time.RFC3339Nano, in.ListedFrom); err != nil {
			problems = append(problems, fmt.Sprintf("listedFrom %q: want RFC 3339 (pass 1's listedFrom)", in.ListedFrom))
		}
	default:
		problems = append(problems, fmt.Sprintf("pass %d: want 1 (bulk) or 2 (delta)", in.Pass))
	}
	if err := invalidAll(p.step+" plan input", problems); err != nil {
		return st, err
	}
	now := p.Clock.Now().UTC()
	// Pass 1 reads what B's own Firehose wrote since the failover: named
	// by its records' arrival, all after B's activation, so the listing
	// starts at the hour of from. Pass 2 reads what was written since pass
	// 1 listed: such an object may be named up to Firehose's day of
	// retries earlier (ReplayListLookback).
	from, start := since.Add(-CopySkew), since.Add(-CopySkew)
	if in.Pass == 2 {
		from = listedFrom.Add(-CopySkew)
		start = from.Add(-ReplayListLookback)
	}
	prefixes, err := p.nonEmpty(ctx, ListingPrefixes(start, now.Add(24*time.Hour)))
	if err != nil {
		return st, err
	}
	var pending []Listing
	for _, pre := range prefixes {
		pending = append(pending, Listing{Bucket: p.Raw, Prefix: pre})
	}
	for _, b := range p.Whole {
		pending = append(pending, Listing{Bucket: b, Prefix: ""})
	}
	st = PassState[T]{
		Pass: in.Pass, Since: since.UTC().Format(time.RFC3339Nano), From: from.UTC().Format(time.RFC3339Nano),
		ListedFrom: now.Format(time.RFC3339Nano),
		Batch:      BatchSettings{MaxItems: p.Settings.BatchItems, MaxConcurrency: p.Settings.MaxConcurrency},
		Results:    resultsLocation(p.Settings.Bucket, since, p.step, in.Pass),
	}
	if in.Pass == 1 {
		// A re-run of the same failover's pass 1: a listing an earlier run
		// finished is not read again; its totals count, and the next pass
		// reads everything written since that listing was planned.
		done, err := p.doneMarkers(ctx, st.Results)
		if err != nil {
			return st, err
		}
		earliest := now
		for _, l := range pending {
			m, ok := done[markerKey(st.Results, l)]
			if !ok {
				st.Pending = append(st.Pending, l)
				continue
			}
			var t T
			if err := json.Unmarshal(m.Totals, &t); err != nil {
				return st, fmt.Errorf("done marker of s3://%s/%s in s3://%s/%s: %w", l.Bucket, l.Prefix, st.Results.Bucket, st.Results.Prefix, err)
			}
			st.Totals = st.Totals.plus(t)
			st.Done++
			st.Reused++
			at, err := time.Parse(time.RFC3339Nano, m.ListedFrom)
			if err != nil {
				return st, fmt.Errorf("done marker of s3://%s/%s: listedFrom %q: %w", l.Bucket, l.Prefix, m.ListedFrom, err)
			}
			if at.Before(earliest) {
				earliest = at
				st.ListedFrom = at.UTC().Format(time.RFC3339Nano)
			}
		}
	} else {
		st.Pending = pending
	}
	if st.Pending == nil {
		st.Pending = []Listing{}
	}
	return st, nil
}

// nonEmpty keeps the prefixes of B's raw bucket that hold an object.
func (p *passes) nonEmpty(ctx context.Context, prefixes []string) ([]string, error) {
	var out []string
	for _, pre := range prefixes {
		page, err := p.B.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(p.Raw), Prefix: aws.String(pre), MaxKeys: aws.Int32(1)})
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", p.Raw, pre, err)
		}
		if len(page.Contents) > 0 {
			out = append(out, pre)
		}
	}
	return out, nil
}

// doneMarker is what sum writes once a listing is counted.
type doneMarker struct {
	Bucket     string          `json:"bucket"`
	Prefix     string          `json:"prefix"`
	ListedFrom string          `json:"listedFrom"`
	MapRunArn  string          `json:"mapRunArn"`
	Totals     json.RawMessage `json:"totals"`
}

// doneMarkers reads the pass's done markers, by key.
func (p *passes) doneMarkers(ctx context.Context, loc ResultsLocation) (map[string]doneMarker, error) {
	out := map[string]doneMarker{}
	prefix := loc.Prefix + "done/"
	var token *string
	for {
		page, err := p.Results.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), Prefix: aws.String(prefix), ContinuationToken: token})
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", loc.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			body, err := getAll(ctx, p.Results, loc.Bucket, key)
			if err != nil {
				return nil, err
			}
			var m doneMarker
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, fmt.Errorf("done marker s3://%s/%s: %w", loc.Bucket, key, err)
			}
			out[key] = m
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

// FailbackResultsFolder is the folder of the failback bucket every pass's
// results are under; the state machine's role may write there only.
const FailbackResultsFolder = "failback/"

// resultsLocation is the folder of one failover's pass in the failback
// bucket, failback/<since>/<step><pass>/, and its Map Runs' folder in it:
// a Map Run writes <runs>/<Map Run id>/manifest.json and its result files.
func resultsLocation(bucket string, since time.Time, step string, pass int) ResultsLocation {
	prefix := fmt.Sprintf("%s%s/%s%d/", FailbackResultsFolder, since.UTC().Format("20060102T150405.000000000Z"), step, pass)
	return ResultsLocation{Bucket: bucket, Prefix: prefix, Runs: prefix + "runs"}
}

// markerKey is the done marker of listing l.
func markerKey(loc ResultsLocation, l Listing) string {
	sum := sha256.Sum256([]byte(l.Bucket + "\x00" + l.Prefix))
	return loc.Prefix + "done/" + hex.EncodeToString(sum[:12]) + ".json"
}

// sum adds the Map Run's children's totals to the pass's, writes the
// listing's done marker and removes it from the pending ones.
func sum[T totals[T]](ctx context.Context, p *passes, st *PassState[T]) (PassState[T], error) {
	if st == nil || len(st.Pending) == 0 || st.Run == nil || st.Run.ResultWriterDetails.Key == "" {
		return PassState[T]{}, invalidf("invalid %s sum input: want the pass state with a pending listing and the Map Run's result in run (ResultWriterDetails)", p.step)
	}
	out := *st
	l := st.Pending[0]
	var add T
	n, err := readRun(ctx, p.Results, st.Run.ResultWriterDetails.Bucket, st.Run.ResultWriterDetails.Key, func(raw []byte) error {
		var t T
		if err := json.Unmarshal(raw, &t); err != nil {
			return err
		}
		add = add.plus(t)
		return nil
	})
	if err != nil {
		return PassState[T]{}, fmt.Errorf("%s pass %d, listing s3://%s/%s: %w", p.step, st.Pass, l.Bucket, l.Prefix, err)
	}
	if st.Pass == 1 {
		raw, _ := json.Marshal(add)
		body, _ := json.Marshal(doneMarker{Bucket: l.Bucket, Prefix: l.Prefix, ListedFrom: st.ListedFrom, MapRunArn: st.Run.MapRunArn, Totals: raw})
		key := markerKey(st.Results, l)
		if _, err := p.Results.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.Results.Bucket), Key: aws.String(key),
			Body: bytes.NewReader(body), ContentType: aws.String("application/json")}); err != nil {
			return PassState[T]{}, fmt.Errorf("put s3://%s/%s: %w", st.Results.Bucket, key, err)
		}
	}
	out.Totals = st.Totals.plus(add)
	out.Pending = append([]Listing{}, st.Pending[1:]...)
	out.Done++
	out.Batches += n
	out.Run = nil
	return out, nil
}

// readRun reads a Map Run's ResultWriter manifest and streams every
// succeeded child's output to each, returning how many there were. A Map
// Run with failed or pending children is an error: the pass would count
// less than it listed (its tolerated failure threshold is zero, so Step
// Functions fails such a Map Run; this is the check of that).
func readRun(ctx context.Context, rs ResultStore, bucket, manifestKey string, each func(output []byte) error) (int, error) {
	body, err := getAll(ctx, rs, bucket, manifestKey)
	if err != nil {
		return 0, err
	}
	var m struct {
		ResultFiles map[string][]struct {
			Key string `json:"Key"`
		} `json:"ResultFiles"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return 0, fmt.Errorf("manifest s3://%s/%s: %w", bucket, manifestKey, err)
	}
	for _, status := range []string{"FAILED", "PENDING"} {
		if len(m.ResultFiles[status]) > 0 {
			return 0, fmt.Errorf("manifest s3://%s/%s lists %s results: the Map Run did not process every batch", bucket, manifestKey, status)
		}
	}
	n := 0
	for _, f := range m.ResultFiles["SUCCEEDED"] {
		c, err := streamResults(ctx, rs, bucket, f.Key, each)
		n += c
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// streamResults decodes one result file (a JSON array of child execution
// results) one entry at a time: a Map Run of 10⁵ batches writes tens of
// megabytes, which are never held whole.
func streamResults(ctx context.Context, rs ResultStore, bucket, key string, each func(output []byte) error) (int, error) {
	obj, err := rs.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Body.Close()
	dec := json.NewDecoder(obj.Body)
	where := "result file s3://" + bucket + "/" + key
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return 0, fmt.Errorf("%s: not a JSON array (%v)", where, err)
	}
	n := 0
	for dec.More() {
		var r struct {
			Status string `json:"Status"`
			Output string `json:"Output"`
		}
		if err := dec.Decode(&r); err != nil {
			return n, fmt.Errorf("%s, entry %d: %w", where, n, err)
		}
		if r.Status != "SUCCEEDED" {
			return n, fmt.Errorf("%s, entry %d: status %q", where, n, r.Status)
		}
		if err := each([]byte(r.Output)); err != nil {
			return n, fmt.Errorf("%s, entry %d: output: %w", where, n, err)
		}
		n++
	}
	if _, err := dec.Token(); err != nil {
		return n, fmt.Errorf("%s: %w", where, err)
	}
	return n, nil
}

// getAll reads an object whole.
func getAll(ctx context.Context, rs ResultStore, bucket, key string) ([]byte, error) {
	obj, err := rs.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, notFoundf("s3://%s/%s: no such key", bucket, key)
	}
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		return nil, transientf("read s3://%s/%s: %v", bucket, key, err)
	}
	return b, nil
}

// ListingPrefixes returns the fewest key prefixes of the raw bucket's
// dt=YYYY-MM-DD/hr=HH/ layout that together hold every hour folder from
// the hour of start to the hour of end, and no earlier one: blocks of an
// hour, ten hours (hr=0, hr=1, hr=2), a day, ten days, a month, months
// 1–9 or 10–12, a year, each the largest that starts where the previous
// ended and does not reach past end. An ItemReader lists one prefix; the
// listing cannot filter by time, so blocks keep the days before start
// (P's replicas of its whole history) out of it.
func ListingPrefixes(start, end time.Time) []string {
	c := start.UTC().Truncate(time.Hour)
	limit := end.UTC().Truncate(time.Hour).Add(time.Hour)
	var out []string
	for c.Before(limit) {
		b := largestBlock(c, limit)
		out = append(out, b.prefix)
		c = b.end
	}
	return out
}

type block struct {
	prefix string
	end    time.Time
}

// largestBlock is the largest aligned block starting at c (an hour) that
// ends at or before limit; an hour always does.
func largestBlock(c, limit time.Time) block {
	y, mo, d := c.Date()
	h := c.Hour()
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	cands := []struct {
		ok     bool
		prefix string
		end    time.Time
	}{
		{mo == 1 && d == 1 && h == 0, fmt.Sprintf("dt=%04d-", y), date(y+1, 1, 1)},
		{(mo == 1 || mo == 10) && d == 1 && h == 0, fmt.Sprintf("dt=%04d-%d", y, int(mo)/10), monthDecadeEnd(y, mo)},
		{d == 1 && h == 0, fmt.Sprintf("dt=%04d-%02d-", y, int(mo)), date(y, mo+1, 1)},
		{(d == 1 || d%10 == 0) && h == 0, fmt.Sprintf("dt=%04d-%02d-%d", y, int(mo), d/10), dayDecadeEnd(y, mo, d)},
		{h == 0, fmt.Sprintf("dt=%04d-%02d-%02d/", y, int(mo), d), date(y, mo, d+1)},
		{h%10 == 0, fmt.Sprintf("dt=%04d-%02d-%02d/hr=%d", y, int(mo), d, h/10), hourDecadeEnd(c)},
		{true, fmt.Sprintf("dt=%04d-%02d-%02d/hr=%02d/", y, int(mo), d, h), c.Add(time.Hour)},
	}
	for _, b := range cands {
		if b.ok && !b.end.After(limit) {
			return block{b.prefix, b.end}
		}
	}
	panic("unreachable: an hour block always fits")
}

// monthDecadeEnd ends the months 01–09 (at October) or 10–12 (at the next
// year).
func monthDecadeEnd(y int, mo time.Month) time.Time {
	if mo < 10 {
		return time.Date(y, 10, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
}

// dayDecadeEnd ends the days 01–09, 10–19, 20–29 (at the next decade) or
// 30–31 (at the next month) of a month.
func dayDecadeEnd(y int, mo time.Month, d int) time.Time {
	next := time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
	if d >= 30 {
		return next
	}
	e := time.Date(y, mo, (d/10+1)*10, 0, 0, 0, 0, time.UTC)
	if e.After(next) || e.Month() != mo {
		return next
	}
	return e
}

// hourDecadeEnd ends the hours 00–09, 10–19 (at the next decade) or 20–23
// (at the next day).
func hourDecadeEnd(c time.Time) time.Time {
	day := c.Truncate(24 * time.Hour)
	if c.Hour() >= 20 {
		return day.Add(24 * time.Hour)
	}
	return day.Add(time.Duration(c.Hour()/10+1) * 10 * time.Hour)
}
