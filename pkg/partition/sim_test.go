package partition

import (
	"context"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

var _ Catalog = (*sim.Glue)(nil)

// simCatalog returns a simulated region's Glue catalog holding database
// "pendulum" with the tables of testTables.
func simCatalog(t testing.TB) (*sim.World, *sim.Glue) {
	t.Helper()
	w, g, err := newSimCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return w, g
}

func newSimCatalog() (*sim.World, *sim.Glue, error) {
	w := sim.NewWorld(clock.NewVirtual(time.Date(2024, 3, 5, 8, 0, 0, 0, time.UTC)), "111122223333", "us-east-1")
	g := w.Region("us-east-1").Glue()
	ctx := context.Background()
	if _, err := g.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String("pendulum")}}); err != nil {
		return nil, nil, err
	}
	for _, tb := range []struct{ name, loc string }{{"raw", "s3://pendulum-raw/"}, {"legacy", "s3://pendulum-raw/legacy/"}, {"curated", "s3://pendulum-curated/curated/"}} {
		_, err := g.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("pendulum"), TableInput: &gluetypes.TableInput{
			Name:              aws.String(tb.name),
			PartitionKeys:     []gluetypes.Column{{Name: aws.String("dt"), Type: aws.String("string")}, {Name: aws.String("hr"), Type: aws.String("string")}},
			StorageDescriptor: &gluetypes.StorageDescriptor{Location: aws.String(tb.loc), Columns: []gluetypes.Column{{Name: aws.String("id"), Type: aws.String("string")}}},
		}})
		if err != nil {
			return nil, nil, err
		}
	}
	return w, g, nil
}

// TestHandlerOnSimulatedGlue runs the golden SQS batch against the
// simulator's catalog, which enforces Glue's own limits and error codes.
func TestHandlerOnSimulatedGlue(t *testing.T) {
	payload, err := os.ReadFile("testdata/events/sqs-s3.json")
	if err != nil {
		t.Fatal(err)
	}
	w, g := simCatalog(t)
	h := testHandler(t, g, nil)
	ctx := context.Background()
	setup := w.CallCount(sim.CallKey{Service: "Glue"})
	resp, err := h.Handle(ctx, payload)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if got, want := failed, []string{"m4", "m7", "m12"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("failed = %v, want %v", got, want)
	}
	for table, want := range map[string]int{"raw": 3, "legacy": 1, "curated": 1} {
		if got := g.PartitionCount("pendulum", table); got != want {
			t.Fatalf("%s partitions = %d, want %d", table, got, want)
		}
	}
	if got, want := w.CallCount(sim.CallKey{Service: "Glue"})-setup, 6; got != want {
		t.Fatalf("Glue calls = %d, want %d (GetTable + BatchCreatePartition per table)", got, want)
	}
	out, err := g.GetPartition(ctx, &glue.GetPartitionInput{DatabaseName: aws.String("pendulum"), TableName: aws.String("legacy"), PartitionValues: []string{"2024-03-05", "07"}})
	if err != nil {
		t.Fatalf("GetPartition: %v", err)
	}
	if got, want := aws.ToString(out.Partition.StorageDescriptor.Location), "s3://pendulum-raw/legacy/2024/03/05/07/"; got != want {
		t.Fatalf("location = %q, want %q", got, want)
	}

	// The region goes down: every message that names a partition fails,
	// the others still succeed or fail on their own.
	w2, g2 := simCatalog(t)
	w2.SetDown("us-east-1", true)
	resp, err = testHandler(t, g2, nil).Handle(ctx, payload)
	if err != nil {
		t.Fatalf("Handle with the region down: %v", err)
	}
	failed = failed[:0]
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if got, want := failed, []string{"m1", "m2", "m4", "m6", "m7", "m10", "m11", "m12"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("failed with the region down = %v, want %v", got, want)
	}
}

// TestGlueCallsFor10000Events is the benchmark's call count as a test, on
// the simulator: 10,000 object events over 240 hours cost one GetTable and
// ⌈240/100⌉ = 3 BatchCreatePartition calls in one invocation.
func TestGlueCallsFor10000Events(t *testing.T) {
	w, g := simCatalog(t)
	keys := benchKeys(10000)
	h := testHandler(t, g, nil)
	resp, err := h.Handle(context.Background(), sqsPayload(t, keys))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %v, %d failures", err, len(resp.BatchItemFailures))
	}
	if got, want := g.PartitionCount("pendulum", "raw"), 240; got != want {
		t.Fatalf("partitions = %d, want %d", got, want)
	}
	calls := w.Calls()
	if got, want := calls[sim.CallKey{Region: "us-east-1", Service: "Glue", Operation: "GetTable"}], 1; got != want {
		t.Fatalf("GetTable calls = %d, want %d", got, want)
	}
	if got, want := calls[sim.CallKey{Region: "us-east-1", Service: "Glue", Operation: "BatchCreatePartition"}], 3; got != want {
		t.Fatalf("BatchCreatePartition calls = %d, want %d", got, want)
	}
}

var _ sim.SQSHandler = (&Handler{}).HandleSQS

// TestEndToEndOnSimulator puts objects with awkward keys into a simulated
// bucket whose notifications go to a queue, and lets the simulated
// event-source mapping deliver them to HandleSQS.
func TestEndToEndOnSimulator(t *testing.T) {
	w, g := simCatalog(t)
	ctx := context.Background()
	region := w.Region("us-east-1")
	s3c, q := region.S3(), region.SQS()
	if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("partitions")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pendulum-raw")}); err != nil {
		t.Fatal(err)
	}
	_, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String("pendulum-raw"),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			Id: aws.String("partitions"), QueueArn: aws.String(q.QueueARN("partitions")), Events: []s3types.Event{"s3:ObjectCreated:*"},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{
		"dt=2024-03-05/hr=07/part 1+2.json.gz",
		"dt=2024-03-05/hr=07/données ✓.json",
		"dt=2024-03-05/hr=07/_SUCCESS",
		"dt=2024-03-05/hr=08/",
		"dt=2024-03-05/hr=09/a%2Fb.json",
		"legacy/2024/03/05/23/stream-1.gz",
		"dt=2024-13-05/hr=09/bad-month.json",
	}
	for _, k := range keys {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pendulum-raw"), Key: aws.String(k), Body: strings.NewReader("{}\n")}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	h := testHandler(t, g, nil)
	res, err := q.PollOnce(ctx, q.QueueURL("partitions"), 10, h.HandleSQS)
	if err != nil {
		t.Fatalf("PollOnce: %v", err)
	}
	if got, want := res, (sim.SQSPollResult{Received: len(keys), Deleted: len(keys) - 1, Failed: 1}); got != want {
		t.Fatalf("poll = %+v, want %+v (only the bad month fails)", got, want)
	}
	for table, want := range map[string][]string{"raw": {"2024-03-05/07", "2024-03-05/09"}, "legacy": {"2024-03-05/23"}} {
		out, err := g.GetPartitions(ctx, &glue.GetPartitionsInput{DatabaseName: aws.String("pendulum"), TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range out.Partitions {
			got = append(got, strings.Join(p.Values, "/"))
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s partitions = %v, want %v", table, got, want)
		}
	}
}
