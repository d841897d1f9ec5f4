package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/local"
	"github.com/pendulum-dr/pendulum/pkg/producer"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// The drill deploys at local.BeforeBackup, so that a recovery point copied
// to the backup region exists when the primary fails after the warm-up. With
// the daily cadence the copy holds only the minutes of records before 03:00:
// the report's restore source and the backup region's aggregates RPO show
// what that means for the failover.

// ack is one acknowledged record: who acknowledged it, when, and the
// content hash of what was acknowledged (record.ContentHash).
type ack struct {
	region string
	at     time.Time
	hash   string
}

// run is one drill in progress.
type run struct {
	cfg       Config
	sc        *Scenario
	l         *local.Local
	rep       *Report
	prods     []*producer.Producer
	wallStart time.Time
	virtStart time.Time
	// outageAt is when the primary fails, if the scenario has an outage
	// (the end of the warm-up).
	outageAt time.Time
	// final is the region whose stores the accounting reads: the primary,
	// unless the scenario leaves the backup region serving.
	final string
	// orig is the installation's topology as first deployed: the primary
	// that fails and the backup region that takes over. A scenario that
	// redeploys the installation (new-primary) changes l.Regions, not this.
	orig topology.Regions
	// np is the new-primary scenario's redeployment, when it ran.
	np *NewPrimary
	// noAnswer leaves approval requests unanswered.
	noAnswer bool
	// mode is the DR mode at the end; rollbackMode after an operator's
	// rollback (failover-stopped).
	mode, rollbackMode string

	// alarmX is the failover execution the alarm started; console the
	// executions the scenario started itself.
	alarmX       *states.Execution
	console      []*states.Execution
	failoverSeen bool
	fullRTO      time.Duration
	// outage-during-failback's runs, and the control record's failover
	// start after the first failover and at the end.
	firstFailback, secondFailover *Workflow
	sinceFirst, sinceAtEnd        string
	// returned is when long-failover's primary came back, and
	// copyAfterReturn the first recovery point copied to B made after it.
	returned        time.Time
	copyAfterReturn string
	// atOutage is what the stores held at the outage instant.
	atOutage *picture
	// pipe is what the drill saw of the pipeline alarm and of a consumer
	// fault (partial-primary).
	pipe pipelineWatch
	// ttl is the deployed markers' TTL (markerTTL), once read.
	ttl time.Duration

	// spool is the producers' spool directory.
	spool string
	// crossConflicts is how many ids the scenario has had acknowledged
	// with one content by the primary and another by the backup region.
	crossConflicts int
	// scale is the scale scenario's synthetic records (nil in the others).
	scale *scaleLedger

	// downs are the periods the primary was down (setPrimaryDown).
	downs []Period
	// switches are the traffic switches of the workflows recorded so far.
	switches []TrafficSwitch

	mu         sync.Mutex
	acked      map[string]ack // record id -> who acknowledged it, when (the last acknowledgement)
	outage     time.Time      // zero until the primary fails
	firstAfter string         // the first record acknowledged after the outage began
	firstAt    time.Time
	generating bool
}

func (r *run) progress(phase, format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "[virtual +%8s | wall %6.2fs] %-10s %s\n",
		r.l.Now().Sub(r.virtStart).Truncate(time.Second), time.Since(r.wallStart).Seconds(), phase, fmt.Sprintf(format, args...))
}

// Planned is cfg as the scenario it names would run it: every knob left
// zero takes the scenario's default, then the drill's. A scenario not in
// the catalogue leaves the knobs to the drill's defaults.
func Planned(cfg Config) Config {
	if sc, err := LookupScenario(cfg.scenarioName()); err == nil {
		cfg = cfg.withScenarioDefaults(sc)
	}
	cfg.defaults()
	return cfg
}

func (c Config) scenarioName() string {
	if c.Scenario == "" {
		return DefaultScenario
	}
	return c.Scenario
}

// withScenarioDefaults is c with the scenario's own knob defaults set.
func (c Config) withScenarioDefaults(sc *Scenario) Config {
	if sc.defaults != nil {
		sc.defaults(&c)
	}
	return c
}

