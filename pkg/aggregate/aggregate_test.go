package aggregate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2026, 11, 25, 2, 33, 0, 0, time.UTC)

func newTestAggregator(db DB, region string, clk clock.Clock) *Aggregator {
	return New(db, Options{Table: "aggregates", Region: region, Clock: clk})
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func loadKinesis(t testing.TB, name string) events.KinesisEvent {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KinesisEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func window(s string) time.Time {
	w, err := time.Parse(WindowLayout, s)
	if err != nil {
		panic(err)
	}
	return w
}

// TestHandlerGolden runs the golden Kinesis batch and compares the response
// and the whole table with testdata/kinesis-batch.golden.json; then delivers
// the same batch again and checks that nothing changed.
func TestHandlerGolden(t *testing.T) {
	ev := loadKinesis(t, "kinesis-batch.json")
	m := newMemTable()
	h := NewHandler(newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0)), quietLog())
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	got, _ := json.MarshalIndent(map[string]any{"batchItemFailures": resp.BatchItemFailures, "items": m.dump()}, "", "  ")
	got = append(got, '\n')
	const gf = "testdata/kinesis-batch.golden.json"
	if *update {
		if err := os.WriteFile(gf, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(gf)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it, then review it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("table differs from %s\n got: %s\nwant: %s", gf, got, want)
	}

	// Redelivery of the same batch: no change at all.
	before := m.dump()
	resp, err = h.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v, %v", resp, err)
	}
	if !reflect.DeepEqual(m.dump(), before) {
		t.Fatalf("redelivery changed the table")
	}
}

func TestTotals(t *testing.T) {
	ev := loadKinesis(t, "kinesis-batch.json")
	m := newMemTable()
	agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
	if _, err := NewHandler(agg, quietLog()).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		window    string
		records   int64
		bytes     int64
		producers []string
	}{
		// a1 {"v":1} 7 bytes, a2 {"v":22,"s":"été"} 20 bytes, "ü/#R 1" {"k":[1,2,3]} 13 bytes; the canary and the resent a1 are not counted
		{window: "2026-11-25T02:31Z", records: 3, bytes: 7 + 20 + 13, producers: []string{"p1", "p2"}},
		{window: "2026-11-25T02:32Z", records: 1, bytes: 9},
		{window: "2026-11-25T02:40Z"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.window, ":", ""), func(t *testing.T) {
			got, err := agg.Totals(context.Background(), window(tt.window).Add(17*time.Second))
			if err != nil {
				t.Fatalf("Totals: %v", err)
			}
			if got, want := got.Records, tt.records; got != want {
				t.Fatalf("records = %d, want %d", got, want)
			}
			if got, want := got.Bytes, tt.bytes; got != want {
				t.Fatalf("bytes = %d, want %d", got, want)
			}
			if got, want := got.Producers, tt.producers; !reflect.DeepEqual(got, want) {
				t.Fatalf("producers = %v, want %v", got, want)
			}
			if got, want := got.Window, window(tt.window); !got.Equal(want) {
				t.Fatalf("window = %v, want %v", got, want)
			}
		})
	}
	sum, err := agg.TotalsBetween(context.Background(), window("2026-11-25T02:30Z"), window("2026-11-25T02:41Z"))
	if err != nil {
		t.Fatalf("TotalsBetween: %v", err)
	}
	if got, want := sum, (Totals{Window: window("2026-11-25T02:30Z"), Records: 4, Bytes: 49, Producers: []string{"p1", "p2"}, Updated: t0}); !reflect.DeepEqual(got, want) {
		t.Fatalf("TotalsBetween = %+v, want %+v", got, want)
	}
}

