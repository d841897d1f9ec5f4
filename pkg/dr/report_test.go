package dr

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// reportMachine has a plain step, a Parallel whose branches must not show
// as steps, a wait loop visiting a state twice, and a task whose caught
// failure has no exit event.
const reportMachine = `{
  "StartAt": "Begin",
  "States": {
    "Begin": {"Type": "Wait", "Seconds": 2, "Next": "Recover"},
    "Recover": {"Type": "Parallel", "ResultPath": "$.recover", "Next": "Activate", "Branches": [
      {"StartAt": "Short", "States": {"Short": {"Type": "Wait", "Seconds": 60, "End": true}}},
      {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 600, "Next": "Longer"}, "Longer": {"Type": "Pass", "End": true}}}
    ]},
    "Activate": {"Type": "Wait", "Seconds": 30, "Next": "Again?"},
    "Again?": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 0, "Next": "Count"}], "Default": "Flaky"},
    "Count": {"Type": "Pass", "Result": 1, "ResultPath": "$.n", "Next": "Activate"},
    "Flaky": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "flaky"},
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recorded"}], "Next": "Recorded"},
    "Recorded": {"Type": "Wait", "Seconds": 5, "End": true}
  }
}`

func TestReportStepsFromHistory(t *testing.T) {
	ctx := context.Background()
	w, clk := newWorld(t)
	m, err := states.Parse([]byte(reportMachine))
	if err != nil {
		t.Fatal(err)
	}
	reg := states.NewRegistry()
	reg.HandleLambda("flaky", func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		if err := clk.Sleep(ctx, 7*time.Second); err != nil {
			return nil, err
		}
		return nil, fault.InvalidErr(errors.New("bad"))
	})
	e := states.New(states.Options{Clock: clk, Registry: reg})
	x, err := e.Start(ctx, m, "run-1", json.RawMessage(`{"n":0}`))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := x.Wait(ctx); err != nil || res.Status != states.StatusSucceeded {
		t.Fatalf("execution: %+v %v", res, err)
	}

	c, _, _ := newControl(t)
	cw := w.Region(regionB).CloudWatch()
	r := &Report{History: states.SFN{Engine: e}, Control: c, Metrics: cw, Clock: clk}
	out, err := r.Handle(ctx, ReportInput{Workflow: "failover", Execution: x.ARN(), Status: "SUCCEEDED"})
	if err != nil {
		t.Fatal(err)
	}
	want := []StepDuration{{Name: "Begin", Seconds: 2}, {Name: "Recover", Seconds: 600}, {Name: "Activate", Seconds: 60}, {Name: "Again?", Seconds: 0}, {Name: "Count", Seconds: 0}, {Name: "Flaky", Seconds: 7}, {Name: "Recorded", Seconds: 5}}
	if len(out.Steps) != len(want) {
		t.Fatalf("steps = %+v, want %+v", out.Steps, want)
	}
	for i := range want {
		if out.Steps[i] != want[i] {
			t.Fatalf("step %d = %+v, want %+v (all %+v)", i, out.Steps[i], want[i], out.Steps)
		}
	}
	if !out.Passed || out.TotalSeconds != 674 {
		t.Fatalf("passed %v total %v, want true 674", out.Passed, out.TotalSeconds)
	}
	// The metrics are in CloudWatch.
	st, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Pendulum"), MetricName: aws.String("StepSeconds"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Workflow"), Value: aws.String("failover")}, {Name: aws.String("Step"), Value: aws.String("Recover")}},
		StartTime:  aws.Time(clk.Now().Add(-time.Hour)), EndTime: aws.Time(clk.Now().Add(time.Minute)), Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum}})
	if err != nil || len(st.Datapoints) != 1 || aws.ToFloat64(st.Datapoints[0].Maximum) != 600 {
		t.Fatalf("StepSeconds Recover = %+v, %v", st, err)
	}
}

func TestReportDrillOutcome(t *testing.T) {
	tests := []struct {
		name, mode, state string
		want              bool
	}{
		{name: "IsolatedPassed", mode: "isolated", state: `{"verify":{"checks":[{"name":"restore","passed":true,"detail":"ok"}],"passed":true}}`, want: true},
		{name: "IsolatedFailedCheck", mode: "isolated", state: `{"verify":{"checks":[{"name":"catalog","passed":false,"detail":"1 missing"}],"passed":false}}`},
		{name: "IsolatedVerifyError", mode: "isolated", state: `{"verifyError":{"Error":"States.Timeout"}}`},
		{name: "GamedayPassed", mode: "gameday", state: `{"failover":{"output":"{}"},"failback":{"output":"{}"}}`, want: true},
		{name: "GamedayFailbackFailed", mode: "gameday", state: `{"failover":{"output":"{}"},"error":{"Error":"States.TaskFailed","Cause":"failback failed"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			passed, facts := drillOutcome(tc.mode, json.RawMessage(tc.state))
			if passed != tc.want || !json.Valid(facts) {
				t.Fatalf("passed = %v (facts %s), want %v", passed, facts, tc.want)
			}
		})
	}
}
