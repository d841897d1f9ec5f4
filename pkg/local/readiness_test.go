package local

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/readiness"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// beforeDailyBackup is a start a little before the synthesized backup
// plan's daily 03:00 UTC: its copy is in B's vault some 15 minutes later.
var beforeDailyBackup = BeforeBackup

// invokeReadiness invokes the deployed readiness function once, as
// `make verify-deploy` does, and returns its report.
func invokeReadiness(t *testing.T, l *Local) readiness.Report {
	t.Helper()
	out, err := invokeFunction(context.Background(), l.World.Region(l.Regions.Backup).Lambda(),
		l.Names.FunctionARN(l.Regions.Backup, "readiness"), []byte(`{}`))
	if err != nil {
		t.Fatalf("invoke readiness: %v", err)
	}
	var rep readiness.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("readiness answered %s: %v", out, err)
	}
	return rep
}

// wantFailing checks the report's verdict: exactly the checks failing
// fail, each with a detail; on a mismatch it prints every check.
func wantFailing(t *testing.T, rep readiness.Report, failing ...string) {
	t.Helper()
	if rep.Ready != (len(failing) == 0) || strings.Join(rep.Failing, ",") != strings.Join(failing, ",") {
		for _, c := range rep.Checks {
			t.Logf("%-14s ok=%v %s %v", c.Name, c.OK, c.Detail, c.Observed)
		}
		t.Fatalf("ready %v, failing %v; want failing %v", rep.Ready, rep.Failing, failing)
	}
}

// TestReadinessOnTheDeployedInstallation runs the readiness function the
// templates deploy on the installation they deploy: right after the
// deployment it is not ready only for what has not happened yet (no backup
// copy in B's vault, no replication metrics); once the daily backup's copy
// landed and replication reports it is ready, B's dormant stack matching
// P's and every DR state machine its definition; with PITR off on P's
// table it is not ready, naming pitr. The deployed schedule runs it too,
// and its verdict reaches the DR topic and the metrics.
func TestReadinessOnTheDeployedInstallation(t *testing.T) {
	// Deployed just before the daily backup (03:00 UTC): the copy lands in
	// B about ten minutes after it.
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true, Start: beforeDailyBackup})
	ctx := context.Background()
	P, B := l.Regions.Primary, l.Regions.Backup

	rep := invokeReadiness(t, l)
	wantFailing(t, rep, readiness.CheckRecoveryPoint, readiness.CheckReplication)
	if rep.Mode != "PRIMARY" || len(rep.Checks) != len(readiness.Checks) {
		t.Fatalf("report %+v", rep)
	}
	for _, c := range rep.Checks {
		if c.Name == readiness.CheckRecoveryPoint && !strings.Contains(c.Detail, "holds no COMPLETED recovery point") {
			t.Errorf("recoveryPoint detail: %s", c.Detail)
		}
	}

	if err := l.Sleep(ctx, 40*time.Minute); err != nil {
		t.Fatal(err)
	}
	wantFailing(t, invokeReadiness(t, l))

	db := l.World.Region(P).DynamoDB()
	if _, err := db.UpdateContinuousBackups(sim.Unmetered(ctx), &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(l.Names.AggregatesTable()),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	wantFailing(t, invokeReadiness(t, l), readiness.CheckPITR)
	if _, err := db.UpdateContinuousBackups(sim.Unmetered(ctx), &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(l.Names.AggregatesTable()),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}

	// The deployed schedule (hourly) has run it by now: its verdict is on
	// the topic and in the metrics, and the not-ready alarm is not in
	// ALARM once it reports ready.
	if err := l.Sleep(ctx, 45*time.Minute); err != nil {
		t.Fatal(err)
	}
	var verdicts []string
	for _, m := range l.World.Region(B).SNS().Published(l.Names.TopicARN(B)) {
		if strings.HasPrefix(m.Subject, "Pendulum: ready") || strings.HasPrefix(m.Subject, "Pendulum: NOT READY") {
			verdicts = append(verdicts, m.Subject)
		}
	}
	if len(verdicts) == 0 {
		t.Fatal("no readiness verdict on the DR topic")
	}
	if last := verdicts[len(verdicts)-1]; last != "Pendulum: ready" {
		t.Fatalf("verdicts %v, want the last to be ready", verdicts)
	}
	cw := l.World.Region(B).CloudWatch()
	stats, err := cw.GetMetricStatistics(sim.Unmetered(ctx), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String(readiness.MetricNamespace), MetricName: aws.String(readiness.MetricReady),
		StartTime: aws.Time(l.Now().Add(-2 * time.Hour)), EndTime: aws.Time(l.Now()), Period: aws.Int32(60),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMinimum},
	})
	// The runs by hand (two of them in one minute) and the scheduled one.
	if err != nil || len(stats.Datapoints) != 3 {
		t.Fatalf("Ready metric: %+v, %v", stats.Datapoints, err)
	}
	latest := stats.Datapoints[0]
	for _, d := range stats.Datapoints {
		if aws.ToTime(d.Timestamp).After(aws.ToTime(latest.Timestamp)) {
			latest = d
		}
	}
	if aws.ToFloat64(latest.Minimum) != 1 {
		t.Fatalf("the scheduled run's Ready = %v, want 1", aws.ToFloat64(latest.Minimum))
	}
	// The not-ready alarm (Minimum of Ready over the hour) went to ALARM
	// for the hours with a not-ready run and returns to OK after an hour
	// of only ready ones.
	alarm := func() cwtypes.MetricAlarm {
		t.Helper()
		out, err := cw.DescribeAlarms(sim.Unmetered(ctx), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{l.Names.Prefix + "-not-ready"}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("not-ready alarm: %+v, %v", out, err)
		}
		return out.MetricAlarms[0]
	}
	if a := alarm(); a.StateValue != cwtypes.StateValueAlarm {
		t.Fatalf("not-ready alarm after not-ready runs: %s (%s)", a.StateValue, aws.ToString(a.StateReason))
	}
	if err := l.Sleep(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if a := alarm(); a.StateValue != cwtypes.StateValueOk {
		t.Fatalf("not-ready alarm after an hour of ready runs: %s (%s)", a.StateValue, aws.ToString(a.StateReason))
	}
	if d := l.Denied(); len(d) != 0 {
		t.Fatalf("IAM denied %v", d)
	}
}
