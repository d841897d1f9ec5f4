// Package ingest is the ALB target that accepts producer records and writes
// them to the Kinesis stream.
//
// POST /records takes NDJSON or a JSON array of records (see Parse). A
// request is accepted whole or not at all: an invalid one is answered 400 with
// every problem and nothing is written (a record whose id an earlier record
// of the request holds with different content is a problem with status
// "conflict"). A valid one has each record's id and content hash recorded
// in the region's idempotency table first, with a conditional write that
// succeeds only for a new id or the content the id was accepted with: a
// record whose id an earlier request was accepted with other content is a
// conflict too, answered the same way, and a write that cannot be made
// (throttled, unreachable) makes the request a 503 — no record is
// acknowledged unrecorded. Then the records are written with Kinesis
// PutRecords, each id once, and answered 200 {"accepted":N} (N counts every
// record of the body, "duplicates" the identical copies among them written
// once) only when every record was accepted, else 503 with Retry-After. The
// producer then resends the whole request; record ids make that safe,
// because the table accepts the same content again and every stage
// downstream is idempotent on them. GET /health answers the ALB and Global
// Accelerator health checks without calling AWS.
package ingest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// Putter is the Kinesis API ingest uses; *kinesis.Client and the simulator
// satisfy it.
type Putter interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

var _ Putter = (*kinesis.Client)(nil)

// ProducerHeader names the request header that identifies the producer when
// a record has no "producer" field.
const ProducerHeader = "X-Pendulum-Producer"

// Retry timing. The budget bounds how long one request may spend retrying
// partial failures before it answers 503 and leaves the retry to the
// producer; it is cut shorter by the invocation deadline.
const (
	DefaultBudget  = 4 * time.Second
	deadlineMargin = 300 * time.Millisecond // to answer before the Lambda times out
	backoffBase    = 50 * time.Millisecond
	backoffMax     = time.Second
	// RetryAfterThrottled is the Retry-After (seconds) when Kinesis kept
	// throttling or failing records: capacity usually returns within seconds.
	RetryAfterThrottled = 1
	// RetryAfterUnavailable is the Retry-After (seconds) when the stream
	// cannot be written at all (e.g. it does not exist: a dormant region).
	RetryAfterUnavailable = 5
)

// EnvStreamName names the variable holding the Kinesis stream records are
// written to (Config.StreamName); infra sets it on the ingest function.
const EnvStreamName = "STREAM_NAME"

// DefaultTTL is how long an accepted id holds its content when Config.TTL
// is 0: as long as the aggregate consumer keeps the id's marker, which
// drops any later record with the id.
const DefaultTTL = aggregate.DefaultMarkerTTL

// Config is the ingest configuration, from the environment.
type Config struct {
	// StreamName is the Kinesis stream records go to (STREAM_NAME).
	StreamName string
	// IdempotencyTable is the DynamoDB table of accepted ids and their
	// content hashes (IDEMPOTENCY_TABLE).
	IdempotencyTable string
	// TTL is how long an accepted id holds its content, from the last
	// time it was accepted: the markers' TTL (aggregate.EnvMarkerTTLDays,
	// DefaultTTL when unset), so ingest refuses other content under an id
	// for as long as the consumer would drop it.
	TTL time.Duration
	// Region is this Lambda's region (AWS_REGION), stamped on every record.
	Region string
}

// ConfigFromEnv reads and validates the configuration; getenv is os.Getenv
// in the Lambda. The error names the variable at fault.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		StreamName:       strings.TrimSpace(getenv(EnvStreamName)),
		IdempotencyTable: strings.TrimSpace(getenv(EnvIdempotencyTable)),
		Region:           strings.TrimSpace(getenv("AWS_REGION")),
	}
	switch {
	case c.StreamName == "":
		return Config{}, errors.New(EnvStreamName + " is not set: the Kinesis stream to write records to")
	case len(c.StreamName) > 128 || strings.ContainsAny(c.StreamName, " /:"):
		return Config{}, fmt.Errorf(EnvStreamName+" %q is not a Kinesis stream name (1-128 of [a-zA-Z0-9_.-])", c.StreamName)
	case c.IdempotencyTable == "":
		return Config{}, errors.New(EnvIdempotencyTable + " is not set: the DynamoDB table of accepted record ids")
	case !tableName(c.IdempotencyTable):
		return Config{}, fmt.Errorf(EnvIdempotencyTable+" %q is not a DynamoDB table name (3-255 of [a-zA-Z0-9_.-])", c.IdempotencyTable)
	case c.Region == "":
		return Config{}, errors.New("AWS_REGION is not set (Lambda sets it; set it for local runs)")
	}
	ttl, err := aggregate.MarkerTTLFromEnv(getenv)
	if err != nil {
		return Config{}, err
	}
	c.TTL = ttl
	return c, nil
}