// TestExactlyOnce covers the three ways a record id comes back.
func TestExactlyOnce(t *testing.T) {
	w := window("2026-11-25T02:31Z")
	e := func(id string, win time.Time, n int64) Entry {
		return Entry{ID: id, Window: win, Bytes: n, Producer: "p"}
	}
	ctx := context.Background()

	t.Run("SameBatchRedelivered", func(t *testing.T) {
		m := newMemTable()
		agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
		batch := []Entry{e("a", w, 1), e("b", w, 2), e("c", w.Add(time.Minute), 4)}
		for round, want := range []Outcome{Counted, Duplicate, Duplicate} {
			for i, r := range agg.ApplyAll(ctx, batch) {
				if r.Outcome != want || r.Err != nil {
					t.Fatalf("round %d entry %d = %v %v, want %v", round, i, r.Outcome, r.Err, want)
				}
			}
		}
		if got, want := m.summaries()["W#2026-11-25T02:31Z"], "2/3"; got != want {
			t.Fatalf("summary = %s, want %s", got, want)
		}
	})
	t.Run("ResentWithAnotherTime", func(t *testing.T) {
		m := newMemTable()
		agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
		// In one batch, and again in a later batch, with a later event time.
		res := agg.ApplyAll(ctx, []Entry{e("a", w, 1), e("a", w.Add(9*time.Minute), 1)})
		if got, want := []Outcome{res[0].Outcome, res[1].Outcome}, []Outcome{Counted, Duplicate}; !reflect.DeepEqual(got, want) {
			t.Fatalf("outcomes = %v, want %v", got, want)
		}
		counted, err := agg.Apply(ctx, e("a", w.Add(5*time.Minute), 1))
		if err != nil || counted {
			t.Fatalf("Apply resent = %v, %v; want not counted", counted, err)
		}
		if got, want := len(m.summaries()), 1; got != want {
			t.Fatalf("summaries = %v, want only the first window", m.summaries())
		}
	})
	t.Run("LostAcknowledgement", func(t *testing.T) {
		// The transaction commits but the response is lost: the retry meets
		// the markers and counts nothing twice.
		m := newMemTable()
		m.after = func(n int) error {
			if n == 1 {
				return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "TransactWriteItems", Err: &smithy.GenericAPIError{Code: "InternalServerError", Fault: smithy.FaultServer}}
			}
			return nil
		}
		agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
		res := agg.ApplyAll(ctx, []Entry{e("a", w, 1), e("b", w, 2)})
		for i, r := range res {
			if r.Outcome == Failed {
				t.Fatalf("entry %d failed: %v", i, r.Err)
			}
		}
		if got, want := m.summaries()["W#2026-11-25T02:31Z"], "2/3"; got != want {
			t.Fatalf("summary = %s, want %s", got, want)
		}
	})
	t.Run("FailoverThenFailbackMerge", func(t *testing.T) {
		// P counts a, b. B's table is restored from P (it holds a's marker
		// and summary) and then counts b again (the stream replays after
		// failover), c and d. Failback merges B's markers into P.
		p, b := newMemTable(), newMemTable()
		aggP := newTestAggregator(&p.fake, "us-east-1", clock.NewVirtual(t0))
		aggB := newTestAggregator(&b.fake, "us-west-2", clock.NewVirtual(t0.Add(time.Hour)))
		aggP.ApplyAll(ctx, []Entry{e("a", w, 1), e("b", w, 2)})
		aggB.ApplyAll(ctx, []Entry{e("a", w, 1)}) // the restore brought a
		res := aggB.ApplyAll(ctx, []Entry{e("b", w, 2), e("c", w, 4), e("d", w.Add(time.Minute), 8)})
		for i, r := range res {
			if r.Outcome != Counted {
				t.Fatalf("B entry %d = %v, want counted in B", i, r.Outcome)
			}
		}
		var merge []Entry
		for _, item := range b.markers() {
			en, err := MarkerEntry(item)
			if err != nil {
				t.Fatalf("MarkerEntry: %v", err)
			}
			merge = append(merge, en)
		}
		counted := 0
		for _, r := range aggP.ApplyAll(ctx, merge) {
			if r.Outcome == Failed {
				t.Fatalf("merge failed: %v", r.Err)
			}
			if r.Outcome == Counted {
				counted++
			}
		}
		if got, want := counted, 2; got != want {
			t.Fatalf("merge counted %d records, want %d (c and d)", got, want)
		}
		// P now holds every distinct record once.
		want := map[string]string{"W#2026-11-25T02:31Z": "3/7", "W#2026-11-25T02:32Z": "1/8"}
		if got := p.summaries(); !reflect.DeepEqual(got, want) {
			t.Fatalf("P summaries = %v, want %v", got, want)
		}
		// A merged marker keeps the region that counted it.
		got, ok, err := aggP.Marker(ctx, "c")
		if err != nil || !ok {
			t.Fatalf("Marker(c) = %v, %v", ok, err)
		}
		if got, want := got.Region, "us-west-2"; got != want {
			t.Fatalf("merged marker region = %q, want %q", got, want)
		}
		// Merging again changes nothing.
		for _, r := range aggP.ApplyAll(ctx, merge) {
			if r.Outcome != Duplicate {
				t.Fatalf("second merge outcome %v, want duplicate", r.Outcome)
			}
		}
		if got := p.summaries(); !reflect.DeepEqual(got, want) {
			t.Fatalf("P summaries after second merge = %v, want %v", got, want)
		}
	})
}

