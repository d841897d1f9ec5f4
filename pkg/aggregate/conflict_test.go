package aggregate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

// TestConflictOutcomes: a record whose id is counted is a Duplicate when it
// has the counted content (or either hash is unknown) and a Conflict when it
// has another; either way nothing more is counted. A conflict is recorded
// in a conflict item naming both hashes; applying it again overwrites that
// item, adding nothing.
func TestConflictOutcomes(t *testing.T) {
	w := window("2026-11-25T02:31Z")
	m := newMemTable()
	agg := newTestAggregator(&m.fake, "us-west-2", clock.NewVirtual(t0))
	ctx := context.Background()
	hA, hB := record.ContentHash([]byte(`{"v":1}`)), record.ContentHash([]byte(`{"v":2}`))
	first := Entry{ID: "x", Window: w, Bytes: 7, Producer: "p1", Hash: hA}
	for _, tt := range []struct {
		name string
		e    Entry
		want Outcome
		kept string
	}{
		{"First", first, Counted, ""},
		{"SameContent", first, Duplicate, hA},
		{"OtherContent", Entry{ID: "x", Window: w, Bytes: 9, Producer: "p2", Hash: hB}, Conflict, hA},
		{"OtherContentAgain", Entry{ID: "x", Window: w, Bytes: 9, Producer: "p2", Hash: hB}, Conflict, hA},
		{"UnknownContent", Entry{ID: "x", Window: w, Bytes: 9}, Duplicate, hA},
	} {
		res := agg.ApplyAll(ctx, []Entry{tt.e})[0]
		if res.Outcome != tt.want || res.Kept != tt.kept || res.Err != nil {
			t.Fatalf("%s: %v (kept %q, %v), want %v (kept %q)", tt.name, res.Outcome, res.Kept, res.Err, tt.want, tt.kept)
		}
	}
	if got, want := m.summaries()["W#2026-11-25T02:31Z"], "1/7"; got != want {
		t.Fatalf("summary = %s, want %s: only the first content counted", got, want)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	marker := m.items[itemKey{"R#x", "R"}]
	if got := marker[AttrHash].(*ddbtypes.AttributeValueMemberS).Value; got != hA {
		t.Fatalf("marker hash %s, want %s", got, hA)
	}
	var conflicts []string
	for k, it := range m.items {
		if strings.HasPrefix(k.pk, ConflictPrefix) {
			conflicts = append(conflicts, fmt.Sprintf("%s %s kept=%s region=%s bytes=%s producer=%s", k.pk, k.sk,
				it[AttrKept].(*ddbtypes.AttributeValueMemberS).Value, it["region"].(*ddbtypes.AttributeValueMemberS).Value,
				it["bytes"].(*ddbtypes.AttributeValueMemberN).Value, it["producer"].(*ddbtypes.AttributeValueMemberS).Value))
			if it["expires"] == nil || it["at"] == nil || it["window"] == nil {
				t.Errorf("conflict item %v lacks expires, at or window", it)
			}
		}
	}
	if want := []string{"X#x " + hB + " kept=" + hA + " region=us-west-2 bytes=9 producer=p2"}; !reflect.DeepEqual(conflicts, want) {
		t.Fatalf("conflict items %q, want %q", conflicts, want)
	}
}

// TestConflictWithinOneCall: the same id twice in one call, with other
// content: the first is counted, the second is a Conflict (as a merge page
// or a replayed object could hold); with the same content, a Duplicate.
func TestConflictWithinOneCall(t *testing.T) {
	w := window("2026-11-25T02:31Z")
	m := newMemTable()
	agg := newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0))
	hA, hB := record.ContentHash([]byte(`{"v":1}`)), record.ContentHash([]byte(`{"v":2}`))
	res := agg.ApplyAll(context.Background(), []Entry{
		{ID: "y", Window: w, Bytes: 1, Hash: hA}, {ID: "y", Window: w, Bytes: 1, Hash: hA}, {ID: "y", Window: w, Bytes: 2, Hash: hB},
	})
	if got, want := []Outcome{res[0].Outcome, res[1].Outcome, res[2].Outcome}, []Outcome{Counted, Duplicate, Conflict}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if res[2].Kept != hA {
		t.Fatalf("kept %q, want %q", res[2].Kept, hA)
	}
	// Counted earlier, then twice in one call: each against the marker.
	res = agg.ApplyAll(context.Background(), []Entry{{ID: "y", Window: w, Bytes: 2, Hash: hB}, {ID: "y", Window: w, Bytes: 1, Hash: hA}})
	if got, want := []Outcome{res[0].Outcome, res[1].Outcome}, []Outcome{Conflict, Duplicate}; !reflect.DeepEqual(got, want) {
		t.Fatalf("against the marker: outcomes %v, want %v", got, want)
	}
}

