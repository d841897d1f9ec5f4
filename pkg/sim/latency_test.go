package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// latencyTestWorld is a world with the aggregates table and the ingest
// stream ready in us-east-1, set up without spending virtual time.
func latencyTestWorld(t testing.TB) (*World, *clock.Virtual) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	ctx := Unmetered(context.Background())
	r := w.Region("us-east-1")
	if _, err := r.DynamoDB().CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("tbl"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Kinesis().CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("ingest"),
		StreamModeDetails: &kinesistypes.StreamModeDetails{StreamMode: kinesistypes.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(context.Background(), time.Minute) // table and stream ACTIVE
	return w, clk
}

// took returns how much virtual time f took on clk.
func took(clk *clock.Virtual, f func()) time.Duration {
	start := clk.Now()
	f()
	return clk.Now().Sub(start)
}

func TestLatencyOfACall(t *testing.T) {
	w, clk := latencyTestWorld(t)
	r := w.Region("us-east-1")
	ctx := context.Background()
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}
	tests := []struct {
		name string
		want time.Duration // the table's figure, spelled out
		call func() error
	}{
		{"DynamoDB.PutItem", 5 * time.Millisecond, func() error {
			_, err := r.DynamoDB().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key})
			return err
		}},
		{"DynamoDB.GetItem", 5 * time.Millisecond, func() error {
			_, err := r.DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key})
			return err
		}},
		{"DynamoDB.DescribeTable", 20 * time.Millisecond, func() error {
			_, err := r.DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("tbl")})
			return err
		}},
		{"DynamoDB.CreateTable", 100 * time.Millisecond, func() error {
			_, err := r.DynamoDB().CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("tbl2"), BillingMode: ddbtypes.BillingModePayPerRequest,
				AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}},
				KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}}})
			return err
		}},
		{"S3.PutObject", 30 * time.Millisecond, func() error {
			_, err := r.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		}},
		{"Kinesis.PutRecord", 20 * time.Millisecond, func() error {
			_, err := r.Kinesis().PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ingest"), PartitionKey: aws.String("p"), Data: []byte("x")})
			return err
		}},
		// A call that fails in the service has taken its round trip too.
		{"DynamoDB.GetItem of a missing table", 5 * time.Millisecond, func() error {
			_, err := r.DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: key})
			var nf *ddbtypes.ResourceNotFoundException
			if !errors.As(err, &nf) {
				return fmt.Errorf("err = %v, want ResourceNotFoundException", err)
			}
			return nil
		}},
	}
	for _, tc := range tests {
		var err error
		if got := took(clk, func() { err = tc.call() }); got != tc.want {
			t.Errorf("%s took %v of virtual time, want %v", tc.name, got, tc.want)
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		service, op, _ := strings.Cut(strings.Fields(tc.name)[0], ".")
		if got := CallLatency(service, op, nil); got != tc.want {
			t.Errorf("CallLatency(%s, %s) = %v, want %v", service, op, got, tc.want)
		}
	}
}

func TestLatencyOfABatch(t *testing.T) {
	w, clk := latencyTestWorld(t)
	r := w.Region("us-east-1")
	ctx := context.Background()
	put := func(i int) ddbtypes.TransactWriteItem {
		return ddbtypes.TransactWriteItem{Put: &ddbtypes.Put{TableName: aws.String("tbl"),
			Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprint(i)}}}}
	}
	for _, n := range []int{1, 10, 100} {
		items := make([]ddbtypes.TransactWriteItem, n)
		for i := range items {
			items[i] = put(i)
		}
		var err error
		got := took(clk, func() {
			_, err = r.DynamoDB().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		})
		if err != nil {
			t.Fatal(err)
		}
		// 10 ms and 0.5 ms per action.
		if want := 10*time.Millisecond + time.Duration(n)*500*time.Microsecond; got != want.Round(time.Millisecond) {
			t.Errorf("TransactWriteItems of %d actions took %v, want %v", n, got, want.Round(time.Millisecond))
		}
	}
	for _, n := range []int{1, 500} {
		recs := make([]kinesistypes.PutRecordsRequestEntry, n)
		for i := range recs {
			recs[i] = kinesistypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: []byte("x")}
		}
		var err error
		got := took(clk, func() {
			_, err = r.Kinesis().PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: recs})
		})
		if err != nil {
			t.Fatal(err)
		}
		// 20 ms and 0.05 ms per record.
		if want := (20*time.Millisecond + time.Duration(n)*50*time.Microsecond).Round(time.Millisecond); got != want {
			t.Errorf("PutRecords of %d records took %v, want %v", n, got, want)
		}
	}
}

