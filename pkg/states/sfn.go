package states

import (
	"context"
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
// Machines are addressed by the names or ARNs given to Engine.Register.
type SFN struct {
	Engine *Engine
}

// StartExecution starts an execution of a registered machine.
func (s SFN) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	m, _, ok := s.Engine.Machine(aws.ToString(in.StateMachineArn))
	if !ok {
		return nil, &sfntypes.StateMachineDoesNotExist{Message: aws.String("State Machine Does Not Exist: '" + aws.ToString(in.StateMachineArn) + "'")}
	}
	var input json.RawMessage
	if in.Input != nil {
		input = json.RawMessage(*in.Input)
	}
	x, err := s.Engine.Start(ctx, m, aws.ToString(in.Name), input)
	if err != nil {
		return nil, err
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(x.arn), StartDate: aws.Time(x.start)}, nil
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
