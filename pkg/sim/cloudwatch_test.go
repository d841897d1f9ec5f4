package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

func cwTestWorld(t testing.TB) (*World, *clock.Virtual, *CloudWatch) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	return w, clk, w.Region("us-east-2").CloudWatch()
}

// cwTestAlarm creates alarm "health": Sum of Pendulum/Health ProbeSuccess
// (dimension Target=primary) < 1 over N periods of 60 s, M to alarm.
func cwTestAlarm(t testing.TB, c *CloudWatch, n, m int32, treat string) {
	t.Helper()
	in := &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("health"), Namespace: aws.String("Pendulum/Health"), MetricName: aws.String("ProbeSuccess"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Target"), Value: aws.String("primary")}},
		Statistic:  cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(n), DatapointsToAlarm: aws.Int32(m),
		Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
		AlarmActions: []string{"arn:aws:sns:us-east-2:111122223333:dr-events"},
	}
	if treat != "" {
		in.TreatMissingData = aws.String(treat)
	}
	// The alarm tests drive the minute grid themselves: their own calls
	// take no time.
	if _, err := c.PutMetricAlarm(Unmetered(context.Background()), in); err != nil {
		t.Fatal(err)
	}
}

func cwTestPut(t testing.TB, c *CloudWatch, v float64) {
	t.Helper()
	_, err := c.PutMetricData(Unmetered(context.Background()), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pendulum/Health"), MetricData: []cwtypes.MetricDatum{{
		MetricName: aws.String("ProbeSuccess"), Value: aws.Float64(v), Dimensions: []cwtypes.Dimension{{Name: aws.String("Target"), Value: aws.String("primary")}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
}

func cwTestState(t testing.TB, c *CloudWatch) cwtypes.StateValue {
	t.Helper()
	out, err := c.DescribeAlarms(Unmetered(context.Background()), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"health"}})
	if err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("%v %v", out, err)
	}
	return out.MetricAlarms[0].StateValue
}

func TestCloudWatchAlarmTransitions(t *testing.T) {
	ctx := context.Background()
	// Each step: the value put during the minute (nil: none), then the state
	// evaluated at the next minute boundary.
	one, zero := 1.0, 0.0
	tests := []struct {
		name   string
		n, m   int32
		treat  string
		values []*float64
		want   []cwtypes.StateValue
	}{
		// Periods before the first datapoint are missing too, so breaching at
		// first, as in CloudWatch.
		{"MissingIsBreaching", 3, 2, "breaching",
			[]*float64{&one, &one, &one, nil, nil, &one, &one},
			[]cwtypes.StateValue{"ALARM", "OK", "OK", "OK", "ALARM", "ALARM", "OK"}},
		{"MissingIsNotBreaching", 3, 2, "notBreaching",
			[]*float64{nil, nil, nil, &zero, &zero},
			[]cwtypes.StateValue{"OK", "OK", "OK", "OK", "ALARM"}},
		{"MissingDefaultAllMissingIsInsufficient", 2, 1, "",
			[]*float64{nil, &one, nil, nil, &zero},
			[]cwtypes.StateValue{"INSUFFICIENT_DATA", "OK", "OK", "INSUFFICIENT_DATA", "ALARM"}},
		{"MOfN", 3, 2, "notBreaching",
			[]*float64{&zero, &one, &one, &zero, &one, &zero, &zero},
			[]cwtypes.StateValue{"OK", "OK", "OK", "OK", "OK", "ALARM", "ALARM"}},
		{"IgnoreKeepsState", 1, 1, "ignore",
			[]*float64{&zero, nil, nil, &one, nil},
			[]cwtypes.StateValue{"ALARM", "ALARM", "ALARM", "OK", "OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, clk, c := cwTestWorld(t)
			cwTestAlarm(t, c, tt.n, tt.m, tt.treat)
			if got := cwTestState(t, c); got != cwtypes.StateValueInsufficientData {
				t.Fatalf("new alarm state = %s", got)
			}
			for i, v := range tt.values {
				_ = clk.Sleep(ctx, 30*time.Second)
				if v != nil {
					cwTestPut(t, c, *v)
				}
				_ = clk.Sleep(ctx, 30*time.Second) // on a minute boundary
				c.EvaluateAlarms(ctx, false)
				if got := cwTestState(t, c); got != tt.want[i] {
					t.Fatalf("minute %d: state = %s, want %s", i+1, got, tt.want[i])
				}
			}
		})
	}
}