func TestLatencyOfAnInvocation(t *testing.T) {
	var handlerAt []time.Duration
	var w *World
	w, clk, l := lambdaTestWorld(t, map[string]LambdaHandler{"fn": func(ctx context.Context, p []byte) ([]byte, error) {
		handlerAt = append(handlerAt, w.Clock.Now().Sub(glueTestStart))
		// The handler's own call, made as its role, takes its latency.
		_, err := w.Region("us-east-1").DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"),
			Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}})
		var nf *ddbtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("GetItem: %v, want ResourceNotFoundException", err)
		}
		return p, nil
	}})
	if _, err := l.CreateFunction(Unmetered(context.Background()), &lambda.CreateFunctionInput{FunctionName: aws.String("fn"), Role: aws.String(lambdaTestRole)}); err != nil {
		t.Fatal(err)
	}
	if got, want := l.InvokeLatency, 10*time.Millisecond; got != want {
		t.Fatalf("InvokeLatency = %v, want the model's %v", got, want)
	}
	if got, want := l.ColdStart, 250*time.Millisecond; got != want {
		t.Fatalf("ColdStart = %v, want the model's %v", got, want)
	}
	ctx := context.Background()
	invoke := func() time.Duration {
		return took(clk, func() {
			out, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte(`{}`)})
			if err != nil {
				t.Errorf("Invoke: %v", err)
			} else if out.FunctionError != nil {
				t.Errorf("Invoke: %s", out.Payload)
			}
		})
	}
	api, getItem := CallLatency("Lambda", "Invoke", nil), CallLatency("DynamoDB", "GetItem", nil)
	// Cold: the request, Lambda's overhead, the new environment, then the
	// handler and its call.
	start := clk.Now().Sub(glueTestStart)
	if got, want := invoke(), api+l.InvokeLatency+l.ColdStart+getItem; got != want {
		t.Errorf("first invocation took %v, want %v (10 ms request, 10 ms overhead, 250 ms cold start, 5 ms GetItem)", got, want)
	}
	if got, want := handlerAt[0], start+api+l.InvokeLatency+l.ColdStart; got != want {
		t.Errorf("handler started at +%v, want +%v", got, want)
	}
	// Warm: no cold start.
	if got, want := invoke(), api+l.InvokeLatency+getItem; got != want {
		t.Errorf("warm invocation took %v, want %v", got, want)
	}
	// Two at once: the second needs a second environment, so it is cold,
	// and both run in parallel: the pair takes as long as the cold one.
	both := took(clk, func() {
		done := clk.Go(func() { invoke() })
		invoke()
		if err := clk.Await(ctx, done, 0); err != nil {
			t.Fatal(err)
		}
	})
	if got, want := both, api+l.InvokeLatency+l.ColdStart+getItem; got != want {
		t.Errorf("two concurrent invocations took %v, want %v (one warm, one cold, in parallel)", got, want)
	}
}

