package states_test

import (
	"strings"
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
		var sub strings.Builder
		for _, w := range strings.Split(name, "-") {
			if w != "" {
				sub.WriteString(strings.ToUpper(w[:1]) + w[1:])
			}
		}
		t.Run(sub.String(), func(t *testing.T) {
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
