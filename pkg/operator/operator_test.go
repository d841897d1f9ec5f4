package operator

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/states/intrinsic"
	"github.com/pendulum-dr/pendulum/statemachines"
)

// TestApprovalToken finds the task token in the message each DR state
// machine's approval state publishes, built by its own States.Format, even
// when the operator's reason repeats the text around the token.
func TestApprovalToken(t *testing.T) {
	for _, machine := range []string{"failover", "failback"} {
		def, err := statemachines.Definition(machine)
		if err != nil {
			t.Fatal(err)
		}
		// The deployed definition has its substitutions in place.
		def = []byte(strings.NewReplacer("${NamePrefix}", "pendulum", "${PrimaryRegion}", "us-east-1", "${BackupRegion}", "us-east-2").Replace(string(def)))
		params, err := stateParameters(def, "Approval")
		if err != nil {
			t.Fatal(err)
		}
		format, _ := params["Message.$"].(string)
		if !strings.Contains(format, taskToken) {
			t.Fatalf("%s's Approval message does not carry the token: %s", machine, format)
		}
		// The message as the state publishes it, with a reason that
		// mimics the text before the token.
		call, err := intrinsic.Parse(format)
		if err != nil {
			t.Fatal(err)
		}
		values := map[string]any{"$.begin.config.reason": "drill, task token: not-this-one. Execution: x",
			"$$.Execution.Id": "arn:aws:states:us-east-2:111111111111:execution:pendulum-" + machine + ":e1", taskToken: "AAAA+bb/cc=="}
		msg, err := call.Eval(intrinsic.Env{Resolve: func(p string) (any, error) { return values[p], nil }})
		if err != nil {
			t.Fatal(err)
		}
		got, err := findToken(params, map[string]any{"Message": msg, "Subject": "s", "TopicArn": "t"})
		if err != nil || got != "AAAA+bb/cc==" {
			t.Errorf("%s: token %q, %v; want AAAA+bb/cc== from %q", machine, got, err, msg)
		}
	}
	// A state that passes the token as a field of its own.
	got, err := findToken(map[string]any{"Payload": map[string]any{"token.$": taskToken}}, map[string]any{"Payload": map[string]any{"token": "T1"}})
	if err != nil || got != "T1" {
		t.Errorf("nested field: %q, %v", got, err)
	}
	if _, err := findToken(map[string]any{"Message.$": "States.Format('no token {}', $.x)"}, map[string]any{"Message": "no token 1"}); err == nil {
		t.Error("a state that publishes no token: found one")
	}
}

// TestViewInPlace: on a terminal the running states are one line,
// rewritten in place (carriage return, erase line) and erased before each
// finished state's line; a polling loop's later visits become one line.
func TestViewInPlace(t *testing.T) {
	var b bytes.Buffer
	v := &view{w: &b, tty: true, open: map[string]time.Time{}, loops: map[string]*loop{}, depth: map[string]int{}, visits: map[string]int{}, entered: map[int64]string{}, prev: map[int64]int64{}}
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	id := int64(0)
	ev := func(typ sfntypes.HistoryEventType, at time.Duration, name string) {
		id++
		e := sfntypes.HistoryEvent{Id: id, PreviousEventId: id - 1, Type: typ, Timestamp: aws.Time(t0.Add(at))}
		switch {
		case strings.HasSuffix(string(typ), "StateEntered"):
			e.StateEnteredEventDetails = &sfntypes.StateEnteredEventDetails{Name: aws.String(name)}
		case strings.HasSuffix(string(typ), "StateExited"):
			e.StateExitedEventDetails = &sfntypes.StateExitedEventDetails{Name: aws.String(name)}
		}
		v.event(e)
	}
	ev(sfntypes.HistoryEventTypeExecutionStarted, 0, "")
	ev(sfntypes.HistoryEventTypeTaskStateEntered, 0, "Activate")
	v.runningLine(t0.Add(5 * time.Second))
	if !strings.HasSuffix(b.String(), "… Activate 5s") || strings.Contains(b.String(), "\n") {
		t.Fatalf("running line %q", b.String())
	}
	ev(sfntypes.HistoryEventTypeTaskStateExited, 7*time.Second, "Activate")
	for i := 0; i < 3; i++ {
		ev(sfntypes.HistoryEventTypeWaitStateEntered, time.Duration(7+30*i)*time.Second, "Wait")
		ev(sfntypes.HistoryEventTypeWaitStateExited, time.Duration(37+30*i)*time.Second, "Wait")
	}
	ev(sfntypes.HistoryEventTypeTaskStateEntered, 97*time.Second, "Route")
	ev(sfntypes.HistoryEventTypeExecutionSucceeded, 98*time.Second, "")
	out := b.String()
	if !strings.Contains(out, "\r\033[K") || strings.Count(out, "\r\033[K") != 1 {
		t.Fatalf("the running line was not erased once: %q", out)
	}
	for _, want := range []string{"✓ Activate", "7s", "✓ Wait", "↻ Wait", "1m0s  (2 more entries, 3 in all)"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "→ ") {
		t.Errorf("a terminal's view printed entry lines:\n%s", out)
	}
	if !v.ended {
		t.Error("the execution's end was not seen")
	}
}

// TestOutcomeSummary says how an execution ended in one line.
func TestOutcomeSummary(t *testing.T) {
	for _, tc := range []struct {
		o    Outcome
		want string
	}{
		{Outcome{Workflow: "failover", Execution: "arn:x:e1", Status: "SUCCEEDED", Seconds: 1238, Output: json.RawMessage(`{"status":"FAILED_OVER","outcome":"complete"}`)}, "failover e1 SUCCEEDED in 20m38s: FAILED_OVER, complete"},
		{Outcome{Workflow: "failover", Execution: "arn:x:e2", Status: "FAILED", Seconds: 1, Error: "Refused", Cause: "failback in progress"}, "failover e2 FAILED in 1s: Refused: failback in progress"},
		{Outcome{Workflow: "drill", Execution: "arn:x:d", Status: "SUCCEEDED", Seconds: 60, Output: json.RawMessage(`{"report":{"passed":true}}`)}, "drill d SUCCEEDED in 1m0s: drill PASSED"},
	} {
		if got := tc.o.Summary(); got != tc.want {
			t.Errorf("Summary = %q, want %q", got, tc.want)
		}
	}
}

// TestWorkflowsAreTheDeployedMachines: the commands address B's state
// machines by the workflow names dr-control knows, which must be the
// embedded definitions' names (what the CDK app deploys), each with an
// input flag set.
func TestWorkflowsAreTheDeployedMachines(t *testing.T) {
	deployed := map[string]bool{}
	for _, n := range statemachines.Names() {
		deployed[n] = true
	}
	for _, w := range workflows {
		if !deployed[w] {
			t.Errorf("workflow %q is not one of the deployed state machines %v", w, statemachines.Names())
		}
		if len(startFlags[w]) == 0 {
			t.Errorf("workflow %q has no input flags", w)
		}
	}
}
