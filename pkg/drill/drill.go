// Package drill runs the named scenarios of its catalogue (Scenarios) on a
// local installation (pkg/local) and accounts for every record. In the
// default, regional-outage, producers send through the accelerator, P goes
// down, the health alarm starts failover, producers are served by B, P
// comes back, failback runs, and the run ends with the RPO and RTO facts
// and the invariants they must meet; the other scenarios vary the outage
// (a blip, a primary lost for good, stalled replication), fail the
// primary's pipeline behind its healthy front door (partial-primary: the
// pipeline alarm notifies, nothing fails over) or rehearse the console's
// paths (an approval nobody answers, two operators at once).
//
// Times are virtual: the simulator's delays are AWS's documented figures
// (docs/aws-facts.md), so the measured durations predict the RTO in AWS. Wall time
// is reported beside them.
package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/local"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// Config is the scenario's knobs. A zero numeric knob takes its default
// (Default* below): library callers set only what they change. Any other
// value must be within its range (Min*/Max*), or Validate — which Run
// calls first — returns a *RangeError: an explicit value out of range is
// never replaced by the default.
type Config struct {
	// Scenario names the scenario of the catalogue to run
	// (DefaultScenario when empty).
	Scenario string
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
	// NewPrimaryAssembly is the app synthesized with the backup region as
	// the primary and a new backup region (cdk.out.new-primary, `make
	// synth`): the assembly the new-primary scenario deploys over
	// Assembly. Required by that scenario only.
	NewPrimaryAssembly *assembly.Assembly
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
	// ScaleRecords and ScaleObjects size the scale scenario's synthetic
	// load (DefaultScaleRecords in DefaultScaleObjects); other scenarios
	// take none (ScaleRange).
	ScaleRecords, ScaleObjects int
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
	// days; two weeks is twice the aggregate markers' TTL and the streams'
	// retention, so a drill can run past both (long-failover) — a virtual
	// day costs seconds of wall time at a low rate, and the record budget
	// below bounds a long outage at a high one.
	MinOutage = time.Minute
	MaxOutage = 14 * 24 * time.Hour
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
	return fmt.Sprintf("drill: Producers × Rate over Warmup + Outage + MinHealthyMinutes + 2 min (and the scenario's own steps) is %.0f records, more than the %d the simulation handles (MaxRecords): lower one of them", e.Records, MaxRecords)
}

