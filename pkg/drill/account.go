package drill

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// The stores the accounting reads, as the report names them.
const (
	// StoreStream is P's Kinesis stream and Firehose delivery buffer:
	// records acknowledged by P's ingest not yet in P's raw bucket.
	StoreStream = "stream"
	// StoreS3 is the raw bucket (GZIP NDJSON objects by dt/hr).
	StoreS3 = "s3"
	// StoreCatalog is the Glue catalog's raw table partitions.
	StoreCatalog = "catalog"
	// StoreAggregates is the DynamoDB aggregates table (record markers and
	// window summaries).
	StoreAggregates = "aggregates"
	// StoreBackupRegion is everything the backup region holds: a record
	// acknowledged by P is at risk when none of B's stores has it.
	StoreBackupRegion = "backupRegion"
)

// rawObject is one raw object's records.
type rawObject struct {
	key      string
	modified time.Time
	ids      []string // producer record ids, canaries excluded
	windows  []string // the window each counts in (aggregate.EntryOf), as ids
}

// rawBucket is a raw bucket's objects, by key.
type rawBucket map[string]rawObject

// ids counts each record id's occurrences in the bucket.
func (b rawBucket) ids() map[string]int {
	out := map[string]int{}
	for _, o := range b {
		for _, id := range o.ids {
			out[id]++
		}
	}
	return out
}

// windows maps each record id to the window its aggregates count it in.
func (b rawBucket) windows() map[string]string {
	out := map[string]string{}
	for _, o := range b {
		for i, id := range o.ids {
			out[id] = o.windows[i]
		}
	}
	return out
}

// partitions maps each "dt/hr" partition holding records to its ids.
func (b rawBucket) partitions() map[string][]string {
	out := map[string][]string{}
	for _, o := range b {
		if pt := partitionOf(o.key); pt != "" && len(o.ids) > 0 {
			out[pt] = append(out[pt], o.ids...)
		}
	}
	return out
}

// partitionOf is "dt/hr" for a key "dt=…/hr=…/…", "" for another key.
func partitionOf(key string) string {
	dtPart, rest, ok := strings.Cut(key, "/")
	hrPart, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || !strings.HasPrefix(dtPart, "dt=") || !strings.HasPrefix(hrPart, "hr=") {
		return ""
	}
	return strings.TrimPrefix(dtPart, "dt=") + "/" + strings.TrimPrefix(hrPart, "hr=")
}

// picture is what the stores hold at one instant.
type picture struct {
	at time.Time
	// pRaw and bRaw are P's raw bucket and B's (replicas, while B is
	// dormant).
	pRaw, bRaw rawBucket
	// pParts and bParts are the partitions in P's and B's catalogs.
	pParts, bParts map[string]bool
}

// picture reads P's and B's raw buckets and catalogs. It runs at the
// outage instant, before the primary is taken down, while no timer fires
// (the caller holds the clock): no object is delivered or replicated
// during it.
func (r *run) picture(ctx context.Context) (*picture, error) {
	ctx = sim.Unmetered(ctx) // the drill observes the timeline without taking part in it
	l := r.l
	P, B := l.Regions.Primary, l.Regions.Backup
	s := &picture{at: l.Now()}
	var err error
	if s.pRaw, err = readRaw(ctx, l.World.Region(P).S3(), l.Names.Bucket("raw", P), nil); err != nil {
		return nil, err
	}
	if s.bRaw, err = readRaw(ctx, l.World.Region(B).S3(), l.Names.Bucket("raw", B), nil); err != nil {
		return nil, err
	}
	if s.pParts, err = catalogPartitions(ctx, l.World.Region(P).Glue(), l.Names.GlueDatabase()); err != nil {
		return nil, err
	}
	if s.bParts, err = catalogPartitions(ctx, l.World.Region(B).Glue(), l.Names.GlueDatabase()); err != nil {
		return nil, err
	}
	return s, nil
}

