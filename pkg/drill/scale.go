package drill

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// The scale scenario: failback at production volume. While P is down for a
// day, B's Firehose delivers ScaleObjects raw objects holding ScaleRecords
// records B acknowledged; failback copies them back and merges them into
// P's aggregates on its Distributed Maps, and the accounting checks every
// one of them in P's raw bucket, catalog and aggregates.
//
// What is synthetic, and only that: the records do not come from
// producers through the accelerator, B's ingest and B's stream. Each hour
// of the failover, the drill hands B's delivery stream its share of the
// objects as full buffers (sim Firehose.DeliverBuffer): Firehose names,
// compresses and writes them as B's delivery role, as it writes any buffer,
// and from there everything is the deployment's own — S3's notifications,
// B's partitions function and catalog, replication, failback. B's consumer
// does not count them (they never were in B's stream), so B's aggregates
// lack them: nothing reads B's table in failback, which merges from B's
// raw objects and then deletes it. The records' acknowledgements are the
// drill's ledger (scaleLedger), not the producers' spools: id
// scale-<n>, acknowledged by B when its object is delivered, content
// {"n":<n>}.

// The scale scenario's knobs and their ranges.
const (
	DefaultScaleRecords = 1_000_000
	DefaultScaleObjects = 100_000
	// MaxScaleRecords bounds what the simulation holds: the ledger keeps
	// a few bytes a record, the simulator's S3 and P's aggregates table a
	// few hundred.
	MaxScaleRecords = 2_000_000
	MaxScaleObjects = 200_000
	ScaleRange      = "1..2000000 records in 1..200000 objects, at most as many objects as records"
	// scaleOutage and scaleRate are the scenario's defaults for the outage
	// and the producers: a day's failover, producers at a sparse rate
	// (the synthetic objects are the volume).
	scaleOutage = 24 * time.Hour
	scaleRate   = 0.02
	// scalePrefix starts every synthetic record's id.
	scalePrefix = "scale-"
	// scaleProducer is the synthetic records' producer.
	scaleProducer = "scale"
)

func init() {
	register(&Scenario{
		Name: "scale",
		Summary: "failback at production volume: during a day's failover B's Firehose delivers --scale-objects objects of --scale-records records " +
			"B acknowledged; failback copies and merges them on its Distributed Maps",
		Expect: "PASS: failover and failback succeed, every synthetic record (and every producer's) is in P's raw bucket, catalog and aggregates once, " +
			"no execution's history (parent or child) reaches 25,000 events, no call denied",
		defaults: func(c *Config) {
			if c.Outage == 0 {
				c.Outage = scaleOutage
			}
			if c.Rate == 0 {
				c.Rate = scaleRate
			}
			if c.ScaleRecords == 0 {
				c.ScaleRecords = DefaultScaleRecords
			}
			if c.ScaleObjects == 0 {
				c.ScaleObjects = DefaultScaleObjects
			}
		},
		play: func(ctx context.Context, r *run) error {
			r.outageBegins()
			// The synthetic hours start once B serves.
			for r.alarmX == nil || !r.alarmX.Done().Fired() {
				if r.l.Now().Sub(r.outageAt) > r.cfg.Outage {
					break
				}
				if err := r.watch(ctx, 5*time.Minute); err != nil {
					return err
				}
			}
			if err := r.endFailover(ctx); err != nil {
				return err
			}
			if !r.failedOver() {
				return fmt.Errorf("scale: failover did not succeed: %s", status(r.rep.Failover))
			}
			hours := int(r.outageAt.Add(r.cfg.Outage).Sub(r.l.Now()) / time.Hour)
			if hours < 1 {
				return fmt.Errorf("scale: the outage of %s leaves no hour of failover to deliver the synthetic objects in", r.cfg.Outage)
			}
			led := newScaleLedger(r.cfg.ScaleRecords, r.cfg.ScaleObjects)
			r.scale = led
			wall := time.Now()
			for h := range hours {
				if err := led.deliverHour(r, h, hours); err != nil {
					return err
				}
				if err := r.watch(ctx, time.Hour); err != nil {
					return err
				}
			}
			r.progress("scale", "B's Firehose delivered %d synthetic objects of %d records over %d hours (%.1fs wall)", led.objects, led.records, hours, time.Since(wall).Seconds())
			if rest := r.outageAt.Add(r.cfg.Outage).Sub(r.l.Now()); rest > 0 {
				if err := r.watch(ctx, rest); err != nil {
					return err
				}
			}
			return r.recoverAndFailBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			r.expectFailedOverAndBack(ok)
			sc := r.rep.Scale
			if sc == nil {
				ok("scaleDelivered", false, "no synthetic load was delivered")
				return
			}
			ok("scaleDelivered", sc.Records == int64(r.cfg.ScaleRecords) && sc.Objects == int64(r.cfg.ScaleObjects),
				"%d records in %d objects delivered by B's Firehose (asked %d in %d)", sc.Records, sc.Objects, r.cfg.ScaleRecords, r.cfg.ScaleObjects)
			ok("scaleCopiedAndMerged", r.rep.Records.ObjectsCopiedBack >= int(sc.Objects) && r.rep.Records.ItemsMerged >= int(sc.Records),
				"failback copied %d objects and merged %d records (at least the %d synthetic objects and %d records)", r.rep.Records.ObjectsCopiedBack, r.rep.Records.ItemsMerged, sc.Objects, sc.Records)
			ok("historyUnderLimit", sc.MaxHistoryEvents < states.DefaultMaxHistoryEvents,
				"the longest history of %d executions and %d child executions: %d events (%s), limit %d", sc.Executions, sc.ChildExecutions, sc.MaxHistoryEvents, sc.MaxHistoryExecution, states.DefaultMaxHistoryEvents)
		},
	})
}

