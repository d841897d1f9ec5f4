package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		name   string
		ours   outcome
		theirs outcome
		want   string // substring of the first difference; "" means agreement
	}{
		{"SameOutputOtherKeyOrder",
			outcome{Status: "SUCCEEDED", Output: raw(`{"a":1,"b":[1,2]}`)},
			outcome{Status: "SUCCEEDED", Output: raw(`{"b":[1,2],"a":1.0}`)}, ""},
		{"OutputDiffers",
			outcome{Status: "SUCCEEDED", Output: raw(`"missing"`)},
			outcome{Status: "SUCCEEDED", Output: raw(`"present"`)}, `output: ours "missing", theirs "present"`},
		{"StatusDiffers",
			outcome{Status: "SUCCEEDED", Output: raw(`1`)},
			outcome{Status: "FAILED", Error: "TypeError"}, "status: ours SUCCEEDED"},
		{"SameErrorOtherCause",
			outcome{Status: "FAILED", Error: "States.Runtime", Cause: "ours"},
			outcome{Status: "FAILED", Error: "States.Runtime", Cause: "theirs"}, ""},
		{"ErrorDiffers",
			outcome{Status: "FAILED", Error: "Broken"},
			outcome{Status: "FAILED", Error: "States.Runtime"}, "error: ours Broken, theirs States.Runtime"},
		{"CallsDiffer",
			outcome{Status: "SUCCEEDED", Output: raw(`1`), Calls: map[string]int{"T": 3}},
			outcome{Status: "SUCCEEDED", Output: raw(`1`), Calls: map[string]int{"T": 2}}, "calls:"},
		{"InputsInAnyOrder",
			outcome{Status: "SUCCEEDED", Output: raw(`1`), Calls: map[string]int{"T": 2}, Inputs: map[string][]json.RawMessage{"T": {raw(`{"i":0}`), raw(`{"i":1}`)}}},
			outcome{Status: "SUCCEEDED", Output: raw(`1`), Calls: map[string]int{"T": 2}, Inputs: map[string][]json.RawMessage{"T": {raw(`{"i":1}`), raw(`{"i":0}`)}}}, ""},
		{"InputsDiffer",
			outcome{Status: "SUCCEEDED", Output: raw(`1`), Calls: map[string]int{"T": 1}, Inputs: map[string][]json.RawMessage{"T": {raw(`{"i":0}`)}}},
			outcome{Status: "SUCCEEDED", Output: raw(`1`), Calls: map[string]int{"T": 1}, Inputs: map[string][]json.RawMessage{"T": {raw(`{"i":2}`)}}}, "inputs of T"},
		{"NoCallsOnEitherSide",
			outcome{Status: "SUCCEEDED", Output: raw(`1`), Calls: map[string]int{}},
			outcome{Status: "SUCCEEDED", Output: raw(`1`)}, ""},
		{"BothReject",
			outcome{Validation: &validation{Rejected: true}},
			outcome{Validation: &validation{Rejected: true, Message: "schema"}}, ""},
		{"OnlyOursRejects",
			outcome{Validation: &validation{Rejected: true}},
			outcome{Validation: &validation{}}, "rejected: ours true, theirs false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := compare(tt.ours, tt.theirs)
			if tt.want == "" {
				if len(d) != 0 {
					t.Fatalf("compare = %q, want agreement", d)
				}
				return
			}
			if len(d) == 0 {
				t.Fatalf("compare found no difference, want %q", tt.want)
			}
			if got := d[0]; !strings.Contains(got, tt.want) {
				t.Fatalf("compare = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

// TestRunOurs checks the driver runs pkg/states as TestConformance does, on
// cases whose expectation covers status, output or error, and call counts.
func TestRunOurs(t *testing.T) {
	for _, name := range []string{"pass-chain-succeed", "retry-then-succeed", "retry-maxattempts-zero", "choice-no-match", "map-stubbed-task-inside", "task-timeout-path", "invalid-next-and-end"} {
		t.Run(camelCase(name), func(t *testing.T) {
			file := "../../pkg/states/testdata/conformance/" + name + ".json"
			b, err := os.ReadFile(file)
			if err != nil {
				t.Skipf("case gone: %v", err)
			}
			var c struct {
				Expect struct {
					Problems []string        `json:"problems"`
					Status   string          `json:"status"`
					Output   json.RawMessage `json:"output"`
					Error    string          `json:"error"`
					Calls    map[string]int  `json:"calls"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			o, err := runOurs(file)
			if err != nil {
				t.Fatalf("runOurs: %v", err)
			}
			ex := c.Expect
			if len(ex.Problems) > 0 {
				if o.Validation == nil || !o.Validation.Rejected {
					t.Fatalf("validation = %+v, want rejected", o.Validation)
				}
				return
			}
			want := ex.Status
			if want == "" {
				want = "SUCCEEDED"
			}
			if got := o.Status; got != want {
				t.Fatalf("status = %s (%s), want %s", got, o.Error, want)
			}
			if ex.Output != nil && !jsonEqual(o.Output, ex.Output) {
				t.Errorf("output = %s, want %s", o.Output, ex.Output)
			}
			if ex.Error != "" && o.Error != ex.Error {
				t.Errorf("error = %s, want %s", o.Error, ex.Error)
			}
			for k, n := range ex.Calls {
				if got := o.Calls[k]; got != n {
					t.Errorf("%s called %d times, want %d", k, got, n)
				}
			}
		})
	}
}

// camelCase turns a case file name ("retry-then-succeed") into a subtest
// name ("RetryThenSucceed").
func camelCase(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(s, "-") {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
