package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// ddbTTLTable is the aggregates-like table pk (S) + sk (N) in region P with
// TTL on attribute "expires".
func ddbTTLTable(t *testing.T) (*World, *clock.Virtual, *DynamoDB) {
	t.Helper()
	w, clk := s3TestWorld(t)
	c := ddbTestTable(t, w, clk, "agg")
	ddbEnableTTL(t, c, "agg", true)
	return w, clk, c
}

func ddbEnableTTL(t *testing.T, c *DynamoDB, table string, on bool) {
	t.Helper()
	if _, err := c.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(on)}}); err != nil {
		t.Fatal(err)
	}
}

func ddbPutTTL(t *testing.T, c *DynamoDB, table string, sk int, expires ddbAV) {
	t.Helper()
	item := ddbItem{"pk": ddbS("p"), "sk": ddbN(strconv.Itoa(sk))}
	if expires != nil {
		item["expires"] = expires
	}
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func ddbEpoch(at time.Time) ddbAV { return ddbN(strconv.FormatInt(at.Unix(), 10)) }

// ddbHas reads item sk with a strongly consistent GetItem, unmetered: the
// read takes no virtual time, so it sees the table at the instant it is made.
func ddbHas(t *testing.T, c *DynamoDB, table string, sk int) bool {
	t.Helper()
	out, err := c.GetItem(Unmetered(context.Background()), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: ddbItem{"pk": ddbS("p"), "sk": ddbN(strconv.Itoa(sk))}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item != nil
}

// ddbScanSKs scans the table's sort keys.
func ddbScanSKs(t *testing.T, c *DynamoDB, table string) map[string]bool {
	t.Helper()
	out, err := c.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, sk := range ddbSKs(out.Items) {
		got[sk] = true
	}
	return got
}

// An expired item stays readable (GetItem, Query, Scan) until the
// background deletion, which comes within the window after the expiry; an
// item that has not expired, one whose TTL attribute is not a Number, one
// without it and one whose value is more than five years old are never
// deleted.
func TestDynamoDBTTLDeletesExpiredItemsWithinTheWindow(t *testing.T) {
	w, clk, c := ddbTTLTable(t)
	ctx := context.Background()
	now := clk.Now()
	expiry := now.Add(time.Hour)
	for sk := 0; sk < 20; sk++ {
		ddbPutTTL(t, c, "agg", sk, ddbEpoch(expiry))
	}
	ddbPutTTL(t, c, "agg", 100, ddbEpoch(now.Add(30*24*time.Hour))) // far future
	ddbPutTTL(t, c, "agg", 101, ddbS(strconv.FormatInt(now.Unix(), 10)))
	ddbPutTTL(t, c, "agg", 102, nil)
	ddbPutTTL(t, c, "agg", 103, ddbEpoch(now.Add(-6*365*24*time.Hour)))

	_ = clk.Sleep(ctx, time.Hour+time.Second) // expired, not yet deleted by the window's start
	q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("agg"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": ddbS("p")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Items) != 24 {
		t.Fatalf("a second after expiry Query returns %d items, want all 24 (expired items stay readable until deleted)", len(q.Items))
	}
	deletedAt := map[int]time.Time{}
	for end := expiry.Add(DefaultTTLDeletionWindow + 2*ddbTTLSweep); clk.Now().Before(end); {
		_ = clk.Sleep(ctx, 10*time.Minute)
		for sk := 0; sk < 20; sk++ {
			if _, done := deletedAt[sk]; !done && !ddbHas(t, c, "agg", sk) {
				deletedAt[sk] = clk.Now()
			}
		}
	}
	distinct := map[time.Time]bool{}
	for sk := 0; sk < 20; sk++ {
		at, ok := deletedAt[sk]
		switch {
		case !ok:
			t.Fatalf("item %d expired at %s still there %s later", sk, expiry, DefaultTTLDeletionWindow+2*ddbTTLSweep)
		case !at.After(expiry) || at.After(expiry.Add(DefaultTTLDeletionWindow+ddbTTLSweep+10*time.Minute)):
			t.Fatalf("item %d deleted at %s, want within %s after its expiry %s", sk, at, DefaultTTLDeletionWindow, expiry)
		}
		distinct[at.Truncate(10*time.Minute)] = true
	}
	if len(distinct) < 10 {
		t.Fatalf("20 items of one expiry deleted at only %d distinct 10-minute instants: the deletions should spread over the window", len(distinct))
	}
	got := ddbScanSKs(t, c, "agg")
	for _, sk := range []string{"100", "101", "102", "103"} {
		if !got[sk] {
			t.Errorf("item %s deleted; only Number TTL values of the last five years that have passed expire an item", sk)
		}
	}
	if len(got) != 4 {
		t.Fatalf("left %v, want the 4 items that do not expire", got)
	}
	// The service deletes, not a caller: no DeleteItem call was made.
	if n := w.CallCount(CallKey{Region: s3TestP, Service: ddbServiceID, Operation: "DeleteItem"}); n != 0 {
		t.Fatalf("%d DeleteItem calls counted; TTL deletions are the service's own", n)
	}
	// And the table is described without them.
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("agg")})
	if err != nil || aws.ToInt64(d.Table.ItemCount) != 4 {
		t.Fatalf("ItemCount = %v, %v; want 4", aws.ToInt64(d.Table.ItemCount), err)
	}
}

