package sim

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// kinesisTestStream returns a world and an ACTIVE stream "ingest" in us-east-1.
func kinesisTestStream(t testing.TB) (*World, *clock.Virtual, *Kinesis) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	k := w.Region("us-east-1").Kinesis()
	ctx := context.Background()
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("ingest"),
		StreamModeDetails: &kinesistypes.StreamModeDetails{StreamMode: kinesistypes.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	if err := clk.Sleep(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	return w, clk, k
}

func kinesisTestPut(t *testing.T, k *Kinesis, keys []string) []kinesistypes.PutRecordsResultEntry {
	t.Helper()
	var entries []kinesistypes.PutRecordsRequestEntry
	for i, key := range keys {
		entries = append(entries, kinesistypes.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	}
	out, err := k.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	return out.Records
}

// kinesisTestDeliveries returns a mapping of stream "ingest" whose
// handler notes the instant it is handed each record.
func kinesisTestDeliveries(k *Kinesis, clk *clock.Virtual) (*KinesisESM, *[]time.Time) {
	var delivered []time.Time
	esm := k.NewEventSourceMapping(KinesisESMConfig{Stream: "ingest"}, func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		for range ev.Records {
			delivered = append(delivered, clk.Now())
		}
		return events.KinesisEventResponse{}, nil
	})
	return esm, &delivered
}

// kinesisTestSeqLess orders sequence numbers numerically.
func kinesisTestSeqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func TestKinesisStreamLifecycle(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	k := w.Region("us-east-1").Kinesis()
	status := func() kinesistypes.StreamStatus {
		out, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("ingest")})
		if err != nil {
			t.Fatal(err)
		}
		return out.StreamDescriptionSummary.StreamStatus
	}
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("ingest")}); err != nil {
		t.Fatal(err)
	}
	if got, want := status(), kinesistypes.StreamStatusCreating; got != want {
		t.Fatalf("status = %s, want %s", got, want)
	}
	_, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ingest"), PartitionKey: aws.String("k"), Data: []byte("x")})
	var nf *kinesistypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("put to a CREATING stream: err = %v, want ResourceNotFoundException", err)
	}
	_ = clk.Sleep(ctx, 59*time.Second) // docs/aws-facts.md: on-demand creation under a minute
	if got, want := status(), kinesistypes.StreamStatusActive; got != want {
		t.Fatalf("status after 59 s = %s, want %s", got, want)
	}
	_, err = k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("ingest")})
	var inUse *kinesistypes.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("create twice: err = %v, want ResourceInUseException", err)
	}
	if _, err := k.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("ingest")}); err != nil {
		t.Fatal(err)
	}
	if got, want := status(), kinesistypes.StreamStatusDeleting; got != want {
		t.Fatalf("status = %s, want %s", got, want)
	}
	_ = clk.Sleep(ctx, time.Minute)
	_, err = k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(k.StreamARN("ingest"))})
	if !errors.As(err, &nf) {
		t.Fatalf("deleted stream: err = %v, want ResourceNotFoundException", err)
	}
	t.Run("DormantRegionHasNoStream", func(t *testing.T) {
		_, err := w.Region("us-east-2").Kinesis().PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"),
			Records: []kinesistypes.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("x")}}})
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v, want ResourceNotFoundException", err)
		}
	})
	t.Run("RegionDown", func(t *testing.T) {
		w.SetDown("us-east-1", true)
		defer w.SetDown("us-east-1", false)
		_, err := k.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("ingest")})
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	})
}

