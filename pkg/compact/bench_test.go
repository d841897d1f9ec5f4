package compact

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// benchHour generates an hour of n small records as Firehose would write
// it: 60 gzip NDJSON objects, about 1% duplicate ids (redelivery) and one
// canary a minute.
func benchHour(b *testing.B, n int) map[string][]byte {
	b.Helper()
	objects := map[string][]byte{}
	const perHour = 60
	per := n / perHour
	id := 0
	for o := range perHour {
		var raw bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&raw, gzip.DefaultCompression)
		var line []byte
		for i := range per {
			rid := id
			if i%100 == 99 {
				rid = id - 50 // a duplicate of a record already written
			} else {
				id++
			}
			ts := base.Add(time.Duration(o)*time.Minute + time.Duration(i)*time.Millisecond)
			line = line[:0]
			line = append(line, `{"id":"rec-`...)
			line = strconv.AppendInt(line, int64(rid), 10)
			line = append(line, `","ts":"`...)
			line = ts.AppendFormat(line, time.RFC3339Nano)
			line = append(line, `","received":"`...)
			line = ts.Add(40*time.Millisecond).AppendFormat(line, time.RFC3339Nano)
			line = append(line, `","region":"eu-west-1","producer":"sensor-`...)
			line = strconv.AppendInt(line, int64(rid%50), 10)
			line = append(line, `","data":{"temp":`...)
			line = strconv.AppendInt(line, int64(rid%40), 10)
			line = append(line, `,"unit":"C","site":"plant-`...)
			line = strconv.AppendInt(line, int64(rid%7), 10)
			line = append(line, "\"}}\n"...)
			zw.Write(line)
		}
		fmt.Fprintf(zw, `{"id":"canary-eu-west-1-%d","ts":"2026-11-24T07:00:00Z","received":"2026-11-24T07:00:00Z","region":"eu-west-1","canary":true,"data":{"canary":true}}`+"\n", o)
		zw.Close()
		objects[fmt.Sprintf("dt=2026-11-24/hr=07/pendulum-raw-1-2026-11-24-07-%02d-00-%04d.gz", o, o)] = raw.Bytes()
	}
	return objects
}

// heapSampler records the peak of live-and-unswept heap object bytes above a
// baseline while a run is in progress.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
	base uint64
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{}), base: heapObjects()}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if v := heapObjects(); v > h.peak {
				h.peak = v
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	h.done.Wait()
	if h.peak < h.base {
		return 0
	}
	return h.peak - h.base
}

// discardBucket is a curated bucket that counts what is put and keeps
// nothing, so the benchmark's heap is the compactor's.
func discardPut(_ context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
	if _, err := io.Copy(io.Discard, in.Body); err != nil {
		return nil, err
	}
	return &s3.PutObjectOutput{}, nil
}

// BenchmarkCompactHour compacts a generated hour of small records and
// reports records/s and the peak heap above the input's own footprint.
// Target: ≥ 300k records/s, and peak heap the same for both sizes.
func BenchmarkCompactHour(b *testing.B) {
	for _, n := range []int{250_000, 1_000_000} {
		b.Run(fmt.Sprintf("Records%d", n), func(b *testing.B) {
			objects := benchHour(b, n)
			var inBytes int
			for _, o := range objects {
				inBytes += len(o)
			}
			raw := newMemBucket(rawBucket, objects)
			curated := &fakeS3{PutObjectFn: discardPut}
			c := &Compactor{Raw: raw.fake(), Curated: curated, RawBucket: rawBucket, CuratedBucket: curatedBucket, TempDir: b.TempDir()}
			b.ReportAllocs()
			b.ResetTimer()
			var peak uint64
			var res Result
			for range b.N {
				h := startHeapSampler()
				var err error
				res, err = c.Compact(context.Background(), hour)
				if p := h.finish(); p > peak {
					peak = p
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if res.Rows == 0 || res.Rows+res.Duplicates+res.Canaries != res.Records {
				b.Fatalf("inconsistent result %+v", res)
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(res.Records)*float64(b.N)/sec, "records/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(inBytes)/(1<<20), "input-gz-MiB")
			b.ReportMetric(float64(res.Bytes)/(1<<20), "parquet-MiB")
		})
	}
}
