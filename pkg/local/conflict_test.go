package local

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/ingest"
	"github.com/pendulum-dr/pendulum/pkg/producer"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

// TestConflictAcrossRequests, through the deployed installation: a producer
// resends, in a later request, an id P's ingest acknowledged with other
// content. Ingest answers it as a conflict (its idempotency table, deployed
// from the workload template, holds the first content); the producer sets
// it aside; the first content sent again is acknowledged again. Then the
// drill's accounting: every acknowledged record is counted in P's
// aggregates with the content that was acknowledged — nothing acknowledged
// was dropped — and no conflict reached the consumer. B's dormant stack has
// its own table already, and no call was denied.
func TestConflictAcrossRequests(t *testing.T) {
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	P, B := l.Regions.Primary, l.Regions.Backup
	ctx := context.Background()
	acked := map[string]string{} // id → content hash of what was acknowledged
	p, err := producer.Open(producer.Config{Dir: t.TempDir(), Endpoint: "http://" + l.AcceleratorDNS, Client: l.HTTPClient(),
		Clock: l.Clock, Name: "orders", NoSync: true,
		OnAck: func(ids []string, records [][]byte) {
			for i, id := range ids {
				if h, ok := acked[id]; ok && h != record.ContentHash(records[i]) {
					t.Errorf("%s acknowledged with %s, then with other content %s", id, h, records[i])
				}
				acked[id] = record.ContentHash(records[i])
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(recs ...string) {
		t.Helper()
		for _, r := range recs {
			if _, err := p.Produce(ctx, []byte(r)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Send(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const first = `{"id":"order-1","ts":"2026-11-25T03:00:00Z","qty":1}`
	send(first, `{"id":"order-2","ts":"2026-11-25T03:00:00Z","qty":1}`)
	if err := l.Sleep(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	send(`{"id":"order-1","ts":"2026-11-25T03:00:00Z","qty":2}`, `{"id":"order-3","ts":"2026-11-25T03:00:00Z","qty":1}`)
	if s := p.Stats(); s.Acknowledged != 3 || s.Conflicts != 1 || s.Rejected != 1 || s.Pending != 0 {
		t.Fatalf("stats %+v: want order-1, -2, -3 acknowledged and order-1's other content refused as a conflict", s)
	}
	send(first) // a redelivery: acknowledged again
	if s := p.Stats(); s.Acknowledged != 4 || s.Conflicts != 1 {
		t.Fatalf("stats %+v: want the first content acknowledged again", s)
	}
	if err := l.Sleep(ctx, 5*time.Minute); err != nil {
		t.Fatal(err)
	}

	// The accounting, as the drill's.
	agg := aggregate.New(l.World.Region(P).DynamoDB(), aggregate.Options{Table: l.Names.AggregatesTable(), Region: P, Clock: l.Clock})
	for id, h := range acked {
		e, ok, err := agg.Marker(ctx, id)
		if err != nil || !ok {
			t.Fatalf("%s acknowledged, not counted in %s: %v", id, P, err)
		}
		if e.Hash != h {
			t.Fatalf("%s acknowledged with content %s, counted with %s: acknowledged, then dropped", id, h, e.Hash)
		}
	}
	if len(acked) != 3 {
		t.Fatalf("acknowledged ids %v, want 3", acked)
	}
	out, err := l.World.Region(P).DynamoDB().Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(l.Names.AggregatesTable()),
		FilterExpression:          aws.String("begins_with(pk, :x)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":x": &ddbtypes.AttributeValueMemberS{Value: aggregate.ConflictPrefix}}})
	if err != nil || len(out.Items) != 0 {
		t.Fatalf("conflict items in %s: %v, %v; want none (ingest refused the conflict)", P, out, err)
	}

	// What ingest holds: order-1 with the first content.
	ids := func(region string) *dynamodb.GetItemOutput {
		t.Helper()
		got, err := l.World.Region(region).DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.Names.IdempotencyTable()),
			Key: map[string]ddbtypes.AttributeValue{ingest.IdempotencyKey: &ddbtypes.AttributeValueMemberS{Value: "order-1"}}})
		if err != nil {
			t.Fatalf("%s's idempotency table: %v", region, err)
		}
		return got
	}
	if got := ids(P); got.Item == nil || got.Item[ingest.IdempotencyHash].(*ddbtypes.AttributeValueMemberS).Value != acked["order-1"] {
		t.Fatalf("%s holds order-1 as %v, want its first content %s", P, got.Item, acked["order-1"])
	}
	// B's table exists while B is dormant, and knows nothing of P's ids:
	// across a failover only the consumer can catch a conflict.
	if got := ids(B); got.Item != nil {
		t.Fatalf("%s holds %v", B, got.Item)
	}
	if d := l.Denied(); len(d) > 0 {
		var calls []string
		for _, c := range d {
			calls = append(calls, c.Principal+" "+c.Action+" "+c.Resource)
		}
		t.Fatalf("denied: %s", strings.Join(calls, "; "))
	}
}
