// Package drill runs the regional-outage scenario on a local installation
// (pkg/local) and accounts for every record: producers send through the
// accelerator, P goes down, the health alarm starts failover, producers are
// served by B, P comes back, failback runs, and the run ends with the RPO
// and RTO facts and the invariants they must meet.
//
// Times are virtual: the simulator's delays are AWS's documented figures
// (docs/aws-facts.md), so the measured durations predict the RTO in AWS. Wall time
// is reported beside them.
package drill

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/local"
	"github.com/pendulum-dr/pendulum/pkg/producer"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// Config is the scenario's knobs. A zero numeric knob takes its default
// (Default* below): library callers set only what they change. Any other
// value must be within its range (Min*/Max*), or Validate — which Run
// calls first — returns a *RangeError: an explicit value out of range is
// never replaced by the default.
type Config struct {
	// Producers is how many producers send (2); Rate is the records per
	// second each sends (2).
	Producers int
	Rate      float64
	// Warmup is how long the workload runs before P fails (20 min).
	Warmup time.Duration
	// Outage is how long P is down (30 min).
	Outage time.Duration
	// MinHealthyMinutes is the failback precondition: P healthy for this
	// long (10).
	MinHealthyMinutes int
	// Approval makes failback wait for the drill's operator, who approves;
	// failover waits when the deployment says so (FailoverApproval).
	Approval bool
	// Assembly is the cloud assembly the drill deploys (required): what
	// `cdk deploy` would create is what the drill rehearses, so the backup
	// cadence, alarm thresholds and retention are the deployment's.
	Assembly *assembly.Assembly
	// EditTemplate, when set, changes each template before it is deployed
	// (tests of the coupling between the deployment and the drill).
	EditTemplate func(stack string, body []byte) []byte
	// HTTPS deploys with a certificate in each workload region
	// (local.Options.HTTPS): ALBs and the accelerator listen with HTTPS on
	// 443, producers, the canary and the DR probes use https.
	HTTPS bool
	// Seed makes routing choices reproducible (1). Every value is valid;
	// 0 takes the default.
	Seed uint64
	// SpoolDir holds the producers' spools ("" = a temporary directory,
	// removed at the end).
	SpoolDir string
	// Progress receives one line per phase; nil discards them.
	Progress io.Writer
	// BeforeAccounting, when set, runs just before the accounting (tests
	// use it to break an invariant on purpose).
	BeforeAccounting func(ctx context.Context, l *local.Local) error
}

// The defaults a zero knob takes.
const (
	DefaultProducers         = 2
	DefaultRate              = 2.0
	DefaultWarmup            = 20 * time.Minute
	DefaultOutage            = 30 * time.Minute
	DefaultMinHealthyMinutes = 10
	DefaultSeed              = 1
)

// The knobs' ranges: what a production DR drill may ask for, within what
// the simulation runs on a developer's machine or a CI runner.
const (
	// MaxProducers: each producer is a spool, a sender and a generator on
	// the virtual clock, and every clock step wakes them all; 250 producers
	// on the default timeline run in about 15 s, 1000 take more than five
	// minutes. A fleet larger than that is rehearsed faithfully by fewer
	// producers sending more each (the ingest path sees the same rate).
	MaxProducers = 250
	// MaxRate is records per second per producer: the generator spools one
	// burst of Rate records each virtual second, and a burst above 100 is
	// a fleet better rehearsed with more producers; the record budget
	// (MaxRecords) bounds the total. Rate must be > 0: no records, nothing
	// to account. 20 producers × 10/s (780 000 records) measured 104 s and
	// 4.5 GB.
	MaxRate = 100.0
	// MinWarmup: the primary's one-minute health-alarm period needs a
	// healthy data point, and the producers acknowledged records, before
	// the outage. MaxWarmup: a day covers the deployment's daily backup
	// (the drill starts just before 03:00 UTC); longer only adds records.
	MinWarmup = time.Minute
	MaxWarmup = 24 * time.Hour
	// MinOutage is the alarm's one-minute period: a shorter outage is not
	// a data point. An outage shorter than the deployment's alarm window
	// (its evaluation periods) is accepted, and the drill reports that the
	// alarm never started failover. MaxOutage: regional outages have lasted
	// days, and the plan must hold for a week in the backup region (the
	// drill's virtual week takes a couple of minutes of wall time at a low
	// rate; the record budget below bounds it at a high one).
	MinOutage = time.Minute
	MaxOutage = 7 * 24 * time.Hour
	// MinHealthyMinutes..MaxHealthyMinutes is what the failback state
	// machine accepts (pkg/dr), except 0: no healthy window would skip the
	// precondition the drill rehearses, and 0 here is the default.
	MinHealthyMinutes = 1
	MaxHealthyMinutes = dr.MaxHealthyMinutes
	// MaxRecords bounds the records a run produces (Producers × Rate over
	// Warmup + Outage + MinHealthyMinutes + 2 min): the simulation keeps
	// each in memory several times over (spool, streams, buckets, tables,
	// the accounting), about 6 KB a record — 500 000 is some 3 GB and a
	// minute or two of wall time.
	MaxRecords = 500_000
)

