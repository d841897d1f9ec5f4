package drill

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// A Scenario is one named drill of the catalogue: what happens after the
// warm-up (play) and what must hold at the end (expect). Every scenario runs
// on the same deployed assembly, with the same producers and the same
// accounting; the common invariants (nothing acknowledged lost or counted
// twice unless the scenario says what is lost, no IAM denial, no record
// given up by a consumer) are checked for all of them.
type Scenario struct {
	// Name is what --scenario takes.
	Name string
	// Summary is the one line --list prints.
	Summary string
	// Expect states the verdict and the invariants the scenario checks.
	Expect string
	// defaults sets the scenario's own knob defaults on a zero knob
	// (e.g. blip's short outage) before Config's defaults.
	defaults func(*Config)
	// setup, when set, runs once the installation is deployed, before the
	// producers start.
	setup func(r *run)
	// play runs the scenario from the end of the warm-up until the DR
	// workflows it rehearses are done (producers still generating).
	play func(ctx context.Context, r *run) error
	// expect adds the scenario's own checks.
	expect func(r *run, ok checkFunc)
}

type checkFunc func(name string, passed bool, format string, args ...any)

// DefaultScenario is what `make drill` and a bare `pendulum drill` run.
const DefaultScenario = "regional-outage"

// scenarios is the catalogue, by name.
var scenarios = map[string]*Scenario{}

func register(s *Scenario) { scenarios[s.Name] = s }

