package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/drill"
)

// TestMain runs drillMain as the program itself when the test binary is
// re-executed with PENDULUM_DRILL_AS_MAIN set: what reaches the process's
// real stdout, not only the writer drillMain is given, is then checked.
func TestMain(m *testing.M) {
	if os.Getenv("PENDULUM_DRILL_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

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
		for _, want := range []string{"outage", "failover", "failback", "Drill regional-outage: PASSED", "ingest RTO", "final s3", "lost 0, double-counted 0"} {
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
			Records struct{ Acknowledged int64 }
			Stores  map[string]struct{ Expected, Lost, DoubleCounted int }
			RPO     struct {
				AtOutage map[string]struct {
					RPOSeconds float64
					Records    int
				}
			}
			Checks []struct{ Name string }
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", err, out.String())
		}
		if !rep.Passed || rep.Records.Acknowledged == 0 || len(rep.Checks) == 0 || len(rep.Stores) != 3 || len(rep.RPO.AtOutage) == 0 {
			t.Fatalf("report %+v", rep)
		}
		for name, st := range rep.Stores {
			if st.Expected == 0 || st.Lost != 0 || st.DoubleCounted != 0 {
				t.Fatalf("store %s: %+v", name, st)
			}
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
		// new-primary needs the second assembly: named, or beside --assembly.
		errb.Reset()
		if code := drillMain([]string{"--scenario", "new-primary", "--assembly", "../../pkg/assembly/testdata/cdk.out", "--new-primary-assembly", t.TempDir()}, &out, &errb); code != 2 ||
			!strings.Contains(errb.String(), "--new-primary-assembly") || !strings.Contains(errb.String(), "make synth") {
			t.Fatalf("exit %d for new-primary with no second assembly, stderr %q; want 2 naming the flag", code, errb.String())
		}
	})
}

// TestJSONStdoutOfTheProcess runs the drill as a process with --json: its
// whole stdout is one JSON document (nothing the simulation prints reaches
// it), and the progress is on stderr.
func TestJSONStdoutOfTheProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], append([]string{"--json"}, shortDrill...)...)
	cmd.Env = append(os.Environ(), "PENDULUM_DRILL_AS_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, errb.String())
	}
	dec := json.NewDecoder(&out)
	var rep map[string]any
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out.String())
	}
	if _, err := dec.Token(); err == nil || !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON document (next: %v)", err)
	}
	if rep["passed"] != true || !strings.Contains(errb.String(), "failback") {
		t.Fatalf("passed=%v; stderr:\n%s", rep["passed"], errb.String())
	}
}

