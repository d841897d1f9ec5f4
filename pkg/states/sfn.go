package states

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// SFN serves the engine through the Step Functions client's method
// signatures, so code written against a small interface of
// *sfn.Client methods (a Lambda handler calling SendTaskSuccess, a drill
// starting an execution) runs unchanged against the local engine.
// Machines are addressed by the names or ARNs given to Engine.Register or
// Engine.RegisterMachine.
type SFN struct {
	Engine *Engine
}

func errNoMachine(arn *string) error {
	return &sfntypes.StateMachineDoesNotExist{Message: aws.String("State Machine Does Not Exist: '" + aws.ToString(arn) + "'")}
}

// StartExecution starts an execution of a registered machine, as its
// execution role.
func (s SFN) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	r := s.Engine.lookup(aws.ToString(in.StateMachineArn))
	if r == nil {
		return nil, errNoMachine(in.StateMachineArn)
	}
	var input json.RawMessage
	if in.Input != nil {
		input = json.RawMessage(*in.Input)
	}
	x, err := s.Engine.start(ctx, r.m, r, aws.ToString(in.Name), input)
	if err != nil {
		return nil, err
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(x.arn), StartDate: aws.Time(x.start)}, nil
}

// DescribeStateMachine reports a registered machine: its current
// definition, execution role and type. A machine Engine.Unregister deleted
// does not exist, even while executions of it still run.
func (s SFN) DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	sm, ok := s.Engine.StateMachine(aws.ToString(in.StateMachineArn))
	if !ok {
		return nil, errNoMachine(in.StateMachineArn)
	}
	return &sfn.DescribeStateMachineOutput{
		StateMachineArn: aws.String(sm.ARN),
		Name:            aws.String(sm.Name),
		Definition:      aws.String(string(sm.Machine.def)),
		RoleArn:         aws.String(sm.Options.RoleARN),
		Type:            sfntypes.StateMachineType(sm.Options.Type),
		Status:          sfntypes.StateMachineStatusActive,
		CreationDate:    aws.Time(sm.CreationDate),
	}, nil
}

// DescribeStateMachineForExecution reports the definition and role an
// execution runs with, which registering its machine again does not change.
func (s SFN) DescribeStateMachineForExecution(ctx context.Context, in *sfn.DescribeStateMachineForExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineForExecutionOutput, error) {
	x, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	updated := x.machineUpdated
	if updated.IsZero() {
		// An unregistered machine, or a definition replaced before the
		// execution started: its registration time is not known.
		updated = x.start
	}
	return &sfn.DescribeStateMachineForExecutionOutput{
		StateMachineArn: aws.String(x.machineARN),
		Name:            aws.String(x.machineName),
		Definition:      aws.String(string(x.m.def)),
		RoleArn:         aws.String(x.roleARN),
		UpdateDate:      aws.Time(updated),
	}, nil
}

// DeleteStateMachine deletes a registered machine (Engine.Unregister):
// running executions continue, new ones cannot start. Deleting a machine
// that does not exist succeeds, as it does in AWS.
func (s SFN) DeleteStateMachine(ctx context.Context, in *sfn.DeleteStateMachineInput, _ ...func(*sfn.Options)) (*sfn.DeleteStateMachineOutput, error) {
	s.Engine.Unregister(aws.ToString(in.StateMachineArn))
	return &sfn.DeleteStateMachineOutput{}, nil
}

func (s SFN) execution(arn *string) (*Execution, error) {
	x, ok := s.Engine.Execution(aws.ToString(arn))
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: '" + aws.ToString(arn) + "'")}
	}
	return x, nil
}

// DescribeExecution reports an execution's status, input and result.
func (s SFN) DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	x, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	r := x.Result()
	out := &sfn.DescribeExecutionOutput{
		ExecutionArn:    aws.String(x.arn),
		StateMachineArn: aws.String(x.machineARN),
		Name:            aws.String(x.name),
		Status:          sfntypes.ExecutionStatus(r.Status),
		StartDate:       aws.Time(x.start),
		Input:           aws.String(x.inputJSON),
	}
	if r.Status != StatusRunning {
		out.StopDate = aws.Time(r.StopDate)
	}
	if r.Status == StatusSucceeded {
		out.Output = aws.String(string(r.Output))
	}
	if r.Error != "" {
		out.Error = aws.String(r.Error)
	}
	if r.Cause != "" {
		out.Cause = aws.String(r.Cause)
	}
	return out, nil
}

// StopExecution aborts a running execution.
func (s SFN) StopExecution(ctx context.Context, in *sfn.StopExecutionInput, _ ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
	x, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	x.Stop(aws.ToString(in.Error), aws.ToString(in.Cause))
	return &sfn.StopExecutionOutput{StopDate: aws.Time(s.Engine.clk.Now())}, nil
}

