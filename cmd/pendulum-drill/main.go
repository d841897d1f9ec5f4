// Command pendulum-drill rehearses a regional outage, failover and failback
// of Pendulum on simulated regions, in virtual time, and accounts for every
// record. `pendulum drill` runs it (see cmd/pendulum); it is a program of its
// own so that the simulator and every AWS SDK client it links stay out of
// `pendulum states`, whose start-up would otherwise pay for their package
// initialisation.
//
//	pendulum-drill [--list] [--scenario NAME|all] [--json] [--html FILE] [--quiet] [scenario flags]
//	pendulum-drill local [--warmup D] COMMAND [flags] [-- COMMAND [flags]]…
//
// The second form runs operator commands (pkg/operator: status, failover,
// failback, drill start, approve, deny, report) against a local
// installation deployed from the assembly; `pendulum COMMAND --local` runs
// it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/drill"
)

func main() {
	os.Exit(drillMain(os.Args[1:], os.Stdout, os.Stderr))
}

// drillMain runs the drill: exit 0 only when every invariant holds, 1 when
// the drill ran and failed, 2 on bad usage (a bad flag value among them,
// refused before anything runs).
func drillMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "local" {
		return localMain(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("drill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg drill.Config
	asJSON := fs.Bool("json", false, "print the report as one JSON document on stdout (progress goes to stderr)")
	htmlFile := fs.String("html", "", "also write the report as one self-contained HTML `file` (inline CSS and SVG timeline of both regions, no script); one scenario only")
	quiet := fs.Bool("quiet", false, "no progress lines")
	// The defaults and ranges are pkg/drill's, which says why each range.
	fs.IntVar(&cfg.Producers, "producers", drill.DefaultProducers, "number of producers, "+drill.ProducersRange)
	fs.Float64Var(&cfg.Rate, "rate", drill.DefaultRate, "records per second per producer, "+drill.RateRange)
	fs.DurationVar(&cfg.Warmup, "warmup", drill.DefaultWarmup, "virtual time the workload runs before the primary fails, "+drill.WarmupRange)
	fs.DurationVar(&cfg.Outage, "outage", drill.DefaultOutage, "virtual time the primary region is down, "+drill.OutageRange)
	fs.IntVar(&cfg.MinHealthyMinutes, "min-healthy", drill.DefaultMinHealthyMinutes, "minutes the primary must be healthy before failback, "+drill.MinHealthyMinutesRange)
	fs.BoolVar(&cfg.HTTPS, "https", false, "deploy with a certificate in each workload region: ALBs and the accelerator listen with HTTPS on 443 (the https scenario always does)")
	fs.BoolVar(&cfg.Approval, "approval", false, "make failback wait for approval (the drill's operator approves); failover waits when the deployment says so")
	dir := fs.String("assembly", "cdk.out", "the cloud assembly `directory` to deploy (make synth writes cdk.out)")
	newPrimaryDir := fs.String("new-primary-assembly", "", "the `directory` of the app synthesized with the backup region as the primary, which the new-primary scenario deploys over --assembly (default: the --assembly directory with "+assembly.NewPrimarySuffix+" appended, as make synth writes it)")
	fs.Uint64Var(&cfg.Seed, "seed", drill.DefaultSeed, "seed of the accelerator's routing choices, >= 1")
	fs.IntVar(&cfg.ScaleRecords, "scale-records", drill.DefaultScaleRecords, "scale scenario: records B's Firehose delivers during the failover (synthetic, besides the producers'), "+drill.ScaleRange)
	fs.IntVar(&cfg.ScaleObjects, "scale-objects", drill.DefaultScaleObjects, "scale scenario: raw objects they are delivered in")
	fs.StringVar(&cfg.Scenario, "scenario", drill.DefaultScenario, "the scenario to run (see --list), or all: every scenario, one after the other")
	list := fs.Bool("list", false, "print the scenarios, one line each, and exit")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to `file` (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the run to `file` (go tool pprof)")
	parallel := fs.Int("parallel", runtime.NumCPU(), "with --scenario all, how many scenarios run at once (each in a world of its own), 1 to 64")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pendulum drill [flags]\n\nRuns a drill scenario (default %s; --list shows the catalogue) on a simulated installation (virtual time) and prints the RTO, the RPO per store, each DR step's duration and the record accounting.\n"+
			"A scenario may take its own default for a flag you do not give (blip: a 2-minute outage).\n", drill.DefaultScenario)
		fmt.Fprintf(stderr, "--html FILE also writes the report as one self-contained HTML page. `pendulum drill start` starts the deployed drill state machine in AWS instead; `pendulum-drill local COMMAND` runs the operator commands on a local installation (local --help).\n")
		fmt.Fprintf(stderr, "A bad flag value exits 2. The run's records (--producers × --rate over --warmup + --outage + --min-healthy + 2m) must stay within %d, what the simulation holds in memory.\n\nflags:\n", drill.MaxRecords)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // asked for
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pendulum drill: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *list {
		for _, sc := range drill.Scenarios() {
			fmt.Fprintf(stdout, "%-22s %s\n", sc.Name, sc.Summary)
		}
		return 0
	}
	var run []string
	if cfg.Scenario == "all" {
		for _, sc := range drill.Scenarios() {
			run = append(run, sc.Name)
		}
	} else if _, err := drill.LookupScenario(cfg.Scenario); err != nil {
		fmt.Fprintf(stderr, "pendulum drill: --scenario: %v\n", err)
		return 2
	} else {
		run = []string{cfg.Scenario}
	}
	if *parallel < 1 || *parallel > 64 {
		fmt.Fprintf(stderr, "pendulum drill: --parallel %d is out of range: want 1 to 64 (see --help)\n", *parallel)
		return 2
	}
	if *htmlFile != "" && len(run) > 1 {
		fmt.Fprintf(stderr, "pendulum drill: --html writes one scenario's page: give --scenario NAME, not all\n")
		return 2
	}
	// A knob not given takes the scenario's default, then the drill's; the
	// synthetic load's knobs are the scale scenario's alone (with all, they
	// size its run), so they are checked only when given.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["scale-records"] && !given["scale-objects"] {
		cfg.ScaleRecords, cfg.ScaleObjects = 0, 0
	} else if cfg.Scenario != "scale" && cfg.Scenario != "all" {
		fmt.Fprintf(stderr, "pendulum drill: --scale-records and --scale-objects apply to --scenario scale (or all) only (see --help)\n")
		return 2
	}
	checked := []drill.Config{cfg}
	if cfg.Scenario == "all" && cfg.ScaleRecords != 0 {
		scale := cfg
		scale.Scenario = "scale"
		checked[0].ScaleRecords, checked[0].ScaleObjects = 0, 0
		checked = append(checked, scale)
	}
	for _, c := range checked {
		if err := validate(c); err != nil {
			fmt.Fprintf(stderr, "pendulum drill: %v (see --help)\n", err)
			return 2
		}
	}
	for field, name := range flagOf {
		if !given[name] {
			zeroKnob(&cfg, field)
		}
	}
	a, err := assembly.Read(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "pendulum drill: --assembly: %v\n", err)
		return 2
	}
	cfg.Assembly = a
	for _, name := range run {
		if sc, _ := drill.LookupScenario(name); sc.NeedsNewPrimaryAssembly() {
			d := *newPrimaryDir
			if d == "" {
				d = strings.TrimRight(*dir, "/") + assembly.NewPrimarySuffix
			}
			np, err := assembly.Read(d)
			if err != nil {
				fmt.Fprintf(stderr, "pendulum drill: --new-primary-assembly (scenario %s): %v\n", name, err)
				return 2
			}
			cfg.NewPrimaryAssembly = np
			break
		}
	}
	if !*quiet {
		cfg.Progress = stdout
		if *asJSON {
			cfg.Progress = stderr
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "pendulum drill: --cpuprofile: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			f, err := os.Create(*memProfile)
			if err == nil {
				err = pprof.WriteHeapProfile(f)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(stderr, "pendulum drill: --memprofile: %v\n", err)
			}
		}()
	}
	scaleRecords := 0
	if slices.Contains(run, "scale") {
		scaleRecords = cfg.ScaleRecords
		if scaleRecords == 0 {
			scaleRecords = drill.DefaultScaleRecords
		}
	}
	tuneGC(min(*parallel, len(run)), scaleRecords, len(run) == 1 && scaleRecords > 0)
	reps, err := runScenarios(cfg, run, *parallel, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "pendulum drill: %v\n", err)
		return 1
	}
	passed := true
	for _, rep := range reps {
		passed = passed && rep.Passed
		// With all, a passing scenario is its summary line below; a failing
		// one prints its whole report.
		if !*asJSON && (len(run) == 1 || !rep.Passed) {
			if err := drill.WriteText(stdout, rep); err != nil {
				fmt.Fprintf(stderr, "pendulum drill: %v\n", err)
				return 1
			}
		}
	}
	if *htmlFile != "" {
		var b bytes.Buffer
		if err := drill.WriteHTML(&b, reps[0]); err == nil {
			err = os.WriteFile(*htmlFile, b.Bytes(), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "pendulum drill: --html: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "pendulum drill: wrote %s\n", *htmlFile)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var doc any = reps[0]
		if cfg.Scenario == "all" {
			doc = reps // one document: the reports, in catalogue order
		}
		if err := enc.Encode(doc); err != nil {
			fmt.Fprintf(stderr, "pendulum drill: %v\n", err)
			return 1
		}
	} else if len(reps) > 1 {
		fmt.Fprintf(stdout, "\nscenarios:\n")
		for _, rep := range reps {
			verdict := "PASSED"
			if !rep.Passed {
				verdict = "FAILED"
			}
			fmt.Fprintf(stdout, "  %-22s %s  virtual %-8s wall %5.1fs  %s\n", rep.Scenario, verdict, time.Duration(rep.VirtualSeconds*float64(time.Second)).Round(time.Second), rep.WallSeconds, drill.Figures(rep))
		}
	}
	if !passed {
		return 1
	}
	return 0
}

// zeroKnob sets one of drill.Config's knobs (a flagOf field) to zero: the
// scenario's or the drill's default.
func zeroKnob(c *drill.Config, field string) {
	switch field {
	case "Producers":
		c.Producers = 0
	case "Rate":
		c.Rate = 0
	case "Warmup":
		c.Warmup = 0
	case "Outage":
		c.Outage = 0
	case "MinHealthyMinutes":
		c.MinHealthyMinutes = 0
	case "Seed":
		c.Seed = 0
	case "ScaleRecords":
		c.ScaleRecords = 0
	case "ScaleObjects":
		c.ScaleObjects = 0
	}
}

// flagOf is the flag that sets each of drill.Config's knobs.
var flagOf = map[string]string{
	"Producers":         "producers",
	"Rate":              "rate",
	"Warmup":            "warmup",
	"Outage":            "outage",
	"MinHealthyMinutes": "min-healthy",
	"Seed":              "seed",
	"ScaleRecords":      "scale-records",
	"ScaleObjects":      "scale-objects",
}

// validate checks the knobs the flags set, in the flags' terms. Every flag
// carries its default, so a zero is always explicit here, and out of range:
// drill.Config would take it as "the default" and run something else.
func validate(cfg drill.Config) error {
	zero := func(name, rng string) error { return fmt.Errorf("--%s 0 is out of range: want %s", name, rng) }
	switch {
	case cfg.Producers == 0:
		return zero("producers", drill.ProducersRange)
	case cfg.Rate == 0:
		return zero("rate", drill.RateRange)
	case cfg.Warmup == 0:
		return zero("warmup", drill.WarmupRange)
	case cfg.Outage == 0:
		return zero("outage", drill.OutageRange)
	case cfg.MinHealthyMinutes == 0:
		return zero("min-healthy", drill.MinHealthyMinutesRange)
	case cfg.Seed == 0:
		return zero("seed", ">= 1")
	}
	err := cfg.Validate()
	var rng *drill.RangeError
	var budget *drill.BudgetError
	switch {
	case errors.As(err, &rng):
		return fmt.Errorf("--%s %s is out of range: want %s", flagOf[rng.Field], rng.Value, rng.Range)
	case errors.As(err, &budget):
		return fmt.Errorf("--producers %d × --rate %g over --warmup %s + --outage %s + --min-healthy %d + 2m is %.0f records, more than the %d the simulation handles: lower --producers or --rate, or shorten --warmup or --outage",
			cfg.Producers, cfg.Rate, cfg.Warmup, cfg.Outage, cfg.MinHealthyMinutes, budget.Records, drill.MaxRecords)
	}
	return err
}

// runScenarios runs the named scenarios, at most parallel at once, and
// returns their reports in the order of names. Each runs in a simulated
// world of its own, so they are independent; the longest (by virtual
// outage) start first, so that one long scenario does not run alone at
// the end. With more than one at once, each progress line names its
// scenario. The error is the first scenario that could not run at all.
func runScenarios(cfg drill.Config, names []string, parallel int, stderr io.Writer) ([]*drill.Report, error) {
	order := make([]int, len(names))
	outage := make([]time.Duration, len(names))
	for i, name := range names {
		order[i] = i
		c := cfg
		c.Scenario = name
		outage[i] = drill.Planned(c).Outage
	}
	sort.SliceStable(order, func(a, b int) bool { return outage[order[a]] > outage[order[b]] })
	parallel = min(parallel, len(names))
	reps := make([]*drill.Report, len(names))
	errs := make([]error, len(names))
	var mu sync.Mutex // stderr's lines, and each progress line whole
	started := 0
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				c := cfg
				c.Scenario = names[i]
				if names[i] != "scale" {
					c.ScaleRecords, c.ScaleObjects = 0, 0
				}
				if len(names) > 1 {
					mu.Lock()
					started++
					fmt.Fprintf(stderr, "pendulum drill: scenario %s (%d of %d)\n", names[i], started, len(names))
					mu.Unlock()
				}
				if c.Progress != nil && parallel > 1 {
					c.Progress = &prefixed{w: c.Progress, mu: &mu, prefix: names[i] + " "}
				}
				reps[i], errs[i] = drill.Run(context.Background(), c)
				if errs[i] != nil {
					errs[i] = fmt.Errorf("%s: %w", names[i], errs[i])
				}
			}
		}()
	}
	for _, i := range order {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return reps, nil
}