func TestApplyAllBatching(t *testing.T) {
	w := window("2026-11-25T02:31Z")
	tests := []struct {
		name      string
		n         int
		windows   int
		wantCalls int
	}{
		{name: "OneWindow250", n: 250, windows: 1, wantCalls: 3}, // 99 markers + 1 summary per call
		{name: "TwoWindows98", n: 98, windows: 2, wantCalls: 1},  // 98 + 2
		{name: "TwoWindows99", n: 99, windows: 2, wantCalls: 2},  // 99 + 2 > 100
		{name: "ManyWindows", n: 300, windows: 60, wantCalls: 6}, // round-robin windows: 50 records + 50 summaries per call (chunks stay in stream order)
		{name: "OneRecord", n: 1, windows: 1, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemTable()
			m.before = func(_ int, in *dynamodb.TransactWriteItemsInput) error {
				if n := len(in.TransactItems); n > MaxActions {
					t.Errorf("transaction of %d actions", n)
				}
				return nil
			}
			agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
			es := make([]Entry, tt.n)
			for i := range es {
				es[i] = Entry{ID: fmt.Sprintf("r%04d", i), Window: w.Add(time.Duration(i%tt.windows) * time.Minute), Bytes: 1}
			}
			for i, r := range agg.ApplyAll(context.Background(), es) {
				if r.Outcome != Counted {
					t.Fatalf("entry %d = %v (%v)", i, r.Outcome, r.Err)
				}
			}
			if got, want := m.calls, tt.wantCalls; got != want {
				t.Fatalf("transactions = %d, want %d", got, want)
			}
			var total int64
			for i := 0; i < tt.windows; i++ {
				tot, err := agg.Totals(context.Background(), w.Add(time.Duration(i)*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				total += tot.Records
			}
			if got, want := total, int64(tt.n); got != want {
				t.Fatalf("records counted = %d, want %d", got, want)
			}
		})
	}
}

func cancelled(codes ...string) error {
	rs := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		rs[i] = types.CancellationReason{Code: aws.String(c)}
	}
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "TransactWriteItems", Err: &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: rs}}
}

func TestApplyRetries(t *testing.T) {
	w := window("2026-11-25T02:31Z")
	es := []Entry{{ID: "a", Window: w, Bytes: 1}, {ID: "b", Window: w, Bytes: 2}}
	apiErr := func(code string) error {
		return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "TransactWriteItems", Err: &smithy.GenericAPIError{Code: code}}
	}
	tests := []struct {
		name      string
		fail      func(n int) error // error for call n (1-based), nil to apply
		want      []Outcome
		wantCalls int
		wantSlept bool
		wantKind  fault.Kind
	}{
		{name: "ConflictThenOK", fail: func(n int) error {
			if n <= 2 {
				return cancelled("None", "None", "TransactionConflict")
			}
			return nil
		}, want: []Outcome{Counted, Counted}, wantCalls: 3, wantSlept: true},
		{name: "ThrottledCallThenOK", fail: func(n int) error {
			if n == 1 {
				return apiErr("ProvisionedThroughputExceededException")
			}
			return nil
		}, want: []Outcome{Counted, Counted}, wantCalls: 2, wantSlept: true},
		{name: "ThrottlingReason", fail: func(n int) error {
			if n == 1 {
				return cancelled("ThrottlingError", "None", "None")
			}
			return nil
		}, want: []Outcome{Counted, Counted}, wantCalls: 2, wantSlept: true},
		{name: "AlwaysConflict", fail: func(int) error { return cancelled("None", "None", "TransactionConflict") },
			want: []Outcome{Failed, Failed}, wantCalls: 8, wantSlept: true, wantKind: fault.Transient},
		{name: "AccessDenied", fail: func(int) error { return apiErr("AccessDeniedException") },
			want: []Outcome{Failed, Failed}, wantCalls: 1, wantKind: fault.Permission},
		{name: "SummaryInvalid", fail: func(n int) error {
			if n == 1 {
				return cancelled("None", "None", "ValidationError")
			}
			return nil
		}, want: []Outcome{Failed, Failed}, wantCalls: 1, wantKind: fault.Other},
		{name: "OneMarkerInvalid", fail: func(n int) error {
			if n == 1 {
				return cancelled("ValidationError", "None", "None")
			}
			return nil
		}, want: []Outcome{Failed, Counted}, wantCalls: 2, wantKind: fault.Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemTable()
			m.before = func(n int, _ *dynamodb.TransactWriteItemsInput) error { return tt.fail(n) }
			clk := clock.NewVirtual(t0)
			agg := newTestAggregator(&m.fake, "us-east-1", clk)
			res := agg.ApplyAll(context.Background(), es)
			for i, r := range res {
				if got, want := r.Outcome, tt.want[i]; got != want {
					t.Fatalf("entry %d = %v (%v), want %v", i, got, r.Err, want)
				}
				if r.Outcome == Failed {
					if got, want := fault.Classify(r.Err), tt.wantKind; got != want {
						t.Fatalf("entry %d error %v kind = %v, want %v", i, r.Err, got, want)
					}
				}
			}
			if got, want := m.calls, tt.wantCalls; got != want {
				t.Fatalf("calls = %d, want %d", got, want)
			}
			if got, want := clk.Now().After(t0), tt.wantSlept; got != want {
				t.Fatalf("backed off = %v, want %v", got, want)
			}
		})
	}
}

