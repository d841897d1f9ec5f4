package sim

import (
	"strconv"
	"testing"
)

// BenchmarkDynamoDBPackMarker packs and unpacks record markers, as a
// table of markers does on every write and read.
func BenchmarkDynamoDBPackMarker(b *testing.B) {
	item := ddbItem{
		"sk": ddbS("R"), "window": ddbS("2026-12-07T10:15Z"), "bytes": ddbN("117"),
		"region": ddbS("us-west-2"), "origin": ddbS("us-east-1"), "producer": ddbS("scale"),
		"at": ddbS("2026-12-07T10:15:42Z"), "expires": ddbN("1796037342"),
		"h": ddbS("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
	}
	b.ReportAllocs()
	var n int
	for i := 0; b.Loop(); i++ {
		item["pk"] = ddbS("R#scale-" + strconv.Itoa(i))
		p := ddbPack(item, "pk")
		n += len(p)
		if len(ddbUnpack(p)) != len(item) {
			b.Fatal("unpacked a different item")
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "packed-bytes/op")
}