// prefixed writes each line with a prefix, whole, under a lock shared by
// the scenarios running at once.
type prefixed struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
	buf    []byte
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s", p.prefix, p.buf[:i+1])
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}

// tuneGC trades memory the drill has for time: a simulated installation
// allocates fast and keeps a large live heap, so the default GOGC of 100
// spends about a third of long-failover's CPU in the collector. GOGC 400
// under a soft limit of 1 GiB per scenario running at once collects rarely
// until the heap nears the limit: long-failover ran in 60 s instead of 94 s
// with the same peak RSS (1.07 GB against 0.99 GB; /usr/bin/time).
//
// The scale scenario's heap grows with its records: with 10^6 about
// 0.51 GB is retained at its peak, in failback's verification (collected
// twice while every simulated goroutine waits on the virtual clock), and
// about 15 GB is allocated in all. Run alone, it gets scaleBaseBytes and
// scaleBytesPerRecord for each record, about 877 MiB for 10^6: measured
// (GOMEMLIMIT; /usr/bin/time), 880MiB took 57.7 s at 0.93 GB peak RSS,
// 920MiB 56.6 and 56.9 s at 0.97 GB, 1000MiB 56.8 s at 1.06 GB, 1200MiB
// 51.8 s at 1.27 GB and 2260MiB 51.2 s at 2.3 GB, one after the other; at
// a tenth of its size 490MiB took 7.6 s at 0.49 GB. The collector works
// harder this close to the heap's peak, and a run's time varies more: six
// runs at this limit took 59.6 to 65.2 s and once 77.8 s, at 0.93-0.94 GB,
// where three at 2260MiB took 51.2 to 60.7 s. With other scenarios it
// gets scaleBytesPerRecord a record on top of their 1 GiB each. The GOGC
// and GOMEMLIMIT environment variables, when set, win.
func tuneGC(scenarios int, scaleRecords int, scaleAlone bool) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(scenarios, scaleRecords, scaleAlone))
	}
}

// memoryLimit is tuneGC's soft memory limit in bytes.
func memoryLimit(scenarios int, scaleRecords int, scaleAlone bool) int64 {
	perRecord := int64(scaleRecords) * scaleBytesPerRecord
	if scaleAlone {
		return scaleBaseBytes + perRecord
	}
	return int64(max(scenarios, 1))<<30 + perRecord
}

// scaleBaseBytes and scaleBytesPerRecord make the scale scenario's memory
// limit: the heap of the rest of the simulation and the collector's room,
// and about what each synthetic record keeps (0.51 GB for 10^6).
const (
	scaleBaseBytes      = 400 << 20
	scaleBytesPerRecord = 500
)
