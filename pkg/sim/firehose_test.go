package sim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	firehosetypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// firehoseTestObjects returns the bucket's objects, key -> body (gunzipped
// when the key ends in .gz).
func firehoseTestObjects(t *testing.T, w *World, region, bucket string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	c := w.Region(region).S3()
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, o := range list.Contents {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = obj.Body
		if strings.HasSuffix(*o.Key, ".gz") {
			if r, err = gzip.NewReader(obj.Body); err != nil {
				t.Fatalf("%s: %v", *o.Key, err)
			}
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[*o.Key] = b
	}
	return out
}

func firehoseTestCreate(t *testing.T, f *Firehose, in *firehose.CreateDeliveryStreamInput) {
	t.Helper()
	if _, err := f.CreateDeliveryStream(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func firehoseTestS3Dest(prefix string, sizeMiB, intervalS int32, gz bool) *firehosetypes.ExtendedS3DestinationConfiguration {
	d := &firehosetypes.ExtendedS3DestinationConfiguration{
		BucketARN: aws.String("arn:aws:s3:::raw-bucket"), Prefix: aws.String(prefix), ErrorOutputPrefix: aws.String("errors/"),
		BufferingHints: &firehosetypes.BufferingHints{SizeInMBs: aws.Int32(sizeMiB), IntervalInSeconds: aws.Int32(intervalS)},
	}
	if gz {
		d.CompressionFormat = firehosetypes.CompressionFormatGzip
	}
	return d
}

func TestFirehoseKinesisSourceToS3(t *testing.T) {
	ctx := context.Background()
	w, clk, k := kinesisTestStream(t) // now 00:01:00
	if _, err := w.Region("us-east-1").S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw-bucket")}); err != nil {
		t.Fatal(err)
	}
	f := w.Region("us-east-1").Firehose()
	firehoseTestCreate(t, f, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("raw"), DeliveryStreamType: firehosetypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &firehosetypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String(k.StreamARN("ingest"))},
		ExtendedS3DestinationConfiguration: firehoseTestS3Dest("dt=!{timestamp:yyyy-MM-dd}/hr=!{timestamp:HH}/", 1, 60, true),
	})
	put := func(from, n int) {
		var entries []kinesistypes.PutRecordsRequestEntry
		for i := from; i < from+n; i++ {
			entries = append(entries, kinesistypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: []byte(fmt.Sprintf("{\"id\":\"r%d\"}\n", i))})
		}
		if _, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: entries}); err != nil {
			t.Fatal(err)
		}
	}
	put(0, 50)
	_ = clk.Sleep(ctx, 30*time.Second)
	put(50, 50)
	// The buffer opened when Firehose read the first records (about 1 s after
	// the put); the 60 s interval flushes it.
	_ = clk.Sleep(ctx, 30*time.Second)
	if got := f.Stats("raw"); got.Objects != 0 || got.Buffered != 100 {
		t.Fatalf("at 60 s: %+v, want nothing delivered and 100 buffered", got)
	}
	_ = clk.Sleep(ctx, 2*time.Second)
	if got := f.Stats("raw"); got.Objects != 1 || got.Records != 100 {
		t.Fatalf("at 62 s: %+v, want one object of 100 records", got)
	}
	objs := firehoseTestObjects(t, w, "us-east-1", "raw-bucket")
	keyRE := regexp.MustCompile(`^dt=2026-11-25/hr=00/raw-1-2026-11-25-00-01-00-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.gz$`)
	for key, body := range objs {
		if !keyRE.MatchString(key) {
			t.Fatalf("key %q does not look like a Firehose key with the dt/hr prefix", key)
		}
		ids := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var rec struct{ ID string }
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			ids[rec.ID] = true
		}
		if len(ids) != 100 {
			t.Fatalf("object holds %d distinct records, want 100", len(ids))
		}
	}
	if len(objs) != 1 {
		t.Fatalf("%d objects, want 1", len(objs))
	}

	t.Run("SizeHintFlushesEarly", func(t *testing.T) {
		big := strings.Repeat("x", 100<<10)
		var entries []kinesistypes.PutRecordsRequestEntry
		for i := 0; i < 15; i++ { // 1.5 MiB against a 1 MiB hint
			entries = append(entries, kinesistypes.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte(fmt.Sprintf("{\"id\":\"b%d\",\"pad\":%q}\n", i, big))})
		}
		if _, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: entries}); err != nil {
			t.Fatal(err)
		}
		_ = clk.Sleep(ctx, 2*time.Second)
		if got := f.Stats("raw"); got.Objects != 2 || got.Buffered == 0 {
			t.Fatalf("%+v, want a second object flushed by size and the rest buffered", got)
		}
		_ = clk.Sleep(ctx, time.Minute)
		if got := f.Stats("raw"); got.Objects != 3 || got.Records != 115 || got.Buffered != 0 {
			t.Fatalf("%+v, want the rest flushed by the interval", got)
		}
	})
	t.Run("OutageDelaysDeliveryAndLosesNothing", func(t *testing.T) {
		put(1000, 10)
		w.SetDown("us-east-1", true)
		_ = clk.Sleep(ctx, 5*time.Minute)
		w.SetDown("us-east-1", false)
		put(2000, 10)
		_ = clk.Sleep(ctx, 2*time.Minute)
		if got := f.Stats("raw"); got.Records != 135 || got.Pending != 0 {
			t.Fatalf("%+v, want every record delivered after the outage", got)
		}
	})
}