func TestApplyDuplicateAmongConflicts(t *testing.T) {
	// a is already counted; b's transaction meets a conflict once. a is
	// dropped, b retried and counted.
	w := window("2026-11-25T02:31Z")
	m := newMemTable()
	agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
	if _, err := agg.Apply(context.Background(), Entry{ID: "a", Window: w, Bytes: 1}); err != nil {
		t.Fatal(err)
	}
	m.before = func(n int, in *dynamodb.TransactWriteItemsInput) error {
		if n == 2 {
			return cancelled("ConditionalCheckFailed", "None", "TransactionConflict")
		}
		return nil
	}
	res := agg.ApplyAll(context.Background(), []Entry{{ID: "a", Window: w, Bytes: 1}, {ID: "b", Window: w, Bytes: 2}})
	if got, want := []Outcome{res[0].Outcome, res[1].Outcome}, []Outcome{Duplicate, Counted}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes = %v, want %v", got, want)
	}
	if got, want := m.summaries()["W#2026-11-25T02:31Z"], "2/3"; got != want {
		t.Fatalf("summary = %s, want %s", got, want)
	}
}

func TestHandlerFailures(t *testing.T) {
	ev := loadKinesis(t, "kinesis-batch.json")
	seq := func(n int) string { return fmt.Sprintf("4959%020d", n) }

	t.Run("FirstFailedRecordReported", func(t *testing.T) {
		// Two records per transaction: a1+a2 | a3+"ü/#R 1". Throttling never
		// clears for the second transaction: its first record, a3 (sequence
		// 3), is reported; the first transaction's records stay counted.
		m := newMemTable()
		m.before = func(n int, in *dynamodb.TransactWriteItemsInput) error {
			if n > 1 {
				return &smithy.GenericAPIError{Code: "ThrottlingException"}
			}
			return nil
		}
		agg := New(&m.fake, Options{Table: "aggregates", Region: "us-east-1", Clock: clock.NewVirtual(t0), MaxActions: 3, MaxAttempts: 3})
		var logs bytes.Buffer
		resp, err := NewHandler(agg, slog.New(slog.NewJSONHandler(&logs, nil))).Handle(context.Background(), ev)
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		if got, want := resp.BatchItemFailures, []events.KinesisBatchItemFailure{{ItemIdentifier: seq(3)}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("failures = %v, want %v", got, want)
		}
		if got, want := m.summaries()["W#2026-11-25T02:31Z"], "2/27"; got != want {
			t.Fatalf("summary = %s, want %s", got, want)
		}
		for _, want := range []string{`"failedSequenceNumber":"` + seq(3) + `"`, `"sequenceNumber":"` + seq(5) + `"`, `"sequenceNumber":"` + seq(7) + `"`} {
			if !strings.Contains(logs.String(), want) {
				t.Fatalf("logs lack %s:\n%s", want, logs.String())
			}
		}
		// Lambda retries from sequence 3 once DynamoDB recovers.
		m.before = nil
		retry := events.KinesisEvent{Records: ev.Records[2:]}
		resp, err = NewHandler(agg, quietLog()).Handle(context.Background(), retry)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("retry: %v, %v", resp, err)
		}
		if got, want := m.summaries(), map[string]string{"W#2026-11-25T02:31Z": "3/40", "W#2026-11-25T02:32Z": "1/9"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("summaries = %v, want %v", got, want)
		}
	})
	t.Run("NothingToDo", func(t *testing.T) {
		m := newMemTable()
		agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
		resp, err := NewHandler(agg, quietLog()).Handle(context.Background(), events.KinesisEvent{Records: ev.Records[3:5]}) // canary + garbage
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle: %v, %v", resp, err)
		}
		if got, want := m.calls, 0; got != want {
			t.Fatalf("calls = %d, want %d", got, want)
		}
		if resp.BatchItemFailures == nil {
			t.Fatal("batchItemFailures is null; Lambda expects an empty list")
		}
	})
	t.Run("DeadlinePassed", func(t *testing.T) {
		m := newMemTable()
		agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		resp, err := NewHandler(agg, quietLog()).Handle(ctx, ev)
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		if got, want := resp.BatchItemFailures, []events.KinesisBatchItemFailure{{ItemIdentifier: seq(1)}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("failures = %v, want %v", got, want)
		}
	})
}

