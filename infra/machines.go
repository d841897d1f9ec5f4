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

// Definition returns the named embedded state machine with the
// DefinitionSubstitutions CloudFormation needs: one value from known for
// each ${Placeholder} the document uses. It fails naming every placeholder
// that has no value, so a new placeholder in an ASL file breaks synth rather
// than deploying a state machine that fails at run time.
func Definition(name string, known map[string]string) (string, map[string]string, error) {
	def, err := statemachines.Definition(name)
	if err != nil {
		return "", nil, fmt.Errorf("state machine %s: %w", name, err)
	}
	keys, err := statemachines.Placeholders(name)
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
func DRMachines() []string {
	var out []string
	for _, n := range statemachines.Names() {
		if n != NightlyBatch {
			out = append(out, n)
		}
	}
	return out
}

// HasMachine reports whether the named state machine is embedded.
func HasMachine(name string) bool {
	for _, n := range statemachines.Names() {
		if n == name {
			return true
		}
	}
	return false
}