// A RangeError is a knob outside its range. Field is Config's field name.
type RangeError struct {
	Field string
	Value string // the value given, formatted
	Range string // the values allowed, e.g. "1..250"
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("drill: %s %s is out of range: want %s (0 takes the default)", e.Field, e.Value, e.Range)
}

// A BudgetError is a scenario whose knobs, each in range, would produce
// more records than MaxRecords.
type BudgetError struct {
	Records float64 // the records the scenario would produce
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("drill: Producers × Rate over Warmup + Outage + MinHealthyMinutes + 2 min is %.0f records, more than the %d the simulation handles (MaxRecords): lower one of them", e.Records, MaxRecords)
}

// Ranges, as RangeError and the CLI's help print them.
const (
	ProducersRange         = "1..250"
	RateRange              = "> 0 and <= 100"
	WarmupRange            = "1m..24h"
	OutageRange            = "1m..168h (7 days)"
	MinHealthyMinutesRange = "1..1440 (minutes)"
)

// Validate reports the first knob out of its range as a *RangeError, or a
// scenario over the record budget as a *BudgetError. A zero knob is valid
// (it takes its default); Run calls Validate before anything runs.
func (c Config) Validate() error {
	if c.Producers != 0 && (c.Producers < 1 || c.Producers > MaxProducers) {
		return &RangeError{"Producers", fmt.Sprint(c.Producers), ProducersRange}
	}
	// NaN and ±Inf fail the comparison too.
	if c.Rate != 0 && !(c.Rate > 0 && c.Rate <= MaxRate) {
		return &RangeError{"Rate", fmt.Sprint(c.Rate), RateRange}
	}
	if c.Warmup != 0 && (c.Warmup < MinWarmup || c.Warmup > MaxWarmup) {
		return &RangeError{"Warmup", c.Warmup.String(), WarmupRange}
	}
	if c.Outage != 0 && (c.Outage < MinOutage || c.Outage > MaxOutage) {
		return &RangeError{"Outage", c.Outage.String(), OutageRange}
	}
	if c.MinHealthyMinutes != 0 && (c.MinHealthyMinutes < MinHealthyMinutes || c.MinHealthyMinutes > MaxHealthyMinutes) {
		return &RangeError{"MinHealthyMinutes", fmt.Sprint(c.MinHealthyMinutes), MinHealthyMinutesRange}
	}
	d := c
	d.defaults()
	generating := d.Warmup + d.Outage + time.Duration(d.MinHealthyMinutes+2)*time.Minute
	if n := float64(d.Producers) * d.Rate * generating.Seconds(); n > MaxRecords {
		return &BudgetError{Records: n}
	}
	return nil
}

