package local

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
	"github.com/pendulum-dr/pendulum/pkg/integration"
	"github.com/pendulum-dr/pendulum/pkg/local/objectstore"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/wiring/simclients"
	"github.com/pendulum-dr/pendulum/statemachines"
)

// Approval is a workflow's request for an operator's decision, published
// by its sns:publish.waitForTaskToken task.
type Approval struct {
	// Execution is the waiting execution's ARN.
	Execution string
	// State is the waiting Task state's name.
	State string
	// Token is the task token to answer with.
	Token string
	// Subject and Message are what was published to the DR topic.
	Subject, Message string
}

// Approvals returns every approval requested so far, oldest first.
func (l *Local) Approvals() []Approval {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Approval(nil), l.approvals...)
}

// Approve answers an approval request with success, as states:SendTaskSuccess.
func (l *Local) Approve(token string) error {
	return l.Engine.SendTaskSuccess(token, json.RawMessage(`{"approved":true}`))
}

// Deny answers an approval request with the ApprovalDenied error, as
// states:SendTaskFailure.
func (l *Local) Deny(token, cause string) error {
	return l.Engine.SendTaskFailure(token, drapi.ApprovalDeniedError, cause)
}

// Definition returns the named state machine's ASL as written (with its
// ${Name} placeholders), from package statemachines: the files the CDK app
// deploys. Deployed machines run their rendered definition from the
// template.
func (l *Local) Definition(name string) ([]byte, error) {
	return statemachines.Definition(name)
}

// MachineNames returns every state machine the installation runs.
func (l *Local) MachineNames() []string {
	return statemachines.Names()
}

// sdkResource matches an aws-sdk integration Resource: service, action.
var sdkResource = regexp.MustCompile(`arn:aws:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)`)

// wire sets the hooks through which the simulated services run what the
// templates deploy: Lambda code (the functions' constructors), Step
// Functions (pkg/states, one engine per region) and the starter of
// executions that EventBridge rules and Scheduler schedules target.
func (l *Local) wire() {
	l.World.SetLambdaCode(l.code)
	l.World.SetStateMachineHost(machineHost{l})
	l.World.SetStateMachineStarter(func(ctx context.Context, role, machineARN, input string) (string, error) {
		e := l.engineFor(regionOfARN(machineARN))
		out, err := states.SFN{Engine: e}.StartExecution(sim.WithPrincipal(ctx, role), &sfn.StartExecutionInput{StateMachineArn: aws.String(machineARN), Input: aws.String(input)})
		if err != nil {
			l.log.Error("scheduled or rule-started execution failed to start", "machine", machineARN, "err", err)
			return "", err
		}
		l.log.Info("execution started by a rule or schedule", "execution", aws.ToString(out.ExecutionArn))
		l.mu.Lock()
		l.started = append(l.started, aws.ToString(out.ExecutionArn))
		l.mu.Unlock()
		return aws.ToString(out.ExecutionArn), nil
	})
}

// regionOfARN returns the region an ARN names.
func regionOfARN(arn string) string {
	if f := strings.SplitN(arn, ":", 6); len(f) == 6 {
		return f[3]
	}
	return ""
}

