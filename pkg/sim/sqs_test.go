package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// sqsTestQueue returns a world on a virtual clock and a queue "work" with a
// 30 s visibility timeout that redrives to "work-dlq" after 2 receives.
func sqsTestQueue(t *testing.T) (*World, *clock.Virtual, *SQS, string, string) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	s := w.Region("us-east-1").SQS()
	ctx := context.Background()
	dlq, err := s.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{
		"VisibilityTimeout": "30",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, s.QueueARN("work-dlq")),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w, clk, s, *q.QueueUrl, *dlq.QueueUrl
}

func sqsTestCounts(t *testing.T, s *SQS, url string) (visible, inflight int) {
	t.Helper()
	// The tests' look at the queue takes no virtual time.
	out, err := s.GetQueueAttributes(Unmetered(context.Background()), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	inflight, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible, inflight
}

func sqsTestReceive(t *testing.T, s *SQS, url string, max int32) []sqstypes.Message {
	t.Helper()
	out, err := s.ReceiveMessage(Unmetered(context.Background()), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: max,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

func TestSQSVisibilityAndRedrive(t *testing.T) {
	ctx := context.Background()
	_, clk, s, url, dlq := sqsTestQueue(t)
	if _, err := s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m1")}); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		msgs := sqsTestReceive(t, s, url, 10)
		if len(msgs) != 1 {
			t.Fatalf("attempt %d: %d messages, want 1", attempt, len(msgs))
		}
		if got, want := msgs[0].Attributes["ApproximateReceiveCount"], strconv.Itoa(attempt); got != want {
			t.Fatalf("ApproximateReceiveCount = %q, want %q", got, want)
		}
		if v, f := sqsTestCounts(t, s, url); v != 0 || f != 1 {
			t.Fatalf("visible/in flight = %d/%d, want 0/1", v, f)
		}
		if got := sqsTestReceive(t, s, url, 10); len(got) != 0 {
			t.Fatalf("received a message that is in flight")
		}
		_ = clk.Sleep(ctx, 29*time.Second)
		if got := sqsTestReceive(t, s, url, 10); len(got) != 0 {
			t.Fatalf("message visible before its 30 s visibility timeout")
		}
		_ = clk.Sleep(ctx, time.Second)
	}
	// Third receive: over maxReceiveCount 2, the message moves to the DLQ.
	if got := sqsTestReceive(t, s, url, 10); len(got) != 0 {
		t.Fatalf("received %d messages, want the message redriven instead", len(got))
	}
	if v, f := sqsTestCounts(t, s, url); v != 0 || f != 0 {
		t.Fatalf("source visible/in flight = %d/%d, want 0/0", v, f)
	}
	msgs := sqsTestReceive(t, s, dlq, 10)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != "m1" {
		t.Fatalf("DLQ messages = %v, want m1", msgs)
	}
}

func TestSQSLongPollOnVirtualClock(t *testing.T) {
	ctx := context.Background()
	t.Run("WakesOnSend", func(t *testing.T) {
		_, clk, s, url, _ := sqsTestQueue(t)
		start := clk.Now()
		clk.Go(func() {
			_ = clk.Sleep(ctx, 5*time.Second)
			_, _ = s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("late")})
		})
		out, err := s.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 {
			t.Fatalf("%d messages, want 1", len(out.Messages))
		}
		// The receive returns as the message lands: the sender's 5 s and
		// its SendMessage's latency.
		if got, want := clk.Now().Sub(start), 5*time.Second+CallLatency("SQS", "SendMessage", nil); got != want {
			t.Fatalf("returned after %v, want %v", got, want)
		}
	})
	t.Run("EmptyWaitsFullTime", func(t *testing.T) {
		_, clk, s, url, _ := sqsTestQueue(t)
		start := clk.Now()
		out, err := s.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil || len(out.Messages) != 0 {
			t.Fatalf("%v %v", out, err)
		}
		// The request's latency, then the full 20 s wait.
		if got, want := clk.Now().Sub(start), CallLatency("SQS", "ReceiveMessage", nil)+20*time.Second; got != want {
			t.Fatalf("returned after %v, want %v", got, want)
		}
	})
	t.Run("WakesWhenVisibilityEnds", func(t *testing.T) {
		_, clk, s, url, _ := sqsTestQueue(t)
		_, _ = s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m")})
		_ = sqsTestReceive(t, s, url, 1)
		_ = clk.Sleep(ctx, 25*time.Second)
		start := clk.Now()
		out, err := s.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("%v %v", out, err)
		}
		if got, want := clk.Now().Sub(start), 5*time.Second; got != want {
			t.Fatalf("returned after %v, want %v", got, want)
		}
	})
}