// defaults gives each zero knob its default. Only zero: Validate has
// refused anything else out of range.
func (c *Config) defaults() {
	if c.Producers == 0 {
		c.Producers = DefaultProducers
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Outage == 0 {
		c.Outage = DefaultOutage
	}
	if c.MinHealthyMinutes == 0 {
		c.MinHealthyMinutes = DefaultMinHealthyMinutes
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Workflow is one DR execution's outcome and measured steps.
type Workflow struct {
	Execution string       `json:"execution"`
	Status    string       `json:"status"`
	Error     string       `json:"error,omitempty"`
	Cause     string       `json:"cause,omitempty"`
	Seconds   float64      `json:"seconds"`
	Steps     []local.Step `json:"steps"`
	Failures  []string     `json:"failures,omitempty"`
}

// Check is one invariant.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Report is the drill's result.
type Report struct {
	Scenario string `json:"scenario"`
	Passed   bool   `json:"passed"`
	// Virtual and wall durations of the whole run.
	VirtualSeconds float64 `json:"virtualSeconds"`
	WallSeconds    float64 `json:"wallSeconds"`
	// IngestRTOSeconds: P down → first record acknowledged by B.
	IngestRTOSeconds float64 `json:"ingestRtoSeconds"`
	// FullRTOSeconds: P down → a record acknowledged by B is in B's
	// aggregates (failover done, consumer running).
	FullRTOSeconds float64 `json:"fullRtoSeconds"`
	// AlarmSeconds: P down → the alarm started failover.
	AlarmSeconds float64   `json:"alarmSeconds"`
	Failover     *Workflow `json:"failover,omitempty"`
	Failback     *Workflow `json:"failback,omitempty"`
	// NightlyBatch and IsolatedDrill are the runs after failback: the
	// primary's nightly batch of the drill's day and the scheduled
	// isolated drill.
	NightlyBatch  *Workflow `json:"nightlyBatch,omitempty"`
	IsolatedDrill *Workflow `json:"isolatedDrill,omitempty"`
	Records       Records   `json:"records"`
	// GlueCalls is every Glue API call made in the run, per operation.
	GlueCalls map[string]int `json:"glueCalls"`
	// Facts are the control record's failover and failback facts.
	Facts  json.RawMessage `json:"facts,omitempty"`
	Checks []Check         `json:"checks"`
	// Notifications are the subjects published to the DR topic, in order.
	Notifications []string `json:"notifications"`
	// RestoreSource is where failover restored the aggregates from (pitr,
	// backup, existing).
	RestoreSource string `json:"restoreSource,omitempty"`
	// RestorePointAgeSeconds is how old, at the outage, the point the
	// aggregates were restored to was: the deployed backup cadence (or
	// PITR's lag) decides it.
	RestorePointAgeSeconds float64 `json:"restorePointAgeSeconds,omitempty"`
	// Assembly is the cloud assembly the drill deployed, and Settings the
	// deployment decisions in it that shape the figures.
	Assembly string            `json:"assembly"`
	Settings map[string]string `json:"settings"`
	// Endpoint is the accelerator's URL as deployed, which producers, the
	// canary and the DR probes use (https:// with Config.HTTPS).
	Endpoint string `json:"endpoint"`
	// Invocations counts each deployed function's invocations in the run
	// ("region/function"), so the report shows which code the scenario
	// exercised.
	Invocations map[string]int `json:"invocations"`
	// Denied lists every call IAM denied in the run (role, action,
	// resource): a clean run has none.
	Denied []Denial `json:"denied"`
}

// Denial is one call IAM denied: who, what, on what, where, and when
// (seconds of virtual time into the run).
type Denial struct {
	Role     string  `json:"role"`
	Action   string  `json:"action"`
	Resource string  `json:"resource"`
	Region   string  `json:"region"`
	Via      string  `json:"via,omitempty"`
	At       float64 `json:"at"`
}

// Records is the RPO accounting of producer records (canaries excluded).
type Records struct {
	Produced       int64 `json:"produced"`
	Acknowledged   int64 `json:"acknowledged"`
	AckedByBackup  int64 `json:"ackedByBackup"`
	LandedInS3     int   `json:"landedInS3"`
	InCatalog      int   `json:"inCatalog"`
	InAggregates   int   `json:"inAggregates"`
	LostS3         int   `json:"lostS3"`
	LostAggregates int   `json:"lostAggregates"`
	DoubleCounted  int64 `json:"doubleCounted"`
	// Partitions is how many dt/hr partitions hold records in P's raw
	// bucket; MissingPartitions those P's catalog lacks.
	Partitions        int `json:"partitions"`
	MissingPartitions int `json:"missingPartitions"`
	ObjectsCopiedBack int `json:"objectsCopiedBack"`
	ItemsMerged       int `json:"itemsMerged"`
	// DiscardedByConsumer counts records an aggregate consumer gave up on
	// after its retries (its on-failure destination).
	DiscardedByConsumer int `json:"discardedByConsumer"`
}

// drillStart is when the drill deploys the installation: just before the
// deployed backup plan's daily 03:00 UTC run, so that a recovery point
// copied to the backup region exists when the primary fails after the
// warm-up, as it would a day into production. With the daily cadence the
// copy holds only the minutes of records before 03:00: the report's
// restore source and the records counted in the backup region's
// aggregates show what that means for the failover.
var drillStart = time.Date(2026, 11, 25, 2, 55, 0, 0, time.UTC)

// run is one drill in progress.
type run struct {
	cfg       Config
	l         *local.Local
	wallStart time.Time
	virtStart time.Time

	mu         sync.Mutex
	acked      map[string]string // record id -> region that acknowledged it
	outage     time.Time
	firstBID   string
	generating bool
}

func (r *run) progress(phase, format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "[virtual +%8s | wall %6.2fs] %-10s %s\n",
		r.l.Now().Sub(r.virtStart).Truncate(time.Second), time.Since(r.wallStart).Seconds(), phase, fmt.Sprintf(format, args...))
}

// Run runs the regional-outage drill and returns its report. The error is
// for a drill that could not run at all; a drill that ran and found a
// problem returns a report with Passed false.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	r := &run{cfg: cfg, wallStart: time.Now(), acked: map[string]string{}}
	approver := func(ctx context.Context, a local.Approval) {
		r.progress("approval", "operator approves %s (%s)", a.State, a.Subject)
		_ = r.l.Approve(a.Token)
	}
	l, err := local.New(ctx, local.Options{Assembly: cfg.Assembly, EditTemplate: cfg.EditTemplate, HTTPS: cfg.HTTPS, Approver: approver, Seed: cfg.Seed, Start: drillStart})
	if err != nil {
		return nil, err
	}
	r.l = l
	defer l.Close()
	r.virtStart = l.Now()
	rep := &Report{Scenario: "regional-outage", Records: Records{}}
	// The drill's own reads (has B counted its first record yet? the
	// accounting) observe the timeline without taking part in it.
	observe := sim.Unmetered(ctx)
	P, B := l.Regions.Primary, l.Regions.Backup
	rep.Assembly, rep.Settings, rep.Endpoint = cfg.Assembly.Dir, l.Settings(), l.AcceleratorURL
	r.progress("setup", "deployed %s (%d stacks) with IAM enforced", cfg.Assembly.Dir, len(cfg.Assembly.Stacks))
	r.progress("setup", "installation ready: P=%s (active), B=%s (dormant), accelerator %s", P, B, l.AcceleratorURL)

	spool := cfg.SpoolDir
	if spool == "" {
		d, err := os.MkdirTemp("", "pendulum-drill-")
		if err != nil {
			return nil, fmt.Errorf("spool dir: %w", err)
		}
		defer os.RemoveAll(d)
		spool = d
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	prods, err := r.startProducers(pctx, spool)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, p := range prods {
			p.Close()
		}
	}()
	r.progress("steady", "%d producers × %.1f records/s through the accelerator", cfg.Producers, cfg.Rate)
	if err := l.Sleep(ctx, cfg.Warmup); err != nil {
		return nil, err
	}

	// The outage.
	down := l.Now()
	r.outage = down
	l.World.SetDown(P, true)
	r.progress("outage", "%s is down", P)
	var failoverX *states.Execution
	fullRTO := time.Duration(0)
	failoverDone := false
	// watch advances time in 15 s steps for d, noting when the alarm starts
	// failover and when B's aggregates first count a record B acknowledged.
	watch := func(d time.Duration) error {
		for end := l.Now().Add(d); l.Now().Before(end); {
			if err := l.Sleep(ctx, 15*time.Second); err != nil {
				return err
			}
			if failoverX == nil {
				if arns := l.AlarmExecutions(); len(arns) > 0 {
					failoverX, _ = l.Engine.Execution(arns[0])
					// When the execution started, not when this 15 s watch saw it.
					rep.AlarmSeconds = failoverX.Result().StartDate.Sub(down).Seconds()
					r.progress("failover", "alarm started failover %s", failoverX.Name())
				}
			}
			if failoverX != nil && !failoverDone && failoverX.Done().Fired() {
				failoverDone = true
				r.progress("failover", "%s ended: %s", failoverX.Name(), failoverX.Result().Status)
			}
			if fullRTO == 0 && r.backupCounted(observe) {
				fullRTO = l.Now().Sub(down)
				r.progress("failover", "records acknowledged by %s are counted in its aggregates", B)
			}
		}
		return nil
	}
	if err := watch(cfg.Outage); err != nil {
		return nil, err
	}
	if failoverX != nil {
		res, err := failoverX.Wait(ctx)
		if err != nil {
			return nil, err
		}
		rep.Failover = r.workflow("failover", failoverX, res)
		r.progress("failover", "%s after %.0fs", res.Status, rep.Failover.Seconds)
	} else {
		r.progress("failover", "the alarm never started failover")
	}
	// P comes back; failback once it has been healthy long enough.
	l.World.SetDown(P, false)
	r.progress("recovery", "%s is back; failback after %d healthy minutes", P, cfg.MinHealthyMinutes)
	if err := watch(time.Duration(cfg.MinHealthyMinutes+2) * time.Minute); err != nil {
		return nil, err
	}
	if fb := l.RegionStats(B).FirstAck; !fb.IsZero() {
		rep.IngestRTOSeconds = fb.Sub(down).Seconds()
	}
	rep.FullRTOSeconds = fullRTO.Seconds()
	if rep.Failover != nil && rep.Failover.Status == string(states.StatusSucceeded) {
		input := fmt.Sprintf(`{"reason":"drill","minHealthyMinutes":%d,"approval":%t}`, cfg.MinHealthyMinutes, cfg.Approval)
		arn, err := l.StartExecution(ctx, "failback", "", input)
		if err != nil {
			return nil, err
		}
		x, _ := l.Engine.Execution(arn)
		r.progress("failback", "started %s", x.Name())
		res, err := x.Wait(ctx)
		if err != nil {
			return nil, err
		}
		rep.Failback = r.workflow("failback", x, res)
		r.progress("failback", "%s after %.0fs", res.Status, rep.Failback.Seconds)
	}

	// Stop producing, deliver what is spooled, let the pipeline settle.
	r.mu.Lock()
	r.generating = false
	r.mu.Unlock()
	for i := 0; i < 40 && pending(prods) > 0; i++ {
		if err := l.Sleep(ctx, 15*time.Second); err != nil {
			return nil, err
		}
	}
	if err := l.Sleep(ctx, 10*time.Minute); err != nil {
		return nil, err
	}
	// After failback, the rest of the installation's code runs as it would
	// the next day: the nightly batch compacts the drill's day in P (the
	// records written in B included, copied back), and the scheduled
	// isolated drill checks B could recover again.
	day := l.Now().Format("2006-01-02")
	bx, bres, err := l.RunIn(ctx, P, "nightly-batch", fmt.Sprintf(`{"date":%q}`, day))
	if err != nil {
		return nil, err
	}
	rep.NightlyBatch = r.workflow("nightly-batch", bx, bres)
	r.progress("batch", "nightly batch of %s in %s: %s", day, P, bres.Status)
	dx, dres, err := l.Run(ctx, "drill", `{"mode":"isolated"}`)
	if err != nil {
		return nil, err
	}
	rep.IsolatedDrill = r.workflow("drill", dx, dres)
	r.progress("drill", "isolated drill in %s: %s", B, dres.Status)
	r.progress("accounting", "producers idle (%d records pending); counting", pending(prods))
	if cfg.BeforeAccounting != nil {
		if err := cfg.BeforeAccounting(observe, l); err != nil {
			return nil, fmt.Errorf("before accounting: %w", err)
		}
	}
	if err := r.account(observe, rep, prods); err != nil {
		return nil, err
	}
	rep.VirtualSeconds = l.Now().Sub(r.virtStart).Seconds()
	rep.WallSeconds = time.Since(r.wallStart).Seconds()
	r.progress("done", "passed=%t", rep.Passed)
	return rep, nil
}

func pending(ps []*producer.Producer) int64 {
	var n int64
	for _, p := range ps {
		n += p.Stats().Pending
	}
	return n
}

// regionRecorder notes which region answered each producer's last request,
// so OnAck (called right after, in the same goroutine) knows who
// acknowledged the batch.
type regionRecorder struct {
	next http.RoundTripper
	last string
}

// RoundTrip sends the request and notes the region that answered.
func (rr *regionRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rr.next.RoundTrip(req)
	if err == nil {
		rr.last = resp.Header.Get(local.RegionHeader)
	}
	return resp, err
}

// startProducers opens the producers and runs each with a generator at
// the configured rate, until the drill stops generating.
func (r *run) startProducers(ctx context.Context, spool string) ([]*producer.Producer, error) {
	l := r.l
	r.generating = true
	var prods []*producer.Producer
	// Each producer spools a burst every second (rate records on average):
	// per-record timers would cost wall time without changing the picture.
	perSecond := r.cfg.Rate
	for i := range r.cfg.Producers {
		name := fmt.Sprintf("drill-%d", i+1)
		rec := &regionRecorder{next: l.HTTPClient().Transport}
		p, err := producer.Open(producer.Config{
			Dir: spool + "/" + name, Endpoint: l.AcceleratorURL, Client: &http.Client{Transport: rec},
			Clock: l.Clock, Name: name, NoSync: true,
			OnAck: func(ids []string) {
				r.mu.Lock()
				defer r.mu.Unlock()
				for _, id := range ids {
					r.acked[id] = rec.last
					if rec.last == l.Regions.Backup && r.firstBID == "" {
						r.firstBID = id
					}
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("open producer %s: %w", name, err)
		}
		prods = append(prods, p)
		l.Clock.Go(func() { _ = p.Run(ctx) })
		seq := 0
		l.Clock.Go(func() {
			owed := 0.0
			for {
				r.mu.Lock()
				on := r.generating
				r.mu.Unlock()
				if !on {
					return
				}
				for owed += perSecond; owed >= 1; owed-- {
					seq++
					if _, err := p.Produce(ctx, fmt.Appendf(nil, `{"id":"%s-%06d","reading":%d}`, name, seq, seq)); err != nil {
						return
					}
				}
				if err := l.Clock.Sleep(ctx, time.Second); err != nil {
					return
				}
			}
		})
	}
	return prods, nil
}

// backupCounted reports whether the first record B acknowledged is counted
// in B's aggregates table.
func (r *run) backupCounted(ctx context.Context) bool {
	r.mu.Lock()
	id := r.firstBID
	r.mu.Unlock()
	if id == "" {
		return false
	}
	out, err := r.l.World.Region(r.l.Regions.Backup).DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.l.Names.AggregatesTable()),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "R#" + id}, "sk": &ddbtypes.AttributeValueMemberS{Value: "R"}}})
	return err == nil && len(out.Item) > 0
}

