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
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/drill"
)

func main() {
	os.Exit(drillMain(os.Args[1:], os.Stdout, os.Stderr))
}

// drillMain runs the drill: exit 0 only when every invariant holds, 1 when
// the drill ran and failed, 2 on bad usage.
func drillMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg drill.Config
	asJSON := fs.Bool("json", false, "print the report as one JSON document (progress goes to stderr)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	fs.IntVar(&cfg.Producers, "producers", 2, "number of producers")
	fs.Float64Var(&cfg.Rate, "rate", 2, "records per second per producer")
	fs.DurationVar(&cfg.Warmup, "warmup", 20*time.Minute, "virtual time the workload runs before the primary fails")
	fs.DurationVar(&cfg.Outage, "outage", 30*time.Minute, "virtual time the primary region is down")
	fs.IntVar(&cfg.MinHealthyMinutes, "min-healthy", 10, "minutes the primary must be healthy before failback")
	fs.BoolVar(&cfg.Approval, "approval", false, "make failback wait for approval (the drill's operator approves); failover waits when the deployment says so")
	dir := fs.String("assembly", "cdk.out", "the cloud assembly to deploy (`make synth` writes cdk.out)")
	var seed uint64
	fs.Uint64Var(&seed, "seed", 1, "seed of the accelerator's routing choices")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pendulum drill [flags]\n\nRuns the regional-outage scenario on a simulated installation (virtual time) and prints the RTO, each DR step's duration and the record accounting.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pendulum drill: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg.Seed = seed
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