// RPO is the recovery point, per store: what the backup region lacked of
// the records the primary had acknowledged before the outage.
type RPO struct {
	// AtOutage is what B's stores lacked at the outage instant, and where
	// the missing records were: StoreStream (still in P's stream or
	// delivery buffer), StoreS3 (in P's raw bucket, not yet replicated),
	// StoreCatalog (partitions of P's catalog B's lacked) and
	// StoreBackupRegion (in none of B's stores: the records at risk).
	AtOutage map[string]StoreRPO `json:"atOutage"`
	// DuringFailover is what B served without while failed over (measured
	// when failback starts): StoreS3, StoreAggregates (the restored table
	// and what was replayed into it), StoreCatalog.
	DuringFailover map[string]StoreRPO `json:"duringFailover,omitempty"`
}

// StoreRPO is one store's recovery point: how many records acknowledged
// before the outage it lacks, and how old the oldest of them is at the
// outage (0 when it lacks none).
type StoreRPO struct {
	RPOSeconds float64 `json:"rpoSeconds"`
	Records    int     `json:"records"`
	// Objects is S3 objects not yet replicated; Partitions catalog
	// partitions missing.
	Objects    int `json:"objects,omitempty"`
	Partitions int `json:"partitions,omitempty"`
	// ReplicationLagSeconds (S3 at the outage) is the age of the oldest
	// object not yet replicated.
	ReplicationLagSeconds float64 `json:"replicationLagSeconds,omitempty"`
	// RestorePointAgeSeconds (aggregates) is how much older than the
	// outage the point the table was restored to is.
	RestorePointAgeSeconds float64 `json:"restorePointAgeSeconds,omitempty"`
}

// Store is the final accounting of one store in the region that serves at
// the end: every acknowledged record must be there once.
type Store struct {
	Region string `json:"region"`
	// Expected is the acknowledged records; Present those the store holds.
	Expected int `json:"expected"`
	Present  int `json:"present"`
	// Lost is acknowledged records the store lacks; DoubleCounted is extra
	// copies (S3: a record in more than one object or twice in one;
	// aggregates: window summaries counting more records than their
	// markers explain, window by window); Uncounted (aggregates) is markers
	// their window summary does not count.
	Lost          int `json:"lost"`
	DoubleCounted int `json:"doubleCounted"`
	Uncounted     int `json:"uncounted,omitempty"`
	// ExpiredMarkers (aggregates) is records present by count: their
	// marker is gone, as TTL deletes a marker once it expires, and their
	// window's summary counts them (see countAggregates).
	ExpiredMarkers int `json:"expiredMarkers,omitempty"`
	// Partitions and MissingPartitions (catalog): partitions holding
	// records in the raw bucket, and those the catalog lacks.
	Partitions        int `json:"partitions,omitempty"`
	MissingPartitions int `json:"missingPartitions,omitempty"`
}

// ackedBefore returns the records acknowledged before the outage began
// (all of them by the primary), with when.
func (r *run) ackedBefore() map[string]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]time.Time{}
	for id, a := range r.acked {
		if !a.at.After(r.outage) {
			out[id] = a.at
		}
	}
	return out
}

