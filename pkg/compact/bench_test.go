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
	"syscall"
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
// It also tracks the peak live heap (what the last GC found reachable),
// which unlike the heap in use does not depend on how much garbage the GC
// pacer lets pile up, and so shows the compactor's own footprint best.
type heapSampler struct {
	stop               chan struct{}
	done               sync.WaitGroup
	peak, peakLive     uint64
	base, baseLive     uint64
	cpuStart, cpuFinal time.Duration
}

func heapNow() (inUse, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// cpuTime is the process's user+system CPU time: on a shared, busy machine
// records per CPU second is steadier than records per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{})}
	h.base, h.baseLive = heapNow()
	h.cpuStart = cpuTime()
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			inUse, live := heapNow()
			h.peak, h.peakLive = max(h.peak, inUse), max(h.peakLive, live)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// finish stops sampling and returns the peaks above the baseline and the
// CPU time used.
func (h *heapSampler) finish() (peak, peakLive uint64, cpu time.Duration) {
	close(h.stop)
	h.done.Wait()
	runtime.GC() // the last live-heap figure covers the end of the run
	_, live := heapNow()
	h.peakLive = max(h.peakLive, live)
	above := func(v, b uint64) uint64 {
		if v < b {
			return 0
		}
		return v - b
	}
	return above(h.peak, h.base), above(h.peakLive, h.baseLive), cpuTime() - h.cpuStart
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
			var peak, peakLive uint64
			var cpu time.Duration
			var res Result
			for range b.N {
				h := startHeapSampler()
				var err error
				res, err = c.Compact(context.Background(), hour)
				p, pl, c := h.finish()
				peak, peakLive, cpu = max(peak, p), max(peakLive, pl), cpu+c
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
			b.ReportMetric(float64(res.Records)*float64(b.N)/cpu.Seconds(), "records/cpu-s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-heap-MiB")
			b.ReportMetric(float64(inBytes)/(1<<20), "input-gz-MiB")
			b.ReportMetric(float64(res.Bytes)/(1<<20), "parquet-MiB")
		})
	}
}