// tableName reports whether s is a valid DynamoDB table name.
func tableName(s string) bool {
	if len(s) < 3 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// Handler answers ALB requests. Its fields are set before the first request
// and not changed after; it is safe for concurrent use.
type Handler struct {
	Config
	// Kinesis writes the records.
	Kinesis Putter
	// Idempotency records each accepted id and content hash in
	// Config.IdempotencyTable before its record goes to Kinesis. Required:
	// without it every POST is answered 500 and nothing is accepted.
	Idempotency IdempotencyDB
	// ClaimConcurrency bounds the idempotency writes of one request in
	// flight; 0 means DefaultClaimConcurrency.
	ClaimConcurrency int
	// Clock times retries and stamps arrival; clock.Real in the Lambda.
	Clock clock.Clock
	// Budget bounds retrying within one request; 0 means DefaultBudget.
	Budget time.Duration
	// Metrics receives one CloudWatch Embedded Metric Format line per POST
	// (stdout in the Lambda); nil writes none.
	Metrics io.Writer
	// Jitter returns a number in [0, 1) for backoff jitter; nil uses math/rand.
	Jitter func() float64

	// deadline, when set, gives the invocation deadline on Clock's time
	// line in place of ctx's wall-clock one: tests use it to put a deadline
	// on virtual time.
	deadline func(context.Context) (time.Time, bool)
}

// New returns a Handler on the wall clock writing metrics to w.
func New(cfg Config, k Putter, db IdempotencyDB, w io.Writer) *Handler {
	return &Handler{Config: cfg, Kinesis: k, Idempotency: db, Clock: clock.Real{}, Metrics: w}
}

// parsers holds Parsers between requests; see Parser.
var parsers = sync.Pool{New: func() any { return new(Parser) }}

// RegionHeader names the region that served a request. Every answer carries
// it, so a probe through the accelerator can prove which region took the
// traffic (the DR state machines' verification step relies on it).
const RegionHeader = "X-Pendulum-Region"

// Handle answers one ALB request. It never returns an error: every failure
// is an HTTP answer the producer knows how to act on.
func (h *Handler) Handle(ctx context.Context, req events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
	resp := h.route(ctx, req)
	if resp.MultiValueHeaders != nil {
		resp.MultiValueHeaders[RegionHeader] = []string{h.Region}
	} else {
		resp.Headers[RegionHeader] = h.Region
	}
	return resp, nil
}

func (h *Handler) route(ctx context.Context, req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	switch req.Path {
	case "/records":
		if req.HTTPMethod != http.MethodPost {
			return respond(req, http.StatusMethodNotAllowed, errorBody{Error: "use POST /records"}, "Allow", "POST")
		}
		return h.postRecords(ctx, req)
	case "/health":
		if req.HTTPMethod != http.MethodGet && req.HTTPMethod != http.MethodHead {
			return respond(req, http.StatusMethodNotAllowed, errorBody{Error: "use GET /health"}, "Allow", "GET, HEAD")
		}
		return respond(req, http.StatusOK, healthBody{Status: "ok", Region: h.Region})
	}
	return respond(req, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no route %s %s; use POST /records or GET /health", req.HTTPMethod, req.Path)})
}

type errorBody struct {
	Error    string    `json:"error"`
	Problems []Problem `json:"problems,omitempty"`
	Accepted *int      `json:"accepted,omitempty"`
	Failed   *int      `json:"failed,omitempty"`
}

type healthBody struct {
	Status string `json:"status"`
	Region string `json:"region"`
}

type acceptedBody struct {
	// Accepted counts the records of the body, identical copies included.
	Accepted int `json:"accepted"`
	// Duplicates counts the identical copies of an earlier record of the
	// body (same id, same content): accepted, and written once.
	Duplicates int `json:"duplicates,omitempty"`
}

func (h *Handler) postRecords(ctx context.Context, req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	now := h.Clock.Now().UTC()
	body, err := requestBody(req)
	if err != nil {
		h.emit(now, metrics{rejected: 0})
		return respond(req, http.StatusBadRequest, errorBody{Error: "invalid request", Problems: []Problem{{Reason: err.Error()}}})
	}
	ps := parsers.Get().(*Parser)
	defer parsers.Put(ps)
	parsed, problems, n := ps.parse(body, Meta{Received: now, Region: h.Region, Producer: header(req, ProducerHeader)})
	if problems != nil {
		h.emit(now, metrics{rejected: n, conflicting: conflicts(problems)})
		slog.InfoContext(ctx, "request rejected", "records", n, "problems", len(problems), "firstProblem", problems[0].Reason)
		return respond(req, http.StatusBadRequest, errorBody{Error: "invalid request: nothing was written", Problems: problems})
	}
	if h.Idempotency == nil || h.IdempotencyTable == "" {
		slog.ErrorContext(ctx, "no idempotency table configured: refusing every record")
		return respond(req, http.StatusInternalServerError, errorBody{Error: "ingest is not configured with an idempotency table; nothing was written"})
	}
	dl, hasDeadline := h.deadlineOf(ctx)
	end := budgetEnd(h.Clock.Now(), h.Budget, dl, hasDeadline)
	if _, wall := h.Clock.(clock.Real); wall && hasDeadline {
		// Calls in flight stop at the same instant the retries do.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-deadlineMargin))
		defer cancel()
	}
	// Record every id before any record is written: a record is
	// acknowledged only once the table holds its content.
	claims := h.claims(ctx, parsed, end)
	var unrecorded, claimRetries, retryAfter int
	var firstErr error
	for _, c := range claims {
		claimRetries += c.retries
		if c.state == claimFailed {
			unrecorded++
			retryAfter = max(retryAfter, c.retryAfter)
			if firstErr == nil {
				firstErr = c.err
			}
		}
	}
	if cp := conflictProblems(parsed, claims); len(cp) > 0 {
		// As for a conflict within the request: nothing is written, the
		// producer sets the conflicting records aside and resends the rest
		// (whose ids the table now holds with their content, so they are
		// accepted again).
		h.emit(now, metrics{rejected: n, conflicting: len(cp), claimRetries: claimRetries})
		slog.WarnContext(ctx, "request rejected: ids accepted earlier with other content", "records", n, "conflicts", len(cp), "firstProblem", cp[0].Reason)
		return respond(req, http.StatusBadRequest, errorBody{Error: "invalid request: nothing was written", Problems: cp})
	}
	if unrecorded > 0 {
		zero := 0
		h.emit(now, metrics{failed: len(parsed.Records), claimRetries: claimRetries})
		slog.WarnContext(ctx, "records not recorded in the idempotency table", "table", h.IdempotencyTable, "unrecorded", unrecorded, "retries", claimRetries, "err", firstErr)
		return respond(req, http.StatusServiceUnavailable,
			errorBody{Error: fmt.Sprintf("%d of %d record ids could not be recorded, so nothing was written; resend the request: %v", unrecorded, len(parsed.Records), firstErr), Accepted: &zero, Failed: &unrecorded},
			"Retry-After", strconv.Itoa(retryAfter))
	}
	res := h.put(ctx, parsed.Batches(h.StreamName), end)
	h.emit(now, metrics{accepted: res.accepted, failed: len(parsed.Records) - res.accepted, retries: res.retries, claimRetries: claimRetries})
	if res.err == nil {
		return respond(req, http.StatusOK, acceptedBody{Accepted: res.accepted + parsed.Duplicates, Duplicates: parsed.Duplicates})
	}
	failed := len(parsed.Records) - res.accepted
	slog.WarnContext(ctx, "records not written", "stream", h.StreamName, "accepted", res.accepted, "failed", failed, "retries", res.retries, "err", res.err)
	return respond(req, http.StatusServiceUnavailable,
		errorBody{Error: "not every record was written; resend the request: " + res.err.Error(), Accepted: &res.accepted, Failed: &failed},
		"Retry-After", strconv.Itoa(res.retryAfter))
}

// requestBody returns the body, base64-decoded when the ALB encoded it.
func requestBody(req events.ALBTargetGroupRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBodyBytes {
			return nil, fmt.Errorf("body is %d bytes; the limit is %d", len(req.Body), MaxBodyBytes)
		}
		return []byte(req.Body), nil
	}
	if n := base64.StdEncoding.DecodedLen(len(req.Body)); n > MaxBodyBytes+2 {
		return nil, fmt.Errorf("body is about %d bytes; the limit is %d", n, MaxBodyBytes)
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, fmt.Errorf("body is marked base64 but does not decode: %w", err)
	}
	return b, nil
}

// putResult is the outcome of writing a request's records.
type putResult struct {
	accepted   int
	retries    int
	err        error // nil when every record was accepted
	retryAfter int   // seconds, when err != nil
}

// budgetEnd returns when retrying must stop: budget (DefaultBudget if not
// positive) after now, or deadlineMargin before the invocation deadline when
// that comes first, so the answer goes out before the Lambda is cut off.
func budgetEnd(now time.Time, budget time.Duration, deadline time.Time, hasDeadline bool) time.Time {
	if budget <= 0 {
		budget = DefaultBudget
	}
	end := now.Add(budget)
	if hasDeadline {
		if dl := deadline.Add(-deadlineMargin); dl.Before(end) {
			end = dl
		}
	}
	return end
}

// deadlineOf returns the invocation deadline on h.Clock's time line. The
// deadline on ctx is wall-clock time, so it counts only on the wall clock:
// on a virtual clock, as in the local drill, it says nothing about virtual
// time and only the budget applies.
func (h *Handler) deadlineOf(ctx context.Context) (time.Time, bool) {
	if h.deadline != nil {
		return h.deadline(ctx)
	}
	if _, wall := h.Clock.(clock.Real); wall {
		return ctx.Deadline()
	}
	return time.Time{}, false
}

// errBudget says retries ran out of time.
var errBudget = errors.New("retry budget exhausted")

// put writes the batches, retrying failed records (and transient call
// errors) with capped, jittered exponential backoff until end, the
// request's retry budget. Only records Kinesis did not accept are resent.
func (h *Handler) put(ctx context.Context, batches []*kinesis.PutRecordsInput, end time.Time) putResult {
	var res putResult
	for _, in := range batches {
		attempt := 0
		for {
			out, err := h.Kinesis.PutRecords(ctx, in)
			var lastCode string
			if err != nil {
				if fault.Classify(err) != fault.Transient || ctx.Err() != nil {
					res.err, res.retryAfter = fmt.Errorf("put records to %s: %w", h.StreamName, err), RetryAfterUnavailable
					return res
				}
				lastCode = fault.Code(err)
				if lastCode == "" {
					lastCode = err.Error()
				}
			} else {
				failed := failedEntries(in, out)
				res.accepted += len(in.Records) - len(failed)
				if len(failed) == 0 {
					break
				}
				lastCode = firstCode(out)
				in = &kinesis.PutRecordsInput{StreamName: in.StreamName, StreamARN: in.StreamARN, Records: failed}
			}
			attempt++
			wait := h.backoff(attempt)
			if h.Clock.Now().Add(wait).After(end) {
				res.err = fmt.Errorf("%w after %d retries: %d records still failing (%s)", errBudget, res.retries, len(in.Records), lastCode)
				res.retryAfter = RetryAfterThrottled
				return res
			}
			if err := h.Clock.Sleep(ctx, wait); err != nil {
				res.err, res.retryAfter = fmt.Errorf("wait to retry: %w", err), RetryAfterThrottled
				return res
			}
			res.retries++
		}
	}
	return res
}

// failedEntries returns the entries of in that out reports as failed. An
// answer that does not line up with the request counts every entry as
// failed: resending is safe, guessing is not.
func failedEntries(in *kinesis.PutRecordsInput, out *kinesis.PutRecordsOutput) []types.PutRecordsRequestEntry {
	if out == nil || len(out.Records) != len(in.Records) {
		return in.Records
	}
	if out.FailedRecordCount != nil && *out.FailedRecordCount == 0 {
		return nil
	}
	var failed []types.PutRecordsRequestEntry
	for i, r := range out.Records {
		if r.ErrorCode != nil && *r.ErrorCode != "" {
			failed = append(failed, in.Records[i])
		}
	}
	return failed
}

func firstCode(out *kinesis.PutRecordsOutput) string {
	if out != nil {
		for _, r := range out.Records {
			if r.ErrorCode != nil && *r.ErrorCode != "" {
				return *r.ErrorCode
			}
		}
	}
	return "unknown error"
}

// backoff returns the wait before retry n (1-based): full jitter over an
// exponentially growing, capped window.
func (h *Handler) backoff(n int) time.Duration {
	d := backoffBase << min(n-1, 10)
	d = min(d, backoffMax)
	j := h.Jitter
	if j == nil {
		j = rand.Float64
	}
	// Half fixed, half jittered: never zero, still spread.
	return d/2 + time.Duration(j()*float64(d/2))
}

// header returns the named request header, matched case-insensitively, from
// whichever header map the target group sends.
func header(req events.ALBTargetGroupRequest, name string) string {
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[len(vs)-1]
		}
	}
	return ""
}

