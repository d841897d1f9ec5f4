package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// s3MetricAt returns the Maximum of an S3 replication metric of rule "all"
// (src → dst) in cw for the minute starting at t, and whether there is one.
func s3MetricAt(t *testing.T, cw *CloudWatch, name string, at time.Time) (float64, bool) {
	t.Helper()
	out, err := cw.GetMetricStatistics(Unmetered(context.Background()), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/S3"), MetricName: aws.String(name),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("SourceBucket"), Value: aws.String("src")}, {Name: aws.String("DestinationBucket"), Value: aws.String("dst")},
			{Name: aws.String("RuleId"), Value: aws.String("all")}},
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

// TestS3ReplicationMetrics: a rule with RTC publishes its replication
// metrics every minute from 15 minutes after it was set — latency and the
// pending operations and bytes in the destination's region, failures in
// the source's — and nothing while a region is down.
func TestS3ReplicationMetrics(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	cwP, cwB := w.Region(s3TestP).CloudWatch(), w.Region(s3TestB).CloudWatch()
	s3MustBucket(t, p, "src", true)
	s3MustBucket(t, b, "dst", true)
	s3Replicate(t, p, "src", "dst", true)
	set := clk.Now()
	p.SetReplicationLag(func(string, bool) time.Duration { return 5 * time.Second })
	s3MustPut(t, p, "src", "early", "v")
	_ = clk.Sleep(ctx, 16*time.Minute)
	minute := func(d time.Duration) time.Time { return set.Add(d).Truncate(time.Minute) }
	if _, ok := s3MetricAt(t, cwB, "OperationsPendingReplication", minute(10*time.Minute)); ok {
		t.Fatal("a datapoint within RTC's first 15 minutes")
	}
	if v, ok := s3MetricAt(t, cwB, "OperationsPendingReplication", minute(15*time.Minute)); !ok || v != 0 {
		t.Fatalf("pending at 15 min = %v %v, want a datapoint of 0 (published although nothing replicates)", v, ok)
	}
	if v, ok := s3MetricAt(t, cwB, "ReplicationLatency", minute(15*time.Minute)); !ok || v != 0 {
		t.Fatalf("latency with nothing to replicate = %v %v, want 0", v, ok)
	}

	// A 3-minute lag: pending while it lasts, then the minute of its
	// completion reports the latency.
	p.SetReplicationLag(func(string, bool) time.Duration { return 3 * time.Minute })
	_ = clk.Sleep(ctx, 30*time.Second) // mid-minute
	put := clk.Now()
	s3MustPut(t, p, "src", "slow", "twelve bytes")
	_ = clk.Sleep(ctx, 5*time.Minute)
	first := put.Truncate(time.Minute).Add(time.Minute) // the first whole minute after the put
	if v, _ := s3MetricAt(t, cwB, "OperationsPendingReplication", first); v != 1 {
		t.Fatalf("pending ops in the minute after the put = %v, want 1", v)
	}
	if v, _ := s3MetricAt(t, cwB, "BytesPendingReplication", first); v != 12 {
		t.Fatalf("pending bytes = %v, want 12", v)
	}
	if v, _ := s3MetricAt(t, cwB, "ReplicationLatency", first); v < 60 || v > 120 {
		t.Fatalf("latency while pending = %vs, want the oldest pending age at the minute's end (60–120 s)", v)
	}
	done := put.Add(3 * time.Minute).Truncate(time.Minute)
	if v, _ := s3MetricAt(t, cwB, "ReplicationLatency", done); v != 180 {
		t.Fatalf("latency in the minute it completed = %vs, want 180", v)
	}
	if v, _ := s3MetricAt(t, cwB, "OperationsPendingReplication", done); v != 0 {
		t.Fatalf("pending after completion = %v, want 0", v)
	}
	if _, ok := s3MetricAt(t, cwP, "ReplicationLatency", done); ok {
		t.Fatal("latency published in the source region: it belongs to the destination's")
	}

	// A failure counts in the source region.
	p.SetReplicationLag(func(string, bool) time.Duration { return 5 * time.Second })
	p.SetReplicationFailure(func(key string) bool { return key == "bad" })
	failAt := clk.Now()
	s3MustPut(t, p, "src", "bad", "v")
	_ = clk.Sleep(ctx, 2*time.Minute)
	if v, _ := s3MetricAt(t, cwP, "OperationsFailedReplication", failAt.Add(5*time.Second).Truncate(time.Minute)); v != 1 {
		t.Fatalf("failed ops = %v, want 1", v)
	}

	// Nothing while the destination region is down.
	w.SetDown(s3TestB, true)
	downAt := clk.Now().Truncate(time.Minute).Add(time.Minute)
	_ = clk.Sleep(ctx, 5*time.Minute)
	w.SetDown(s3TestB, false)
	if _, ok := s3MetricAt(t, cwB, "OperationsPendingReplication", downAt.Add(time.Minute)); ok {
		t.Fatal("a datapoint published into a region that was down")
	}
	_ = clk.Sleep(ctx, 2*time.Minute)

	// ListMetrics finds the rule's metrics by their dimensions.
	out, err := cwB.ListMetrics(Unmetered(ctx), &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/S3"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("SourceBucket"), Value: aws.String("src")}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range out.Metrics {
		got[aws.ToString(m.MetricName)] = len(m.Dimensions) == 3
	}
	if len(got) != 3 || !got["ReplicationLatency"] || !got["OperationsPendingReplication"] || !got["BytesPendingReplication"] {
		t.Fatalf("ListMetrics in the destination region = %v", got)
	}
	w.Close()
}

// TestCloudWatchListMetrics filters by namespace, name and dimensions,
// pages, leaves out metrics silent for two weeks (three hours with
// RecentlyActive) and refuses a bad token.
func TestCloudWatchListMetrics(t *testing.T) {
	_, clk, c := cwTestWorld(t)
	ctx := Unmetered(context.Background())
	put := func(ns, name string, dims ...string) {
		var d []cwtypes.Dimension
		for i := 0; i < len(dims); i += 2 {
			d = append(d, cwtypes.Dimension{Name: aws.String(dims[i]), Value: aws.String(dims[i+1])})
		}
		if _, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(name), Value: aws.Float64(1), Dimensions: d}}}); err != nil {
			t.Fatal(err)
		}
	}
	put("Pendulum", "Old", "Endpoint", "a")
	_ = clk.Sleep(context.Background(), 4*time.Hour)
	put("Pendulum", "EndpointHealthy", "Endpoint", "a")
	put("Pendulum", "EndpointHealthy", "Endpoint", "b")
	put("Other", "EndpointHealthy", "Endpoint", "a")
	list := func(in *cloudwatch.ListMetricsInput) []string {
		out, err := c.ListMetrics(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, m := range out.Metrics {
			s = append(s, aws.ToString(m.Namespace)+"/"+aws.ToString(m.MetricName)+"/"+aws.ToString(m.Dimensions[0].Value))
		}
		return s
	}
	if got := list(&cloudwatch.ListMetricsInput{Namespace: aws.String("Pendulum")}); len(got) != 3 {
		t.Fatalf("namespace Pendulum = %v", got)
	}
	if got := list(&cloudwatch.ListMetricsInput{Namespace: aws.String("Pendulum"), RecentlyActive: cwtypes.RecentlyActivePt3h}); len(got) != 2 {
		t.Fatalf("recently active = %v", got)
	}
	if got := list(&cloudwatch.ListMetricsInput{MetricName: aws.String("EndpointHealthy"), Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Endpoint"), Value: aws.String("a")}}}); len(got) != 2 {
		t.Fatalf("by name and dimension value = %v", got)
	}
	if got := list(&cloudwatch.ListMetricsInput{Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Missing")}}}); len(got) != 0 {
		t.Fatalf("by a dimension no metric has = %v", got)
	}
	_ = clk.Sleep(context.Background(), 15*24*time.Hour)
	if got := list(&cloudwatch.ListMetricsInput{}); len(got) != 0 {
		t.Fatalf("after two weeks of silence = %v", got)
	}
	put("Many", "M0")
	for i := 1; i < 501; i++ {
		put("Many", "M", "I", time.Duration(i).String())
	}
	out, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Many")})
	if err != nil || len(out.Metrics) != 500 || out.NextToken == nil {
		t.Fatalf("first page: %d metrics, next %v, %v", len(out.Metrics), out.NextToken, err)
	}
	out, err = c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Many"), NextToken: out.NextToken})
	if err != nil || len(out.Metrics) != 1 || out.NextToken != nil {
		t.Fatalf("second page: %d metrics, next %v, %v", len(out.Metrics), out.NextToken, err)
	}
	var bad *cwtypes.InvalidNextToken
	if _, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{NextToken: aws.String("nope")}); !errors.As(err, &bad) {
		t.Fatalf("bad token: %v", err)
	}
}
