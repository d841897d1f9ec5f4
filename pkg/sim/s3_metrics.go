package sim

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 replication metrics (docs/aws-facts.md "S3 replication"): for every
// rule with replication metrics on, S3 publishes to CloudWatch, in the
// destination bucket's region, namespace AWS/S3, with the dimensions
// SourceBucket, DestinationBucket and RuleId:
//
//   - ReplicationLatency: how many seconds the destination is behind the
//     source for the rule (here: the age of the oldest source write still
//     waiting to replicate; 0 when none waits);
//   - OperationsPendingReplication: the operations waiting (objects and
//     delete markers);
//   - BytesPendingReplication: the bytes of the objects waiting.
//
// They are published every minute, also when nothing replicates, and with
// Replication Time Control only from 15 minutes after the rule was put.
// Publishing is S3's own work in the source region, so none is published
// while the source region is down (nor, as for every service metric, while
// the destination's CloudWatch is).
const (
	S3ReplicationLatency           = "ReplicationLatency"
	S3OperationsPendingReplication = "OperationsPendingReplication"
	S3BytesPendingReplication      = "BytesPendingReplication"
	// s3RTCMetricsDelay is how long after RTC is enabled the metrics begin.
	s3RTCMetricsDelay = 15 * time.Minute
)

// startMetricsLocked starts the region's replication metrics publisher if
// cfg turns metrics on for a rule and it is not running yet. c.mu must be
// held.
func (c *S3) startMetricsLocked(cfg *s3types.ReplicationConfiguration) {
	if c.metricsOn {
		return
	}
	for _, rule := range cfg.Rules {
		if s3MetricsOn(rule) {
			c.metricsOn = true
			c.r.world.goBackground(c.publishMetrics)
			return
		}
	}
}

func s3MetricsOn(rule s3types.ReplicationRule) bool {
	return rule.Status == s3types.ReplicationRuleStatusEnabled && rule.Destination != nil &&
		rule.Destination.Metrics != nil && rule.Destination.Metrics.Status == s3types.MetricsStatusEnabled
}

// publishMetrics publishes every minute, on the minute, until the world
// closes.
func (c *S3) publishMetrics(ctx context.Context) {
	clk := c.r.world.Clock
	for {
		now := clk.Now()
		if err := clk.Sleep(ctx, now.Truncate(time.Minute).Add(time.Minute).Sub(now)); err != nil {
			return
		}
		if !c.r.world.Down(c.r.Name) {
			c.publishMetricsOnce()
		}
	}
}

// s3RuleBacklog is what waits to replicate under one rule.
type s3RuleBacklog struct {
	source, dest, rule string
	ops                int
	bytes              int64
	oldest             time.Time
}

// publishMetricsOnce publishes one datapoint of each metric for every rule
// with metrics on.
func (c *S3) publishMetricsOnce() {
	now := c.now()
	c.mu.Lock()
	backlog := map[[2]string]*s3RuleBacklog{} // (bucket, rule ID)
	for _, b := range c.buckets {
		if b.replication == nil {
			continue
		}
		for _, rule := range b.replication.Rules {
			rtc := rule.Destination.ReplicationTime != nil && rule.Destination.ReplicationTime.Status == s3types.ReplicationTimeStatusEnabled
			if !s3MetricsOn(rule) || rtc && now.Sub(b.replicationAt) < s3RTCMetricsDelay {
				continue
			}
			id := aws.ToString(rule.ID)
			backlog[[2]string{b.name, id}] = &s3RuleBacklog{source: b.name, dest: s3BucketName(aws.ToString(rule.Destination.Bucket)), rule: id}
		}
	}
	for _, list := range [][]s3Repl{c.queue, c.parked} {
		for _, r := range list {
			bl := backlog[[2]string{r.bucket, r.rule}]
			if bl == nil {
				continue
			}
			bl.ops++
			if !r.v.deleteMarker {
				bl.bytes += int64(len(r.v.data()))
			}
			if bl.oldest.IsZero() || r.v.lastModified().Before(bl.oldest) {
				bl.oldest = r.v.lastModified()
			}
		}
	}
	c.mu.Unlock()
	at := now.Truncate(time.Minute)
	for _, bl := range backlog {
		dr := c.r.world.s3FindBucket(bl.dest)
		if dr == nil {
			continue // a deleted destination: the metrics stop
		}
		latency := 0.0
		if !bl.oldest.IsZero() {
			latency = max(now.Sub(bl.oldest), 0).Seconds()
		}
		dims := []cwtypes.Dimension{
			{Name: aws.String("SourceBucket"), Value: aws.String(bl.source)},
			{Name: aws.String("DestinationBucket"), Value: aws.String(bl.dest)},
			{Name: aws.String("RuleId"), Value: aws.String(bl.rule)},
		}
		cw := dr.CloudWatch()
		cw.publishServiceMetric("AWS/S3", S3ReplicationLatency, dims, at, latency)
		cw.publishServiceMetric("AWS/S3", S3OperationsPendingReplication, dims, at, float64(bl.ops))
		cw.publishServiceMetric("AWS/S3", S3BytesPendingReplication, dims, at, float64(bl.bytes))
	}
}

// s3BucketName is the bucket of a bucket ARN.
func s3BucketName(arn string) string {
	const p = "arn:aws:s3:::"
	if len(arn) > len(p) && arn[:len(p)] == p {
		return arn[len(p):]
	}
	return arn
}
