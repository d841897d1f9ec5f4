package states

import (
	"time"
)

// HistoryEvent is one event of an execution's history, in the JSON shape of
// Step Functions' GetExecutionHistory (camelCase members, only the details
// member of the event's type set).
type HistoryEvent struct {
	Timestamp       time.Time `json:"timestamp"`
	Type            string    `json:"type"`
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`

	ExecutionStartedEventDetails   *ExecutionStartedEventDetails `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceededEventDetails *OutputEventDetails           `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailedEventDetails    *FailureEventDetails          `json:"executionFailedEventDetails,omitempty"`
	ExecutionAbortedEventDetails   *FailureEventDetails          `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOutEventDetails  *FailureEventDetails          `json:"executionTimedOutEventDetails,omitempty"`

	StateEnteredEventDetails *StateEnteredEventDetails `json:"stateEnteredEventDetails,omitempty"`
	StateExitedEventDetails  *StateExitedEventDetails  `json:"stateExitedEventDetails,omitempty"`

	TaskScheduledEventDetails *TaskScheduledEventDetails `json:"taskScheduledEventDetails,omitempty"`
	TaskStartedEventDetails   *TaskEventDetails          `json:"taskStartedEventDetails,omitempty"`
	TaskSubmittedEventDetails *TaskEventDetails          `json:"taskSubmittedEventDetails,omitempty"`
	TaskSucceededEventDetails *TaskEventDetails          `json:"taskSucceededEventDetails,omitempty"`
	TaskFailedEventDetails    *TaskEventDetails          `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOutEventDetails  *TaskEventDetails          `json:"taskTimedOutEventDetails,omitempty"`

	LambdaFunctionScheduledEventDetails *LambdaFunctionScheduledEventDetails `json:"lambdaFunctionScheduledEventDetails,omitempty"`
	LambdaFunctionSucceededEventDetails *OutputEventDetails                  `json:"lambdaFunctionSucceededEventDetails,omitempty"`
	LambdaFunctionFailedEventDetails    *FailureEventDetails                 `json:"lambdaFunctionFailedEventDetails,omitempty"`
	LambdaFunctionTimedOutEventDetails  *FailureEventDetails                 `json:"lambdaFunctionTimedOutEventDetails,omitempty"`

	MapStateStartedEventDetails       *MapStateStartedEventDetails `json:"mapStateStartedEventDetails,omitempty"`
	MapIterationStartedEventDetails   *MapIterationEventDetails    `json:"mapIterationStartedEventDetails,omitempty"`
	MapIterationSucceededEventDetails *MapIterationEventDetails    `json:"mapIterationSucceededEventDetails,omitempty"`
	MapIterationFailedEventDetails    *MapIterationEventDetails    `json:"mapIterationFailedEventDetails,omitempty"`
	MapIterationAbortedEventDetails   *MapIterationEventDetails    `json:"mapIterationAbortedEventDetails,omitempty"`

	MapRunStartedEventDetails *MapRunStartedEventDetails `json:"mapRunStartedEventDetails,omitempty"`
	MapRunFailedEventDetails  *FailureEventDetails       `json:"mapRunFailedEventDetails,omitempty"`
}

// PayloadDetails says whether a payload in an event was truncated.
type PayloadDetails struct {
	Truncated bool `json:"truncated"`
}

// ExecutionStartedEventDetails are the details of ExecutionStarted.
type ExecutionStartedEventDetails struct {
	Input        string         `json:"input"`
	InputDetails PayloadDetails `json:"inputDetails"`
	RoleARN      string         `json:"roleArn"`
}

// OutputEventDetails carry an output: ExecutionSucceeded, LambdaFunctionSucceeded.
type OutputEventDetails struct {
	Output        string         `json:"output"`
	OutputDetails PayloadDetails `json:"outputDetails"`
}

// FailureEventDetails carry an error name and cause.
type FailureEventDetails struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// StateEnteredEventDetails are the details of every …StateEntered event.
type StateEnteredEventDetails struct {
	Name         string         `json:"name"`
	Input        string         `json:"input"`
	InputDetails PayloadDetails `json:"inputDetails"`
}

// StateExitedEventDetails are the details of every …StateExited event.
type StateExitedEventDetails struct {
	Name          string         `json:"name"`
	Output        string         `json:"output"`
	OutputDetails PayloadDetails `json:"outputDetails"`
}

// TaskScheduledEventDetails are the details of TaskScheduled.
type TaskScheduledEventDetails struct {
	ResourceType       string `json:"resourceType"`
	Resource           string `json:"resource"`
	Region             string `json:"region"`
	Parameters         string `json:"parameters"`
	TimeoutInSeconds   int64  `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds int64  `json:"heartbeatInSeconds,omitempty"`
}