// Run runs the scenario cfg names (DefaultScenario when empty) and returns
// its report. The error is for a drill that could not run at all; a drill
// that ran and found a problem returns a report with Passed false.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Scenario == "" {
		cfg.Scenario = DefaultScenario
	}
	sc, err := LookupScenario(cfg.Scenario)
	if err != nil {
		return nil, err
	}
	if err := cfg.withScenarioDefaults(sc).Validate(); err != nil {
		return nil, err
	}
	cfg = Planned(cfg)
	r := &run{cfg: cfg, sc: sc, wallStart: time.Now(), acked: map[string]ack{}}
	approver := func(ctx context.Context, a local.Approval) {
		if r.noAnswer {
			r.progress("approval", "nobody answers %s (%s)", a.State, a.Subject)
			return
		}
		r.progress("approval", "operator approves %s (%s)", a.State, a.Subject)
		_ = r.l.Approve(a.Token)
	}
	l, err := local.New(ctx, local.Options{Assembly: cfg.Assembly, EditTemplate: cfg.EditTemplate, HTTPS: cfg.HTTPS, Approver: approver, Seed: cfg.Seed, Start: local.BeforeBackup})
	if err != nil {
		return nil, err
	}
	r.l = l
	defer l.Close()
	r.virtStart = l.Now()
	r.outageAt = r.virtStart.Add(cfg.Warmup)
	r.final = l.Regions.Primary
	r.orig = l.Regions
	r.rep = &Report{Scenario: sc.Name, Expect: sc.Expect, PrimaryRegion: l.Regions.Primary, BackupRegion: l.Regions.Backup, Start: r.virtStart}
	rep := r.rep
	P, B := l.Regions.Primary, l.Regions.Backup
	rep.Assembly, rep.Settings, rep.Endpoint = cfg.Assembly.Dir, l.Settings(), l.AcceleratorURL
	if sc.newPrimary && cfg.NewPrimaryAssembly == nil {
		return nil, fmt.Errorf("drill: scenario %s redeploys the installation from a second cloud assembly: Config.NewPrimaryAssembly is required (make synth writes cdk.out%s)", sc.Name, assembly.NewPrimarySuffix)
	}
	r.progress("setup", "scenario %s: %s", sc.Name, sc.Summary)
	r.progress("setup", "deployed %s (%d stacks) with IAM enforced", cfg.Assembly.Dir, len(cfg.Assembly.Stacks))
	r.progress("setup", "installation ready: P=%s (active), B=%s (dormant), accelerator %s", P, B, l.AcceleratorURL)
	if sc.setup != nil {
		sc.setup(r)
	}

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
	r.prods = prods
	defer func() {
		for _, p := range prods {
			p.Close()
		}
	}()
	r.progress("steady", "%d producers × %.1f records/s through the accelerator", cfg.Producers, cfg.Rate)
	if err := l.Sleep(ctx, cfg.Warmup); err != nil {
		return nil, err
	}
	if err := sc.play(ctx, r); err != nil {
		return nil, err
	}
	if !r.outage.IsZero() {
		if t := r.firstAt; !t.IsZero() {
			rep.IngestRTOSeconds = t.Sub(r.outage).Seconds()
			r.mu.Lock()
			rep.IngestRegion = r.acked[r.firstAfter].region
			r.mu.Unlock()
		}
		rep.FullRTOSeconds = r.fullRTO.Seconds()
	}
	if p := r.pipe; !p.faultAt.IsZero() {
		if !p.alarmAt.IsZero() {
			rep.DetectionSeconds = p.alarmAt.Sub(p.faultAt).Seconds()
		}
		if !p.caughtUpAt.IsZero() {
			rep.CatchUpSeconds = p.caughtUpAt.Sub(p.clearedAt).Seconds()
		}
		rep.FaultSeconds = p.clearedAt.Sub(p.faultAt).Seconds()
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
	r.mode = r.controlMode(ctx)
	if sc.after != nil {
		if err := sc.after(ctx, r); err != nil {
			return nil, err
		}
	}
	// The next day's runs, in the installation as it is now: the primary
	// it was deployed with or, redeployed, the new one.
	if r.final == l.Regions.Primary && r.mode == "PRIMARY" {
		if err := r.nextDay(ctx); err != nil {
			return nil, err
		}
	}
	r.progress("accounting", "producers idle (%d records pending); counting in %s", pending(prods), r.final)
	if cfg.BeforeAccounting != nil {
		if err := cfg.BeforeAccounting(sim.Unmetered(ctx), l); err != nil {
			return nil, fmt.Errorf("before accounting: %w", err)
		}
	}
	rep.NewPrimary = r.np
	if err := r.account(ctx); err != nil {
		return nil, err
	}
	rep.VirtualSeconds = l.Now().Sub(r.virtStart).Seconds()
	rep.WallSeconds = time.Since(r.wallStart).Seconds()
	r.timeline()
	r.progress("done", "passed=%t", rep.Passed)
	return rep, nil
}

