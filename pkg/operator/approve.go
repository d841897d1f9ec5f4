package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
	"github.com/pendulum-dr/pendulum/pkg/states/intrinsic"
)

func init() {
	for _, deny := range []bool{false, true} {
		name, what := "approve", "approve the failover or failback that waits for approval"
		if deny {
			name, what = "deny", "deny the failover or failback that waits for approval: the lock is released, nothing changes"
		}
		register(&Command{
			Name: name, Summary: what,
			help: what + `.

A workflow started with approval publishes a task token to the DR topic and waits
(.waitForTaskToken). This command finds the token the way Step Functions recorded it: the
waiting state's TaskScheduled event holds the parameters it published, and the state's
definition (DescribeStateMachineForExecution) says where in them the token ($$.Task.Token) is.
Without --execution it looks at every running failover and failback in B and needs exactly
one of them to be waiting. approve sends SendTaskSuccess; deny sends SendTaskFailure with the
error ` + drapi.ApprovalDeniedError + `.`,
			flags: func(inv *invocation) {
				inv.str("execution", "", "the waiting execution's `ARN` (default: the one running failover or failback that waits)")
				if deny {
					inv.str("cause", "denied by the operator (pendulum deny)", "why, recorded as the failure's cause")
				}
			},
			check: func(inv *invocation) error {
				if len(inv.args) > 0 {
					return Usagef("unexpected argument %q (use --execution ARN)", inv.args[0])
				}
				if arn := inv.getStr("execution"); arn != "" && !strings.HasPrefix(arn, "arn:") {
					return Usagef("--execution %q: want an execution ARN", arn)
				}
				return nil
			},
			run: func(ctx context.Context, inv *invocation) error { return runAnswer(ctx, inv, !deny) },
		})
	}
}

// Waiting is an execution waiting for an operator at one state.
type Waiting struct {
	Execution, State, Subject, Token string
}

func runAnswer(ctx context.Context, inv *invocation, approve bool) error {
	s := inv.session
	var candidates []string
	if arn := inv.getStr("execution"); arn != "" {
		candidates = []string{arn}
	} else {
		for _, wf := range []string{drapi.WorkflowFailover, drapi.WorkflowFailback} {
			out, err := s.Clients.SFN.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.machineARN(wf)), StatusFilter: sfntypes.ExecutionStatusRunning})
			if err != nil {
				return fmt.Errorf("list running %s executions: %w", wf, err)
			}
			for _, x := range out.Executions {
				candidates = append(candidates, aws.ToString(x.ExecutionArn))
			}
		}
	}
	var waiting []Waiting
	for _, arn := range candidates {
		ws, err := WaitingFor(ctx, s.Clients.SFN, arn)
		if err != nil {
			return err
		}
		waiting = append(waiting, ws...)
	}
	switch {
	case len(waiting) == 0 && inv.getStr("execution") != "":
		return &notWaitingError{fmt.Errorf("%s is not waiting for approval", inv.getStr("execution"))}
	case len(waiting) == 0:
		return &notWaitingError{fmt.Errorf("no running failover or failback in %s waits for approval", s.Regions.Backup)}
	case len(waiting) > 1:
		var names []string
		for _, w := range waiting {
			names = append(names, "  "+w.Execution+" ("+w.State+")")
		}
		return Usagef("%d executions wait for approval; choose one with --execution:\n%s", len(waiting), strings.Join(names, "\n"))
	}
	w := waiting[0]
	var err error
	if approve {
		_, err = s.Clients.SFN.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(w.Token), Output: aws.String(`{"approved":true}`)})
	} else {
		_, err = s.Clients.SFN.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(w.Token), Error: aws.String(drapi.ApprovalDeniedError), Cause: aws.String(inv.getStr("cause"))})
	}
	if err != nil {
		return fmt.Errorf("answer %s at %s: %w", short(w.Execution), w.State, err)
	}
	verb := map[bool]string{true: "approved", false: "denied"}[approve]
	fmt.Fprintf(inv.env.Stdout, "%s %s (%s: %s)\n  %s\n", verb, short(w.Execution), w.State, w.Subject, w.Execution)
	return nil
}

// notWaitingError: nothing to answer (exit 1).
type notWaitingError struct{ error }

func (e *notWaitingError) Unwrap() error { return e.error }