// TaskEventDetails are the details of TaskStarted, TaskSubmitted,
// TaskSucceeded, TaskFailed and TaskTimedOut (each uses the members it has).
type TaskEventDetails struct {
	ResourceType  string          `json:"resourceType"`
	Resource      string          `json:"resource"`
	Output        *string         `json:"output,omitempty"`
	OutputDetails *PayloadDetails `json:"outputDetails,omitempty"`
	Error         string          `json:"error,omitempty"`
	Cause         string          `json:"cause,omitempty"`
}

// LambdaFunctionScheduledEventDetails are the details of LambdaFunctionScheduled.
type LambdaFunctionScheduledEventDetails struct {
	Resource         string         `json:"resource"`
	Input            string         `json:"input"`
	InputDetails     PayloadDetails `json:"inputDetails"`
	TimeoutInSeconds int64          `json:"timeoutInSeconds,omitempty"`
}

// MapStateStartedEventDetails are the details of MapStateStarted.
type MapStateStartedEventDetails struct {
	Length int `json:"length"`
}

// MapIterationEventDetails name the Map state and the iteration's index.
type MapIterationEventDetails struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}

// MapRunStartedEventDetails are the details of MapRunStarted: the ARN of the
// Map Run a Distributed Map state started.
type MapRunStartedEventDetails struct {
	MapRunArn string `json:"mapRunArn"`
}

// event is how an execution stores a HistoryEvent: only the details member
// that is set, which keeps appends cheap on the hot path.
type event struct {
	ts      time.Time
	typ     string
	id      int64
	prev    int64
	details any // a pointer to one of the *EventDetails types, or nil
}

// compact keeps the one details member ev has.
func compact(ev *HistoryEvent) event {
	e := event{ts: ev.Timestamp, typ: ev.Type, id: ev.ID, prev: ev.PreviousEventID}
	for _, d := range []any{
		ev.ExecutionStartedEventDetails, ev.ExecutionSucceededEventDetails, ev.ExecutionFailedEventDetails,
		ev.ExecutionAbortedEventDetails, ev.ExecutionTimedOutEventDetails, ev.StateEnteredEventDetails,
		ev.StateExitedEventDetails, ev.TaskScheduledEventDetails, ev.TaskStartedEventDetails,
		ev.TaskSubmittedEventDetails, ev.TaskSucceededEventDetails, ev.TaskFailedEventDetails,
		ev.TaskTimedOutEventDetails, ev.LambdaFunctionScheduledEventDetails, ev.LambdaFunctionSucceededEventDetails,
		ev.LambdaFunctionFailedEventDetails, ev.LambdaFunctionTimedOutEventDetails, ev.MapStateStartedEventDetails,
		ev.MapIterationStartedEventDetails, ev.MapIterationSucceededEventDetails, ev.MapIterationFailedEventDetails,
		ev.MapIterationAbortedEventDetails, ev.MapRunStartedEventDetails, ev.MapRunFailedEventDetails,
	} {
		if !isNilDetails(d) {
			e.details = d
			break
		}
	}
	return e
}

func isNilDetails(d any) bool {
	switch x := d.(type) {
	case *ExecutionStartedEventDetails:
		return x == nil
	case *OutputEventDetails:
		return x == nil
	case *FailureEventDetails:
		return x == nil
	case *StateEnteredEventDetails:
		return x == nil
	case *StateExitedEventDetails:
		return x == nil
	case *TaskScheduledEventDetails:
		return x == nil
	case *TaskEventDetails:
		return x == nil
	case *LambdaFunctionScheduledEventDetails:
		return x == nil
	case *MapStateStartedEventDetails:
		return x == nil
	case *MapIterationEventDetails:
		return x == nil
	case *MapRunStartedEventDetails:
		return x == nil
	}
	return d == nil
}