// TestBadFlagValues: every numeric flag out of its range exits 2 before
// anything runs (the assembly is not even read), with a message naming the
// flag and its range.
func TestBadFlagValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
		want string // in the message: the range, or the budget
	}{
		{[]string{"--producers", "0"}, "--producers", drill.ProducersRange},
		{[]string{"--producers", "-3"}, "--producers", drill.ProducersRange},
		{[]string{"--producers", "251"}, "--producers", drill.ProducersRange},
		{[]string{"--rate", "0"}, "--rate", drill.RateRange},
		{[]string{"--rate", "-1"}, "--rate", drill.RateRange},
		{[]string{"--rate", "100.5"}, "--rate", drill.RateRange},
		{[]string{"--rate", "NaN"}, "--rate", drill.RateRange},
		{[]string{"--rate", "+Inf"}, "--rate", drill.RateRange},
		{[]string{"--warmup", "0"}, "--warmup", drill.WarmupRange},
		{[]string{"--warmup", "-20m"}, "--warmup", drill.WarmupRange},
		{[]string{"--warmup", "59s"}, "--warmup", drill.WarmupRange},
		{[]string{"--warmup", "25h"}, "--warmup", drill.WarmupRange},
		{[]string{"--outage", "-5m"}, "--outage", drill.OutageRange},
		{[]string{"--outage", "0"}, "--outage", drill.OutageRange},
		{[]string{"--outage", "30s"}, "--outage", drill.OutageRange},
		{[]string{"--outage", "337h"}, "--outage", drill.OutageRange},
		{[]string{"--min-healthy", "0"}, "--min-healthy", drill.MinHealthyMinutesRange},
		{[]string{"--min-healthy", "-10"}, "--min-healthy", drill.MinHealthyMinutesRange},
		{[]string{"--min-healthy", "1441"}, "--min-healthy", drill.MinHealthyMinutesRange},
		{[]string{"--seed", "0"}, "--seed", ">= 1"},
		{[]string{"--scenario", "scale", "--scale-records", "0"}, "--scale-records", drill.ScaleRange},
		{[]string{"--scenario", "scale", "--scale-records", "2000001"}, "--scale-records", drill.ScaleRange},
		{[]string{"--scenario", "scale", "--scale-objects", "0"}, "--scale-objects", drill.ScaleRange},
		{[]string{"--scenario", "scale", "--scale-records", "10", "--scale-objects", "20"}, "--scale-objects", drill.ScaleRange},
		{[]string{"--scenario", "all", "--scale-objects", "200001"}, "--scale-objects", drill.ScaleRange},
		{[]string{"--scale-records", "1000"}, "--scale-records", "apply to --scenario scale"},
		{[]string{"--parallel", "0"}, "--parallel", "1 to 64"},
		{[]string{"--parallel", "65"}, "--parallel", "1 to 64"},
		// Each in range, together over the record budget.
		{[]string{"--producers", "250", "--rate", "100"}, "--rate", "records, more than the 500000"},
		{[]string{"--outage", "168h"}, "--outage", "records, more than the 500000"},
	} {
		t.Run(strings.Join(tc.args, "="), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := drillMain(append([]string{"--assembly", t.TempDir()}, tc.args...), &out, &errb)
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstderr: %s", code, errb.String())
			}
			msg := errb.String()
			if !strings.Contains(msg, tc.flag) || !strings.Contains(msg, tc.want) || strings.Contains(msg, "make synth") {
				t.Fatalf("message %q: want it to name %s and %q, before the assembly is read", msg, tc.flag, tc.want)
			}
			if out.Len() != 0 {
				t.Fatalf("stdout %q, want nothing", out.String())
			}
		})
	}
}