func TestKinesisOrderingAndIterators(t *testing.T) {
	ctx := context.Background()
	_, clk, k := kinesisTestStream(t)
	var keys []string
	for i := 0; i < 200; i++ {
		keys = append(keys, fmt.Sprintf("producer-%d", i%10))
	}
	first := kinesisTestPut(t, k, keys[:100])
	_ = clk.Sleep(ctx, 10*time.Second)
	mid := clk.Now()
	second := kinesisTestPut(t, k, keys[100:])
	results := append(first, second...)

	// Same key -> same shard, sequence numbers increasing in put order.
	shardOf, lastSeq := map[string]string{}, map[string]string{}
	for i, r := range results {
		if r.ErrorCode != nil {
			t.Fatalf("record %d failed: %s", i, *r.ErrorCode)
		}
		key := keys[i]
		if s, ok := shardOf[key]; ok && s != *r.ShardId {
			t.Fatalf("key %s on shards %s and %s", key, s, *r.ShardId)
		}
		shardOf[key] = *r.ShardId
		if prev := lastSeq[*r.ShardId]; prev != "" && !kinesisTestSeqLess(prev, *r.SequenceNumber) {
			t.Fatalf("sequence %s after %s on %s", *r.SequenceNumber, prev, *r.ShardId)
		}
		lastSeq[*r.ShardId] = *r.SequenceNumber
	}
	shards, err := k.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("ingest")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(shards.Shards), 4; got != want {
		t.Fatalf("shards = %d, want %d (on-demand)", got, want)
	}
	used := map[string]bool{}
	for _, s := range shardOf {
		used[s] = true
	}
	if len(used) < 2 {
		t.Fatalf("10 keys all hashed to %v", used)
	}

	read := func(t *testing.T, in *kinesis.GetShardIteratorInput, limit int32) ([]kinesistypes.Record, *kinesis.GetRecordsOutput) {
		t.Helper()
		in.StreamName = aws.String("ingest")
		it, err := k.GetShardIterator(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(limit)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Records, out
	}
	total := 0
	for _, sh := range shards.Shards {
		recs, _ := read(t, &kinesis.GetShardIteratorInput{ShardId: sh.ShardId, ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon}, 10000)
		for i := 1; i < len(recs); i++ {
			if !kinesisTestSeqLess(*recs[i-1].SequenceNumber, *recs[i].SequenceNumber) {
				t.Fatalf("shard %s out of order", *sh.ShardId)
			}
		}
		total += len(recs)
	}
	if total != 200 {
		t.Fatalf("read %d records, want 200", total)
	}

	shard := first[0].ShardId
	t.Run("Latest", func(t *testing.T) {
		recs, _ := read(t, &kinesis.GetShardIteratorInput{ShardId: shard, ShardIteratorType: kinesistypes.ShardIteratorTypeLatest}, 100)
		if len(recs) != 0 {
			t.Fatalf("LATEST returned %d old records", len(recs))
		}
	})
	t.Run("AtAndAfterSequenceNumber", func(t *testing.T) {
		seq := first[0].SequenceNumber
		at, _ := read(t, &kinesis.GetShardIteratorInput{ShardId: shard, ShardIteratorType: kinesistypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: seq}, 1)
		after, _ := read(t, &kinesis.GetShardIteratorInput{ShardId: shard, ShardIteratorType: kinesistypes.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: seq}, 1)
		if *at[0].SequenceNumber != *seq || !kinesisTestSeqLess(*seq, *after[0].SequenceNumber) {
			t.Fatalf("AT %s AFTER %s for %s", *at[0].SequenceNumber, *after[0].SequenceNumber, *seq)
		}
		if string(at[0].Data) != `{"i":0}` {
			t.Fatalf("data = %s", at[0].Data)
		}
	})
	t.Run("AtTimestampAndMillisBehind", func(t *testing.T) {
		recs, out := read(t, &kinesis.GetShardIteratorInput{ShardId: shard, ShardIteratorType: kinesistypes.ShardIteratorTypeAtTimestamp, Timestamp: &mid}, 10000)
		for _, r := range recs {
			if r.ApproximateArrivalTimestamp.Before(mid) {
				t.Fatalf("record from %v before AT_TIMESTAMP %v", r.ApproximateArrivalTimestamp, mid)
			}
		}
		if len(recs) == 0 || *out.MillisBehindLatest != 0 {
			t.Fatalf("%d records, %d ms behind", len(recs), *out.MillisBehindLatest)
		}
		_, out = read(t, &kinesis.GetShardIteratorInput{ShardId: shard, ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon}, 1)
		if got, want := *out.MillisBehindLatest, int64(0); got <= want {
			t.Fatalf("MillisBehindLatest = %d after reading 1 record of many, want > 0", got)
		}
	})
	t.Run("IteratorExpires", func(t *testing.T) {
		it, _ := k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("ingest"), ShardId: shard, ShardIteratorType: kinesistypes.ShardIteratorTypeLatest})
		_ = clk.Sleep(ctx, 6*time.Minute)
		_, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		var exp *kinesistypes.ExpiredIteratorException
		if !errors.As(err, &exp) {
			t.Fatalf("err = %v, want ExpiredIteratorException", err)
		}
	})
	t.Run("SequenceNumberOfAnotherShard", func(t *testing.T) {
		var other *string
		for _, r := range results {
			if *r.ShardId != *shard {
				other = r.SequenceNumber
			}
		}
		_, err := k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("ingest"), ShardId: shard, ShardIteratorType: kinesistypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: other})
		var inv *kinesistypes.InvalidArgumentException
		if !errors.As(err, &inv) {
			t.Fatalf("err = %v, want InvalidArgumentException", err)
		}
	})
	t.Run("Retention24h", func(t *testing.T) {
		_ = clk.Sleep(ctx, 24*time.Hour)
		if got := k.RecordCount("ingest"); got != 0 {
			t.Fatalf("%d records left after 24 h", got)
		}
	})
}

