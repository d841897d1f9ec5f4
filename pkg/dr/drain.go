package dr

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// DrainInput is dr-drain's input.
type DrainInput struct {
	Region string `json:"region"`
	// StartedAt (RFC 3339) is when the drain began waiting: a drain still
	// not done MaxDrainWait later fails instead of waiting on.
	StartedAt string `json:"startedAt,omitempty"`
}

// MaxDrainWait bounds the drain. Once traffic has moved, B's ingest falls
// quiet within the accelerator's health-check failover and Firehose's
// buffer interval (a few minutes); B still accepting records half an hour
// later means producers are being sent back to B — the primary's endpoints
// are unhealthy, it is failing again — and failback must stop rather than
// wait out its execution timeout.
const MaxDrainWait = 30 * time.Minute

// DrainOutput says whether the region is drained.
type DrainOutput struct {
	Drained              bool  `json:"drained"`
	LastIngestAgeSeconds int64 `json:"lastIngestAgeSeconds"`
	ConsumerLagMs        int64 `json:"consumerLagMs"`
}

// Drain signals (CloudWatch, in the drained region):
//
//   - ingest: Pendulum/Ingest RecordsAccepted (Sum per minute, dimension
//     Region), which the ingest function writes as Embedded Metric Format.
//     The last minute with records gives the time since the last accepted
//     record; none in the last hour counts as an hour.
//   - consumer: AWS/Lambda IteratorAge (Maximum per minute, dimension
//     FunctionName = the aggregate consumer), the age of the newest record
//     the event source mapping handed over. An idle mapping invokes nothing
//     and publishes nothing: no datapoint in the window is no lag.
//
// A region is drained when no record was accepted for at least
// IngestQuiet (Firehose's buffer interval: after it the last records are in
// S3 for the copy-back's second pass) and the consumer lags by at most
// MaxConsumerLag (its last records are in the table for the merge).
type Drain struct {
	Metrics func(region string) (MetricStatistics, error)
	// ConsumerFunction is the aggregate consumer's function name.
	ConsumerFunction string
	// IngestQuiet is Firehose's buffer interval (infra: 60 s).
	IngestQuiet time.Duration
	// MaxConsumerLag is the iterator age taken as caught up (2 s).
	MaxConsumerLag time.Duration
	Clock          clock.Clock
	Config         Config
}

// ingestLookback bounds how far back the last accepted record is looked for.
const ingestLookback = time.Hour

// Handle reports whether the region is drained.
func (d *Drain) Handle(ctx context.Context, in DrainInput) (DrainOutput, error) {
	if _, err := d.Config.RawBucket(in.Region); err != nil {
		return DrainOutput{}, err
	}
	cw, err := d.Metrics(in.Region)
	if err != nil {
		return DrainOutput{}, err
	}
	now := d.Clock.Now().UTC()
	ingest, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String(topology.IngestMetricNamespace), MetricName: aws.String(topology.MetricRecordsAccepted),
		Dimensions: []cwtypes.Dimension{{Name: aws.String(topology.IngestDimensionRegion), Value: aws.String(in.Region)}},
		StartTime:  aws.Time(now.Add(-ingestLookback)), EndTime: aws.Time(now.Add(time.Minute)),
		Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
	})
	if err != nil {
		return DrainOutput{}, fmt.Errorf("read ingest metrics in %s: %w", in.Region, err)
	}
	age := ingestLookback
	for _, p := range ingest.Datapoints {
		if aws.ToFloat64(p.Sum) <= 0 {
			continue
		}
		// The datapoint covers [ts, ts+1m): the last record may be at its end.
		a := now.Sub(aws.ToTime(p.Timestamp).Add(time.Minute))
		if a < 0 {
			a = 0
		}
		age = min(age, a)
	}
	lag, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("IteratorAge"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String(d.ConsumerFunction)}},
		StartTime:  aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
		Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
	})
	if err != nil {
		return DrainOutput{}, fmt.Errorf("read consumer metrics in %s: %w", in.Region, err)
	}
	var lagMs float64
	var newest time.Time
	for _, p := range lag.Datapoints {
		if ts := aws.ToTime(p.Timestamp); !ts.Before(newest) {
			newest, lagMs = ts, aws.ToFloat64(p.Maximum)
		}
	}
	out := DrainOutput{LastIngestAgeSeconds: int64(age / time.Second), ConsumerLagMs: int64(lagMs)}
	out.Drained = age >= d.IngestQuiet && time.Duration(lagMs)*time.Millisecond <= d.MaxConsumerLag
	if !out.Drained && in.StartedAt != "" {
		started, err := time.Parse(time.RFC3339, in.StartedAt)
		if err != nil {
			return DrainOutput{}, invalidf("startedAt %q: want an RFC 3339 time", in.StartedAt)
		}
		if waited := now.Sub(started); waited > MaxDrainWait {
			return DrainOutput{}, conflictf("%s not drained after %s (last record accepted %ds ago, consumer lag %dms): producers are still sent to %s although traffic was moved to the primary, so the primary's endpoints are unhealthy — it may be failing again. Failback stops here; if the primary is down, start failover (it takes the lock back from this failback)",
				in.Region, waited.Round(time.Second), out.LastIngestAgeSeconds, out.ConsumerLagMs, in.Region)
		}
	}
	return out, nil
}
