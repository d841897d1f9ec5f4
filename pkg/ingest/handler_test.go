package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var testStart = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// fakeKinesis is a Putter whose answers a test scripts. It records every
// call (entries copied, since the handler reuses its memory).
type fakeKinesis struct {
	mu    sync.Mutex
	calls [][]types.PutRecordsRequestEntry
	// answer decides call n's outcome; nil accepts everything.
	answer func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
}

func (f *fakeKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	n := len(f.calls)
	cp := make([]types.PutRecordsRequestEntry, len(in.Records))
	for i, e := range in.Records {
		cp[i] = types.PutRecordsRequestEntry{Data: bytes.Clone(e.Data), PartitionKey: aws.String(aws.ToString(e.PartitionKey))}
	}
	f.calls = append(f.calls, cp)
	f.mu.Unlock()
	if f.answer != nil {
		return f.answer(n, in)
	}
	return acceptAll(in), nil
}

func (f *fakeKinesis) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func acceptAll(in *kinesis.PutRecordsInput) *kinesis.PutRecordsOutput {
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}
	for i := range in.Records {
		out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: aws.String(fmt.Sprint(i)), ShardId: aws.String("shardId-000000000000")})
	}
	return out
}

// failSome answers with the entries at the given positions failed with code.
func failSome(in *kinesis.PutRecordsInput, code string, positions ...int) *kinesis.PutRecordsOutput {
	out := acceptAll(in)
	for _, p := range positions {
		out.Records[p] = types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("rate exceeded for shard")}
	}
	out.FailedRecordCount = aws.Int32(int32(len(positions)))
	return out
}

// newTestHandler is a handler writing to k, with an idempotency table of
// its own in a simulated region (newIdempotencyTable).
func newTestHandler(k Putter, clk clock.Clock) (*Handler, *bytes.Buffer) {
	var metrics bytes.Buffer
	h := &Handler{
		Config:      Config{StreamName: "pendulum-ingest", IdempotencyTable: testTable, Region: "eu-west-1"},
		Kinesis:     k,
		Idempotency: unmetered{newIdempotencyTable(clk).DynamoDB()},
		Clock:       clk,
		Metrics:     &metrics,
		Jitter:      func() float64 { return 0.5 },
	}
	return h, &metrics
}

func readEvent(t *testing.T, path string) events.ALBTargetGroupRequest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.ALBTargetGroupRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ev
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got %s\nwant %s", path, got, want)
	}
}

type writtenRecord struct {
	PartitionKey string `json:"partitionKey"`
	Data         string `json:"data"` // exactly as written, less the newline
}

// TestHandleGoldenEvents runs each ALB event in testdata through the handler
// and compares the answer, and what reached Kinesis, with golden files.
func TestHandleGoldenEvents(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.request.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden events: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".request.json")
		t.Run(name, func(t *testing.T) {
			k := &fakeKinesis{}
			h, _ := newTestHandler(k, clock.NewVirtual(testStart))
			resp, err := h.Handle(t.Context(), readEvent(t, path))
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(resp, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(path, ".request.json")+".response.json", append(b, '\n'))
			var written []writtenRecord
			for _, call := range k.calls {
				for _, e := range call {
					if !bytes.HasSuffix(e.Data, []byte("\n")) {
						t.Fatalf("kinesis data %q does not end in a newline", e.Data)
					}
					written = append(written, writtenRecord{PartitionKey: *e.PartitionKey, Data: string(bytes.TrimSuffix(e.Data, []byte("\n")))})
				}
			}
			b, err = json.MarshalIndent(written, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(path, ".request.json")+".kinesis.json", append(b, '\n'))
			for _, w := range written {
				r, err := record.Decode([]byte(w.Data))
				if err != nil {
					t.Fatal(err)
				}
				if got, want := r.ID, w.PartitionKey; got != want {
					t.Fatalf("partition key %q, record id %q: want them equal", want, got)
				}
			}
		})
	}
}

func postNDJSON(body string) events.ALBTargetGroupRequest {
	return events.ALBTargetGroupRequest{HTTPMethod: "POST", Path: "/records", Headers: map[string]string{"content-type": "application/x-ndjson"}, Body: body}
}

