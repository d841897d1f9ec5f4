package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

func init() {
	commands["states"] = command{summary: "validate or run Amazon States Language definitions locally", run: statesMain}
}

const statesUsage = `usage:
  pendulum states validate [--sub Name=Value]… FILE…
      Check definitions; exit 0 when all are valid, else list every problem
      with its state name and exit 1.
  pendulum states run FILE [--input JSON|@FILE] [--stub STATE=JSON|@FILE]…
                           [--stub-error STATE=ERROR[:CAUSE]]… [--sub Name=Value]…
                           [--s3 DIR] [--history]
      Run FILE on the local engine with a virtual clock (Wait states and
      retries take no wall time). Prints the execution output on stdout and
      exits 0; a failed execution prints {"error":…,"cause":…} on stderr and
      exits 1. --stub answers every invocation of a Task state (inside Map and
      Parallel too) with that JSON as the task result; --stub-error fails it.
      A Task without a stub fails the execution. --sub replaces ${Name}
      DefinitionSubstitutions placeholders. --s3 DIR is the S3 of Distributed
      Map states: s3://bucket/key is the file DIR/bucket/key, read by
      ItemReader (listObjectsV2, getObject) and written by ResultWriter; a
      bucket is a directory of DIR. --history prints the execution history
      (GetExecutionHistory shape) on stderr; a Distributed Map's child
      workflow executions keep histories of their own, not printed.
  Exit status 2: bad usage, unreadable file or invalid definition.
`

func statesMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, statesUsage)
		return 2
	}
	switch args[0] {
	case "validate":
		return statesValidate(args[1:], stdout, stderr)
	case "run":
		return statesRun(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, statesUsage)
		return 0
	}
	fmt.Fprintf(stderr, "pendulum states: unknown subcommand %q\n\n%s", args[0], statesUsage)
	return 2
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseInterspersed parses flags that may come before or after the
// positional arguments, which the flag package alone does not allow.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// placeholder is a DefinitionSubstitutions key: ${Name}.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

func substitutions(subs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range subs {
		k, v, ok := strings.Cut(s, "=")
		if !ok || !placeholder.MatchString("${"+k+"}") {
			return nil, fmt.Errorf("--sub %q: want Name=Value", s)
		}
		out[k] = v
	}
	return out, nil
}

// substitute replaces the ${Name} placeholders it has values for, as
// CloudFormation does with DefinitionSubstitutions.
func substitute(def []byte, subs map[string]string) []byte {
	return placeholder.ReplaceAllFunc(def, func(m []byte) []byte {
		if v, ok := subs[string(m[2:len(m)-1])]; ok {
			return []byte(v)
		}
		return m
	})
}

func statesValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("states validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var subs multiFlag
	fs.Var(&subs, "sub", "DefinitionSubstitutions value Name=Value (repeatable)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "pendulum states validate: no FILE given\n\n"+statesUsage)
		return 2
	}
	sm, err := substitutions(subs)
	if err != nil {
		fmt.Fprintf(stderr, "pendulum states validate: %v\n", err)
		return 2
	}
	status := 0
	for _, f := range files {
		def, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "pendulum states validate: %v\n", err)
			return 2
		}
		problems := states.Validate(substitute(def, sm))
		if len(problems) == 0 {
			fmt.Fprintf(stdout, "%s: valid\n", f)
			continue
		}
		status = 1
		for _, p := range problems {
			fmt.Fprintf(stdout, "%s: %s\n", f, p)
		}
	}
	return status
}

// jsonArg reads a JSON|@FILE argument.
func jsonArg(v string) (json.RawMessage, error) {
	b := []byte(v)
	if name, ok := strings.CutPrefix(v, "@"); ok {
		var err error
		if b, err = os.ReadFile(name); err != nil {
			return nil, err
		}
	}
	if !json.Valid(b) {
		return nil, errors.New("not valid JSON")
	}
	return json.RawMessage(b), nil
}

func statesRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("states run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var stubs, stubErrors, subs multiFlag
	input := fs.String("input", "{}", "execution input: JSON or @FILE")
	fs.Var(&stubs, "stub", "STATE=JSON|@FILE: result of every invocation of a Task state (repeatable)")
	fs.Var(&stubErrors, "stub-error", "STATE=ERROR[:CAUSE]: fail every invocation of a Task state (repeatable)")
	fs.Var(&subs, "sub", "DefinitionSubstitutions value Name=Value (repeatable)")
	history := fs.Bool("history", false, "print the execution history on stderr")
	s3Dir := fs.String("s3", "", "DIR: serve s3://bucket/key from DIR/bucket/key to Distributed Map ItemReader and ResultWriter")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "pendulum states run: "+format+"\n", a...)
		return 2
	}
	if len(pos) != 1 {
		return usageErr("want exactly one FILE, got %d\n\n%s", len(pos), statesUsage)
	}
	sm, err := substitutions(subs)
	if err != nil {
		return usageErr("%v", err)
	}
	def, err := os.ReadFile(pos[0])
	if err != nil {
		return usageErr("%v", err)
	}
	m, err := states.Parse(substitute(def, sm))
	if err != nil {
		var ve *states.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				fmt.Fprintf(stderr, "%s: %s\n", pos[0], p)
			}
			return 2
		}
		return usageErr("%s: %v", pos[0], err)
	}
	in, err := jsonArg(*input)
	if err != nil {
		return usageErr("--input: %v", err)
	}

	types := m.States()
	var taskNames []string
	for n, t := range types {
		if t == "Task" {
			taskNames = append(taskNames, n)
		}
	}
	sort.Strings(taskNames)
	reg := states.NewRegistry()
	stubbed := map[string]bool{}
	checkState := func(flagName, name string) error {
		if types[name] != "Task" {
			return fmt.Errorf("%s: %q is not a Task state (Task states: %s)", flagName, name, strings.Join(taskNames, ", "))
		}
		if stubbed[name] {
			return fmt.Errorf("%s: state %q is stubbed twice", flagName, name)
		}
		stubbed[name] = true
		return nil
	}
	for _, s := range stubs {
		name, val, ok := strings.Cut(s, "=")
		if !ok {
			return usageErr("--stub %q: want STATE=JSON or STATE=@FILE", s)
		}
		if err := checkState("--stub", name); err != nil {
			return usageErr("%v", err)
		}
		result, err := jsonArg(val)
		if err != nil {
			return usageErr("--stub %s: %v", name, err)
		}
		reg.HandleState(name, states.TaskHandlerFunc(func(context.Context, *states.Task) (json.RawMessage, error) {
			return result, nil
		}))
	}
	for _, s := range stubErrors {
		name, val, ok := strings.Cut(s, "=")
		if !ok || val == "" {
			return usageErr("--stub-error %q: want STATE=ERROR[:CAUSE]", s)
		}
		if err := checkState("--stub-error", name); err != nil {
			return usageErr("%v", err)
		}
		errName, cause, _ := strings.Cut(val, ":")
		reg.HandleState(name, states.TaskHandlerFunc(func(context.Context, *states.Task) (json.RawMessage, error) {
			return nil, &states.Error{Name: errName, Cause: cause}
		}))
	}
	for _, n := range taskNames {
		if stubbed[n] {
			continue
		}
		reg.HandleState(n, states.TaskHandlerFunc(func(context.Context, *states.Task) (json.RawMessage, error) {
			return nil, &states.Error{Name: states.ErrorRuntime, Cause: fmt.Sprintf("Task state %q has no stub: pass --stub %s=JSON or --stub-error %s=ERROR[:CAUSE]", n, n, n)}
		}))
	}

	opts := states.Options{Registry: reg}
	if *s3Dir != "" {
		fi, err := os.Stat(*s3Dir)
		if err != nil {
			return usageErr("--s3: %v", err)
		}
		if !fi.IsDir() {
			return usageErr("--s3 %s: not a directory (want DIR, whose subdirectories are the buckets)", *s3Dir)
		}
		opts.ObjectStore = states.DirStore{Dir: *s3Dir}
	}
	clk := clock.NewVirtual(time.Now().UTC().Truncate(time.Millisecond))
	opts.Clock = clk
	e := states.New(opts)
	e.Register(machineName(pos[0]), m)
	ctx := context.Background()
	x, err := e.Start(ctx, m, "", in)
	if err != nil {
		return usageErr("start: %v", err)
	}
	r, err := x.Wait(ctx)
	if err != nil {
		return usageErr("wait: %v", err)
	}
	if *history {
		enc := json.NewEncoder(stderr)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Events []states.HistoryEvent `json:"events"`
		}{x.History()})
	}
	if r.Status != states.StatusSucceeded {
		b, _ := json.Marshal(struct {
			Error string `json:"error"`
			Cause string `json:"cause"`
		}{r.Error, r.Cause})
		fmt.Fprintf(stderr, "%s\n", b)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", r.Output)
	return 0
}

// machineName derives a state machine name from a file name.
func machineName(file string) string {
	base := file[strings.LastIndexAny(file, `/\`)+1:]
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".json"), ".asl")
	if base == "" {
		return "StateMachine"
	}
	return base
}