func (r *run) workflow(machine string, x *states.Execution, res states.Result) *Workflow {
	w := &Workflow{Execution: x.ARN(), Status: string(res.Status), Error: res.Error, Cause: res.Cause,
		Seconds: res.StopDate.Sub(res.StartDate).Seconds()}
	w.Steps, _ = r.l.StepDurations(machine, x)
	if res.Status != states.StatusSucceeded {
		w.Failures = local.FailureLog(x)
	}
	return w
}

// account counts every acknowledged record where it must be after
// failback: P's raw bucket, P's catalog, P's aggregates.
func (r *run) account(ctx context.Context, rep *Report, prods []*producer.Producer) error {
	l := r.l
	P := l.Regions.Primary
	for _, p := range prods {
		s := p.Stats()
		rep.Records.Produced += s.Produced
		rep.Records.Acknowledged += s.Acknowledged
	}
	r.mu.Lock()
	acked := make(map[string]string, len(r.acked))
	for id, region := range r.acked {
		acked[id] = region
		if region == l.Regions.Backup {
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

	// P's raw bucket.
	inS3, parts, err := rawRecords(ctx, l.World.Region(P).S3(), l.Names.Bucket("raw", P))
	if err != nil {
		return err
	}
	for id := range acked {
		if inS3[id] {
			rep.Records.LandedInS3++
		}
	}
	rep.Records.LostS3 = len(acked) - rep.Records.LandedInS3
	// P's catalog has every partition holding records.
	g := l.World.Region(P).Glue()
	rep.Records.Partitions = len(parts)
	for _, pt := range sortedKeys(parts) {
		dt, hr, _ := strings.Cut(pt, "/")
		if _, err := g.GetPartition(ctx, &glue.GetPartitionInput{DatabaseName: aws.String(l.Names.GlueDatabase()), TableName: aws.String("raw"),
			PartitionValues: []string{dt, hr}}); err != nil {
			rep.Records.MissingPartitions++
			continue
		}
		for _, id := range parts[pt] {
			if _, ok := acked[id]; ok {
				rep.Records.InCatalog++
			}
		}
	}
	// P's aggregates: markers, and summaries adding up to them.
	markers, summed, err := aggregates(ctx, l.World.Region(P).DynamoDB(), l.Names.AggregatesTable())
	if err != nil {
		return err
	}
	for id := range acked {
		if markers[id] {
			rep.Records.InAggregates++
		}
	}
	rep.Records.LostAggregates = len(acked) - rep.Records.InAggregates
	rep.Records.DoubleCounted = summed - int64(len(markers))

	// Failover and failback facts from the control record.
	out, err := l.World.Region(l.Regions.Backup).DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.Names.ControlTable()),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "dr"}}})
	mode := "PRIMARY"
	if err == nil && out.Item != nil {
		if m, ok := out.Item["mode"].(*ddbtypes.AttributeValueMemberS); ok {
			mode = m.Value
		}
		facts := map[string]json.RawMessage{}
		for _, k := range []string{"failoverFacts", "failbackFacts"} {
			if v, ok := out.Item[k].(*ddbtypes.AttributeValueMemberS); ok {
				facts[k] = json.RawMessage(v.Value)
			}
		}
		rep.Facts, _ = json.Marshal(facts)
		rep.Records.ObjectsCopiedBack, rep.Records.ItemsMerged = copiedMerged(facts["failbackFacts"])
	}

	for _, m := range l.World.Region(l.Regions.Backup).SNS().Published(l.Names.TopicARN(l.Regions.Backup)) {
		rep.Notifications = append(rep.Notifications, subject(m))
	}
	if rep.Facts != nil {
		var f struct {
			FailoverFacts struct {
				Restore struct {
					Source          string
					RestoreDateTime time.Time
				} `json:"restore"`
			} `json:"failoverFacts"`
		}
		if json.Unmarshal(rep.Facts, &f) == nil {
			rep.RestoreSource = f.FailoverFacts.Restore.Source
			if at := f.FailoverFacts.Restore.RestoreDateTime; !at.IsZero() && !r.outage.IsZero() {
				rep.RestorePointAgeSeconds = r.outage.Sub(at).Seconds()
			}
		}
	}

	ok := func(name string, passed bool, format string, args ...any) {
		rep.Checks = append(rep.Checks, Check{Name: name, Passed: passed, Detail: fmt.Sprintf(format, args...)})
	}
	ok("failoverSucceeded", rep.Failover != nil && rep.Failover.Status == string(states.StatusSucceeded), "failover: %s", status(rep.Failover))
	ok("failbackSucceeded", rep.Failback != nil && rep.Failback.Status == string(states.StatusSucceeded), "failback: %s", status(rep.Failback))
	ok("nightlyBatchSucceeded", rep.NightlyBatch != nil && rep.NightlyBatch.Status == string(states.StatusSucceeded), "nightly batch: %s", status(rep.NightlyBatch))
	ok("isolatedDrillSucceeded", rep.IsolatedDrill != nil && rep.IsolatedDrill.Status == string(states.StatusSucceeded), "isolated drill: %s", status(rep.IsolatedDrill))
	ok("modePrimary", mode == "PRIMARY", "DR mode at the end: %s", mode)
	ok("backupServed", rep.Records.AckedByBackup > 0, "%d records acknowledged by %s", rep.Records.AckedByBackup, l.Regions.Backup)
	ok("allAcknowledged", rep.Records.Acknowledged == rep.Records.Produced, "%d of %d produced records acknowledged", rep.Records.Acknowledged, rep.Records.Produced)
	ok("noneLostInS3", rep.Records.LostS3 == 0, "%d acknowledged records missing from %s", rep.Records.LostS3, l.Names.Bucket("raw", P))
	ok("catalogComplete", rep.Records.MissingPartitions == 0, "%d of %d partitions missing from %s's catalog", rep.Records.MissingPartitions, rep.Records.Partitions, P)
	ok("noneLostInAggregates", rep.Records.LostAggregates == 0, "%d acknowledged records missing from %s's aggregates", rep.Records.LostAggregates, P)
	ok("noneDoubleCounted", rep.Records.DoubleCounted == 0, "window summaries count %d records more than the markers", rep.Records.DoubleCounted)
	for _, f := range l.Discarded() {
		rep.Records.DiscardedByConsumer += f.BatchSize
	}
	rep.Invocations = l.Invocations()
	rep.Denied = []Denial{}
	for _, d := range l.Denied() {
		rep.Denied = append(rep.Denied, Denial{Role: d.Principal, Action: d.Action, Resource: d.Resource, Region: d.Region, Via: d.Via, At: d.Time.Sub(r.virtStart).Seconds()})
	}
	ok("noAccessDenied", len(rep.Denied) == 0, "%d calls denied by IAM", len(rep.Denied))
	ok("noneDiscardedByConsumer", rep.Records.DiscardedByConsumer == 0, "%d records sent to a consumer's on-failure destination", rep.Records.DiscardedByConsumer)
	rep.Passed = true
	for _, c := range rep.Checks {
		rep.Passed = rep.Passed && c.Passed
	}
	return nil
}

