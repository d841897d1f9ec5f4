package statemachines

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// topicRef is how the documents name the DR notification topic.
var topicRef = "${" + topology.TopicPlaceholder + "}"

// NotifiedFailures returns the error names of the Fail states a definition
// reaches only right after publishing to the DR topic (an sns:publish Task
// on the topology.TopicPlaceholder topic, directly or through Choice states that publishing
// leads to): ends whose own message is already the operator's. The CDK
// app's notification rules leave these out, so no end is notified twice;
// every other end without success — any other Fail state, an uncaught
// error, a timeout, StopExecution — is the rules'. An error name that some
// other Fail state (at any depth) also ends with is not returned: that end
// would not be notified. Sorted.
func NotifiedFailures(def []byte) ([]string, error) {
	var doc aslDoc
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, fmt.Errorf("parse definition: %w", err)
	}
	preds := map[string][]string{} // top-level state → the states that lead to it
	for name, s := range doc.States {
		for _, next := range s.successors() {
			preds[next] = append(preds[next], name)
		}
	}
	// notified reports whether every way into the state comes right after
	// a publish to the topic.
	var notified func(name string, seen map[string]bool) bool
	notified = func(name string, seen map[string]bool) bool {
		if seen[name] || name == doc.StartAt || len(preds[name]) == 0 {
			return false
		}
		seen[name] = true
		for _, p := range preds[name] {
			ps := doc.States[p]
			switch {
			case ps.publishesToTopic():
			case ps.Type == "Choice" && notified(p, seen):
			default:
				return false
			}
		}
		return true
	}
	// Every Fail state, at any depth, by error name: an error name is the
	// topic's only if each Fail state ending with it is a notified one.
	failing := map[string]int{}
	var walk func(states map[string]aslState)
	walk = func(states map[string]aslState) {
		for _, s := range states {
			if s.Type == "Fail" {
				failing[s.Error]++
			}
			for _, b := range s.Branches {
				walk(b.States)
			}
			if s.ItemProcessor != nil {
				walk(s.ItemProcessor.States)
			}
			if s.Iterator != nil {
				walk(s.Iterator.States)
			}
		}
	}
	walk(doc.States)
	notifiedBy := map[string]int{}
	for name, s := range doc.States {
		if s.Type == "Fail" && s.Error != "" && notified(name, map[string]bool{}) {
			notifiedBy[s.Error]++
		}
	}
	var out []string
	for errName, n := range notifiedBy {
		if n == failing[errName] {
			out = append(out, errName)
		}
	}
	sort.Strings(out)
	return out, nil
}

type aslDoc struct {
	StartAt string              `json:"StartAt"`
	States  map[string]aslState `json:"States"`
}

type aslState struct {
	Type       string          `json:"Type"`
	Resource   string          `json:"Resource"`
	Parameters json.RawMessage `json:"Parameters"`
	Next       string          `json:"Next"`
	Default    string          `json:"Default"`
	Error      string          `json:"Error"`
	Choices    []struct {
		Next string `json:"Next"`
	} `json:"Choices"`
	Catch []struct {
		Next string `json:"Next"`
	} `json:"Catch"`
	Branches      []aslDoc `json:"Branches"`
	ItemProcessor *aslDoc  `json:"ItemProcessor"`
	Iterator      *aslDoc  `json:"Iterator"`
}

func (s aslState) successors() []string {
	var out []string
	for _, n := range []string{s.Next, s.Default} {
		if n != "" {
			out = append(out, n)
		}
	}
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	return out
}

// publishesToTopic reports whether the state is a Task publishing to the
// DR topic (the aws-sdk or the optimized SNS integration, without a task
// token: a callback publish is a request, not a notice of the end).
func (s aslState) publishesToTopic() bool {
	if s.Type != "Task" || (s.Resource != "arn:aws:states:::aws-sdk:sns:publish" && s.Resource != "arn:aws:states:::sns:publish") {
		return false
	}
	var p struct {
		TopicArn string `json:"TopicArn"`
	}
	return json.Unmarshal(s.Parameters, &p) == nil && p.TopicArn == topicRef
}