func TestCloudWatchAlarmEvaluationOnClock(t *testing.T) {
	ctx := context.Background()
	w, clk, c := cwTestWorld(t)
	cwTestAlarm(t, c, 3, 3, "breaching")
	var changes []AlarmStateChange
	c.OnStateChange(func(_ context.Context, ch AlarmStateChange) { changes = append(changes, ch) })
	var notes []string
	w.Region("us-east-2").registerSink("arn:aws:sns:us-east-2:111122223333:dr-events", func(body string) { notes = append(notes, body) })
	rctx, cancel := context.WithCancel(ctx)
	done := clk.Go(func() { _ = c.RunAlarmEvaluation(rctx) })
	for i := 0; i < 5; i++ { // the health λ succeeds for five minutes, then P is gone
		_ = clk.Sleep(ctx, 10*time.Second)
		cwTestPut(t, c, 1)
		_ = clk.Sleep(ctx, 50*time.Second)
	}
	_ = clk.Sleep(ctx, 10*time.Minute)
	cancel()
	_ = clk.Await(ctx, done, 0)
	if len(changes) != 2 || changes[0].Current != cwtypes.StateValueOk || changes[1].Current != cwtypes.StateValueAlarm {
		t.Fatalf("changes = %+v, want OK then ALARM", changes)
	}
	// Data stops after minute 5; three missing periods breach at minute 8.
	if got, want := changes[1].Time, glueTestStart.Add(8*time.Minute); !got.Equal(want) {
		t.Fatalf("ALARM at %v, want %v", got, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], `"NewStateValue":"ALARM"`) {
		t.Fatalf("SNS notifications = %v", notes)
	}
}

func TestCloudWatchSetAlarmState(t *testing.T) {
	ctx := context.Background()
	_, _, c := cwTestWorld(t)
	cwTestAlarm(t, c, 1, 1, "notBreaching")
	var got []cwtypes.StateValue
	c.OnStateChange(func(_ context.Context, ch AlarmStateChange) { got = append(got, ch.Current) })
	if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("health"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("drill")}); err != nil {
		t.Fatal(err)
	}
	c.EvaluateAlarms(ctx, true) // the next evaluation resets it
	if len(got) != 2 || got[0] != cwtypes.StateValueAlarm || got[1] != cwtypes.StateValueOk {
		t.Fatalf("changes = %v, want ALARM then OK", got)
	}
	_, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("nope"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("x")})
	var nf *cwtypes.ResourceNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want ResourceNotFound", err)
	}
}