// The deletion instants are a function of the table and the item: the
// same run gives the same instants, and the same item in another table (a
// restored copy) is deleted at another instant.
func TestDynamoDBTTLDeletionIsDeterministic(t *testing.T) {
	run := func() (map[int]time.Time, map[int]time.Time) {
		_, clk, c := ddbTTLTable(t)
		ctx := context.Background()
		if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("copy"), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}, {AttributeName: aws.String("sk"), AttributeType: "N"}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}, {AttributeName: aws.String("sk"), KeyType: "RANGE"}}}); err != nil {
			t.Fatal(err)
		}
		_ = clk.Sleep(ctx, 10*time.Second)
		ddbEnableTTL(t, c, "copy", true)
		expiry := clk.Now().Add(time.Minute)
		for sk := 0; sk < 5; sk++ {
			ddbPutTTL(t, c, "agg", sk, ddbEpoch(expiry))
			ddbPutTTL(t, c, "copy", sk, ddbEpoch(expiry))
		}
		a, b := map[int]time.Time{}, map[int]time.Time{}
		for clk.Now().Before(expiry.Add(DefaultTTLDeletionWindow + time.Hour)) {
			_ = clk.Sleep(ctx, time.Minute)
			for sk := 0; sk < 5; sk++ {
				if _, ok := a[sk]; !ok && !ddbHas(t, c, "agg", sk) {
					a[sk] = clk.Now()
				}
				if _, ok := b[sk]; !ok && !ddbHas(t, c, "copy", sk) {
					b[sk] = clk.Now()
				}
			}
		}
		return a, b
	}
	a1, b1 := run()
	a2, _ := run()
	same := 0
	for sk := 0; sk < 5; sk++ {
		if !a1[sk].Equal(a2[sk]) {
			t.Fatalf("item %d deleted at %s in one run, %s in another", sk, a1[sk], a2[sk])
		}
		if a1[sk].Equal(b1[sk]) {
			same++
		}
	}
	if same == 5 {
		t.Fatal("every item deleted at the same instant in both tables: the deletion should depend on the table")
	}
}

// TTL off: nothing is deleted; turned on again, what expired meanwhile is
// deleted. An item rewritten with a later expiry is not deleted at the
// earlier one; an item rewritten without the attribute never is.
func TestDynamoDBTTLFollowsTheSettingAndTheItem(t *testing.T) {
	_, clk, c := ddbTTLTable(t)
	ctx := context.Background()
	c.SetTTLDeletionWindow(0)
	now := clk.Now()
	ddbPutTTL(t, c, "agg", 1, ddbEpoch(now.Add(time.Minute)))
	ddbPutTTL(t, c, "agg", 2, ddbEpoch(now.Add(time.Minute)))
	ddbPutTTL(t, c, "agg", 3, ddbEpoch(now.Add(time.Minute)))
	ddbPutTTL(t, c, "agg", 2, ddbEpoch(now.Add(time.Hour)))
	ddbPutTTL(t, c, "agg", 3, nil)
	_ = clk.Sleep(ctx, 3*time.Minute)
	if ddbHas(t, c, "agg", 1) {
		t.Fatal("with a window of 0 an expired item is deleted at the next whole minute")
	}
	if !ddbHas(t, c, "agg", 2) || !ddbHas(t, c, "agg", 3) {
		t.Fatal("an item rewritten with a later expiry, or without one, was deleted at its old expiry")
	}
	_ = clk.Sleep(ctx, time.Hour)
	if ddbHas(t, c, "agg", 2) {
		t.Fatal("item 2 not deleted after its new expiry")
	}

	ddbEnableTTL(t, c, "agg", false)
	ddbPutTTL(t, c, "agg", 4, ddbEpoch(clk.Now().Add(time.Minute)))
	_ = clk.Sleep(ctx, time.Hour)
	if !ddbHas(t, c, "agg", 4) {
		t.Fatal("an item expired while TTL was off was deleted")
	}
	ddbEnableTTL(t, c, "agg", true)
	_ = clk.Sleep(ctx, 2*time.Minute)
	if ddbHas(t, c, "agg", 4) {
		t.Fatal("an item that expired while TTL was off is not deleted once it is on again")
	}
	if !ddbHas(t, c, "agg", 3) {
		t.Fatal("the item without a TTL value was deleted")
	}
}

