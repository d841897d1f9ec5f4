package producer

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// BenchmarkProduce measures spooling one ~200-byte record (id and ts
// generated, validated by ingest's rules, appended to the segment; fsync off,
// as the figure is about the code, not the disk).
func BenchmarkProduce(b *testing.B) {
	clk := clock.NewVirtual(t0)
	p, err := Open(testConfig(b.TempDir(), clk, newRegion(clk)))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	rec := []byte(`{"site":"eu-west-1a","temp":21.5,"ok":true,"payload":"` + fmt.Sprintf("%0128d", 0) + `"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := p.Produce(b.Context(), rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliver measures producer to ingest end to end, in process:
// 5,000 spooled records sent in batches through ingest.RoundTripper to the
// ingest handler and a fake stream. Reports records/s.
func BenchmarkDeliver(b *testing.B) {
	const n = 5000
	rec := []byte(`{"site":"eu-west-1a","temp":21.5,"ok":true}`)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		clk := clock.NewVirtual(t0)
		reg := newRegion(clk)
		p, err := Open(testConfig(b.TempDir(), clk, http.RoundTripper(reg)))
		if err != nil {
			b.Fatal(err)
		}
		for range n {
			if _, err := p.Produce(b.Context(), rec); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := p.Send(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got := p.Stats().Acknowledged; got != n {
			b.Fatalf("acknowledged %d, want %d", got, n)
		}
		p.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