func TestSQSDeleteAndChangeVisibility(t *testing.T) {
	ctx := context.Background()
	_, clk, s, url, _ := sqsTestQueue(t)
	_, _ = s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m")})
	first := sqsTestReceive(t, s, url, 1)[0]
	if _, err := s.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	second := sqsTestReceive(t, s, url, 1)
	if len(second) != 1 {
		t.Fatalf("visibility 0 did not make the message visible")
	}
	// A stale handle deletes nothing but succeeds, as SQS does.
	if _, err := s.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if _, f := sqsTestCounts(t, s, url); f != 1 {
		t.Fatalf("in flight = %d, want 1: a stale handle must not delete", f)
	}
	if _, err := s.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if v, f := sqsTestCounts(t, s, url); v+f != 0 {
		t.Fatalf("messages left = %d, want 0", v+f)
	}
	_, err := s.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 10})
	var ni *sqstypes.MessageNotInflight
	if !errors.As(err, &ni) {
		t.Fatalf("err = %v, want MessageNotInflight", err)
	}
	_, err = s.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage")})
	var ih *sqstypes.ReceiptHandleIsInvalid
	if !errors.As(err, &ih) {
		t.Fatalf("err = %v, want ReceiptHandleIsInvalid", err)
	}
	_ = clk
}

func TestSQSErrors(t *testing.T) {
	ctx := context.Background()
	w, _, s, url, _ := sqsTestQueue(t)
	entries := func(n int, dup bool) []sqstypes.SendMessageBatchRequestEntry {
		var out []sqstypes.SendMessageBatchRequestEntry
		for i := 0; i < n; i++ {
			id := strconv.Itoa(i)
			if dup {
				id = "same"
			}
			out = append(out, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String("b")})
		}
		return out
	}
	tests := []struct {
		name string
		call func() error
		want any
	}{
		{"TooManyEntries", func() error {
			_, err := s.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries(11, false)})
			return err
		}, new(*sqstypes.TooManyEntriesInBatchRequest)},
		{"DuplicateIDs", func() error {
			_, err := s.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries(2, true)})
			return err
		}, new(*sqstypes.BatchEntryIdsNotDistinct)},
		{"EmptyBatch", func() error {
			_, err := s.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url)})
			return err
		}, new(*sqstypes.EmptyBatchRequest)},
		{"NoQueue", func() error {
			_, err := s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.QueueURL("nope")), MessageBody: aws.String("b")})
			return err
		}, new(*sqstypes.QueueDoesNotExist)},
		{"NoQueueByName", func() error {
			_, err := s.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
			return err
		}, new(*sqstypes.QueueDoesNotExist)},
		{"QueueNameExists", func() error {
			_, err := s.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{"VisibilityTimeout": "60"}})
			return err
		}, new(*sqstypes.QueueNameExists)},
		{"OtherRegionHasNoQueue", func() error {
			_, err := w.Region("us-east-2").SQS().GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("work")})
			return err
		}, new(*sqstypes.QueueDoesNotExist)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || !errors.As(err, tt.want) {
				t.Fatalf("err = %v, want %T", err, tt.want)
			}
		})
	}
	t.Run("RegionDown", func(t *testing.T) {
		w.SetDown("us-east-1", true)
		defer w.SetDown("us-east-1", false)
		_, err := s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b")})
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	})
}

func TestSQSSinkDelivery(t *testing.T) {
	w, _, s, url, _ := sqsTestQueue(t)
	if !w.deliver("us-east-1", s.QueueARN("work"), `{"Records":[]}`) {
		t.Fatal("no sink registered for the queue ARN")
	}
	msgs := sqsTestReceive(t, s, url, 10)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != `{"Records":[]}` {
		t.Fatalf("messages = %v", msgs)
	}
}