func TestKinesisPutRecordsPartialFailure(t *testing.T) {
	ctx := context.Background()
	_, _, k := kinesisTestStream(t)
	k.ThrottleRecords("ingest", 3)
	res := kinesisTestPut(t, k, []string{"a", "b", "c", "d", "e"})
	failed := 0
	for i, r := range res {
		if r.ErrorCode != nil {
			failed++
			if *r.ErrorCode != "ProvisionedThroughputExceededException" || r.SequenceNumber != nil || i >= 3 {
				t.Fatalf("record %d: %v %v", i, *r.ErrorCode, r.SequenceNumber)
			}
		}
	}
	if failed != 3 || k.RecordCount("ingest") != 2 {
		t.Fatalf("failed %d, stored %d; want 3 and 2", failed, k.RecordCount("ingest"))
	}
	t.Run("TooManyRecords", func(t *testing.T) {
		entries := make([]kinesistypes.PutRecordsRequestEntry, 501)
		for i := range entries {
			entries[i] = kinesistypes.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte("x")}
		}
		_, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: entries})
		var ve *kinesistypes.ValidationException
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v, want ValidationException", err)
		}
	})
	t.Run("PutRecordThrottled", func(t *testing.T) {
		k.ThrottleRecords("ingest", 1)
		_, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ingest"), PartitionKey: aws.String("k"), Data: []byte("x")})
		var pt *kinesistypes.ProvisionedThroughputExceededException
		if !errors.As(err, &pt) {
			t.Fatalf("err = %v, want ProvisionedThroughputExceededException", err)
		}
	})
}

