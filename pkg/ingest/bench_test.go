package ingest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// benchBody returns an NDJSON body of n records of about size bytes each,
// shaped like sensor telemetry: a few typed fields and a text payload.
func benchBody(n, size int, withIDs bool) []byte {
	var sb strings.Builder
	for i := range n {
		start := sb.Len()
		sb.WriteString("{")
		if withIDs {
			fmt.Fprintf(&sb, `"id":"sensor-17-20261125-%08d",`, i)
		}
		fmt.Fprintf(&sb, `"ts":"2026-11-25T02:%02d:%02d.%03dZ","producer":"sensor-17","site":"eu-west-1a","temp":%d.%d,"ok":true,"tags":["a","b"],"payload":"`, i/60%60, i%60, i%1000, 20+i%10, i%10)
		if pad := size - 3 - (sb.Len() - start); pad > 0 {
			sb.WriteString(strings.Repeat("lorem ipsum dolor sit amet ", pad/27+1)[:pad])
		}
		sb.WriteString("\"}\n")
	}
	return []byte(sb.String())
}

// BenchmarkParseAndBatch measures the ingest hot path for a full request: a
// 500-record, ~1 MiB NDJSON body parsed, validated, encoded for Kinesis and
// split into PutRecords calls. Targets: < 2 µs and ≤ 3 allocs per record
// (allocs/op ÷ 500). cpu-ns/record is the process CPU time per record, which
// a busy machine does not inflate the way it inflates wall time.
func BenchmarkParseAndBatch(b *testing.B) {
	for _, tc := range []struct {
		name    string
		withIDs bool
	}{{"ProducerIDs", true}, {"DerivedIDs", false}} {
		b.Run(tc.name, func(b *testing.B) {
			body := benchBody(MaxRecords, 2090, tc.withIDs)
			if len(body) > MaxBodyBytes {
				b.Fatalf("body is %d bytes, over the limit", len(body))
			}
			meta := Meta{Received: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC), Region: "eu-west-1", Producer: "sensor-17"}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var (
				calls int
				ps    Parser // reused, as the handler's pool reuses one per warm container
			)
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				p, problems := ps.Parse(body, meta)
				if problems != nil {
					b.Fatalf("problems: %v", problems[0].Reason)
				}
				calls = len(p.Batches("ingest"))
			}
			if calls != 1 {
				b.Fatalf("PutRecords calls = %d, want 1", calls)
			}
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N)/MaxRecords, "allocs/record")
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / MaxRecords
			b.ReportMetric(ns, "ns/record")
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N)/MaxRecords, "cpu-ns/record")
			}
		})
	}
}

// nullStream is a Kinesis stand-in that accepts everything and keeps
// nothing, so BenchmarkHandle measures ingest, not the stand-in.
type nullStream struct{ out kinesis.PutRecordsOutput }

func (s *nullStream) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if cap(s.out.Records) < len(in.Records) {
		s.out.Records = make([]types.PutRecordsResultEntry, len(in.Records))
	}
	s.out.Records, s.out.FailedRecordCount = s.out.Records[:len(in.Records)], aws.Int32(0)
	return &s.out, nil
}

// memTable is an idempotency table in memory with DynamoDB's answers to
// ingest's conditional write (it checks that it is given that write), so
// BenchmarkHandle measures ingest's side of it: hashing, building the
// calls, running them concurrently.
type memTable struct {
	mu    sync.Mutex
	items map[string]string // id → hash
}

func (m *memTable) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if aws.ToString(in.ConditionExpression) != claimCondition || in.ReturnValuesOnConditionCheckFailure != ddbtypes.ReturnValuesOnConditionCheckFailureAllOld {
		return nil, fmt.Errorf("memTable: unexpected write %+v", in)
	}
	id := in.Item[IdempotencyKey].(*ddbtypes.AttributeValueMemberS).Value
	h := in.Item[IdempotencyHash].(*ddbtypes.AttributeValueMemberS).Value
	m.mu.Lock()
	defer m.mu.Unlock()
	if held, ok := m.items[id]; ok && held != h {
		return nil, &ddbtypes.ConditionalCheckFailedException{Item: map[string]ddbtypes.AttributeValue{IdempotencyHash: &ddbtypes.AttributeValueMemberS{Value: held}}}
	}
	m.items[id] = h
	return &dynamodb.PutItemOutput{}, nil
}

// BenchmarkHandle measures a whole POST /records of 500 records (~1 MiB)
// through Handle on the wall clock: parse, one conditional idempotency
// write per record (DefaultClaimConcurrency at a time, against memTable,
// so without DynamoDB's latency), PutRecords (against nullStream) and the
// answer. The ids repeat from one iteration to the next, so every write
// after the first iteration is a redelivery. ns/record is per record.
func BenchmarkHandle(b *testing.B) {
	body := string(benchBody(MaxRecords, 2090, true))
	h := &Handler{Config: Config{StreamName: "s", IdempotencyTable: "ids", Region: "eu-west-1"}, Kinesis: &nullStream{},
		Idempotency: &memTable{items: map[string]string{}}, Clock: clock.Real{}}
	req := postNDJSON(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0, cpuOK := processCPU()
	for b.Loop() {
		resp, _ := h.Handle(b.Context(), req)
		if resp.StatusCode != 200 {
			b.Fatalf("answer %d %s", resp.StatusCode, resp.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/MaxRecords, "ns/record")
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N)/MaxRecords, "cpu-ns/record")
	}
}
