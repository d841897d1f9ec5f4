package drill

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// pipelineFaultFor is how long partial-primary's consumer fault lasts.
const pipelineFaultFor = 20 * time.Minute

// catchUpWithin bounds how long after the fault partial-primary waits for
// the consumer to count every record acknowledged before it cleared.
const catchUpWithin = 15 * time.Minute

// pipelineWatch is what the drill saw of the primary's pipeline alarm and
// of a consumer fault.
type pipelineWatch struct {
	// alarmAt and okAt are when the pipeline alarm went to ALARM (first
	// time) and back to OK after it; zero if never.
	alarmAt, okAt time.Time
	// faultAt and clearedAt bound the consumer fault; caughtUpAt is when
	// every record acknowledged before clearedAt was counted.
	faultAt, clearedAt, caughtUpAt time.Time
	// stalled is how many records acknowledged during the fault the
	// aggregates lacked when it cleared.
	stalled int
}

// watchPipelineAlarm notes the pipeline alarm's transitions (called at each
// watch step): DescribeAlarms in B, as an operator's console reads it.
func (r *run) watchPipelineAlarm(ctx context.Context) {
	l := r.l
	out, err := l.World.Region(l.Regions.Backup).CloudWatch().DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{l.Names.PipelineAlarmName()}})
	if err != nil || len(out.MetricAlarms) == 0 {
		return
	}
	a := out.MetricAlarms[0]
	at := aws.ToTime(a.StateTransitionedTimestamp)
	p := &r.pipe
	switch {
	case a.StateValue == cwtypes.StateValueAlarm && p.alarmAt.IsZero():
		p.alarmAt = at
		r.progress("pipeline", "%s in ALARM: %s", l.Names.PipelineAlarmName(), aws.ToString(a.StateReason))
	case a.StateValue == cwtypes.StateValueOk && !p.alarmAt.IsZero() && p.okAt.IsZero() && at.After(p.alarmAt):
		p.okAt = at
		r.progress("pipeline", "%s back to OK", l.Names.PipelineAlarmName())
	}
}

// consumerFault makes every DynamoDB TransactWriteItems call in the
// primary fail for d — the aggregate consumer's writes, and only them —
// while ingest (Kinesis) and the front door stay up; then it clears the
// fault and waits for the consumer to count everything acknowledged
// before that.
func (r *run) consumerFault(ctx context.Context, d time.Duration) error {
	l := r.l
	P := l.Regions.Primary
	f := &sim.Fault{Region: P, Service: "DynamoDB", Operation: "TransactWriteItems",
		Err: &ddbtypes.InternalServerError{Message: aws.String("Internal server error")}}
	r.pipe.faultAt = l.Now()
	l.World.Inject(f)
	r.progress("fault", "every TransactWriteItems of %s's aggregate consumer fails (InternalServerError) for %s; ALB and ingest keep answering", P, d)
	if err := r.watch(ctx, d); err != nil {
		return err
	}
	counted, err := r.countedIn(ctx, P)
	if err != nil {
		return err
	}
	cleared := l.Now()
	for id, a := range r.ackedCopy() {
		if a.at.After(r.pipe.faultAt) && !counted[id] {
			r.pipe.stalled++
		}
	}
	l.World.RemoveFault(f)
	r.pipe.clearedAt = cleared
	r.progress("fault", "cleared: %d records acknowledged during the fault are not yet counted", r.pipe.stalled)
	for end := cleared.Add(catchUpWithin); l.Now().Before(end); {
		if err := r.watch(ctx, 15*time.Second); err != nil {
			return err
		}
		counted, err := r.countedIn(ctx, P)
		if err != nil {
			return err
		}
		behind := 0
		for id, a := range r.ackedCopy() {
			if !a.at.After(cleared) && !counted[id] {
				behind++
			}
		}
		if behind == 0 {
			r.pipe.caughtUpAt = l.Now()
			r.progress("fault", "the consumer caught up: every record acknowledged before the fault cleared is counted")
			break
		}
	}
	// Long enough for the alarm to see fresh minutes again.
	return r.watch(ctx, 5*time.Minute)
}

// countedIn returns the record ids whose markers region's aggregates hold.
func (r *run) countedIn(ctx context.Context, region string) (map[string]bool, error) {
	agg, err := readAggregates(ctx, r.l.World.Region(region).DynamoDB(), r.l.Names.AggregatesTable(), r.scale.skipping())
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(agg.markers))
	for id := range agg.markers {
		out[id] = true
	}
	return out, nil
}

// ackedCopy returns the acknowledgements so far.
func (r *run) ackedCopy() map[string]ack {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]ack, len(r.acked))
	for id, a := range r.acked {
		out[id] = a
	}
	return out
}

// notified reports whether the DR topic got subject, and at which index of
// the notifications (-1 if never).
func notified(rep *Report, subject string) int {
	for i, n := range rep.Notifications {
		if n == subject {
			return i
		}
	}
	return -1
}

// lastNotified is notified's last index.
func lastNotified(rep *Report, subject string) int {
	last := -1
	for i, n := range rep.Notifications {
		if n == subject {
			last = i
		}
	}
	return last
}

// pipelineAlarmQuiet is every scenario's check but partial-primary's: the
// pipeline alarm never notified (an outage is EndpointHealthy's; the
// pipeline is judged only behind an answering front door).
func (r *run) pipelineAlarmQuiet(ok checkFunc) {
	name := r.l.Names.PipelineAlarmName()
	n := 0
	for _, s := range r.rep.Notifications {
		if strings.HasPrefix(s, "ALARM: "+name) {
			n++
		}
	}
	ok("pipelineAlarmQuiet", n == 0 && r.pipe.alarmAt.IsZero(), "%s notified ALARM %d times", name, n)
}