// expand rebuilds the HistoryEvent, putting the details in the member its
// event type uses.
func (e event) expand() HistoryEvent {
	ev := HistoryEvent{Timestamp: e.ts, Type: e.typ, ID: e.id, PreviousEventID: e.prev}
	switch d := e.details.(type) {
	case *ExecutionStartedEventDetails:
		ev.ExecutionStartedEventDetails = d
	case *StateEnteredEventDetails:
		ev.StateEnteredEventDetails = d
	case *StateExitedEventDetails:
		ev.StateExitedEventDetails = d
	case *TaskScheduledEventDetails:
		ev.TaskScheduledEventDetails = d
	case *LambdaFunctionScheduledEventDetails:
		ev.LambdaFunctionScheduledEventDetails = d
	case *MapStateStartedEventDetails:
		ev.MapStateStartedEventDetails = d
	case *MapRunStartedEventDetails:
		ev.MapRunStartedEventDetails = d
	case *OutputEventDetails:
		switch e.typ {
		case "ExecutionSucceeded":
			ev.ExecutionSucceededEventDetails = d
		case "LambdaFunctionSucceeded":
			ev.LambdaFunctionSucceededEventDetails = d
		}
	case *FailureEventDetails:
		switch e.typ {
		case "ExecutionFailed":
			ev.ExecutionFailedEventDetails = d
		case "ExecutionAborted":
			ev.ExecutionAbortedEventDetails = d
		case "ExecutionTimedOut":
			ev.ExecutionTimedOutEventDetails = d
		case "LambdaFunctionFailed":
			ev.LambdaFunctionFailedEventDetails = d
		case "LambdaFunctionTimedOut":
			ev.LambdaFunctionTimedOutEventDetails = d
		case "MapRunFailed":
			ev.MapRunFailedEventDetails = d
		}
	case *TaskEventDetails:
		switch e.typ {
		case "TaskStarted":
			ev.TaskStartedEventDetails = d
		case "TaskSubmitted":
			ev.TaskSubmittedEventDetails = d
		case "TaskSucceeded":
			ev.TaskSucceededEventDetails = d
		case "TaskFailed":
			ev.TaskFailedEventDetails = d
		case "TaskTimedOut":
			ev.TaskTimedOutEventDetails = d
		}
	case *MapIterationEventDetails:
		switch e.typ {
		case "MapIterationStarted":
			ev.MapIterationStartedEventDetails = d
		case "MapIterationSucceeded":
			ev.MapIterationSucceededEventDetails = d
		case "MapIterationFailed":
			ev.MapIterationFailedEventDetails = d
		case "MapIterationAborted":
			ev.MapIterationAbortedEventDetails = d
		}
	}
	return ev
}

// eventLog stores events in fixed-size chunks, so a history of tens of
// thousands of events grows without copying what it holds.
type eventLog struct {
	chunks [][]event
	n      int
	// first is the size of the first chunk; 0 means 64. A Distributed
	// Map's children, many and mostly short, start smaller.
	first int
}

const eventChunk = 1024

func (l *eventLog) add(e event) {
	if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == cap(l.chunks[len(l.chunks)-1]) {
		// Chunks double from 64 events (most executions are short) up to
		// eventChunk.
		first := l.first
		if first == 0 {
			first = 64
		}
		size := first << len(l.chunks)
		if len(l.chunks) >= 5 {
			size = eventChunk
		}
		l.chunks = append(l.chunks, make([]event, 0, size))
	}
	last := len(l.chunks) - 1
	l.chunks[last] = append(l.chunks[last], e)
	l.n++
}

func (l *eventLog) expand() []HistoryEvent {
	out := make([]HistoryEvent, 0, l.n)
	for _, c := range l.chunks {
		for _, e := range c {
			out = append(out, e.expand())
		}
	}
	return out
}