// Scenarios returns the catalogue in name order, the default first.
func Scenarios() []*Scenario {
	out := make([]*Scenario, 0, len(scenarios))
	for _, s := range scenarios {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == DefaultScenario) != (out[j].Name == DefaultScenario) {
			return out[i].Name == DefaultScenario
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// LookupScenario returns the named scenario.
func LookupScenario(name string) (*Scenario, error) {
	if s, ok := scenarios[name]; ok {
		return s, nil
	}
	names := make([]string, 0, len(scenarios))
	for _, s := range Scenarios() {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("drill: no scenario %q (the catalogue: %s)", name, strings.Join(names, ", "))
}

func init() {
	register(&Scenario{
		Name:    "regional-outage",
		Summary: "the primary region goes down; the health alarm starts failover; the primary returns and failback runs",
		Expect: "PASS: failover and failback succeed, the backup region serves producers during the outage, " +
			"the primary ends PRIMARY with every acknowledged record in its raw bucket, catalog and aggregates, none counted twice",
		play: func(ctx context.Context, r *run) error {
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			return r.recoverAndFailBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			r.expectFailedOverAndBack(ok)
		},
	})
	register(&Scenario{
		Name:    "blip",
		Summary: "the primary is unreachable for 2 minutes, less than the health alarm needs: nothing fails over",
		Expect:  "PASS: no failover starts, producers spool through the blip and the primary acknowledges everything after it, nothing lost",
		defaults: func(c *Config) {
			if c.Outage == 0 {
				c.Outage = 2 * time.Minute
			}
		},
		play: func(ctx context.Context, r *run) error {
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			r.primaryReturns()
			// As long as the alarm would need to see the primary healthy
			// again, and then some: a late failover would show here.
			return r.watch(ctx, 10*time.Minute)
		},
		expect: func(r *run, ok checkFunc) {
			ok("noFailover", r.rep.Failover == nil && len(r.l.AlarmExecutions()) == 0, "failover executions started by the alarm: %d", len(r.l.AlarmExecutions()))
			ok("modePrimary", r.mode == "PRIMARY", "DR mode at the end: %s", r.mode)
			ok("backupNeverServed", r.rep.Records.AckedByBackup == 0, "%d records acknowledged by %s", r.rep.Records.AckedByBackup, r.l.Regions.Backup)
			r.expectBatchAndDrill(ok)
		},
	})
	register(&Scenario{
		Name:    "primary-lost",
		Summary: "the primary region never returns: the backup region serves on, failback is refused, the loss is counted",
		Expect: "PASS when: failover succeeds, B serves producers, failback is refused (PrimaryUnhealthy), and the records lost — " +
			"acknowledged by the primary, never replicated — are more than zero and exactly the records at risk at the outage, in every store of B",
		play: func(ctx context.Context, r *run) error {
			r.final = r.l.Regions.Backup
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			// The primary stays down. The operator tries failback after the
			// healthy window it would need: the precondition refuses it.
			if err := r.watch(ctx, time.Duration(r.cfg.MinHealthyMinutes+2)*time.Minute); err != nil {
				return err
			}
			if r.failedOver() {
				return r.failBack(ctx)
			}
			return nil
		},
		expect: func(r *run, ok checkFunc) {
			ok("failoverSucceeded", succeeded(r.rep.Failover), "failover: %s", status(r.rep.Failover))
			ok("failbackRefused", r.rep.Failback != nil && r.rep.Failback.Status == string(states.StatusFailed) && r.rep.Failback.Error == "PrimaryUnhealthy",
				"failback: %s (%s)", status(r.rep.Failback), cause(r.rep.Failback))
			ok("modeFailedOver", r.mode == "FAILED_OVER", "DR mode at the end: %s", r.mode)
			ok("backupServed", r.rep.Records.AckedByBackup > 0, "%d records acknowledged by %s", r.rep.Records.AckedByBackup, r.l.Regions.Backup)
			ok("lossCounted", r.rep.Records.AtRisk > 0, "%d records were at risk at the outage (acknowledged by %s, not yet in %s)", r.rep.Records.AtRisk, r.l.Regions.Primary, r.l.Regions.Backup)
		},
	})
	register(&Scenario{
		Name:    "replication-stalled",
		Summary: "S3 replication to the backup region stalls 10 minutes before the outage; the RPO shows it",
		Expect: "PASS: as regional-outage, and the S3 RPO at the outage is at least the 10 minutes of stalled replication; " +
			"the stalled objects replicate when the primary returns, nothing is lost",
		setup: func(r *run) {
			// Every object put from 10 minutes before the outage replicates
			// only a minute after the primary is back: replication stalled
			// (S3 keeps such objects PENDING and replicates them late), the
			// outage then stops it altogether.
			stall := r.outageAt.Add(-stallBeforeOutage)
			until := r.outageAt.Add(r.cfg.Outage + time.Minute)
			clk := r.l.Clock
			r.l.World.Region(r.l.Regions.Primary).S3().SetReplicationLag(func(key string, rtc bool) time.Duration {
				if now := clk.Now(); !now.Before(stall) {
					return until.Sub(now)
				}
				return sim.DefaultReplicationLag(key, rtc)
			})
		},
		play: func(ctx context.Context, r *run) error {
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			return r.recoverAndFailBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			r.expectFailedOverAndBack(ok)
			s3 := r.rep.RPO.AtOutage[StoreS3]
			ok("rpoShowsStall", s3.RPOSeconds >= stallBeforeOutage.Seconds() && s3.Objects > 0,
				"S3 RPO at the outage %s: %d records in %d objects not replicated (replication stalled %s before)", secs(s3.RPOSeconds), s3.Records, s3.Objects, stallBeforeOutage)
		},
	})
	register(&Scenario{
		Name:    "approval-timeout",
		Summary: "an operator starts failover from the console with approval; nobody answers; it times out and changes nothing",
		Expect: "PASS: the failover ends ApprovalTimedOut after the 60 s asked for, the DR mode is PRIMARY again, traffic never left the primary, " +
			"the nightly batch and the isolated drill run afterwards (the lock was released)",
		play: func(ctx context.Context, r *run) error {
			r.noAnswer = true
			x, res, err := r.l.Run(ctx, "failover", `{"reason":"drill: approval-timeout","approval":true,"approvalTimeoutSeconds":60}`)
			if err != nil {
				return err
			}
			r.rep.Failover = r.workflow("failover", x, res)
			r.progress("failover", "%s (%s) after %.0fs", res.Status, res.Error, r.rep.Failover.Seconds)
			return r.watch(ctx, 5*time.Minute)
		},
		expect: func(r *run, ok checkFunc) {
			ok("approvalTimedOut", r.rep.Failover != nil && r.rep.Failover.Error == "ApprovalTimedOut", "failover: %s", status(r.rep.Failover))
			ok("approvalRequested", len(r.l.Approvals()) == 1, "%d approval requests published", len(r.l.Approvals()))
			ok("modePrimary", r.mode == "PRIMARY", "DR mode at the end: %s", r.mode)
			ok("backupNeverServed", r.rep.Records.AckedByBackup == 0, "%d records acknowledged by %s", r.rep.Records.AckedByBackup, r.l.Regions.Backup)
			r.expectBatchAndDrill(ok)
		},
	})
	register(&Scenario{
		Name:    "concurrent-start",
		Summary: "two operators start failover from the console at the same instant during an outage: one runs, one is refused",
		Expect: "PASS: exactly one failover execution runs the recovery, the other is refused (Refused) and the alarm's run changes nothing; " +
			"then as regional-outage",
		play: func(ctx context.Context, r *run) error {
			r.outageBegins()
			var arns [2]string
			for i := range arns {
				arn, err := r.l.StartExecution(ctx, "failover", "", fmt.Sprintf(`{"reason":"drill: operator %d"}`, i+1))
				if err != nil {
					return err
				}
				arns[i] = arn
			}
			r.progress("failover", "two operators started failover at the same instant")
			for _, arn := range arns {
				x, _ := r.l.Engine.Execution(arn)
				r.console = append(r.console, x)
			}
			if err := r.watch(ctx, r.cfg.Outage); err != nil {
				return err
			}
			var winner *Workflow
			for _, x := range r.console {
				res, err := x.Wait(ctx)
				if err != nil {
					return err
				}
				w := r.workflow("failover", x, res)
				r.rep.Console = append(r.rep.Console, w)
				if entered(w, "Recover") {
					winner = w
				}
			}
			r.rep.Failover = winner
			if r.alarmX != nil {
				res, err := r.alarmX.Wait(ctx)
				if err != nil {
					return err
				}
				r.rep.Console = append(r.rep.Console, r.workflow("failover", r.alarmX, res))
			}
			return r.recoverAndFailBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			ran, refused := 0, 0
			for _, w := range r.rep.Console {
				if entered(w, "Recover") {
					ran++
				}
				if w.Error == "Refused" {
					refused++
				}
			}
			ok("oneRecovery", ran == 1, "%d of %d failover executions ran the recovery", ran, len(r.rep.Console))
			ok("otherRefused", refused >= 1, "%d failover executions refused", refused)
			r.expectFailedOverAndBack(ok)
		},
	})
}

func init() {
	register(&Scenario{
		Name:    "restore-fails",
		Summary: "during an outage both restores of the aggregates fail (PITR needs the primary; the Backup copy's restore job errors): ingest still moves to B",
		Expect: "PASS: producers are served by B (an ingest RTO) although failover ends RestoreDegraded and notifies DEGRADED; " +
			"once the restore service is back, failover {\"retryRestore\":true} restores, replays and starts the consumer; failback then loses nothing",
		play: func(ctx context.Context, r *run) error {
			l := r.l
			r.outageBegins()
			// With P down, the point-in-time restore of P's table cannot run;
			// the copy in B's vault fails too, until the fault is cleared.
			l.World.Inject(&sim.Fault{Region: l.Regions.Backup, Service: "Backup", Operation: "StartRestoreJob", Err: sim.ServiceUnavailableError()})
			if err := r.watch(ctx, 15*time.Minute); err != nil {
				return err
			}
			if err := r.endFailover(ctx); err != nil {
				return err
			}
			l.World.ClearFaults()
			r.progress("restore", "the restore service is back; the operator retries the restore alone")
			x, res, err := l.Run(ctx, "failover", `{"retryRestore":true,"reason":"drill: restore-fails"}`)
			if err != nil {
				return err
			}
			r.rep.RestoreRetry = r.workflow("failover", x, res)
			r.progress("restore", "retry %s after %.0fs", res.Status, r.rep.RestoreRetry.Seconds)
			if rest := r.outageAt.Add(r.cfg.Outage).Sub(l.Now()); rest > 0 {
				if err := r.watch(ctx, rest); err != nil {
					return err
				}
			}
			return r.recoverAndFailBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			ok("failoverDegraded", r.rep.Failover != nil && r.rep.Failover.Error == "RestoreDegraded", "failover: %s", status(r.rep.Failover))
			ok("ingestMoved", r.rep.IngestRTOSeconds > 0 && r.rep.IngestRegion == r.l.Regions.Backup, "ingest RTO %s (by %s)", secs(r.rep.IngestRTOSeconds), r.rep.IngestRegion)
			degraded := false
			for _, n := range r.rep.Notifications {
				degraded = degraded || strings.Contains(n, "DEGRADED")
			}
			ok("degradedNotified", degraded, "notifications: %s", strings.Join(r.rep.Notifications, "; "))
			ok("restoreRetried", succeeded(r.rep.RestoreRetry), "restore retry: %s", status(r.rep.RestoreRetry))
			ok("failbackSucceeded", succeeded(r.rep.Failback), "failback: %s", status(r.rep.Failback))
			ok("modePrimary", r.mode == "PRIMARY", "DR mode at the end: %s", r.mode)
			r.expectBatchAndDrill(ok)
		},
	})
}

func init() {
	register(&Scenario{
		Name:    "long-failover",
		Summary: "the primary is down 8 days, a day longer than the aggregate markers' 7-day TTL: markers expire in both regions before failback",
		Expect: "PASS: failover and failback succeed, TTL deletes expired markers in both regions (the drill counts those records by their windows), " +
			"and the primary ends PRIMARY with every acknowledged record in its raw bucket, catalog and aggregates, none lost or counted twice",
		defaults: func(c *Config) {
			// Longer than the markers' TTL by a day, at a sparse rate: the
			// virtual week stays fast and within the record budget.
			if c.Outage == 0 {
				c.Outage = longFailoverOutage
			}
			if c.Rate == 0 {
				c.Rate = longFailoverRate
			}
		},
		play: func(ctx context.Context, r *run) error {
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			return r.recoverAndFailBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			r.expectFailedOverAndBack(ok)
			ttl := r.markerTTL(context.Background())
			ok("outageLongerThanTTL", r.cfg.Outage > ttl, "outage %s, markers' TTL %s", r.cfg.Outage, ttl)
			for _, region := range []string{r.l.Regions.Backup, r.l.Regions.Primary} {
				n := r.ttlDeleted(context.Background(), region)
				ok("markersExpired:"+region, n > 0, "%d items of %s's aggregates table deleted by TTL", n, region)
			}
		},
	})
}

// The long-failover scenario's defaults: a day longer than the deployed
// markers' TTL (aggregate.DefaultMarkerTTL), 2 producers × 0.02 records/s
// (one record every 25 s: some 28,000 records).
const (
	longFailoverOutage = aggregate.DefaultMarkerTTL + 24*time.Hour
	longFailoverRate   = 0.02
)

// ttlDeleted is how many items TTL deleted from region's aggregates table
// in the run: the sum of AWS/DynamoDB TimeToLiveDeletedItemCount.
func (r *run) ttlDeleted(ctx context.Context, region string) int {
	l := r.l
	out, err := l.World.Region(region).CloudWatch().GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/DynamoDB"), MetricName: aws.String("TimeToLiveDeletedItemCount"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("TableName"), Value: aws.String(l.Names.AggregatesTable())}},
		StartTime:  aws.Time(r.virtStart), EndTime: aws.Time(l.Now().Add(time.Minute)),
		Period: aws.Int32(86400), Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
	})
	if err != nil {
		return 0
	}
	n := 0.0
	for _, p := range out.Datapoints {
		n += aws.ToFloat64(p.Sum)
	}
	return int(n)
}

// stallBeforeOutage is how long before the outage replication-stalled's
// replication stops.
const stallBeforeOutage = 10 * time.Minute

// expectFailedOverAndBack is the regional-outage verdict: failover and
// failback succeeded, B served, P is primary again, and the day's batch and
// the isolated drill ran after it.
func (r *run) expectFailedOverAndBack(ok checkFunc) {
	ok("failoverSucceeded", succeeded(r.rep.Failover), "failover: %s", status(r.rep.Failover))
	ok("failbackSucceeded", succeeded(r.rep.Failback), "failback: %s", status(r.rep.Failback))
	ok("modePrimary", r.mode == "PRIMARY", "DR mode at the end: %s", r.mode)
	ok("backupServed", r.rep.Records.AckedByBackup > 0, "%d records acknowledged by %s", r.rep.Records.AckedByBackup, r.l.Regions.Backup)
	r.expectBatchAndDrill(ok)
}

func (r *run) expectBatchAndDrill(ok checkFunc) {
	ok("nightlyBatchSucceeded", succeeded(r.rep.NightlyBatch), "nightly batch: %s", status(r.rep.NightlyBatch))
	ok("isolatedDrillSucceeded", succeeded(r.rep.IsolatedDrill), "isolated drill: %s", status(r.rep.IsolatedDrill))
}

func succeeded(w *Workflow) bool { return w != nil && w.Status == string(states.StatusSucceeded) }

func cause(w *Workflow) string {
	if w == nil {
		return ""
	}
	if len(w.Cause) > 160 {
		return w.Cause[:160] + "…"
	}
	return w.Cause
}

// entered reports whether the workflow entered the named top-level state.
func entered(w *Workflow, state string) bool {
	if w == nil {
		return false
	}
	for _, s := range w.Steps {
		if s.Name == state {
			return true
		}
	}
	return false
}