func ndjson(n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `{"id":"r-%03d","v":%d}`+"\n", i, i)
	}
	return sb.String()
}

func decodeBody(t *testing.T, resp events.ALBTargetGroupResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return m
}

func apiError(code string) error {
	return &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: &smithy.GenericAPIError{Code: code, Message: "scripted", Fault: smithy.FaultServer}}
}

func TestPutRetries(t *testing.T) {
	tests := []struct {
		name         string
		answer       func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
		wantStatus   int
		wantCalls    int
		wantSizes    []int // entries per call
		wantRetryAft string
	}{
		{
			name: "PartialFailureResendsOnlyFailed",
			answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				if n == 0 {
					out := failSome(in, "ProvisionedThroughputExceededException", 1)
					out.Records[3] = types.PutRecordsResultEntry{ErrorCode: aws.String("InternalFailure")}
					out.FailedRecordCount = aws.Int32(2)
					return out, nil
				}
				return acceptAll(in), nil
			},
			wantStatus: 200, wantCalls: 2, wantSizes: []int{5, 2},
		},
		{
			name: "ThrottledThenSuccess",
			answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				if n < 3 {
					return nil, apiError("ProvisionedThroughputExceededException")
				}
				return acceptAll(in), nil
			},
			wantStatus: 200, wantCalls: 4, wantSizes: []int{5, 5, 5, 5},
		},
		{
			name: "BudgetExhausted",
			answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return failSome(in, "ProvisionedThroughputExceededException", 0), nil
			},
			wantStatus: 503, wantRetryAft: "1",
		},
		{
			name: "StreamMissing",
			answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return nil, &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: &types.ResourceNotFoundException{Message: aws.String("Stream pendulum-ingest under account 123456789012 not found.")}}
			},
			wantStatus: 503, wantCalls: 1, wantSizes: []int{5}, wantRetryAft: "5",
		},
		{
			name: "AccessDenied",
			answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return nil, apiError("AccessDeniedException")
			},
			wantStatus: 503, wantCalls: 1, wantSizes: []int{5}, wantRetryAft: "5",
		},
		{
			name: "ShortAnswerResendsAll",
			answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				if n == 0 {
					return &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}, nil
				}
				return acceptAll(in), nil
			},
			wantStatus: 200, wantCalls: 2, wantSizes: []int{5, 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &fakeKinesis{answer: tt.answer}
			clk := clock.NewVirtual(testStart)
			h, metrics := newTestHandler(k, clk)
			resp, err := h.Handle(t.Context(), postNDJSON(ndjson(5)))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.StatusCode, tt.wantStatus; got != want {
				t.Fatalf("status = %d, want %d (body %s)", got, want, resp.Body)
			}
			if tt.wantCalls > 0 {
				if got, want := k.callCount(), tt.wantCalls; got != want {
					t.Fatalf("PutRecords calls = %d, want %d", got, want)
				}
				for i, want := range tt.wantSizes {
					if got := len(k.calls[i]); got != want {
						t.Fatalf("call %d carried %d records, want %d", i, got, want)
					}
				}
			}
			if got, want := resp.Headers["Retry-After"], tt.wantRetryAft; got != want {
				t.Fatalf("Retry-After = %q, want %q", got, want)
			}
			body := decodeBody(t, resp)
			switch tt.wantStatus {
			case 200:
				if got, want := body["accepted"], float64(5); got != want {
					t.Fatalf("accepted = %v, want %v", got, want)
				}
			case 503:
				if _, ok := body["error"].(string); !ok {
					t.Fatalf("503 body %s has no error", resp.Body)
				}
				if got := clock.Since(clk, testStart); got > DefaultBudget {
					t.Fatalf("spent %v, beyond the %v budget", got, DefaultBudget)
				}
			}
			if !strings.Contains(metrics.String(), `"Namespace":"Pendulum/Ingest"`) {
				t.Fatalf("no EMF line in %q", metrics.String())
			}
		})
	}
}