// oldest returns the RPO of the missing records: outage - the oldest
// acknowledgement among them.
func (r *run) oldest(before map[string]time.Time, missing func(id string) bool) (n int, rpo float64) {
	var first time.Time
	for id, at := range before {
		if missing(id) {
			n++
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
	}
	if n > 0 {
		rpo = r.outage.Sub(first).Seconds()
	}
	return n, rpo
}

// rpoAtOutage computes RPO.AtOutage from the outage snapshot.
func (r *run) rpoAtOutage() map[string]StoreRPO {
	s := r.atOutage
	if s == nil {
		return nil
	}
	before := r.ackedBefore()
	inP, inB := s.pRaw.ids(), s.bRaw.ids()
	out := map[string]StoreRPO{}
	n, rpo := r.oldest(before, func(id string) bool { return inP[id] == 0 })
	out[StoreStream] = StoreRPO{RPOSeconds: rpo, Records: n}
	n, rpo = r.oldest(before, func(id string) bool { return inP[id] > 0 && inB[id] == 0 })
	st := StoreRPO{Records: n, RPOSeconds: rpo}
	var first time.Time
	for key, o := range s.pRaw {
		if _, ok := s.bRaw[key]; ok || partitionOf(key) == "" {
			continue
		}
		st.Objects++
		if first.IsZero() || o.modified.Before(first) {
			first = o.modified
		}
	}
	if st.Objects > 0 {
		st.ReplicationLagSeconds = s.at.Sub(first).Seconds()
	}
	out[StoreS3] = st
	missing := 0
	for pt := range s.pParts {
		if !s.bParts[pt] {
			missing++
		}
	}
	out[StoreCatalog] = StoreRPO{Partitions: missing}
	n, rpo = r.oldest(before, func(id string) bool { return inB[id] == 0 })
	out[StoreBackupRegion] = StoreRPO{RPOSeconds: rpo, Records: n}
	return out
}

// measureBackup records RPO.DuringFailover: what B's stores lack of the
// records acknowledged before the outage, as B serves them: the first call
// counts, made just before the primary returns or, if it never does, when
// failback is tried.
func (r *run) measureBackup(ctx context.Context) {
	ctx = sim.Unmetered(ctx) // the drill observes the timeline without taking part in it
	if r.outage.IsZero() || r.rep.RPO.DuringFailover != nil {
		return
	}
	l := r.l
	B := l.Regions.Backup
	r.readFacts(ctx)
	before := r.ackedBefore()
	out := map[string]StoreRPO{}
	// The synthetic records (scale) were all acknowledged after the outage:
	// they are set aside, not counted.
	raw, err := readRaw(ctx, l.World.Region(B).S3(), l.Names.Bucket("raw", B), r.scale.skipping())
	if err != nil {
		r.progress("accounting", "could not read %s's raw bucket: %v", B, err)
		return
	}
	inB := raw.ids()
	n, rpo := r.oldest(before, func(id string) bool { return inB[id] == 0 })
	out[StoreS3] = StoreRPO{RPOSeconds: rpo, Records: n}
	agg, err := readAggregates(ctx, l.World.Region(B).DynamoDB(), l.Names.AggregatesTable(), r.scale.skipping())
	if err == nil {
		missing := countAggregates(agg, before, raw.windows(), l.Now(), r.markerTTL(ctx)).missing
		n, rpo = r.oldest(before, func(id string) bool { return missing[id] })
		out[StoreAggregates] = StoreRPO{RPOSeconds: rpo, Records: n, RestorePointAgeSeconds: r.rep.RestorePointAgeSeconds}
	} else {
		out[StoreAggregates] = StoreRPO{Records: len(before), RestorePointAgeSeconds: r.rep.RestorePointAgeSeconds}
	}
	parts, err := catalogPartitions(ctx, l.World.Region(B).Glue(), l.Names.GlueDatabase())
	if err == nil {
		missing := 0
		for pt := range raw.partitions() {
			if !parts[pt] {
				missing++
			}
		}
		out[StoreCatalog] = StoreRPO{Partitions: missing}
	}
	r.rep.RPO.DuringFailover = out
}

// account counts every acknowledged record where it must be at the end,
// in the region that serves (r.final), and runs the checks.
func (r *run) account(ctx context.Context) error {
	ctx = sim.Unmetered(ctx) // the drill observes the timeline without taking part in it
	l := r.l
	rep := r.rep
	for _, p := range r.prods {
		s := p.Stats()
		rep.Records.Produced += s.Produced
		rep.Records.Acknowledged += s.Acknowledged
		rep.Records.Conflicts += s.Conflicts
	}
	r.mu.Lock()
	acked := make(map[string]ack, len(r.acked))
	for id, a := range r.acked {
		acked[id] = a
		if a.region == r.orig.Backup {
			rep.Records.AckedByBackup++
		}
	}
	r.mu.Unlock()
	// Glue calls before the accounting's own.
	rep.GlueCalls = map[string]int{}
	for k, n := range l.World.Calls() {
		if k.Service == "Glue" {
			rep.GlueCalls[k.Operation] += n
		}
	}
	r.readFacts(ctx)
	rep.RPO.AtOutage = r.rpoAtOutage()
	if at, ok := rep.RPO.AtOutage[StoreBackupRegion]; ok {
		rep.Records.AtRisk = at.Records
	}

	F := r.final
	rep.Stores = map[string]Store{}
	led := r.scale
	if led != nil {
		led.startAccounting()
		rep.Records.AckedByBackup += int64(led.records)
	}
	raw, err := readRaw(ctx, l.World.Region(F).S3(), l.Names.Bucket("raw", F), led)
	if err != nil {
		return err
	}
	counts := raw.ids()
	s3st := Store{Region: F, Expected: len(acked)}
	for id := range acked {
		if c := counts[id]; c > 0 {
			s3st.Present++
			s3st.DoubleCounted += c - 1
		}
	}
	if led != nil {
		s3st.Expected += led.records
		for _, c := range led.s3 {
			if c > 0 {
				s3st.Present++
				s3st.DoubleCounted += int(c) - 1
			}
		}
	}
	s3st.Lost = s3st.Expected - s3st.Present
	rep.Stores[StoreS3] = s3st

	parts, err := catalogPartitions(ctx, l.World.Region(F).Glue(), l.Names.GlueDatabase())
	if err != nil {
		return err
	}
	cat := Store{Region: F, Expected: len(acked)}
	inCatalog := map[string]bool{}
	for pt, ids := range raw.partitions() {
		cat.Partitions++
		if !parts[pt] {
			cat.MissingPartitions++
			continue
		}
		for _, id := range ids {
			if _, ok := acked[id]; ok {
				inCatalog[id] = true
			}
		}
	}
	cat.Present = len(inCatalog)
	if led != nil {
		cat.Expected += led.records
		missing := map[uint32]bool{}
		for i, pt := range led.parts {
			if _, ours := raw.partitions()[pt]; ours {
				continue // counted with the producers' records above
			}
			cat.Partitions++
			if !parts[pt] {
				cat.MissingPartitions++
				missing[uint32(i+1)] = true
			}
		}
		for _, p := range led.part {
			if p != 0 && !missing[p] && parts[led.parts[p-1]] {
				cat.Present++
			}
		}
	}
	cat.Lost = cat.Expected - cat.Present
	rep.Stores[StoreCatalog] = cat

	agg, err := readAggregates(ctx, l.World.Region(F).DynamoDB(), l.Names.AggregatesTable(), led)
	if err != nil {
		return err
	}
	ackedAt := make(map[string]time.Time, len(acked))
	for id, a := range acked {
		ackedAt[id] = a.at
	}
	ag := countAggregates(agg, ackedAt, raw.windows(), l.Now(), r.markerTTL(ctx)).Store
	if led != nil {
		// The synthetic records are a day old at most: their markers
		// cannot have expired. A marker in another window is no count of
		// the record where it belongs.
		ag.Expected += led.records
		for _, m := range led.marker {
			if m == markerOK || m == markerOther {
				ag.Present++
			}
		}
		ag.Lost = ag.Expected - ag.Present
	}
	ag.Region = F
	rep.Stores[StoreAggregates] = ag
	// Acknowledged, then dropped: the id is counted, with other content.
	// A conflict item in either region's table says a consumer or a merge
	// saw it; none means it was dropped silently.
	conflicts := agg.conflicts
	other := r.orig.Backup
	if F == other {
		other = r.orig.Primary
	}
	if o, err := readAggregates(ctx, l.World.Region(other).DynamoDB(), l.Names.AggregatesTable(), led.skipping()); err == nil {
		for k := range o.conflicts {
			conflicts[k] = true
		}
	}
	rep.Records.ConflictItems = len(conflicts)
	for id, a := range acked {
		if h := agg.hashes[id]; h != "" && a.hash != "" && h != a.hash {
			rep.Records.DroppedAfterAck++
			if !conflicts[id+" "+a.hash] {
				rep.Records.Unrecorded++
			}
		}
	}
	if led != nil {
		for n, m := range led.marker {
			if m == markerOther {
				rep.Records.DroppedAfterAck++
				if !conflicts[scaleID(n)+" "+record.ContentHash(scaleData(n))] {
					rep.Records.Unrecorded++
				}
			}
		}
		r.scaleFigures()
	}

	// The DR topic of the backup region, and of the new one after a
	// redeployment.
	for _, region := range r.drRegions() {
		for _, m := range l.World.Region(region).SNS().Published(l.Names.TopicARN(region)) {
			rep.Notifications = append(rep.Notifications, subject(m))
		}
	}
	for _, f := range l.Discarded() {
		rep.Records.DiscardedByConsumer += f.BatchSize
	}
	rep.Invocations = l.Invocations()
	rep.Denied = []Denial{}
	for _, d := range l.Denied() {
		rep.Denied = append(rep.Denied, Denial{Role: d.Principal, Action: d.Action, Resource: d.Resource, Region: d.Region, Via: d.Via, At: d.Time.Sub(r.virtStart).Seconds()})
	}

	ok := func(name string, passed bool, format string, args ...any) {
		rep.Checks = append(rep.Checks, Check{Name: name, Passed: passed, Detail: fmt.Sprintf(format, args...)})
	}
	r.sc.expect(r, ok)
	ok("allAcknowledged", rep.Records.Acknowledged == rep.Records.Produced, "%d of %d produced records acknowledged", rep.Records.Acknowledged, rep.Records.Produced)
	// What may be lost: nothing while the primary returns; with the
	// primary lost for good, exactly the records at risk at the outage.
	wantLost, lossWhy := 0, "none may be"
	if F != r.orig.Primary {
		wantLost, lossWhy = rep.Records.AtRisk, "the records at risk at the outage"
	}
	for _, store := range []string{StoreS3, StoreCatalog, StoreAggregates} {
		st := rep.Stores[store]
		ok("lost:"+store, st.Lost == wantLost, "%d of %d acknowledged records missing from %s's %s (%s: %d)", st.Lost, st.Expected, F, store, lossWhy, wantLost)
		// The raw bucket keeps every accepted record: an id the two
		// regions accepted with different contents is there twice.
		wantExtra := 0
		if store == StoreS3 {
			wantExtra = r.crossConflicts
		}
		ok("doubleCounted:"+store, st.DoubleCounted == wantExtra && st.Uncounted == 0, "%d extra copies (%d expected: ids accepted by both regions with different contents), %d uncounted, in %s's %s",
			st.DoubleCounted, wantExtra, st.Uncounted, F, store)
	}
	ok("catalogComplete", cat.MissingPartitions == 0, "%d of %d partitions missing from %s's catalog", cat.MissingPartitions, cat.Partitions, F)
	ok("noConflicts", rep.Records.Conflicts == 0, "%d records answered as conflicting duplicates", rep.Records.Conflicts)
	// Within a region ingest refuses a conflict, so an acknowledged record
	// is dropped downstream only when both regions accepted its id, and
	// then never silently: a conflict item records it.
	ok("droppedAfterAck", rep.Records.DroppedAfterAck == r.crossConflicts && rep.Records.Unrecorded == 0 &&
		rep.Records.ConflictItems >= r.crossConflicts && (rep.Records.ConflictItems == 0) == (r.crossConflicts == 0),
		"%d acknowledged records counted in %s's aggregates with other content under their id (%d expected: ids accepted by both regions with different contents), %d of them with no conflict item; %d conflict items in the aggregates tables",
		rep.Records.DroppedAfterAck, F, r.crossConflicts, rep.Records.Unrecorded, rep.Records.ConflictItems)
	ok("noAccessDenied", l.DeniedCount() == 0, "%d calls denied by IAM", l.DeniedCount())
	ok("noneDiscardedByConsumer", rep.Records.DiscardedByConsumer == 0, "%d records sent to a consumer's on-failure destination", rep.Records.DiscardedByConsumer)
	if !r.sc.pipelineStall {
		r.pipelineAlarmQuiet(ok)
	}
	rep.Passed = true
	for _, c := range rep.Checks {
		rep.Passed = rep.Passed && c.Passed
	}
	return nil
}

// drRegions are the regions whose DR machinery the run used: the backup
// region and, after a redeployment, the new backup region.
func (r *run) drRegions() []string {
	out := []string{r.orig.Backup}
	if b := r.l.Regions.Backup; b != r.orig.Backup {
		out = append(out, b)
	}
	return out
}

// controlItem reads the control record ("dr") of the installation's
// backup region as it is now, nil if there is none.
func (r *run) controlItem(ctx context.Context) map[string]ddbtypes.AttributeValue {
	return r.controlItemIn(ctx, r.l.Regions.Backup)
}

// controlItemIn reads the control record in region's control table.
func (r *run) controlItemIn(ctx context.Context, region string) map[string]ddbtypes.AttributeValue {
	ctx = sim.Unmetered(ctx) // the drill observes the timeline without taking part in it
	out, err := r.l.World.Region(region).DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.l.Names.ControlTable()),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "dr"}}})
	if err != nil {
		return nil
	}
	return out.Item
}