func TestMarkerEntry(t *testing.T) {
	m := newMemTable()
	agg := newTestAggregator(&m.fake, "eu-west-1", clock.NewVirtual(t0))
	in := Entry{ID: "x#1", Window: window("2026-11-25T02:31Z"), Bytes: 42, Producer: "p"}
	if _, err := agg.Apply(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	items := m.markers()
	if got, want := len(items), 1; got != want {
		t.Fatalf("markers = %d, want %d", got, want)
	}
	got, err := MarkerEntry(items[0])
	if err != nil {
		t.Fatalf("MarkerEntry: %v", err)
	}
	want := Entry{ID: "x#1", Window: in.Window, Bytes: 42, Producer: "p", Region: "eu-west-1", At: t0, Expires: t0.Add(DefaultMarkerTTL)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MarkerEntry = %+v, want %+v", got, want)
	}
	if got, want := items[0]["expires"].(*types.AttributeValueMemberN).Value, fmt.Sprint(t0.Add(DefaultMarkerTTL).Unix()); got != want {
		t.Fatalf("expires = %s, want %s", got, want)
	}
	if _, ok := items[0]["producer"]; !ok {
		t.Fatal("producer missing")
	}
	if _, ok := items[0]["origin"]; ok {
		t.Fatal("origin written for an entry whose origin is unknown")
	}

	// A record acknowledged in another region keeps its origin: the
	// marker says who acknowledged it, apart from who counted it.
	rec := record.Record{ID: "x#2", TS: t0, Received: t0, Region: "us-east-1", Producer: "p", Data: []byte(`{"a":1}`)}
	if _, err := agg.Apply(context.Background(), EntryOf(rec)); err != nil {
		t.Fatal(err)
	}

	// MarkerProjection reads the whole entry but its regions and hash.
	var full map[string]types.AttributeValue
	for _, it := range m.markers() {
		if it["pk"].(*types.AttributeValueMemberS).Value == "R#x#2" {
			full = it
		}
	}
	whole, err := MarkerEntry(full)
	if err != nil || whole.Hash == "" || whole.Origin == "" {
		t.Fatalf("marker of x#2: %+v, %v", whole, err)
	}
	projected := map[string]types.AttributeValue{}
	names := MarkerProjectionNames()
	for _, a := range strings.Split(MarkerProjection, ", ") {
		if n, ok := names[a]; ok {
			a = n
		}
		if v, ok := full[a]; ok {
			projected[a] = v
		}
	}
	part, err := MarkerEntry(projected)
	whole.Region, whole.Origin, whole.Hash = "", "", ""
	if err != nil || !reflect.DeepEqual(part, whole) {
		t.Fatalf("MarkerEntry of the projected marker = %+v, %v; want %+v", part, err, whole)
	}
	e, ok, err := agg.Marker(context.Background(), "x#2")
	if err != nil || !ok || e.Origin != "us-east-1" || e.Region != "eu-west-1" {
		t.Fatalf("marker of a record acknowledged in us-east-1, counted in eu-west-1: %+v %v %v", e, ok, err)
	}

	bad := []map[string]types.AttributeValue{
		{"pk": &types.AttributeValueMemberS{Value: "W#2026-11-25T02:31Z"}, "sk": &types.AttributeValueMemberS{Value: "SUMMARY"}},
		{"pk": &types.AttributeValueMemberS{Value: "R#a"}, "sk": &types.AttributeValueMemberS{Value: "R"}},
		{"pk": &types.AttributeValueMemberS{Value: "R#a"}, "sk": &types.AttributeValueMemberS{Value: "R"}, "window": &types.AttributeValueMemberS{Value: "2026-11-25T02:31Z"}, "bytes": &types.AttributeValueMemberN{Value: "x"}},
	}
	for i, item := range bad {
		if _, err := MarkerEntry(item); !errors.Is(err, ErrBadMarker) {
			t.Fatalf("bad item %d: error %v, want ErrBadMarker", i, err)
		}
	}
}

func TestApplyWithoutID(t *testing.T) {
	m := newMemTable()
	agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
	_, err := agg.Apply(context.Background(), Entry{Window: t0})
	if !errors.Is(err, ErrNoID) {
		t.Fatalf("Apply error = %v, want ErrNoID", err)
	}
	if got, want := m.calls, 0; got != want {
		t.Fatalf("calls = %d, want %d", got, want)
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantTTL time.Duration
		wantErr []string
	}{
		{name: "Defaults", env: map[string]string{"TABLE_NAME": "aggregates", "AWS_REGION": "us-east-1"}, wantTTL: 7 * 24 * time.Hour},
		{name: "TTL", env: map[string]string{"TABLE_NAME": "aggregates", "AWS_REGION": "us-east-1", "MARKER_TTL_DAYS": "30"}, wantTTL: 30 * 24 * time.Hour},
		{name: "Missing", env: map[string]string{}, wantErr: []string{"TABLE_NAME", "AWS_REGION"}},
		{name: "BadTTL", env: map[string]string{"TABLE_NAME": "t", "AWS_REGION": "r", "MARKER_TTL_DAYS": "0"}, wantErr: []string{"MARKER_TTL_DAYS"}},
		{name: "NotNumber", env: map[string]string{"TABLE_NAME": "t", "AWS_REGION": "r", "MARKER_TTL_DAYS": "7d"}, wantErr: []string{"MARKER_TTL_DAYS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("error %q does not name %s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.MarkerTTL, tt.wantTTL; got != want {
				t.Fatalf("ttl = %v, want %v", got, want)
			}
		})
	}
}

// TestConcurrentShards applies overlapping batches from several goroutines
// (shards, and a producer's resends landing on another shard) while a third
// of the transactions meet TransactionConflict: every id is counted once.
func TestConcurrentShards(t *testing.T) {
	m := newMemTable()
	var conflicts int
	m.before = func(n int, _ *dynamodb.TransactWriteItemsInput) error {
		if n%3 == 0 {
			conflicts++
			return cancelled("TransactionConflict")
		}
		return nil
	}
	agg := New(&m.fake, Options{Table: "aggregates", Region: "us-east-1", BaseBackoff: time.Microsecond, MaxBackoff: 10 * time.Microsecond, MaxAttempts: 50, MaxActions: 10})
	w := window("2026-11-25T02:31Z")
	const shards, perShard = 6, 200
	done := make(chan []Result, shards)
	for s := 0; s < shards; s++ {
		go func() {
			es := make([]Entry, perShard)
			for i := range es {
				// Shard s overlaps shard s-1 on half its ids.
				id := s*perShard/2 + i
				es[i] = Entry{ID: fmt.Sprintf("r%05d", id), Window: w.Add(time.Duration(id%3) * time.Minute), Bytes: 1}
			}
			done <- agg.ApplyAll(context.Background(), es)
		}()
	}
	counted := 0
	for s := 0; s < shards; s++ {
		for _, r := range <-done {
			switch r.Outcome {
			case Failed:
				t.Fatalf("failed: %v", r.Err)
			case Counted:
				counted++
			}
		}
	}
	distinct := (shards + 1) * perShard / 2
	if got, want := counted, distinct; got != want {
		t.Fatalf("counted = %d, want %d distinct ids", got, want)
	}
	var total int64
	for i := 0; i < 3; i++ {
		tot, err := agg.Totals(context.Background(), w.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		total += tot.Records
	}
	if got, want := total, int64(distinct); got != want {
		t.Fatalf("summaries hold %d records, want %d", got, want)
	}
	if conflicts == 0 {
		t.Fatal("no conflict was injected")
	}
}

// TestHandlerEventTime checks which time picks a record's window: ts, else
// received, else the stream's arrival time.
func TestHandlerEventTime(t *testing.T) {
	arrival := events.SecondsEpochTime{Time: time.Date(2026, 11, 25, 2, 50, 30, 0, time.UTC)}
	tests := []struct {
		name string
		data string
		want string
	}{
		{name: "TS", data: `{"id":"a","ts":"2026-11-25T03:59:59.999+01:00","received":"2026-11-25T02:45:00Z","data":{}}`, want: "W#2026-11-25T02:59Z"},
		{name: "Received", data: `{"id":"a","received":"2026-11-25T02:45:00Z","data":{}}`, want: "W#2026-11-25T02:45Z"},
		{name: "Arrival", data: `{"id":"a","data":{}}`, want: "W#2026-11-25T02:50Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemTable()
			h := NewHandler(newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0)), quietLog())
			var r events.KinesisEventRecord
			r.Kinesis.Data = []byte(tt.data + "\n")
			r.Kinesis.SequenceNumber = "1"
			r.Kinesis.ApproximateArrivalTimestamp = arrival
			if _, err := h.Handle(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{r}}); err != nil {
				t.Fatal(err)
			}
			if got, want := m.summaries(), map[string]string{tt.want: "1/2"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("summaries = %v, want %v", got, want)
			}
		})
	}
}

