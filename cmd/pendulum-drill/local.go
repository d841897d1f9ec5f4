package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/operator"
	"github.com/pendulum-dr/pendulum/pkg/operator/oplocal"
)

// DefaultLocalWarmup is the virtual time a local installation runs before
// its first command: the health canary's first minutes, and S3's
// replication metrics, which start 15 minutes after RTC is enabled.
const DefaultLocalWarmup = 20 * time.Minute

// localMain runs operator commands against one local installation: the
// assembly deployed into simulated regions, on a virtual clock. Commands
// separated by a lone "--" run one after the other on the same
// installation; the first that does not exit 0 ends the run with its
// status.
func localMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	warmup := fs.Duration("warmup", DefaultLocalWarmup, "virtual time the installation runs before the first command")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pendulum-drill local [--warmup D] COMMAND [flags] [-- COMMAND [flags]]…\n\n"+
			"Deploys the cloud assembly (the first command's --assembly, default cdk.out) into simulated regions with IAM\n"+
			"enforced, lets it run for --warmup of virtual time, then runs the operator commands against it, as\n"+
			"`pendulum COMMAND --local` does for one. Commands: %s.\n\nflags:\n", strings.Join(commandNames(), ", "))
		fs.PrintDefaults()
	}
	// The local flags end at the first argument that is not one.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *warmup < 0 {
		fmt.Fprintf(stderr, "pendulum-drill local: --warmup %s: want a duration >= 0\n", *warmup)
		return 2
	}
	var runs [][]string
	cur := []string{}
	for _, a := range fs.Args() {
		if a == "--" {
			runs = append(runs, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	runs = append(runs, cur)
	type step struct {
		name string
		args []string
	}
	var steps []step
	for _, r := range runs {
		if len(r) == 0 {
			fmt.Fprintf(stderr, "pendulum-drill local: a command is missing (commands: %s)\n", strings.Join(commandNames(), ", "))
			return 2
		}
		name, rest := r[0], r[1:]
		if name == "drill" && len(rest) > 0 && rest[0] == "start" {
			name, rest = operator.DrillStart, rest[1:]
		}
		if _, ok := operator.Lookup(name); !ok {
			fmt.Fprintf(stderr, "pendulum-drill local: unknown command %q (commands: %s)\n", name, strings.Join(commandNames(), ", "))
			return 2
		}
		steps = append(steps, step{name, rest})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	inst := &oplocal.Installation{Warmup: *warmup}
	defer inst.Close()
	env := operator.Env{Stdout: stdout, Stderr: stderr, Connect: inst.Connect, LocalOnly: true}
	for i, s := range steps {
		if len(steps) > 1 {
			fmt.Fprintf(stdout, "\n$ pendulum %s %s\n", s.name, strings.Join(s.args, " "))
		}
		if code := operator.Run(ctx, s.name, s.args, env); code != 0 {
			if i < len(steps)-1 {
				fmt.Fprintf(stderr, "pendulum-drill local: %s exited %d; the commands after it did not run\n", s.name, code)
			}
			return code
		}
	}
	return 0
}

func commandNames() []string {
	var names []string
	for _, c := range operator.Commands() {
		names = append(names, c.Name)
	}
	return names
}
