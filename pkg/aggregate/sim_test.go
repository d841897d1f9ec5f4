package aggregate

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
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
