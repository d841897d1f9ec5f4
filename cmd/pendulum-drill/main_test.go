package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// shortDrill is a quick scenario covering every phase, on the snapshot of
// the synthesized installation (go test runs without `make synth`).
var shortDrill = []string{"--assembly", "../../pkg/assembly/testdata/cdk.out", "--producers", "1", "--rate", "1", "--warmup", "10m", "--outage", "25m", "--min-healthy", "5"}

func TestDrillCLI(t *testing.T) {
	t.Run("Text", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := drillMain(shortDrill, &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
		}
		for _, want := range []string{"outage", "failover", "failback", "Drill regional-outage: PASSED", "ingest RTO", "lost: 0 in S3, 0 in aggregates; double-counted 0"} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("JSON", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := drillMain(append([]string{"--json"}, shortDrill...), &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d, want 0\nstderr:\n%s", code, errb.String())
		}
		var rep struct {
			Passed  bool
			Records struct{ Acknowledged, LostS3, LostAggregates, DoubleCounted int64 }
			Checks  []struct{ Name string }
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", err, out.String())
		}
		if !rep.Passed || rep.Records.Acknowledged == 0 || rep.Records.LostS3+rep.Records.LostAggregates+rep.Records.DoubleCounted != 0 || len(rep.Checks) == 0 {
			t.Fatalf("report %+v", rep)
		}
		if !strings.Contains(errb.String(), "failback") {
			t.Fatalf("progress should go to stderr with --json:\n%s", errb.String())
		}
	})
	t.Run("BadFlag", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := drillMain([]string{"--nope"}, &out, &errb); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
		if code := drillMain([]string{"extra"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unexpected argument") {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
		errb.Reset()
		if code := drillMain([]string{"--assembly", t.TempDir()}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "make synth") {
			t.Fatalf("exit %d for a directory with no assembly, stderr %q; want 2 and a hint to synthesize", code, errb.String())
		}
	})
}
