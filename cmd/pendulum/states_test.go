package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestStatesCLI(t *testing.T) {
	const order = "testdata/states/order.asl.json"
	const invalid = "testdata/states/invalid.asl.json"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // JSON compared structurally when it starts with { or [, else substring
		wantStderr []string
	}{
		{"ValidateValid", []string{"validate", order}, 0, order + ": valid", nil},
		{"ValidateInvalid", []string{"validate", order, invalid}, 1, `state "A": Next: "Bee" is not a state in this scope (did you mean "B"?)`, nil},
		{"ValidateListsEveryProblem", []string{"validate", invalid}, 1, `state "C": Resource: must be a non-empty string`, nil},
		{"ValidateNoFile", []string{"validate"}, 2, "", []string{"no FILE given"}},
		{"ValidateMissingFile", []string{"validate", "testdata/states/nope.json"}, 2, "", []string{"no such file"}},
		{"RunSucceeds", []string{"run", order, "--input", "@testdata/states/input.json",
			"--stub", `Price={"Payload":{"total":42}}`, "--stub", "ShipItem=@testdata/states/ship.json", "--sub", "Label=gift"},
			0, `{"total":42,"shipped":[{"id":"m-1"},{"id":"m-1"},{"id":"m-1"}],"label":"gift"}`, nil},
		{"RunFlagsBeforeFile", []string{"run", "--stub", `Price={"Payload":{"total":1}}`, "--stub", `ShipItem={"MessageId":"x"}`, "--input", `{"items":[]}`, order},
			0, `{"total":1,"shipped":[],"label":"${Label}"}`, nil},
		{"RunStubError", []string{"run", order, "--input", `{"items":[1]}`, "--stub", `Price={"Payload":{"total":1}}`, "--stub-error", "ShipItem=Sqs.QueueDoesNotExistException:no queue"},
			1, "", []string{`{"error":"ShipFailed","cause":"no queue"}`}},
		{"RunMissingStub", []string{"run", order, "--stub", `Price={"Payload":{"total":1}}`, "--input", `{"items":[1]}`},
			1, "", []string{`"error":"States.Runtime"`, `Task state \"ShipItem\" has no stub`}},
		{"RunUnstubbedFirstTask", []string{"run", order},
			1, "", []string{`"error":"States.Runtime"`, `Task state \"Price\" has no stub: pass --stub Price=JSON`}},
		{"RunHistory", []string{"run", order, "--history", "--input", `{"items":["a"]}`, "--stub", `Price={"Payload":{"total":1}}`, "--stub", `ShipItem={"MessageId":"x"}`},
			0, `{"total":1,"shipped":[{"id":"x"}],"label":"${Label}"}`, []string{`"type": "ExecutionStarted"`, `"type": "MapIterationSucceeded"`, `"type": "WaitStateExited"`, `"type": "ExecutionSucceeded"`}},
		{"RunInvalidDefinition", []string{"run", invalid}, 2, "", []string{`state "A": Next: "Bee"`}},
		{"RunUnknownStubState", []string{"run", order, "--stub", "Nope={}"}, 2, "", []string{`"Nope" is not a Task state (Task states: Price, ShipItem)`}},
		{"RunBadStubJSON", []string{"run", order, "--stub", "Price={"}, 2, "", []string{"--stub Price: not valid JSON"}},
		{"RunBadInput", []string{"run", order, "--input", "{"}, 2, "", []string{"--input: not valid JSON"}},
		{"RunTwoFiles", []string{"run", order, invalid}, 2, "", []string{"want exactly one FILE, got 2"}},
		{"RunBadSub", []string{"run", order, "--sub", "no-equals"}, 2, "", []string{"want Name=Value"}},
		{"ValidateNeedsSub", []string{"validate", "testdata/states/wait.asl.json"}, 1, "not valid JSON", nil},
		{"ValidateWithSub", []string{"validate", "--sub", "HoldSeconds=86400", "testdata/states/wait.asl.json"}, 0, "wait.asl.json: valid", nil},
		{"RunWithSub", []string{"run", "testdata/states/wait.asl.json", "--sub", "HoldSeconds=86400"}, 0, `{"waited":86400}`, nil},
		{"UnknownSubcommand", []string{"frobnicate"}, 2, "", []string{`unknown subcommand "frobnicate"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"states"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			out := strings.TrimSpace(stdout.String())
			switch {
			case strings.HasPrefix(tt.wantStdout, "{"):
				var got, want any
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("stdout %q is not JSON: %v", out, err)
				}
				if err := json.Unmarshal([]byte(tt.wantStdout), &want); err != nil {
					t.Fatal(err)
				}
				if g, w := mustJSON(got), mustJSON(want); g != w {
					t.Fatalf("stdout = %s, want %s", g, w)
				}
			case tt.wantStdout == "" && out != "":
				t.Fatalf("stdout = %q, want nothing", out)
			case !strings.Contains(out, tt.wantStdout):
				t.Fatalf("stdout = %q, want it to contain %q", out, tt.wantStdout)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr = %q, want it to contain %q", stderr.String(), w)
				}
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