// engineFor returns the region's Step Functions, made on first use with
// the region's integrations: Lambda functions invoked through the
// simulated Lambda, aws-sdk integrations on the region's clients, and
// sns:publish with its approval channel — each call made as the
// execution's role.
func (l *Local) engineFor(region string) *states.Engine {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.engines[region]; ok {
		return e
	}
	reg := states.NewRegistry()
	var e *states.Engine
	bus := l.World.Region(region).EventBridge()
	// Step Functions sends every status change of a Standard workflow
	// execution to the region's default bus; the deployed rules that
	// notify the DR topic match them there.
	statusChange := func(x *states.Execution, r states.Result) {
		if _, _, ok := e.Machine(x.StateMachineARN()); !ok {
			return // an execution of no registered state machine
		}
		bus.PutStatesExecutionStatusChange(sim.StatesExecutionStatus{
			ExecutionARN: x.ARN(), StateMachineARN: x.StateMachineARN(), Name: x.Name(), Status: string(r.Status),
			StartDate: r.StartDate, StopDate: r.StopDate, Input: x.Input(), Output: string(r.Output), Error: r.Error, Cause: r.Cause,
		})
	}
	rr := l.World.Region(region)
	// A Distributed Map reads and writes the region's S3, and starts its
	// child workflow executions, as the execution's role.
	e = states.New(states.Options{Clock: l.Clock, Registry: reg, AccountID: l.Names.Account, Region: region, Logger: l.log, StatusChange: statusChange,
		ObjectStore: objectstore.S3{S3: rr.S3()}, Authorize: authorizeAsRole(rr)})
	l.engines[region] = e
	if region == l.Regions.Backup {
		l.Engine = e
	}
	topic := rr.SNS()
	reg.Handle("arn:aws:states:::sns:publish", states.TaskHandlerFunc(func(ctx context.Context, t *states.Task) (json.RawMessage, error) {
		var in struct{ TopicArn, Subject, Message string }
		if err := json.Unmarshal(t.Input, &in); err != nil {
			return nil, fmt.Errorf("sns:publish parameters: %w", err)
		}
		out, err := topic.Publish(sim.WithPrincipal(ctx, t.RoleARN), &sns.PublishInput{TopicArn: aws.String(in.TopicArn), Subject: aws.String(in.Subject), Message: aws.String(in.Message)})
		if err != nil {
			return nil, &integration.Error{Name: states.SDKErrorName("sns", err), Cause: err.Error(), Err: err}
		}
		if t.Token != "" {
			a := Approval{Execution: t.ExecutionARN, State: t.StateName, Token: t.Token, Subject: in.Subject, Message: in.Message}
			l.mu.Lock()
			l.approvals = append(l.approvals, a)
			approver := l.opts.Approver
			l.mu.Unlock()
			if approver != nil {
				l.goLoop(func(ctx context.Context) { approver(ctx, a) })
			}
		}
		return json.Marshal(map[string]string{"MessageId": aws.ToString(out.MessageId)})
	}))
	return e
}

// machineHost is Step Functions as the simulated CloudFormation deploys
// state machines into it.
type machineHost struct{ l *Local }

func (h machineHost) CreateStateMachine(ctx context.Context, region string, d sim.StateMachineDefinition) (string, error) {
	m, err := states.Parse([]byte(d.Definition))
	if err != nil {
		return "", fmt.Errorf("state machine %s: %w", d.Name, err)
	}
	e := h.l.engineFor(region)
	h.l.serveDefinition(region, d.Definition)
	return e.RegisterMachine(d.Name, m, states.MachineOptions{RoleARN: d.RoleARN, Type: d.Type}), nil
}

func (h machineHost) UpdateStateMachine(ctx context.Context, arn string, d sim.StateMachineDefinition) error {
	_, err := h.CreateStateMachine(ctx, regionOfARN(arn), d)
	return err
}

func (h machineHost) DeleteStateMachine(ctx context.Context, arn string) error {
	h.l.engineFor(regionOfARN(arn)).Unregister(arn)
	return nil
}

// serveDefinition registers, in the region's engine, the Lambda functions
// and aws-sdk actions a definition calls: each Lambda task invokes the
// simulated function as the execution's role (lambda:InvokeFunction is
// checked, then the function runs as its own role), each aws-sdk task
// calls the region's simulated service as the execution's role.
func (l *Local) serveDefinition(region, def string) {
	e := l.engineFor(region)
	reg := e.Registry()
	clients := simclients.Clients{World: l.World}
	for _, m := range sdkResource.FindAllStringSubmatch(def, -1) {
		service, action := m[1], m[2]
		client, ok := clients.Lookup(service, region)
		if !ok || service == "sfn" {
			continue // the engine reports the unserved integration when a task calls it
		}
		reg.HandleSDK(service, action, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
			if ti, ok := states.TaskInfoFrom(ctx); ok {
				ctx = sim.WithPrincipal(ctx, ti.RoleARN)
			}
			return integration.Call(ctx, service, client, action, params)
		})
	}
	for _, arn := range lambdaARN.FindAllString(def, -1) {
		fn := arn
		reg.HandleLambda(fn, func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
			if ti, ok := states.TaskInfoFrom(ctx); ok {
				ctx = sim.WithPrincipal(ctx, ti.RoleARN)
			}
			return invokeFunction(ctx, l.World.Region(regionOfARN(fn)).Lambda(), fn, payload)
		})
	}
}

// lambdaARN matches a Lambda function ARN in a rendered definition.
var lambdaARN = regexp.MustCompile(`arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+`)

// lambdaError is a function error as Step Functions reports a Lambda
// task's failure: named by the function's errorType.
type lambdaError struct{ name, message string }

func (e *lambdaError) Error() string     { return e.message }
func (e *lambdaError) ErrorName() string { return e.name }

