// Command crosscheck runs pendulum's states conformance cases on both
// pkg/states and aws-local-stepfunctions (through alsf.mjs on Node 22) and
// compares what the two engines did: execution status, output or error name,
// and how often and with what input each stubbed task was called.
//
// Usage (from tools/crosscheck, after npm ci):
//
//	go run . [-cases DIR] [-node PATH] [-known known.json] [-json results.json] [-markdown]
//
// It exits 1 when the engines disagree on a case that known.json does not
// list with its reason, or when a case known.json lists now agrees (so the
// list and docs/states-crosscheck.md stay true); 2 on a usage or setup error.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// testCase is the part of a conformance case file the driver needs; the
// format is documented in pkg/states/testdata/conformance/README.md.
type testCase struct {
	Definition json.RawMessage       `json:"definition"`
	Input      json.RawMessage       `json:"input"`
	Stubs      map[string][]response `json:"stubs"`
	Lambdas    map[string][]response `json:"lambdas"`
	SDK        map[string][]response `json:"sdk"`
	Expect     struct {
		Problems []string `json:"problems"`
	} `json:"expect"`
}

type response struct {
	Result       json.RawMessage `json:"result,omitempty"`
	Echo         bool            `json:"echo,omitempty"`
	Error        string          `json:"error,omitempty"`
	Cause        string          `json:"cause,omitempty"`
	SleepSeconds int             `json:"sleepSeconds,omitempty"`
}

// outcome is what one engine did with one case; alsf.mjs prints the same shape.
type outcome struct {
	Name       string                       `json:"name"`
	Skipped    string                       `json:"skipped,omitempty"`
	Validation *validation                  `json:"validation,omitempty"`
	Status     string                       `json:"status,omitempty"`
	Output     json.RawMessage              `json:"output,omitempty"`
	Error      string                       `json:"error,omitempty"`
	Cause      string                       `json:"cause,omitempty"`
	Calls      map[string]int               `json:"calls,omitempty"`
	Inputs     map[string][]json.RawMessage `json:"inputs,omitempty"`
}

type validation struct {
	Rejected bool   `json:"rejected"`
	Message  string `json:"message,omitempty"`
}

// known is one entry of known.json: a disagreement and why ours is right.
type known struct {
	Theirs string `json:"theirs"`
	Ours   string `json:"ours"`
	Reason string `json:"reason"`
	Source string `json:"source"`
}

// verdict is the comparison of both engines on one case.
type verdict struct {
	Name    string   `json:"name"`
	Result  string   `json:"result"` // agree, disagree, skipped
	Skipped string   `json:"skipped,omitempty"`
	Diffs   []string `json:"diffs,omitempty"`
	Ours    *outcome `json:"ours,omitempty"`
	Theirs  *outcome `json:"theirs,omitempty"`
}

func main() {
	os.Exit(run())
}

