package aggregate

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

// kinesisBatch returns a batch of n records with ids unique to round,
// event times spread over windows minutes, as ingest writes them.
func kinesisBatch(b *testing.B, round, n, windows int) events.KinesisEvent {
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, n)}
	for i := range ev.Records {
		rec := record.Record{
			ID:       fmt.Sprintf("r%08d-%04d", round, i),
			TS:       t0.Add(time.Duration(i%windows) * time.Minute),
			Received: t0,
			Region:   "us-east-1",
			Producer: fmt.Sprintf("producer-%d", i%7),
			Data:     json.RawMessage(`{"sensor":"s-17","value":42.5,"unit":"C"}`),
		}
		line, err := json.Marshal(rec)
		if err != nil {
			b.Fatal(err)
		}
		ev.Records[i].Kinesis.Data = append(line, '\n')
		ev.Records[i].Kinesis.SequenceNumber = fmt.Sprintf("%d", round*n+i)
	}
	return ev
}

// BenchmarkHandle applies Kinesis batches of 100 new records (the event
// source mapping's default batch size) against the in-memory fake and
// reports records/s. The figure includes the fake's own work, so it bounds
// the handler's CPU cost per record; in AWS the transaction round trips
// dominate.
func BenchmarkHandle(b *testing.B) {
	for _, windows := range []int{1, 5} {
		b.Run(fmt.Sprintf("Batch100Windows%d", windows), func(b *testing.B) {
			const n = 100
			batches := make([]events.KinesisEvent, 64)
			for i := range batches {
				batches[i] = kinesisBatch(b, i, n, windows)
			}
			h := NewHandler(newTestAggregator(&newMemTable().fake, "us-east-1", clock.NewVirtual(t0)), quietLog())
			var m *memTable
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if i%len(batches) == 0 {
					b.StopTimer()
					m = newMemTable() // fresh table: every record is new again
					h = NewHandler(newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0)), quietLog())
					b.StartTimer()
				}
				resp, err := h.Handle(context.Background(), batches[i%len(batches)])
				if err != nil || len(resp.BatchItemFailures) != 0 {
					b.Fatalf("Handle: %v %v", resp, err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}
