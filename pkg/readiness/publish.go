package readiness

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// previousVerdict reads back the Ready metric of the last two intervals:
// the latest datapoint is the previous run's verdict (a run started by
// hand counts as one). known is false when there is none (the first run,
// or runs missed), which counts as a change. The datapoints are at most
// a thousand (GetMetricStatistics returns at most 1,440): a minute each
// for intervals up to about eight hours, longer for longer intervals.
func (r *Readiness) previousVerdict(ctx context.Context) (ready, known bool, err error) {
	now := r.Clock.Now()
	window := 2 * r.Config.Interval
	period := max(((window / 1000) + time.Minute - 1).Truncate(time.Minute), time.Minute)
	out, err := r.Metrics.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String(MetricNamespace), MetricName: aws.String(MetricReady),
		StartTime: aws.Time(now.Add(-window)), EndTime: aws.Time(now), Period: aws.Int32(int32(period.Seconds())),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMinimum},
	})
	if err != nil {
		return false, false, fmt.Errorf("read the previous verdict (%s %s): %w", MetricNamespace, MetricReady, err)
	}
	var latest time.Time
	for _, d := range out.Datapoints {
		if t := aws.ToTime(d.Timestamp); !known || t.After(latest) {
			latest, known, ready = t, true, aws.ToFloat64(d.Minimum) >= 1
		}
	}
	return ready, known, nil
}

func bit(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

// publishMetrics publishes Ready, each check's ReadinessCheck and DRMode.
func (r *Readiness) publishMetrics(ctx context.Context, rep Report) error {
	now := r.Clock.Now()
	data := []cwtypes.MetricDatum{{MetricName: aws.String(MetricReady), Value: aws.Float64(bit(rep.Ready)), Unit: cwtypes.StandardUnitCount, Timestamp: aws.Time(now)}}
	for _, c := range rep.Checks {
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String(MetricCheck), Value: aws.Float64(bit(c.OK)), Unit: cwtypes.StandardUnitCount, Timestamp: aws.Time(now),
			Dimensions: []cwtypes.Dimension{{Name: aws.String(DimensionCheck), Value: aws.String(c.Name)}}})
	}
	if v, ok := ModeValue[rep.Mode]; ok {
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String(MetricDRMode), Value: aws.Float64(v), Unit: cwtypes.StandardUnitNone, Timestamp: aws.Time(now)})
	}
	if _, err := r.Metrics.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(MetricNamespace), MetricData: data}); err != nil {
		return fmt.Errorf("publish the readiness metrics: %w", err)
	}
	return nil
}

// Subject is the DR topic's subject of a verdict.
func Subject(rep Report) string {
	if rep.Ready {
		return "Pendulum: ready"
	}
	s := "Pendulum: NOT READY (" + strings.Join(rep.Failing, ", ") + ")"
	if len(s) > 99 { // an SNS subject is ASCII, under 100 characters
		s = s[:96] + "..."
	}
	return s
}

// notify publishes the verdict to the DR topic: the subject and the
// report, with what to do.
func (r *Readiness) notify(ctx context.Context, rep Report, known bool) error {
	type message struct {
		Notice  string `json:"notice"`
		Report  Report `json:"report"`
		WhatNow string `json:"whatNext"`
	}
	m := message{Notice: Subject(rep), Report: rep}
	if !known {
		m.Notice += " (no earlier verdict found)"
	}
	if rep.Ready {
		m.WhatNow = "Nothing to do: every check passed."
	} else {
		m.WhatNow = `Each failing check's detail says what is wrong and what to do; docs/dr.md "Readiness" describes every check. The alarm ` +
			`on the Ready metric stays in ALARM until a run finds every check passing.`
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if _, err := r.Notify.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(r.Config.TopicARN), Subject: aws.String(Subject(rep)), Message: aws.String(string(body))}); err != nil {
		return fmt.Errorf("notify %s: %w", r.Config.TopicARN, err)
	}
	return nil
}
