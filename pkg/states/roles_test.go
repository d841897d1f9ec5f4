package states

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// roleCall is one handler invocation as a roleRecorder saw it.
type roleCall struct {
	kind     string // lambda, sdk or resource
	info     TaskInfo
	ok       bool   // the context carried a TaskInfo
	taskRole string // Task.RoleARN, for a resource handler
	taskSM   string // Task.StateMachineARN, for a resource handler
}

// roleRecorder registers a Lambda function, an SDK action and a resource
// handler that record what they learn about the task they serve.
type roleRecorder struct {
	mu    sync.Mutex
	calls []roleCall
}

func (rr *roleRecorder) add(c roleCall) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.calls = append(rr.calls, c)
}

func (rr *roleRecorder) register(reg *Registry) {
	reg.HandleLambda("fn", func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		info, ok := TaskInfoFrom(ctx)
		rr.add(roleCall{kind: "lambda", info: info, ok: ok})
		return json.RawMessage(`{}`), nil
	})
	reg.HandleSDK("dynamodb", "getItem", func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
		info, ok := TaskInfoFrom(ctx)
		rr.add(roleCall{kind: "sdk", info: info, ok: ok})
		return json.RawMessage(`{}`), nil
	})
	reg.Handle("arn:aws:states:::sns:publish", TaskHandlerFunc(func(ctx context.Context, t *Task) (json.RawMessage, error) {
		info, ok := TaskInfoFrom(ctx)
		rr.add(roleCall{kind: "resource", info: info, ok: ok, taskRole: t.RoleARN, taskSM: t.StateMachineARN})
		return json.RawMessage(`{"MessageId":"1"}`), nil
	}))
}

// roleTasks are a Lambda, an SDK and a resource Task state, prefixed, in
// sequence; the last goes to next ("" to end).
func roleTasks(prefix, next string) string {
	end := `"End":true`
	if next != "" {
		end = `"Next":"` + next + `"`
	}
	return fmt.Sprintf(`{
		"%[1]sLambda": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
			"Parameters": {"FunctionName": "fn", "Payload": {}}, "ResultPath": null, "Next": "%[1]sLambdaARN"},
		"%[1]sLambdaARN": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fn",
			"ResultPath": null, "Next": "%[1]sSDK"},
		"%[1]sSDK": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
			"Parameters": {"TableName": "t"}, "ResultPath": null, "Next": "%[1]sPublish"},
		"%[1]sPublish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
			"Parameters": {"Message": "m"}, "ResultPath": null, %[2]s}
	}`, prefix, end)
}

