package states

import (
	"reflect"
	"testing"
	"time"
)

// TestEventRoundTrip checks that every details member survives the compact
// storage of events.
func TestEventRoundTrip(t *testing.T) {
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := "x"
	events := []HistoryEvent{
		{Type: "ExecutionStarted", ExecutionStartedEventDetails: &ExecutionStartedEventDetails{Input: "{}"}},
		{Type: "ExecutionSucceeded", ExecutionSucceededEventDetails: &OutputEventDetails{Output: "1"}},
		{Type: "ExecutionFailed", ExecutionFailedEventDetails: &FailureEventDetails{Error: "E"}},
		{Type: "ExecutionAborted", ExecutionAbortedEventDetails: &FailureEventDetails{Error: "E"}},
		{Type: "ExecutionTimedOut", ExecutionTimedOutEventDetails: &FailureEventDetails{Error: "E"}},
		{Type: "PassStateEntered", StateEnteredEventDetails: &StateEnteredEventDetails{Name: "P"}},
		{Type: "PassStateExited", StateExitedEventDetails: &StateExitedEventDetails{Name: "P"}},
		{Type: "TaskScheduled", TaskScheduledEventDetails: &TaskScheduledEventDetails{Resource: "invoke"}},
		{Type: "TaskStarted", TaskStartedEventDetails: &TaskEventDetails{Resource: "invoke"}},
		{Type: "TaskSubmitted", TaskSubmittedEventDetails: &TaskEventDetails{Output: &out}},
		{Type: "TaskSucceeded", TaskSucceededEventDetails: &TaskEventDetails{Output: &out}},
		{Type: "TaskFailed", TaskFailedEventDetails: &TaskEventDetails{Error: "E"}},
		{Type: "TaskTimedOut", TaskTimedOutEventDetails: &TaskEventDetails{Error: "E"}},
		{Type: "LambdaFunctionScheduled", LambdaFunctionScheduledEventDetails: &LambdaFunctionScheduledEventDetails{Resource: "r"}},
		{Type: "LambdaFunctionSucceeded", LambdaFunctionSucceededEventDetails: &OutputEventDetails{Output: "1"}},
		{Type: "LambdaFunctionFailed", LambdaFunctionFailedEventDetails: &FailureEventDetails{Error: "E"}},
		{Type: "LambdaFunctionTimedOut", LambdaFunctionTimedOutEventDetails: &FailureEventDetails{Error: "E"}},
		{Type: "MapStateStarted", MapStateStartedEventDetails: &MapStateStartedEventDetails{Length: 2}},
		{Type: "MapIterationStarted", MapIterationStartedEventDetails: &MapIterationEventDetails{Name: "M"}},
		{Type: "MapIterationSucceeded", MapIterationSucceededEventDetails: &MapIterationEventDetails{Name: "M"}},
		{Type: "MapIterationFailed", MapIterationFailedEventDetails: &MapIterationEventDetails{Name: "M"}},
		{Type: "MapIterationAborted", MapIterationAbortedEventDetails: &MapIterationEventDetails{Name: "M"}},
		{Type: "ParallelStateStarted"},
	}
	for i, ev := range events {
		ev.ID, ev.PreviousEventID, ev.Timestamp = int64(i+1), int64(i), ts
		if got := compact(&ev).expand(); !reflect.DeepEqual(got, ev) {
			t.Errorf("%s: round trip = %+v, want %+v", ev.Type, got, ev)
		}
	}
}