// While the region is down nothing is deleted; once it is back what fell
// due is.
func TestDynamoDBTTLWaitsForTheRegion(t *testing.T) {
	w, clk, c := ddbTTLTable(t)
	ctx := context.Background()
	c.SetTTLDeletionWindow(0)
	ddbPutTTL(t, c, "agg", 1, ddbEpoch(clk.Now().Add(time.Minute)))
	w.SetDown(s3TestP, true)
	_ = clk.Sleep(ctx, 3*time.Hour)
	w.SetDown(s3TestP, false)
	if !ddbHas(t, c, "agg", 1) {
		t.Fatal("deleted while the region was down")
	}
	_ = clk.Sleep(ctx, time.Second)
	if ddbHas(t, c, "agg", 1) {
		t.Fatal("an item due during the outage is not deleted once the region is back")
	}
}

// No item with a TTL value, no timer: an idle table leaves the clock idle,
// and so does a table whose deletions are done.
func TestDynamoDBTTLArmsNoTimerWhenNothingIsDue(t *testing.T) {
	_, clk, c := ddbTTLTable(t)
	ctx := context.Background()
	c.SetTTLDeletionWindow(0)
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers pending with TTL on and no items", n)
	}
	ddbPutTTL(t, c, "agg", 1, nil)
	ddbPutTTL(t, c, "agg", 2, ddbS("soon"))
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers pending for items TTL ignores", n)
	}
	ddbPutTTL(t, c, "agg", 3, ddbEpoch(clk.Now().Add(time.Minute)))
	if n := clk.Pending(); n != 1 {
		t.Fatalf("%d timers pending for one item due, want 1", n)
	}
	_ = clk.Sleep(ctx, 3*time.Minute)
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers pending once the only due item is deleted", n)
	}
}

// A restored table has TTL off: it keeps the expired items a restore
// carries. A point-in-time restore to before a TTL deletion has the item;
// to after it, not. Each deletion counts in TimeToLiveDeletedItemCount.
func TestDynamoDBTTLDeletionsAreChangesOfTheTable(t *testing.T) {
	w, clk, c := ddbTTLTable(t)
	ctx := context.Background()
	c.SetTTLDeletionWindow(0)
	if _, err := c.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("agg"),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	for sk := 0; sk < 3; sk++ {
		ddbPutTTL(t, c, "agg", sk, ddbEpoch(clk.Now().Add(30*time.Minute)))
	}
	_ = clk.Sleep(ctx, 10*time.Minute)
	before := clk.Now()
	_ = clk.Sleep(ctx, time.Hour)
	after := clk.Now()
	_ = clk.Sleep(ctx, 10*time.Minute)
	restore := func(name string, at time.Time) map[string]bool {
		if _, err := c.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("agg"),
			TargetTableName: aws.String(name), RestoreDateTime: aws.Time(at)}); err != nil {
			t.Fatal(err)
		}
		_ = clk.Sleep(ctx, 21*time.Minute)
		return ddbScanSKs(t, c, name)
	}
	if got := restore("agg-before", before); len(got) != 3 {
		t.Fatalf("restored to before the TTL deletions: %v, want the 3 items", got)
	}
	if got := restore("agg-after", after); len(got) != 0 {
		t.Fatalf("restored to after the TTL deletions: %v, want none", got)
	}
	// The restored copy of the expired items is kept: TTL is off on it.
	_ = clk.Sleep(ctx, DefaultTTLDeletionWindow)
	if got := ddbScanSKs(t, c, "agg-before"); len(got) != 3 {
		t.Fatalf("restored table (TTL off) lost its expired items: %v", got)
	}
	st, err := w.Region(s3TestP).CloudWatch().GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/DynamoDB"), MetricName: aws.String("TimeToLiveDeletedItemCount"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("TableName"), Value: aws.String("agg")}},
		StartTime:  aws.Time(before), EndTime: aws.Time(after), Period: aws.Int32(3600), Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, p := range st.Datapoints {
		sum += aws.ToFloat64(p.Sum)
	}
	if sum != 3 {
		t.Fatalf("TimeToLiveDeletedItemCount sum %v, want 3 (%s)", sum, fmt.Sprint(st.Datapoints))
	}
}

