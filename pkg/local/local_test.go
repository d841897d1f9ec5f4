package local

import (
	"bytes"
	"context"
	"fmt"
	"github.com/aws/smithy-go"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/producer"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// snapshot is the synthesized installation (pkg/assembly's snapshot of
// `make synth`), read once.
var snapshot = sync.OnceValues(func() (*assembly.Assembly, error) { return assembly.Read("../assembly/testdata/cdk.out") })

// newLocal deploys the synthesized installation for a test and closes it at
// the end.
func newLocal(t *testing.T, opts Options) *Local {
	t.Helper()
	if opts.Assembly == nil {
		a, err := snapshot()
		if err != nil {
			t.Fatal(err)
		}
		opts.Assembly = a
	}
	l, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

// produce sends n records through the accelerator with a producer and
// returns it (closed at the end of the test).
func produce(t *testing.T, l *Local, name string, n int) *producer.Producer {
	t.Helper()
	ctx := context.Background()
	p, err := producer.Open(producer.Config{Dir: t.TempDir(), Endpoint: l.AcceleratorURL, Client: l.HTTPClient(),
		Clock: l.Clock, Name: name, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	for i := range n {
		if _, err := p.Produce(ctx, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Send(ctx); err != nil {
		t.Fatalf("send: %v", err)
	}
	return p
}

func countMarkers(t *testing.T, l *Local, region string) int {
	t.Helper()
	db := l.World.Region(region).DynamoDB()
	n := 0
	var start map[string]ddbtypes.AttributeValue
	for {
		out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(l.Names.AggregatesTable()), ExclusiveStartKey: start})
		if err != nil {
			t.Fatalf("scan %s: %v", region, err)
		}
		for _, it := range out.Items {
			if pk, ok := it["pk"].(*ddbtypes.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "R#") {
				n++
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return n
		}
		start = out.LastEvaluatedKey
	}
}

func countObjects(t *testing.T, l *Local, region, bucket string) int {
	t.Helper()
	out, err := l.World.Region(region).S3().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Contents)
}

// TestWorkloadSteadyState: records sent through the accelerator reach P's
// ingest, land in P's raw bucket (and its catalog), are counted in P's
// aggregates, and replicate to B; B serves nothing.
func TestWorkloadSteadyState(t *testing.T) {
	// No canary: its records would keep landing in P while the buckets
	// are compared.
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	P, B := l.Regions.Primary, l.Regions.Backup
	p := produce(t, l, "sensor-1", 50)
	if got, want := p.Stats().Acknowledged, int64(50); got != want {
		t.Fatalf("acknowledged %d, want %d", got, want)
	}
	if err := l.Sleep(context.Background(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := countMarkers(t, l, P), 50; got != want {
		t.Fatalf("markers in P = %d, want %d", got, want)
	}
	raw := l.Names.Bucket("raw", P)
	if countObjects(t, l, P, raw) == 0 {
		t.Fatal("nothing landed in P's raw bucket")
	}
	if got, want := countObjects(t, l, B, l.Names.Bucket("raw", B)), countObjects(t, l, P, raw); got != want {
		t.Fatalf("replicas in B = %d, want %d", got, want)
	}
	if got := l.World.Region(P).Glue().PartitionCount(l.Names.GlueDatabase(), "raw"); got == 0 {
		t.Fatal("no raw partition registered in P's catalog")
	}
	if got := l.World.Region(B).Glue().PartitionCount(l.Names.GlueDatabase(), "raw"); got == 0 {
		t.Fatal("no raw partition registered in B's catalog (replicas fire ObjectCreated too)")
	}
	if s := l.RegionStats(B); s.Acknowledged != 0 || s.Serving {
		t.Fatalf("dormant B: %+v, want no traffic and no ALB", s)
	}
	// dr-probe's contract: the region header says who served.
	resp, err := l.HTTPClient().Get(l.AcceleratorURL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(RegionHeader); got != P || resp.StatusCode != http.StatusOK {
		t.Fatalf("health through the accelerator: %d from %q, want 200 from %s", resp.StatusCode, got, P)
	}
}

// TestDeployedMachines: every state machine of statemachines/ is deployed
// in B under its topology ARN, with the execution role its template gives
// it, and the deployment leaves no call denied.
func TestDeployedMachines(t *testing.T) {
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	for _, name := range l.MachineNames() {
		arn := l.Names.StateMachineARN(l.Regions.Backup, name)
		if name == "nightly-batch" {
			arn = l.Names.StateMachineARN(l.Regions.Primary, name)
		}
		m, ok := l.engineFor(regionOfARN(arn)).StateMachine(arn)
		if !ok {
			t.Fatalf("%s is not deployed as %s", name, arn)
		}
		if !strings.Contains(m.Options.RoleARN, ":role/") {
			t.Errorf("%s runs as %q, want its template's role", name, m.Options.RoleARN)
		}
	}
	if d := l.Denied(); len(d) > 0 {
		t.Fatalf("the deployment was denied %d calls, the first %+v", len(d), d[0])
	}
}

// waitStatus runs an execution to its end and checks its status.
func waitStatus(t *testing.T, l *Local, arn string, want states.Status) states.Result {
	t.Helper()
	x, ok := l.Engine.Execution(arn)
	if !ok {
		t.Fatalf("no execution %s", arn)
	}
	res, err := x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != want {
		t.Fatalf("execution %s: %s (%s: %s), want %s; output %s", x.Name(), res.Status, res.Error, res.Cause, want, res.Output)
	}
	return res
}

// controlMode reads the DR mode from the control table (missing = PRIMARY).
func controlMode(t *testing.T, l *Local) string {
	t.Helper()
	out, err := l.World.Region(l.Regions.Backup).DynamoDB().GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(l.Names.ControlTable()), Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "dr"}}})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := out.Item["mode"].(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return "PRIMARY"
	}
	return m.Value
}

// servedBy asks the accelerator for /health and returns the region header.
func servedBy(t *testing.T, l *Local) string {
	t.Helper()
	resp, err := l.HTTPClient().Get(l.AcceleratorURL + "/health")
	if err != nil {
		return "error: " + err.Error()
	}
	resp.Body.Close()
	return resp.Header.Get(RegionHeader)
}

// TestFailoverHappyPath: a console failover with P reachable restores P's
// table into B by point-in-time restore, activates B, starts its consumer
// and moves traffic; the control record says FAILED_OVER.
func TestFailoverHappyPath(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true})
	P, B := l.Regions.Primary, l.Regions.Backup
	produce(t, l, "sensor-1", 40)
	if err := l.Sleep(ctx, 10*time.Minute); err != nil { // older than PITR's latest restorable time
		t.Fatal(err)
	}
	x, res, err := l.Run(ctx, "failover", `{"reason":"test"}`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != states.StatusSucceeded {
		t.Fatalf("failover %s: %s: %s\n%s", res.Status, res.Error, res.Cause, strings.Join(FailureLog(x), "\n"))
	}
	if !strings.Contains(string(res.Output), `"FAILED_OVER"`) {
		t.Fatalf("output %s, want status FAILED_OVER", res.Output)
	}
	if got, want := controlMode(t, l), "FAILED_OVER"; got != want {
		t.Fatalf("mode %s, want %s", got, want)
	}
	if got, want := countMarkers(t, l, B), countMarkers(t, l, P); got != want {
		t.Fatalf("restored markers in B = %d, want P's %d", got, want)
	}
	cb, err := l.World.Region(B).DynamoDB().DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(l.Names.AggregatesTable())})
	if err != nil || cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != ddbtypes.PointInTimeRecoveryStatusEnabled {
		t.Fatalf("PITR on the restored table: %+v, %v; want ENABLED", cb, err)
	}
	dt, err := l.World.Region(B).DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(l.Names.AggregatesTable())})
	if err != nil || !aws.ToBool(dt.Table.DeletionProtectionEnabled) {
		t.Fatalf("deletion protection on the restored table: %v, want on", err)
	}
	ttl, err := l.World.Region(B).DynamoDB().DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(l.Names.AggregatesTable())})
	if err != nil || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires" {
		t.Fatalf("TTL on the restored table: %+v, %v; want attribute expires", ttl, err)
	}
	if !l.ConsumerRunning(B) {
		t.Fatal("B's consumer is not running")
	}
	if got := servedBy(t, l); got != B {
		t.Fatalf("accelerator served by %q, want %s", got, B)
	}
	// Records now go to B and are counted there.
	before := countMarkers(t, l, B)
	produce(t, l, "sensor-2", 10)
	if err := l.Sleep(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := countMarkers(t, l, B), before+10; got != want {
		t.Fatalf("markers in B after failover = %d, want %d", got, want)
	}
}

