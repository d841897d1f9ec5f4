package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
	"github.com/pendulum-dr/pendulum/pkg/reportpage"
)

func init() {
	register(&Command{
		Name: "report", Summary: "the DR report of a failover, failback or drill execution (text, --json, --html FILE)",
		usage: " EXECUTION",
		help: `The report of one execution of B's failover, failback or drill state machine (EXECUTION:
its ARN, or its name): how it ended, each top-level step's duration from the execution
history (as the dr-report step measures them), and the facts it recorded — the report its
Report state built and published when it got that far, else the control record's facts
when they are this execution's.`,
		flags: func(inv *invocation) {
			inv.boolean("json", "print the report as one JSON document")
			inv.str("html", "", "also write the report as a self-contained HTML `file` (inline CSS and SVG timeline, no script)")
		},
		check: func(inv *invocation) error {
			if len(inv.args) != 1 {
				return Usagef("want one EXECUTION (its ARN or name), got %d arguments", len(inv.args))
			}
			return nil
		},
		run: runReport,
	})
}

// ExecutionReport is `pendulum report`'s report of one execution.
type ExecutionReport struct {
	Outcome
	// Passed is the report's verdict: a drill's checks, else whether the
	// execution succeeded.
	Passed bool `json:"passed"`
	// Facts are the workflow's facts: from the report the execution built
	// (FactsFrom "report"), else the control record's ("control record"),
	// else none.
	Facts     json.RawMessage `json:"facts"`
	FactsFrom string          `json:"factsFrom,omitempty"`
	// Spans are the steps' first entries and last exits, for the timeline.
	Spans []StepSpan `json:"spans"`
}

// StepSpan is when a top-level step first started and last ended, in
// seconds from the execution's start.
type StepSpan struct {
	Name     string  `json:"name"`
	From, To float64 `json:"-"`
}

func runReport(ctx context.Context, inv *invocation) error {
	rep, err := BuildReport(ctx, inv.session, inv.args[0])
	if err != nil {
		return err
	}
	if file := inv.getStr("html"); file != "" {
		var b bytes.Buffer
		if err := reportpage.Write(&b, rep.Page(inv.session)); err != nil {
			return err
		}
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--html: %w", err)
		}
		fmt.Fprintf(inv.env.Stderr, "wrote %s\n", file)
	}
	if inv.getBool("json") {
		err = writeJSON(inv.env.Stdout, rep)
	} else {
		err = rep.WriteText(inv.env.Stdout)
	}
	if err != nil {
		return err
	}
	if rep.Status == string(sfntypes.ExecutionStatusRunning) || !rep.Passed {
		return &exitError{code: ExitFailed}
	}
	return nil
}

// resolveExecution turns an execution name into its ARN among B's DR
// state machines.
func resolveExecution(ctx context.Context, s *Session, ref string) (*sfn.DescribeExecutionOutput, error) {
	if strings.HasPrefix(ref, "arn:") {
		d, err := s.Clients.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(ref)})
		var missing *sfntypes.ExecutionDoesNotExist
		if errors.As(err, &missing) {
			return nil, Usagef("no execution %s", ref)
		}
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", ref, err)
		}
		return d, nil
	}
	for _, wf := range workflows {
		arn := strings.Replace(s.machineARN(wf), ":stateMachine:", ":execution:", 1) + ":" + ref
		d, err := s.Clients.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		var missing *sfntypes.ExecutionDoesNotExist
		if errors.As(err, &missing) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", arn, err)
		}
		return d, nil
	}
	return nil, Usagef("no failover, failback or drill execution named %q in %s", ref, s.Regions.Backup)
}

