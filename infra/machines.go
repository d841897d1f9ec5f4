package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pendulum-dr/pendulum/statemachines"
)

// NightlyBatch is the workload's own state machine; every other embedded
// state machine is a DR machine and deploys in the Recovery stack.
const NightlyBatch = "nightly-batch"

// MachineSource provides the ASL documents to deploy: the embedded
// statemachines package in the app, fixtures in tests.
type MachineSource interface {
	// Names returns the state machine names, sorted.
	Names() []string
	// Definition returns the raw ASL with its ${Placeholder}s.
	Definition(name string) ([]byte, error)
	// Placeholders returns the distinct placeholders the document uses.
	Placeholders(name string) ([]string, error)
}

type embeddedMachines struct{}

func (embeddedMachines) Names() []string { return statemachines.Names() }
func (embeddedMachines) Definition(name string) ([]byte, error) {
	return statemachines.Definition(name)
}
func (embeddedMachines) Placeholders(name string) ([]string, error) {
	return statemachines.Placeholders(name)
}

// EmbeddedMachines are the statemachines/*.asl.json files compiled in.
var EmbeddedMachines MachineSource = embeddedMachines{}

// Definition returns the named embedded state machine with the
// DefinitionSubstitutions CloudFormation needs: one value from known for
// each ${Placeholder} the document uses. It fails naming every placeholder
// that has no value, so a new placeholder in an ASL file breaks synth rather
// than deploying a state machine that fails at run time.
func Definition(src MachineSource, name string, known map[string]string) (string, map[string]string, error) {
	def, err := src.Definition(name)
	if err != nil {
		return "", nil, fmt.Errorf("state machine %s: %w", name, err)
	}
	keys, err := src.Placeholders(name)
	if err != nil {
		return "", nil, fmt.Errorf("state machine %s: %w", name, err)
	}
	subs := map[string]string{}
	var missing []string
	for _, k := range keys {
		v, ok := known[k]
		if !ok {
			missing = append(missing, "${"+k+"}")
			continue
		}
		subs[k] = v
	}
	if len(missing) > 0 {
		var have []string
		for k := range known {
			have = append(have, k)
		}
		sort.Strings(have)
		return "", nil, fmt.Errorf("statemachines/%s.asl.json uses unknown placeholder(s) %s; infra provides %s (add the value in infra/ if it is new)",
			name, strings.Join(missing, ", "), strings.Join(have, ", "))
	}
	return string(def), subs, nil
}

// DRMachines are the embedded state machines the Recovery stack deploys.
func DRMachines(src MachineSource) []string {
	var out []string
	for _, n := range src.Names() {
		if n != NightlyBatch {
			out = append(out, n)
		}
	}
	return out
}
