package local

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/producer"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// newLocal builds an installation for a test and closes it at the end.
func newLocal(t *testing.T, opts Options) *Local {
	t.Helper()
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
	p, err := producer.Open(producer.Config{Dir: t.TempDir(), Endpoint: "http://" + l.AcceleratorDNS, Client: l.HTTPClient(),
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
	l := newLocal(t, Options{NoAutoFailover: true})
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
	resp, err := l.HTTPClient().Get("http://" + l.AcceleratorDNS + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(RegionHeader); got != P || resp.StatusCode != http.StatusOK {
		t.Fatalf("health through the accelerator: %d from %q, want 200 from %s", resp.StatusCode, got, P)
	}
}

// TestRenderAll: every state machine renders with the installation's
// substitutions (no placeholder left without a value) and is registered
// under its topology ARN.
func TestRenderAll(t *testing.T) {
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true, BackupEvery: -1})
	for _, name := range l.MachineNames() {
		def, err := l.Definition(name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Render(def, l.Substitutions)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(string(out), "${") {
			t.Fatalf("%s: a placeholder is left after rendering", name)
		}
		if _, arn, ok := l.Engine.Machine(l.Names.StateMachineARN(l.Regions.Backup, name)); !ok || arn == "" {
			t.Fatalf("%s is not registered under its topology ARN", name)
		}
	}
	if _, err := Render([]byte(`{"a":"${Nope}"}`), l.Substitutions); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("render of an unknown placeholder: %v, want an error naming it", err)
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