// WaitingFor returns the states of a running execution that wait for a
// task token now, each with the token it published.
func WaitingFor(ctx context.Context, api StepFunctions, arn string) ([]Waiting, error) {
	events, err := drapi.ReadHistory(ctx, api, arn)
	if err != nil {
		return nil, err
	}
	entered := map[int64]string{}
	prev := map[int64]int64{}
	type open struct {
		state  string
		params string
	}
	pending := map[string]open{} // by state
	ended := false
	stateOf := func(id int64) string {
		for i := 0; i < 10000 && id > 0; i++ {
			if n, ok := entered[id]; ok {
				return n
			}
			id = prev[id]
		}
		return ""
	}
	for _, ev := range events {
		prev[ev.Id] = ev.PreviousEventId
		switch {
		case ev.StateEnteredEventDetails != nil:
			entered[ev.Id] = aws.ToString(ev.StateEnteredEventDetails.Name)
		case ev.TaskScheduledEventDetails != nil && strings.HasSuffix(aws.ToString(ev.TaskScheduledEventDetails.Resource), ".waitForTaskToken"):
			st := stateOf(ev.Id)
			pending[st] = open{state: st, params: aws.ToString(ev.TaskScheduledEventDetails.Parameters)}
		case ev.TaskSucceededEventDetails != nil || ev.TaskFailedEventDetails != nil || ev.TaskTimedOutEventDetails != nil ||
			ev.TaskSubmitFailedEventDetails != nil || ev.TaskStartFailedEventDetails != nil:
			delete(pending, stateOf(ev.Id))
		case ev.StateExitedEventDetails != nil:
			delete(pending, aws.ToString(ev.StateExitedEventDetails.Name))
		case ev.Type == sfntypes.HistoryEventTypeExecutionSucceeded || ev.Type == sfntypes.HistoryEventTypeExecutionFailed ||
			ev.Type == sfntypes.HistoryEventTypeExecutionAborted || ev.Type == sfntypes.HistoryEventTypeExecutionTimedOut:
			ended = true
		}
	}
	if ended || len(pending) == 0 {
		return nil, nil
	}
	def, err := api.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read the definition %s runs: %w", arn, err)
	}
	var out []Waiting
	for _, p := range pending {
		stateParams, err := stateParameters([]byte(aws.ToString(def.Definition)), p.state)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", arn, err)
		}
		var sent map[string]any
		if err := json.Unmarshal([]byte(p.params), &sent); err != nil {
			return nil, fmt.Errorf("%s: the parameters %s published are not a JSON object: %w", arn, p.state, err)
		}
		token, err := findToken(stateParams, sent)
		if err != nil {
			return nil, fmt.Errorf("%s, state %s: %w", arn, p.state, err)
		}
		subject, _ := sent["Subject"].(string)
		out = append(out, Waiting{Execution: arn, State: p.state, Subject: subject, Token: token})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].State < out[j].State })
	return out, nil
}

// stateParameters returns the Parameters of the named state, wherever it
// is in the definition (state names are unique in a state machine).
func stateParameters(def []byte, name string) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, fmt.Errorf("the definition is not JSON: %w", err)
	}
	var find func(m map[string]any) map[string]any
	find = func(m map[string]any) map[string]any {
		states, _ := m["States"].(map[string]any)
		for n, raw := range states {
			st, _ := raw.(map[string]any)
			if n == name {
				p, _ := st["Parameters"].(map[string]any)
				return p
			}
			for _, key := range []string{"Branches"} {
				branches, _ := st[key].([]any)
				for _, b := range branches {
					if bm, ok := b.(map[string]any); ok {
						if p := find(bm); p != nil {
							return p
						}
					}
				}
			}
			for _, key := range []string{"Iterator", "ItemProcessor"} {
				if bm, ok := st[key].(map[string]any); ok {
					if p := find(bm); p != nil {
						return p
					}
				}
			}
		}
		return nil
	}
	p := find(doc)
	if p == nil {
		return nil, fmt.Errorf("state %s has no Parameters in the definition", name)
	}
	return p, nil
}

// taskToken is the context object path of the task token.
const taskToken = "$$.Task.Token"

// errNoToken: the state's parameters do not carry the token.
var errNoToken = errors.New("its Parameters do not pass " + taskToken + " (so the token reached no one)")

// findToken finds the task token in the parameters a state sent: at the
// field whose definition is $$.Task.Token, or inside the string an
// intrinsic function (States.Format) built from it.
func findToken(defined map[string]any, sent map[string]any) (string, error) {
	for key, val := range defined {
		if strings.HasSuffix(key, ".$") {
			expr, _ := val.(string)
			field := strings.TrimSuffix(key, ".$")
			got, _ := sent[field].(string)
			if expr == taskToken {
				return got, nil
			}
			if !strings.HasPrefix(expr, "States.") || !strings.Contains(expr, taskToken) {
				continue
			}
			tok, err := tokenInFormatted(expr, got)
			if err != nil {
				return "", fmt.Errorf("field %s: %w", field, err)
			}
			return tok, nil
		}
		if sub, ok := val.(map[string]any); ok {
			if inner, ok := sent[key].(map[string]any); ok {
				if tok, err := findToken(sub, inner); err == nil {
					return tok, nil
				} else if !errors.Is(err, errNoToken) {
					return "", err
				}
			}
		}
	}
	return "", errNoToken
}

// tokenInFormatted recovers the token from text an intrinsic function
// (such as States.Format('… task token: {}', $.x, $$.Task.Token)) built:
// the function is evaluated with a marker for each path it reads, which
// turns it into a pattern — the literal text with a group for each
// argument — and the token is the group of $$.Task.Token.
func tokenInFormatted(expr, text string) (string, error) {
	call, err := intrinsic.Parse(expr)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", expr, err)
	}
	const mark = "\x00"
	var paths []string
	v, err := call.Eval(intrinsic.Env{Resolve: func(path string) (any, error) {
		paths = append(paths, path)
		return fmt.Sprintf("%s%d%s", mark, len(paths)-1, mark), nil
	}})
	if err != nil {
		return "", fmt.Errorf("evaluate %s: %w", expr, err)
	}
	pattern, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s does not build a string", call.Name())
	}
	var re strings.Builder
	re.WriteString("^")
	group, tokenGroup := 0, -1
	parts := strings.Split(pattern, mark)
	for i, part := range parts {
		if i%2 == 0 {
			re.WriteString(regexp.QuoteMeta(part))
			continue
		}
		group++
		var n int
		fmt.Sscanf(part, "%d", &n)
		if n < len(paths) && paths[n] == taskToken {
			tokenGroup = group
			re.WriteString(`(\S+)`)
		} else {
			re.WriteString("(.*)")
		}
	}
	re.WriteString("$")
	if tokenGroup < 0 {
		return "", errNoToken
	}
	m := regexp.MustCompile("(?s)" + re.String()).FindStringSubmatch(text)
	if m == nil {
		return "", fmt.Errorf("the published text does not match %s", expr)
	}
	return m[tokenGroup], nil
}
