package sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// s3TestMetric is the Maximum of an AWS/S3 replication metric of rule "all"
// (src → dst) in B over the minute starting at at; ok is false without a
// datapoint.
func s3TestMetric(t *testing.T, w *World, name string, at time.Time) (float64, bool) {
	t.Helper()
	out, err := w.Region(s3TestB).CloudWatch().GetMetricStatistics(Unmetered(context.Background()), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/S3"), MetricName: aws.String(name),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("SourceBucket"), Value: aws.String("src")},
			{Name: aws.String("DestinationBucket"), Value: aws.String("dst")}, {Name: aws.String("RuleId"), Value: aws.String("all")}},
		StartTime: aws.Time(at), EndTime: aws.Time(at.Add(time.Minute)), Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Datapoints) == 0 {
		return 0, false
	}
	return aws.ToFloat64(out.Datapoints[0].Maximum), true
}

// TestS3ReplicationMetrics: with RTC the rule's metrics appear in the
// destination's region 15 minutes after the rule was put, every minute,
// zero while nothing waits; an object waiting to replicate counts as an
// operation and its bytes pending, and the latency is its age; none is
// published while the source region is down.
func TestS3ReplicationMetrics(t *testing.T) {
	w, clk := s3TestWorld(t)
	defer w.Close()
	ctx := context.Background()
	p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	s3MustBucket(t, p, "src", true)
	s3MustBucket(t, b, "dst", true)
	s3Replicate(t, p, "src", "dst", true)
	start := clk.Now().Truncate(time.Minute)
	_ = clk.Sleep(ctx, 14*time.Minute)
	if _, ok := s3TestMetric(t, w, S3ReplicationLatency, start.Add(13*time.Minute)); ok {
		t.Fatal("replication metrics within 15 minutes of enabling RTC")
	}
	// The rule was put a call's latency after start: its first datapoint
	// is the minute after the 15th.
	_ = clk.Sleep(ctx, 3*time.Minute)
	if v, ok := s3TestMetric(t, w, S3OperationsPendingReplication, start.Add(16*time.Minute)); !ok || v != 0 {
		t.Fatalf("pending operations with nothing to replicate = %v, %v; want 0", v, ok)
	}

	p.SetReplicationLag(func(string, bool) time.Duration { return 150 * time.Second })
	put := clk.Now()
	s3MustPut(t, p, "src", "k", "12345")
	_ = clk.Sleep(ctx, 2*time.Minute)
	minute := clk.Now().Truncate(time.Minute)
	lat, _ := s3TestMetric(t, w, S3ReplicationLatency, minute)
	ops, _ := s3TestMetric(t, w, S3OperationsPendingReplication, minute)
	bytes, _ := s3TestMetric(t, w, S3BytesPendingReplication, minute)
	// The object was written a PutObject's latency after put.
	if want := minute.Sub(put).Seconds(); lat > want || lat < want-1 || ops != 1 || bytes != 5 {
		t.Fatalf("while waiting: latency %v (want %v), operations %v, bytes %v", lat, want, ops, bytes)
	}
	_ = clk.Sleep(ctx, time.Minute)
	if lat, _ := s3TestMetric(t, w, S3ReplicationLatency, clk.Now().Truncate(time.Minute)); lat != 0 {
		t.Fatalf("latency after the replication = %v, want 0", lat)
	}

	w.SetDown(s3TestP, true)
	_ = clk.Sleep(ctx, 2*time.Minute)
	if _, ok := s3TestMetric(t, w, S3ReplicationLatency, clk.Now().Truncate(time.Minute).Add(-time.Minute)); ok {
		t.Fatal("replication metrics published while the source region is down")
	}
}