// nextDay runs the rest of the installation's code as it would the next
// day: the nightly batch compacts the drill's day in P (the records
// written in B included, copied back), and the scheduled isolated drill
// checks B could recover again.
func (r *run) nextDay(ctx context.Context) error {
	l := r.l
	day := l.Now().Format("2006-01-02")
	bx, bres, err := l.RunIn(ctx, l.Regions.Primary, "nightly-batch", fmt.Sprintf(`{"date":%q}`, day))
	if err != nil {
		return err
	}
	r.rep.NightlyBatch = r.workflow("nightly-batch", bx, bres)
	r.progress("batch", "nightly batch of %s in %s: %s", day, l.Regions.Primary, bres.Status)
	dx, dres, err := l.Run(ctx, "drill", `{"mode":"isolated"}`)
	if err != nil {
		return err
	}
	r.rep.IsolatedDrill = r.workflow("drill", dx, dres)
	r.progress("drill", "isolated drill in %s: %s", l.Regions.Backup, dres.Status)
	return nil
}

// outageBegins takes the picture of the stores at the outage instant and
// takes the primary region down.
func (r *run) outageBegins() {
	l := r.l
	snap, err := r.picture(context.Background())
	if err != nil {
		r.progress("outage", "could not read the stores at the outage: %v", err)
	}
	r.atOutage = snap
	r.mu.Lock()
	r.outage = l.Now()
	r.mu.Unlock()
	r.setPrimaryDown(true)
	r.progress("outage", "%s is down", l.Regions.Primary)
}

// outageFor takes the primary down for d, watching the alarm and failover.
func (r *run) outageFor(ctx context.Context, d time.Duration) error {
	r.outageBegins()
	if err := r.watch(ctx, d); err != nil {
		return err
	}
	return r.endFailover(ctx)
}

// endFailover waits for the alarm's failover, if it started one, and
// records it.
func (r *run) endFailover(ctx context.Context) error {
	if r.alarmX == nil {
		r.progress("failover", "the alarm never started failover")
		return nil
	}
	if r.rep.Failover != nil {
		return nil
	}
	res, err := r.alarmX.Wait(ctx)
	if err != nil {
		return err
	}
	r.rep.Failover = r.workflow("failover", r.alarmX, res)
	r.progress("failover", "%s after %.0fs", res.Status, r.rep.Failover.Seconds)
	return nil
}

// failedOver reports whether B took over: failover succeeded, or its
// restore retried alone did.
func (r *run) failedOver() bool { return succeeded(r.rep.Failover) || succeeded(r.rep.RestoreRetry) }

// primaryReturns brings the primary back.
func (r *run) primaryReturns() {
	r.measureBackup(context.Background())
	r.setPrimaryDown(false)
	r.progress("recovery", "%s is back", r.l.Regions.Primary)
}

// recoverAndFailBack brings the primary back and, once it has been healthy
// for the failback precondition, fails back (when failover succeeded).
func (r *run) recoverAndFailBack(ctx context.Context) error {
	r.primaryReturns()
	r.progress("recovery", "failback after %d healthy minutes", r.cfg.MinHealthyMinutes)
	if err := r.watch(ctx, time.Duration(r.cfg.MinHealthyMinutes+2)*time.Minute); err != nil {
		return err
	}
	if !r.failedOver() {
		return nil
	}
	return r.failBack(ctx)
}