// kinesisEvent returns a batch of one stream record per id, with sequence
// numbers 1, 2, … and every record in the minute 02:31.
func kinesisEvent(ids ...string) events.KinesisEvent {
	var ev events.KinesisEvent
	for i, id := range ids {
		var r events.KinesisEventRecord
		r.Kinesis.Data = []byte(`{"id":"` + id + `","ts":"2026-11-25T02:31:10Z","received":"2026-11-25T02:32:05Z","region":"us-east-1","data":{}}` + "\n")
		r.Kinesis.SequenceNumber = fmt.Sprint(i + 1)
		ev.Records = append(ev.Records, r)
	}
	return ev
}

// logLines decodes the JSON log lines in b.
func logLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range bytes.Lines(b) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// errorSeqs returns the sequence numbers of the error-level log lines with
// message msg.
func errorSeqs(lines []map[string]any, msg string) []string {
	var seqs []string
	for _, l := range lines {
		if l["level"] == "ERROR" && l["msg"] == msg {
			seqs = append(seqs, fmt.Sprint(l["sequenceNumber"]))
		}
	}
	return seqs
}

// TestHandlerSkipsBadIDs checks that a record whose id is empty or longer
// than record.MaxIDBytes is skipped as undecodable, logged with its
// sequence number, and stops nothing: DynamoDB would reject an id beyond
// its 2,048-byte key limit on every retry.
func TestHandlerSkipsBadIDs(t *testing.T) {
	long := strings.Repeat("x", record.MaxIDBytes+1)
	huge := strings.Repeat("y", 3000)
	m := newMemTable()
	agg := New(&m.fake, Options{Table: "aggregates", Region: "us-east-1", Clock: clock.NewVirtual(t0), MaxActions: 3})
	var logs bytes.Buffer
	resp, err := NewHandler(agg, slog.New(slog.NewJSONHandler(&logs, nil))).Handle(context.Background(),
		kinesisEvent("a1", "", long, huge, "a2", strings.Repeat("z", record.MaxIDBytes)))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, want := len(resp.BatchItemFailures), 0; got != want {
		t.Fatalf("failures = %v, want none", resp.BatchItemFailures)
	}
	if got, want := m.summaries(), map[string]string{"W#2026-11-25T02:31Z": "3/6"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("summaries = %v, want %v", got, want)
	}
	if got, want := errorSeqs(logLines(t, logs.Bytes()), "skip undecodable record"), []string{"2", "3", "4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("undecodable logged for sequences %v, want %v\n%s", got, want, logs.String())
	}
	for _, item := range m.markers() {
		if id := item["pk"].(*types.AttributeValueMemberS).Value; len(id) > len(markerPrefix)+record.MaxIDBytes {
			t.Fatalf("marker %.20s… (%d bytes) written", id, len(id))
		}
	}
}