// Scale is the scale scenario's part of the report.
type Scale struct {
	// Records and Objects are the synthetic records and the objects B's
	// Firehose delivered them in.
	Records int64 `json:"records"`
	Objects int64 `json:"objects"`
	// FailbackSeconds is the failback's virtual duration: its predicted
	// AWS duration at the deployed concurrency (pendulum:failbackMaxConcurrency)
	// and batch size, with the modelled latencies.
	FailbackSeconds float64 `json:"failbackSeconds"`
	// Executions are the executions started by StartExecution that ended
	// in the run, in both regions; ChildExecutions the Distributed Maps'
	// children besides them. MaxHistoryEvents is the longest history of
	// any of either (by MaxHistoryExecution), MaxChildHistoryEvents of a
	// child.
	Executions            int64  `json:"executions"`
	ChildExecutions       int64  `json:"childExecutions"`
	MaxHistoryEvents      int    `json:"maxHistoryEvents"`
	MaxHistoryExecution   string `json:"maxHistoryExecution"`
	MaxChildHistoryEvents int    `json:"maxChildHistoryEvents"`
	// PeakRSSBytes is the drill process's peak resident set size so far
	// (getrusage ru_maxrss), when the report was made.
	PeakRSSBytes int64 `json:"peakRssBytes"`
}

// scaleLedger is the acknowledgements of the synthetic records and what
// the accounting found of each, a few bytes a record: record n is in
// object n*objects/records, acknowledged when that object was delivered.
type scaleLedger struct {
	records, objects int
	// delivered is how many objects have been delivered; at the delivery
	// instant of each (unix nanoseconds), in the record's window.
	delivered int
	at        []int64
	// What the accounting found, by record: how many times in the final
	// raw bucket (saturating), its object's partition there (index into
	// parts, +1; 0 none), and its marker in the final aggregates table
	// (markerOK: the record's window and content hash, markerOther:
	// another content hash, markerWindow: another window).
	s3     []uint8
	part   []uint32
	parts  []string
	partID map[string]uint32
	marker []uint8
}

const (
	markerOK = 1 + iota
	markerOther
	markerWindow
)

func newScaleLedger(records, objects int) *scaleLedger {
	return &scaleLedger{records: records, objects: objects, at: make([]int64, objects)}
}

// objectOf is the object record n is delivered in; firstOf the first
// record of object o.
func (l *scaleLedger) objectOf(n int) int { return int(int64(n) * int64(l.objects) / int64(l.records)) }
func (l *scaleLedger) firstOf(o int) int {
	return int((int64(o)*int64(l.records) + int64(l.objects) - 1) / int64(l.objects))
}

// id and data are record n's id and content.
func scaleID(n int) string { return scalePrefix + strconv.Itoa(n) }

func scaleData(n int) []byte { return []byte(`{"n":` + strconv.Itoa(n) + `}`) }

// scaleIndex is n for a synthetic record's id, -1 for any other id.
func (l *scaleLedger) index(id string) int {
	if l == nil || !strings.HasPrefix(id, scalePrefix) {
		return -1
	}
	n, err := strconv.Atoi(id[len(scalePrefix):])
	if err != nil || n < 0 || n >= l.records || scaleID(n) != id {
		return -1
	}
	return n
}

