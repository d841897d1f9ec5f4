package dr

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestStepDocumentsGolden decodes each step's documented input and output
// (testdata/steps, the documented step shapes) strictly into the Go types and
// encodes them back: a renamed or missing JSON field fails here.
func TestStepDocumentsGolden(t *testing.T) {
	tests := []struct {
		file    string
		in, out any
	}{
		{"stack.json", &StackInput{}, &StackOutput{}},
		{"restore.json", &RestoreInput{}, &RestoreOutput{}},
		{"reconcile.json", &ReconcileInput{}, &ReconcileOutput{}},
		{"traffic.json", &TrafficInput{}, &TrafficOutput{}},
		{"probe.json", &ProbeInput{}, &ProbeOutput{}},
		{"copyback-plan.json", &CopyInput{}, &PassState[CopyTotals]{}},
		{"copyback-batch.json", &CopyInput{}, &CopyTotals{}},
		{"copyback-sum.json", &CopyInput{}, &PassState[CopyTotals]{}},
		{"merge-plan.json", &MergeInput{}, &PassState[MergeTotals]{}},
		{"merge-batch.json", &MergeInput{}, &MergeTotals{}},
		{"merge-sum.json", &MergeInput{}, &PassState[MergeTotals]{}},
		{"replay.json", &ReplayInput{}, &ReplayOutput{}},
		{"drain.json", &DrainInput{}, &DrainOutput{}},
		{"verify.json", &VerifyInput{}, &VerifyOutput{}},
		{"report.json", &ReportInput{}, &ReportOutput{}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "steps", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ Input, Output json.RawMessage }
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			for _, part := range []struct {
				name string
				raw  json.RawMessage
				v    any
			}{{"input", doc.Input, tc.in}, {"output", doc.Output, tc.out}} {
				dec := json.NewDecoder(bytes.NewReader(part.raw))
				dec.DisallowUnknownFields()
				if err := dec.Decode(part.v); err != nil {
					t.Fatalf("%s: %v", part.name, err)
				}
				back, err := json.Marshal(part.v)
				if err != nil {
					t.Fatal(err)
				}
				var want, got any
				json.Unmarshal(part.raw, &want)
				json.Unmarshal(back, &got)
				if part.name == "output" && !reflect.DeepEqual(got, want) {
					t.Fatalf("output round trip:\n got %s\nwant %s", back, part.raw)
				}
			}
		})
	}
}
