package aggregate

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// FuzzHandleData feeds arbitrary stream record data to the handler: it must
// never panic or fail the batch, and counts a record at most once however
// often it arrives.
func FuzzHandleData(f *testing.F) {
	f.Add([]byte(`{"id":"a1","ts":"2026-11-25T02:31:10Z","received":"2026-11-25T02:32:05Z","region":"us-east-1","producer":"p1","data":{"v":1}}` + "\n"))
	f.Add([]byte(`{"id":"c1","ts":"2026-11-25T02:31:20Z","received":"2026-11-25T02:32:05Z","region":"us-east-1","canary":true,"data":{}}`))
	f.Add([]byte(`{"id":"z","data":{}}`))
	f.Add([]byte(`{"id":"","data":{}}`))
	f.Add([]byte(`{"id":"a","ts":"0001-01-01T00:00:00Z","data":null}`))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newMemTable()
		h := NewHandler(newTestAggregator(&m.fake, "us-east-1", clock.NewVirtual(t0)), quietLog())
		rec := events.KinesisEventRecord{}
		rec.Kinesis.Data = data
		rec.Kinesis.SequenceNumber = "1"
		ev := events.KinesisEvent{Records: []events.KinesisEventRecord{rec, rec}}
		for round := 0; round < 2; round++ {
			resp, err := h.Handle(context.Background(), ev)
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Handle(%q) = %v, %v", data, resp, err)
			}
		}
		var total int64
		for _, s := range m.dump() {
			if s["sk"] == summarySK {
				total += mustInt(t, s["records"])
			}
		}
		if total > 1 {
			t.Fatalf("one record counted %d times", total)
		}
	})
}

func mustInt(t *testing.T, v any) int64 {
	n, ok := v.(jsonNumber)
	if !ok {
		t.Fatalf("records is %T", v)
	}
	var x int64
	for _, c := range n {
		x = x*10 + int64(c-'0')
	}
	return x
}