// deliverHour hands B's delivery stream hour h's share of the objects (of
// hours), as full buffers arriving now. The objects are delivered at one
// virtual instant, so they are shared out among as many goroutines on the
// clock as there are processors: each names, compresses and writes its
// own, side by side.
func (l *scaleLedger) deliverHour(r *run, h, hours int) error {
	fh := r.l.World.Region(r.l.Regions.Backup).Firehose()
	stream := r.l.Names.DeliveryStream()
	first, end := l.delivered, (h+1)*l.objects/hours
	now := r.l.Now().UTC()
	workers := min(runtime.GOMAXPROCS(0), max(end-first, 1))
	if err := clock.GoEach(r.l.Clock, workers, func(w int) error {
		from, to := first+w*(end-first)/workers, first+(w+1)*(end-first)/workers
		return l.deliver(fh, stream, r.l.Regions.Backup, now, first, end, from, to)
	}); err != nil {
		return err
	}
	l.delivered = end
	return nil
}

// deliver delivers objects from..to of the hour's first..end, which
// arrive spread over the hour from now.
func (l *scaleLedger) deliver(fh *sim.Firehose, stream, region string, now time.Time, first, end, from, to int) error {
	var buf []byte
	recs := make([][]byte, 0, l.records/l.objects+1)
	for o := from; o < to; o++ {
		at := now.Add(time.Duration(o-first) * time.Hour / time.Duration(end-first+1)).Truncate(time.Millisecond)
		recs, buf = recs[:0], buf[:0]
		for n := l.firstOf(o); n < l.firstOf(o+1); n++ {
			start := len(buf)
			rec := record.Record{ID: scaleID(n), TS: at, Received: at, Region: region, Producer: scaleProducer, Data: scaleData(n)}
			var err error
			if buf, err = record.AppendJSON(buf, &rec); err != nil {
				return err
			}
			// A line of B's stream, as ingest writes each record.
			buf = append(buf, '\n')
			recs = append(recs, buf[start:len(buf):len(buf)])
		}
		if err := fh.DeliverBuffer(stream, at, recs); err != nil {
			return fmt.Errorf("scale: %w", err)
		}
		l.at[o] = at.UnixNano()
	}
	return nil
}

// window is record n's aggregate window, as aggregate.EntryOf makes it.
func (l *scaleLedger) window(n int) string {
	return time.Unix(0, l.at[l.objectOf(n)]).UTC().Truncate(time.Minute).Format(aggregate.WindowLayout)
}

// startAccounting clears what an earlier read found.
func (l *scaleLedger) startAccounting() {
	l.s3, l.part, l.marker = make([]uint8, l.records), make([]uint32, l.records), make([]uint8, l.records)
	l.parts, l.partID = nil, map[string]uint32{}
}

// inRaw notes record n in the raw object key.
func (l *scaleLedger) inRaw(n int, key string) {
	if l.s3[n] < 255 {
		l.s3[n]++
	}
	pt := partitionOf(key)
	id, ok := l.partID[pt]
	if !ok {
		l.parts = append(l.parts, pt)
		id = uint32(len(l.parts))
		l.partID[pt] = id
	}
	l.part[n] = id
}

// inTable notes record n's marker, in window with content hash.
func (l *scaleLedger) inTable(n int, window, hash string) {
	switch {
	case window != l.window(n):
		l.marker[n] = markerWindow
	case hash != record.ContentHash(scaleData(n)):
		l.marker[n] = markerOther
	default:
		l.marker[n] = markerOK
	}
}

// peakRSS is the process's peak resident set size in bytes (Linux reports
// ru_maxrss in kilobytes).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// skipping is the ledger as a reader that only sets the synthetic records
// aside (measureBackup's and the other region's reads), nil without one.
func (l *scaleLedger) skipping() *scaleLedger {
	if l == nil {
		return nil
	}
	return &scaleLedger{records: l.records, objects: l.objects}
}

// counting reports whether a read notes the synthetic records it meets.
func (l *scaleLedger) counting() bool { return l != nil && l.s3 != nil }

// scaleFigures fills the report's scale part.
func (r *run) scaleFigures() {
	st := r.l.HistoryStats()
	sc := &Scale{Records: int64(r.scale.records), Objects: int64(r.scale.delivered),
		Executions: st.Executions, ChildExecutions: st.ChildExecutions, MaxHistoryEvents: st.MaxEvents,
		MaxHistoryExecution: st.MaxEventsExecution, MaxChildHistoryEvents: st.MaxChildEvents, PeakRSSBytes: peakRSS()}
	if r.scale.delivered < r.scale.objects {
		sc.Records = int64(r.scale.firstOf(r.scale.delivered))
	}
	if r.rep.Failback != nil {
		sc.FailbackSeconds = r.rep.Failback.Seconds
	}
	r.rep.Scale = sc
}
