package states_test

import (
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/statemachines"
)

// TestProjectStateMachinesValid validates every ASL document the project
// deploys, placeholders and all: the engine must accept what CloudFormation
// will be given.
func TestProjectStateMachinesValid(t *testing.T) {
	names := statemachines.Names()
	if len(names) == 0 {
		t.Fatal("no embedded state machines")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			def, err := statemachines.Definition(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range states.Validate(def) {
				t.Errorf("%s: %s", name, p)
			}
		})
	}
}
