package states

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
)

type valueErr struct{}

func (valueErr) Error() string { return "value" }

type namedErr struct{}

func (*namedErr) Error() string     { return "named" }
func (*namedErr) ErrorName() string { return "Custom.Named" }

func TestErrorName(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"ErrorsNew", base, "errorString"},
		{"Wrapped", fmt.Errorf("load: %w", base), "wrapError"},
		{"WrappedTwice", fmt.Errorf("a: %w, b: %w", base, base), "wrapErrors"},
		{"FaultTransient", fault.TransientErr(base), "TransientError"},
		{"FaultInvalid", fault.InvalidErr(base), "InvalidInputError"},
		{"ValueType", valueErr{}, "valueErr"},
		{"ExplicitError", &Error{Name: "Orders.Rejected", Cause: "no"}, "Orders.Rejected"},
		{"ExplicitWrapped", fmt.Errorf("ctx: %w", &Error{Name: "Orders.Rejected"}), "Orders.Rejected"},
		{"Namer", &namedErr{}, "Custom.Named"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorName(tt.err); got != tt.want {
				t.Fatalf("ErrorName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSDKErrorName(t *testing.T) {
	tests := []struct {
		service string
		err     error
		want    string
	}{
		{"dynamodb", &smithy.GenericAPIError{Code: "ConditionalCheckFailedException"}, "DynamoDb.ConditionalCheckFailedException"},
		{"s3", fmt.Errorf("get: %w", &smithy.GenericAPIError{Code: "NoSuchKey"}), "S3.NoSuchKeyException"},
		{"glue", &smithy.GenericAPIError{Code: "EntityNotFoundException"}, "Glue.EntityNotFoundException"},
		{"athena", &smithy.GenericAPIError{Code: "InvalidRequestException"}, "Athena.InvalidRequestException"},
		{"s3", &Error{Name: "S3.Custom"}, "S3.Custom"},
		{"s3", errors.New("plain"), "errorString"},
	}
	for _, tt := range tests {
		t.Run(strings.NewReplacer(".", "", ":", "").Replace(tt.want), func(t *testing.T) {
			if got := SDKErrorName(tt.service, tt.err); got != tt.want {
				t.Fatalf("SDKErrorName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLambdaName(t *testing.T) {
	for in, want := range map[string]string{
		"my-fn":                       "my-fn",
		"my-fn:live":                  "my-fn",
		"123456789012:function:my-fn": "my-fn",
		"arn:aws:lambda:us-east-1:123456789012:function:my-fn":   "my-fn",
		"arn:aws:lambda:us-east-1:123456789012:function:my-fn:3": "my-fn",
	} {
		if got := lambdaName(in); got != want {
			t.Errorf("lambdaName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseResource(t *testing.T) {
	tests := []struct {
		name               string
		raw                string
		kind, pattern      int
		eventType, evtRsrc string
	}{
		{"LambdaInvoke", "arn:aws:states:::lambda:invoke", resLambdaInvoke, patRequestResponse, "lambda", "invoke"},
		{"LambdaInvokeToken", "arn:aws:states:::lambda:invoke.waitForTaskToken", resLambdaInvoke, patToken, "lambda", "invoke.waitForTaskToken"},
		{"SDK", "arn:aws:states:::aws-sdk:dynamodb:getItem", resSDK, patRequestResponse, "aws-sdk:dynamodb", "getItem"},
		{"StartExecutionSync2", "arn:aws:states:::states:startExecution.sync:2", resStartExecution, patSync2, "states", "startExecution.sync:2"},
		{"StartExecutionSync", "arn:aws:states:::states:startExecution.sync", resStartExecution, patSync, "states", "startExecution.sync"},
		{"GlueSync", "arn:aws:states:::glue:startJobRun.sync", resOther, patSync, "glue", "startJobRun.sync"},
		{"LambdaARN", "arn:aws:lambda:eu-west-1:123456789012:function:f", resLambdaARN, patRequestResponse, "lambda", "arn:aws:lambda:eu-west-1:123456789012:function:f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parseResource(tt.raw)
			if r.kind != tt.kind || r.pattern != tt.pattern || r.eventType != tt.eventType || r.eventResource != tt.evtRsrc {
				t.Fatalf("parseResource = kind %d pattern %d %q %q, want %d %d %q %q", r.kind, r.pattern, r.eventType, r.eventResource, tt.kind, tt.pattern, tt.eventType, tt.evtRsrc)
			}
		})
	}
}

func mustParse(t testing.TB, def string) *Machine {
	t.Helper()
	m, err := Parse([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func run(t *testing.T, e *Engine, m *Machine, input string) (Result, *Execution) {
	t.Helper()
	x, err := e.Start(context.Background(), m, "", json.RawMessage(input))
	if err != nil {
		t.Fatal(err)
	}
	r, err := x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r, x
}

// TestGoHandlerErrors runs real Go Lambda handlers: their errors reach
// Retry and Catch under the names aws-lambda-go would report.
func TestGoHandlerErrors(t *testing.T) {
	m := mustParse(t, `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	  "Parameters":{"FunctionName":"fn","Payload.$":"$"},
	  "Retry":[{"ErrorEquals":["TransientError"],"IntervalSeconds":1,"MaxAttempts":5}],
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},
	  "Caught":{"Type":"Pass","End":true}}}`)
	tests := []struct {
		name      string
		errs      []error
		wantError string
		wantCalls int
	}{
		{"ErrorsNew", []error{errors.New("bad input")}, "errorString", 1},
		{"Wrapped", []error{fmt.Errorf("load: %w", errors.New("x"))}, "wrapError", 1},
		{"TransientThenInvalid", []error{fault.TransientErr(errors.New("slow")), fault.InvalidErr(errors.New("bad"))}, "InvalidInputError", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewVirtual(conformanceStart)
			e := New(Options{Clock: clk})
			calls := 0
			e.Registry().HandleLambda("arn:aws:lambda:us-east-1:123456789012:function:fn", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
				err := tt.errs[min(calls, len(tt.errs)-1)]
				calls++
				return nil, err
			})
			r, _ := run(t, e, m, `{}`)
			var out struct{ Error, Cause string }
			if err := json.Unmarshal(r.Output, &out); err != nil {
				t.Fatalf("output %s: %v", r.Output, err)
			}
			if got, want := out.Error, tt.wantError; got != want {
				t.Fatalf("Error = %q, want %q", got, want)
			}
			var doc struct{ ErrorMessage, ErrorType string }
			if err := json.Unmarshal([]byte(out.Cause), &doc); err != nil {
				t.Fatalf("Cause %q is not the Lambda error document: %v", out.Cause, err)
			}
			if got, want := doc.ErrorType, tt.wantError; got != want {
				t.Fatalf("errorType = %q, want %q", got, want)
			}
			if got, want := calls, tt.wantCalls; got != want {
				t.Fatalf("calls = %d, want %d", got, want)
			}
		})
	}
}

func TestHistoryDetails(t *testing.T) {
	m := mustParse(t, `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	  "Parameters":{"FunctionName":"fn","Payload":{"a.$":"$.a"}},"TimeoutSeconds":30,"OutputPath":"$.Payload","End":true}}}`)
	clk := clock.NewVirtual(conformanceStart)
	e := New(Options{Clock: clk, Region: "eu-west-1"})
	e.Registry().HandleLambda("fn", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		if err := clk.Sleep(ctx, 2*time.Second); err != nil {
			return nil, err
		}
		return json.RawMessage(`{"ok":true}`), nil
	})
	r, x := run(t, e, m, `{"a":1}`)
	if r.Status != StatusSucceeded || string(r.Output) != `{"ok":true}` {
		t.Fatalf("result = %+v", r)
	}
	h := x.History()
	byType := map[string]HistoryEvent{}
	for _, ev := range h {
		byType[ev.Type] = ev
	}
	sch := byType["TaskScheduled"].TaskScheduledEventDetails
	if sch == nil {
		t.Fatal("no TaskScheduled details")
	}
	if got, want := *sch, (TaskScheduledEventDetails{ResourceType: "lambda", Resource: "invoke", Region: "eu-west-1", Parameters: `{"FunctionName":"fn","Payload":{"a":1}}`, TimeoutInSeconds: 30}); got != want {
		t.Errorf("TaskScheduled = %+v, want %+v", got, want)
	}
	if got, want := byType["TaskStateEntered"].StateEnteredEventDetails.Input, `{"a":1}`; got != want {
		t.Errorf("entered input = %s, want %s", got, want)
	}
	if got, want := byType["TaskStateExited"].StateExitedEventDetails.Output, `{"ok":true}`; got != want {
		t.Errorf("exited output = %s, want %s", got, want)
	}
	if got, want := byType["TaskSucceeded"].Timestamp.Sub(byType["TaskStarted"].Timestamp), 2*time.Second; got != want {
		t.Errorf("task took %v of history time, want %v", got, want)
	}
	if got, want := byType["TaskScheduled"].PreviousEventID, byType["TaskStateEntered"].ID; got != want {
		t.Errorf("TaskScheduled.previousEventId = %d, want %d", got, want)
	}
	b, err := json.Marshal(byType["TaskStateEntered"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"TaskStateEntered"`, `"previousEventId":1`, `"stateEnteredEventDetails":{"name":"Call","input":"{\"a\":1}","inputDetails":{"truncated":false}}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("event JSON %s lacks %s", b, want)
		}
	}
}

func TestTaskTokenAPI(t *testing.T) {
	e := New(Options{Clock: clock.NewVirtual(conformanceStart)})
	var dne *sfntypes.TaskDoesNotExist
	if err := e.SendTaskSuccess("nope", json.RawMessage(`{}`)); !errors.As(err, &dne) {
		t.Fatalf("SendTaskSuccess(unknown) = %v, want TaskDoesNotExist", err)
	}
	if err := e.SendTaskHeartbeat("nope"); !errors.As(err, &dne) {
		t.Fatalf("SendTaskHeartbeat(unknown) = %v, want TaskDoesNotExist", err)
	}
	m := mustParse(t, `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
	  "Parameters":{"MessageBody":{"token.$":"$$.Task.Token"}},"End":true}}}`)
	clk := e.Clock().(*clock.Virtual)
	tokens := make(chan string, 1)
	e.Registry().Handle("arn:aws:states:::sqs:sendMessage", TaskHandlerFunc(func(ctx context.Context, task *Task) (json.RawMessage, error) {
		var in struct{ MessageBody struct{ Token string } }
		if err := json.Unmarshal(task.Input, &in); err != nil {
			return nil, err
		}
		if in.MessageBody.Token != task.Token || task.Token == "" {
			return nil, fmt.Errorf("token in parameters %q differs from Task.Token %q", in.MessageBody.Token, task.Token)
		}
		tokens <- task.Token
		clk.Go(func() {
			_ = clk.Sleep(context.Background(), time.Minute)
			if err := e.SendTaskSuccess(task.Token, json.RawMessage(`{"done":1}`)); err != nil {
				t.Errorf("SendTaskSuccess: %v", err)
			}
		})
		return json.RawMessage(`{"MessageId":"m"}`), nil
	}))
	r, _ := run(t, e, m, `{}`)
	if r.Status != StatusSucceeded || string(r.Output) != `{"done":1}` {
		t.Fatalf("result = %+v", r)
	}
	if got, want := r.StopDate.Sub(r.StartDate), time.Minute; got != want {
		t.Fatalf("took %v, want %v", got, want)
	}
	tok := <-tokens
	var tto *sfntypes.TaskDoesNotExist
	if err := e.SendTaskFailure(tok, "Late", ""); !errors.As(err, &tto) {
		t.Fatalf("SendTaskFailure after completion = %v, want TaskDoesNotExist", err)
	}
}

func TestStartErrors(t *testing.T) {
	e := New(Options{Clock: clock.NewVirtual(conformanceStart)})
	m := mustParse(t, `{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}`)
	e.Register("M", m)
	if _, err := e.Start(context.Background(), m, "once", nil); err != nil {
		t.Fatal(err)
	}
	var exists *sfntypes.ExecutionAlreadyExists
	if _, err := e.Start(context.Background(), m, "once", nil); !errors.As(err, &exists) {
		t.Fatalf("second Start = %v, want ExecutionAlreadyExists", err)
	}
	var bad *sfntypes.InvalidExecutionInput
	if _, err := e.Start(context.Background(), m, "", json.RawMessage(`{`)); !errors.As(err, &bad) {
		t.Fatalf("Start with bad JSON = %v, want InvalidExecutionInput", err)
	}
}

// TestConcurrentExecutions runs many executions of one machine at once on
// one engine: each waits an hour of virtual time, and all finish together.
func TestConcurrentExecutions(t *testing.T) {
	clk := clock.NewVirtual(conformanceStart)
	e := New(Options{Clock: clk})
	m := mustParse(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"P"},
	  "P":{"Type":"Pass","Parameters":{"me.$":"$$.Execution.Name","n.$":"$.n"},"End":true}}}`)
	const n = 50
	xs := make([]*Execution, n)
	for i := range xs {
		x, err := e.Start(context.Background(), m, fmt.Sprintf("x%d", i), json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		xs[i] = x
	}
	for i, x := range xs {
		r, err := x.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(r.Output), fmt.Sprintf(`{"me":"x%d","n":%d}`, i, i); got != want {
			t.Fatalf("output = %s, want %s", got, want)
		}
		if got, want := r.StopDate.Sub(conformanceStart), time.Hour; got != want {
			t.Fatalf("execution %d ended after %v, want %v", i, got, want)
		}
	}
}

func TestRegistryConcurrentUse(t *testing.T) {
	r := NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.HandleLambda(fmt.Sprintf("f%d", i), func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
			_ = r.lambda("f0")
		}()
	}
	wg.Wait()
	if r.lambda("arn:aws:lambda:us-east-1:1:function:f7:live") == nil {
		t.Fatal("f7 not found by qualified ARN")
	}
}

func TestValidateMessages(t *testing.T) {
	problems := Validate([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`))
	if len(problems) == 0 {
		t.Fatal("no problems")
	}
	_, err := Parse([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != len(problems) {
		t.Fatalf("Parse error = %v, want a ValidationError with %d problems", err, len(problems))
	}
	if got := Validate([]byte(`not json`)); len(got) != 1 || !strings.Contains(got[0].Message, "not valid JSON") {
		t.Fatalf("Validate(not json) = %v", got)
	}
}

// sfnAPI is the consumer-side interface a caller of Step Functions declares;
// both *sfn.Client and SFN satisfy it.
type sfnAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	StopExecution(ctx context.Context, in *sfn.StopExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
	SendTaskHeartbeat(ctx context.Context, in *sfn.SendTaskHeartbeatInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

var (
	_ sfnAPI = (*sfn.Client)(nil)
	_ sfnAPI = SFN{}
)

func TestSFNAdapter(t *testing.T) {
	clk := clock.NewVirtual(conformanceStart)
	e := New(Options{Clock: clk})
	api := SFN{Engine: e}
	arn := e.Register("Approve", mustParse(t, `{"StartAt":"Ask","States":{"Ask":{"Type":"Task",
	  "Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","Parameters":{"t.$":"$$.Task.Token"},"End":true}}}`))
	e.Registry().Handle("arn:aws:states:::sqs:sendMessage", TaskHandlerFunc(func(ctx context.Context, task *Task) (json.RawMessage, error) {
		clk.Go(func() {
			_ = clk.Sleep(context.Background(), 10*time.Second)
			if _, err := api.SendTaskHeartbeat(context.Background(), &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(task.Token)}); err != nil {
				t.Errorf("SendTaskHeartbeat: %v", err)
			}
			if _, err := api.SendTaskSuccess(context.Background(), &sfn.SendTaskSuccessInput{TaskToken: aws.String(task.Token), Output: aws.String(`"yes"`)}); err != nil {
				t.Errorf("SendTaskSuccess: %v", err)
			}
		})
		return nil, nil
	}))
	ctx := context.Background()
	st, err := api.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("a1"), Input: aws.String(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := e.Execution(aws.ToString(st.ExecutionArn))
	if _, err := x.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: st.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != sfntypes.ExecutionStatusSucceeded || aws.ToString(d.Output) != `"yes"` {
		t.Fatalf("DescribeExecution = %s %s", d.Status, aws.ToString(d.Output))
	}
	h, err := api.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: st.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	first, last := h.Events[0], h.Events[len(h.Events)-1]
	if first.Type != sfntypes.HistoryEventTypeExecutionStarted || first.ExecutionStartedEventDetails == nil || aws.ToString(first.ExecutionStartedEventDetails.Input) != `{}` {
		t.Fatalf("first event = %+v", first)
	}
	if last.Type != sfntypes.HistoryEventTypeExecutionSucceeded || aws.ToString(last.ExecutionSucceededEventDetails.Output) != `"yes"` {
		t.Fatalf("last event = %+v", last)
	}
	for _, ev := range h.Events {
		if ev.Type == sfntypes.HistoryEventTypeTaskScheduled && aws.ToString(ev.TaskScheduledEventDetails.ResourceType) != "sqs" {
			t.Fatalf("TaskScheduled resourceType = %q", aws.ToString(ev.TaskScheduledEventDetails.ResourceType))
		}
	}
	var missing *sfntypes.ExecutionDoesNotExist
	if _, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("nope")}); !errors.As(err, &missing) {
		t.Fatalf("DescribeExecution(nope) = %v", err)
	}
}

// TestListExecutions lists a machine's executions most recent first, by
// status, in pages that NextToken continues, and refuses what the API
// refuses.
func TestListExecutions(t *testing.T) {
	clk := clock.NewVirtual(conformanceStart)
	e := New(Options{Clock: clk})
	api := SFN{Engine: e}
	ctx := context.Background()
	wait := e.Register("Wait", mustParse(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}`))
	other := e.Register("Other", mustParse(t, `{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}`))
	var arns []string
	for i := range 5 {
		st, err := api.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(wait), Name: aws.String(fmt.Sprintf("w%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(st.ExecutionArn))
		if i == 2 {
			if err := clk.Sleep(ctx, 2*time.Minute); err != nil { // w0..w2 end
				t.Fatal(err)
			}
		} else if err := clk.Sleep(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := api.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	names := func(out *sfn.ListExecutionsOutput) string {
		var n []string
		for _, x := range out.Executions {
			n = append(n, aws.ToString(x.Name)+":"+string(x.Status))
		}
		return strings.Join(n, " ")
	}
	all, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(wait)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(all), "w4:RUNNING w3:RUNNING w2:SUCCEEDED w1:SUCCEEDED w0:SUCCEEDED"; got != want || all.NextToken != nil {
		t.Fatalf("ListExecutions = %q (next %v), want %q", got, all.NextToken, want)
	}
	if all.Executions[0].StopDate != nil || all.Executions[2].StopDate == nil || aws.ToString(all.Executions[4].ExecutionArn) != arns[0] {
		t.Fatalf("items = %+v", all.Executions)
	}
	running, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(wait), StatusFilter: sfntypes.ExecutionStatusRunning})
	if err != nil || names(running) != "w4:RUNNING w3:RUNNING" {
		t.Fatalf("RUNNING = %q, %v", names(running), err)
	}
	var pages []string
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(wait), MaxResults: 2}
	for {
		out, err := api.ListExecutions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, names(out))
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if got := strings.Join(pages, " | "); got != "w4:RUNNING w3:RUNNING | w2:SUCCEEDED w1:SUCCEEDED | w0:SUCCEEDED" {
		t.Fatalf("pages = %q", got)
	}
	var bad *sfntypes.InvalidToken
	if _, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(wait), NextToken: aws.String("bogus")}); !errors.As(err, &bad) {
		t.Errorf("bad token: %v", err)
	}
	var none *sfntypes.StateMachineDoesNotExist
	if _, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(e.StateMachineARN("Nope"))}); !errors.As(err, &none) {
		t.Errorf("unknown machine: %v", err)
	}
	var invalid *sfntypes.ValidationException
	if _, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(wait), MaxResults: 1001}); !errors.As(err, &invalid) {
		t.Errorf("MaxResults 1001: %v", err)
	}
	if _, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{}); !errors.As(err, &invalid) {
		t.Errorf("no machine: %v", err)
	}
}

func TestHandlerPanic(t *testing.T) {
	e := New(Options{Clock: clock.NewVirtual(conformanceStart)})
	e.Registry().HandleLambda("p", func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("boom") })
	m := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:p","End":true}}}`)
	r, _ := run(t, e, m, `{}`)
	if r.Status != StatusFailed || r.Error != "string" || !strings.Contains(r.Cause, "boom") {
		t.Fatalf("result = %+v, want FAILED with error \"string\"", r)
	}
}

func TestStartInputLimit(t *testing.T) {
	e := New(Options{Clock: clock.NewVirtual(conformanceStart), MaxPayloadBytes: 10})
	m := mustParse(t, `{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}`)
	var bad *sfntypes.InvalidExecutionInput
	if _, err := e.Start(context.Background(), m, "", json.RawMessage(`{"k":"0123456789"}`)); !errors.As(err, &bad) {
		t.Fatalf("Start = %v, want InvalidExecutionInput", err)
	}
}

// TestHandlerHeartbeat checks HeartbeatSecondsPath and Task.Heartbeat: a
// handler that beats every 5 s outlives an 8 s heartbeat limit; one that
// does not fails with States.HeartbeatTimeout after 8 s.
func TestHandlerHeartbeat(t *testing.T) {
	m := mustParse(t, `{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync",
	  "HeartbeatSecondsPath":"$.hb","End":true}}}`)
	for name, beat := range map[string]bool{"WithHeartbeats": true, "WithoutHeartbeats": false} {
		t.Run(name, func(t *testing.T) {
			clk := clock.NewVirtual(conformanceStart)
			e := New(Options{Clock: clk})
			e.Registry().Handle("arn:aws:states:::glue:startJobRun", TaskHandlerFunc(func(ctx context.Context, task *Task) (json.RawMessage, error) {
				for range 4 {
					if err := clk.Sleep(ctx, 5*time.Second); err != nil {
						return nil, err
					}
					if beat {
						task.Heartbeat()
					}
				}
				return json.RawMessage(`{"JobRunState":"SUCCEEDED"}`), nil
			}))
			r, _ := run(t, e, m, `{"hb":8}`)
			elapsed := r.StopDate.Sub(r.StartDate)
			if beat {
				if r.Status != StatusSucceeded || elapsed != 20*time.Second {
					t.Fatalf("result %+v after %v, want SUCCEEDED after 20s", r, elapsed)
				}
				return
			}
			if r.Error != ErrorHeartbeatTimeout || elapsed != 8*time.Second {
				t.Fatalf("result %+v after %v, want States.HeartbeatTimeout after 8s", r, elapsed)
			}
		})
	}
}

func TestExecutionsAndForget(t *testing.T) {
	clk := clock.NewVirtual(conformanceStart)
	e := New(Options{Clock: clk})
	m := mustParse(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}`)
	slow, err := e.Start(context.Background(), m, "slow", json.RawMessage(`{"s":100}`))
	if err != nil {
		t.Fatal(err)
	}
	fast, err := e.Start(context.Background(), m, "fast", json.RawMessage(`{"s":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fast.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(e.Executions()); got != 2 {
		t.Fatalf("%d executions, want 2", got)
	}
	if e.Forget(slow.ARN()) {
		t.Fatal("Forget dropped a running execution")
	}
	if !e.Forget(fast.ARN()) {
		t.Fatal("Forget kept a finished execution")
	}
	if xs := e.Executions(); len(xs) != 1 || xs[0] != slow {
		t.Fatalf("Executions = %v, want only the slow one", xs)
	}
	if _, err := slow.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestStatusChange: the hook sees every execution start RUNNING and end
// with its final status (succeeded, failed, timed out, aborted), before
// Wait returns.
func TestStatusChange(t *testing.T) {
	clk := clock.NewVirtual(conformanceStart)
	var mu sync.Mutex
	seen := map[string][]Result{}
	e := New(Options{Clock: clk, StatusChange: func(x *Execution, r Result) {
		mu.Lock()
		seen[x.Name()] = append(seen[x.Name()], r)
		mu.Unlock()
	}})
	wait := mustParse(t, `{"StartAt":"W","TimeoutSeconds":50,"States":{"W":{"Type":"Wait","SecondsPath":"$.s","Next":"F?"},
		"F?":{"Type":"Choice","Choices":[{"Variable":"$.fail","BooleanEquals":true,"Next":"F"}],"Default":"D"},
		"F":{"Type":"Fail","Error":"Boom","Cause":"on purpose"},"D":{"Type":"Succeed"}}}`)
	ctx := context.Background()
	start := func(name, input string) *Execution {
		x, err := e.Start(ctx, wait, name, json.RawMessage(input))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := map[string]struct {
		x      *Execution
		status Status
		err    string
	}{
		"ok":      {start("ok", `{"s":1,"fail":false}`), StatusSucceeded, ""},
		"fail":    {start("fail", `{"s":1,"fail":true}`), StatusFailed, "Boom"},
		"slow":    {start("slow", `{"s":100,"fail":false}`), StatusTimedOut, ErrorTimeout},
		"stopped": {start("stopped", `{"s":40,"fail":false}`), StatusAborted, "Operator"},
	}
	if err := clk.Sleep(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	cases["stopped"].x.Stop("Operator", "by hand")
	for name, c := range cases {
		r, err := c.x.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := append([]Result(nil), seen[name]...)
		mu.Unlock()
		if len(got) != 2 || got[0].Status != StatusRunning || got[1].Status != c.status || got[1].Error != c.err || got[1].StopDate != r.StopDate {
			t.Fatalf("%s: status changes %+v, want RUNNING then %s %s (result %+v)", name, got, c.status, c.err, r)
		}
		if c.x.Input() == "" || !strings.Contains(c.x.Input(), `"s"`) {
			t.Fatalf("%s: Input() = %q", name, c.x.Input())
		}
	}
}
