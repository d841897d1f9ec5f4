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