// invokeFunction invokes a simulated function synchronously: its result,
// its function error as a named error, or the Lambda API's own error
// (throttling, access denied…) named as Step Functions names it.
func invokeFunction(ctx context.Context, fns *sim.Lambda, arn string, payload []byte) (json.RawMessage, error) {
	out, err := fns.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: payload, InvocationType: lambdatypes.InvocationTypeRequestResponse})
	if err != nil {
		return nil, &integration.Error{Name: states.SDKErrorName("lambda", err), Cause: err.Error(), Err: err}
	}
	if out.FunctionError != nil {
		var fe struct{ ErrorType, ErrorMessage string }
		_ = json.Unmarshal(out.Payload, &fe)
		if fe.ErrorType == "" {
			fe.ErrorType = aws.ToString(out.FunctionError)
		}
		return nil, &lambdaError{name: fe.ErrorType, message: fe.ErrorMessage}
	}
	return out.Payload, nil
}

// StartExecution starts the named state machine of B (a name from
// MachineNames) with input ("" for {}), as an operator would with
// states:StartExecution, and returns the execution ARN.
func (l *Local) StartExecution(ctx context.Context, machine, name, input string) (string, error) {
	return l.StartExecutionIn(ctx, l.Regions.Backup, machine, name, input)
}

// StartExecutionIn starts the named state machine deployed in region (the
// nightly batch runs in each workload region).
func (l *Local) StartExecutionIn(ctx context.Context, region, machine, name, input string) (string, error) {
	if input == "" {
		input = "{}"
	}
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(l.Names.StateMachineARN(region, machine)), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := states.SFN{Engine: l.engineFor(region)}.StartExecution(ctx, in)
	if err != nil {
		return "", fmt.Errorf("start %s in %s: %w", machine, region, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Run starts the named state machine of B and waits, in virtual time, for
// the execution to end.
func (l *Local) Run(ctx context.Context, machine, input string) (*states.Execution, states.Result, error) {
	return l.RunIn(ctx, l.Regions.Backup, machine, input)
}

// RunIn starts the named state machine deployed in region and waits, in
// virtual time, for the execution to end.
func (l *Local) RunIn(ctx context.Context, region, machine, input string) (*states.Execution, states.Result, error) {
	arn, err := l.StartExecutionIn(ctx, region, machine, "", input)
	if err != nil {
		return nil, states.Result{}, err
	}
	x, _ := l.engineFor(region).Execution(arn)
	res, err := x.Wait(ctx)
	return x, res, err
}

// AlarmExecutions returns the failover executions started by the health
// alarm (through the deployed EventBridge rule), oldest first.
func (l *Local) AlarmExecutions() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, arn := range l.started {
		if strings.Contains(arn, ":"+l.Names.StateMachine("failover")+":") {
			out = append(out, arn)
		}
	}
	return out
}

// HistoryStats are the figures of every execution that has ended in the
// installation's regions (states.Engine.HistoryStats), together: the
// counts summed, the longest history of all.
func (l *Local) HistoryStats() states.HistoryStats {
	l.mu.Lock()
	engines := make([]*states.Engine, 0, len(l.engines))
	for _, e := range l.engines {
		engines = append(engines, e)
	}
	l.mu.Unlock()
	var out states.HistoryStats
	for _, e := range engines {
		s := e.HistoryStats()
		out.Executions += s.Executions
		out.ChildExecutions += s.ChildExecutions
		out.MaxChildEvents = max(out.MaxChildEvents, s.MaxChildEvents)
		if s.MaxEvents > out.MaxEvents {
			out.MaxEvents, out.MaxEventsExecution = s.MaxEvents, s.MaxEventsExecution
		}
	}
	return out
}

// authorizeAsRole is the engine's Options.Authorize: the action Step
// Functions takes itself (a Distributed Map starting its child workflow
// executions: states:StartExecution) is evaluated against the execution
// role's policies, as a call of the region's Step Functions.
func authorizeAsRole(r *sim.Region) func(ctx context.Context, action, resource string) error {
	return func(ctx context.Context, action, resource string) error {
		ti, ok := states.TaskInfoFrom(ctx)
		if !ok {
			return nil
		}
		op := action // the API operation: "StartExecution" of "states:StartExecution"
		if _, name, found := strings.Cut(action, ":"); found {
			op = name
		}
		return r.AuthorizeStepFunctions(sim.WithPrincipal(ctx, ti.RoleARN), op, action, resource)
	}
}