func TestFirehoseDirectPut(t *testing.T) {
	ctx := context.Background()
	w, clk, _ := kinesisTestStream(t)
	_, _ = w.Region("us-east-1").S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw-bucket")})
	f := w.Region("us-east-1").Firehose()
	d := firehoseTestS3Dest("direct/", 5, 0, false)
	d.ProcessingConfiguration = &firehosetypes.ProcessingConfiguration{Enabled: aws.Bool(true), Processors: []firehosetypes.Processor{{Type: firehosetypes.ProcessorTypeAppendDelimiterToRecord}}}
	firehoseTestCreate(t, f, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("direct"), ExtendedS3DestinationConfiguration: d})
	out, err := f.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("direct"),
		Records: []firehosetypes.Record{{Data: []byte(`{"a":1}`)}, {Data: []byte(`{"a":2}`)}}})
	if err != nil || *out.FailedPutCount != 0 || len(out.RequestResponses) != 2 {
		t.Fatalf("%v %v", out, err)
	}
	_ = clk.Sleep(ctx, time.Second)
	objs := firehoseTestObjects(t, w, "us-east-1", "raw-bucket")
	if len(objs) != 1 {
		t.Fatalf("%d objects, want 1 (interval 0)", len(objs))
	}
	for key, body := range objs {
		if !strings.HasPrefix(key, "direct/direct-1-") || strings.HasSuffix(key, ".gz") {
			t.Fatalf("key %q", key)
		}
		if got, want := string(body), "{\"a\":1}\n{\"a\":2}\n"; got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
	}
}

