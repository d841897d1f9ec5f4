package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// testTable is the idempotency table of the tests' handlers.
const testTable = "pendulum-ingest-ids"

// newIdempotencyTable returns a simulated region (eu-west-1) holding an
// idempotency table as infra creates it: key IdempotencyKey, TTL on
// IdempotencyExpires, on demand.
// unmetered calls the simulated table with sim.Unmetered: its writes take
// no virtual time, so a test's virtual clock measures ingest's own waits.
type unmetered struct{ db *sim.DynamoDB }

func (u unmetered) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return u.db.PutItem(sim.Unmetered(ctx), in, opts...)
}

func newIdempotencyTable(clk clock.Clock) *sim.Region {
	r := sim.NewWorld(clk, "123456789012", "eu-west-1").Region("eu-west-1")
	db := r.DynamoDB()
	db.SetCreateDelay(0)
	ctx := sim.Unmetered(context.Background())
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(testTable),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(IdempotencyKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(IdempotencyKey), KeyType: ddbtypes.KeyTypeHash}},
	}); err != nil {
		panic(err)
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(testTable),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(IdempotencyExpires), Enabled: aws.Bool(true)}}); err != nil {
		panic(err)
	}
	return r
}

// written returns every entry k was given, call after call, as
// "key=data" (data without its newline).
func written(k *fakeKinesis) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, c := range k.calls {
		for _, e := range c {
			rec, err := record.Decode(e.Data)
			if err != nil {
				panic(err)
			}
			out = append(out, aws.ToString(e.PartitionKey)+"="+string(rec.Data))
		}
	}
	return out
}

// TestCrossRequestConflicts: one handler, a sequence of requests. A record
// whose id an earlier request was accepted with other content is answered as
// a conflict, like one within a request; the same content again, however
// spaced, is accepted again and written again (downstream drops the copy by
// its marker); nothing of a refused request reaches Kinesis.
func TestCrossRequestConflicts(t *testing.T) {
	k := &fakeKinesis{}
	h, metrics := newTestHandler(k, clock.NewVirtual(testStart))
	steps := []struct {
		name, body string
		status     int
		answer     string // the body; for a 400, the problems' "index:status" list
		written    []string
	}{
		{"First", "{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":1}\n", 200, `{"accepted":2}`, []string{`a={"id":"a","v":1}`, `b={"id":"b","v":1}`}},
		{"SameAgain", "{\"id\":\"a\",\"v\":1}\n", 200, `{"accepted":1}`, []string{`a={"id":"a","v":1}`}},
		{"SameSpacedOut", "{ \"id\" : \"a\" , \"v\" : 1 }\n", 200, `{"accepted":1}`, []string{`a={ "id" : "a" , "v" : 1 }`}},
		{"SameInAnArray", `[ {"id":"a",  "v":1} ]`, 200, `{"accepted":1}`, []string{`a={"id":"a",  "v":1}`}},
		{"OtherContent", "{\"id\":\"c\",\"v\":1}\n{\"id\":\"a\",\"v\":2}\n{\"id\":\"a\",\"v\":2}\n{\"id\":\"b\",\"v\":1,\"x\":0}\n", 400, "1:conflict 2:conflict 3:conflict", nil},
		{"OtherMemberOrder", `[{"v":1,"id":"a"}]`, 400, "0:conflict", nil},
		// c was recorded by the refused request: resent alone, it is
		// accepted; a record with its id and other content is not.
		{"RestResent", "{\"id\":\"c\",\"v\":1}\n", 200, `{"accepted":1}`, []string{`c={"id":"c","v":1}`}},
		{"RestOtherwise", "{\"id\":\"c\",\"v\":9}\n", 400, "0:conflict", nil},
		// Derived ids: the same bytes are the same id and content.
		{"Derived", "{\"v\":\"no id\"}\n", 200, `{"accepted":1}`, []string{DeriveID([]byte(`{"v":"no id"}`)) + `={"v":"no id"}`}},
		{"DerivedAgain", "{\"v\":\"no id\"}\n", 200, `{"accepted":1}`, []string{DeriveID([]byte(`{"v":"no id"}`)) + `={"v":"no id"}`}},
	}
	for _, st := range steps {
		before := len(written(k))
		resp, _ := h.Handle(t.Context(), postNDJSON(st.body))
		if resp.StatusCode != st.status {
			t.Fatalf("%s: answer %d %s, want %d", st.name, resp.StatusCode, resp.Body, st.status)
		}
		if st.status == 400 {
			var b struct {
				Error    string
				Problems []Problem
			}
			if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range b.Problems {
				got = append(got, fmt.Sprintf("%d:%s", *p.Index, p.Status))
				if p.Status == StatusConflict && (!strings.Contains(p.Reason, "accepted earlier by this region with other content") || !strings.Contains(p.Reason, "sha256")) {
					t.Errorf("%s: conflict reason %q", st.name, p.Reason)
				}
				if p.Line != *p.Index+1 && !strings.HasPrefix(st.body, "[") {
					t.Errorf("%s: problem for record %d names line %d", st.name, *p.Index, p.Line)
				}
			}
			if strings.Join(got, " ") != st.answer {
				t.Fatalf("%s: problems %s, want %s (%s)", st.name, strings.Join(got, " "), st.answer, resp.Body)
			}
		} else if resp.Body != st.answer {
			t.Fatalf("%s: answer %s, want %s", st.name, resp.Body, st.answer)
		}
		if got := written(k)[before:]; strings.Join(got, "\n") != strings.Join(st.written, "\n") {
			t.Fatalf("%s: written %q, want %q", st.name, got, st.written)
		}
	}
	last := strings.Split(strings.TrimSpace(metrics.String()), "\n")
	var emf map[string]any
	if err := json.Unmarshal([]byte(last[len(last)-3]), &emf); err != nil { // RestOtherwise
		t.Fatal(err)
	}
	if emf["RecordsConflicting"] != float64(1) || emf["RecordsAccepted"] != float64(0) {
		t.Fatalf("metrics of a refused request: %v", emf)
	}
}

