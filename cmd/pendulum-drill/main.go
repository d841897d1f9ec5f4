// Command pendulum-drill rehearses a regional outage, failover and failback
// of Pendulum on simulated regions, in virtual time, and accounts for every
// record. `pendulum drill` runs it (see cmd/pendulum); it is a program of its
// own so that the simulator and every AWS SDK client it links stay out of
// `pendulum states`, whose start-up would otherwise pay for their package
// initialisation.
//
//	pendulum-drill [--json] [--quiet] [scenario flags]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

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
	fs := flag.NewFlagSet("drill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg drill.Config
	asJSON := fs.Bool("json", false, "print the report as one JSON document on stdout (progress goes to stderr)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	// The defaults and ranges are pkg/drill's, which says why each range.
	fs.IntVar(&cfg.Producers, "producers", drill.DefaultProducers, "number of producers, "+drill.ProducersRange)
	fs.Float64Var(&cfg.Rate, "rate", drill.DefaultRate, "records per second per producer, "+drill.RateRange)
	fs.DurationVar(&cfg.Warmup, "warmup", drill.DefaultWarmup, "virtual time the workload runs before the primary fails, "+drill.WarmupRange)
	fs.DurationVar(&cfg.Outage, "outage", drill.DefaultOutage, "virtual time the primary region is down, "+drill.OutageRange)
	fs.IntVar(&cfg.MinHealthyMinutes, "min-healthy", drill.DefaultMinHealthyMinutes, "minutes the primary must be healthy before failback, "+drill.MinHealthyMinutesRange)
	fs.BoolVar(&cfg.Approval, "approval", false, "make failback wait for approval (the drill's operator approves); failover waits when the deployment says so")
	dir := fs.String("assembly", "cdk.out", "the cloud assembly `directory` to deploy (make synth writes cdk.out)")
	fs.Uint64Var(&cfg.Seed, "seed", drill.DefaultSeed, "seed of the accelerator's routing choices, >= 1")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pendulum drill [flags]\n\nRuns the regional-outage scenario on a simulated installation (virtual time) and prints the RTO, each DR step's duration and the record accounting.\n"+
			"A bad flag value exits 2. The run's records (--producers × --rate over --warmup + --outage + --min-healthy + 2m) must stay within %d, what the simulation holds in memory.\n\nflags:\n", drill.MaxRecords)
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
	if err := validate(cfg); err != nil {
		fmt.Fprintf(stderr, "pendulum drill: %v (see --help)\n", err)
		return 2
	}
	a, err := assembly.Read(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "pendulum drill: --assembly: %v\n", err)
		return 2
	}
	cfg.Assembly = a
	if !*quiet {
		cfg.Progress = stdout
		if *asJSON {
			cfg.Progress = stderr
		}
	}
	rep, err := drill.Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "pendulum drill: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "pendulum drill: %v\n", err)
			return 1
		}
	} else if err := drill.WriteText(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "pendulum drill: %v\n", err)
		return 1
	}
	if !rep.Passed {
		return 1
	}
	return 0
}

// flagOf is the flag that sets each of drill.Config's knobs.
var flagOf = map[string]string{
	"Producers":         "producers",
	"Rate":              "rate",
	"Warmup":            "warmup",
	"Outage":            "outage",
	"MinHealthyMinutes": "min-healthy",
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