// TestPartialFailureResendsTheFailedRecords checks the resent entries are the
// failed ones, not merely as many.
func TestPartialFailureResendsTheFailedRecords(t *testing.T) {
	k := &fakeKinesis{answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		if n == 0 {
			return failSome(in, "ProvisionedThroughputExceededException", 0, 4), nil
		}
		return acceptAll(in), nil
	}}
	h, metrics := newTestHandler(k, clock.NewVirtual(testStart))
	resp, _ := h.Handle(t.Context(), postNDJSON(ndjson(5)))
	if got, want := resp.StatusCode, 200; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	var keys []string
	for _, e := range k.calls[1] {
		keys = append(keys, *e.PartitionKey)
	}
	if got, want := strings.Join(keys, ","), "r-000,r-004"; got != want {
		t.Fatalf("resent %s, want %s", got, want)
	}
	var emf map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &emf); err != nil {
		t.Fatalf("EMF line %q: %v", metrics.String(), err)
	}
	if got, want := emf["RecordsAccepted"], float64(5); got != want {
		t.Fatalf("RecordsAccepted = %v, want %v", got, want)
	}
	if got, want := emf["PutRecordsRetries"], float64(1); got != want {
		t.Fatalf("PutRecordsRetries = %v, want %v", got, want)
	}
}

func TestBudgetEnd(t *testing.T) {
	now := testStart
	tests := []struct {
		name        string
		budget      time.Duration
		deadline    time.Time
		hasDeadline bool
		want        time.Time
	}{
		{"NoDeadline", 2 * time.Second, time.Time{}, false, now.Add(2 * time.Second)},
		{"ZeroBudgetIsDefault", 0, time.Time{}, false, now.Add(DefaultBudget)},
		{"NegativeBudgetIsDefault", -time.Second, time.Time{}, false, now.Add(DefaultBudget)},
		{"DeadlineAfterBudget", 2 * time.Second, now.Add(time.Minute), true, now.Add(2 * time.Second)},
		{"DeadlineCutsBudget", DefaultBudget, now.Add(700 * time.Millisecond), true, now.Add(400 * time.Millisecond)},
		{"DeadlineJustBeyondBudgetPlusMargin", time.Second, now.Add(time.Second + deadlineMargin + time.Nanosecond), true, now.Add(time.Second)},
		{"DeadlineExactlyBudgetPlusMargin", time.Second, now.Add(time.Second + deadlineMargin), true, now.Add(time.Second)},
		{"DeadlineWithinMargin", DefaultBudget, now.Add(100 * time.Millisecond), true, now.Add(-200 * time.Millisecond)},
		{"DeadlinePast", DefaultBudget, now.Add(-time.Second), true, now.Add(-time.Second - deadlineMargin)},
		{"ZeroDeadlineIgnoredWithoutFlag", DefaultBudget, now.Add(time.Millisecond), false, now.Add(DefaultBudget)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := budgetEnd(now, tt.budget, tt.deadline, tt.hasDeadline), tt.want; !got.Equal(want) {
				t.Fatalf("budgetEnd = %v, want %v", got, want)
			}
		})
	}
}

// TestBudgetFollowsDeadline: an invocation deadline nearer than the budget
// ends the retries (deadlineMargin before it) and the answer is a 503, on
// virtual time so the outcome does not depend on the machine's speed.
func TestBudgetFollowsDeadline(t *testing.T) {
	k := &fakeKinesis{answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, apiError("ProvisionedThroughputExceededException")
	}}
	clk := clock.NewVirtual(testStart)
	h, metrics := newTestHandler(k, clk)
	deadline := testStart.Add(700 * time.Millisecond)
	h.deadline = func(context.Context) (time.Time, bool) { return deadline, true }
	resp, _ := h.Handle(t.Context(), postNDJSON(ndjson(1)))
	if got, want := resp.StatusCode, 503; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if got, want := resp.Headers["Retry-After"], "1"; got != want {
		t.Fatalf("Retry-After = %q, want %q", got, want)
	}
	// Jitter 0.5 makes the waits 37.5, 75, 150 and 300 ms: three fit before
	// the end at 400 ms (700 less the margin), the fourth would not.
	if got, want := k.callCount(), 4; got != want {
		t.Fatalf("PutRecords calls = %d, want %d", got, want)
	}
	if got, want := clock.Since(clk, testStart), 262500*time.Microsecond; got != want {
		t.Fatalf("spent %v, want %v", got, want)
	}
	if got := clk.Now(); !got.Before(deadline.Add(-deadlineMargin)) {
		t.Fatalf("answered at %v, not before %v", got, deadline.Add(-deadlineMargin))
	}
	if body := decodeBody(t, resp); !strings.Contains(fmt.Sprint(body["error"]), "after 3 retries") {
		t.Fatalf("503 error = %v, want it to count 3 retries", body["error"])
	}
	var emf map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &emf); err != nil {
		t.Fatalf("EMF line %q: %v", metrics.String(), err)
	}
	if got, want := emf["PutRecordsRetries"], float64(3); got != want {
		t.Fatalf("PutRecordsRetries = %v, want %v", got, want)
	}
}