// TestIdempotencyItem: the item ingest writes holds the id, the content
// hash of the record as sent (whitespace between tokens aside) and an expiry
// TTL after the last acceptance.
func TestIdempotencyItem(t *testing.T) {
	clk := clock.NewVirtual(testStart)
	k := &fakeKinesis{}
	h, _ := newTestHandler(k, clk)
	h.TTL = 3 * 24 * time.Hour
	db := h.Idempotency.(unmetered).db
	get := func() map[string]ddbtypes.AttributeValue {
		out, err := db.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(testTable),
			Key: map[string]ddbtypes.AttributeValue{IdempotencyKey: &ddbtypes.AttributeValueMemberS{Value: "a"}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	for i, body := range []string{`{"id":"a", "v":[1, 2]}`, `{"id":"a","v":[1,2]}`} {
		if resp, _ := h.Handle(t.Context(), postNDJSON(body)); resp.StatusCode != 200 {
			t.Fatalf("answer %d %s", resp.StatusCode, resp.Body)
		}
		item := get()
		if got, want := item[IdempotencyHash].(*ddbtypes.AttributeValueMemberS).Value, record.ContentHash([]byte(`{"id":"a","v":[1,2]}`)); got != want {
			t.Fatalf("hash %s, want %s", got, want)
		}
		if got, want := item[IdempotencyExpires].(*ddbtypes.AttributeValueMemberN).Value, strconv.FormatInt(clk.Now().Add(h.TTL).Unix(), 10); got != want {
			t.Fatalf("request %d: expires %s, want %s (TTL after this acceptance)", i, got, want)
		}
		if err := clk.Sleep(t.Context(), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKinesisFailureThenResend: the ids are recorded, then Kinesis fails
// (503). The producer resends the same content: it is accepted and written
// again, not answered as a conflict.
func TestKinesisFailureThenResend(t *testing.T) {
	fail := true
	k := &fakeKinesis{answer: func(n int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		if fail {
			return nil, apiError("AccessDeniedException")
		}
		return acceptAll(in), nil
	}}
	h, _ := newTestHandler(k, clock.NewVirtual(testStart))
	body := ndjson(3)
	if resp, _ := h.Handle(t.Context(), postNDJSON(body)); resp.StatusCode != 503 {
		t.Fatalf("answer %d %s, want 503", resp.StatusCode, resp.Body)
	}
	fail = false
	before := len(written(k))
	if resp, _ := h.Handle(t.Context(), postNDJSON(body)); resp.StatusCode != 200 || resp.Body != `{"accepted":3}` {
		t.Fatalf("resend: answer %d %s, want 200 {\"accepted\":3}", resp.StatusCode, resp.Body)
	}
	if got := len(written(k)) - before; got != 3 {
		t.Fatalf("resend wrote %d records, want 3", got)
	}
}

// TestClaimFailures: a write the table does not take leaves the record
// unacknowledged: throttling is retried within the budget, then answered
// 503 with Retry-After 1; a missing table or a denial at once, 503 with
// Retry-After 5. Nothing reaches Kinesis; a resend once the table answers
// is accepted.
func TestClaimFailures(t *testing.T) {
	throttled := &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("The level of configured provisioned throughput for the table was exceeded.")}
	for _, tt := range []struct {
		name       string
		fault      *sim.Fault
		table      string
		status     int
		retryAfter string
		retries    bool
	}{
		{"ThrottledTwice", &sim.Fault{Service: "DynamoDB", Operation: "PutItem", Err: throttled, Times: 2}, testTable, 200, "", true},
		{"ThrottledThroughout", &sim.Fault{Service: "DynamoDB", Operation: "PutItem", Err: throttled}, testTable, 503, "1", true},
		{"InternalErrors", &sim.Fault{Service: "DynamoDB", Operation: "PutItem", Err: &ddbtypes.InternalServerError{Message: aws.String("Internal server error")}}, testTable, 503, "1", true},
		{"TableMissing", nil, "no-such-table", 503, "5", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewVirtual(testStart)
			k := &fakeKinesis{}
			var metrics strings.Builder
			region := newIdempotencyTable(clk)
			h := &Handler{Config: Config{StreamName: "s", IdempotencyTable: tt.table, Region: "eu-west-1"}, Kinesis: k,
				Idempotency: region.DynamoDB(), Clock: clk, Metrics: &metrics, Jitter: func() float64 { return 0.5 }}
			if tt.fault != nil {
				region.World().Inject(tt.fault)
			}
			resp, _ := h.Handle(t.Context(), postNDJSON(ndjson(4)))
			if resp.StatusCode != tt.status || resp.Headers["Retry-After"] != tt.retryAfter {
				t.Fatalf("answer %d (Retry-After %q) %s, want %d (Retry-After %q)", resp.StatusCode, resp.Headers["Retry-After"], resp.Body, tt.status, tt.retryAfter)
			}
			if tt.status == 503 {
				if k.callCount() != 0 {
					t.Fatalf("%d Kinesis calls for records not recorded", k.callCount())
				}
				if b := decodeBody(t, resp); b["accepted"] != float64(0) || b["failed"] != float64(4) {
					t.Fatalf("503 body %s", resp.Body)
				}
				if spent := clock.Since(clk, testStart); spent > DefaultBudget {
					t.Fatalf("spent %v, beyond the budget", spent)
				}
			}
			if got := strings.Contains(metrics.String(), `"IdempotencyRetries":0`); got == tt.retries {
				t.Fatalf("metrics %s: retries expected %v", metrics.String(), tt.retries)
			}
			if tt.fault == nil {
				return
			}
			region.World().RemoveFault(tt.fault)
			if resp, _ := h.Handle(t.Context(), postNDJSON(ndjson(4))); resp.StatusCode != 200 {
				t.Fatalf("resend once the table answers: %d %s", resp.StatusCode, resp.Body)
			}
		})
	}
	t.Run("NotConfigured", func(t *testing.T) {
		k := &fakeKinesis{}
		h, _ := newTestHandler(k, clock.NewVirtual(testStart))
		h.Idempotency = nil
		if resp, _ := h.Handle(t.Context(), postNDJSON(ndjson(1))); resp.StatusCode != 500 || k.callCount() != 0 {
			t.Fatalf("answer %d %s with %d Kinesis calls, want 500 and none", resp.StatusCode, resp.Body, k.callCount())
		}
	})
}

// slowTable delays each PutItem by a virtual latency and notes the most
// calls ever in flight.
type slowTable struct {
	IdempotencyDB
	clk               clock.Clock
	latency           time.Duration
	mu                sync.Mutex
	inFlight, maxSeen int
}

func (s *slowTable) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	s.mu.Lock()
	s.inFlight++
	s.maxSeen = max(s.maxSeen, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if err := s.clk.Sleep(ctx, s.latency); err != nil {
		return nil, err
	}
	return s.IdempotencyDB.PutItem(ctx, in, opts...)
}

// TestClaimConcurrency: the writes of a request run ClaimConcurrency at a
// time, no more, so a request of 50 records takes 50/concurrency write
// latencies.
func TestClaimConcurrency(t *testing.T) {
	for _, conc := range []int{1, 4, 0} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			clk := clock.NewVirtual(testStart)
			k := &fakeKinesis{}
			h, _ := newTestHandler(k, clk)
			slow := &slowTable{IdempotencyDB: h.Idempotency, clk: clk, latency: 10 * time.Millisecond}
			h.Idempotency, h.ClaimConcurrency = slow, conc
			if resp, _ := h.Handle(t.Context(), postNDJSON(ndjson(50))); resp.StatusCode != 200 {
				t.Fatalf("answer %d %s", resp.StatusCode, resp.Body)
			}
			want := conc
			if want == 0 {
				want = DefaultClaimConcurrency
			}
			if slow.maxSeen != want {
				t.Fatalf("at most %d writes in flight, want %d", slow.maxSeen, want)
			}
			rounds := (50 + want - 1) / want
			if got, wantT := clock.Since(clk, testStart), time.Duration(rounds)*slow.latency; got != wantT {
				t.Fatalf("took %v of virtual time, want %v (%d rounds of writes)", got, wantT, rounds)
			}
		})
	}
}

