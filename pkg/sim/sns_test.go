package sim

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

func TestSNSDelivery(t *testing.T) {
	ctx := context.Background()
	w := NewWorld(clock.NewVirtual(glueTestStart), "111122223333", "us-east-1", "us-east-2")
	s := w.Region("us-east-2").SNS()
	topic, err := s.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("dr-events")})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("dr-events")})
	if *again.TopicArn != *topic.TopicArn {
		t.Fatalf("CreateTopic is not idempotent: %s vs %s", *again.TopicArn, *topic.TopicArn)
	}
	q2 := w.Region("us-east-2").SQS()
	q1 := w.Region("us-east-1").SQS()
	env, _ := q2.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("envelope")})
	raw, _ := q1.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("raw")}) // another region
	if _, err := s.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(q2.QueueARN("envelope"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(q1.QueueARN("raw")),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	email, err := s.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("oncall@example.com")})
	if err != nil || *email.SubscriptionArn != "pending confirmation" {
		t.Fatalf("email subscription = %v, %v", email, err)
	}
	if _, err := s.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("failover"), Message: aws.String(`{"phase":"FAILED_OVER"}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"mode": {DataType: aws.String("String"), StringValue: aws.String("gameday")}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := q2.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: env.QueueUrl})
	if len(got.Messages) != 1 {
		t.Fatalf("envelope queue: %d messages", len(got.Messages))
	}
	var n struct{ Type, TopicArn, Subject, Message string }
	if err := json.Unmarshal([]byte(*got.Messages[0].Body), &n); err != nil {
		t.Fatal(err)
	}
	if n.Type != "Notification" || n.TopicArn != *topic.TopicArn || n.Subject != "failover" || n.Message != `{"phase":"FAILED_OVER"}` {
		t.Fatalf("envelope = %+v", n)
	}
	got, _ = q1.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: raw.QueueUrl})
	if len(got.Messages) != 1 || *got.Messages[0].Body != `{"phase":"FAILED_OVER"}` {
		t.Fatalf("raw queue: %+v", got.Messages)
	}
	pub := s.Published(*topic.TopicArn)
	if len(pub) != 1 || pub[0].Attributes["mode"] != "gameday" {
		t.Fatalf("published = %+v", pub)
	}

	t.Run("AlarmActionPublishes", func(t *testing.T) {
		c := w.Region("us-east-2").CloudWatch()
		_, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("health"), Namespace: aws.String("Pendulum/Health"), MetricName: aws.String("ProbeSuccess"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
			ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold, AlarmActions: []string{*topic.TopicArn}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("health"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
		pub := s.Published(*topic.TopicArn)
		if len(pub) != 2 {
			t.Fatalf("published %d, want the alarm notification too", len(pub))
		}
		var alarm struct{ AlarmName, NewStateValue string }
		if err := json.Unmarshal([]byte(pub[1].Message), &alarm); err != nil || alarm.AlarmName != "health" || alarm.NewStateValue != "ALARM" {
			t.Fatalf("alarm message %q: %v", pub[1].Message, err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name string
			call func() error
			want any
		}{
			{"NoTopic", func() error {
				_, err := s.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(s.TopicARN("nope")), Message: aws.String("m")})
				return err
			}, new(*snstypes.NotFoundException)},
			{"EmptyMessage", func() error {
				_, err := s.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("")})
				return err
			}, new(*snstypes.InvalidParameterException)},
			{"BadProtocol", func() error {
				_, err := s.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("pigeon"), Endpoint: aws.String("x")})
				return err
			}, new(*snstypes.InvalidParameterException)},
			{"SQSEndpointNotARN", func() error {
				_, err := s.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String("https://sqs/queue")})
				return err
			}, new(*snstypes.InvalidParameterException)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); err == nil || !errors.As(err, tt.want) {
					t.Fatalf("err = %v, want %T", err, tt.want)
				}
			})
		}
	})
	t.Run("ListTopics", func(t *testing.T) {
		out, err := s.ListTopics(ctx, &sns.ListTopicsInput{})
		if err != nil || len(out.Topics) != 1 || *out.Topics[0].TopicArn != *topic.TopicArn {
			t.Fatalf("%v %v", out, err)
		}
	})
	t.Run("RegionDown", func(t *testing.T) {
		w.SetDown("us-east-2", true)
		defer w.SetDown("us-east-2", false)
		if _, err := s.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("m")}); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	})
}

// snsAPI is every SNS method the simulator implements, with the SDK's
// signatures: the SDK client and the simulator must both satisfy it.
type snsAPI interface {
	CreateTopic(ctx context.Context, in *sns.CreateTopicInput, optFns ...func(*sns.Options)) (*sns.CreateTopicOutput, error)
	Subscribe(ctx context.Context, in *sns.SubscribeInput, optFns ...func(*sns.Options)) (*sns.SubscribeOutput, error)
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	ListTopics(ctx context.Context, in *sns.ListTopicsInput, optFns ...func(*sns.Options)) (*sns.ListTopicsOutput, error)
}

var (
	_ snsAPI = (*sns.Client)(nil)
	_ snsAPI = (*SNS)(nil)
)
