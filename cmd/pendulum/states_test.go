package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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

// TestStatesRunDistributedMapS3 runs a Distributed Map over 100,000 JSON
// items read from --s3 DIR, 100 items a child workflow execution: the 1,000
// children's results come back in order, and the parent's history holds
// the Map Run, not the children's events (far under 25,000 events).
func TestStatesRunDistributedMapS3(t *testing.T) {
	const n = 100000
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data", "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item-%d"}`, i, i)
	}
	b.WriteByte(']')
	if err := os.WriteFile(filepath.Join(dir, "data", "in", "items.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"states", "run", "testdata/states/dmap.asl.json", "--s3", dir, "--history",
		"--input", `{"bucket":"data","key":"in/items.json","run":"r1"}`}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out []struct {
		Run   string
		N     int
		First int
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("stdout: %v", err)
	}
	if len(out) != n/100 {
		t.Fatalf("%d results, want %d", len(out), n/100)
	}
	for i, r := range out {
		if r.Run != "r1" || r.N != 100 || r.First != i*100 {
			t.Fatalf("result %d = %+v, want {r1 100 %d}", i, r, i*100)
		}
	}
	var hist struct{ Events []struct{ Type string } }
	if err := json.Unmarshal(stderr.Bytes(), &hist); err != nil {
		t.Fatalf("history on stderr: %v", err)
	}
	var types []string
	for _, ev := range hist.Events {
		types = append(types, ev.Type)
	}
	want := "ExecutionStarted MapStateEntered MapStateStarted MapRunStarted MapRunSucceeded MapStateSucceeded MapStateExited ExecutionSucceeded"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("parent history = %s\nwant %s", got, want)
	}
}

// TestStatesRunS3Errors: a bad --s3 DIR is a usage error; a missing bucket
// or object fails the ItemReader with States.ItemReaderFailed, naming the
// S3 location and the file.
func TestStatesRunS3Errors(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	def := "testdata/states/dmap.asl.json"
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"NoDir", []string{"--s3", filepath.Join(dir, "nope")}, 2, []string{"--s3: stat", "no such file or directory"}},
		{"NotADir", []string{"--s3", file}, 2, []string{"not a directory"}},
		{"NoStore", []string{"--input", `{"bucket":"data","key":"in/items.json"}`}, 1,
			[]string{`"error":"States.ItemReaderFailed"`, "cannot read s3://data/in/items.json: the engine has no S3", "--s3 DIR"}},
		{"MissingObject", []string{"--s3", dir, "--input", `{"bucket":"data","key":"in/items.json"}`}, 1,
			[]string{`"error":"States.ItemReaderFailed"`, "reading s3://data/in/items.json: NoSuchKey", filepath.Join(dir, "data", "in", "items.json")}},
		{"MissingBucket", []string{"--s3", dir, "--input", `{"bucket":"other","key":"k.json"}`}, 1,
			[]string{`"error":"States.ItemReaderFailed"`, `NoSuchBucket: the bucket \"other\" does not exist`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"states", "run", def}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr.String())
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr = %q, want it to contain %q", stderr.String(), w)
				}
			}
		})
	}
}

// TestStatesRunResultWriterS3: a ResultWriter writes the manifest and the
// result files under DIR/bucket/prefix/<Map Run id>/, and the state's
// result says where.
func TestStatesRunResultWriterS3(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"in", "out"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "in", "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a.csv", "b.csv"} {
		if err := os.WriteFile(filepath.Join(dir, "in", "logs", k), []byte(k), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	def := filepath.Join(dir, "rw.asl.json")
	if err := os.WriteFile(def, []byte(`{"StartAt":"M","States":{"M":{"Type":"Map",
		"ItemReader":{"Resource":"arn:aws:states:::s3:listObjectsV2","Parameters":{"Bucket":"in","Prefix":"logs/"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"K","States":{"K":{"Type":"Pass","OutputPath":"$.Key","End":true}}},
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"results"}},"End":true}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"states", "run", def, "--s3", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var res struct {
		MapRunArn           string
		ResultWriterDetails struct{ Bucket, Key string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.ResultWriterDetails.Bucket != "out" || !strings.HasPrefix(res.ResultWriterDetails.Key, "results/") {
		t.Fatalf("output %s (%v): want the ResultWriterDetails of out/results/…", stdout.String(), err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "out", filepath.FromSlash(res.ResultWriterDetails.Key)))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		MapRunArn   string
		ResultFiles map[string][]struct{ Key string }
	}
	if err := json.Unmarshal(manifest, &m); err != nil || m.MapRunArn != res.MapRunArn || len(m.ResultFiles["SUCCEEDED"]) != 1 {
		t.Fatalf("manifest %s (%v)", manifest, err)
	}
	body, err := os.ReadFile(filepath.Join(dir, "out", filepath.FromSlash(m.ResultFiles["SUCCEEDED"][0].Key)))
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct{ Status, Output string }
	if err := json.Unmarshal(body, &recs); err != nil || len(recs) != 2 || recs[0].Output != `"logs/a.csv"` || recs[1].Output != `"logs/b.csv"` || recs[0].Status != "SUCCEEDED" {
		t.Fatalf("SUCCEEDED_0.json = %s (%v)", body, err)
	}
}
