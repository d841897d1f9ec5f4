package sim

import (
	"encoding/json"
	"time"
)

// StatesExecutionStatus is a change of a Standard workflow execution's
// status, as Step Functions reports it to EventBridge: at the start
// (RUNNING) and at the end (SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
type StatesExecutionStatus struct {
	ExecutionARN, StateMachineARN string
	// Name is the execution's name.
	Name string
	// Status is RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
	Status string
	// StartDate is when the execution started; StopDate when it ended
	// (zero while RUNNING).
	StartDate, StopDate time.Time
	// Input is the execution's input and Output its output (SUCCEEDED
	// only), as JSON text.
	Input, Output string
	// Error and Cause describe how it failed, timed out or was aborted
	// (empty: null, as for an abort without them).
	Error, Cause string
}

// statesPayloadLimit is the size of escaped input and output above which
// Step Functions leaves them out of the event (EventBridge's event size
// quota): 248 KB.
const statesPayloadLimit = 248 * 1024

// PutStatesExecutionStatusChange puts the event Step Functions sends to its
// region's default bus when an execution's status changes: source
// aws.states, detail-type "Step Functions Execution Status Change", the
// execution ARN as the resource, and the detail fields executionArn,
// stateMachineArn, name, status, startDate and stopDate (epoch
// milliseconds; stopDate null while RUNNING), input and inputDetails,
// output and outputDetails (null unless SUCCEEDED), error and cause (null
// when there is none). When the escaped input and output together exceed
// 248 KB the input is left out (inputDetails.included false), and so is an
// output that alone exceeds it
// (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html).
// Rules match it like any event; nothing is put while the region is down.
func (e *EventBridge) PutStatesExecutionStatusChange(ch StatesExecutionStatus) {
	if e.r.world.Down(e.r.Name) {
		return
	}
	type included struct {
		Included bool `json:"included"`
	}
	type detail struct {
		ExecutionArn    string    `json:"executionArn"`
		StateMachineArn string    `json:"stateMachineArn"`
		Name            string    `json:"name"`
		Status          string    `json:"status"`
		StartDate       int64     `json:"startDate"`
		StopDate        *int64    `json:"stopDate"`
		Input           *string   `json:"input"`
		InputDetails    *included `json:"inputDetails"`
		Output          *string   `json:"output"`
		OutputDetails   *included `json:"outputDetails"`
		Error           *string   `json:"error"`
		Cause           *string   `json:"cause"`
	}
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	escaped := func(s string) int { b, _ := json.Marshal(s); return len(b) - 2 }
	d := detail{ExecutionArn: ch.ExecutionARN, StateMachineArn: ch.StateMachineARN, Name: ch.Name, Status: ch.Status,
		StartDate: ch.StartDate.UnixMilli(), Error: str(ch.Error), Cause: str(ch.Cause)}
	at := ch.StartDate
	if !ch.StopDate.IsZero() {
		ms := ch.StopDate.UnixMilli()
		d.StopDate, at = &ms, ch.StopDate
	}
	in, out := ch.Input, ch.Output
	inLen, outLen := escaped(in), 0
	if ch.Status == "SUCCEEDED" {
		outLen = escaped(out)
		d.Output, d.OutputDetails = &out, &included{true}
		if outLen > statesPayloadLimit {
			d.Output, d.OutputDetails = nil, &included{false}
			outLen = 0
		}
	}
	d.Input, d.InputDetails = &in, &included{true}
	if inLen+outLen > statesPayloadLimit {
		d.Input, d.InputDetails = nil, &included{false}
	}
	b, _ := json.Marshal(d)
	e.route(e.newEvent("aws.states", "Step Functions Execution Status Change", []string{ch.ExecutionARN}, b, at))
}
