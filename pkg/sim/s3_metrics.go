package sim

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 Replication metrics (docs/aws-facts.md "S3 replication"): for every
// rule with replication metrics on (RTC turns them on), S3 publishes to
// CloudWatch, every minute whether or not anything replicated, in the
// AWS/S3 namespace with the dimensions SourceBucket, DestinationBucket and
// RuleId:
//
//   - ReplicationLatency (seconds), OperationsPendingReplication and
//     BytesPendingReplication in the destination bucket's region;
//   - OperationsFailedReplication in the source bucket's region.
//
// With RTC the first datapoints come 15 minutes after the rule was set.
// The simulator's figures for a minute: latency is the larger of the
// slowest replication completed in it (completion − the source version's
// write) and the age of the oldest replication still pending at its end
// (the destination is that far behind); the pending figures are the queued
// and parked replications at its end; failures are those of the minute.
// Nothing is published while the source region or the destination region
// is down (no service there to measure or to receive), nor for a
// destination bucket that does not exist.
const (
	s3MetricsNamespace        = "AWS/S3"
	s3MetricLatency           = "ReplicationLatency"
	s3MetricOperationsPending = "OperationsPendingReplication"
	s3MetricBytesPending      = "BytesPendingReplication"
	s3MetricOperationsFailed  = "OperationsFailedReplication"
	s3RTCMetricsDelay         = 15 * time.Minute
	s3MetricsPeriod           = time.Minute
)

// s3RuleMetrics is what S3 measured of one rule since its last datapoint.
type s3RuleMetrics struct {
	since      time.Time // when the rule was set: RTC's first datapoint is 15 min later
	rtc        bool
	maxLatency float64 // seconds, the slowest completion of the minute
	failed     int
}

// metricsRuleKey identifies a rule of a bucket.
func metricsRuleKey(bucket, rule string) string { return bucket + "\x00" + rule }

// noteRulesLocked records when each metrics-enabled rule of bucket was set
// and starts the region's publisher once. c.mu is held.
func (c *S3) noteRulesLocked(bucket string, cfg *s3types.ReplicationConfiguration) {
	now := c.now()
	for _, rule := range cfg.Rules {
		m := rule.Destination.Metrics
		if m == nil || m.Status != s3types.MetricsStatusEnabled {
			continue
		}
		rtc := rule.Destination.ReplicationTime != nil && rule.Destination.ReplicationTime.Status == s3types.ReplicationTimeStatusEnabled
		if c.ruleMetrics == nil {
			c.ruleMetrics = map[string]*s3RuleMetrics{}
		}
		key := metricsRuleKey(bucket, aws.ToString(rule.ID))
		if _, ok := c.ruleMetrics[key]; !ok {
			c.ruleMetrics[key] = &s3RuleMetrics{since: now, rtc: rtc}
		}
	}
	if !c.publishing && len(c.ruleMetrics) > 0 {
		c.publishing = true
		c.r.world.goBackground(c.publishReplicationMetrics)
	}
}

// noteReplicatedLocked records a finished replication of r (completed, or
// FAILED) for its rule's metrics. c.mu is held.
func (c *S3) noteReplicatedLocked(r s3Repl, failed bool) {
	m := c.ruleMetrics[metricsRuleKey(r.bucket, r.rule)]
	if m == nil {
		return
	}
	if failed {
		m.failed++
		return
	}
	if lat := c.now().Sub(r.v.lastModified).Seconds(); lat > m.maxLatency {
		m.maxLatency = lat
	}
}

// publishReplicationMetrics publishes every metrics-enabled rule's
// datapoints at each minute boundary, until the world closes.
func (c *S3) publishReplicationMetrics(ctx context.Context) {
	clk := c.r.world.Clock
	for {
		now := clk.Now()
		next := now.Truncate(s3MetricsPeriod).Add(s3MetricsPeriod)
		if err := clk.Sleep(ctx, next.Sub(now)); err != nil {
			return
		}
		c.publishMinute(next)
	}
}

// s3RuleDatapoints are one rule's figures for the minute ending at a
// boundary.
type s3RuleDatapoints struct {
	bucket, dest, rule       string
	latency                  float64
	pendingOps, pendingBytes int
	failed                   int
}

// publishMinute publishes the minute [end-1m, end) of every rule.
func (c *S3) publishMinute(end time.Time) {
	w := c.r.world
	at := end.Add(-s3MetricsPeriod)
	var points []s3RuleDatapoints
	c.mu.Lock()
	for name, b := range c.buckets {
		if b.replication == nil {
			continue
		}
		for _, rule := range b.replication.Rules {
			id := aws.ToString(rule.ID)
			m := c.ruleMetrics[metricsRuleKey(name, id)]
			if m == nil || rule.Destination.Metrics == nil || rule.Destination.Metrics.Status != s3types.MetricsStatusEnabled {
				continue
			}
			p := s3RuleDatapoints{bucket: name, dest: strings.TrimPrefix(aws.ToString(rule.Destination.Bucket), "arn:aws:s3:::"), rule: id,
				latency: m.maxLatency, failed: m.failed}
			m.maxLatency, m.failed = 0, 0
			if m.rtc && end.Before(m.since.Add(s3RTCMetricsDelay)) {
				continue // RTC's metrics begin 15 minutes after the rule was set
			}
			for _, q := range [][]s3Repl{c.queue, c.parked} {
				for _, r := range q {
					if r.bucket != name || r.rule != id {
						continue
					}
					p.pendingOps++
					if !r.v.deleteMarker {
						p.pendingBytes += len(r.v.body)
					}
					if age := end.Sub(r.v.lastModified).Seconds(); age > p.latency {
						p.latency = age
					}
				}
			}
			points = append(points, p)
		}
	}
	c.mu.Unlock()
	if w.Down(c.r.Name) {
		return
	}
	for _, p := range points {
		dims := []cwtypes.Dimension{
			{Name: aws.String("SourceBucket"), Value: aws.String(p.bucket)},
			{Name: aws.String("DestinationBucket"), Value: aws.String(p.dest)},
			{Name: aws.String("RuleId"), Value: aws.String(p.rule)},
		}
		c.r.CloudWatch().publishServiceMetric(s3MetricsNamespace, s3MetricOperationsFailed, dims, at, float64(p.failed))
		dr := w.s3FindBucket(p.dest)
		if dr == nil {
			continue
		}
		cw := dr.CloudWatch()
		cw.publishServiceMetric(s3MetricsNamespace, s3MetricLatency, dims, at, p.latency)
		cw.publishServiceMetric(s3MetricsNamespace, s3MetricOperationsPending, dims, at, float64(p.pendingOps))
		cw.publishServiceMetric(s3MetricsNamespace, s3MetricBytesPending, dims, at, float64(p.pendingBytes))
	}
}
