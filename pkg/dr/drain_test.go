package dr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// fakeMetrics answers from fixed datapoints per metric name, so the
// AWS/Lambda metric (which CloudWatch, and the simulator, refuse from
// PutMetricData) can be given.
type fakeMetrics struct {
	points map[string][]cwtypes.Datapoint
	calls  []*cloudwatch.GetMetricStatisticsInput
}

func (f *fakeMetrics) GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error) {
	f.calls = append(f.calls, in)
	var out []cwtypes.Datapoint
	for _, p := range f.points[aws.ToString(in.MetricName)] {
		if ts := aws.ToTime(p.Timestamp); !ts.Before(*in.StartTime) && ts.Before(*in.EndTime) {
			out = append(out, p)
		}
	}
	return &cloudwatch.GetMetricStatisticsOutput{Datapoints: out}, nil
}

func TestDrain(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	sum := func(minAgo int, v float64) cwtypes.Datapoint {
		return cwtypes.Datapoint{Timestamp: aws.Time(now.Add(-time.Duration(minAgo) * time.Minute).Truncate(time.Minute)), Sum: aws.Float64(v)}
	}
	maxp := func(minAgo int, v float64) cwtypes.Datapoint {
		return cwtypes.Datapoint{Timestamp: aws.Time(now.Add(-time.Duration(minAgo) * time.Minute).Truncate(time.Minute)), Maximum: aws.Float64(v)}
	}
	tests := []struct {
		name    string
		ingest  []cwtypes.Datapoint
		lag     []cwtypes.Datapoint
		drained bool
		age     int64
		lagMs   int64
	}{
		{name: "StillIngesting", ingest: []cwtypes.Datapoint{sum(30, 5), sum(0, 3)}, drained: false, age: 0},
		{name: "QuietAndCaughtUp", ingest: []cwtypes.Datapoint{sum(10, 5), sum(5, 0)}, lag: []cwtypes.Datapoint{maxp(8, 4000), maxp(4, 0)}, drained: true, age: 540},
		{name: "QuietButConsumerBehind", ingest: []cwtypes.Datapoint{sum(10, 5)}, lag: []cwtypes.Datapoint{maxp(1, 90000)}, drained: false, age: 540, lagMs: 90000},
		{name: "NoTrafficInAnHour", drained: true, age: 3600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeMetrics{points: map[string][]cwtypes.Datapoint{"RecordsAccepted": tc.ingest, "IteratorAge": tc.lag}}
			d := &Drain{Metrics: func(string) (MetricStatistics, error) { return f, nil }, ConsumerFunction: "pendulum-aggregate",
				IngestQuiet: time.Minute, MaxConsumerLag: time.Second, Clock: newVirtualAt(now), Config: testConfig()}
			out, err := d.Handle(context.Background(), DrainInput{Region: regionB})
			if err != nil {
				t.Fatal(err)
			}
			if out.Drained != tc.drained || out.LastIngestAgeSeconds != tc.age || out.ConsumerLagMs != tc.lagMs {
				t.Fatalf("out = %+v, want drained %v age %d lag %d", out, tc.drained, tc.age, tc.lagMs)
			}
			if got := aws.ToString(f.calls[0].Dimensions[0].Value); got != regionB {
				t.Fatalf("ingest metric dimension Region = %s", got)
			}
		})
	}
}

// TestDrainOnSimulatedCloudWatch reads the ingest metric as the ingest
// function writes it (Embedded Metric Format) from the simulator.
func TestDrainOnSimulatedCloudWatch(t *testing.T) {
	ctx := context.Background()
	w, clk := newWorld(t)
	cw := w.Region(regionB).CloudWatch()
	line := `{"_aws":{"Timestamp":` + itoa(t0.Add(30*time.Second).UnixMilli()) + `,"CloudWatchMetrics":[{"Namespace":"Pendulum/Ingest","Dimensions":[["Region"]],"Metrics":[{"Name":"RecordsAccepted","Unit":"Count"}]}]},"Region":"us-east-2","RecordsAccepted":7}`
	if err := cw.IngestEMF([]byte(line)); err != nil {
		t.Fatal(err)
	}
	d := &Drain{Metrics: func(r string) (MetricStatistics, error) { return w.Region(r).CloudWatch(), nil }, ConsumerFunction: "pendulum-aggregate",
		IngestQuiet: time.Minute, MaxConsumerLag: time.Second, Clock: clk, Config: testConfig()}
	clk.Sleep(ctx, 90*time.Second)
	out, err := d.Handle(ctx, DrainInput{Region: regionB})
	if err != nil || out.Drained || out.LastIngestAgeSeconds != 30 {
		t.Fatalf("90 s after = %+v, %v; want not drained, age 30", out, err)
	}
	clk.Sleep(ctx, time.Minute)
	if out, err = d.Handle(ctx, DrainInput{Region: regionB}); err != nil || !out.Drained || out.LastIngestAgeSeconds != 90 {
		t.Fatalf("150 s after = %+v, %v; want drained, age 90", out, err)
	}
	if _, err := d.Handle(ctx, DrainInput{Region: "mars-1"}); kindOf(err) != "invalid" {
		t.Fatalf("unknown region: %v", err)
	}
}

// TestDrainGivesUp: a region still ingesting MaxDrainWait after the drain
// began fails with a conflict that says why (producers sent back to it: the
// primary may be failing again); before that, and once drained, it waits
// or passes; a bad startedAt is invalid input.
func TestDrainGivesUp(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	busy := []cwtypes.Datapoint{{Timestamp: aws.Time(now.Truncate(time.Minute)), Sum: aws.Float64(3)}}
	quiet := []cwtypes.Datapoint{{Timestamp: aws.Time(now.Add(-10 * time.Minute).Truncate(time.Minute)), Sum: aws.Float64(3)}}
	for _, tc := range []struct {
		name    string
		ingest  []cwtypes.Datapoint
		started string
		kind    string // kindOf's name; "nil" = no error
		drained bool
	}{
		{name: "StillWithinTheWait", ingest: busy, started: now.Add(-MaxDrainWait + time.Minute).Format(time.RFC3339), kind: "nil"},
		{name: "WaitedTooLong", ingest: busy, started: now.Add(-MaxDrainWait - time.Minute).Format(time.RFC3339), kind: "conflict"},
		{name: "DrainedLateIsStillDrained", ingest: quiet, started: now.Add(-2 * MaxDrainWait).Format(time.RFC3339), kind: "nil", drained: true},
		{name: "BadStart", ingest: busy, started: "yesterday", kind: "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeMetrics{points: map[string][]cwtypes.Datapoint{"RecordsAccepted": tc.ingest}}
			d := &Drain{Metrics: func(string) (MetricStatistics, error) { return f, nil }, ConsumerFunction: "pendulum-aggregate",
				IngestQuiet: time.Minute, MaxConsumerLag: time.Second, Clock: newVirtualAt(now), Config: testConfig()}
			out, err := d.Handle(context.Background(), DrainInput{Region: regionB, StartedAt: tc.started})
			if kindOf(err) != tc.kind {
				t.Fatalf("err %v (kind %q), want kind %q", err, kindOf(err), tc.kind)
			}
			if tc.kind == "conflict" && !strings.Contains(err.Error(), "start failover") {
				t.Fatalf("the cause does not say what to do: %v", err)
			}
			if err == nil && out.Drained != tc.drained {
				t.Fatalf("drained %t, want %t", out.Drained, tc.drained)
			}
		})
	}
}