// TestFlagRangeEdges: the ends of each range are accepted.
func TestFlagRangeEdges(t *testing.T) {
	base := drill.Config{Producers: drill.DefaultProducers, Rate: drill.DefaultRate, Warmup: drill.DefaultWarmup,
		Outage: drill.DefaultOutage, MinHealthyMinutes: drill.DefaultMinHealthyMinutes, Seed: drill.DefaultSeed}
	for _, edit := range []func(*drill.Config){
		func(c *drill.Config) {},
		func(c *drill.Config) { c.Producers = 1 },
		func(c *drill.Config) { c.Producers, c.Rate = drill.MaxProducers, 0.5 },
		func(c *drill.Config) { c.Rate = 0.01 },
		func(c *drill.Config) { c.Producers, c.Rate = 1, drill.MaxRate },
		func(c *drill.Config) { c.Warmup = drill.MinWarmup },
		func(c *drill.Config) { c.Warmup = drill.MaxWarmup },
		func(c *drill.Config) { c.Outage = drill.MinOutage },
		func(c *drill.Config) { c.Outage, c.Producers, c.Rate = drill.MaxOutage, 1, 0.25 },
		func(c *drill.Config) { c.MinHealthyMinutes = drill.MinHealthyMinutes },
		func(c *drill.Config) { c.MinHealthyMinutes = drill.MaxHealthyMinutes },
		func(c *drill.Config) { c.Seed = 1<<64 - 1 },
	} {
		c := base
		edit(&c)
		if err := validate(c); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestHelpMatchesWhatRuns: --help exits 0 and shows each knob's default and
// range as pkg/drill has them.
func TestHelpMatchesWhatRuns(t *testing.T) {
	var out, errb bytes.Buffer
	if code := drillMain([]string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	help := errb.String()
	for _, want := range []string{
		fmt.Sprintf("-producers int\n    \tnumber of producers, %s (default %d)", drill.ProducersRange, drill.DefaultProducers),
		fmt.Sprintf("%s (default %v)", drill.RateRange, drill.DefaultRate),
		fmt.Sprintf("%s (default %v)", drill.WarmupRange, drill.DefaultWarmup),
		fmt.Sprintf("%s (default %v)", drill.OutageRange, drill.DefaultOutage),
		fmt.Sprintf("%s (default %d)", drill.MinHealthyMinutesRange, drill.DefaultMinHealthyMinutes),
		fmt.Sprintf(">= 1 (default %d)", drill.DefaultSeed),
		fmt.Sprint(drill.MaxRecords),
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

// TestLibraryValidate: pkg/drill's callers get the same refusals from Run,
// before anything is deployed, while a zero knob still takes its default.
func TestLibraryValidate(t *testing.T) {
	if err := (drill.Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	var rng *drill.RangeError
	_, err := drill.Run(context.Background(), drill.Config{Outage: -5 * time.Minute})
	if !errors.As(err, &rng) || rng.Field != "Outage" || rng.Range != drill.OutageRange {
		t.Fatalf("Run with Outage -5m: %v, want a RangeError for Outage", err)
	}
	var budget *drill.BudgetError
	if err := (drill.Config{Outage: drill.MaxOutage}).Validate(); !errors.As(err, &budget) {
		t.Fatalf("two weeks at the default rate: %v, want a BudgetError", err)
	}
}

// TestScenarioFlags: --list prints the catalogue one line each, an unknown
// --scenario exits 2 naming the catalogue, and a scenario's own default
// applies to a knob not given (blip's short outage) but never overrides
// one given.
func TestScenarioFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := drillMain([]string{"--list"}, &out, &errb); code != 0 {
		t.Fatalf("--list: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(drill.Scenarios()) || !strings.HasPrefix(lines[0], drill.DefaultScenario+" ") {
		t.Fatalf("--list printed %d lines, the catalogue has %d, the default first:\n%s", len(lines), len(drill.Scenarios()), out.String())
	}
	for _, sc := range drill.Scenarios() {
		if !strings.Contains(out.String(), sc.Name) || sc.Summary == "" || sc.Expect == "" {
			t.Errorf("scenario %q: listed %t, summary %q, expect %q", sc.Name, strings.Contains(out.String(), sc.Name), sc.Summary, sc.Expect)
		}
	}
	out.Reset()
	errb.Reset()
	if code := drillMain([]string{"--scenario", "nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), drill.DefaultScenario) {
		t.Fatalf("unknown scenario: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	args := []string{"--json", "--quiet", "--scenario", "blip", "--assembly", "../../pkg/assembly/testdata/cdk.out", "--producers", "1", "--warmup", "5m"}
	if code := drillMain(args, &out, &errb); code != 0 {
		t.Fatalf("blip: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var rep struct {
		Scenario         string
		IngestRTOSeconds float64
		IngestRegion     string
		Failover         any
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	// The 2-minute outage: the first acknowledgement after it comes from
	// the primary once it is back, 2 minutes and a retry later.
	if rep.Scenario != "blip" || rep.Failover != nil || rep.IngestRegion != "us-east-1" || rep.IngestRTOSeconds < 120 || rep.IngestRTOSeconds > 300 {
		t.Fatalf("blip report %+v", rep)
	}
}

// Scenarios run at once return their reports in the order asked, each
// progress line whole and named by its scenario.
func TestRunScenariosInParallel(t *testing.T) {
	a, err := assembly.Read("../../pkg/assembly/testdata/cdk.out")
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	cfg := drill.Config{Assembly: a, Producers: 1, Warmup: 5 * time.Minute, Progress: &progress}
	names := []string{"blip", "approval-timeout"}
	reps, err := runScenarios(cfg, names, 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for i, rep := range reps {
		if rep.Scenario != names[i] || !rep.Passed {
			t.Fatalf("report %d: scenario %s, passed %t; want %s, passed", i, rep.Scenario, rep.Passed, names[i])
		}
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n") {
		name, rest, _ := strings.Cut(line, " ")
		if (name != names[0] && name != names[1]) || !strings.HasPrefix(rest, "[virtual +") {
			t.Fatalf("progress line %q: want a scenario's name, then the line", line)
		}
		seen[name]++
	}
	if seen[names[0]] == 0 || seen[names[1]] == 0 {
		t.Fatalf("progress lines per scenario: %v", seen)
	}
}
