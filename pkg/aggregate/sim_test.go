package aggregate

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

var _ DB = (*sim.DynamoDB)(nil)

// simTables returns a world of two regions, each with an aggregates table.
func simTables(t *testing.T) (*sim.World, *clock.Virtual) {
	t.Helper()
	clk := clock.NewVirtual(t0)
	w := sim.NewWorld(clk, "111122223333", "us-east-1", "us-west-2")
	ctx := context.Background()
	for _, region := range w.Regions() {
		_, err := w.Region(region).DynamoDB().CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:   aws.String("aggregates"),
			BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{
				{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
				{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			},
			KeySchema: []ddbtypes.KeySchemaElement{
				{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
				{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
			},
		})
		if err != nil {
			t.Fatalf("create table in %s: %v", region, err)
		}
	}
	_ = clk.Sleep(ctx, time.Minute) // tables become ACTIVE
	return w, clk
}

// TestOnSimulatedDynamoDB runs the golden batch, an outage and a failback
// merge against the simulator, which evaluates the real expressions and
// returns DynamoDB's own cancellation reasons.
func TestOnSimulatedDynamoDB(t *testing.T) {
	w, clk := simTables(t)
	ctx := context.Background()
	ev := loadKinesis(t, "kinesis-batch.json")
	p := New(w.Region("us-east-1").DynamoDB(), Options{Table: "aggregates", Region: "us-east-1", Clock: clk, MaxAttempts: 3})
	b := New(w.Region("us-west-2").DynamoDB(), Options{Table: "aggregates", Region: "us-west-2", Clock: clk, MaxAttempts: 3})

	// P is down: the first record is reported, nothing is counted.
	w.SetDown("us-east-1", true)
	resp, err := NewHandler(p, quietLog()).Handle(ctx, ev)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, want := len(resp.BatchItemFailures), 1; got != want || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].Kinesis.SequenceNumber {
		t.Fatalf("failures = %v, want the first record", resp.BatchItemFailures)
	}
	w.SetDown("us-east-1", false)

	// Lambda retries: everything counted once; a redelivery counts nothing.
	for round := 0; round < 2; round++ {
		resp, err = NewHandler(p, quietLog()).Handle(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("round %d: %v, %v", round, resp, err)
		}
	}
	w31 := window("2026-11-25T02:31Z")
	tot, err := p.Totals(ctx, w31)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tot, (Totals{Window: w31, Records: 3, Bytes: 40, Producers: []string{"p1", "p2"}, Updated: t0.Add(time.Minute)}); !reflect.DeepEqual(got, want) {
		t.Fatalf("P totals = %+v, want %+v", got, want)
	}

	// Failover: B counts a2 again (replayed) and e1 (new). Failback merges
	// B's markers into P.
	for _, e := range []Entry{{ID: "a2", Window: w31, Bytes: 20, Producer: "p2"}, {ID: "e1", Window: w31, Bytes: 5, Producer: "p3"}} {
		if counted, err := b.Apply(ctx, e); err != nil || !counted {
			t.Fatalf("B Apply %s = %v, %v", e.ID, counted, err)
		}
	}
	var merge []Entry
	for _, id := range []string{"a2", "e1"} {
		e, ok, err := b.Marker(ctx, id)
		if err != nil || !ok {
			t.Fatalf("B marker %s: %v, %v", id, ok, err)
		}
		merge = append(merge, e)
	}
	res := p.ApplyAll(ctx, merge)
	if got, want := []Outcome{res[0].Outcome, res[1].Outcome}, []Outcome{Duplicate, Counted}; !reflect.DeepEqual(got, want) {
		t.Fatalf("merge outcomes = %v (%v %v), want %v", got, res[0].Err, res[1].Err, want)
	}
	tot, err = p.Totals(ctx, w31)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := [2]int64{tot.Records, tot.Bytes}, [2]int64{4, 45}; got != want {
		t.Fatalf("P after merge = %v, want %v", got, want)
	}
	if got, want := tot.Producers, []string{"p1", "p2", "p3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("producers = %v, want %v", got, want)
	}
}

var _ sim.KinesisHandler = (&Handler{}).Handle

// TestEndToEndOnSimulator streams records, resends and canaries through a
// simulated Kinesis stream and event-source mapping into the handler, while
// DynamoDB throttles the first transactions: the mapping redelivers, and the
// windows end up holding every distinct non-canary record exactly once.
func TestEndToEndOnSimulator(t *testing.T) {
	w, clk := simTables(t)
	ctx := context.Background()
	region := w.Region("us-east-1")
	k := region.Kinesis()
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("records"),
		StreamModeDetails: &kinesistypes.StreamModeDetails{StreamMode: kinesistypes.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, time.Minute)

	const n = 300
	start := t0.Add(time.Minute)
	var entries []kinesistypes.PutRecordsRequestEntry
	wantRecords := map[string]int64{}
	for i := 0; i < n; i++ {
		rec := record.Record{ID: fmt.Sprintf("id-%03d", i), TS: start.Add(time.Duration(i) * time.Second), Received: start,
			Region: "us-east-1", Producer: fmt.Sprintf("p%d", i%4), Data: json.RawMessage(`{"n":1}`)}
		if i%30 == 0 {
			rec.Canary = true
		} else {
			wantRecords["W#"+rec.TS.UTC().Truncate(time.Minute).Format(WindowLayout)]++
		}
		line, _ := json.Marshal(rec)
		entries = append(entries, kinesistypes.PutRecordsRequestEntry{PartitionKey: aws.String(rec.Producer), Data: append(line, '\n')})
		if i%10 == 5 { // a resend after a lost acknowledgement, arriving later
			rec.Received = rec.Received.Add(time.Minute)
			line, _ := json.Marshal(rec)
			entries = append(entries, kinesistypes.PutRecordsRequestEntry{PartitionKey: aws.String("resend"), Data: append(line, '\n')})
		}
	}
	for i := 0; i < len(entries); i += 500 {
		out, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("records"), Records: entries[i:min(i+500, len(entries))]})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v", err)
		}
	}
	w.Inject(&sim.Fault{Region: "us-east-1", Service: "DynamoDB", Operation: "TransactWriteItems",
		Err: &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "throttled"}, Times: 12})

	agg := New(region.DynamoDB(), Options{Table: "aggregates", Region: "us-east-1", Clock: clk, MaxAttempts: 3})
	esm := k.NewEventSourceMapping(sim.KinesisESMConfig{Stream: "records", BatchSize: 25}, NewHandler(agg, quietLog()).Handle)
	rctx, cancel := context.WithCancel(ctx)
	done := clk.Go(func() { _ = esm.Run(rctx) })
	_ = clk.Sleep(ctx, 5*time.Minute)
	cancel()
	_ = clk.Await(ctx, done, 0)

	if st := esm.Stats(); st.Failures == 0 {
		t.Fatalf("stats %+v: the throttling never failed a batch, the test proves less than it claims", st)
	}
	got := map[string]int64{}
	for m := 0; m < 6; m++ {
		win := start.Add(time.Duration(m) * time.Minute)
		tot, err := agg.Totals(ctx, win)
		if err != nil {
			t.Fatal(err)
		}
		if tot.Records > 0 {
			got["W#"+win.Format(WindowLayout)] = tot.Records
		}
	}
	if !reflect.DeepEqual(got, wantRecords) {
		t.Fatalf("windows = %v, want %v", got, wantRecords)
	}
}