func TestFirehoseErrors(t *testing.T) {
	ctx := context.Background()
	w, _, k := kinesisTestStream(t)
	f := w.Region("us-east-1").Firehose()
	firehoseTestCreate(t, f, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("fromk"), DeliveryStreamType: firehosetypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &firehosetypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String(k.StreamARN("ingest"))},
		ExtendedS3DestinationConfiguration: firehoseTestS3Dest("p/", 5, 60, true)})
	noErrPrefix := firehoseTestS3Dest("dt=!{timestamp:yyyy-MM-dd}/", 5, 60, true)
	noErrPrefix.ErrorOutputPrefix = nil
	tests := []struct {
		name string
		call func() error
		want any
	}{
		{"BadPrefixExpression", func() error {
			_, err := f.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"), ExtendedS3DestinationConfiguration: firehoseTestS3Dest("!{partitionKeyFromQuery:a}/", 5, 60, true)})
			return err
		}, new(*firehosetypes.InvalidArgumentException)},
		{"ExpressionsNeedErrorPrefix", func() error {
			_, err := f.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"), ExtendedS3DestinationConfiguration: noErrPrefix})
			return err
		}, new(*firehosetypes.InvalidArgumentException)},
		{"IntervalOver900", func() error {
			_, err := f.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"), ExtendedS3DestinationConfiguration: firehoseTestS3Dest("p/", 5, 901, true)})
			return err
		}, new(*firehosetypes.InvalidArgumentException)},
		{"Exists", func() error {
			_, err := f.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("fromk"), ExtendedS3DestinationConfiguration: firehoseTestS3Dest("p/", 5, 60, true)})
			return err
		}, new(*firehosetypes.ResourceInUseException)},
		{"DirectPutToKinesisSource", func() error {
			_, err := f.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("fromk"), Records: []firehosetypes.Record{{Data: []byte("x")}}})
			return err
		}, new(*firehosetypes.InvalidArgumentException)},
		{"NotFound", func() error {
			_, err := f.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("nope")})
			return err
		}, new(*firehosetypes.ResourceNotFoundException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || !errors.As(err, tt.want) {
				t.Fatalf("err = %v, want %T", err, tt.want)
			}
		})
	}
	t.Run("RegionDown", func(t *testing.T) {
		w.SetDown("us-east-1", true)
		defer w.SetDown("us-east-1", false)
		_, err := f.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("fromk")})
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	})
}