// failBack runs failback as the operator would start it after a drill.
func (r *run) failBack(ctx context.Context) error {
	r.measureBackup(ctx)
	input := fmt.Sprintf(`{"reason":"drill","minHealthyMinutes":%d,"approval":%t}`, r.cfg.MinHealthyMinutes, r.cfg.Approval)
	arn, err := r.l.StartExecution(ctx, "failback", "", input)
	if err != nil {
		return err
	}
	x, _ := r.l.Engine.Execution(arn)
	r.progress("failback", "started %s", x.Name())
	res, err := x.Wait(ctx)
	if err != nil {
		return err
	}
	r.rep.Failback = r.workflow("failback", x, res)
	r.progress("failback", "%s after %.0fs", res.Status, r.rep.Failback.Seconds)
	return nil
}

// watch advances time in 15 s steps for d, noting when the alarm starts
// failover, when it ends, the pipeline alarm's transitions, and when the aggregates of the region that
// acknowledged the first record after the outage count it.
func (r *run) watch(ctx context.Context, d time.Duration) error {
	l := r.l
	for end := l.Now().Add(d); l.Now().Before(end); {
		if err := l.Sleep(ctx, 15*time.Second); err != nil {
			return err
		}
		r.watchPipelineAlarm(ctx)
		if r.alarmX == nil {
			if arns := l.AlarmExecutions(); len(arns) > 0 {
				r.alarmX, _ = l.Engine.Execution(arns[0])
				if !r.outage.IsZero() {
					// When the execution started, not when this 15 s watch saw it.
					r.rep.AlarmSeconds = r.alarmX.Result().StartDate.Sub(r.outage).Seconds()
				}
				r.progress("failover", "alarm started failover %s", r.alarmX.Name())
			}
		}
		if r.alarmX != nil && !r.failoverSeen && r.alarmX.Done().Fired() {
			r.failoverSeen = true
			r.progress("failover", "%s ended: %s", r.alarmX.Name(), r.alarmX.Result().Status)
		}
		if r.fullRTO == 0 && !r.outage.IsZero() && r.firstCounted(ctx) {
			r.fullRTO = l.Now().Sub(r.outage)
			r.progress("failover", "records acknowledged after the outage are counted in the aggregates")
		}
	}
	return nil
}

// firstCounted reports whether the first record acknowledged after the
// outage began is counted in the aggregates of the region that
// acknowledged it.
func (r *run) firstCounted(ctx context.Context) bool {
	ctx = sim.Unmetered(ctx) // the drill observes the timeline without taking part in it
	r.mu.Lock()
	id := r.firstAfter
	a := r.acked[id]
	r.mu.Unlock()
	if id == "" {
		return false
	}
	out, err := r.l.World.Region(a.region).DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.l.Names.AggregatesTable()),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "R#" + id}, "sk": &ddbtypes.AttributeValueMemberS{Value: "R"}}})
	return err == nil && len(out.Item) > 0
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

