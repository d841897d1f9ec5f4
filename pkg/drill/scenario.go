package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
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
	// pipelineStall says the scenario stalls the primary's pipeline behind
	// a healthy front door; every other scenario checks that the pipeline
	// alarm stayed quiet.
	pipelineStall bool
	// newPrimary says the scenario redeploys the installation from
	// Config.NewPrimaryAssembly (NeedsNewPrimaryAssembly).
	newPrimary bool
	// after, when set, runs before the next day's runs and the accounting
	// (producers idle): new-primary waits there for the first backup copy
	// in the new backup region, which the isolated drill's recovery-point
	// check needs.
	after func(ctx context.Context, r *run) error
	// extraGenerating bounds how much longer than the common timeline
	// producers generate in the scenario (its own steps), for the record
	// budget (Config.Validate).
	extraGenerating time.Duration
}

// NeedsNewPrimaryAssembly reports whether the scenario deploys the app's
// second configuration (Config.NewPrimaryAssembly) over the first.
func (s *Scenario) NeedsNewPrimaryAssembly() bool { return s.newPrimary }

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
		play: outageThenFailBack,
		expect: func(r *run, ok checkFunc) {
			r.expectFailedOverAndBack(ok)
		},
	})
	register(&Scenario{
		Name:    "https",
		Summary: "regional-outage deployed with a certificate in each workload region: producers, the canary and the DR probes speak HTTPS to listeners on 443",
		Expect:  "PASS: as regional-outage, through an https:// accelerator endpoint; the failover and failback verify the accelerator over HTTPS",
		defaults: func(c *Config) {
			c.HTTPS = true
		},
		play: outageThenFailBack,
		expect: func(r *run, ok checkFunc) {
			ok("endpointHTTPS", strings.HasPrefix(r.rep.Endpoint, "https://"), "producers' endpoint %s", r.rep.Endpoint)
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
			r.expectStayedPrimary(ok)
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
		play: outageThenFailBack,
		expect: func(r *run, ok checkFunc) {
			r.expectFailedOverAndBack(ok)
			s3 := r.rep.RPO.AtOutage[StoreS3]
			ok("rpoShowsStall", s3.RPOSeconds >= stallBeforeOutage.Seconds() && s3.Objects > 0,
				"S3 RPO at the outage %s: %d records in %d objects not replicated (replication stalled %s before)", secs(s3.RPOSeconds), s3.Records, s3.Objects, stallBeforeOutage)
		},
	})
	register(&Scenario{
		Name: "partial-primary",
		Summary: "the primary's aggregate consumer fails every write for 20 minutes while its ALB and ingest answer 200: " +
			"the pipeline alarm notifies, nothing fails over",
		Expect: "PASS: no failover starts and the front door's alarm stays quiet, the pipeline alarm goes to ALARM and notifies the DR topic, " +
			"and back to OK after the fault; the consumer catches up with nothing discarded, lost or counted twice",
		pipelineStall: true,
		play: func(ctx context.Context, r *run) error {
			return r.consumerFault(ctx, pipelineFaultFor)
		},
		expect: func(r *run, ok checkFunc) {
			rep, n := r.rep, r.l.Names
			ok("noFailover", rep.Failover == nil && len(r.l.AlarmExecutions()) == 0, "failover executions started by the alarm: %d", len(r.l.AlarmExecutions()))
			ok("frontDoorQuiet", notified(rep, "ALARM: "+n.AlarmName()) < 0, "%s: %s", n.AlarmName(), alarmNotices(rep, n.AlarmName()))
			ok("modePrimary", r.mode == "PRIMARY", "DR mode at the end: %s", r.mode)
			ok("backupNeverServed", rep.Records.AckedByBackup == 0, "%d records acknowledged by %s", rep.Records.AckedByBackup, r.l.Regions.Backup)
			ok("consumerStalled", r.pipe.stalled > 0, "%d records acknowledged during the fault were not counted when it cleared", r.pipe.stalled)
			alarmed, recovered := notified(rep, "ALARM: "+n.PipelineAlarmName()), lastNotified(rep, "OK: "+n.PipelineAlarmName())
			ok("pipelineAlarmed", rep.DetectionSeconds > 0 && alarmed >= 0,
				"%s in ALARM %s after the fault began, notified: %t", n.PipelineAlarmName(), secs(rep.DetectionSeconds), alarmed >= 0)
			ok("pipelineRecovered", alarmed >= 0 && recovered > alarmed && !r.pipe.okAt.IsZero(),
				"%s: %s", n.PipelineAlarmName(), alarmNotices(rep, n.PipelineAlarmName()))
			ok("consumerCaughtUp", rep.CatchUpSeconds > 0, "every record acknowledged before the fault cleared counted %s after (within %s)", secs(rep.CatchUpSeconds), catchUpWithin)
			r.expectBatchAndDrill(ok)
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
			ok("timeoutNotified", notifiedWith(r, "failover execution FAILED (ApprovalTimedOut)"), "notifications: %s", strings.Join(r.rep.Notifications, "; "))
			ok("approvalTimedOut", r.rep.Failover != nil && r.rep.Failover.Error == "ApprovalTimedOut", "failover: %s", status(r.rep.Failover))
			ok("approvalRequested", len(r.l.Approvals()) == 1, "%d approval requests published", len(r.l.Approvals()))
			r.expectStayedPrimary(ok)
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
		Name:    "failover-stopped",
		Summary: "an operator stops a console failover while it waits for approval; a plain re-run is refused; the operator rolls back; later a real outage fails over and back",
		Expect: "PASS: the stopped run is notified (ABORTED); a plain failover is refused naming {\"abandoned\":\"rollback\"} and {\"abandoned\":\"resume\"}; " +
			"the rollback returns the mode to PRIMARY having changed nothing; then the outage's alarm failover and the failback succeed and nothing is lost",
		play: func(ctx context.Context, r *run) error {
			l := r.l
			r.noAnswer = true
			arn, err := l.StartExecution(ctx, "failover", "", `{"reason":"drill: failover-stopped","approval":true}`)
			if err != nil {
				return err
			}
			x, _ := l.Engine.Execution(arn)
			for i := 0; len(l.Approvals()) == 0 && i < 20; i++ {
				if err := l.Sleep(ctx, 15*time.Second); err != nil {
					return err
				}
			}
			r.progress("stopped", "the operator stops %s while it waits for approval", x.Name())
			x.Stop("Operator", "drill: the operator changed their mind")
			res, err := x.Wait(ctx)
			if err != nil {
				return err
			}
			r.rep.Console = append(r.rep.Console, r.workflow("failover", x, res))
			if err := r.watch(ctx, time.Minute); err != nil {
				return err
			}
			px, pres, err := l.Run(ctx, "failover", `{"reason":"drill: plain re-run"}`)
			if err != nil {
				return err
			}
			r.rep.Console = append(r.rep.Console, r.workflow("failover", px, pres))
			r.progress("stopped", "a plain failover: %s (%s)", pres.Status, pres.Error)
			rx, rres, err := l.Run(ctx, "failover", `{"reason":"drill: roll back the stopped failover","abandoned":"rollback"}`)
			if err != nil {
				return err
			}
			r.rep.Console = append(r.rep.Console, r.workflow("failover", rx, rres))
			r.rollbackMode = r.controlMode(ctx)
			r.progress("stopped", "rollback: %s; the DR mode is %s", rres.Status, r.rollbackMode)
			r.noAnswer = false
			// Later, a real outage: the alarm's failover must run as usual.
			if err := r.watch(ctx, 10*time.Minute); err != nil {
				return err
			}
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			return r.recoverAndFailBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			c := r.rep.Console
			ok("stopped", len(c) == 3 && c[0].Status == string(states.StatusAborted), "stopped failover: %s", statusAt(c, 0))
			ok("abortNotified", notifiedWith(r, "failover execution ABORTED"), "notifications: %s", strings.Join(r.rep.Notifications, "; "))
			refusedWithChoices := len(c) == 3 && c[1].Error == "Refused" && strings.Contains(errorMessage(c[1].Cause), `{"abandoned":"rollback"}`) &&
				strings.Contains(errorMessage(c[1].Cause), `{"abandoned":"resume"}`)
			ok("plainRerunRefused", refusedWithChoices, "plain re-run: %s (%s)", statusAt(c, 1), causeAt(c, 1))
			ok("rolledBack", len(c) == 3 && succeeded(c[2]) && r.rollbackMode == "PRIMARY" && !entered(c[2], "Recover"), "rollback: %s, mode %s", statusAt(c, 2), r.rollbackMode)
			r.expectFailedOverAndBack(ok)
		},
	})
}

func init() {
	register(&Scenario{
		Name:    "outage-during-failback",
		Summary: "the primary fails again while failback drains B (traffic already moved to the primary): failback stops, B serves, a second failover and a later failback complete",
		Expect: "PASS: an alarm failover started while that failback runs is refused (notified); the failback ends FailbackFailed (a step that needs the primary fails, or the drain gives up after dr.MaxDrainWait); " +
			"the operator's failover then takes the lock back from FAILING_BACK keeping the first failover's start; when the primary is back for good a second failback succeeds and nothing is lost or counted twice",
		play: func(ctx context.Context, r *run) error {
			l := r.l
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			r.primaryReturns()
			if err := r.watch(ctx, time.Duration(r.cfg.MinHealthyMinutes+2)*time.Minute); err != nil {
				return err
			}
			if !r.failedOver() {
				return nil
			}
			r.sinceFirst = r.controlSince(ctx)
			arn, err := l.StartExecution(ctx, "failback", "", fmt.Sprintf(`{"reason":"drill: first failback","minHealthyMinutes":%d}`, r.cfg.MinHealthyMinutes))
			if err != nil {
				return err
			}
			fb, _ := l.Engine.Execution(arn)
			for !fb.Done().Fired() && !inState(fb, "DrainBackup") {
				if err := l.Sleep(ctx, time.Second); err != nil {
					return err
				}
			}
			r.setPrimaryDown(true)
			r.progress("outage", "%s is down again, while failback drains %s (traffic already moved to it)", l.Regions.Primary, l.Regions.Backup)
			res, err := fb.Wait(ctx)
			if err != nil {
				return err
			}
			r.firstFailback = r.workflow("failback", fb, res)
			r.progress("failback", "first failback %s (%s) after %.0fs", res.Status, res.Error, r.firstFailback.Seconds)
			// The operator, told the failback failed with the primary
			// down, fails over again.
			x, xres, err := l.Run(ctx, "failover", `{"reason":"drill: the primary failed again during failback"}`)
			if err != nil {
				return err
			}
			r.secondFailover = r.workflow("failover", x, xres)
			r.sinceAtEnd = r.controlSince(ctx)
			r.progress("failover", "second failover %s after %.0fs", xres.Status, r.secondFailover.Seconds)
			if err := r.watch(ctx, 20*time.Minute); err != nil {
				return err
			}
			r.rep.Console = append(r.rep.Console, r.firstFailback, r.secondFailover)
			r.setPrimaryDown(false)
			r.progress("recovery", "%s is back for good", l.Regions.Primary)
			if err := r.watch(ctx, time.Duration(r.cfg.MinHealthyMinutes+2)*time.Minute); err != nil {
				return err
			}
			return r.failBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			// A failover the alarm starts while the first failback still
			// runs is refused, and the refusal notified. Whether one does
			// depends on how soon the failback ends: with producers unable
			// to reach P and B's endpoint group dialled to 0, B receives
			// nothing, its drain completes and the next step that needs P
			// fails the failback before the alarm fires.
			overlapped := r.alarmFailoverDuring(r.firstFailback)
			ok("overlappingFailoverRefused", overlapped == 0 || notifiedWith(r, "failover execution FAILED (Refused)"),
				"%d alarm failovers started while the first failback ran; notifications: %s", overlapped, strings.Join(r.rep.Notifications, "; "))
			ok("firstFailbackStopped", r.firstFailback != nil && r.firstFailback.Error == "FailbackFailed", "first failback: %s", status(r.firstFailback))
			ok("secondFailover", succeeded(r.secondFailover) && entered(r.secondFailover, "Recover"), "second failover: %s", status(r.secondFailover))
			ok("sinceKept", r.sinceAtEnd == r.sinceFirst && r.sinceFirst != "", "failover start %q, after the second failover %q", r.sinceFirst, r.sinceAtEnd)
			r.expectFailedOverAndBack(ok)
		},
	})
}

// inState reports whether the execution has entered the named state.
func inState(x *states.Execution, name string) bool {
	for _, e := range x.History() {
		if e.StateEnteredEventDetails != nil && e.StateEnteredEventDetails.Name == name {
			return true
		}
	}
	return false
}

// notifiedWith reports whether a notification contains text.
func notifiedWith(r *run, text string) bool {
	for _, n := range r.rep.Notifications {
		if strings.Contains(n, text) {
			return true
		}
	}
	return false
}

// errorMessage is a Lambda error cause's message ({"errorMessage":…}), or
// the cause itself.
func errorMessage(cause string) string {
	var e struct{ ErrorMessage string }
	if json.Unmarshal([]byte(cause), &e) == nil && e.ErrorMessage != "" {
		return e.ErrorMessage
	}
	return cause
}

func statusAt(ws []*Workflow, i int) string {
	if i >= len(ws) {
		return "not run"
	}
	return status(ws[i])
}

func causeAt(ws []*Workflow, i int) string {
	if i >= len(ws) {
		return ""
	}
	return cause(ws[i])
}

// outageThenFailBack is regional-outage's timeline: the outage, the
// primary's return, failback.
func outageThenFailBack(ctx context.Context, r *run) error {
	if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
		return err
	}
	return r.recoverAndFailBack(ctx)
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
			r.returned = r.l.Now()
			return r.recoverAndFailBack(ctx)
		},
		// P's backups stopped with P: the newest copy in B's vault is as
		// old as the outage, and the isolated drill's recovery-point check
		// rightly fails until P's next daily backup is copied to B.
		after: func(ctx context.Context, r *run) error {
			return r.awaitCopy(ctx, r.l.Regions.Backup, r.l.Regions.Primary, r.returned)
		},
		expect: func(r *run, ok checkFunc) {
			r.expectFailedOverAndBack(ok)
			ok("freshCopyAfterReturn", r.copyAfterReturn != "", "recovery point of %s's table in %s's vault made after %s returned: %q", r.l.Regions.Primary, r.l.Regions.Backup, r.l.Regions.Primary, r.copyAfterReturn)
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

// alarmNotices lists the DR topic's notifications of alarm, in order.
func alarmNotices(rep *Report, alarm string) string {
	var out []string
	for _, s := range rep.Notifications {
		if strings.HasSuffix(s, ": "+alarm) {
			out = append(out, strings.TrimSuffix(s, ": "+alarm))
		}
	}
	if len(out) == 0 {
		return "no notification"
	}
	return "notified " + strings.Join(out, " → ")
}

// expectStayedPrimary is the verdict of a scenario that never fails over:
// P is primary at the end, B never served, and the next day's runs work.
func (r *run) expectStayedPrimary(ok checkFunc) {
	ok("modePrimary", r.mode == "PRIMARY", "DR mode at the end: %s", r.mode)
	ok("backupNeverServed", r.rep.Records.AckedByBackup == 0, "%d records acknowledged by %s", r.rep.Records.AckedByBackup, r.l.Regions.Backup)
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

func init() {
	register(&Scenario{
		Name: "conflict-across-failover",
		Summary: "a producer has an id acknowledged by the primary, and the same id with other content by the backup region during the outage: " +
			"ingest cannot see it across regions, the consumer and failback's merge record it",
		Expect: "PASS: failover and failback succeed; both records are acknowledged (each region's idempotency table knows only its own ids); " +
			"the primary's aggregates count the primary's content, and the backup's record, acknowledged then not counted, is recorded as a conflict item " +
			"(the one expected drop, never a silent one); the raw bucket keeps both records",
		play: func(ctx context.Context, r *run) error {
			l := r.l
			p, err := r.openProducer("conflict")
			if err != nil {
				return err
			}
			r.prods = append(r.prods, p)
			send := func(data string) error {
				if _, err := p.Produce(ctx, []byte(data)); err != nil {
					return err
				}
				return p.Send(ctx)
			}
			ts := l.Now().UTC().Format(time.RFC3339)
			if err := send(fmt.Sprintf(`{"id":"order-42","ts":%q,"qty":1}`, ts)); err != nil {
				return err
			}
			r.progress("conflict", "order-42 {qty 1} acknowledged by %s", r.ackedBy("order-42"))
			// Counted, landed and replicated before the outage.
			if err := r.watch(ctx, 5*time.Minute); err != nil {
				return err
			}
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			if !r.failedOver() {
				return fmt.Errorf("conflict-across-failover: failover did not succeed")
			}
			if err := send(fmt.Sprintf(`{"id":"order-42","ts":%q,"qty":2}`, ts)); err != nil {
				return err
			}
			r.crossConflicts = 1
			r.progress("conflict", "order-42 {qty 2} acknowledged by %s: its idempotency table does not know %s's ids", r.ackedBy("order-42"), l.Regions.Primary)
			return r.recoverAndFailBack(ctx)
		},
		expect: func(r *run, ok checkFunc) {
			r.expectFailedOverAndBack(ok)
			a := r.ackedCopy()["order-42"]
			ok("conflictAckedByBackup", a.region == r.l.Regions.Backup, "order-42's last acknowledgement by %s", a.region)
		},
	})
}

// ackedBy returns the region that last acknowledged id.
func (r *run) ackedBy(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acked[id].region
}

// alarmFailoverDuring counts the failover executions the alarm started
// while w ran (after its start, before its end).
func (r *run) alarmFailoverDuring(w *Workflow) int {
	if w == nil {
		return 0
	}
	start := r.virtStart.Add(time.Duration(w.StartSeconds * float64(time.Second)))
	end := start.Add(time.Duration(w.Seconds * float64(time.Second)))
	n := 0
	for _, arn := range r.l.AlarmExecutions() {
		if x, ok := r.l.Engine.Execution(arn); ok {
			if at := x.Result().StartDate; at.After(start) && at.Before(end) {
				n++
			}
		}
	}
	return n
}

// awaitCopy waits, producers idle, up to a day and two hours for the
// backup plan of source's table to copy a recovery point made after since
// into vaultRegion's vault, and notes it (copyAfterReturn).
func (r *run) awaitCopy(ctx context.Context, vaultRegion, source string, since time.Time) error {
	l := r.l
	tableARN := l.Names.TableARN(source, l.Names.AggregatesTable())
	r.progress("backup", "waiting for %s's backup plan to copy a recovery point made after %s into %s's vault", source, since.Format(time.RFC3339), vaultRegion)
	for end := l.Now().Add(26 * time.Hour); l.Now().Before(end); {
		out, err := l.World.Region(vaultRegion).Backup().ListRecoveryPointsByBackupVault(sim.Unmetered(ctx), &backup.ListRecoveryPointsByBackupVaultInput{
			BackupVaultName: aws.String(l.Names.BackupVault()), ByResourceArn: aws.String(tableARN)})
		if err == nil {
			for _, p := range out.RecoveryPoints {
				if p.Status == backuptypes.RecoveryPointStatusCompleted && aws.ToTime(p.CreationDate).After(since) {
					r.copyAfterReturn = aws.ToString(p.RecoveryPointArn)
					r.progress("backup", "recovery point %s, made %s", r.copyAfterReturn, aws.ToTime(p.CreationDate).Format(time.RFC3339))
					return nil
				}
			}
		}
		if err := l.Sleep(ctx, 15*time.Minute); err != nil {
			return err
		}
	}
	return nil
}
