package states

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// FuzzParse feeds definitions to the parser and validator. Whatever the
// input: no panic, Parse and Validate agree, and a machine that parses runs
// to an end on a virtual clock (tasks fail for want of handlers, loops stop
// at the history limit).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/conformance/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var c struct{ Definition json.RawMessage }
		if err := json.Unmarshal(b, &c); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(c.Definition))
	}
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, def []byte) {
		m, err := Parse(def)
		problems := Validate(def)
		for _, w := range Warnings(def) {
			if w.Message == "" || w.State == "" {
				t.Fatalf("warning without a state or message: %+v", w)
			}
		}
		if (err == nil) != (len(problems) == 0) {
			t.Fatalf("Parse error %v but Validate found %d problems", err, len(problems))
		}
		if err != nil {
			for _, p := range problems {
				if p.Message == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		e := New(Options{Clock: clock.NewVirtual(conformanceStart), MaxHistoryEvents: 500})
		x, err := e.Start(context.Background(), m, "fuzz", json.RawMessage(`{"a":[1,"b",{"c":null}],"n":2}`))
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		r, err := x.Wait(context.Background())
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if r.Status == StatusRunning {
			t.Fatal("execution ended RUNNING")
		}
	})
}

// FuzzItemReaderParsers feeds objects to the parsers of an ItemReader's
// getObject datasets (JSON, JSON Lines, CSV with a header row or given
// columns, an S3 Inventory manifest and its gzip data files). Whatever the
// bytes: no panic; every CSV item has exactly the columns, as strings; a
// limit is never exceeded.
func FuzzItemReaderParsers(f *testing.F) {
	f.Add(uint8(0), []byte(`[{"id":1},2,"three"]`))
	f.Add(uint8(1), []byte("{\"a\":1}\n\n[2]\n\"three\"\n"))
	f.Add(uint8(2), []byte("movieId,rating\n1,4.5\n2,\"3, or so\"\n"))
	f.Add(uint8(3), []byte("1|ann\n2|bob\n"))
	f.Add(uint8(4), []byte(`{"destinationBucket":"arn:aws:s3:::inv","fileFormat":"CSV","fileSchema":"Bucket, Key, Size","files":[{"key":"data/a.csv"}]}`))
	f.Add(uint8(5), []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add(uint8(2), []byte("a,a\n1,2\n"))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		const max = 5
		var items []any
		var err error
		switch kind % 6 {
		case 0:
			items, err = parseJSONItems(body, max)
		case 1:
			items, err = parseJSONLItems(body, max)
		case 2:
			items, err = parseCSVItems(body, nil, ',', max)
		case 3:
			items, err = parseCSVItems(body, []string{"id", "name"}, '|', max)
			for _, it := range items {
				if o, ok := it.(map[string]any); !ok || len(o) != 2 {
					t.Fatalf("item %#v has not the 2 given columns", it)
				}
			}
		case 4:
			m, err := parseManifest(body)
			if err == nil && (m.bucket == "" || len(m.schema) == 0) {
				t.Fatalf("manifest %+v without a bucket or a schema", m)
			}
			return
		case 5:
			b, err := gunzipped(body)
			if err == nil && len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b && b == nil {
				t.Fatal("gzip data decompressed to nothing without an error")
			}
			return
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("error without a message")
			}
			return
		}
		if len(items) > max {
			t.Fatalf("%d items, more than the limit %d", len(items), max)
		}
		for _, it := range items {
			if _, err := marshal(it); err != nil {
				t.Fatalf("item %#v does not encode: %v", it, err)
			}
			if kind%6 == 2 {
				o, ok := it.(map[string]any)
				if !ok {
					t.Fatalf("CSV item %#v is not an object", it)
				}
				for k, v := range o {
					if _, ok := v.(string); !ok {
						t.Fatalf("CSV column %q holds %#v, not a string", k, v)
					}
				}
			}
		}
	})
}