// openProducer opens a producer through the accelerator whose
// acknowledgements the accounting counts: each acknowledged record's id,
// the region that acknowledged it, when, and its content hash.
func (r *run) openProducer(name string) (*producer.Producer, error) {
	l := r.l
	rec := &regionRecorder{next: l.HTTPClient().Transport}
	p, err := producer.Open(producer.Config{
		Dir: r.spool + "/" + name, Endpoint: l.AcceleratorURL, Client: &http.Client{Transport: rec},
		Clock: l.Clock, Name: name, NoSync: true,
		OnAck: func(ids []string, records [][]byte) {
			now := l.Now()
			r.mu.Lock()
			defer r.mu.Unlock()
			for i, id := range ids {
				r.acked[id] = ack{region: rec.last, at: now, hash: record.ContentHash(records[i])}
				if !r.outage.IsZero() && r.firstAfter == "" && now.After(r.outage) {
					r.firstAfter, r.firstAt = id, now
				}
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("open producer %s: %w", name, err)
	}
	return p, nil
}

// startProducers opens the producers and runs each with a generator at
// the configured rate, until the drill stops generating.
func (r *run) startProducers(ctx context.Context, spool string) ([]*producer.Producer, error) {
	l := r.l
	r.generating = true
	var prods []*producer.Producer
	// Each producer spools a burst every second (rate records on average),
	// or one record every 1/rate seconds below one a second: per-record
	// timers would cost wall time without changing the picture.
	step, perStep := time.Second, r.cfg.Rate
	if r.cfg.Rate < 1 {
		step, perStep = time.Duration(float64(time.Second)/r.cfg.Rate), 1
	}
	r.spool = spool
	for i := range r.cfg.Producers {
		name := fmt.Sprintf("drill-%d", i+1)
		p, err := r.openProducer(name)
		if err != nil {
			return nil, err
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
				for owed += perStep; owed >= 1; owed-- {
					seq++
					if _, err := p.Produce(ctx, fmt.Appendf(nil, `{"id":"%s-%06d","reading":%d}`, name, seq, seq)); err != nil {
						return
					}
				}
				if err := l.Clock.Sleep(ctx, step); err != nil {
					return
				}
			}
		})
	}
	return prods, nil
}

func (r *run) workflow(machine string, x *states.Execution, res states.Result) *Workflow {
	w := &Workflow{Execution: x.ARN(), Status: string(res.Status), Error: res.Error, Cause: res.Cause,
		StartSeconds: res.StartDate.Sub(r.virtStart).Seconds(), Seconds: res.StopDate.Sub(res.StartDate).Seconds()}
	w.Steps, _ = r.l.StepDurations(machine, x)
	if res.Status != states.StatusSucceeded {
		w.Failures = local.FailureLog(x)
	}
	r.noteSwitches(x)
	return w
}

// noteSwitches records the traffic switches of an execution: each
// dr-traffic promote call that returned (its input names the region).
func (r *run) noteSwitches(x *states.Execution) {
	promote := map[int64]string{} // LambdaFunctionScheduled id → region
	started := map[int64]string{} // LambdaFunctionStarted id → region
	for _, ev := range x.History() {
		switch {
		case ev.LambdaFunctionScheduledEventDetails != nil:
			var in dr.TrafficInput
			if json.Unmarshal([]byte(ev.LambdaFunctionScheduledEventDetails.Input), &in) == nil && in.Op == dr.TrafficPromote {
				promote[ev.ID] = in.Region
			}
		case ev.Type == "LambdaFunctionStarted":
			if reg, ok := promote[ev.PreviousEventID]; ok {
				started[ev.ID] = reg
			}
		case ev.LambdaFunctionSucceededEventDetails != nil:
			if reg, ok := started[ev.PreviousEventID]; ok {
				r.switches = append(r.switches, TrafficSwitch{AtSeconds: ev.Timestamp.Sub(r.virtStart).Seconds(), To: reg, Execution: x.ARN()})
			}
		}
	}
}

// setPrimaryDown takes the primary down or brings it back, noting the
// period for the timeline.
func (r *run) setPrimaryDown(down bool) {
	l := r.l
	l.World.SetDown(l.Regions.Primary, down)
	at := l.Now().Sub(r.virtStart).Seconds()
	if down {
		r.downs = append(r.downs, Period{StartSeconds: at})
	} else if n := len(r.downs); n > 0 && r.downs[n-1].EndSeconds == 0 {
		r.downs[n-1].EndSeconds = at
	}
}

// timeline fills the report's timeline: the primary's outages, the
// consumer fault, the traffic switches in time order, and the records each
// region acknowledged per minute.
func (r *run) timeline() {
	rep := r.rep
	rep.PrimaryDown = r.downs
	if p := r.pipe; !p.faultAt.IsZero() {
		rep.ConsumerFault = &Period{StartSeconds: p.faultAt.Sub(r.virtStart).Seconds()}
		if !p.clearedAt.IsZero() {
			rep.ConsumerFault.EndSeconds = p.clearedAt.Sub(r.virtStart).Seconds()
		}
	}
	seen := map[TrafficSwitch]bool{}
	for _, s := range r.switches {
		if !seen[s] {
			seen[s] = true
			rep.TrafficSwitches = append(rep.TrafficSwitches, s)
		}
	}
	sort.SliceStable(rep.TrafficSwitches, func(i, j int) bool { return rep.TrafficSwitches[i].AtSeconds < rep.TrafficSwitches[j].AtSeconds })
	minutes := int(rep.VirtualSeconds/60) + 1
	rep.AcksPerMinute = map[string][]int{}
	for _, reg := range []string{r.l.Regions.Primary, r.l.Regions.Backup} {
		rep.AcksPerMinute[reg] = make([]int, minutes)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.acked {
		m := int(a.at.Sub(r.virtStart) / time.Minute)
		counts, ok := rep.AcksPerMinute[a.region]
		if !ok || m < 0 || m >= minutes {
			continue
		}
		counts[m]++
	}
}