func TestKinesisEventSourceMapping(t *testing.T) {
	ctx := context.Background()
	w, clk, k := kinesisTestStream(t)
	var keys []string
	for i := 0; i < 60; i++ {
		keys = append(keys, fmt.Sprintf("p%d", i%6))
	}
	res := kinesisTestPut(t, k, keys)
	poison := *res[7].SequenceNumber // fails once via batch item failure
	boom := *res[20].SequenceNumber  // its batch fails once with a function error
	deliveries := map[string]int{}
	lastOnShard := map[string]string{}
	failedOnce := map[string]bool{}
	esm := k.NewEventSourceMapping(KinesisESMConfig{Stream: "ingest", BatchSize: 10}, func(_ context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		var resp events.KinesisEventResponse
		for _, r := range ev.Records {
			if r.EventSource != "aws:kinesis" || r.EventSourceArn != k.StreamARN("ingest") || r.Kinesis.ApproximateArrivalTimestamp.IsZero() {
				t.Errorf("record shape: %+v", r)
			}
			seq := r.Kinesis.SequenceNumber
			if seq == boom && !failedOnce[boom] {
				failedOnce[boom] = true
				return resp, errors.New("function error")
			}
		}
		for _, r := range ev.Records {
			seq := r.Kinesis.SequenceNumber
			shard := r.EventID[:len(r.EventID)-len(seq)-1]
			// Within a shard, a record is never delivered before one it follows,
			// unless the shard was rewound by a failure.
			if last := lastOnShard[shard]; last != "" && !kinesisTestSeqLess(last, seq) && !failedOnce[poison] && !failedOnce[boom] {
				t.Errorf("shard %s: %s after %s", shard, seq, last)
			}
			lastOnShard[shard] = seq
			deliveries[seq]++
			if seq == poison && !failedOnce[poison] {
				failedOnce[poison] = true
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: seq})
			}
		}
		return resp, nil
	})
	rctx, cancel := context.WithCancel(ctx)
	done := clk.Go(func() { _ = esm.Run(rctx) })
	_ = clk.Sleep(ctx, 30*time.Second)
	// Records put while the mapping runs are delivered too; a region outage
	// only delays delivery.
	w.SetDown("us-east-1", true)
	_ = clk.Sleep(ctx, 10*time.Minute) // longer than an iterator's life
	w.SetDown("us-east-1", false)
	late := kinesisTestPut(t, k, []string{"p0", "p1"})
	_ = clk.Sleep(ctx, 30*time.Second)
	cancel()
	_ = clk.Await(ctx, done, 0)

	for i, r := range append(res, late...) {
		if deliveries[*r.SequenceNumber] == 0 {
			t.Fatalf("record %d (%s) never delivered", i, *r.SequenceNumber)
		}
	}
	if deliveries[poison] != 2 {
		t.Fatalf("poison record delivered %d times, want 2 (failed, then retried)", deliveries[poison])
	}
	if !failedOnce[boom] || deliveries[boom] != 1 {
		t.Fatalf("record after a function error delivered %d times, want 1 successful delivery", deliveries[boom])
	}
	st := esm.Stats()
	if st.Failures != 2 || st.APIErrors == 0 {
		t.Fatalf("stats = %+v, want 2 failures and some API errors during the outage", st)
	}
}

func BenchmarkKinesisPutRecords500(b *testing.B) {
	ctx := context.Background()
	_, _, k := kinesisTestStream(b)
	entries := make([]kinesistypes.PutRecordsRequestEntry, 500)
	for i := range entries {
		entries[i] = kinesistypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("producer-%d", i)), Data: make([]byte, 200)}
	}
	in := &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: entries}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		out, err := k.PutRecords(ctx, in)
		if err != nil || *out.FailedRecordCount != 0 {
			b.Fatal(err)
		}
		n++
		if n%100 == 0 { // keep memory bounded: a fresh stream now and then
			b.StopTimer()
			_, _, k = kinesisTestStream(b)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*len(entries)), "ns/record")
}

// TestKinesisEventGolden pins the aws-lambda-go Kinesis event the
// event-source mapping emulator builds.
func TestKinesisEventGolden(t *testing.T) {
	ctx := context.Background()
	_, clk, k := kinesisTestStream(t)
	kinesisTestPut(t, k, []string{"producer-1", "producer-1"})
	var got events.KinesisEvent
	esm := k.NewEventSourceMapping(KinesisESMConfig{Stream: "ingest", BatchSize: 10}, func(_ context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		if len(got.Records) == 0 {
			got = ev
		}
		return events.KinesisEventResponse{}, nil
	})
	rctx, cancel := context.WithCancel(ctx)
	done := clk.Go(func() { _ = esm.Run(rctx) })
	_ = clk.Sleep(ctx, 5*time.Second)
	cancel()
	_ = clk.Await(ctx, done, 0)
	if len(got.Records) != 2 {
		t.Fatalf("got %d records, want 2 in one batch", len(got.Records))
	}
	sqsGolden(t, "kinesis_event.golden.json", got)
}