// TestHandlerSkipsInvalidRecord checks that a record DynamoDB rejects as
// invalid (it would be rejected on every retry) is skipped and logged at
// error level with its sequence number, and that the records of its
// transaction and after it are counted: reporting it as the batch item
// failure would drop them all once the retries run out.
func TestHandlerSkipsInvalidRecord(t *testing.T) {
	m := newMemTable()
	m.before = func(_ int, in *dynamodb.TransactWriteItemsInput) error {
		for _, ti := range in.TransactItems {
			if ti.Put != nil && keyOf(ti.Put.Item).pk == "R#poison" {
				return validation("One or more parameter values were invalid")
			}
		}
		return nil
	}
	// Two records per transaction: a1+a2 | poison+a3 | a4+a5.
	agg := New(&m.fake, Options{Table: "aggregates", Region: "us-east-1", Clock: clock.NewVirtual(t0), MaxActions: 3})
	var logs bytes.Buffer
	resp, err := NewHandler(agg, slog.New(slog.NewJSONHandler(&logs, nil))).Handle(context.Background(),
		kinesisEvent("a1", "a2", "poison", "a3", "a4", "a5"))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, want := len(resp.BatchItemFailures), 0; got != want {
		t.Fatalf("failures = %v, want none", resp.BatchItemFailures)
	}
	if got, want := m.summaries(), map[string]string{"W#2026-11-25T02:31Z": "5/10"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("summaries = %v, want %v", got, want)
	}
	lines := logLines(t, logs.Bytes())
	if got, want := errorSeqs(lines, "skip invalid record"), []string{"3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("invalid logged for sequences %v, want %v\n%s", got, want, logs.String())
	}
	last := lines[len(lines)-1]
	if got, want := fmt.Sprint(last["msg"], " counted=", last["counted"], " invalid=", last["invalid"]), "aggregate batch counted=5 invalid=1"; got != want {
		t.Fatalf("summary log = %q, want %q", got, want)
	}
	// Redelivery changes nothing and still reports no failure.
	before := m.dump()
	resp, err = NewHandler(agg, quietLog()).Handle(context.Background(), kinesisEvent("a1", "a2", "poison", "a3", "a4", "a5"))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v, %v", resp, err)
	}
	if !reflect.DeepEqual(m.dump(), before) {
		t.Fatal("redelivery changed the table")
	}
}