// BuildReport reads an execution's report.
func BuildReport(ctx context.Context, s *Session, ref string) (*ExecutionReport, error) {
	d, err := resolveExecution(ctx, s, ref)
	if err != nil {
		return nil, err
	}
	arn := aws.ToString(d.ExecutionArn)
	if s.workflowOf(aws.ToString(d.StateMachineArn)) == "" {
		return nil, Usagef("%s is not an execution of B's failover, failback or drill state machine", arn)
	}
	events, err := drapi.ReadHistory(ctx, s.Clients.SFN, arn)
	if err != nil {
		return nil, err
	}
	rep := &ExecutionReport{Outcome: *outcomeOf(s, d, events), Facts: json.RawMessage("null")}
	end := s.Clock.Now()
	if d.StopDate != nil {
		end = *d.StopDate
	}
	steps, _ := drapi.Steps(events, end)
	for _, st := range steps {
		rep.Spans = append(rep.Spans, StepSpan{Name: st.Name, From: st.First.Sub(rep.Started).Seconds(), To: st.Last.Sub(rep.Started).Seconds()})
	}
	rep.Passed = rep.Status == string(sfntypes.ExecutionStatusSucceeded)
	// The report the execution's own Report state built: a function
	// result that is a ReportOutput of this execution.
	for _, ev := range events {
		if ev.LambdaFunctionSucceededEventDetails == nil && ev.TaskSucceededEventDetails == nil {
			continue
		}
		out := ""
		if ev.LambdaFunctionSucceededEventDetails != nil {
			out = aws.ToString(ev.LambdaFunctionSucceededEventDetails.Output)
		} else {
			out = aws.ToString(ev.TaskSucceededEventDetails.Output)
		}
		var ro drapi.ReportOutput
		if json.Unmarshal([]byte(out), &ro) == nil && ro.Execution == arn && ro.Workflow == rep.Workflow && len(ro.Facts) > 0 {
			rep.Facts, rep.FactsFrom = ro.Facts, "report"
			if rep.Workflow == drapi.WorkflowDrill {
				rep.Passed = ro.Passed
			}
		}
	}
	if rep.FactsFrom == "" && rep.Workflow != drapi.WorkflowDrill {
		rec, _, err := drapi.ReadControl(ctx, s.Clients.DynamoDB, s.Names.ControlTable())
		if err != nil {
			return nil, err
		}
		if rec.Execution == arn {
			rep.Facts, rep.FactsFrom = drapi.WorkflowFacts(rec, rep.Workflow), "control record"
		}
	}
	return rep, nil
}