// kinesisAPI is every Kinesis method the simulator implements, with the SDK's
// signatures: the SDK client and the simulator must both satisfy it.
type kinesisAPI interface {
	CreateStream(ctx context.Context, in *kinesis.CreateStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error)
	DeleteStream(ctx context.Context, in *kinesis.DeleteStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.DeleteStreamOutput, error)
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	PutRecord(ctx context.Context, in *kinesis.PutRecordInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error)
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

var (
	_ kinesisAPI = (*kinesis.Client)(nil)
	_ kinesisAPI = (*Kinesis)(nil)
)

func TestKinesisEventSourceMappingErrorHandling(t *testing.T) {
	ctx := context.Background()
	const n, poisonAt = 20, 5 // one shard (one partition key), batches of 8
	type outcome struct {
		seqs      []string       // the records put, in order
		delivered map[string]int // successful deliveries per record
		batches   []int          // the size of every invocation
		failures  []KinesisESMFailure
		stats     KinesisESMStats
	}
	run := func(t *testing.T, cfg KinesisESMConfig, itemFailure bool, before func(*clock.Virtual)) outcome {
		t.Helper()
		_, clk, k := kinesisTestStream(t)
		keys := make([]string, n)
		for i := range keys {
			keys[i] = "one-shard"
		}
		var o outcome
		for _, r := range kinesisTestPut(t, k, keys) {
			o.seqs = append(o.seqs, aws.ToString(r.SequenceNumber))
		}
		poison := o.seqs[poisonAt]
		o.delivered = map[string]int{}
		if before != nil {
			before(clk)
		}
		cfg.Stream, cfg.BatchSize = "ingest", 8
		cfg.OnFailure = func(_ context.Context, f KinesisESMFailure) { o.failures = append(o.failures, f) }
		esm := k.NewEventSourceMapping(cfg, func(_ context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
			o.batches = append(o.batches, len(ev.Records))
			var resp events.KinesisEventResponse
			for _, r := range ev.Records {
				if r.Kinesis.SequenceNumber == poison {
					if !itemFailure {
						return resp, errors.New("poison record")
					}
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: poison})
				}
			}
			for _, r := range ev.Records {
				if r.Kinesis.SequenceNumber < poison || !itemFailure || len(resp.BatchItemFailures) == 0 {
					o.delivered[r.Kinesis.SequenceNumber]++
				}
			}
			return resp, nil
		})
		rctx, cancel := context.WithCancel(ctx)
		done := clk.Go(func() { _ = esm.Run(rctx) })
		_ = clk.Sleep(ctx, 10*time.Minute)
		cancel()
		_ = clk.Await(ctx, done, 0)
		o.stats = esm.Stats()
		return o
	}
	// deliveredOnce checks every record but the skipped ones was processed exactly once.
	deliveredOnce := func(t *testing.T, o outcome, skipped map[int]bool) {
		t.Helper()
		for i, seq := range o.seqs {
			want := 1
			if skipped[i] {
				want = 0
			}
			if got := o.delivered[seq]; got != want {
				t.Fatalf("record %d processed %d times, want %d", i, got, want)
			}
		}
	}
	span := func(from, to int) map[int]bool {
		m := map[int]bool{}
		for i := from; i <= to; i++ {
			m[i] = true
		}
		return m
	}

	t.Run("DefaultRetriesForever", func(t *testing.T) {
		o := run(t, KinesisESMConfig{}, false, nil)
		if got, want := o.stats.Discarded, 0; got != want {
			t.Fatalf("discarded = %d, want %d", got, want)
		}
		if len(o.failures) != 0 || o.stats.Failures < 100 {
			t.Fatalf("stats = %+v, failures %v: want the batch retried all along, nothing discarded", o.stats, o.failures)
		}
		deliveredOnce(t, o, span(0, n-1)) // the shard is stuck at the first batch
	})
	t.Run("MaximumRetryAttempts", func(t *testing.T) {
		o := run(t, KinesisESMConfig{MaximumRetryAttempts: 2}, false, nil)
		if got, want := o.batches[:3], []int{8, 8, 8}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("first invocations %v, want %v (the batch, then 2 retries)", got, want)
		}
		if got, want := len(o.failures), 1; got != want {
			t.Fatalf("on-failure records = %d, want %d", got, want)
		}
		f := o.failures[0]
		if f.Reason != KinesisESMRetryAttemptsExhausted || f.BatchSize != 8 || f.InvokeCount != 3 || f.Err == nil ||
			f.StartSequenceNumber != o.seqs[0] || f.EndSequenceNumber != o.seqs[7] || f.ShardID == "" || f.ApproximateArrivalOfFirstRecord.IsZero() {
			t.Fatalf("failure = %+v, want the first batch of 8 after 3 invocations", f)
		}
		if got, want := o.stats.Discarded, 8; got != want {
			t.Fatalf("discarded = %d, want %d", got, want)
		}
		deliveredOnce(t, o, span(0, 7))
	})
	t.Run("MaximumRetryAttemptsWithItemFailures", func(t *testing.T) {
		o := run(t, KinesisESMConfig{MaximumRetryAttempts: 1}, true, nil)
		if got, want := len(o.failures), 1; got != want {
			t.Fatalf("on-failure records = %d, want %d", got, want)
		}
		// The first invocation fails at the poison record; the retry starts
		// there (8 records: 5..12) and fails again: 5..12 are discarded.
		f := o.failures[0]
		if f.Reason != KinesisESMRetryAttemptsExhausted || f.StartSequenceNumber != o.seqs[poisonAt] || f.EndSequenceNumber != o.seqs[poisonAt+7] || f.BatchSize != 8 || f.Err != nil {
			t.Fatalf("failure = %+v, want records %d..%d", f, poisonAt, poisonAt+7)
		}
		if got, want := o.stats.Discarded, 8; got != want {
			t.Fatalf("discarded = %d, want %d", got, want)
		}
		deliveredOnce(t, o, span(poisonAt, poisonAt+7))
	})
	t.Run("BisectBatchOnFunctionError", func(t *testing.T) {
		o := run(t, KinesisESMConfig{MaximumRetryAttempts: 1, BisectBatchOnFunctionError: true}, false, nil)
		// 0..7 fails → 0..3 passes, 4..7 fails → 4,5 fails → 4 passes, 5
		// alone fails twice (a split is not a retry) and is discarded on
		// its own → 6,7 pass.
		if got, want := fmt.Sprint(o.batches[:8]), fmt.Sprint([]int{8, 4, 4, 2, 1, 1, 1, 2}); got != want {
			t.Fatalf("invocation sizes %v, want %v", got, want)
		}
		if got, want := len(o.failures), 1; got != want {
			t.Fatalf("on-failure records = %d, want %d", got, want)
		}
		if f := o.failures[0]; f.BatchSize != 1 || f.StartSequenceNumber != o.seqs[poisonAt] || f.InvokeCount != 2 {
			t.Fatalf("failure = %+v, want the poison record alone after 2 invocations", f)
		}
		if got, want := o.stats.Discarded, 1; got != want {
			t.Fatalf("discarded = %d, want %d", got, want)
		}
		deliveredOnce(t, o, map[int]bool{poisonAt: true})
	})
	t.Run("MaximumRecordAge", func(t *testing.T) {
		// The mapping starts 5 minutes after the records arrived: they are
		// all older than the maximum age and never reach the function.
		o := run(t, KinesisESMConfig{MaximumRecordAge: time.Minute}, false, func(clk *clock.Virtual) {
			_ = clk.Sleep(context.Background(), 5*time.Minute)
		})
		if len(o.batches) != 0 {
			t.Fatalf("invocations %v, want none", o.batches)
		}
		if got, want := o.stats.Discarded, n; got != want {
			t.Fatalf("discarded = %d, want %d", got, want)
		}
		total := 0
		for _, f := range o.failures {
			if f.Reason != KinesisESMRecordAgeExceeded || f.InvokeCount != 0 {
				t.Fatalf("failure = %+v, want RecordAgeExceeded, never invoked", f)
			}
			total += f.BatchSize
		}
		if total != n {
			t.Fatalf("on-failure records cover %d records, want %d", total, n)
		}
	})
	t.Run("MaximumRecordAgeEndsRetries", func(t *testing.T) {
		// The failing batch is retried until it is older than the maximum
		// age; the backlog behind it, put at the same time, is as old.
		o := run(t, KinesisESMConfig{MaximumRecordAge: 2 * time.Minute}, false, nil)
		if o.stats.Failures < 10 {
			t.Fatalf("stats = %+v, want the batch retried until it aged out", o.stats)
		}
		if got, want := o.stats.Discarded, n; got != want {
			t.Fatalf("discarded = %d, want %d", got, want)
		}
		if len(o.failures) == 0 || o.failures[0].Reason != KinesisESMRecordAgeExceeded || o.failures[0].StartSequenceNumber != o.seqs[0] {
			t.Fatalf("failures = %+v, want the first batch discarded for age", o.failures)
		}
		deliveredOnce(t, o, span(0, n-1))
	})
}

