package states

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// fuzzInputConformance names the conformance definitions FuzzExecutionInput runs besides the
// project's state machines: tasks with Retry and Catch, Map, Parallel, Choice and intrinsics,
// all reading the execution input.
var fuzzInputConformance = []string{
	"catch-taskfailed", "retry-then-catch-states-all-runtime-task-error", "map-tolerated-count",
	"map-tolerated-percentage-path", "parallel-branch-fails-catch", "choice-operators-true",
	"intrinsic-format", "resultselector-intrinsic", "wait-secondspath",
}

// placeholder matches a DefinitionSubstitutions variable of the deployed definitions.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// fuzzMachine is one definition under FuzzExecutionInput with its task stubs.
type fuzzMachine struct {
	name string
	m    *Machine
	// tasks are the names of its Task states, at any depth.
	tasks []string
	// errors are the names the definition raises (Fail states) or matches (Retry, Catch):
	// with the States.* names, the only ones an execution of it may fail with.
	errors map[string]bool
	// dynamicErrors is set when a Fail state takes its error from the data (ErrorPath), so
	// any name is legitimate.
	dynamicErrors bool
}

// scanDefinition collects, from a decoded definition at any depth, the names of Task states,
// the error names of Retry/Catch and Fail states, and whether a Fail state uses ErrorPath.
func scanDefinition(v any, tasks *[]string, errs map[string]bool, dynamic *bool) {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			scanDefinition(x, tasks, errs, dynamic)
		}
	case map[string]any:
		if states, ok := v["States"].(map[string]any); ok {
			for name, s := range states {
				if s, ok := s.(map[string]any); ok && s["Type"] == "Task" {
					*tasks = append(*tasks, name)
				}
			}
		}
		if v["Type"] == "Fail" {
			if e, ok := v["Error"].(string); ok {
				errs[e] = true
			}
			if _, ok := v["ErrorPath"]; ok {
				*dynamic = true
			}
		}
		if list, ok := v["ErrorEquals"].([]any); ok {
			for _, e := range list {
				if e, ok := e.(string); ok {
					errs[e] = true
				}
			}
		}
		for _, x := range v {
			scanDefinition(x, tasks, errs, dynamic)
		}
	}
}

// stubTasks answers every Task state of a definition deterministically from the state's name
// and effective input: it echoes the effective input, or returns the execution input (so the
// fuzzer also controls what later states see of task results), or fails with one of the error
// names the definition itself handles (so Retry and Catch paths run too).
func stubTasks(tasks []string, errs map[string]bool, execInput []byte) *Registry {
	var names []string
	for e := range errs {
		if e != ErrorAll && !strings.HasPrefix(e, "States.") {
			names = append(names, e)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		names = []string{ErrorTaskFailed}
	}
	reg := NewRegistry()
	stub := TaskHandlerFunc(func(_ context.Context, t *Task) (json.RawMessage, error) {
		h := fnv.New64a()
		h.Write([]byte(t.StateName))
		h.Write(t.Input)
		sum := h.Sum64()
		switch sum % 3 {
		case 0:
			return nil, &Error{Name: names[(sum/3)%uint64(len(names))], Cause: "stub failure"}
		case 1:
			if len(execInput) > 0 {
				return execInput, nil
			}
		}
		if len(t.Input) == 0 {
			return json.RawMessage(`{}`), nil
		}
		return t.Input, nil
	})
	for _, name := range tasks {
		reg.HandleState(name, stub)
	}
	return reg
}

func loadFuzzMachine(tb testing.TB, name string, def []byte) (*fuzzMachine, bool) {
	def = placeholder.ReplaceAll(def, []byte("arn:aws:lambda:us-east-1:123456789012:function:$1"))
	m, err := Parse(def)
	if err != nil {
		// Another engineer may be mid-edit; TestProjectStateMachinesValid reports invalid
		// definitions, this target fuzzes the ones that parse.
		tb.Logf("skip %s: %v", name, err)
		return nil, false
	}
	var doc any
	if err := json.Unmarshal(def, &doc); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	fm := &fuzzMachine{name: name, m: m, errors: map[string]bool{}}
	scanDefinition(doc, &fm.tasks, fm.errors, &fm.dynamicErrors)
	return fm, true
}

func fuzzMachines(tb testing.TB) []*fuzzMachine {
	var out []*fuzzMachine
	files, err := filepath.Glob("../../statemachines/*.asl.json")
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatal("no state machines in ../../statemachines")
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		if fm, ok := loadFuzzMachine(tb, filepath.Base(file), b); ok {
			out = append(out, fm)
		}
	}
	for _, name := range fuzzInputConformance {
		b, err := os.ReadFile(filepath.Join("testdata/conformance", name+".json"))
		if err != nil {
			tb.Fatal(err)
		}
		var c struct{ Definition json.RawMessage }
		if err := json.Unmarshal(b, &c); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		if fm, ok := loadFuzzMachine(tb, name, c.Definition); ok {
			out = append(out, fm)
		}
	}
	if len(out) < len(fuzzInputConformance) {
		tb.Fatalf("only %d definitions parsed", len(out))
	}
	return out
}

// FuzzExecutionInput runs arbitrary execution input through the project's state machines (read
// from ../../statemachines, placeholders replaced by dummy ARNs) and a few conformance
// definitions, every Task answered by a deterministic stub, on a virtual clock. Whatever the
// input: no panic, Start rejects exactly the input that is not JSON, the execution reaches a
// terminal status, and a failure names a States.* error or one the definition raises or
// handles itself.
func FuzzExecutionInput(f *testing.F) {
	machines := fuzzMachines(f)
	for _, in := range []string{`{}`, `{"date":"2026-11-24"}`, `{"mode":"gameday"}`, `[]`, `"x"`, `42`, `null`, `true`} {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		for _, fm := range machines {
			e := New(Options{
				Clock: clock.NewVirtual(conformanceStart), Registry: stubTasks(fm.tasks, fm.errors, input), MaxHistoryEvents: 2000,
				Random: func() float64 { return 0.5 }, UUID: func() string { return "00000000-0000-4000-8000-000000000000" },
			})
			e.Register("fuzz", fm.m)
			x, err := e.Start(context.Background(), fm.m, "fuzz", json.RawMessage(input))
			valid := len(input) == 0 || json.Valid(input)
			if err != nil {
				if valid {
					t.Fatalf("%s: Start rejected valid JSON input: %v", fm.name, err)
				}
				continue
			}
			if !valid {
				t.Fatalf("%s: Start accepted input that is not JSON: %q", fm.name, input)
			}
			r, err := x.Wait(context.Background())
			if err != nil {
				t.Fatalf("%s: Wait: %v", fm.name, err)
			}
			switch r.Status {
			case StatusSucceeded:
			case StatusFailed, StatusTimedOut:
				if r.Error == "" {
					t.Fatalf("%s: %s without an error name", fm.name, r.Status)
				}
				if !strings.HasPrefix(r.Error, "States.") && !fm.errors[r.Error] && !fm.dynamicErrors {
					t.Fatalf("%s: failed with %q (cause %q), neither a States.* error nor one the definition raises or handles", fm.name, r.Error, r.Cause)
				}
			default:
				t.Fatalf("%s: execution ended %s", fm.name, r.Status)
			}
		}
	})
}