// TestConcurrentRequestsOneWinner: requests racing with one id and
// different contents: exactly one content is accepted, every other request
// is told it conflicts, and only the accepted content reaches Kinesis.
func TestConcurrentRequestsOneWinner(t *testing.T) {
	clk := clock.NewVirtual(testStart)
	k := &fakeKinesis{}
	h, _ := newTestHandler(k, clk)
	h.Metrics = nil // a bytes.Buffer is not for concurrent writers
	const n = 8
	status := make([]int, n)
	var sigs []*clock.Signal
	for i := range n {
		sigs = append(sigs, clk.Go(func() {
			resp, _ := h.Handle(context.Background(), postNDJSON(fmt.Sprintf(`{"id":"race","v":%d}`, i)))
			status[i] = resp.StatusCode
		}))
	}
	for _, s := range sigs {
		if err := clk.Await(t.Context(), s, 0); err != nil {
			t.Fatal(err)
		}
	}
	won := -1
	for i, s := range status {
		switch {
		case s == 200 && won < 0:
			won = i
		case s == 200:
			t.Fatalf("requests %d and %d both accepted", won, i)
		case s != 400:
			t.Fatalf("request %d answered %d", i, s)
		}
	}
	if got, want := strings.Join(written(k), ","), fmt.Sprintf(`race={"id":"race","v":%d}`, won); got != want {
		t.Fatalf("written %s, want %s", got, want)
	}
}
