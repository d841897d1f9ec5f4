package sim

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// TestDashboards: a dashboard whose body has the reference's structure is
// kept and returned as put, listed and deleted; a malformed body, a bad
// name or an unknown dashboard fail with CloudWatch's errors.
func TestDashboards(t *testing.T) {
	w, _, c := cwTestWorld(t)
	defer w.Close()
	ctx := Unmetered(context.Background())
	body := `{"widgets":[{"type":"text","x":0,"y":0,"width":24,"height":1,"properties":{"markdown":"# Pendulum"}},` +
		`{"type":"metric","properties":{"region":"us-east-1","metrics":[["AWS/Lambda","Errors","FunctionName","pendulum-ingest"]]}},` +
		`{"type":"alarm","properties":{"alarms":["arn:aws:cloudwatch:us-east-2:111122223333:alarm:a"]}}]}`
	if _, err := c.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("pendulum"), DashboardBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("pendulum")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.DashboardBody) != body || aws.ToString(got.DashboardArn) != "arn:aws:cloudwatch::111122223333:dashboard/pendulum" {
		t.Fatalf("GetDashboard = %s %s", aws.ToString(got.DashboardArn), aws.ToString(got.DashboardBody))
	}
	list, err := c.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{DashboardNamePrefix: aws.String("pen")})
	if err != nil || len(list.DashboardEntries) != 1 || aws.ToInt64(list.DashboardEntries[0].Size) != int64(len(body)) {
		t.Fatalf("ListDashboards = %+v, %v", list, err)
	}

	var invalid *cwtypes.DashboardInvalidInputError
	for name, bad := range map[string]string{
		"not JSON":           `{"widgets":`,
		"no widgets":         `{}`,
		"unknown type":       `{"widgets":[{"type":"graph","properties":{}}]}`,
		"metric, no region":  `{"widgets":[{"type":"metric","properties":{"metrics":[]}}]}`,
		"text, no markdown":  `{"widgets":[{"type":"text","properties":{}}]}`,
		"alarm, no alarms":   `{"widgets":[{"type":"alarm","properties":{}}]}`,
		"widget, no props":   `{"widgets":[{"type":"text"}]}`,
		"metric, no metrics": `{"widgets":[{"type":"metric","properties":{"region":"us-east-1"}}]}`,
	} {
		_, err := c.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("bad"), DashboardBody: aws.String(bad)})
		if !errors.As(err, &invalid) || len(invalid.DashboardValidationMessages) != 1 {
			t.Errorf("%s: PutDashboard err = %v, want DashboardInvalidInputError", name, err)
		}
	}
	var param *cwtypes.InvalidParameterValueException
	if _, err := c.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("has space"), DashboardBody: aws.String(body)}); !errors.As(err, &param) {
		t.Errorf("bad name: err = %v", err)
	}
	var notFound *cwtypes.DashboardNotFoundError
	if _, err := c.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("bad")}); !errors.As(err, &notFound) {
		t.Errorf("GetDashboard of an invalid put: err = %v, want DashboardNotFoundError", err)
	}
	if _, err := c.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"pendulum", "nope"}}); !errors.As(err, &notFound) {
		t.Errorf("DeleteDashboards with an unknown name: err = %v", err)
	}
	if _, err := c.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("pendulum")}); err != nil {
		t.Errorf("a failed DeleteDashboards deleted: %v", err)
	}
	if _, err := c.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"pendulum"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("pendulum")}); !errors.As(err, &notFound) {
		t.Errorf("after DeleteDashboards: err = %v", err)
	}
}

// TestAlarmActionsInItsRegion: an alarm's SNS action must be a topic of the
// alarm's region; CloudWatch refuses another region's.
func TestAlarmActionsInItsRegion(t *testing.T) {
	w, _, c := cwTestWorld(t)
	defer w.Close()
	in := &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("a"), Namespace: aws.String("N"), MetricName: aws.String("M"),
		Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, OKActions: []string{"arn:aws:sns:us-east-1:111122223333:dr"}}
	_, err := c.PutMetricAlarm(Unmetered(context.Background()), in)
	if s3ErrCode(err) != "ValidationError" {
		t.Fatalf("an alarm in us-east-2 with a us-east-1 topic: err = %v, want ValidationError", err)
	}
	in.OKActions = []string{"arn:aws:sns:us-east-2:111122223333:dr"}
	if _, err := c.PutMetricAlarm(Unmetered(context.Background()), in); err != nil {
		t.Fatal(err)
	}
}