func TestFirehoseParsePrefix(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct{ prefix, want string }{
		{"raw/", "raw/"},
		{"dt=!{timestamp:yyyy-MM-dd}/hr=!{timestamp:HH}/", "dt=2026-03-04/hr=05/"},
		{"!{timestamp:yyyy/MM/dd/HH/mm/ss}", "2026/03/04/05/06/07"},
		{"!{timestamp:'year='yyyy}/", "year=2026/"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			parts, _, err := firehoseParsePrefix(tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if got := firehoseExpand(parts, at); got != tt.want {
				t.Fatalf("expand = %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"!{timestamp:yyyy", "!{timestamp:}", "!{timestamp:EEE}", "!{random}"} {
		if _, _, err := firehoseParsePrefix(bad); err == nil {
			t.Errorf("firehoseParsePrefix(%q) succeeded, want an error", bad)
		}
	}
}

// firehoseAPI is every Firehose method the simulator implements, with the SDK's
// signatures: the SDK client and the simulator must both satisfy it.
type firehoseAPI interface {
	CreateDeliveryStream(ctx context.Context, in *firehose.CreateDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.CreateDeliveryStreamOutput, error)
	DeleteDeliveryStream(ctx context.Context, in *firehose.DeleteDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.DeleteDeliveryStreamOutput, error)
	DescribeDeliveryStream(ctx context.Context, in *firehose.DescribeDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.DescribeDeliveryStreamOutput, error)
	PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
	PutRecord(ctx context.Context, in *firehose.PutRecordInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordOutput, error)
}

var (
	_ firehoseAPI = (*firehose.Client)(nil)
	_ firehoseAPI = (*Firehose)(nil)
)

// TestFirehoseToCatalogPipeline runs the raw data path of the workload on
// the simulator: Kinesis → Firehose → S3 (dt/hr objects) → ObjectCreated
// notifications → SQS → an event-source mapping → Glue BatchCreatePartition.
func TestFirehoseToCatalogPipeline(t *testing.T) {
	ctx := context.Background()
	w, clk, k := kinesisTestStream(t) // now 00:01:00
	region := w.Region("us-east-1")
	q := region.SQS()
	qURL, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("raw-created")})
	if err != nil {
		t.Fatal(err)
	}
	c := region.S3()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw-bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("raw-bucket"),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			Id: aws.String("raw-created"), QueueArn: aws.String(q.QueueARN("raw-created")), Events: []s3types.Event{"s3:ObjectCreated:*"},
		}}}}); err != nil {
		t.Fatal(err)
	}
	g := region.Glue()
	if _, err := g.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String("lake")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: &gluetypes.TableInput{Name: aws.String("raw"),
		PartitionKeys: []gluetypes.Column{{Name: aws.String("dt"), Type: aws.String("string")}, {Name: aws.String("hr"), Type: aws.String("string")}}}}); err != nil {
		t.Fatal(err)
	}
	firehoseTestCreate(t, region.Firehose(), &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("raw"), DeliveryStreamType: firehosetypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &firehosetypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String(k.StreamARN("ingest"))},
		ExtendedS3DestinationConfiguration: firehoseTestS3Dest("dt=!{timestamp:yyyy-MM-dd}/hr=!{timestamp:HH}/", 5, 60, true),
	})
	keyRE := regexp.MustCompile(`^dt=([0-9-]+)/hr=([0-9]{2})/`)
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, m := range ev.Records {
			var s3ev events.S3Event
			if err := json.Unmarshal([]byte(m.Body), &s3ev); err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				continue
			}
			var parts []gluetypes.PartitionInput
			for _, r := range s3ev.Records {
				key, err := url.QueryUnescape(r.S3.Object.Key)
				mm := keyRE.FindStringSubmatch(key)
				if err != nil || mm == nil {
					continue
				}
				parts = append(parts, gluetypes.PartitionInput{Values: []string{mm[1], mm[2]},
					StorageDescriptor: &gluetypes.StorageDescriptor{Location: aws.String("s3://raw-bucket/" + mm[0])}})
			}
			if len(parts) == 0 {
				continue
			}
			out, err := g.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), PartitionInputList: parts})
			if err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				continue
			}
			for _, e := range out.Errors {
				if aws.ToString(e.ErrorDetail.ErrorCode) != "AlreadyExistsException" {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				}
			}
		}
		return resp, nil
	}
	pctx, cancel := context.WithCancel(ctx)
	done := clk.Go(func() { _ = q.Poll(pctx, *qURL.QueueUrl, 10, handler) })
	put := func(id string) {
		if _, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ingest"), PartitionKey: aws.String(id), Data: []byte(`{"id":"` + id + `"}` + "\n")}); err != nil {
			t.Fatal(err)
		}
	}
	put("a") // 00:01
	_ = clk.Sleep(ctx, 2*time.Minute)
	put("b") // 00:03, same hour: a second object, the same partition
	_ = clk.Sleep(ctx, time.Hour)
	put("c") // 01:03
	_ = clk.Sleep(ctx, 5*time.Minute)
	cancel()
	_ = clk.Await(ctx, done, 0)

	if got := region.Firehose().Stats("raw"); got.Objects != 3 || got.Records != 3 {
		t.Fatalf("firehose stats %+v, want 3 objects of 1 record", got)
	}
	if got, want := g.PartitionCount("lake", "raw"), 2; got != want {
		t.Fatalf("partitions = %d, want %d", got, want)
	}
	for _, hr := range []string{"00", "01"} {
		if _, err := g.GetPartition(ctx, &glue.GetPartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), PartitionValues: []string{"2026-11-25", hr}}); err != nil {
			t.Fatalf("partition hr=%s: %v", hr, err)
		}
	}
	if v, f := sqsTestCounts(t, q, *qURL.QueueUrl); v+f != 0 {
		t.Fatalf("%d notifications left in the queue", v+f)
	}
}

func TestFirehoseDropsAfter24Hours(t *testing.T) {
	ctx := context.Background()
	w, clk, _ := kinesisTestStream(t)
	f := w.Region("us-east-1").Firehose()
	// The bucket does not exist: every delivery fails until Firehose gives up.
	firehoseTestCreate(t, f, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("direct"), ExtendedS3DestinationConfiguration: firehoseTestS3Dest("direct/", 5, 0, false)})
	if _, err := f.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("direct"),
		Records: []firehosetypes.Record{{Data: []byte("{\"a\":1}\n")}, {Data: []byte("{\"a\":2}\n")}, {Data: []byte("{\"a\":3}\n")}}}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, time.Hour)
	if got, want := f.Stats("direct"), (FirehoseStats{Pending: 1}); got != want {
		t.Fatalf("after 1 h: %+v, want %+v", got, want)
	}
	_ = clk.Sleep(ctx, 23*time.Hour+10*time.Second) // the first attempt was ~1 s after the put
	if got, want := f.Stats("direct"), (FirehoseStats{Dropped: 1, DroppedRecords: 3}); got != want {
		t.Fatalf("after 24 h of failures: %+v, want %+v", got, want)
	}
}