func joinStates(objs ...string) string {
	var parts []string
	for _, o := range objs {
		o = strings.TrimSpace(o)
		parts = append(parts, strings.TrimSpace(o[1:len(o)-1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// roleDefinition calls every kind of handler at the top level, in each
// iteration of a Map and in a Parallel branch.
var roleDefinition = `{
	"StartAt": "TopLambda",
	"States": ` + joinStates(roleTasks("Top", "Map"), `{
		"Map": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": null, "Next": "Parallel",
			"ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "MapLambda", "States": `+roleTasks("Map", "")+`}},
		"Parallel": {"Type": "Parallel", "ResultPath": null, "Next": "Role",
			"Branches": [
				{"StartAt": "BranchLambda", "States": `+roleTasks("Branch", "")+`},
				{"StartAt": "Idle", "States": {"Idle": {"Type": "Pass", "End": true}}}
			]},
		"Role": {"Type": "Pass", "Parameters": {"role.$": "$$.Execution.RoleArn", "machine.$": "$$.StateMachine.Id"}, "End": true}
	}`) + `
}`

func TestTaskHandlersSeeMachineRole(t *testing.T) {
	clk := clock.NewVirtual(conformanceStart)
	reg := NewRegistry()
	rr := &roleRecorder{}
	rr.register(reg)
	e := New(Options{Clock: clk, Registry: reg})
	roles := map[string]string{
		e.RegisterMachine("alpha", mustParse(t, roleDefinition), MachineOptions{RoleARN: "arn:aws:iam::123456789012:role/alpha"}):                  "arn:aws:iam::123456789012:role/alpha",
		e.RegisterMachine("beta", mustParse(t, roleDefinition), MachineOptions{RoleARN: "arn:aws:iam::123456789012:role/beta", Type: TypeExpress}): "arn:aws:iam::123456789012:role/beta",
	}
	api := SFN{Engine: e}
	ctx := context.Background()

	// Both run at once, so a role cannot leak from one to the other.
	var xs []*Execution
	for _, arn := range []string{e.StateMachineARN("alpha"), e.StateMachineARN("beta")} {
		out, err := api.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{"items": [1, 2, 3]}`)})
		if err != nil {
			t.Fatal(err)
		}
		x, _ := e.Execution(aws.ToString(out.ExecutionArn))
		xs = append(xs, x)
	}
	for _, x := range xs {
		r, err := x.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.Status, StatusSucceeded; got != want {
			t.Fatalf("%s: status %s (%s: %s), want %s", x.Name(), got, r.Error, r.Cause, want)
		}
		want := fmt.Sprintf(`{"machine":%q,"role":%q}`, x.StateMachineARN(), roles[x.StateMachineARN()])
		if got := string(r.Output); got != want {
			t.Fatalf("$$ of %s = %s, want %s", x.StateMachineARN(), got, want)
		}
		if got, want := x.RoleARN(), roles[x.StateMachineARN()]; got != want {
			t.Fatalf("Execution.RoleARN = %q, want %q", got, want)
		}
		if got, want := x.History()[0].ExecutionStartedEventDetails.RoleARN, roles[x.StateMachineARN()]; got != want {
			t.Fatalf("ExecutionStarted roleArn = %q, want %q", got, want)
		}
	}

	// Every call saw its own machine's role; count the calls per machine,
	// state and kind.
	counts := map[string]int{}
	for _, c := range rr.calls {
		if !c.ok {
			t.Fatalf("%s handler: no TaskInfo in its context", c.kind)
		}
		if got, want := c.info.RoleARN, roles[c.info.StateMachineARN]; got != want {
			t.Fatalf("%s handler in %s of %s: role %q, want %q", c.kind, c.info.StateName, c.info.StateMachineARN, got, want)
		}
		if !strings.HasPrefix(c.info.ExecutionARN, strings.Replace(c.info.StateMachineARN, ":stateMachine:", ":execution:", 1)+":") {
			t.Fatalf("%s handler in %s: execution %s is not of machine %s", c.kind, c.info.StateName, c.info.ExecutionARN, c.info.StateMachineARN)
		}
		if c.kind == "resource" {
			if got, want := c.taskRole, c.info.RoleARN; got != want {
				t.Fatalf("Task.RoleARN = %q, want %q (as TaskInfoFrom)", got, want)
			}
			if got, want := c.taskSM, c.info.StateMachineARN; got != want {
				t.Fatalf("Task.StateMachineARN = %q, want %q (as TaskInfoFrom)", got, want)
			}
		}
		counts[c.info.StateMachineARN[strings.LastIndex(c.info.StateMachineARN, ":")+1:]+"/"+c.info.StateName+"/"+c.kind]++
	}
	var got []string
	for k, n := range counts {
		got = append(got, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(got)
	var want []string
	for _, m := range []string{"alpha", "beta"} {
		for _, prefix := range []string{"Branch", "Map", "Top"} {
			n := 1
			if prefix == "Map" {
				n = 3
			}
			want = append(want,
				fmt.Sprintf("%s/%sLambda/lambda×%d", m, prefix, n),
				fmt.Sprintf("%s/%sLambdaARN/lambda×%d", m, prefix, n),
				fmt.Sprintf("%s/%sPublish/resource×%d", m, prefix, n),
				fmt.Sprintf("%s/%sSDK/sdk×%d", m, prefix, n))
		}
	}
	sort.Strings(want)
	if got, want := strings.Join(got, " "), strings.Join(want, " "); got != want {
		t.Fatalf("calls:\n%s\nwant:\n%s", got, want)
	}

	d, err := api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(e.StateMachineARN("beta"))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(d.RoleArn), "arn:aws:iam::123456789012:role/beta"; got != want {
		t.Fatalf("DescribeStateMachine RoleArn = %q, want %q", got, want)
	}
	if got, want := d.Type, sfntypes.StateMachineTypeExpress; got != want {
		t.Fatalf("DescribeStateMachine Type = %q, want %q", got, want)
	}
	if got, want := aws.ToString(d.Definition), roleDefinition; got != want {
		t.Fatalf("DescribeStateMachine Definition = %s, want %s", got, want)
	}
	fx, err := api.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: aws.String(xs[0].ARN())})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(fx.RoleArn), "arn:aws:iam::123456789012:role/alpha"; got != want {
		t.Fatalf("DescribeStateMachineForExecution RoleArn = %q, want %q", got, want)
	}
}

func TestTaskInfoOutsideTask(t *testing.T) {
	if _, ok := TaskInfoFrom(context.Background()); ok {
		t.Fatal("TaskInfoFrom(context.Background()) reported a task")
	}
}

func TestRegisterDefaultRole(t *testing.T) {
	e := New(Options{Clock: clock.NewVirtual(conformanceStart), RoleARN: "arn:aws:iam::123456789012:role/engine"})
	arn := e.Register("plain", mustParse(t, `{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}`))
	sm, ok := e.StateMachine(arn)
	if !ok {
		t.Fatal("StateMachine: not registered")
	}
	if got, want := sm.Options, (MachineOptions{RoleARN: "arn:aws:iam::123456789012:role/engine", Type: TypeStandard}); got != want {
		t.Fatalf("options = %+v, want %+v", got, want)
	}
	_, x := run(t, e, sm.Machine, "")
	if got, want := x.RoleARN(), "arn:aws:iam::123456789012:role/engine"; got != want {
		t.Fatalf("Execution.RoleARN = %q, want %q", got, want)
	}
	if got, want := x.StateMachineARN(), arn; got != want {
		t.Fatalf("Execution.StateMachineARN = %q, want %q", got, want)
	}
}

// TestStartExecutionChildRole: a child started by states:startExecution
// runs as its own machine and role, its parent's tasks as the parent's.
func TestStartExecutionChildRole(t *testing.T) {
	clk := clock.NewVirtual(conformanceStart)
	reg := NewRegistry()
	rr := &roleRecorder{}
	rr.register(reg)
	e := New(Options{Clock: clk, Registry: reg})
	child := e.RegisterMachine("child", mustParse(t, `{"StartAt": "ChildSDK", "States": {
		"ChildSDK": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem", "Parameters": {}, "End": true}}}`),
		MachineOptions{RoleARN: "arn:aws:iam::123456789012:role/child"})
	parent := e.RegisterMachine("parent", mustParse(t, `{"StartAt": "Start", "States": {
		"Start": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
			"Parameters": {"StateMachineArn": "`+child+`", "Input": {}}, "ResultPath": null, "Next": "ParentSDK"},
		"ParentSDK": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem", "Parameters": {}, "End": true}}}`),
		MachineOptions{RoleARN: "arn:aws:iam::123456789012:role/parent"})
	m, _, _ := e.Machine(parent)
	if r, _ := run(t, e, m, ""); r.Status != StatusSucceeded {
		t.Fatalf("status %s (%s: %s)", r.Status, r.Error, r.Cause)
	}
	got := map[string]string{}
	for _, c := range rr.calls {
		got[c.info.StateName] = c.info.StateMachineARN + " " + c.info.RoleARN
	}
	for state, want := range map[string]string{
		"ChildSDK":  child + " arn:aws:iam::123456789012:role/child",
		"ParentSDK": parent + " arn:aws:iam::123456789012:role/parent",
	} {
		if got := got[state]; got != want {
			t.Fatalf("%s ran as %q, want %q", state, got, want)
		}
	}
}

// TestReRegisterAndUnregister: registering a name again replaces its
// definition and role for new executions only; unregistering it lets
// running executions finish and fails new ones.
func TestReRegisterAndUnregister(t *testing.T) {
	clk := clock.NewVirtual(conformanceStart)
	e := New(Options{Clock: clk})
	api := SFN{Engine: e}
	ctx := context.Background()
	v1 := `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "Next": "P"},
		"P": {"Type": "Pass", "Parameters": {"v": 1, "role.$": "$$.Execution.RoleArn"}, "End": true}}}`
	v2 := `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v": 2, "role.$": "$$.Execution.RoleArn"}, "End": true}}}`
	arn := e.RegisterMachine("m", mustParse(t, v1), MachineOptions{RoleARN: "arn:aws:iam::123456789012:role/one"})
	start := func(name string) (*Execution, error) {
		out, err := api.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String(name)})
		if err != nil {
			return nil, err
		}
		x, _ := e.Execution(aws.ToString(out.ExecutionArn))
		return x, nil
	}
	first, err := start("first")
	if err != nil {
		t.Fatal(err)
	}
	created, _ := e.StateMachine(arn)
	if got := e.RegisterMachine("m", mustParse(t, v2), MachineOptions{RoleARN: "arn:aws:iam::123456789012:role/two"}); got != arn {
		t.Fatalf("re-registered as %s, want %s", got, arn)
	}
	updated, _ := e.StateMachine(arn)
	if got, want := updated.CreationDate, created.CreationDate; !got.Equal(want) {
		t.Fatalf("CreationDate after re-registering = %v, want %v", got, want)
	}
	second, err := start("second")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		x    *Execution
		want string
	}{
		{second, `{"role":"arn:aws:iam::123456789012:role/two","v":2}`},
		{first, `{"role":"arn:aws:iam::123456789012:role/one","v":1}`},
	} {
		r, err := tt.x.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(r.Output); got != tt.want {
			t.Fatalf("%s output = %s, want %s", tt.x.Name(), got, tt.want)
		}
	}
	fx, err := api.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: aws.String(first.ARN())})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(fx.Definition), v1; got != want {
		t.Fatalf("DescribeStateMachineForExecution Definition = %s, want %s", got, want)
	}
	if got, want := aws.ToString(fx.RoleArn), "arn:aws:iam::123456789012:role/one"; got != want {
		t.Fatalf("DescribeStateMachineForExecution RoleArn = %q, want %q", got, want)
	}

	// Delete while an execution of the first definition is waiting.
	e.RegisterMachine("m", mustParse(t, v1), MachineOptions{RoleARN: "arn:aws:iam::123456789012:role/three"})
	third, err := start("third")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	var dne *sfntypes.StateMachineDoesNotExist
	if _, err := start("fourth"); !errors.As(err, &dne) {
		t.Fatalf("StartExecution after delete: %v, want StateMachineDoesNotExist", err)
	}
	if _, err := api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)}); !errors.As(err, &dne) {
		t.Fatalf("DescribeStateMachine after delete: %v, want StateMachineDoesNotExist", err)
	}
	if _, _, ok := e.Machine("m"); ok {
		t.Fatal("Machine found the deleted name")
	}
	if got, want := e.Unregister(arn), false; got != want {
		t.Fatalf("Unregister again = %v, want %v", got, want)
	}
	r, err := third.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(r.Output), `{"role":"arn:aws:iam::123456789012:role/three","v":1}`; got != want {
		t.Fatalf("running execution after delete: output %s (%s %s: %s), want %s", got, r.Status, r.Error, r.Cause, want)
	}

	// A states:startExecution task cannot start the deleted machine.
	parent := mustParse(t, `{"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
		"Parameters": {"StateMachineArn": "`+arn+`"}, "End": true}}}`)
	if r, _ := run(t, e, parent, ""); r.Error != "StepFunctions.StateMachineDoesNotExistException" {
		t.Fatalf("startExecution of a deleted machine: %s %s, want StepFunctions.StateMachineDoesNotExistException", r.Status, r.Error)
	}
}
