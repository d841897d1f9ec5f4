package sim

import sched "github.com/pendulum-dr/pendulum/pkg/schedule"

// scheduleExpr is a parsed schedule expression, as EventBridge rules (rate,
// cron), AWS Backup plans (cron) and EventBridge Scheduler schedules (rate,
// cron, at) take them; pkg/schedule evaluates them.
type scheduleExpr = sched.Expr

// Schedule expression dialects: EventBridge rules take rate and cron;
// Scheduler adds at() for one-time schedules.
const (
	scheduleRule      = sched.Rule
	scheduleScheduler = sched.Scheduler
)

// parseSchedule parses a schedule expression; withAt accepts at(...).
func parseSchedule(expr string, withAt bool) (scheduleExpr, error) {
	return sched.Parse(expr, withAt)
}