// Ranges, as RangeError and the CLI's help print them.
const (
	ProducersRange         = "1..250"
	RateRange              = "> 0 and <= 100"
	WarmupRange            = "1m..24h"
	OutageRange            = "1m..336h (14 days)"
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
	if c.ScaleRecords != 0 || c.ScaleObjects != 0 {
		switch {
		case c.Scenario != "scale":
			return &RangeError{"ScaleRecords", fmt.Sprintf("%d records in %d objects", c.ScaleRecords, c.ScaleObjects), "none: the synthetic load is the scale scenario's"}
		case c.ScaleRecords < 1 || c.ScaleRecords > MaxScaleRecords:
			return &RangeError{"ScaleRecords", fmt.Sprintf("%d records in %d objects", c.ScaleRecords, c.ScaleObjects), ScaleRange}
		case c.ScaleObjects < 1 || c.ScaleObjects > MaxScaleObjects || c.ScaleObjects > c.ScaleRecords:
			return &RangeError{"ScaleObjects", fmt.Sprintf("%d records in %d objects", c.ScaleRecords, c.ScaleObjects), ScaleRange}
		}
	}
	d := c
	d.defaults()
	generating := d.Warmup + d.Outage + time.Duration(d.MinHealthyMinutes+2)*time.Minute
	if sc, err := LookupScenario(d.Scenario); err == nil {
		generating += sc.extraGenerating
	}
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
	Execution string `json:"execution"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	Cause     string `json:"cause,omitempty"`
	// StartSeconds is when the execution started, in seconds of virtual
	// time from the run's start; its steps' StartSeconds and EndSeconds
	// are from the execution's start.
	StartSeconds float64      `json:"startSeconds"`
	Seconds      float64      `json:"seconds"`
	Steps        []local.Step `json:"steps"`
	Failures     []string     `json:"failures,omitempty"`
}

// Period is a stretch of the run, in seconds of virtual time from its
// start; EndSeconds is 0 for one that had not ended when the run did.
type Period struct {
	StartSeconds float64 `json:"startSeconds"`
	EndSeconds   float64 `json:"endSeconds,omitempty"`
}

// TrafficSwitch is when a workflow moved traffic: its dr-traffic promote
// call returned, the region's load balancer at the promoted weight and the
// other region's at 0.
type TrafficSwitch struct {
	AtSeconds float64 `json:"atSeconds"`
	To        string  `json:"to"`
	Execution string  `json:"execution"`
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
	// Expect is the scenario's expected verdict and invariants.
	Expect string `json:"expect"`
	Passed bool   `json:"passed"`
	// Virtual and wall durations of the whole run.
	VirtualSeconds float64 `json:"virtualSeconds"`
	WallSeconds    float64 `json:"wallSeconds"`
	// IngestRTOSeconds: P down → the first record acknowledged after it,
	// by IngestRegion (B after a failover, P after a blip); 0 without an
	// outage.
	IngestRTOSeconds float64 `json:"ingestRtoSeconds"`
	IngestRegion     string  `json:"ingestRegion,omitempty"`
	// FullRTOSeconds: P down → that record is counted in the aggregates
	// of the region that acknowledged it (after a failover: the restore
	// done and the consumer running).
	FullRTOSeconds float64 `json:"fullRtoSeconds"`
	// AlarmSeconds: P down → the alarm started failover.
	AlarmSeconds float64 `json:"alarmSeconds"`
	// FaultSeconds is how long a consumer fault behind P's healthy front
	// door lasted (partial-primary); DetectionSeconds: the fault began →
	// the pipeline alarm went to ALARM (0: it never did); CatchUpSeconds:
	// the fault cleared → every record acknowledged before that counted
	// (0: not within the wait).
	FaultSeconds     float64   `json:"faultSeconds,omitempty"`
	DetectionSeconds float64   `json:"detectionSeconds,omitempty"`
	CatchUpSeconds   float64   `json:"catchUpSeconds,omitempty"`
	Failover         *Workflow `json:"failover,omitempty"`
	// RestoreRetry is failover {"retryRestore":true} after a degraded
	// failover.
	RestoreRetry *Workflow `json:"restoreRetry,omitempty"`
	Failback     *Workflow `json:"failback,omitempty"`
	// NightlyBatch and IsolatedDrill are the runs after failback: the
	// primary's nightly batch of the drill's day and the scheduled
	// isolated drill.
	NightlyBatch  *Workflow `json:"nightlyBatch,omitempty"`
	IsolatedDrill *Workflow `json:"isolatedDrill,omitempty"`
	// NewPrimary is the new-primary scenario's redeployment: B made the
	// primary, protected by a new backup region.
	NewPrimary *NewPrimary `json:"newPrimary,omitempty"`
	// Console is every failover execution of a console scenario, the
	// refused ones included.
	Console []*Workflow `json:"console,omitempty"`
	Records Records     `json:"records"`
	// RPO is the recovery point per store, at the outage and during
	// failover; Stores the final accounting per store (StoreS3,
	// StoreCatalog, StoreAggregates) in the region serving at the end.
	RPO    RPO              `json:"rpo"`
	Stores map[string]Store `json:"stores"`
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
	// Scale is the scale scenario's synthetic load and figures.
	Scale *Scale `json:"scale,omitempty"`

	// The timeline, in seconds of virtual time from Start (the run's
	// start): the regions, when the primary was down, the consumer fault
	// behind its healthy front door (partial-primary), every traffic
	// switch, and the records each region acknowledged in each minute
	// (AcksPerMinute[region][m] for minute m of the run, by the last
	// acknowledgement of each record).
	PrimaryRegion   string           `json:"primaryRegion"`
	BackupRegion    string           `json:"backupRegion"`
	Start           time.Time        `json:"start"`
	PrimaryDown     []Period         `json:"primaryDown,omitempty"`
	ConsumerFault   *Period          `json:"consumerFault,omitempty"`
	TrafficSwitches []TrafficSwitch  `json:"trafficSwitches,omitempty"`
	AcksPerMinute   map[string][]int `json:"acksPerMinute"`
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

// Records is the accounting of producer records (canaries excluded); the
// per-store figures are in Report.Stores and Report.RPO.
type Records struct {
	Produced      int64 `json:"produced"`
	Acknowledged  int64 `json:"acknowledged"`
	AckedByBackup int64 `json:"ackedByBackup"`
	// AtRisk is the records acknowledged by the primary before the outage
	// that none of the backup region's stores held at the outage (in P's
	// stream, delivery buffer or unreplicated objects): lost if the
	// primary never returns, recovered by failback if it does.
	AtRisk int `json:"atRisk"`
	// Conflicts is records the ingest answered as conflicting with an
	// accepted record of the same id (the producer keeps them aside).
	Conflicts int64 `json:"conflicts"`
	// DroppedAfterAck is acknowledged records the serving region's
	// aggregates count with other content under their id: acknowledged,
	// then dropped downstream (first writer wins). Unrecorded is those of
	// them without a conflict item: dropped silently.
	DroppedAfterAck int `json:"droppedAfterAck"`
	Unrecorded      int `json:"unrecorded,omitempty"`
	// ConflictItems counts the conflict items in both regions' aggregates
	// tables: records a consumer or a merge did not count because their
	// id was counted with other content (ingest cannot see ids across
	// regions; docs/ingest.md).
	ConflictItems     int `json:"conflictItems"`
	ObjectsCopiedBack int `json:"objectsCopiedBack"`
	ItemsMerged       int `json:"itemsMerged"`
	// DiscardedByConsumer counts records an aggregate consumer gave up on
	// after its retries (its on-failure destination).
	DiscardedByConsumer int `json:"discardedByConsumer"`
}

// subject names a notification: its subject, or for a CloudWatch alarm
// action (no subject) the alarm's new state.
func subject(m sim.SNSMessage) string {
	if m.Subject != "" {
		return m.Subject
	}
	var msg struct {
		AlarmName, NewStateValue string
		// The execution status rules' notices (no subject: EventBridge's
		// SNS target sets none).
		Notice, Error string
	}
	if json.Unmarshal([]byte(m.Message), &msg) == nil {
		switch {
		case msg.AlarmName != "":
			return msg.NewStateValue + ": " + msg.AlarmName
		case msg.Notice != "" && msg.Error != "":
			return msg.Notice + " (" + msg.Error + ")"
		case msg.Notice != "":
			return msg.Notice
		}
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