func TestFirehoseDeliverBuffer(t *testing.T) {
	ctx := context.Background()
	w, clk, _ := kinesisTestStream(t)
	_, _ = w.Region("us-east-1").S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw-bucket")})
	f := w.Region("us-east-1").Firehose()
	d := firehoseTestS3Dest("raw/", 5, 60, true)
	d.ProcessingConfiguration = &firehosetypes.ProcessingConfiguration{Enabled: aws.Bool(true), Processors: []firehosetypes.Processor{{Type: firehosetypes.ProcessorTypeAppendDelimiterToRecord}}}
	firehoseTestCreate(t, f, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("direct"), ExtendedS3DestinationConfiguration: d})
	arrival := clk.Now().Add(-30 * time.Minute)
	recs := [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`)}
	if err := f.DeliverBuffer("direct", arrival, recs); err != nil {
		t.Fatal(err)
	}
	if string(recs[0]) != `{"a":1}` {
		t.Fatalf("the caller's record was changed: %q", recs[0])
	}
	_ = clk.Sleep(ctx, time.Second)
	objs := firehoseTestObjects(t, w, "us-east-1", "raw-bucket")
	if len(objs) != 1 {
		t.Fatalf("%d objects, want 1", len(objs))
	}
	for key, body := range objs {
		// Named by the arrival, as any delivery of those records.
		if want := "raw/direct-1-" + arrival.UTC().Format("2006-01-02-15-04-05") + "-"; !strings.HasPrefix(key, want) || !strings.HasSuffix(key, ".gz") {
			t.Fatalf("key %q, want %s….gz", key, want)
		}
		if got, want := string(body), "{\"a\":1}\n{\"a\":2}\n"; got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
	}
	if err := f.DeliverBuffer("nope", arrival, recs); err == nil || !strings.Contains(err.Error(), `no delivery stream "nope"`) {
		t.Fatalf("unknown stream: err = %v", err)
	}
}

// Records written while Firehose reads its source, after the read's last
// GetRecords, are read by a read scheduled when that one ends: their
// write's notice came while the read ran, and is not lost.
func TestFirehoseReadsRecordsWrittenDuringARead(t *testing.T) {
	ctx := context.Background()
	w, clk, k := kinesisTestStream(t)
	if _, err := w.Region("us-east-1").S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw-bucket")}); err != nil {
		t.Fatal(err)
	}
	f := w.Region("us-east-1").Firehose()
	firehoseTestCreate(t, f, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("raw"), DeliveryStreamType: firehosetypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &firehosetypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String(k.StreamARN("ingest"))},
		ExtendedS3DestinationConfiguration: firehoseTestS3Dest("", 1, 60, false),
	})
	put := func(id string) {
		if _, err := k.PutRecords(Unmetered(ctx), &kinesis.PutRecordsInput{StreamName: aws.String("ingest"),
			Records: []kinesistypes.PutRecordsRequestEntry{{PartitionKey: aws.String(id), Data: []byte(`{"id":"` + id + `"}` + "\n")}}}); err != nil {
			t.Error(err)
		}
	}
	wrote := false
	firehoseAfterRead = func() {
		if !wrote {
			wrote = true
			put("late")
		}
	}
	t.Cleanup(func() { firehoseAfterRead = nil })
	put("first")
	_ = clk.Sleep(ctx, 2*time.Minute)
	if !wrote {
		t.Fatal("no read of the source ran")
	}
	if got := f.Stats("raw"); got.Records != 2 || got.Buffered != 0 {
		t.Fatalf("%+v, want both records delivered, the one written during the read too", got)
	}
}
