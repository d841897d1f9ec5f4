package states

import (
	"encoding/json"
	"maps"
	"slices"
)

// toleratedFields are the Map fields AWS documents for Distributed Map only.
var toleratedFields = []string{
	"ToleratedFailureCount", "ToleratedFailureCountPath",
	"ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
}

// Warnings returns notes on a definition that Parse accepts but that would behave differently
// in the cloud; unlike Validate's problems they do not stop Parse. Today it reports the
// tolerated-failure fields on an inline Map: AWS documents them for Distributed Map only, while
// this engine honours them on every Map (a nightly batch that runs inline locally relies on
// them). A definition that does not decode has no warnings; Validate reports it.
func Warnings(def []byte) []Problem {
	var top map[string]any
	if err := json.Unmarshal(def, &top); err != nil {
		return nil
	}
	var out []Problem
	warnGraph(top, &out)
	return out
}

// warnGraph checks the states of one graph (top level, Parallel branch, Map processor) and the
// graphs nested in them.
func warnGraph(g map[string]any, out *[]Problem) {
	states, _ := g["States"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(states)) {
		s, ok := states[name].(map[string]any)
		if !ok {
			continue
		}
		switch s["Type"] {
		case "Map":
			proc, _ := s["ItemProcessor"].(map[string]any)
			if proc == nil {
				proc, _ = s["Iterator"].(map[string]any)
			}
			cfg, _ := proc["ProcessorConfig"].(map[string]any)
			if cfg["Mode"] != "DISTRIBUTED" {
				for _, f := range toleratedFields {
					if _, ok := s[f]; ok {
						*out = append(*out, Problem{State: name, Field: f, Message: "AWS documents this field for Distributed Map only " +
							`(ItemProcessor.ProcessorConfig.Mode "DISTRIBUTED"); this engine honours it on an inline Map too`})
					}
				}
			}
			if proc != nil {
				warnGraph(proc, out)
			}
		case "Parallel":
			branches, _ := s["Branches"].([]any)
			for _, b := range branches {
				if b, ok := b.(map[string]any); ok {
					warnGraph(b, out)
				}
			}
		}
	}
}
