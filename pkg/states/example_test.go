package states_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// A Lambda task that fails twice with a transient error, retried with
// backoff on a virtual clock: the four seconds of backoff take no wall time.
func Example() {
	m, err := states.Parse([]byte(`{
	  "StartAt": "Greet",
	  "States": {
	    "Greet": {
	      "Type": "Task",
	      "Resource": "arn:aws:states:::lambda:invoke",
	      "Parameters": {"FunctionName": "greet", "Payload.$": "$"},
	      "ResultSelector": {"greeting.$": "$.Payload"},
	      "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "BackoffRate": 3}],
	      "End": true
	    }
	  }
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reg := states.NewRegistry()
	calls := 0
	reg.HandleLambda("greet", func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		if calls++; calls < 3 {
			return nil, fault.TransientErr(errors.New("throttled"))
		}
		var in struct{ Name string }
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		return json.Marshal("hello, " + in.Name)
	})
	e := states.New(states.Options{Clock: clock.NewVirtual(start), Registry: reg})
	x, err := e.Start(context.Background(), m, "example", json.RawMessage(`{"Name":"Ana"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := x.Wait(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Status, string(res.Output), res.StopDate.Sub(start), calls)
	// Output: SUCCEEDED {"greeting":"hello, Ana"} 4s 3
}

// Validate reports every problem with the state it concerns.
func ExampleValidate() {
	for _, p := range states.Validate([]byte(`{"StartAt":"A","States":{
	  "A":{"Type":"Pass","Next":"Bee"},
	  "B":{"Type":"Pass","End":true}}}`)) {
		fmt.Println(p)
	}
	// Output:
	// state "A": Next: "Bee" is not a state in this scope (did you mean "B"?)
	// state "B": unreachable: no path from StartAt "A" leads here
}
