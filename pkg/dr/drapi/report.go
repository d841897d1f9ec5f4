package drapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// HistoryReader reads an execution's history.
type HistoryReader interface {
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// StepDuration is how long a top-level state took (summed over its visits:
// wait loops enter the same state again).
type StepDuration struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// ReportOutput is the DR report.
type ReportOutput struct {
	Workflow     string          `json:"workflow"`
	Execution    string          `json:"execution"`
	Mode         string          `json:"mode,omitempty"`
	Passed       bool            `json:"passed"`
	Steps        []StepDuration  `json:"steps"`
	TotalSeconds float64         `json:"totalSeconds"`
	Facts        json.RawMessage `json:"facts"`
}

// WorkflowFacts are the report's facts of a failover or failback: the
// control record's mode, since and the facts the workflow recorded.
func WorkflowFacts(rec ControlRecord, workflow string) json.RawMessage {
	facts := rec.FailoverFacts
	if workflow == WorkflowFailback {
		facts = rec.FailbackFacts
	}
	b, _ := json.Marshal(map[string]any{"mode": rec.Mode, "since": rec.Since, "recorded": RawOrNull(facts)})
	return b
}

// RawOrNull is b, or the JSON null when b is empty.
func RawOrNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// Round rounds seconds to the millisecond, as the report gives them.
func Round(s float64) float64 { return math.Round(s*1000) / 1000 }

// StepDurations measures the top-level states of an execution from its
// history, in order of first entry, as dr-report reports them; started is
// the execution's start and now the end of a state still open (Steps).
func StepDurations(ctx context.Context, history HistoryReader, execution string, now func() time.Time) ([]StepDuration, time.Time, error) {
	events, err := ReadHistory(ctx, history, execution)
	if err != nil {
		return nil, time.Time{}, err
	}
	steps, started := Steps(events, now())
	out := make([]StepDuration, 0, len(steps))
	for _, st := range steps {
		out = append(out, StepDuration{Name: st.Name, Seconds: Round(st.Total.Seconds())})
	}
	return out, started, nil
}

// ReadHistory reads an execution's whole history, oldest event first.
func ReadHistory(ctx context.Context, history HistoryReader, execution string) ([]sfntypes.HistoryEvent, error) {
	var events []sfntypes.HistoryEvent
	var token *string
	for {
		page, err := history.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(execution), MaxResults: 1000, NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", execution, err)
		}
		events = append(events, page.Events...)
		if token = page.NextToken; aws.ToString(token) == "" {
			return events, nil
		}
	}
}

// Step is the time an execution spent in one top-level state: Total
// summed over its visits (wait loops enter the same state again), First
// its first entry and Last the end of its last visit.
type Step struct {
	Name        string
	Total       time.Duration
	Visits      int
	First, Last time.Time
}

// Steps pairs the StateEntered and StateExited events of the top-level
// states, in order of first entry: while a top-level Parallel or Map is
// open, states entered inside it belong to it. A state left by a caught
// error has no exit event; it ends where the Catch target is entered, or at
// the execution's end; a state still open ends at now. started is the
// execution's start.
func Steps(events []sfntypes.HistoryEvent, now time.Time) (steps []Step, started time.Time) {
	var (
		index     = map[string]int{}
		open      string
		container bool // the open state is a Parallel or Map
		opened    time.Time
	)
	closeAt := func(at time.Time) {
		if open == "" {
			return
		}
		i, seen := index[open]
		if !seen {
			i = len(steps)
			index[open] = i
			steps = append(steps, Step{Name: open, First: opened})
		}
		steps[i].Total += at.Sub(opened)
		steps[i].Visits++
		steps[i].Last = at
		open = ""
	}
	for _, ev := range events {
		at := aws.ToTime(ev.Timestamp)
		switch {
		case ev.Type == sfntypes.HistoryEventTypeExecutionStarted:
			started = at
		case ev.StateEnteredEventDetails != nil:
			if open != "" && container {
				continue // a state inside the open Parallel or Map
			}
			// A task left by a caught error has no exit: the Catch
			// target's entry ends it.
			closeAt(at)
			open, opened = aws.ToString(ev.StateEnteredEventDetails.Name), at
			container = ev.Type == sfntypes.HistoryEventTypeParallelStateEntered || ev.Type == sfntypes.HistoryEventTypeMapStateEntered
		case ev.StateExitedEventDetails != nil:
			if aws.ToString(ev.StateExitedEventDetails.Name) == open {
				closeAt(at)
			}
		case ev.Type == sfntypes.HistoryEventTypeExecutionFailed || ev.Type == sfntypes.HistoryEventTypeExecutionAborted ||
			ev.Type == sfntypes.HistoryEventTypeExecutionTimedOut || ev.Type == sfntypes.HistoryEventTypeExecutionSucceeded:
			closeAt(at)
		}
	}
	closeAt(now)
	return steps, started
}