// subject names a notification: its subject, or for a CloudWatch alarm
// action (no subject) the alarm's new state.
func subject(m sim.SNSMessage) string {
	if m.Subject != "" {
		return m.Subject
	}
	var alarm struct{ AlarmName, NewStateValue string }
	if json.Unmarshal([]byte(m.Message), &alarm) == nil && alarm.AlarmName != "" {
		return alarm.NewStateValue + ": " + alarm.AlarmName
	}
	if len(m.Message) > 60 {
		return m.Message[:60] + "…"
	}
	return m.Message
}

func status(w *Workflow) string {
	if w == nil {
		return "not run"
	}
	if w.Error != "" {
		return w.Status + " (" + w.Error + ")"
	}
	return w.Status
}

// copiedMerged reads the failback facts' copy and merge totals.
func copiedMerged(facts json.RawMessage) (copied, merged int) {
	var f struct {
		C1 map[string]int `json:"copy1"`
		C2 map[string]int `json:"copy2"`
		M1 map[string]int `json:"merge1"`
		M2 map[string]int `json:"merge2"`
	}
	if len(facts) == 0 || json.Unmarshal(facts, &f) != nil {
		return 0, 0
	}
	return f.C1["copied"] + f.C2["copied"], f.M1["merged"] + f.M2["merged"]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// rawRecords reads every object of a raw bucket (GZIP NDJSON) and returns
// the producer record ids found and the ids per "dt/hr" partition.
func rawRecords(ctx context.Context, c *sim.S3, bucket string) (map[string]bool, map[string][]string, error) {
	ids := map[string]bool{}
	parts := map[string][]string{}
	var token *string
	for {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), ContinuationToken: token})
		if err != nil {
			return nil, nil, fmt.Errorf("list %s: %w", bucket, err)
		}
		for _, o := range out.Contents {
			key := aws.ToString(o.Key)
			if !strings.HasPrefix(key, "dt=") {
				continue
			}
			dtPart, rest, _ := strings.Cut(key, "/")
			hrPart, _, _ := strings.Cut(rest, "/")
			pt := strings.TrimPrefix(dtPart, "dt=") + "/" + strings.TrimPrefix(hrPart, "hr=")
			obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				return nil, nil, fmt.Errorf("get %s: %w", key, err)
			}
			body, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				return nil, nil, err
			}
			if strings.HasSuffix(key, ".gz") || bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					return nil, nil, fmt.Errorf("gunzip %s: %w", key, err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					return nil, nil, fmt.Errorf("gunzip %s: %w", key, err)
				}
			}
			sc := bufio.NewScanner(bytes.NewReader(body))
			sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
			for sc.Scan() {
				var rec record.Record
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Canary {
					continue
				}
				ids[rec.ID] = true
				parts[pt] = append(parts[pt], rec.ID)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return ids, parts, nil
		}
		token = out.NextContinuationToken
	}
}

// aggregates scans an aggregates table: the record ids with a marker and
// the records the window summaries count.
func aggregates(ctx context.Context, db *sim.DynamoDB, table string) (map[string]bool, int64, error) {
	markers := map[string]bool{}
	var summed int64
	var start map[string]ddbtypes.AttributeValue
	for {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start})
		if err != nil {
			return nil, 0, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, it := range out.Items {
			pk, _ := it["pk"].(*ddbtypes.AttributeValueMemberS)
			if pk == nil {
				continue
			}
			switch {
			case strings.HasPrefix(pk.Value, "R#"):
				markers[strings.TrimPrefix(pk.Value, "R#")] = true
			case strings.HasPrefix(pk.Value, "W#"):
				if n, ok := it["records"].(*ddbtypes.AttributeValueMemberN); ok {
					var v int64
					fmt.Sscan(n.Value, &v)
					summed += v
				}
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return markers, summed, nil
		}
		start = out.LastEvaluatedKey
	}
}
