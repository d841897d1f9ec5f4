package dr

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pendulum-dr/pendulum/pkg/integration"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// TestIsolatedDrillStateMachine runs drill.asl.json (statemachines/, or
// DR_ASL_DIR) in isolated mode on the engine against the simulator: the
// drill table is restored, verified, deleted, and the report published.
func TestIsolatedDrillStateMachine(t *testing.T) {
	dir := os.Getenv("DR_ASL_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "statemachines")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "drill.asl.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no drill.asl.json in %s (set DR_ASL_DIR)", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dw := newDrillWorldRestored(t, "", false)
	w, clk, cfg := dw.w, dw.clk, dw.cfg
	bdb := w.Region(regionB).DynamoDB()
	bdb.SetRestoreDuration(2 * time.Minute)
	createTable(t, bdb, cfg.ControlTable, false)

	eng := states.New(states.Options{Clock: clk, Registry: states.NewRegistry(), AccountID: account, Region: regionB})
	reg := eng.Registry()
	fn := func(name string) string {
		return "arn:aws:lambda:" + regionB + ":" + account + ":function:pendulum-" + name
	}
	control := &Control{DB: bdb, SFN: states.SFN{Engine: eng}, Table: cfg.ControlTable, AggregatesTable: aggTable, Clock: clk}
	reg.HandleLambda(fn("dr-control"), lambdaOf("dr-control", control.Handle))
	reg.HandleLambda(fn("dr-verify"), lambdaOf("dr-verify", dw.verify().Handle))
	cw := w.Region(regionB).CloudWatch()
	report := &Report{History: states.SFN{Engine: eng}, Control: control, Metrics: cw, Clock: clk}
	reg.HandleLambda(fn("dr-report"), lambdaOf("dr-report", report.Handle))
	for _, action := range []string{"restoreTableToPointInTime", "describeTable", "deleteTable"} {
		reg.HandleSDK("dynamodb", action, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
			return integration.Call(ctx, "dynamodb", bdb, action, params)
		})
	}
	reg.HandleSDK("sns", "publish", func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"MessageId":"m-1"}`), nil
	})
	doc := string(raw)
	for k, v := range map[string]string{
		"DrControlFunctionArn": fn("dr-control"), "DrVerifyFunctionArn": fn("dr-verify"), "DrReportFunctionArn": fn("dr-report"),
		"PrimaryAggregatesTableArn": "arn:aws:dynamodb:" + regionP + ":" + account + ":table/" + aggTable,
		"NotificationTopicArn":      cfg.TopicARN,
		"FailoverStateMachineArn":   "arn:aws:states:" + regionB + ":" + account + ":stateMachine:pendulum-failover",
		"FailbackStateMachineArn":   "arn:aws:states:" + regionB + ":" + account + ":stateMachine:pendulum-failback",
	} {
		doc = strings.ReplaceAll(doc, "${"+k+"}", v)
	}
	if i := strings.Index(doc, "${"); i >= 0 {
		t.Fatalf("unsubstituted placeholder near %q", doc[i:min(i+40, len(doc))])
	}
	m, err := states.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	x, err := eng.Start(ctx, m, "d1", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := x.Wait(ctx)
	if res.Status != states.StatusSucceeded {
		t.Fatalf("drill %s: %s: %s", res.Status, res.Error, res.Cause)
	}
	var out struct{ Report ReportOutput }
	if err := json.Unmarshal(res.Output, &out); err != nil || !out.Report.Passed {
		t.Fatalf("output %s (%v)", res.Output, err)
	}
	if !strings.Contains(string(out.Report.Facts), `"markers"`) {
		t.Fatalf("facts lack the checks: %s", out.Report.Facts)
	}
	// The drill table is gone, and DrillPassed = 1 is published.
	if _, err := bdb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(DrillTable(aggTable, x.ARN()))}); kindOf(err) != "not found" {
		t.Fatalf("drill table left behind: %v", err)
	}
	st, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Pendulum"), MetricName: aws.String("DrillPassed"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Mode"), Value: aws.String("isolated")}},
		StartTime:  aws.Time(clk.Now().Add(-time.Hour)), EndTime: aws.Time(clk.Now().Add(time.Minute)), Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticMinimum}})
	if err != nil || len(st.Datapoints) != 1 || aws.ToFloat64(st.Datapoints[0].Minimum) != 1 {
		t.Fatalf("DrillPassed = %+v, %v", st.Datapoints, err)
	}
	t.Logf("drill steps %+v", out.Report.Steps)
}