// TestVirtualClockIgnoresWallDeadline: in the local drill the handler runs on
// virtual time, where a wall-clock deadline on ctx means nothing.
func TestVirtualClockIgnoresWallDeadline(t *testing.T) {
	k := &fakeKinesis{answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		if n < 2 {
			return nil, apiError("ProvisionedThroughputExceededException")
		}
		return acceptAll(in), nil
	}}
	// Virtual time far ahead of the wall clock: the deadline is "past".
	h, _ := newTestHandler(k, clock.NewVirtual(time.Now().Add(24*time.Hour)))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	resp, _ := h.Handle(ctx, postNDJSON(ndjson(1)))
	if got, want := resp.StatusCode, 200; got != want {
		t.Fatalf("status = %d, want %d (%s)", got, want, resp.Body)
	}
}

func TestInvalidRequests(t *testing.T) {
	long := strings.Repeat("x", record.MaxIDBytes+1)
	tests := []struct {
		name string
		req  events.ALBTargetGroupRequest
		// want lists "index:substring" per problem, in order; index -1 for
		// body-level problems.
		want []string
	}{
		{"EmptyBody", postNDJSON(" \n"), []string{"-1:empty body"}},
		{"EmptyArray", postNDJSON("[]"), []string{"-1:no records"}},
		{"EveryProblemListed", postNDJSON("{\"id\":\"ok\"}\n{\"id\":7}\n[1]\n{\"ts\":\"noon\"}\n{\"id\":\"" + long + "\"}\n{\"canary\":1}\n{\"a\":1} {\"b\":2}\n{\"id\":\"\"}\n{\"producer\":5}\n{\"ts\":-5}\n{\"ts\":1.5}\n{\"ts\":\"10000-01-01T00:00:00Z\"}\n"),
			[]string{"1:id is not a string", "2:not a JSON object", "3:not RFC 3339", "4:id is 129 bytes", "5:canary is not a boolean", "6:one record per line", "7:id is empty", "8:producer is not a string", "9:ts -5", "10:ts 1.5", "11:not RFC 3339"}},
		{"SyntaxErrors", postNDJSON("{\"a\":}\n{\"a\":\"\x01\"}\n{\"a\":\"\xff\"}\n{\"a\":tru}\n{\"id\":\"x\",\"id\":\"y\"}\n{\"a\":\"\\q\"}\n{\"a\":01}\n"),
			[]string{"0:invalid JSON", "1:control character", "2:invalid UTF-8", "3:invalid literal", "4:duplicate member", "5:invalid escape", "6:expected ','"}},
		{"ArraySyntaxStops", postNDJSON(`[{"id":"a"}, 5, {"id":7}, {"b":]`), []string{"1:not a JSON object", "2:id is not a string", "3:invalid JSON: unexpected character ']' at byte 31"}},
		{"ArrayNonObjectSyntax", postNDJSON(`[{"id":"a"}, tru]`), []string{"1:invalid literal at byte 13"}},
		{"ArrayGoesOnAfterDuplicate", postNDJSON(`[{"id":"a","id":"b"}, {"id":7}]`), []string{"0:duplicate member \"id\" at byte 11", "1:id is not a string"}},
		{"ArrayTrailingData", postNDJSON(`[{"id":"a"}] x`), []string{"-1:unexpected data after the array"}},
		{"TooManyRecords", postNDJSON(ndjson(MaxRecords + 1)), []string{"-1:501 records"}},
		{"BodyTooLarge", postNDJSON(strings.Repeat(" ", MaxBodyBytes+1)), []string{"-1:the limit is 1048576"}},
		{"RecordTooLarge", postNDJSON(`{"id":"big","pad":"` + strings.Repeat("y", record.MaxRecordBytes) + `"}`), []string{"0:the limit is 65536"}},
		{"EncodedTooLarge", postNDJSON(`{"id":"` + strings.Repeat("<", 100) + `","pad":"` + strings.Repeat("y", record.MaxRecordBytes-600) + `"}`), []string{"0:once encoded"}},
		{"LongValuesClipped", postNDJSON(`{"ts":"` + strings.Repeat("9", 60000) + `"}`), []string{"0:…\" is not RFC 3339"}},
		{"BadBase64", events.ALBTargetGroupRequest{HTTPMethod: "POST", Path: "/records", Body: "!!!", IsBase64Encoded: true}, []string{"-1:base64"}},
		{"UnpairedSurrogateIDs", postNDJSON("{\"id\":\"\\ud800\",\"v\":1}\n{\"id\":\"\\udc00\",\"v\":2}\n{\"id\":\"ok\",\"producer\":\"\\udbff\"}\n"),
			[]string{"0:id contains an unpaired UTF-16 surrogate escape", "1:id contains an unpaired UTF-16 surrogate escape", "2:producer contains an unpaired UTF-16 surrogate escape"}},
		{"DeepNesting", postNDJSON(`{"a":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}`), []string{"0:nesting deeper"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &fakeKinesis{}
			h, _ := newTestHandler(k, clock.NewVirtual(testStart))
			resp, err := h.Handle(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.StatusCode, 400; got != want {
				t.Fatalf("status = %d, want %d (%s)", got, want, resp.Body)
			}
			if got := k.callCount(); got != 0 {
				t.Fatalf("PutRecords called %d times for an invalid request", got)
			}
			var body struct {
				Error    string    `json:"error"`
				Problems []Problem `json:"problems"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			if got, want := len(body.Problems), len(tt.want); got != want {
				t.Fatalf("%d problems, want %d: %s", got, want, resp.Body)
			}
			for i, w := range tt.want {
				idx, sub, _ := strings.Cut(w, ":")
				p := body.Problems[i]
				gotIdx := "-1"
				if p.Index != nil {
					gotIdx = fmt.Sprint(*p.Index)
				}
				if gotIdx != idx || !strings.Contains(p.Reason, sub) {
					t.Fatalf("problem %d = index %s %q, want index %s containing %q", i, gotIdx, p.Reason, idx, sub)
				}
			}
		})
	}
}

func TestProblemsAreBounded(t *testing.T) {
	body := strings.Repeat("5\n", MaxProblems+10)
	_, problems := Parse([]byte(body), Meta{Received: testStart})
	if got, want := len(problems), MaxProblems+1; got != want {
		t.Fatalf("%d problems, want %d", got, want)
	}
	// 510 bad records and the count problem: 500 listed, 11 summed up.
	if got, want := problems[MaxProblems].Reason, "and 11 more problems"; got != want {
		t.Fatalf("last problem %q, want %q", got, want)
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		method, path string
		want         int
		allow        string
	}{
		{"GET", "/health", 200, ""},
		{"HEAD", "/health", 200, ""},
		{"POST", "/health", 405, "GET, HEAD"},
		{"GET", "/records", 405, "POST"},
		{"PUT", "/records", 405, "POST"},
		{"GET", "/", 404, ""},
		{"POST", "/records/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+strings.ReplaceAll(tt.path, "/", "_"), func(t *testing.T) {
			k := &fakeKinesis{}
			h, _ := newTestHandler(k, clock.NewVirtual(testStart))
			resp, _ := h.Handle(t.Context(), events.ALBTargetGroupRequest{HTTPMethod: tt.method, Path: tt.path})
			if got, want := resp.StatusCode, tt.want; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := resp.Headers["Allow"], tt.allow; got != want {
				t.Fatalf("Allow = %q, want %q", got, want)
			}
			if got, want := resp.Headers["Content-Type"], "application/json"; got != want {
				t.Fatalf("Content-Type = %q, want %q", got, want)
			}
			if !json.Valid([]byte(resp.Body)) {
				t.Fatalf("body %q is not JSON", resp.Body)
			}
			if got := k.callCount(); got != 0 {
				t.Fatalf("%d Kinesis calls, want none", got)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"OK", map[string]string{"STREAM_NAME": "pendulum-ingest", "IDEMPOTENCY_TABLE": "pendulum-ingest-ids", "AWS_REGION": "eu-west-1"}, ""},
		{"NoStream", map[string]string{"AWS_REGION": "eu-west-1", "IDEMPOTENCY_TABLE": "ids"}, "STREAM_NAME"},
		{"BadStream", map[string]string{"STREAM_NAME": "arn:aws:kinesis:x", "IDEMPOTENCY_TABLE": "ids", "AWS_REGION": "eu-west-1"}, "STREAM_NAME"},
		{"NoTable", map[string]string{"STREAM_NAME": "s", "AWS_REGION": "eu-west-1"}, "IDEMPOTENCY_TABLE"},
		{"BadTable", map[string]string{"STREAM_NAME": "s", "IDEMPOTENCY_TABLE": "arn:aws:dynamodb:eu-west-1:1:table/ids", "AWS_REGION": "eu-west-1"}, "IDEMPOTENCY_TABLE"},
		{"ShortTable", map[string]string{"STREAM_NAME": "s", "IDEMPOTENCY_TABLE": "id", "AWS_REGION": "eu-west-1"}, "IDEMPOTENCY_TABLE"},
		{"NoRegion", map[string]string{"STREAM_NAME": "s", "IDEMPOTENCY_TABLE": "ids"}, "AWS_REGION"},
		{"BadTTL", map[string]string{"STREAM_NAME": "s", "IDEMPOTENCY_TABLE": "ids", "AWS_REGION": "eu-west-1", "MARKER_TTL_DAYS": "0"}, "MARKER_TTL_DAYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, want := c.StreamName, tt.env["STREAM_NAME"]; got != want {
					t.Fatalf("StreamName = %q, want %q", got, want)
				}
				if got, want := c.IdempotencyTable, tt.env["IDEMPOTENCY_TABLE"]; got != want {
					t.Fatalf("IdempotencyTable = %q, want %q", got, want)
				}
				if got, want := c.TTL, DefaultTTL; got != want {
					t.Fatalf("TTL = %v, want the markers' %v", got, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestRoundTripper(t *testing.T) {
	k := &fakeKinesis{}
	h, _ := newTestHandler(k, clock.NewVirtual(testStart))
	client := &http.Client{Transport: RoundTripper(h.Handle)}
	for _, ct := range []string{"application/x-ndjson", "application/json"} {
		t.Run(strings.ReplaceAll(ct, "/", "_"), func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "POST", "https://ingest.local/records", strings.NewReader(ndjson(3)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ct)
			req.Header.Set(ProducerHeader, "rt-producer")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if got, want := resp.StatusCode, 200; got != want {
				t.Fatalf("status = %d, want %d (%s)", got, want, b)
			}
			if got, want := string(b), `{"accepted":3}`; got != want {
				t.Fatalf("body = %s, want %s", got, want)
			}
			if got, want := resp.Header.Get("Content-Type"), "application/json"; got != want {
				t.Fatalf("Content-Type = %q, want %q", got, want)
			}
		})
	}
	r, err := record.Decode(k.calls[0][0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Producer, "rt-producer"; got != want {
		t.Fatalf("producer = %q, want %q (from the header)", got, want)
	}
	resp, err := client.Get("https://ingest.local/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, 200; got != want {
		t.Fatalf("health status = %d, want %d", got, want)
	}

	failing := &http.Client{Transport: RoundTripper(func(context.Context, events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
		return events.ALBTargetGroupResponse{}, errors.New("function crashed")
	})}
	resp, err = failing.Get("https://ingest.local/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusBadGateway; got != want {
		t.Fatalf("status = %d, want %d for a failed invocation", got, want)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	// The handler logs every refused request; the tests assert on answers.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// TestEachIDWrittenOnce: identical copies within a request are answered as
// accepted and reach Kinesis once; every record of the body counts in
// "accepted" (so a producer's count check holds) and the copies in
// "duplicates".
func TestEachIDWrittenOnce(t *testing.T) {
	one, two := `{"id":"r-001","v":1}`, `{"id":"r-002","v":2}`
	body := ndjson(3) + one + "\n" + two + "\n" + `{ "id":"r-001", "v":1 }` + "\n" + `{"v":"derived"}` + "\n" + `{"v":"derived"}` + "\n" + ndjson(1)
	// MaxRecords copies of one record fit one request too, and write one.
	full := strings.Repeat(one+"\n", MaxRecords)
	for _, tt := range []struct {
		name     string
		body     string
		wantKeys string
		want     string
	}{
		{"Mixed", body, "r-000,r-001,r-002," + DeriveID([]byte(`{"v":"derived"}`)), `{"accepted":9,"duplicates":5}`},
		{"AllCopies", full, "r-001", fmt.Sprintf(`{"accepted":%d,"duplicates":%d}`, MaxRecords, MaxRecords-1)},
		{"NoCopies", ndjson(3), "r-000,r-001,r-002", `{"accepted":3}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := &fakeKinesis{}
			h, metrics := newTestHandler(k, clock.NewVirtual(testStart))
			resp, _ := h.Handle(t.Context(), postNDJSON(tt.body))
			if resp.StatusCode != 200 || resp.Body != tt.want {
				t.Fatalf("answer %d %s, want 200 %s", resp.StatusCode, resp.Body, tt.want)
			}
			var keys []string
			seen := map[string]bool{}
			for _, call := range k.calls {
				for _, e := range call {
					if seen[*e.PartitionKey] {
						t.Fatalf("id %s written twice", *e.PartitionKey)
					}
					seen[*e.PartitionKey] = true
					keys = append(keys, *e.PartitionKey)
					if rec, err := record.Decode(e.Data); err != nil || rec.ID != *e.PartitionKey {
						t.Fatalf("entry %s: record %+v, %v", *e.PartitionKey, rec, err)
					}
				}
			}
			if got := strings.Join(keys, ","); got != tt.wantKeys {
				t.Fatalf("written %s, want %s", got, tt.wantKeys)
			}
			var emf map[string]any
			if err := json.Unmarshal(metrics.Bytes(), &emf); err != nil {
				t.Fatal(err)
			}
			if got, want := emf["RecordsAccepted"], float64(len(keys)); got != want {
				t.Fatalf("RecordsAccepted = %v, want %v (records written)", got, want)
			}
		})
	}
}

// TestConflictAnswer: a record reusing an id with other content makes the
// request a 400 like any invalid record, with a problem of status
// "conflict" for it; nothing is written.
func TestConflictAnswer(t *testing.T) {
	k := &fakeKinesis{}
	h, _ := newTestHandler(k, clock.NewVirtual(testStart))
	resp, _ := h.Handle(t.Context(), postNDJSON("{\"id\":\"a\",\"v\":1}\n{\"id\":\"a\",\"v\":1}\n{\"id\":\"a\",\"v\":2}\n{\"id\":\"\\u0000\"}\n"))
	want := `{"error":"invalid request: nothing was written","problems":[` +
		`{"index":2,"line":3,"reason":"conflict: id \"a\" is already used in this request by record 0, whose content differs; this record was not written (every stage keeps one record per id)","status":"conflict"},` +
		`{"index":3,"line":4,"reason":"id contains the control character U+0000; ids must not contain U+0000-U+001F or U+007F"}]}`
	if resp.StatusCode != 400 || resp.Body != want {
		t.Fatalf("answer %d %s\nwant 400 %s", resp.StatusCode, resp.Body, want)
	}
	if got := k.callCount(); got != 0 {
		t.Fatalf("PutRecords called %d times", got)
	}
}