// TestKinesisEventSourceMappingIteratorAge: the mapping publishes Lambda's
// AWS/Lambda IteratorAge for its function: the age of the newest record of a
// batch when it is handed over.
func TestKinesisEventSourceMappingIteratorAge(t *testing.T) {
	ctx := context.Background()
	w, clk, k := kinesisTestStream(t)
	start := clk.Now()
	kinesisTestPut(t, k, []string{"a", "b", "c"})
	_ = clk.Sleep(ctx, 2*time.Minute) // the records wait before the consumer starts
	esm := k.NewEventSourceMapping(KinesisESMConfig{Stream: "ingest", BatchSize: 10,
		FunctionARN: "arn:aws:lambda:us-east-1:111111111111:function:pendulum-aggregate"},
		func(context.Context, events.KinesisEvent) (events.KinesisEventResponse, error) {
			return events.KinesisEventResponse{}, nil
		})
	rctx, cancel := context.WithCancel(ctx)
	done := clk.Go(func() { _ = esm.Run(rctx) })
	_ = clk.Sleep(ctx, 30*time.Second)
	cancel()
	_ = clk.Await(ctx, done, 0)
	out, err := w.Region("us-east-1").CloudWatch().GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("IteratorAge"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String("pendulum-aggregate")}},
		StartTime:  aws.Time(start), EndTime: aws.Time(clk.Now()), Period: aws.Int32(3600),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Datapoints) != 1 {
		t.Fatalf("datapoints %+v, want one", out.Datapoints)
	}
	if got := aws.ToFloat64(out.Datapoints[0].Maximum); got < 120_000 || got > 150_000 {
		t.Fatalf("IteratorAge max = %v ms, want the ~2 minutes the records waited", got)
	}
}