func TestLatencyUnmetered(t *testing.T) {
	w, clk := latencyTestWorld(t)
	r := w.Region("us-east-1")
	ctx := Unmetered(context.Background())
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}
	got := took(clk, func() {
		for range 100 {
			if _, err := r.DynamoDB().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
				t.Fatal(err)
			}
		}
	})
	if got != 0 {
		t.Fatalf("200 unmetered calls took %v of virtual time, want 0", got)
	}
	// The marker survives derived contexts, and the calls still count.
	dctx, cancel := context.WithCancel(WithPrincipal(ctx, lambdaTestRole))
	defer cancel()
	if got := took(clk, func() {
		_, _ = r.DynamoDB().GetItem(dctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key})
	}); got != 0 {
		t.Fatalf("an unmetered call through a derived context took %v", got)
	}
	if got := w.CallCount(CallKey{Service: "DynamoDB", Operation: "PutItem"}); got != 100 {
		t.Fatalf("%d PutItem calls counted, want 100", got)
	}
	// A call to a region that is down fails at once, as a refused
	// connection does.
	w.SetDown("us-east-1", true)
	if got := took(clk, func() {
		_, _ = r.DynamoDB().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key})
	}); got != 0 {
		t.Fatalf("a call to a region that is down took %v", got)
	}
}

func TestLatencyCancelledDuringTheCall(t *testing.T) {
	w, clk := latencyTestWorld(t)
	r := w.Region("us-east-1")
	ctx, cancel := context.WithCancel(context.Background())
	clk.AfterFunc(time.Millisecond, cancel) // while CreateTable's 100 ms run
	_, err := r.DynamoDB().CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("tbl3"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}}})
	var ce *smithy.CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a CanceledError", err)
	}
	if _, err := r.DynamoDB().DescribeTable(Unmetered(context.Background()), &dynamodb.DescribeTableInput{TableName: aws.String("tbl3")}); err == nil {
		t.Fatal("a call cancelled before the service acted created the table")
	}
}

// TestLatencyEveryOperationHasAFigure fails on a simulated operation the
// table has no row for, and on a row naming an operation that does not
// exist.
func TestLatencyEveryOperationHasAFigure(t *testing.T) {
	w := NewWorld(clock.NewVirtual(glueTestStart), "111122223333", GAControlRegion)
	known := map[latencyKey]bool{}
	for service, svc := range iamServices(w.Region(GAControlRegion)) {
		for _, m := range sdkOperations(svc) {
			known[latencyKey{service, m.Name}] = true
			if latencyRowOf(service, m.Name) == nil {
				t.Errorf("%s.%s has no latency", service, m.Name)
			}
		}
	}
	for _, row := range apiLatencies {
		if row.base <= 0 || row.basis == "" {
			t.Errorf("row %s %v: want a positive latency and a basis", row.service, row.ops)
		}
		for _, op := range row.ops {
			if !known[latencyKey{row.service, op}] {
				t.Errorf("row names %s.%s, which the simulator does not have", row.service, op)
			}
		}
	}
}

// TestLatencyTableDocumented keeps docs/aws-facts.md "API call latencies"
// the table the simulator uses.
func TestLatencyTableDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "aws-facts.md"))
	if err != nil {
		t.Fatal(err)
	}
	if table := latencyTableMarkdown(); !strings.Contains(string(doc), table) {
		t.Fatalf("docs/aws-facts.md does not hold the latency table; under \"API call latencies\" it must read:\n\n%s", table)
	}
}

// BenchmarkLatency measures the wall-clock cost of the latency model: a
// metered call sleeps on the virtual clock, an unmetered one does not. The
// clocks are made without the accounting check TestMain turns on (it reads
// a stack on every wait), as the drill makes them.
func BenchmarkLatency(b *testing.B) {
	clock.CheckAccounting(false)
	defer clock.CheckAccounting(true)
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"Metered", context.Background()}, {"Unmetered", Unmetered(context.Background())}} {
		b.Run(tc.name, func(b *testing.B) {
			w, _ := latencyTestWorld(b)
			db := w.Region("us-east-1").DynamoDB()
			in := &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.GetItem(tc.ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
