package partition

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// benchKeys returns n Firehose-style object keys of the raw table spread
// evenly over 240 hour partitions (ten days), in time order.
func benchKeys(n int) []string {
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	keys := make([]string, n)
	for i := range keys {
		h := start.Add(time.Duration(i*240/n) * time.Hour)
		keys[i] = fmt.Sprintf("dt=%s/hr=%s/pendulum-raw-1-%s-%08x.json.gz", h.Format("2006-01-02"), h.Format("15"), h.Format("2006-01-02-15-04-05"), i)
	}
	return keys
}

// BenchmarkParseKey measures key parsing on one core (target ≥ 1 M keys/s).
func BenchmarkParseKey(b *testing.B) {
	for _, layout := range []Layout{LayoutHive, LayoutFirehose} {
		b.Run(string(layout), func(b *testing.B) {
			tb := mustTable(b, Table{Name: "raw", Bucket: "pendulum-raw", Prefix: "raw/", Layout: layout})
			src := benchKeys(4096)
			keys := make([]string, len(src))
			for i, k := range src {
				if layout == LayoutFirehose {
					// dt=2024-03-01/hr=00/… → 2024/03/01/00/…
					k = k[3:7] + "/" + k[8:10] + "/" + k[11:13] + "/" + k[17:19] + k[19:]
				}
				keys[i] = "raw/" + k
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, ok, err := ParseKey(tb, keys[i%len(keys)]); !ok || err != nil {
					b.Fatalf("ParseKey(%q) = %v, %v", keys[i%len(keys)], ok, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

// sqsPayload builds an SQS event of one S3 notification per key.
func sqsPayload(b testing.TB, keys []string) []byte {
	type rec = map[string]any
	msgs := make([]rec, len(keys))
	for i, k := range keys {
		body, _ := json.Marshal(rec{"Records": []rec{{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
			"s3": rec{"bucket": rec{"name": "pendulum-raw"}, "object": rec{"key": url.QueryEscape(k), "size": 1024}}}}})
		msgs[i] = rec{"messageId": fmt.Sprintf("m%d", i), "eventSource": "aws:sqs", "body": string(body)}
	}
	p, err := json.Marshal(rec{"Records": msgs})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkHandle10000Events sends 10,000 S3 object events spread over 240
// hour partitions through a cold container (fresh caches every iteration)
// and reports the Glue calls made. Target: one GetTable per table plus
// ⌈new partitions / 100⌉ BatchCreatePartition calls per invocation.
//
// OneInvocation delivers them as one SQS batch (batch size 10,000 with a
// batching window); Batches10 as 1,000 SQS batches of 10 in time order, the
// default batch size, where the container's cache keeps every partition at
// one creation.
func BenchmarkHandle10000Events(b *testing.B) {
	keys := benchKeys(10000)
	for _, bc := range []struct {
		name string
		size int
	}{{"OneInvocation", 10000}, {"Batches10", 10}} {
		b.Run(bc.name, func(b *testing.B) {
			var payloads [][]byte
			for i := 0; i < len(keys); i += bc.size {
				payloads = append(payloads, sqsPayload(b, keys[i:i+bc.size]))
			}
			var m *memCatalog
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				m = newMemCatalog()
				h := testHandler(b, &m.fake, nil)
				for _, p := range payloads {
					resp, err := h.Handle(context.Background(), p)
					if err != nil || len(resp.BatchItemFailures) != 0 {
						b.Fatalf("Handle: %v, %d failures", err, len(resp.BatchItemFailures))
					}
				}
			}
			created := 0
			for _, c := range m.calls {
				created += len(c.Partitions)
			}
			if created != 240 {
				b.Fatalf("created %d partitions, want 240", created)
			}
			b.ReportMetric(float64(m.count("GetTable")), "GetTable/op")
			b.ReportMetric(float64(m.count("BatchCreatePartition")), "BatchCreatePartition/op")
			b.ReportMetric(float64(len(m.calls)), "glueCalls/op")
			b.ReportMetric(float64(b.N*len(keys))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