func run() int {
	casesDir := flag.String("cases", "../../pkg/states/testdata/conformance", "directory of conformance case files")
	node := flag.String("node", "node_modules/node/bin/node", "Node ≥ 22 binary")
	knownFile := flag.String("known", "known.json", "expected disagreements with their reasons")
	jsonOut := flag.String("json", "", "write every verdict with both outcomes to this file")
	markdown := flag.Bool("markdown", false, "print the verdicts as Markdown tables")
	flag.Parse()

	files, err := filepath.Glob(filepath.Join(*casesDir, "*.json"))
	if err != nil || len(files) == 0 {
		fmt.Fprintf(os.Stderr, "crosscheck: no case files in %s\n", *casesDir)
		return 2
	}
	sort.Strings(files)
	var knowns map[string]known
	if b, err := os.ReadFile(*knownFile); err != nil {
		fmt.Fprintf(os.Stderr, "crosscheck: %v\n", err)
		return 2
	} else if err := json.Unmarshal(b, &knowns); err != nil {
		fmt.Fprintf(os.Stderr, "crosscheck: %s: %v\n", *knownFile, err)
		return 2
	}

	theirs, err := runNode(*node, files)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crosscheck: aws-local-stepfunctions: %v\n", err)
		return 2
	}

	var verdicts []verdict
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t, ok := theirs[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "crosscheck: alsf.mjs gave no result for %s\n", name)
			return 2
		}
		v := verdict{Name: name, Theirs: &t}
		if t.Skipped != "" {
			v.Result, v.Skipped, v.Theirs = "skipped", t.Skipped, nil
			verdicts = append(verdicts, v)
			continue
		}
		ours, err := runOurs(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crosscheck: %s: %v\n", name, err)
			return 2
		}
		v.Ours = &ours
		v.Diffs = compare(ours, t)
		v.Result = "agree"
		if len(v.Diffs) > 0 {
			v.Result = "disagree"
		}
		verdicts = append(verdicts, v)
	}

	failed := false
	counts := map[string]int{}
	for _, v := range verdicts {
		k, isKnown := knowns[v.Name]
		if v.Result == "disagree" && isKnown {
			counts["known"]++
		}
		switch {
		case v.Result == "disagree" && !isKnown:
			failed = true
			fmt.Printf("UNEXPECTED DISAGREEMENT %s:\n  %s\n", v.Name, strings.Join(v.Diffs, "\n  "))
		case v.Result == "agree" && isKnown:
			failed = true
			fmt.Printf("STALE %s: known.json lists a disagreement (%s) but both engines now agree\n", v.Name, k.Reason)
		case v.Result == "skipped" && isKnown:
			failed = true
			fmt.Printf("STALE %s: known.json lists a disagreement but the case is skipped (%s)\n", v.Name, v.Skipped)
		}
		counts[v.Result]++
	}
	for name := range knowns {
		if !hasVerdict(verdicts, name) {
			failed = true
			fmt.Printf("STALE %s: known.json lists a case that no longer exists\n", name)
		}
	}
	if *markdown {
		printMarkdown(verdicts, knowns)
	} else {
		for _, v := range verdicts {
			line := fmt.Sprintf("%-48s %s", v.Name, v.Result)
			if v.Skipped != "" {
				line += ": " + v.Skipped
			} else if v.Result == "disagree" {
				if _, ok := knowns[v.Name]; ok {
					line += " (known)"
				}
				line += ": " + strings.Join(v.Diffs, "; ")
			}
			fmt.Println(line)
		}
	}
	fmt.Printf("\n%d cases: %d agree, %d disagree (%d known), %d skipped\n",
		len(verdicts), counts["agree"], counts["disagree"], counts["known"], counts["skipped"])
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(verdicts, "", " ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "crosscheck: %v\n", err)
			return 2
		}
	}
	if failed {
		return 1
	}
	return 0
}

func hasVerdict(vs []verdict, name string) bool {
	for _, v := range vs {
		if v.Name == name {
			return true
		}
	}
	return false
}

// runNode runs every case through aws-local-stepfunctions in one process.
func runNode(node string, files []string) (map[string]outcome, error) {
	cmd := exec.Command(node, append([]string{"alsf.mjs"}, files...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s alsf.mjs: %w\n%s", node, err, stderr.Bytes())
	}
	var list []outcome
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil {
		return nil, fmt.Errorf("decode alsf.mjs output: %w", err)
	}
	out := map[string]outcome{}
	for _, o := range list {
		out[o.Name] = o
	}
	return out, nil
}

// start is the virtual start time of every execution, as in the conformance
// runner, so $$.Execution.StartTime agrees with the context alsf.mjs passes.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// recorder serves a case's answers in order, the last one repeating, and
// records each invocation's input.
type recorder struct {
	mu     sync.Mutex
	rs     []response
	inputs []json.RawMessage
}

func (r *recorder) answer(ctx context.Context, clk clock.Clock, in json.RawMessage) (json.RawMessage, error) {
	r.mu.Lock()
	a := r.rs[min(len(r.inputs), len(r.rs)-1)]
	r.inputs = append(r.inputs, append(json.RawMessage(nil), in...))
	r.mu.Unlock()
	if a.SleepSeconds > 0 {
		if err := clk.Sleep(ctx, time.Duration(a.SleepSeconds)*time.Second); err != nil {
			return nil, err
		}
	}
	if a.Error != "" {
		return nil, &states.Error{Name: a.Error, Cause: a.Cause}
	}
	if a.Echo {
		return in, nil
	}
	return a.Result, nil
}

// runOurs runs one case on pkg/states with the options the conformance
// runner uses: a virtual clock, the machine registered as Main, the
// execution named test.
func runOurs(file string) (outcome, error) {
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	b, err := os.ReadFile(file)
	if err != nil {
		return outcome{}, err
	}
	var c testCase
	if err := json.Unmarshal(b, &c); err != nil {
		return outcome{}, fmt.Errorf("decode case: %w", err)
	}
	if len(c.Expect.Problems) > 0 {
		ps := states.Validate(c.Definition)
		v := &validation{Rejected: len(ps) > 0}
		if len(ps) > 0 {
			v.Message = ps[0].String()
		}
		return outcome{Name: name, Validation: v}, nil
	}
	m, err := states.Parse(c.Definition)
	if err != nil {
		return outcome{}, fmt.Errorf("parse: %w", err)
	}
	clk := clock.NewVirtual(start)
	reg := states.NewRegistry()
	recs := map[string]*recorder{}
	for st, rs := range c.Stubs {
		r := &recorder{rs: rs}
		recs[st] = r
		reg.HandleState(st, states.TaskHandlerFunc(func(ctx context.Context, t *states.Task) (json.RawMessage, error) {
			return r.answer(ctx, clk, t.Input)
		}))
	}
	for fn, rs := range c.Lambdas {
		r := &recorder{rs: rs}
		recs[fn] = r
		reg.HandleLambda(fn, func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
			return r.answer(ctx, clk, payload)
		})
	}
	for key, rs := range c.SDK {
		r := &recorder{rs: rs}
		recs[key] = r
		svc, action, _ := strings.Cut(key, ":")
		reg.HandleSDK(svc, action, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
			return r.answer(ctx, clk, params)
		})
	}
	e := states.New(states.Options{Clock: clk, Registry: reg, Random: func() float64 { return 0.5 }})
	e.Register("Main", m)
	ctx := context.Background()
	input := c.Input
	if input == nil {
		input = json.RawMessage(`{}`)
	}
	x, err := e.Start(ctx, m, "test", input)
	if err != nil {
		return outcome{}, fmt.Errorf("start: %w", err)
	}
	res, err := x.Wait(ctx)
	if err != nil {
		return outcome{}, fmt.Errorf("wait: %w", err)
	}
	o := outcome{Name: name, Status: string(res.Status), Calls: map[string]int{}, Inputs: map[string][]json.RawMessage{}}
	if res.Status == states.StatusSucceeded {
		o.Output = res.Output
	} else {
		o.Error, o.Cause = res.Error, res.Cause
	}
	for k, r := range recs {
		if len(r.inputs) > 0 {
			o.Calls[k] = len(r.inputs)
			o.Inputs[k] = r.inputs
		}
	}
	return o, nil
}

