package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

const lambdaTestRole = "arn:aws:iam::111122223333:role/fn-role"

// lambdaTestWorld returns a world whose functions run the handlers in
// code, by function name.
func lambdaTestWorld(t *testing.T, code map[string]LambdaHandler) (*World, *clock.Virtual, *Lambda) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	w.SetLambdaCode(func(fn LambdaFunction) (LambdaHandler, error) {
		h, ok := code[fn.Name]
		if !ok {
			return nil, fmt.Errorf("no handler for %s", fn.Name)
		}
		return h, nil
	})
	return w, clk, w.Region("us-east-1").Lambda()
}

func lambdaTestCreate(t *testing.T, l *Lambda, name string, timeout int32) {
	t.Helper()
	if _, err := l.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(lambdaTestRole), Timeout: aws.Int32(timeout),
		Environment: &lambdatypes.Environment{Variables: map[string]string{"STAGE": "drill"}},
	}); err != nil {
		t.Fatal(err)
	}
}

type lambdaTestError struct{ msg string }

func (e *lambdaTestError) Error() string { return e.msg }

func TestLambdaInvoke(t *testing.T) {
	var seen LambdaFunction
	var principal string
	var deadline, ran time.Time
	var w *World
	code := map[string]LambdaHandler{
		"echo": func(ctx context.Context, p []byte) ([]byte, error) {
			principal, _ = PrincipalOf(ctx)
			deadline, _ = ctx.Deadline()
			ran = w.Clock.Now()
			return p, nil
		},
		"plain":  func(context.Context, []byte) ([]byte, error) { return nil, errors.New("boom") },
		"typed":  func(context.Context, []byte) ([]byte, error) { return nil, &lambdaTestError{"bad input"} },
		"panics": func(context.Context, []byte) ([]byte, error) { panic("oops") },
	}
	w, clk, l := lambdaTestWorld(t, code)
	var slowErr error
	code["slow"] = func(ctx context.Context, p []byte) ([]byte, error) {
		err := clk.Sleep(ctx, time.Hour) // cut short at the 2 s timeout
		slowErr = ctx.Err()
		return nil, err
	}
	w.SetLambdaCode(func(fn LambdaFunction) (LambdaHandler, error) {
		if fn.Name == "echo" {
			seen = fn
		}
		return code[fn.Name], nil
	})
	for _, n := range []string{"echo", "plain", "typed", "panics", "slow"} {
		lambdaTestCreate(t, l, n, 2)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, fn, payload string
		funcErr, want     string
	}{
		{"Success", "echo", `{"a":1}`, "", `{"a":1}`},
		{"EmptyPayload", l.FunctionARN("echo"), "", "", `{}`},
		{"ErrorString", "plain", "{}", "Unhandled", `{"errorMessage":"boom","errorType":"errorString"}`},
		{"TypedError", "typed", "{}", "Unhandled", `{"errorMessage":"bad input","errorType":"lambdaTestError"}`},
		{"Panic", "panics", "{}", "Unhandled", `{"errorMessage":"oops","errorType":"string"}`},
		{"Timeout", "slow", "{}", "Unhandled", `{"errorMessage":"RequestId: 00000006-2222-4000-8000-000000000006 Error: Task timed out after 2.00 seconds","errorType":"Sandbox.Timedout"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(tc.fn), Payload: []byte(tc.payload)})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := aws.ToString(out.FunctionError), tc.funcErr; got != want {
				t.Fatalf("FunctionError = %q, want %q", got, want)
			}
			if got, want := string(out.Payload), tc.want; got != want {
				t.Fatalf("payload = %s, want %s", got, want)
			}
		})
	}
	if got, want := principal, lambdaTestRole; got != want {
		t.Fatalf("handler principal = %q, want %q", got, want)
	}
	if got, want := seen.Environment["STAGE"], "drill"; got != want {
		t.Fatalf("resolver saw STAGE = %q, want %q", got, want)
	}
	// The timeout counts from the handler's start: Lambda's overhead and
	// the cold start before it are not the function's time.
	if got, want := deadline.Sub(ran), 2*time.Second; got != want {
		t.Fatalf("deadline = handler start+%v, want +%v", got, want)
	}
	clk.Sleep(ctx, time.Hour) // let the timed-out handler finish
	if !errors.Is(slowErr, context.DeadlineExceeded) {
		t.Fatalf("timed-out handler saw ctx.Err() = %v, want DeadlineExceeded", slowErr)
	}
}

func TestLambdaErrors(t *testing.T) {
	_, _, l := lambdaTestWorld(t, map[string]LambdaHandler{"f": func(context.Context, []byte) ([]byte, error) { return nil, nil }})
	lambdaTestCreate(t, l, "f", 3)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"InvokeMissing", func() error {
			_, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException"},
		{"CreateTwice", func() error {
			_, err := l.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(lambdaTestRole)})
			return err
		}, "ResourceConflictException"},
		{"BadTimeout", func() error {
			_, err := l.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"), Timeout: aws.Int32(901)})
			return err
		}, "InvalidParameterValueException"},
		{"OtherVersion", func() error {
			_, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f"), Qualifier: aws.String("3")})
			return err
		}, "ResourceNotFoundException"},
		{"MappingMissing", func() error {
			_, err := l.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String("x")})
			return err
		}, "ResourceNotFoundException"},
		{"KinesisWithoutStartingPosition", func() error {
			_, err := l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("f"),
				EventSourceArn: aws.String("arn:aws:kinesis:us-east-1:111122223333:stream/s")})
			return err
		}, "InvalidParameterValueException"},
		{"SQSBatchWithoutWindow", func() error {
			_, err := l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("f"),
				EventSourceArn: aws.String("arn:aws:sqs:us-east-1:111122223333:q"), BatchSize: aws.Int32(100)})
			return err
		}, "InvalidParameterValueException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ssmErrorCode(tc.call()); got != tc.want {
				t.Fatalf("error code = %q, want %q", got, tc.want)
			}
		})
	}
	// Reserved concurrency 0 throttles every invocation.
	if _, err := l.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("f"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f")})
	var tm *lambdatypes.TooManyRequestsException
	if !errors.As(err, &tm) {
		t.Fatalf("throttled Invoke = %v, want TooManyRequestsException", err)
	}
	if got, want := tm.Reason, lambdatypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded; got != want {
		t.Fatalf("reason = %q, want %q", got, want)
	}
	got, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(l.FunctionARN("f"))})
	if err != nil {
		t.Fatal(err)
	}
	if got.Concurrency == nil || aws.ToInt32(got.Concurrency.ReservedConcurrentExecutions) != 0 {
		t.Fatalf("Concurrency = %+v, want 0 reserved", got.Concurrency)
	}
}

// TestLambdaAsyncRetries checks the asynchronous queue: a failing event is
// tried three times, one and then two minutes apart, and its record goes
// to the OnFailure destination.
func TestLambdaAsyncRetries(t *testing.T) {
	var mu sync.Mutex
	var tries []time.Duration
	var w *World
	w, clk, l := lambdaTestWorld(t, map[string]LambdaHandler{"fails": func(ctx context.Context, p []byte) ([]byte, error) {
		mu.Lock()
		tries = append(tries, w.Clock.Now().Sub(glueTestStart))
		mu.Unlock()
		return nil, errors.New("nope")
	}})
	ctx := context.Background()
	lambdaTestCreate(t, l, "fails", 3)
	s := w.Region("us-east-1").SQS()
	q, err := s.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("failures")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fails"),
		DestinationConfig: &lambdatypes.DestinationConfig{OnFailure: &lambdatypes.OnFailure{Destination: aws.String(s.QueueARN("failures"))}}}); err != nil {
		t.Fatal(err)
	}
	out, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fails"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"k":"v"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.StatusCode, int32(202); got != want {
		t.Fatalf("StatusCode = %d, want %d", got, want)
	}
	queued := clk.Now().Sub(glueTestStart)
	clk.Sleep(ctx, 10*time.Minute)
	mu.Lock()
	got := fmt.Sprint(tries)
	mu.Unlock()
	// The first attempt as soon as the event is queued (plus the
	// invocation's overhead and the cold start), the retries a minute and
	// then two after the failure before them.
	first := queued + l.InvokeLatency + l.ColdStart
	second := first + time.Minute + l.InvokeLatency
	third := second + 2*time.Minute + l.InvokeLatency
	if want := fmt.Sprint([]time.Duration{first, second, third}); got != want {
		t.Fatalf("attempts at %s, want %s", got, want)
	}
	msgs := sqsTestReceive(t, s, *q.QueueUrl, 10)
	if len(msgs) != 1 {
		t.Fatalf("%d failure records, want 1", len(msgs))
	}
	var rec struct {
		RequestContext struct {
			Condition              string
			ApproximateInvokeCount int
		}
		RequestPayload  map[string]string
		ResponsePayload map[string]string
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != 3 ||
		rec.RequestPayload["k"] != "v" || rec.ResponsePayload["errorMessage"] != "nope" {
		t.Fatalf("failure record = %s", aws.ToString(msgs[0].Body))
	}
}

// TestLambdaSQSMapping checks the SQS event the mapping delivers against
// its golden file (the shape of sqs_event.golden.json, with the times this
// test's calls take), and that ReportBatchItemFailures deletes only the
// messages that did not fail.
func TestLambdaSQSMapping(t *testing.T) {
	ctx := context.Background()
	w, clk, s, url, _ := sqsTestQueue(t)
	l := w.Region("us-east-1").Lambda()
	got := make(chan events.SQSEvent, 10)
	arrived := clk.NewSignal()
	w.SetLambdaCode(func(fn LambdaFunction) (LambdaHandler, error) {
		return func(ctx context.Context, p []byte) ([]byte, error) {
			var ev events.SQSEvent
			if err := json.Unmarshal(p, &ev); err != nil {
				return nil, err
			}
			got <- ev
			arrived.Fire()
			var resp events.SQSEventResponse
			for _, r := range ev.Records {
				if strings.Contains(r.Body, "fail") {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				}
			}
			return json.Marshal(resp)
		}, nil
	})
	lambdaTestCreate(t, l, "partitions", 30)
	if _, err := s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"Records":[{"s3":{"object":{"key":"dt=2026-11-25/hr=00/a.gz"}}}]}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"source": {DataType: aws.String("String"), StringValue: aws.String("s3")}}}); err != nil {
		t.Fatal(err)
	}
	m, err := l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("partitions"),
		EventSourceArn: aws.String(s.QueueARN("work")), BatchSize: aws.Int32(10),
		FunctionResponseTypes: []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID})
	if err := clk.Await(ctx, arrived, time.Minute); err != nil {
		t.Fatal(err)
	}
	sqsGolden(t, "lambda_sqs_event.golden.json", <-got)

	// A batch of two with a window: one succeeds and is deleted, the other
	// stays for redelivery.
	if _, err := l.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, BatchSize: aws.Int32(20), MaximumBatchingWindowInSeconds: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"ok", "fail"} {
		if _, err := s.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		clk.Sleep(ctx, 2*time.Second)
	}
	clk.Sleep(ctx, 10*time.Second)
	if _, err := l.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	ev := <-got
	if got, want := len(ev.Records), 2; got != want {
		t.Fatalf("batch of %d records, want %d (the window gathers both)", got, want)
	}
	clk.Sleep(ctx, time.Minute)
	visible, inflight := sqsTestCounts(t, s, url)
	if got, want := visible+inflight, 1; got != want {
		t.Fatalf("%d messages left, want %d (the failed one)", got, want)
	}
	desc, err := l.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(desc.State), "Disabled"; got != want {
		t.Fatalf("State = %q, want %q", got, want)
	}
}

// TestLambdaKinesisMapping checks a Kinesis mapping with retries bounded
// and an on-failure destination: a poison batch goes to the queue, the
// rest is processed.
func TestLambdaKinesisMapping(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1")
	r := w.Region("us-east-1")
	k, s, l := r.Kinesis(), r.SQS(), r.Lambda()
	var mu sync.Mutex
	processed := map[string]int{}
	w.SetLambdaCode(func(fn LambdaFunction) (LambdaHandler, error) {
		return func(ctx context.Context, p []byte) ([]byte, error) {
			var ev events.KinesisEvent
			if err := json.Unmarshal(p, &ev); err != nil {
				return nil, err
			}
			for _, rec := range ev.Records {
				if string(rec.Kinesis.Data) == "poison" {
					return nil, errors.New("poison record")
				}
			}
			mu.Lock()
			for _, rec := range ev.Records {
				processed[string(rec.Kinesis.Data)]++
			}
			mu.Unlock()
			return nil, nil
		}, nil
	})
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("records")}); err != nil {
		t.Fatal(err)
	}
	q, err := s.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("aggregate-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	lambdaTestCreate(t, l, "aggregate", 60)
	m, err := l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("aggregate"),
		EventSourceArn: aws.String(k.StreamARN("records")), StartingPosition: lambdatypes.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(500), BisectBatchOnFunctionError: aws.Bool(true), MaximumRetryAttempts: aws.Int32(2),
		DestinationConfig: &lambdatypes.DestinationConfig{OnFailure: &lambdatypes.OnFailure{Destination: aws.String(s.QueueARN("aggregate-dlq"))}}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, time.Minute) // the stream becomes ACTIVE
	for _, d := range []string{"a", "poison", "b"} {
		if _, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("records"), PartitionKey: aws.String("one-shard"), Data: []byte(d)}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Sleep(ctx, time.Minute)
	if _, err := l.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := fmt.Sprint(processed)
	mu.Unlock()
	if want := "map[a:1 b:1]"; got != want {
		t.Fatalf("processed %s, want %s", got, want)
	}
	msgs := sqsTestReceive(t, s, *q.QueueUrl, 10)
	if len(msgs) != 1 {
		t.Fatalf("%d on-failure records, want 1", len(msgs))
	}
	var rec struct {
		RequestContext   struct{ Condition string }
		KinesisBatchInfo struct {
			BatchSize int
			StreamArn string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.RequestContext.Condition != KinesisESMRetryAttemptsExhausted || rec.KinesisBatchInfo.BatchSize != 1 || rec.KinesisBatchInfo.StreamArn != k.StreamARN("records") {
		t.Fatalf("on-failure record = %s", aws.ToString(msgs[0].Body))
	}
}

// TestAddRegionRunsTheWorldsCode: a region added to the world later runs
// the code the embedding program set for the world.
func TestAddRegionRunsTheWorldsCode(t *testing.T) {
	w, _, _ := lambdaTestWorld(t, map[string]LambdaHandler{
		"echo": func(_ context.Context, p []byte) ([]byte, error) { return p, nil },
	})
	t.Cleanup(w.Close)
	w.AddRegion("us-west-1")
	l := w.Region("us-west-1").Lambda()
	lambdaTestCreate(t, l, "echo", 3)
	out, err := l.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`"hi"`)})
	if err != nil || out.FunctionError != nil || string(out.Payload) != `"hi"` {
		t.Fatalf("invoke in the added region: %v, %+v", err, out)
	}
}