func TestSQSEventSourceMapping(t *testing.T) {
	ctx := context.Background()
	_, clk, s, url, _ := sqsTestQueue(t)
	for i := 0; i < 5; i++ {
		_, _ = s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprintf("m%d", i))})
	}
	attempts := map[string]int{}
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if r.EventSource != "aws:sqs" || r.EventSourceARN != s.QueueARN("work") || r.AWSRegion != "us-east-1" {
				t.Errorf("record source = %s %s %s", r.EventSource, r.EventSourceARN, r.AWSRegion)
			}
			attempts[r.Body]++
			// m1 and m3 fail the first time only.
			if (r.Body == "m1" || r.Body == "m3") && attempts[r.Body] == 1 {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}
	res, err := s.PollOnce(ctx, url, 10, handler)
	if err != nil {
		t.Fatal(err)
	}
	if res != (SQSPollResult{Received: 5, Deleted: 3, Failed: 2}) {
		t.Fatalf("first poll = %+v", res)
	}
	if v, f := sqsTestCounts(t, s, url); v != 0 || f != 2 {
		t.Fatalf("visible/in flight = %d/%d, want 0/2", v, f)
	}
	_ = clk.Sleep(ctx, 20*time.Second)
	start := clk.Now()
	res, err = s.PollOnce(ctx, url, 10, handler) // long-polls until the failures reappear at 30 s
	if err != nil {
		t.Fatal(err)
	}
	if res != (SQSPollResult{Received: 2, Deleted: 2}) {
		t.Fatalf("second poll = %+v", res)
	}
	if got, want := clk.Now().Sub(start), 10*time.Second; got != want {
		t.Fatalf("redelivery after %v more, want %v", got, want)
	}
	if attempts["m1"] != 2 || attempts["m0"] != 1 {
		t.Fatalf("attempts = %v", attempts)
	}

	t.Run("HandlerErrorFailsBatch", func(t *testing.T) {
		_, _ = s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
		res, err := s.PollOnce(ctx, url, 10, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, errors.New("boom")
		})
		if err != nil || res != (SQSPollResult{Received: 1, Failed: 1}) {
			t.Fatalf("%+v %v", res, err)
		}
	})

	t.Run("PollLoopDrainsUntilCancelled", func(t *testing.T) {
		_, clk, s, url, _ := sqsTestQueue(t)
		for i := 0; i < 25; i++ {
			_, _ = s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strconv.Itoa(i))})
		}
		seen := 0
		pctx, cancel := context.WithCancel(ctx)
		done := clk.Go(func() {
			_ = s.Poll(pctx, url, 10, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				seen += len(ev.Records)
				return events.SQSEventResponse{}, nil
			})
		})
		_ = clk.Sleep(ctx, time.Minute)
		cancel()
		if err := clk.Await(ctx, done, 0); err != nil {
			t.Fatal(err)
		}
		if seen != 25 {
			t.Fatalf("handled %d, want 25", seen)
		}
		if v, f := sqsTestCounts(t, s, url); v+f != 0 {
			t.Fatalf("left %d", v+f)
		}
	})
}

// eventsUpdate rewrites the event golden files sqsGolden compares with.
var eventsUpdate = flag.Bool("update-events", false, "rewrite the event golden files (SQS, Kinesis) in testdata/")

// sqsGolden compares v, as indented JSON, with testdata/<name>; run the
// package's tests with -update-events to rewrite it.
func sqsGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *eventsUpdate {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file:\n%s", name, got)
	}
}

// TestSQSEventGolden pins the aws-lambda-go SQS event the event-source
// mapping emulator builds, so handlers see the shape Lambda sends.
func TestSQSEventGolden(t *testing.T) {
	ctx := context.Background()
	_, _, s, url, _ := sqsTestQueue(t)
	_, err := s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"Records":[{"s3":{"object":{"key":"dt=2026-11-25/hr=00/a.gz"}}}]}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"source": {DataType: aws.String("String"), StringValue: aws.String("s3")}}})
	if err != nil {
		t.Fatal(err)
	}
	var got events.SQSEvent
	if _, err := s.PollOnce(ctx, url, 10, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		got = ev
		return events.SQSEventResponse{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	sqsGolden(t, "sqs_event.golden.json", got)
	// The golden file decodes back into the same event.
	raw, _ := os.ReadFile(filepath.Join("testdata", "sqs_event.golden.json"))
	var back events.SQSEvent
	if err := json.Unmarshal(raw, &back); err != nil || back.Records[0].MessageId != got.Records[0].MessageId || back.Records[0].Body != got.Records[0].Body {
		t.Fatalf("round trip: %v", err)
	}
}

// sqsAPI is every SQS method the simulator implements, with the SDK's
// signatures: the SDK client and the simulator must both satisfy it.
type sqsAPI interface {
	CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, optFns ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

var (
	_ sqsAPI = (*sqs.Client)(nil)
	_ sqsAPI = (*SQS)(nil)
)