// WriteText writes the report for a person, in the drill report's layout
// for a workflow: its outcome, then each step's time.
func (r *ExecutionReport) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := map[bool]string{true: "PASSED", false: "FAILED"}[r.Passed]
	if r.Status == string(sfntypes.ExecutionStatusRunning) {
		verdict = "RUNNING"
	}
	fmt.Fprintf(&b, "\n%s report %s: %s\n", r.Workflow, short(r.Execution), verdict)
	fmt.Fprintf(&b, "  %s\n", r.Execution)
	stopped := "still running"
	if r.Stopped != nil {
		stopped = "stopped " + r.Stopped.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(&b, "  started %s, %s\n", r.Started.UTC().Format(time.RFC3339), stopped)
	fmt.Fprintf(&b, "\n  %s: %s in %s\n", r.Workflow, r.statusText(), duration(time.Duration(r.Seconds*float64(time.Second))))
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "    %-38s %9s", s.Name, duration(time.Duration(s.Seconds*float64(time.Second))))
		if s.Visits > 1 {
			fmt.Fprintf(&b, "  (%d entries)", s.Visits)
		}
		b.WriteString("\n")
	}
	if r.Cause != "" {
		fmt.Fprintf(&b, "    ! %s\n", oneLine(r.Cause, 600))
	}
	if r.FactsFrom != "" {
		fmt.Fprintf(&b, "\n  facts (from the %s):\n", r.FactsFrom)
		for _, kv := range flatten(r.Facts) {
			if strings.HasPrefix(kv[0], "checks[") {
				continue // listed as checks below
			}
			fmt.Fprintf(&b, "    %-40s %s\n", kv[0], oneLine(kv[1], 200))
		}
	} else {
		b.WriteString("\n  facts: none recorded for this execution\n")
	}
	if checks := r.checks(); len(checks) > 0 {
		b.WriteString("\n  checks:\n")
		for _, c := range checks {
			fmt.Fprintf(&b, "    %s %-22s %s\n", map[bool]string{true: "ok  ", false: "FAIL"}[c.Passed], c.Name, c.Detail)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *ExecutionReport) statusText() string {
	if r.Error != "" {
		return r.Status + " (" + r.Error + ")"
	}
	return r.Status
}

// checks are the drill's checks in its facts.
func (r *ExecutionReport) checks() []reportpage.Check {
	var f struct {
		Checks []struct {
			Name   string `json:"name"`
			Passed bool   `json:"passed"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	_ = json.Unmarshal(r.Facts, &f)
	var out []reportpage.Check
	for _, c := range f.Checks {
		out = append(out, reportpage.Check{Name: c.Name, Passed: c.Passed, Detail: c.Detail})
	}
	return out
}

// flatten lists a JSON document's leaves as dotted paths and values, the
// paths in order.
func flatten(raw json.RawMessage) [][2]string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out [][2]string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, t[k])
			}
		case []any:
			if len(t) == 0 {
				out = append(out, [2]string{path, "[]"})
			}
			for i, e := range t {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case nil:
			out = append(out, [2]string{path, "null"})
		default:
			b, _ := json.Marshal(t)
			out = append(out, [2]string{path, strings.Trim(string(b), `"`)})
		}
	}
	walk("", v)
	return out
}

// Page is the report as an HTML page: the execution's steps on a
// timeline, its figures, facts and checks.
func (r *ExecutionReport) Page(s *Session) reportpage.Page {
	verdict := map[bool]string{true: "PASSED", false: "FAILED"}[r.Passed]
	if r.Status == string(sfntypes.ExecutionStatusRunning) {
		verdict = "RUNNING"
	}
	p := reportpage.Page{
		Title:   fmt.Sprintf("%s report %s", r.Workflow, short(r.Execution)),
		Verdict: verdict, Passed: r.Passed,
		Lines: []string{r.Execution, fmt.Sprintf("Pendulum %s: P %s, B %s (%s)", s.Names.Prefix, s.Regions.Primary, s.Regions.Backup, s.Where)},
		Figures: []reportpage.Figure{
			{Label: "status", Value: r.Status, Detail: r.Error},
			{Label: r.Workflow + " took", Value: reportpage.Duration(r.Seconds), Detail: "started " + r.Started.UTC().Format(time.RFC3339)},
			{Label: "steps", Value: fmt.Sprint(len(r.Steps))},
		},
		Checks: r.checks(),
	}
	total := r.Seconds
	if total <= 0 {
		total = 1
	}
	wf := reportpage.Workflow{Name: r.Workflow, Status: r.statusText(), Seconds: r.Seconds}
	for i, st := range r.Steps {
		sp := r.Spans[i]
		wf.Steps = append(wf.Steps, reportpage.Step{Name: st.Name, From: sp.From, To: sp.To, Seconds: st.Seconds, Visits: st.Visits})
	}
	p.Timeline = &reportpage.Timeline{Seconds: total, Start: r.Started, Workflows: []reportpage.Workflow{wf},
		Caption: "0 = the execution's start, " + r.Started.UTC().Format(time.RFC3339) + "; bars run from a step's first entry to its last exit"}
	if r.Cause != "" {
		p.Lines = append(p.Lines, "cause: "+oneLine(r.Cause, 600))
	}
	if r.FactsFrom != "" {
		t := reportpage.Table{Title: "Facts (from the " + r.FactsFrom + ")", Columns: []string{"fact", "value"}}
		for _, kv := range flatten(r.Facts) {
			if strings.HasPrefix(kv[0], "checks[") {
				continue // shown as checks
			}
			t.Rows = append(t.Rows, []string{kv[0], oneLine(kv[1], 300)})
		}
		p.Tables = append(p.Tables, t)
	}
	return p
}