// TestConsumerRetriesUntilWritesReturn: with P's aggregates table
// refusing writes for 30 minutes, the deployed aggregate consumer gives
// nothing up (no retry count: records are retried until they are as old
// as the stream keeps them) and counts every record once writes return.
func TestConsumerRetriesUntilWritesReturn(t *testing.T) {
	l := newLocal(t, Options{NoCanary: true, NoAutoFailover: true})
	P := l.Regions.Primary
	down := &sim.Fault{Region: P, Service: "DynamoDB", Operation: "TransactWriteItems", Err: &ddbtypes.InternalServerError{Message: aws.String("Internal server error")}}
	l.World.Inject(down)
	produce(t, l, "sensor-1", 20)
	if err := l.Sleep(context.Background(), 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := countMarkers(t, l, P); got != 0 {
		t.Fatalf("%d records counted while writes were refused", got)
	}
	l.World.RemoveFault(down)
	if err := l.Sleep(context.Background(), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := countMarkers(t, l, P); got != 20 {
		t.Fatalf("%d records counted after writes returned, want the 20 acknowledged", got)
	}
	if d := l.Discarded(); len(d) != 0 {
		t.Fatalf("discarded %+v, want nothing", d)
	}
}

// TestConsumerDiscardsTooOldRecords: records are given up only by age. With
// the mapping's MaximumRecordAgeInSeconds edited down to a minute and the
// writes refused, the consumer hands the records to its on-failure
// destination as too old, which the installation records (the drill's
// noneDiscardedByConsumer check reads it).
func TestConsumerDiscardsTooOldRecords(t *testing.T) {
	edit := func(stack string, body []byte) []byte {
		return bytes.ReplaceAll(body, []byte(`"MaximumRecordAgeInSeconds": 604800`), []byte(`"MaximumRecordAgeInSeconds": 60`))
	}
	l := newLocal(t, Options{NoCanary: true, NoAutoFailover: true, EditTemplate: edit})
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: dynamodb:PutItem"}
	l.World.Inject(&sim.Fault{Region: l.Regions.Primary, Service: "DynamoDB", Operation: "TransactWriteItems", Err: denied})
	produce(t, l, "sensor-1", 20)
	if err := l.Sleep(context.Background(), 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range l.Discarded() {
		if f.Condition != "RecordAgeExceeded" {
			t.Errorf("discarded batch %+v, want records too old", f)
		}
		n += f.BatchSize
	}
	if n != 20 {
		t.Fatalf("%d records discarded, want the 20 sent while writes were refused", n)
	}
}