func TestCloudWatchMetricsAndEMF(t *testing.T) {
	ctx := context.Background()
	w, clk, c := cwTestWorld(t)
	for i := 0; i < 3; i++ {
		line := fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"Pendulum/Health","Dimensions":[["Target"]],"Metrics":[{"Name":"ProbeSuccess","Unit":"Count"},{"Name":"LatencyMs"}]}]},"Target":"primary","ProbeSuccess":1,"LatencyMs":[%d,%d]}`,
			clk.Now().UnixMilli(), 10*(i+1), 20*(i+1))
		if err := c.IngestEMF([]byte(line)); err != nil {
			t.Fatal(err)
		}
		_ = clk.Sleep(ctx, time.Minute)
	}
	dims := []cwtypes.Dimension{{Name: aws.String("Target"), Value: aws.String("primary")}}
	st, err := c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Pendulum/Health"), MetricName: aws.String("LatencyMs"), Dimensions: dims,
		StartTime: aws.Time(glueTestStart), EndTime: aws.Time(clk.Now()), Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage, cwtypes.StatisticMaximum, cwtypes.StatisticSampleCount}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Datapoints) != 3 || *st.Datapoints[2].Average != 45 || *st.Datapoints[2].Maximum != 60 || *st.Datapoints[0].SampleCount != 2 {
		t.Fatalf("datapoints = %+v", st.Datapoints)
	}
	md, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(glueTestStart), EndTime: aws.Time(clk.Now()), MetricDataQueries: []cwtypes.MetricDataQuery{{
		Id: aws.String("p"), MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("Pendulum/Health"), MetricName: aws.String("ProbeSuccess"), Dimensions: dims},
			Period: aws.Int32(180), Stat: aws.String("Sum")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := md.MetricDataResults[0]; len(r.Values) != 1 || r.Values[0] != 3 {
		t.Fatalf("GetMetricData = %+v", r)
	}
	t.Run("Errors", func(t *testing.T) {
		_, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("x"), Namespace: aws.String("N"), MetricName: aws.String("M"), Statistic: cwtypes.StatisticSum,
			Period: aws.Int32(45), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold})
		var ip *cwtypes.InvalidParameterValueException
		if !errors.As(err, &ip) {
			t.Fatalf("period 45: err = %v, want InvalidParameterValue", err)
		}
		_, err = c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("x"), Namespace: aws.String("N"), MetricName: aws.String("M"), Statistic: cwtypes.StatisticSum,
			Period: aws.Int32(60), EvaluationPeriods: aws.Int32(2), DatapointsToAlarm: aws.Int32(3), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold})
		if !errors.As(err, &ip) {
			t.Fatalf("M > N: err = %v, want InvalidParameterValue", err)
		}
		w.SetDown("us-east-2", true)
		defer w.SetDown("us-east-2", false)
		if _, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
		if err := c.IngestEMF([]byte(`{}`)); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("emf while down: err = %v, want ErrUnreachable", err)
		}
	})
}

func TestParseEMF(t *testing.T) {
	bad := []string{
		`not json`,
		`{"x":1}`,
		`{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Metrics":[{"Name":"m"}]}]},"m":1}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Metrics":[{"Name":"m"}]}]}}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Metrics":[{"Name":"m"}]}]},"m":"one"}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["d"]],"Metrics":[{"Name":"m"}]}]},"m":1}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"AWS/Lambda","Metrics":[{"Name":"m"}]}]},"m":1}`,
	}
	for _, s := range bad {
		if _, err := ParseEMF([]byte(s)); err == nil {
			t.Errorf("ParseEMF(%s) succeeded, want an error", s)
		}
	}
	emf, err := ParseEMF([]byte(`{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["a"],["a","b"],[]],"Metrics":[{"Name":"m"}]}]},"a":"x","b":"y","m":[1,2]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(emf.Metrics) != 3 || len(emf.Metrics[1].Dimensions) != 2 || len(emf.Metrics[2].Dimensions) != 0 || len(emf.Metrics[0].Values) != 2 {
		t.Fatalf("metrics = %+v", emf.Metrics)
	}
}

// FuzzCloudWatchEMF checks that the EMF parser never panics and that what
// it accepts is well-formed: a namespace, a name and 1–100 values each.
func FuzzCloudWatchEMF(f *testing.F) {
	f.Add([]byte(`{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"Pendulum/Health","Dimensions":[["Target"]],"Metrics":[{"Name":"ProbeSuccess","Unit":"Count"}]}]},"Target":"primary","ProbeSuccess":1}`))
	f.Add([]byte(`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":[1,2,3]}`))
	f.Add([]byte(`{"_aws":{"Timestamp":"x"}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		emf, err := ParseEMF(line)
		if err != nil {
			return
		}
		for _, m := range emf.Metrics {
			if m.Namespace == "" || m.Name == "" || len(m.Values) == 0 || len(m.Values) > 100 {
				t.Fatalf("accepted a malformed metric %+v from %q", m, line)
			}
		}
	})
}

func BenchmarkCloudWatchEvaluateAlarms(b *testing.B) {
	ctx := context.Background()
	_, clk, c := cwTestWorld(b)
	for i := 0; i < 100; i++ {
		_, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(fmt.Sprintf("a%d", i)), Namespace: aws.String("Pendulum/Health"), MetricName: aws.String("ProbeSuccess"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("Target"), Value: aws.String(fmt.Sprint(i % 10))}},
			Statistic:  cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(5), DatapointsToAlarm: aws.Int32(3),
			Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold, TreatMissingData: aws.String("breaching"),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for m := 0; m < 24*60; m++ { // a day of per-minute data for 10 metrics
		var data []cwtypes.MetricDatum
		for d := 0; d < 10; d++ {
			data = append(data, cwtypes.MetricDatum{MetricName: aws.String("ProbeSuccess"), Value: aws.Float64(1), Timestamp: aws.Time(glueTestStart.Add(time.Duration(m) * time.Minute)),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("Target"), Value: aws.String(fmt.Sprint(d))}}})
		}
		if _, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pendulum/Health"), MetricData: data}); err != nil {
			b.Fatal(err)
		}
	}
	_ = clk.Sleep(ctx, 24*time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		c.EvaluateAlarms(ctx, true)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/alarm")
}

// cloudwatchAPI is every CloudWatch method the simulator implements, with the SDK's
// signatures: the SDK client and the simulator must both satisfy it.
type cloudwatchAPI interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
	GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error)
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
	PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	SetAlarmState(ctx context.Context, in *cloudwatch.SetAlarmStateInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.SetAlarmStateOutput, error)
}

var (
	_ cloudwatchAPI = (*cloudwatch.Client)(nil)
	_ cloudwatchAPI = (*CloudWatch)(nil)
)

// Samples of one instant are kept as one: a series holds what its
// statistics need, however many calls wrote it.
func TestCloudWatchSamplesOfAnInstantMerge(t *testing.T) {
	ctx := context.Background()
	_, clk, c := cwTestWorld(t)
	ts := clk.Now().UnixMilli()
	for i := 1; i <= 1000; i++ {
		line := fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M"}]}]},"D":"d","M":%d}`, ts, i)
		if err := c.IngestEMF([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	_ = clk.Sleep(ctx, time.Minute)
	c.mu.Lock()
	var samples int
	for _, s := range c.metrics {
		samples += len(s.samples)
	}
	c.mu.Unlock()
	if samples != 1 {
		t.Fatalf("%d samples stored for 1000 values at one instant, want 1", samples)
	}
	st, err := c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("N"), MetricName: aws.String("M"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("D"), Value: aws.String("d")}}, StartTime: aws.Time(glueTestStart), EndTime: aws.Time(clk.Now()), Period: aws.Int32(60),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticSum, cwtypes.StatisticSampleCount, cwtypes.StatisticMinimum, cwtypes.StatisticMaximum, cwtypes.StatisticAverage}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Datapoints) != 1 {
		t.Fatalf("datapoints = %+v", st.Datapoints)
	}
	d := st.Datapoints[0]
	if *d.Sum != 500500 || *d.SampleCount != 1000 || *d.Minimum != 1 || *d.Maximum != 1000 || *d.Average != 500.5 {
		t.Fatalf("sum %v count %v min %v max %v avg %v; want 500500 1000 1 1000 500.5", *d.Sum, *d.SampleCount, *d.Minimum, *d.Maximum, *d.Average)
	}
}