// respond builds the answer, as JSON, in the header form the request used
// (a target group with multi-value headers on expects them back).
func respond(req events.ALBTargetGroupRequest, code int, body any, kv ...string) events.ALBTargetGroupResponse {
	b, err := json.Marshal(body)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	hdr := map[string]string{"Content-Type": "application/json"}
	for i := 0; i+1 < len(kv); i += 2 {
		hdr[kv[i]] = kv[i+1]
	}
	resp := events.ALBTargetGroupResponse{
		StatusCode:        code,
		StatusDescription: fmt.Sprintf("%d %s", code, http.StatusText(code)),
		Body:              string(b),
	}
	if req.MultiValueHeaders != nil {
		resp.MultiValueHeaders = make(map[string][]string, len(hdr))
		for k, v := range hdr {
			resp.MultiValueHeaders[k] = []string{v}
		}
	} else {
		resp.Headers = hdr
	}
	return resp
}

type metrics struct {
	accepted, rejected, failed, retries int
	// conflicting counts the rejected records answered as conflicts;
	// claimRetries the idempotency writes retried.
	conflicting, claimRetries int
}

// conflicts counts the problems with StatusConflict.
func conflicts(ps []Problem) int {
	n := 0
	for _, p := range ps {
		if p.Status == StatusConflict {
			n++
		}
	}
	return n
}

