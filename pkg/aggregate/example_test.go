package aggregate

import (
	"context"
	"fmt"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// The failback merge re-applies the backup region's markers to the primary's
// table: records the primary counted already are dropped.
func ExampleAggregator_ApplyAll() {
	primary := newMemTable() // in the cloud: a *dynamodb.Client for the primary region
	agg := New(&primary.fake, Options{Table: "aggregates", Region: "us-east-1", Clock: clock.NewVirtual(t0)})
	w := time.Date(2026, 11, 25, 2, 31, 0, 0, time.UTC)
	ctx := context.Background()
	agg.Apply(ctx, Entry{ID: "a", Window: w, Bytes: 10, Producer: "p1"})

	// Markers read from the backup region's table (MarkerEntry of each item).
	fromBackup := []Entry{
		{ID: "a", Window: w, Bytes: 10, Producer: "p1", Region: "us-west-2"},
		{ID: "b", Window: w, Bytes: 5, Producer: "p2", Region: "us-west-2"},
	}
	for i, r := range agg.ApplyAll(ctx, fromBackup) {
		fmt.Println(fromBackup[i].ID, r.Outcome)
	}
	tot, _ := agg.Totals(ctx, w)
	fmt.Println(tot.Records, tot.Bytes, tot.Producers)
	// Output:
	// a duplicate
	// b counted
	// 2 15 [p1 p2]
}