// compare lists how two outcomes differ; error causes are not compared,
// since their wording is each engine's own.
func compare(ours, theirs outcome) []string {
	var d []string
	if ours.Validation != nil || theirs.Validation != nil {
		if ours.Validation == nil || theirs.Validation == nil {
			return []string{"one engine validated, the other ran"}
		}
		if ours.Validation.Rejected != theirs.Validation.Rejected {
			d = append(d, fmt.Sprintf("rejected: ours %v, theirs %v", ours.Validation.Rejected, theirs.Validation.Rejected))
		}
		return d
	}
	if ours.Status != theirs.Status {
		d = append(d, fmt.Sprintf("status: ours %s %s, theirs %s %s", ours.Status, ours.Error, theirs.Status, theirs.Error))
		return d
	}
	if ours.Status == "SUCCEEDED" && !jsonEqual(ours.Output, theirs.Output) {
		d = append(d, fmt.Sprintf("output: ours %s, theirs %s", compact(ours.Output), compact(theirs.Output)))
	}
	if ours.Status != "SUCCEEDED" && ours.Error != theirs.Error {
		d = append(d, fmt.Sprintf("error: ours %s, theirs %s", ours.Error, theirs.Error))
	}
	if !reflect.DeepEqual(nonNil(ours.Calls), nonNil(theirs.Calls)) {
		d = append(d, fmt.Sprintf("calls: ours %v, theirs %v", ours.Calls, theirs.Calls))
	} else {
		// Map and Parallel may call in any order: compare inputs as multisets.
		for k, in := range ours.Inputs {
			if !reflect.DeepEqual(canonicalSet(in), canonicalSet(theirs.Inputs[k])) {
				d = append(d, fmt.Sprintf("inputs of %s: ours %s, theirs %s", k, canonicalSet(in), canonicalSet(theirs.Inputs[k])))
			}
		}
	}
	return d
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// compact re-encodes JSON with sorted keys and no spaces.
func compact(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func canonicalSet(in []json.RawMessage) []string {
	out := make([]string, 0, len(in))
	for _, b := range in {
		out = append(out, compact(b))
	}
	sort.Strings(out)
	return out
}

func printMarkdown(vs []verdict, knowns map[string]known) {
	fmt.Println("| case | result |\n|---|---|")
	for _, v := range vs {
		switch v.Result {
		case "agree":
			detail := v.Ours.Status
			if v.Ours.Validation != nil {
				detail = "both reject"
			}
			fmt.Printf("| %s | agree (%s) |\n", v.Name, detail)
		case "disagree":
			fmt.Printf("| %s | disagree: %s |\n", v.Name, strings.ReplaceAll(strings.Join(v.Diffs, "; "), "|", `\|`))
		}
	}
	fmt.Println("\n| skipped case | why aws-local-stepfunctions cannot run it |\n|---|---|")
	for _, v := range vs {
		if v.Result == "skipped" {
			fmt.Printf("| %s | %s |\n", v.Name, v.Skipped)
		}
	}
	_ = knowns
}