// controlString is one string attribute of the control record.
func (r *run) controlString(ctx context.Context, name string) string {
	if v, ok := r.controlItem(ctx)[name].(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// controlMode reads the DR mode from the control record (none: PRIMARY).
func (r *run) controlMode(ctx context.Context) string {
	if m := r.controlString(ctx, "mode"); m != "" {
		return m
	}
	return "PRIMARY"
}

// controlSince reads the failover start from the control record.
func (r *run) controlSince(ctx context.Context) string { return r.controlString(ctx, "since") }

// readFacts reads the control record's failover and failback facts into
// the report.
func (r *run) readFacts(ctx context.Context) {
	ctx = sim.Unmetered(ctx) // the drill observes the timeline without taking part in it
	rep := r.rep
	// The failover and failback of the run are the backup region's, also
	// after a redeployment left a new backup region.
	item := r.controlItemIn(ctx, r.orig.Backup)
	if item == nil {
		return
	}
	facts := map[string]json.RawMessage{}
	for _, k := range []string{"failoverFacts", "failbackFacts"} {
		if v, ok := item[k].(*ddbtypes.AttributeValueMemberS); ok {
			facts[k] = json.RawMessage(v.Value)
		}
	}
	if len(facts) == 0 {
		return
	}
	rep.Facts, _ = json.Marshal(facts)
	rep.Records.ObjectsCopiedBack, rep.Records.ItemsMerged = copiedMerged(facts["failbackFacts"])
	var f struct {
		Restore struct {
			Source          string
			RestoreDateTime time.Time
		} `json:"restore"`
	}
	if json.Unmarshal(facts["failoverFacts"], &f) == nil {
		rep.RestoreSource = f.Restore.Source
		if at := f.Restore.RestoreDateTime; !at.IsZero() && !r.outage.IsZero() {
			rep.RestorePointAgeSeconds = r.outage.Sub(at).Seconds()
		}
	}
}

// readRaw reads every dt=/hr= object of a raw bucket (GZIP NDJSON) with
// the producer record ids in it. The scale scenario's synthetic records go
// to its ledger (led, when it counts), not into the map.
func readRaw(ctx context.Context, c *sim.S3, bucket string, led *scaleLedger) (rawBucket, error) {
	out := rawBucket{}
	var token *string
	var zr *gzip.Reader
	var plain bytes.Buffer
	sc := bufio.NewScanner(nil)
	line := make([]byte, 0, 64<<10)
	for {
		page, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), ContinuationToken: token})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if partitionOf(key) == "" {
				continue
			}
			obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				return nil, fmt.Errorf("get %s: %w", key, err)
			}
			body, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				return nil, err
			}
			if strings.HasSuffix(key, ".gz") || bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
				if zr == nil {
					zr, err = gzip.NewReader(bytes.NewReader(body))
				} else {
					err = zr.Reset(bytes.NewReader(body))
				}
				if err != nil {
					return nil, fmt.Errorf("gunzip %s: %w", key, err)
				}
				plain.Reset()
				if _, err := plain.ReadFrom(zr); err != nil {
					return nil, fmt.Errorf("gunzip %s: %w", key, err)
				}
				body = plain.Bytes()
			}
			ro := rawObject{key: key, modified: aws.ToTime(o.LastModified)}
			sc = bufio.NewScanner(bytes.NewReader(body))
			sc.Buffer(line, 4<<20)
			synthetic := false
			for sc.Scan() {
				// A synthetic record (scale) is known by its id, the first
				// member record.AppendJSON writes: no decoding needed.
				if n := led.index(syntheticID(sc.Bytes())); n >= 0 {
					synthetic = true
					if led.counting() {
						led.inRaw(n, key)
					}
					continue
				}
				var rec record.Record
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Canary {
					continue
				}
				ro.ids = append(ro.ids, rec.ID)
				ro.windows = append(ro.windows, aggregate.EntryOf(rec).Window.Format(aggregate.WindowLayout))
			}
			if !synthetic || len(ro.ids) > 0 {
				out[key] = ro
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

// syntheticID is the id of a record line that starts {"id":"scale-…", as
// record.AppendJSON writes a synthetic record, or "".
func syntheticID(line []byte) string {
	const head = `{"id":"` + scalePrefix
	if !bytes.HasPrefix(line, []byte(head)) {
		return ""
	}
	end := bytes.IndexByte(line[len(`{"id":"`):], '"')
	if end < 0 {
		return ""
	}
	return string(line[len(`{"id":"`) : len(`{"id":"`)+end])
}

// catalogPartitions lists the raw table's partitions ("dt/hr") in a
// region's catalog; a missing database or table has none.
func catalogPartitions(ctx context.Context, g *sim.Glue, db string) (map[string]bool, error) {
	out := map[string]bool{}
	var token *string
	for {
		page, err := g.GetPartitions(ctx, &glue.GetPartitionsInput{DatabaseName: aws.String(db), TableName: aws.String("raw"), NextToken: token})
		var nf *gluetypes.EntityNotFoundException
		if errors.As(err, &nf) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("partitions of %s.raw: %w", db, err)
		}
		for _, p := range page.Partitions {
			if len(p.Values) == 2 {
				out[p.Values[0]+"/"+p.Values[1]] = true
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		token = page.NextToken
	}
}

// aggregateTable is an aggregates table read whole: each record marker's
// window and content hash, each window summary's count of records, and the
// conflict items.
type aggregateTable struct {
	markers   map[string]string // record id -> window
	hashes    map[string]string // record id -> the marker's content hash
	summed    map[string]int    // window -> records its summary counts
	conflicts map[string]bool   // "id hash" of each conflict item
	// synthMarkers counts the scale scenario's synthetic records' markers
	// by window (their records are the ledger's, not in markers).
	synthMarkers map[string]int
}

// readAggregates scans an aggregates table. The markers of the scale
// scenario's synthetic records go to its ledger (led, when it counts) and
// count in their windows' synthetic markers.
func readAggregates(ctx context.Context, db *sim.DynamoDB, table string, led *scaleLedger) (*aggregateTable, error) {
	t := &aggregateTable{markers: map[string]string{}, hashes: map[string]string{}, summed: map[string]int{}, conflicts: map[string]bool{}, synthMarkers: map[string]int{}}
	summed := t.summed
	var start map[string]ddbtypes.AttributeValue
	for {
		// What the accounting reads of an item, alone: a table of
		// millions of markers is scanned at half the cost.
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start,
			ProjectionExpression:     aws.String("pk, sk, #window, #hash, #records"),
			ExpressionAttributeNames: map[string]string{"#window": "window", "#hash": aggregate.AttrHash, "#records": "records"}})
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, it := range out.Items {
			pk, _ := it["pk"].(*ddbtypes.AttributeValueMemberS)
			if pk == nil {
				continue
			}
			switch {
			case strings.HasPrefix(pk.Value, "R#"):
				w, _ := it["window"].(*ddbtypes.AttributeValueMemberS)
				window := "?"
				if w != nil {
					window = w.Value
				}
				id := strings.TrimPrefix(pk.Value, "R#")
				hash := ""
				if h, ok := it[aggregate.AttrHash].(*ddbtypes.AttributeValueMemberS); ok {
					hash = h.Value
				}
				if n := led.index(id); n >= 0 {
					if led.counting() {
						led.inTable(n, window, hash)
					}
					t.synthMarkers[window]++
					continue
				}
				t.markers[id] = window
				if hash != "" {
					t.hashes[id] = hash
				}
			case strings.HasPrefix(pk.Value, aggregate.ConflictPrefix):
				if sk, ok := it["sk"].(*ddbtypes.AttributeValueMemberS); ok {
					t.conflicts[strings.TrimPrefix(pk.Value, aggregate.ConflictPrefix)+" "+sk.Value] = true
				}
			case strings.HasPrefix(pk.Value, "W#"):
				if n, ok := it["records"].(*ddbtypes.AttributeValueMemberN); ok {
					var v int
					fmt.Sscan(n.Value, &v)
					summed[strings.TrimPrefix(pk.Value, "W#")] += v
				}
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	return t, nil
}

// aggregateCount is countAggregates' result: the store's figures and the
// records it lacks.
type aggregateCount struct {
	Store
	missing map[string]bool
}

// countAggregates accounts for the expected records (id -> when it was
// acknowledged) in an aggregates table, window by window, so that a window
// short of a record never hides another's extra count.
//
// A record with a marker is present. A record without one is lost, unless
// its marker may have expired — TTL deletes a marker some time after it
// expires, ttl after the record was counted, which is never before it was
// acknowledged — and its window's summary counts it: in each window the
// summary's records beyond the window's markers are first the expected
// records whose markers may have expired (ExpiredMarkers, present), and
// only the rest is DoubleCounted. Markers beyond the summary's count are
// Uncounted. windows gives each record's window (from the raw bucket); a
// record without one cannot be counted by its window and is lost unless
// it has a marker.
func countAggregates(t *aggregateTable, expected map[string]time.Time, windows map[string]string, now time.Time, ttl time.Duration) aggregateCount {
	c := aggregateCount{Store: Store{Expected: len(expected)}, missing: map[string]bool{}}
	perWindow := map[string]int{}
	for _, w := range t.markers {
		perWindow[w]++
	}
	for w, n := range t.synthMarkers {
		perWindow[w] += n
	}
	mayHaveExpired := map[string][]string{} // window -> expected ids without a marker whose marker may have expired
	for id, at := range expected {
		switch w, inRaw := windows[id]; {
		case t.markers[id] != "":
			c.Present++
		case inRaw && now.Sub(at) >= ttl-markerTTLSlack:
			mayHaveExpired[w] = append(mayHaveExpired[w], id)
		default:
			c.missing[id] = true
		}
	}
	for _, w := range sortedKeys(mergeKeys(t.summed, perWindow, mayHaveExpired)) {
		beyond := t.summed[w] - perWindow[w]
		if beyond < 0 {
			c.Uncounted += -beyond
			beyond = 0
		}
		cands := mayHaveExpired[w]
		sort.Strings(cands)
		explained := min(beyond, len(cands))
		c.ExpiredMarkers += explained
		c.DoubleCounted += beyond - explained
		for _, id := range cands[explained:] {
			c.missing[id] = true
		}
	}
	c.Present += c.ExpiredMarkers
	c.Lost = len(c.missing)
	return c
}

// markerTTLSlack is how much sooner than ttl after its acknowledgement a
// record's marker may be gone: markers hold their expiry in whole seconds,
// and the drill notes an acknowledgement when the producer gets it, a
// moment after ingest received the record.
const markerTTLSlack = time.Minute

// mergeKeys returns a map holding the keys of all three.
func mergeKeys(a, b map[string]int, c map[string][]string) map[string]bool {
	out := make(map[string]bool, len(a)+len(b)+len(c))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	for k := range c {
		out[k] = true
	}
	return out
}

// markerTTL is how long the deployed aggregate consumer keeps markers:
// its function's MARKER_TTL_DAYS, as it reads it (aggregate.ConfigFromEnv),
// in the region the accounting reads. It is read once.
func (r *run) markerTTL(ctx context.Context) time.Duration {
	if r.ttl > 0 {
		return r.ttl
	}
	r.ttl = aggregate.DefaultMarkerTTL
	l := r.l
	for _, region := range []string{r.final, l.Regions.Backup, l.Regions.Primary} {
		out, err := l.World.Region(region).Lambda().GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(l.Names.Function("aggregate"))})
		if err != nil || out.Environment == nil {
			continue
		}
		vars := out.Environment.Variables
		cfg, err := aggregate.ConfigFromEnv(func(k string) string {
			if k == "AWS_REGION" {
				return region
			}
			return vars[k]
		})
		if err == nil {
			r.ttl = cfg.MarkerTTL
		}
		break
	}
	return r.ttl
}