// TestApplyAllIsolatesInvalid checks that a transaction DynamoDB rejects
// as a whole for one invalid entry (an id beyond the 2,048-byte key limit)
// fails only that entry: the others of its transaction are counted.
func TestApplyAllIsolatesInvalid(t *testing.T) {
	w := window("2026-11-25T02:31Z")
	es := []Entry{{ID: "a", Window: w, Bytes: 1}, {ID: "b", Window: w, Bytes: 2}, {ID: strings.Repeat("x", 3000), Window: w, Bytes: 4}, {ID: "c", Window: w, Bytes: 8}, {ID: "d", Window: w, Bytes: 16}}
	m := newMemTable()
	agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
	res := agg.ApplyAll(context.Background(), es)
	for i, r := range res {
		want := Counted
		if i == 2 {
			want = Failed
		}
		if got := r.Outcome; got != want {
			t.Fatalf("entry %d = %v (%v), want %v", i, got, r.Err, want)
		}
	}
	if got, want := fault.Classify(res[2].Err), fault.Invalid; got != want {
		t.Fatalf("entry 2 error %v kind = %v, want %v", res[2].Err, got, want)
	}
	if got, want := fault.Code(res[2].Err), "ValidationException"; got != want {
		t.Fatalf("entry 2 code = %q, want %q", got, want)
	}
	if got, want := m.summaries(), map[string]string{"W#2026-11-25T02:31Z": "4/27"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("summaries = %v, want %v", got, want)
	}
}