// emit writes one Embedded Metric Format line: CloudWatch turns it into
// metrics without an API call on the hot path.
func (h *Handler) emit(now time.Time, m metrics) {
	if h.Metrics == nil {
		return
	}
	line := fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":%q,"Dimensions":[[%q]],"Metrics":[`+
		`{"Name":%[4]q,"Unit":"Count"},{"Name":%[5]q,"Unit":"Count"},{"Name":%[6]q,"Unit":"Count"},{"Name":%[7]q,"Unit":"Count"},`+
		`{"Name":%[8]q,"Unit":"Count"},{"Name":%[9]q,"Unit":"Count"}]}]},`+
		`%[3]q:%[10]q,%[4]q:%[11]d,%[5]q:%[12]d,%[6]q:%[13]d,%[7]q:%[14]d,%[8]q:%[15]d,%[9]q:%[16]d}`+"\n",
		now.UnixMilli(), topology.IngestMetricNamespace, topology.IngestDimensionRegion,
		topology.MetricRecordsAccepted, topology.MetricRecordsRejected, topology.MetricRecordsFailed, topology.MetricPutRecordsRetries,
		topology.MetricRecordsConflicting, topology.MetricIdempotencyRetries,
		h.Region, m.accepted, m.rejected, m.failed, m.retries, m.conflicting, m.claimRetries)
	_, _ = io.WriteString(h.Metrics, line)
}
