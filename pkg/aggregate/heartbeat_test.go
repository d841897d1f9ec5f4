package aggregate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

var _ HeartbeatDB = (*sim.DynamoDB)(nil)

// streamEvent builds a batch of records and canaries: "c:<id>@<received>"
// is a canary accepted at t0+received, anything else a producer record.
func streamEvent(t *testing.T, entries ...string) events.KinesisEvent {
	t.Helper()
	var ev events.KinesisEvent
	for i, e := range entries {
		var r events.KinesisEventRecord
		if rest, ok := strings.CutPrefix(e, "c:"); ok {
			id, off, _ := strings.Cut(rest, "@")
			d, err := time.ParseDuration(off)
			if err != nil {
				t.Fatalf("entry %q: %v", e, err)
			}
			r.Kinesis.Data = fmt.Appendf(nil, `{"id":%q,"canary":true,"ts":%q,"received":%q,"region":"us-east-1","data":{"id":%q,"canary":true}}`+"\n",
				id, t0.Add(d).Format(time.RFC3339Nano), t0.Add(d).Format(time.RFC3339Nano), id)
		} else {
			r.Kinesis.Data = []byte(`{"id":"` + e + `","ts":"2026-11-25T02:31:10Z","received":"2026-11-25T02:32:05Z","region":"us-east-1","data":{}}` + "\n")
		}
		r.Kinesis.SequenceNumber = fmt.Sprint(100 + i)
		ev.Records = append(ev.Records, r)
	}
	return ev
}

// heartbeat reads the table's heartbeat; ok is false when there is none.
func heartbeat(t *testing.T, db *sim.DynamoDB) (Heartbeat, bool) {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("aggregates"), Key: HeartbeatKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem heartbeat: %v", err)
	}
	if out.Item == nil {
		return Heartbeat{}, false
	}
	hb, err := ParseHeartbeat(out.Item)
	if err != nil {
		t.Fatalf("ParseHeartbeat(%v): %v", out.Item, err)
	}
	return hb, true
}