// Deleting a table drops its queued TTL deletions: no sweep stays armed
// for it, and the queue no longer holds (and keeps in memory) the table.
func TestDynamoDBTTLForgetsADeletedTable(t *testing.T) {
	w, clk, c := ddbTTLTable(t)
	ctx := context.Background()
	ddbTestTable(t, w, clk, "other")
	ddbEnableTTL(t, c, "other", true)
	for i := 0; i < 3; i++ {
		ddbPutTTL(t, c, "agg", i, ddbEpoch(clk.Now().Add(time.Hour)))
	}
	ddbPutTTL(t, c, "other", 1, ddbEpoch(clk.Now().Add(2*time.Hour)))
	if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("agg")}); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	for _, es := range c.ttl.queue.byMinute {
		for _, e := range es {
			if e.t.name == "agg" {
				c.mu.Unlock()
				t.Fatalf("a deletion of the deleted table is still queued: %+v", e)
			}
		}
	}
	n := c.ttl.queue.len()
	c.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d deletions queued, want the other table's 1", n)
	}
	if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	if p := clk.Pending(); p != 0 {
		t.Fatalf("%d timers pending with no table left", p)
	}
}

// The TTL queue hands out its entries by due minute, then in the order
// they were queued, however they were pushed; dropping a table's entries
// keeps the others and their order.
func TestDynamoDBTTLQueueOrder(t *testing.T) {
	var q ddbTTLQueue
	a, b := &ddbTable{name: "a"}, &ddbTable{name: "b"}
	rng := rand.New(rand.NewPCG(1, 2))
	popped, dropped := 0, false
	take := func(prevMinute, prevSeq *int64) {
		minute, ok := q.first()
		if !ok {
			t.Fatal("an empty queue")
		}
		if minute < *prevMinute {
			t.Fatalf("minute %d after minute %d", minute, *prevMinute)
		}
		for _, e := range q.take() {
			if dropped && e.t == b {
				t.Fatalf("entry %d of the dropped table b", e.exp)
			}
			if minute == *prevMinute && e.exp < *prevSeq {
				t.Fatalf("minute %d: entry %d after %d", minute, e.exp, *prevSeq)
			}
			*prevMinute, *prevSeq = minute, e.exp
			popped++
		}
	}
	var lastMinute, lastSeq int64 = -1, 0
	for seq := int64(1); seq <= 2000; seq++ {
		// Entries are told apart by exp, their push order here.
		tab := a
		if seq%3 == 0 {
			tab = b
		}
		q.push(rng.Int64N(50)+lastMinute+1, ddbTTLEntry{exp: seq, t: tab})
		if seq%97 == 0 { // sweeps come between writes
			take(&lastMinute, &lastSeq)
		}
	}
	want := q.len()
	for _, es := range q.byMinute {
		for _, e := range es {
			if e.t == b {
				want--
			}
		}
	}
	q.drop(b)
	dropped = true
	if q.len() != want {
		t.Fatalf("%d entries after dropping b's, want %d", q.len(), want)
	}
	for q.len() > 0 {
		take(&lastMinute, &lastSeq)
	}
	if popped == 0 || len(q.byMinute) != 0 || len(q.minutes) != 0 {
		t.Fatalf("popped %d; %d minutes left (%d in the heap)", popped, len(q.byMinute), len(q.minutes))
	}
}
