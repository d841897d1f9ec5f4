package compact

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/compact/plan"
	"github.com/pendulum-dr/pendulum/statemachines"
)

// jsonFields returns the JSON member names of a struct type.
func jsonFields(v any) map[string]bool {
	fields := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	return fields
}

// TestNightlyBatchSelectsWhatTheFunctionsReturn checks the contract between
// nightly-batch.asl.json and this package: every $.Payload.<field> the
// state machine selects from the plan and compact functions' answers is a
// field they always return (a missing one is a States.Runtime error, which
// no Catch can handle). The Map items need no check: Plan.Partitions is a
// []Input, compact's own input type.
func TestNightlyBatchSelectsWhatTheFunctionsReturn(t *testing.T) {
	def, err := statemachines.Definition("nightly-batch")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		States map[string]json.RawMessage
	}
	if err := json.Unmarshal(def, &doc); err != nil {
		t.Fatal(err)
	}
	type task struct {
		ResultSelector map[string]any
		ItemsPath      string
		ItemProcessor  struct {
			States map[string]json.RawMessage
		}
	}
	state := func(states map[string]json.RawMessage, name string) task {
		t.Helper()
		var tk task
		if err := json.Unmarshal(states[name], &tk); err != nil {
			t.Fatalf("state %s: %v", name, err)
		}
		return tk
	}
	check := func(name string, sel map[string]any, fields map[string]bool) {
		t.Helper()
		if len(sel) == 0 {
			t.Fatalf("state %s has no ResultSelector", name)
		}
		for k, v := range sel {
			if !strings.HasSuffix(k, ".$") {
				continue
			}
			field, ok := strings.CutPrefix(v.(string), "$.Payload.")
			if !ok {
				t.Errorf("state %s selects %v, not a Payload field", name, v)
				continue
			}
			if !fields[field] {
				t.Errorf("state %s selects $.Payload.%s, which the function does not return", name, field)
			}
		}
	}
	check("Plan", state(doc.States, "Plan").ResultSelector, jsonFields(plan.Plan{}))
	m := state(doc.States, "CompactHours")
	if got, want := m.ItemsPath, "$.partitions"; got != want {
		t.Fatalf("Map ItemsPath = %q, want %q", got, want)
	}
	check("CompactHour", state(m.ItemProcessor.States, "CompactHour").ResultSelector, jsonFields(Result{}))

	// An empty-hour Result still has every selected field.
	b, _ := json.Marshal(Result{Table: "raw", DT: "2026-11-24", HR: "07"})
	var got map[string]any
	json.Unmarshal(b, &got)
	for f := range jsonFields(Result{}) {
		if _, ok := got[f]; !ok {
			t.Errorf("an empty-hour result omits %q", f)
		}
	}
}
