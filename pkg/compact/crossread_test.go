package compact

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/record"
)

// TestParquetReadsInAnotherImplementation reads a compacted hour with
// hyparquet (tools/parquet/read.mjs), a Parquet reader that shares no code
// with the Go writer, so the file is checked against the format rather than
// against the library that wrote it. The hour holds non-ASCII data.
func TestParquetReadsInAnotherImplementation(t *testing.T) {
	tools, err := filepath.Abs("../../tools")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tools, "node_modules", "hyparquet")); err != nil {
		t.Skip("hyparquet is not installed: run make deps (CI does)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH")
	}

	n := 3000
	recs := make([]record.Record, n)
	for i := range recs {
		r := rec(fmt.Sprintf("r-%06d", i), i%3600, []string{"eu-west-1", "eu-central-1"}[i%2])
		r.TS = r.TS.Add(time.Duration(i%1000) * time.Millisecond)
		if i%1000 == 7 {
			r.Data = json.RawMessage(fmt.Sprintf(`{"id":"r-%06d","note":"Zürich → 東京 🚀"}`, i))
		}
		recs[i] = r
	}
	raw := newMemBucket(rawBucket, map[string][]byte{
		"dt=2026-11-24/hr=07/raw-1-2026-11-24-07-00-00.gz": gz(t, ndjson(t, recs[:n/2]...)),
		"dt=2026-11-24/hr=07/raw-1-2026-11-24-07-30-00.gz": gz(t, ndjson(t, recs[n/2:]...)),
	})
	curated := newMemBucket(curatedBucket, nil)
	res, err := newCompactor(t, raw, curated).Compact(context.Background(), hour)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "part.parquet")
	if err := os.WriteFile(file, curated.objects[res.Key], 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(node, filepath.Join(tools, "parquet", "read.mjs"), file)
	cmd.Dir = tools
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("hyparquet could not read the file: %v\n%s", err, stderr)
	}
	var got struct {
		Schema []struct {
			Name, Type, Repetition string
			Logical                map[string]any
		}
		Codecs    []string
		RowGroups int
		Rows      []struct {
			ID       string `json:"id"`
			TS       string `json:"ts"`
			Received string `json:"received"`
			Region   string `json:"region"`
			Producer string `json:"producer"`
			Data     string `json:"data"`
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("reader output: %v", err)
	}

	var names []string
	for _, c := range got.Schema {
		names = append(names, c.Name+":"+c.Type+":"+c.Repetition)
	}
	wantNames := []string{"id:BYTE_ARRAY:REQUIRED", "ts:INT64:REQUIRED", "received:INT64:REQUIRED",
		"region:BYTE_ARRAY:REQUIRED", "producer:BYTE_ARRAY:REQUIRED", "data:BYTE_ARRAY:REQUIRED"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("schema %v, want %v", names, wantNames)
	}
	if ts := got.Schema[1].Logical; ts["type"] != "TIMESTAMP" || ts["unit"] != "MILLIS" {
		t.Fatalf("ts logical type %v, want TIMESTAMP in MILLIS", ts)
	}
	if got, want := got.Codecs, []string{"SNAPPY"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("codecs %v, want %v", got, want)
	}
	if got.RowGroups != 1 {
		t.Fatalf("row groups %d, want 1", got.RowGroups)
	}
	if len(got.Rows) != n {
		t.Fatalf("rows %d, want %d", len(got.Rows), n)
	}
	// The writer sorts rows by (ts, id); compare in that order.
	want := readRows(t, curated.objects[res.Key])
	ms := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	for i, w := range want {
		g := got.Rows[i]
		if g.ID != w.ID || g.TS != ms(w.TS) || g.Received != ms(w.Received) || g.Region != w.Region || g.Producer != w.Producer || g.Data != w.Data {
			t.Fatalf("row %d: hyparquet read %+v, want %+v", i, g, w)
		}
	}
	// And the rows are the records that went in, each once.
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.ID] = true
	}
	for _, g := range got.Rows {
		if !seen[g.ID] {
			t.Fatalf("row %q was not a record, or came twice", g.ID)
		}
		delete(seen, g.ID)
	}
}