// TestConflictItemNotWritten: when the conflict item cannot be written the
// entry is Failed, never silently dropped; once the table takes writes
// again, applying it again records it.
func TestConflictItemNotWritten(t *testing.T) {
	w := window("2026-11-25T02:31Z")
	m := newMemTable()
	agg := New(&m.fake, Options{Table: "aggregates", Region: "us-east-1", Clock: clock.NewVirtual(t0), MaxAttempts: 2})
	ctx := context.Background()
	hA, hB := record.ContentHash([]byte(`{"v":1}`)), record.ContentHash([]byte(`{"v":2}`))
	if _, err := agg.Apply(ctx, Entry{ID: "z", Window: w, Bytes: 1, Hash: hA}); err != nil {
		t.Fatal(err)
	}
	m.beforePut = func(*dynamodb.PutItemInput) error {
		return &ddbtypes.InternalServerError{Message: aws.String("Internal server error")}
	}
	res := agg.ApplyAll(ctx, []Entry{{ID: "z", Window: w, Bytes: 2, Hash: hB}})[0]
	var ise *ddbtypes.InternalServerError
	if res.Outcome != Failed || !errors.As(res.Err, &ise) {
		t.Fatalf("outcome %v, %v: want Failed with the write's error", res.Outcome, res.Err)
	}
	m.beforePut = nil
	if res := agg.ApplyAll(ctx, []Entry{{ID: "z", Window: w, Bytes: 2, Hash: hB}})[0]; res.Outcome != Conflict {
		t.Fatalf("retry: %v, %v, want Conflict", res.Outcome, res.Err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[itemKey{"X#z", hB}]; !ok {
		t.Fatalf("no conflict item after the retry")
	}
}

// TestHandlerConflicts: the consumer does not count a conflicting record,
// does not retry it (no batch item failure), logs it at error level naming
// the id and both hashes, and emits the RecordConflicts metric.
func TestHandlerConflicts(t *testing.T) {
	m := newMemTable()
	clk := clock.NewVirtual(t0)
	agg := newTestAggregator(&m.fake, "us-east-2", clk)
	rec := func(id, data string, seq int) events.KinesisEventRecord {
		var r events.KinesisEventRecord
		r.Kinesis.Data = []byte(`{"id":"` + id + `","ts":"2026-11-25T02:31:10Z","received":"2026-11-25T02:32:05Z","region":"us-east-2","data":` + data + `}` + "\n")
		r.Kinesis.SequenceNumber = fmt.Sprint(seq)
		return r
	}
	var logs, metrics bytes.Buffer
	h := NewHandler(agg, slog.New(slog.NewJSONHandler(&logs, nil))).WithMetrics(&metrics)
	// P counted k1 as {"v":1} (a restored marker); B's ingest accepted k1
	// as {"v":2}, and k2.
	if _, err := agg.Apply(context.Background(), Entry{ID: "k1", Window: window("2026-11-25T02:31Z"), Bytes: 7, Hash: record.ContentHash([]byte(`{"v":1}`)), Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	resp, err := h.Handle(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{rec("k1", `{"v":2}`, 1), rec("k2", `{"v":3}`, 2)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %v, %v: want no failures", resp, err)
	}
	if got, want := m.summaries()["W#2026-11-25T02:31Z"], "2/14"; got != want {
		t.Fatalf("summary %s, want %s (k1's first content and k2)", got, want)
	}
	var found bool
	for _, l := range logLines(t, logs.Bytes()) {
		if l["level"] == "ERROR" && l["id"] == "k1" && l["hash"] == record.ContentHash([]byte(`{"v":2}`)) && l["countedHash"] == record.ContentHash([]byte(`{"v":1}`)) {
			found = true
		}
		if l["msg"] == "aggregate batch" && l["conflicts"] != float64(1) {
			t.Errorf("batch log %v: want conflicts 1", l)
		}
	}
	if !found {
		t.Fatalf("no error log for the conflict in %s", logs.String())
	}
	var emf map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &emf); err != nil {
		t.Fatalf("metrics %q: %v", metrics.String(), err)
	}
	if emf[MetricConflicts] != float64(1) || emf["Region"] != "us-east-2" || !strings.Contains(metrics.String(), `"Namespace":"`+MetricNamespace+`"`) {
		t.Fatalf("metrics %s", metrics.String())
	}
	// A batch without conflicts emits no metric line.
	metrics.Reset()
	if _, err := h.Handle(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{rec("k3", `{}`, 3)}}); err != nil {
		t.Fatal(err)
	}
	if metrics.Len() != 0 {
		t.Fatalf("metrics %q for a batch without conflicts", metrics.String())
	}
}

// TestConflictOnSimulatedDynamoDB: across regions, as failback's merge
// meets it: B counted an id P had counted with other content. The marker
// B's table gives back (MarkerEntry) carries its hash; applied to P, whose
// transaction returns the old marker (ALL_OLD in the cancellation reason),
// it is a Conflict, recorded in P's table, and P's count is unchanged.
func TestConflictOnSimulatedDynamoDB(t *testing.T) {
	w, clk := simTables(t)
	ctx := context.Background()
	p := New(w.Region("us-east-1").DynamoDB(), Options{Table: "aggregates", Region: "us-east-1", Clock: clk})
	b := New(w.Region("us-west-2").DynamoDB(), Options{Table: "aggregates", Region: "us-west-2", Clock: clk})
	w31 := window("2026-11-25T02:31Z")
	hP, hB := record.ContentHash([]byte(`{"v":"p"}`)), record.ContentHash([]byte(`{"v":"b"}`))
	if _, err := p.Apply(ctx, Entry{ID: "m1", Window: w31, Bytes: 9, Hash: hP}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Apply(ctx, Entry{ID: "m1", Window: w31, Bytes: 9, Hash: hB}); err != nil {
		t.Fatal(err)
	}
	e, ok, err := b.Marker(ctx, "m1")
	if err != nil || !ok || e.Hash != hB {
		t.Fatalf("B's marker %+v, %v, %v: want its hash %s", e, ok, err, hB)
	}
	res := p.ApplyAll(ctx, []Entry{e, {ID: "m1", Window: w31, Bytes: 9, Hash: hP}})
	if res[0].Outcome != Conflict || res[0].Kept != hP || res[1].Outcome != Duplicate {
		t.Fatalf("outcomes %+v, want Conflict (kept %s) and Duplicate", res, hP)
	}
	got, err := w.Region("us-east-1").DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("aggregates"),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: ConflictPrefix + "m1"}, "sk": &ddbtypes.AttributeValueMemberS{Value: hB}}})
	if err != nil || got.Item == nil {
		t.Fatalf("conflict item in P: %v, %v", got, err)
	}
	if k := got.Item[AttrKept].(*ddbtypes.AttributeValueMemberS).Value; k != hP || got.Item["region"].(*ddbtypes.AttributeValueMemberS).Value != "us-west-2" {
		t.Fatalf("conflict item %v: want kept %s, region us-west-2 (where the record not counted was counted)", got.Item, hP)
	}
	if tot, err := p.Totals(ctx, w31); err != nil || tot.Records != 1 || tot.Bytes != 9 {
		t.Fatalf("P totals %+v, %v: want the first record only", tot, err)
	}
}