// TestHandlerHeartbeat: on the simulator's DynamoDB (the real condition
// and update expressions), the heartbeat follows the newest canary the
// consumer got past, never one behind a record it could not apply, and
// never moves back.
func TestHandlerHeartbeat(t *testing.T) {
	w, clk := simTables(t)
	ctx := context.Background()
	db := w.Region("us-east-1").DynamoDB()
	agg := New(db, Options{Table: "aggregates", Region: "us-east-1", Clock: clk, MaxAttempts: 2})
	var logs bytes.Buffer
	h := NewHandler(agg, slog.New(slog.NewJSONHandler(&logs, nil))).WithHeartbeat(db)
	handle := func(ev events.KinesisEvent) events.KinesisEventResponse {
		t.Helper()
		resp, err := h.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		return resp
	}

	if _, ok := heartbeat(t, db); ok {
		t.Fatal("a heartbeat before any canary")
	}
	// The newest canary of a batch that went through.
	if resp := handle(streamEvent(t, "a1", "c:canary-1@10s", "a2", "c:canary-2@70s")); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", resp.BatchItemFailures)
	}
	hb, ok := heartbeat(t, db)
	if !ok || hb.ID != "canary-2" || !hb.Received.Equal(t0.Add(70*time.Second)) || hb.Region != "us-east-1" || !hb.At.Equal(clk.Now().Truncate(time.Second)) {
		t.Fatalf("heartbeat %+v, %v; want canary-2 accepted at %s", hb, ok, t0.Add(70*time.Second))
	}
	// An older canary (another shard, behind) does not move it back.
	handle(streamEvent(t, "c:canary-0@5s"))
	if hb, _ := heartbeat(t, db); hb.ID != "canary-2" {
		t.Fatalf("heartbeat moved back to %s", hb.ID)
	}

	// The consumer's writes fail: a canary before the failing record was
	// got past; one after it waits for the retry.
	fault := &sim.Fault{Region: "us-east-1", Service: "DynamoDB", Operation: "TransactWriteItems", Err: &ddbtypes.InternalServerError{Message: aws.String("Internal server error")}}
	w.Inject(fault)
	ev := streamEvent(t, "c:canary-3@130s", "a3", "c:canary-4@190s", "a4")
	resp := handle(ev)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[1].Kinesis.SequenceNumber {
		t.Fatalf("failures %v, want a3's", resp.BatchItemFailures)
	}
	if hb, _ := heartbeat(t, db); hb.ID != "canary-3" {
		t.Fatalf("heartbeat %s during the fault, want canary-3 (before the failing record)", hb.ID)
	}
	// Retried from a3 while the fault lasts: the heartbeat stays behind.
	retry := events.KinesisEvent{Records: ev.Records[1:]}
	handle(retry)
	if hb, _ := heartbeat(t, db); hb.ID != "canary-3" {
		t.Fatalf("heartbeat %s while a3 fails, want canary-3", hb.ID)
	}
	w.ClearFaults()
	if resp := handle(retry); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v after the fault", resp.BatchItemFailures)
	}
	if hb, _ := heartbeat(t, db); hb.ID != "canary-4" {
		t.Fatalf("heartbeat %s after the retry, want canary-4", hb.ID)
	}

	// A heartbeat that cannot be written is logged; the records still count.
	w.Inject(&sim.Fault{Region: "us-east-1", Service: "DynamoDB", Operation: "UpdateItem", Err: sim.ThrottlingError()})
	logs.Reset()
	if resp := handle(streamEvent(t, "a5", "c:canary-5@250s")); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v: a heartbeat failure must not fail the batch", resp.BatchItemFailures)
	}
	w.ClearFaults()
	if _, ok, err := agg.Marker(ctx, "a5"); err != nil || !ok {
		t.Fatalf("a5 not counted: %v, %v", ok, err)
	}
	if hb, _ := heartbeat(t, db); hb.ID != "canary-4" {
		t.Fatalf("heartbeat %s, want canary-4 (the update failed)", hb.ID)
	}
	if !strings.Contains(logs.String(), `"msg":"canary heartbeat not recorded"`) || !strings.Contains(logs.String(), "canary-5") {
		t.Fatalf("no warning naming canary-5 in %s", logs.String())
	}

	// Canaries are never counted.
	tot, err := agg.Totals(ctx, window("2026-11-25T02:31Z"))
	if err != nil || tot.Records != 5 {
		t.Fatalf("window totals %+v, %v; want the 5 records a1..a5", tot, err)
	}
}

func TestParseHeartbeat(t *testing.T) {
	good := map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "C#heartbeat"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "C"},
		"received": &ddbtypes.AttributeValueMemberN{Value: "1795487580123"}, "id": &ddbtypes.AttributeValueMemberS{Value: "canary-us-east-2-1795487580"},
		"region": &ddbtypes.AttributeValueMemberS{Value: "us-east-1"}, "at": &ddbtypes.AttributeValueMemberS{Value: "2026-11-25T02:33:01Z"},
	}
	hb, err := ParseHeartbeat(good)
	if err != nil || !hb.Received.Equal(time.UnixMilli(1795487580123)) || hb.ID != "canary-us-east-2-1795487580" || hb.Region != "us-east-1" {
		t.Fatalf("ParseHeartbeat = %+v, %v", hb, err)
	}
	for name, item := range map[string]map[string]ddbtypes.AttributeValue{
		"marker":     {"pk": &ddbtypes.AttributeValueMemberS{Value: "R#a1"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "R"}, "received": good["received"]},
		"noReceived": {"pk": good["pk"], "sk": good["sk"]},
		"badNumber":  {"pk": good["pk"], "sk": good["sk"], "received": &ddbtypes.AttributeValueMemberN{Value: "soon"}},
	} {
		if _, err := ParseHeartbeat(item); !errors.Is(err, ErrBadHeartbeat) {
			t.Errorf("%s: err %v, want ErrBadHeartbeat", name, err)
		}
	}
}