// An idle mapping waits for a write instead of polling every second, and
// still hands a record over when polling would have: at the first poll of
// its one-second grid after the write. It polls at least every 4 minutes
// (its iterators never expire), a region outage while it idles is seen at
// once (API errors), and records written meanwhile are delivered when the
// region is back.
func TestKinesisEventSourceMappingIdlesUntilAWrite(t *testing.T) {
	ctx := context.Background()
	w, clk, k := kinesisTestStream(t)
	esm, delivered := kinesisTestDeliveries(k, clk)
	rctx, cancel := context.WithCancel(ctx)
	started := clk.Now()
	done := clk.Go(func() { _ = esm.Run(rctx) })
	key := CallKey{Region: "us-east-1", Service: kinesis.ServiceID, Operation: "GetRecords"}
	before := w.CallCount(key)
	_ = clk.Sleep(ctx, time.Hour)
	shards := 4
	if n := w.CallCount(key) - before; n > shards*(60/4+2) {
		t.Fatalf("%d GetRecords calls in an idle hour, want a poll per shard every 4 minutes at most, not every second", n)
	}
	_ = clk.Sleep(ctx, 300*time.Millisecond) // off the mapping's grid
	put := clk.Now()
	kinesisTestPut(t, k, []string{"a"})
	_ = clk.Sleep(ctx, 5*time.Second)
	if len(*delivered) != 1 {
		t.Fatalf("%d records delivered, want 1", len(*delivered))
	}
	lag := (*delivered)[0].Sub(put)
	if lag <= 0 || lag > time.Second || (*delivered)[0].Sub(started)%time.Second != 0 {
		t.Fatalf("delivered %s after the write, at %s into the run: want the next poll of the one-second grid", lag, (*delivered)[0].Sub(started))
	}

	w.SetDown("us-east-1", true)
	_ = clk.Sleep(ctx, 2*time.Second)
	if esm.Stats().APIErrors == 0 {
		t.Fatal("an outage while the mapping idled made no poll fail")
	}
	_ = clk.Sleep(ctx, 10*time.Minute)
	w.SetDown("us-east-1", false)
	kinesisTestPut(t, k, []string{"b"})
	_ = clk.Sleep(ctx, 2*time.Second)
	cancel()
	_ = clk.Await(ctx, done, 0)
	if len(*delivered) != 2 {
		t.Fatalf("%d records delivered, want the one written after the outage too", len(*delivered))
	}
}

