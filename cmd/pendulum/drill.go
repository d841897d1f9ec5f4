package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/pendulum-dr/pendulum/pkg/operator"
)

// drillProgram is the program `pendulum drill` runs. The drill links the
// simulated regions and every AWS SDK client they serve; their package
// initialisation alone costs tens of milliseconds, which every `pendulum
// states run` would pay if the drill were linked into this binary.
const drillProgram = "pendulum-drill"

func init() {
	rehearse, start := external(drillProgram), operatorCommand(operator.DrillStart)
	commands["drill"] = command{
		summary: "rehearse a regional outage on simulated regions and account for every record (runs " + drillProgram + "); `drill start` starts the deployed drill in B",
		run: func(args []string, stdout, stderr io.Writer) int {
			if len(args) > 0 && args[0] == "start" {
				return start(args[1:], stdout, stderr)
			}
			return rehearse(args, stdout, stderr)
		},
	}
}

// external returns a command that runs program with the arguments after the
// command's name, wired to this process's stdin and the given outputs, and
// exits with its status.
func external(program string) func(args []string, stdout, stderr io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		path, err := findProgram(program)
		if err != nil {
			fmt.Fprintf(stderr, "pendulum: %s is not installed: it must be next to pendulum or on PATH (%v).\n"+
				"Build both with `make cli` (into bin/) or `go install ./cmd/pendulum ./cmd/%s`.\n", program, err, program)
			return 2
		}
		cmd := exec.Command(path, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
		err = cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &exit) && exit.ExitCode() >= 0:
			return exit.ExitCode()
		default: // it did not start, or a signal ended it
			fmt.Fprintf(stderr, "pendulum: %s: %v\n", path, err)
			return 1
		}
	}
}

// findProgram looks for program in the directory of the running executable
// first, so that a bin/ built together stays together, then on PATH.
func findProgram(program string) (string, error) {
	name := program
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return exec.LookPath(program)
}
