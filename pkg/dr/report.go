package dr

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// HistoryReader reads an execution's history (drapi).
type HistoryReader = drapi.HistoryReader

// MetricPutter publishes CloudWatch metrics.
type MetricPutter interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// ReportInput is dr-report's input: failover and failback pass status,
// the drill passes mode and its state.
type ReportInput struct {
	Workflow  string          `json:"workflow"`
	Execution string          `json:"execution"`
	Status    string          `json:"status,omitempty"`
	Mode      string          `json:"mode,omitempty"`
	State     json.RawMessage `json:"state,omitempty"`
}

// StepDuration is how long a top-level state took (drapi).
type StepDuration = drapi.StepDuration

// ReportOutput is the DR report (drapi).
type ReportOutput = drapi.ReportOutput

// MetricNamespace is where the report's metrics go.
const MetricNamespace = topology.MetricNamespace

// The report's metrics (Report.publish), spelled here once for the CDK
// app's dashboard: each workflow's total duration, the drill's verdict by
// mode, and each top-level step's duration by workflow and step.
const (
	MetricFailoverSeconds = "FailoverSeconds"
	MetricFailbackSeconds = "FailbackSeconds"
	MetricDrillSeconds    = "DrillSeconds"
	MetricDrillPassed     = "DrillPassed"
	MetricStepSeconds     = "StepSeconds"
	DimensionMode         = "Mode"
	DimensionWorkflow     = "Workflow"
	DimensionStep         = "Step"
)

// Report is the dr-report step: step durations from the execution history,
// facts from the control record (failover, failback) or the drill's state,
// and CloudWatch metrics: DrillPassed (drill), FailoverSeconds /
// FailbackSeconds / DrillSeconds (total), StepSeconds (dimensions Workflow,
// Step).
type Report struct {
	History HistoryReader
	Control *Control
	Metrics MetricPutter
	Clock   clock.Clock
}

// Handle builds and publishes the report.
func (r *Report) Handle(ctx context.Context, in ReportInput) (ReportOutput, error) {
	switch in.Workflow {
	case WorkflowFailover, WorkflowFailback, WorkflowDrill:
	default:
		return ReportOutput{}, invalidf("workflow %q: want failover, failback or drill", in.Workflow)
	}
	if in.Execution == "" {
		return ReportOutput{}, invalidf("execution is required")
	}
	steps, started, err := drapi.StepDurations(ctx, r.History, in.Execution, r.Clock.Now)
	if err != nil {
		return ReportOutput{}, err
	}
	out := ReportOutput{Workflow: in.Workflow, Execution: in.Execution, Mode: in.Mode, Steps: steps}
	if !started.IsZero() {
		out.TotalSeconds = round(r.Clock.Now().Sub(started).Seconds())
	}
	switch in.Workflow {
	case WorkflowDrill:
		out.Passed, out.Facts = drillOutcome(in.Mode, in.State)
	default:
		out.Passed = in.Status == "SUCCEEDED"
		rec, _, err := r.Control.Read(ctx)
		if err != nil {
			return ReportOutput{}, err
		}
		out.Facts = drapi.WorkflowFacts(rec, in.Workflow)
	}
	if err := r.publish(ctx, out); err != nil {
		return ReportOutput{}, err
	}
	return out, nil
}

func rawOrNull(b json.RawMessage) json.RawMessage { return drapi.RawOrNull(b) }

func round(s float64) float64 { return drapi.Round(s) }

// drillOutcome reads the drill's state: an isolated drill passes when its
// checks passed; a game day when both executions succeeded.
func drillOutcome(mode string, raw json.RawMessage) (bool, json.RawMessage) {
	var st struct {
		Verify       *VerifyOutput   `json:"verify"`
		VerifyError  json.RawMessage `json:"verifyError"`
		RestoreError json.RawMessage `json:"restoreError"`
		CleanupError json.RawMessage `json:"cleanupError"`
		Error        json.RawMessage `json:"error"`
		Failover     json.RawMessage `json:"failover"`
		Failback     json.RawMessage `json:"failback"`
	}
	_ = json.Unmarshal(raw, &st)
	facts := map[string]any{}
	passed := false
	if mode == "gameday" {
		passed = len(st.Failover) > 0 && len(st.Failback) > 0 && len(st.Error) == 0
		facts["failover"], facts["failback"] = rawOrNull(st.Failover), rawOrNull(st.Failback)
		if len(st.Error) > 0 {
			facts["error"] = errorText(st.Error)
		}
	} else {
		passed = st.Verify != nil && st.Verify.Passed && len(st.VerifyError) == 0
		if st.Verify != nil {
			facts["checks"] = st.Verify.Checks
		}
		for name, e := range map[string]json.RawMessage{"verifyError": st.VerifyError, "restoreError": st.RestoreError, "cleanupError": st.CleanupError} {
			if len(e) > 0 && string(e) != "null" {
				facts[name] = errorText(e)
			}
		}
	}
	b, _ := json.Marshal(facts)
	return passed, b
}

func (r *Report) publish(ctx context.Context, out ReportOutput) error {
	now := r.Clock.Now()
	wf := out.Workflow
	total := map[string]string{WorkflowFailover: MetricFailoverSeconds, WorkflowFailback: MetricFailbackSeconds, WorkflowDrill: MetricDrillSeconds}[wf]
	data := []cwtypes.MetricDatum{{MetricName: aws.String(total), Value: aws.Float64(out.TotalSeconds), Unit: cwtypes.StandardUnitSeconds, Timestamp: aws.Time(now)}}
	if wf == WorkflowDrill {
		v := 0.0
		if out.Passed {
			v = 1
		}
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String(MetricDrillPassed), Value: aws.Float64(v), Unit: cwtypes.StandardUnitCount, Timestamp: aws.Time(now),
			Dimensions: []cwtypes.Dimension{{Name: aws.String(DimensionMode), Value: aws.String(modeOr(out.Mode))}}})
	}
	for _, s := range out.Steps {
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String(MetricStepSeconds), Value: aws.Float64(s.Seconds), Unit: cwtypes.StandardUnitSeconds, Timestamp: aws.Time(now),
			Dimensions: []cwtypes.Dimension{{Name: aws.String(DimensionWorkflow), Value: aws.String(wf)}, {Name: aws.String(DimensionStep), Value: aws.String(s.Name)}}})
	}
	for start := 0; start < len(data); start += 1000 {
		if _, err := r.Metrics.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(MetricNamespace), MetricData: data[start:min(start+1000, len(data))]}); err != nil {
			return fmt.Errorf("publish %s report metrics: %w", wf, err)
		}
	}
	return nil
}

func modeOr(m string) string {
	if m == "" {
		return "isolated"
	}
	return m
}