// maxListResults is ListExecutions' page size limit; 0 means the default,
// 100.
const (
	maxListResults     = 1000
	defaultListResults = 100
)

// ListExecutions lists a state machine's executions, most recent first,
// as the API does: StatusFilter keeps one status, MaxResults (1…1000,
// default 100) bounds a page and NextToken, opaque, continues after the
// page's last execution. A Distributed Map's child workflow executions are
// listed only by their Map Run, which this adapter does not list
// (MapRunArn is refused).
func (s SFN) ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	if in.MapRunArn != nil {
		return nil, &sfntypes.ValidationException{Message: aws.String("mapRunArn: listing a Map Run's child executions is not supported here")}
	}
	if in.StateMachineArn == nil {
		return nil, &sfntypes.ValidationException{Message: aws.String("1 validation error detected: either stateMachineArn or mapRunArn must be specified")}
	}
	if in.MaxResults < 0 || in.MaxResults > maxListResults {
		return nil, &sfntypes.ValidationException{Message: aws.String(fmt.Sprintf("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", in.MaxResults, maxListResults))}
	}
	machine := aws.ToString(in.StateMachineArn)
	if _, ok := s.Engine.StateMachine(machine); !ok {
		return nil, errNoMachine(in.StateMachineArn)
	}
	limit := int(in.MaxResults)
	if limit == 0 {
		limit = defaultListResults
	}
	all := s.Engine.Executions()
	var list []*Execution
	for i := len(all) - 1; i >= 0; i-- { // most recent first
		x := all[i]
		if x.child || x.machineARN != machine {
			continue
		}
		if in.StatusFilter != "" && string(x.Result().Status) != string(in.StatusFilter) {
			continue
		}
		list = append(list, x)
	}
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		found := false
		for i, x := range list {
			if err == nil && x.arn == string(after) {
				start, found = i+1, true
				break
			}
		}
		if !found {
			return nil, &sfntypes.InvalidToken{Message: aws.String("Invalid Token: '" + tok + "'")}
		}
	}
	out := &sfn.ListExecutionsOutput{Executions: []sfntypes.ExecutionListItem{}}
	for _, x := range list[start:min(start+limit, len(list))] {
		r := x.Result()
		item := sfntypes.ExecutionListItem{
			ExecutionArn: aws.String(x.arn), Name: aws.String(x.name), StateMachineArn: aws.String(x.machineARN),
			Status: sfntypes.ExecutionStatus(r.Status), StartDate: aws.Time(x.start),
		}
		if r.Status != StatusRunning {
			item.StopDate = aws.Time(r.StopDate)
		}
		out.Executions = append(out.Executions, item)
	}
	if end := start + limit; end < len(list) {
		out.NextToken = aws.String(base64.RawURLEncoding.EncodeToString([]byte(list[end-1].arn)))
	}
	return out, nil
}

// SendTaskSuccess completes a .waitForTaskToken task.
func (s SFN) SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	if err := s.Engine.SendTaskSuccess(aws.ToString(in.TaskToken), json.RawMessage(aws.ToString(in.Output))); err != nil {
		return nil, err
	}
	return &sfn.SendTaskSuccessOutput{}, nil
}

// SendTaskFailure fails a .waitForTaskToken task.
func (s SFN) SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	if err := s.Engine.SendTaskFailure(aws.ToString(in.TaskToken), aws.ToString(in.Error), aws.ToString(in.Cause)); err != nil {
		return nil, err
	}
	return &sfn.SendTaskFailureOutput{}, nil
}

// SendTaskHeartbeat records a heartbeat for a task.
func (s SFN) SendTaskHeartbeat(ctx context.Context, in *sfn.SendTaskHeartbeatInput, _ ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error) {
	if err := s.Engine.SendTaskHeartbeat(aws.ToString(in.TaskToken)); err != nil {
		return nil, err
	}
	return &sfn.SendTaskHeartbeatOutput{}, nil
}

// GetExecutionHistory returns the whole history in one page (ReverseOrder
// honoured), as SDK history events.
func (s SFN) GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	x, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	events, err := SDKEvents(x.History())
	if err != nil {
		return nil, err
	}
	if in.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	return &sfn.GetExecutionHistoryOutput{Events: events}, nil
}

// SDKEvents converts history events to the SDK's types. The JSON member
// names of HistoryEvent are the API's, which the SDK structs' field names
// match case-insensitively.
func SDKEvents(h []HistoryEvent) ([]sfntypes.HistoryEvent, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode history: %w", err)
	}
	var out []sfntypes.HistoryEvent
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("convert history: %w", err)
	}
	return out, nil
}
