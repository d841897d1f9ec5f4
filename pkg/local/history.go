package local

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/states"
)

// Step is the time an execution spent in one top-level state, summed over
// its entries (a polling loop enters the same states many times).
type Step struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Entries int     `json:"entries"`
	// StartSeconds and EndSeconds are its first entry and last exit, in
	// seconds from the execution's start (a timeline's bar).
	StartSeconds float64 `json:"startSeconds"`
	EndSeconds   float64 `json:"endSeconds"`
}

// stepNames maps the states measured as steps to their report names: each
// top-level state by its name, and the states of a top-level Parallel's
// branches as "Parallel › State", so the report shows where a parallel
// block spends its time.
func (l *Local) stepNames(machine string) (map[string]string, error) {
	def, err := l.Definition(machine)
	if err != nil {
		return nil, err
	}
	type states struct {
		States map[string]struct {
			Branches []struct {
				States map[string]json.RawMessage `json:"States"`
			} `json:"Branches"`
		} `json:"States"`
	}
	var doc states
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, fmt.Errorf("read %s: %w", machine, err)
	}
	out := map[string]string{}
	for n, st := range doc.States {
		out[n] = n
		for _, b := range st.Branches {
			for inner := range b.States {
				out[inner] = n + " › " + inner
			}
		}
	}
	return out, nil
}

// StepDurations measures an execution's top-level states (and those of
// its Parallel branches) from its history (StateEntered/StateExited
// pairs), in order of first entry, as dr-report measures them in the cloud.
func (l *Local) StepDurations(machine string, x *states.Execution) ([]Step, error) {
	names, err := l.stepNames(machine)
	if err != nil {
		return nil, err
	}
	var steps []Step
	index := map[string]int{}
	entered := map[string]time.Time{}
	start := x.Result().StartDate
	for _, ev := range x.History() {
		switch {
		case ev.StateEnteredEventDetails != nil && names[ev.StateEnteredEventDetails.Name] != "":
			name := names[ev.StateEnteredEventDetails.Name]
			entered[name] = ev.Timestamp
			if _, ok := index[name]; !ok {
				index[name] = len(steps)
				steps = append(steps, Step{Name: name, StartSeconds: ev.Timestamp.Sub(start).Seconds(), EndSeconds: ev.Timestamp.Sub(start).Seconds()})
			}
			steps[index[name]].Entries++
		case ev.StateExitedEventDetails != nil && names[ev.StateExitedEventDetails.Name] != "":
			name := names[ev.StateExitedEventDetails.Name]
			if at, ok := entered[name]; ok {
				steps[index[name]].Seconds += ev.Timestamp.Sub(at).Seconds()
				steps[index[name]].EndSeconds = ev.Timestamp.Sub(start).Seconds()
				delete(entered, name)
			}
		}
	}
	return steps, nil
}

// FailureLog lists an execution's failure events (task, Lambda and
// execution failures), each as "Type: details", for error messages.
func FailureLog(x *states.Execution) []string {
	var out []string
	for _, ev := range x.History() {
		if !strings.HasSuffix(ev.Type, "Failed") && !strings.HasSuffix(ev.Type, "TimedOut") {
			continue
		}
		b, _ := json.Marshal(ev)
		s := string(b)
		if len(s) > 600 {
			s = s[:600] + "…"
		}
		out = append(out, ev.Type+": "+s)
	}
	return out
}
