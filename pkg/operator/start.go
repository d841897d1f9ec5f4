package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
)

// workflows are the DR state machines in B, by their names (the files in
// statemachines/ and the workflow names dr-control knows).
var workflows = []string{drapi.WorkflowFailover, drapi.WorkflowFailback, drapi.WorkflowDrill}

// DrillStart is the command that starts the drill state machine: `pendulum
// drill` itself is the local rehearsal (pendulum-drill), so starting the
// deployed drill is `pendulum drill start`.
const DrillStart = "drill start"

// inputFlag is a command-line flag that sets one input field.
type inputFlag struct {
	flag, field, usage string
	kind               string // "string", "bool", "duration", "int"
}

var (
	reasonFlag   = inputFlag{"reason", "reason", "free text recorded in the report (at most 1,024 characters)", "string"}
	approvalFlag = inputFlag{"approval", "approval", "wait for an operator's approval (pendulum approve) before changing anything; --approval=false skips it (default: the deployment's setting)", "bool"}
	timeoutFlag  = inputFlag{"approval-timeout", "approvalTimeoutSeconds", "how long the approval waits (60s … 24h, whole seconds, e.g. 15m; default 1h): no answer in time aborts cleanly", "duration"}
	abandonFlag  = inputFlag{"abandoned", "abandoned", "resume or rollback: what to do with a run that holds the lock but ended without its Catch path (docs/dr.md \"When a workflow stops\")", "string"}
	healthyFlag  = inputFlag{"min-healthy", "minHealthyMinutes", "minutes P's health canary must have reported healthy before failback starts (0 … 1440; default 30)", "int"}
)

// startFlags are each workflow's input flags, as docs/dr.md "Inputs" lists
// the fields; drapi.ParseWorkflowInput validates what they build.
var startFlags = map[string][]inputFlag{
	drapi.WorkflowFailover: {reasonFlag, approvalFlag, timeoutFlag,
		{"restore-source", "restoreSource", "auto, pitr or backup: where the aggregates are restored from (default auto: PITR, else the AWS Backup copy)", "string"},
		{"retry-restore", "retryRestore", "retry the aggregates restore alone of a degraded failover (traffic, fence and catalog are left as they are)", "bool"},
		abandonFlag,
		{"trigger", "trigger", "console (default), gameday or alarm (with --alarm): recorded in the report", "string"},
		{"alarm", "alarm", "the alarm's name, with --trigger alarm", "string"}},
	drapi.WorkflowFailback: {reasonFlag, approvalFlag, timeoutFlag, healthyFlag, abandonFlag},
	drapi.WorkflowDrill: {{"mode", "mode", "isolated (default: restores P's table into B under a drill name and checks it; production untouched) or gameday (a real failover, then a real failback)", "string"},
		{"min-healthy", "minHealthyMinutes", "the game day's failback precondition in minutes (0 … 1440; default 30)", "int"}},
}

func init() {
	for _, wf := range workflows {
		name, what := wf, map[string]string{
			drapi.WorkflowFailover: "fail over to B: start the failover state machine in B and follow it",
			drapi.WorkflowFailback: "fail back to P: start the failback state machine in B and follow it",
			drapi.WorkflowDrill:    "start the deployed drill state machine in B and follow it (pendulum drill alone rehearses locally)",
		}[wf]
		if wf == drapi.WorkflowDrill {
			name = DrillStart
		}
		register(&Command{
			Name: name, Summary: what,
			help: what + `.

The flags build the execution's input (docs/dr.md "Inputs"); only the flags given are sent,
so the state machine's defaults apply to the others. The input is validated before anything
starts. Each state entered and left is shown with its duration (in place on a terminal, one
line each otherwise) until the execution ends; the exit status is its outcome. Interrupting
stops the following, not the execution: see it with pendulum report EXECUTION.`,
			flags: func(inv *invocation) {
				for _, f := range startFlags[wf] {
					switch f.kind {
					case "bool":
						inv.tristate(f.flag, f.usage)
					default:
						inv.str(f.flag, "", f.usage)
					}
				}
				inv.str("name", "", "the execution's `name` (default: one Step Functions picks); a name already used is refused, so a retried command cannot start twice")
				inv.boolean("no-follow", "print the execution's ARN and exit once it has started")
				inv.boolean("json", "print the outcome as one JSON document on stdout (the step view goes to stderr)")
			},
			check: func(inv *invocation) error {
				if err := noArguments(inv); err != nil {
					return err
				}
				input, err := buildInput(inv, wf)
				inv.input = input
				return err
			},
			run: func(ctx context.Context, inv *invocation) error { return runStart(ctx, inv, wf) },
		})
	}
}