// TestKinesisIteratorAgeMetric: each GetRecords publishes the stream's
// GetRecords.IteratorAgeMilliseconds, the age of the last record returned,
// and zero for a call at the tip that returned none.
func TestKinesisIteratorAgeMetric(t *testing.T) {
	w, clk, k := kinesisTestStream(t)
	ctx := context.Background()
	res := kinesisTestPut(t, k, []string{"a"})
	it, err := k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("ingest"), ShardId: res[0].ShardId,
		ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 90*time.Second)
	from := clk.Now()
	out, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(out.Records) != 1 {
		t.Fatalf("GetRecords = %v, %v", out, err)
	}
	if _, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: out.NextShardIterator}); err != nil {
		t.Fatal(err)
	}
	stats, err := w.Region("us-east-1").CloudWatch().GetMetricStatistics(Unmetered(ctx), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String(KinesisIteratorAgeMetric),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("StreamName"), Value: aws.String("ingest")}},
		StartTime:  aws.Time(from.Truncate(time.Minute)), EndTime: aws.Time(from.Truncate(time.Minute).Add(2 * time.Minute)), Period: aws.Int32(120),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum, cwtypes.StatisticMinimum, cwtypes.StatisticSampleCount},
	})
	if err != nil || len(stats.Datapoints) != 1 {
		t.Fatalf("statistics = %+v, %v", stats, err)
	}
	d := stats.Datapoints[0]
	if max := aws.ToFloat64(d.Maximum); max < 90_000 || max > 91_000 || aws.ToFloat64(d.Minimum) != 0 || aws.ToFloat64(d.SampleCount) != 2 {
		t.Fatalf("iterator age: max %v, min %v, samples %v; want about 90 s, 0, 2", max, aws.ToFloat64(d.Minimum), aws.ToFloat64(d.SampleCount))
	}
}

// A write that lands after a round's polls found every shard empty, but
// before the mapping listens for writes, is handed over at the next poll
// of the grid, not at the idle refresh minutes later.
func TestKinesisEventSourceMappingSeesAWriteBeforeItListens(t *testing.T) {
	ctx := context.Background()
	_, clk, k := kinesisTestStream(t)
	esm, delivered := kinesisTestDeliveries(k, clk)
	var put time.Time
	esm.beforeIdle = func() {
		if put.IsZero() {
			put = clk.Now()
			kinesisTestPut(t, k, []string{"a"})
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	done := clk.Go(func() { _ = esm.Run(rctx) })
	_ = clk.Sleep(ctx, 10*time.Minute)
	cancel()
	_ = clk.Await(ctx, done, 0)
	if put.IsZero() {
		t.Fatal("the mapping never went idle")
	}
	if len(*delivered) != 1 {
		t.Fatalf("%d records delivered, want 1", len(*delivered))
	}
	if lag := (*delivered)[0].Sub(put); lag > 2*time.Second {
		t.Fatalf("delivered %s after the write, want at the next poll (1 s, and the invocation): the write before the wait listened was missed", lag)
	}
}
