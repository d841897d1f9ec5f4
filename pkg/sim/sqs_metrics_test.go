package sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestSQSVisibleMetric: every minute each queue's visible messages are
// published as AWS/SQS ApproximateNumberOfMessagesVisible (QueueName),
// in-flight messages not counted.
func TestSQSVisibleMetric(t *testing.T) {
	w, clk, s, url, _ := sqsTestQueue(t)
	defer w.Close()
	ctx := context.Background()
	for range 3 {
		if _, err := s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
	}
	// One in flight for 5 minutes.
	if out, err := s.ReceiveMessage(Unmetered(ctx), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1, VisibilityTimeout: 300}); err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %v", out, err)
	}
	_ = clk.Sleep(ctx, 70*time.Second)
	minute := clk.Now().Truncate(time.Minute)
	get := func(queue string) (float64, bool) {
		t.Helper()
		out, err := w.Region("us-east-1").CloudWatch().GetMetricStatistics(Unmetered(ctx), &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/SQS"), MetricName: aws.String(SQSMessagesVisibleMetric),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(queue)}},
			StartTime:  aws.Time(minute), EndTime: aws.Time(minute.Add(time.Minute)), Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Datapoints) == 0 {
			return 0, false
		}
		return aws.ToFloat64(out.Datapoints[0].Maximum), true
	}
	if v, ok := get("work"); !ok || v != 2 {
		t.Fatalf("work: visible = %v, %v; want 2 (one of three in flight)", v, ok)
	}
	if v, ok := get("work-dlq"); !ok || v != 0 {
		t.Fatalf("work-dlq: visible = %v, %v; want 0", v, ok)
	}
}