// buildInput turns the given flags into the workflow's input.
func buildInput(inv *invocation, workflow string) ([]byte, error) {
	in := map[string]any{}
	for _, f := range startFlags[workflow] {
		if !inv.set(f.flag) {
			continue
		}
		switch f.kind {
		case "bool":
			in[f.field] = inv.getTri(f.flag).value
		case "string":
			in[f.field] = inv.getStr(f.flag)
		case "int":
			v := inv.getStr(f.flag)
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, Usagef("--%s %q: want a whole number of minutes", f.flag, v)
			}
			in[f.field] = n
		case "duration":
			v := inv.getStr(f.flag)
			d, err := time.ParseDuration(v)
			if err != nil {
				if n, nerr := strconv.Atoi(v); nerr == nil {
					d, err = time.Duration(n)*time.Second, nil
				}
			}
			if err != nil || d%time.Second != 0 {
				return nil, Usagef("--%s %q: want a duration in whole seconds, such as 15m or 900", f.flag, v)
			}
			in[f.field] = int64(d / time.Second)
		}
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	if _, err := drapi.ParseWorkflowInput(workflow, b, false); err != nil {
		return nil, Usagef("%s (the input was %s)", strings.TrimPrefix(err.Error(), "invalid input: "), b)
	}
	return b, nil
}

// Outcome is how a followed execution ended, as --json prints it.
type Outcome struct {
	Workflow  string          `json:"workflow"`
	Execution string          `json:"execution"`
	Status    string          `json:"status"`
	Error     string          `json:"error,omitempty"`
	Cause     string          `json:"cause,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
	Started   time.Time       `json:"started"`
	Stopped   *time.Time      `json:"stopped,omitempty"`
	Seconds   float64         `json:"seconds"`
	Steps     []StepSeconds   `json:"steps"`
}

// StepSeconds is a top-level state's time, as the DR report measures it.
type StepSeconds struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Visits  int     `json:"visits"`
}

func runStart(ctx context.Context, inv *invocation, workflow string) error {
	s, input := inv.session, inv.input
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(s.machineARN(workflow)), Input: aws.String(string(input))}
	if n := inv.getStr("name"); n != "" {
		in.Name = aws.String(n)
	}
	out, err := s.Clients.SFN.StartExecution(ctx, in)
	if err != nil {
		var exists *sfntypes.ExecutionAlreadyExists
		if errors.As(err, &exists) {
			return Usagef("an execution named %q already exists: %v", aws.ToString(in.Name), err)
		}
		return fmt.Errorf("start %s (%s): %w", workflow, aws.ToString(in.StateMachineArn), err)
	}
	arn := aws.ToString(out.ExecutionArn)
	asJSON := inv.getBool("json")
	view := inv.env.Stdout
	tty := inv.env.TTY
	if asJSON {
		view, tty = inv.env.Stderr, false
	}
	fmt.Fprintf(view, "started %s execution %s with %s\n  %s\n", workflow, short(arn), input, arn)
	if inv.getBool("no-follow") {
		if asJSON {
			return writeJSON(inv.env.Stdout, map[string]string{"workflow": workflow, "execution": arn, "status": string(sfntypes.ExecutionStatusRunning)})
		}
		return nil
	}
	o, err := Follow(ctx, s, arn, view, tty)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(inv.env.Stderr, "stopped following; %s goes on: pendulum report %s\n", short(arn), arn)
		}
		return err
	}
	if asJSON {
		if err := writeJSON(inv.env.Stdout, o); err != nil {
			return err
		}
	}
	if o.Status != string(sfntypes.ExecutionStatusSucceeded) {
		return &exitError{code: ExitFailed}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
