package drapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Workflow names, as the state machines pass them.
const (
	WorkflowFailover = "failover"
	WorkflowFailback = "failback"
	WorkflowDrill    = "drill"
)

// Input limits and defaults (docs/dr.md "Inputs", dr-control).
const (
	MaxReasonRunes                = 1024
	MinApprovalTimeoutSeconds     = 60
	MaxApprovalTimeoutSeconds     = 86400
	DefaultApprovalTimeoutSeconds = 3600
	MaxHealthyMinutes             = 1440
	DefaultMinHealthyMinutes      = 30
)

// The operator's choices for a failover or failback whose execution ended
// without its Catch path (stopped, timed out, failed on an uncaught error)
// while holding the DR lock: the input field "abandoned" (docs/dr.md "When
// a workflow stops").
const (
	// AbandonedResume takes the lock over and carries on: every step is
	// idempotent.
	AbandonedResume = "resume"
	// AbandonedRollback returns the DR mode to what it was before the
	// stopped run, allowed only while that run had changed nothing.
	AbandonedRollback = "rollback"
)

// ApprovalDeniedError is the error an operator denies an approval request
// with (states:SendTaskFailure): the approval state's Catch then releases
// the lock and the execution ends ApprovalDenied, having changed nothing.
const ApprovalDeniedError = "ApprovalDenied"

// WorkflowConfig is the normalized input of a failover, failback or drill:
// what the state machine's later states read from $.begin.config. Fields
// that do not apply to the workflow are omitted.
type WorkflowConfig struct {
	Trigger                string `json:"trigger,omitempty"`
	Alarm                  string `json:"alarm,omitempty"`
	Reason                 string `json:"reason,omitempty"`
	Approval               *bool  `json:"approval,omitempty"`
	ApprovalTimeoutSeconds int    `json:"approvalTimeoutSeconds,omitempty"`
	RestoreSource          string `json:"restoreSource,omitempty"`
	// RetryRestore (failover only, always set there) asks for the
	// aggregates restore alone of a degraded failover: traffic stays where
	// it is (docs/dr.md "Degraded failover").
	RetryRestore      *bool  `json:"retryRestore,omitempty"`
	MinHealthyMinutes *int   `json:"minHealthyMinutes,omitempty"`
	Mode              string `json:"mode,omitempty"`
	// Abandoned is the operator's choice for an abandoned lock holder:
	// AbandonedResume, AbandonedRollback, or "" (none given).
	Abandoned string `json:"abandoned,omitempty"`
}

// inputFields lists the fields each workflow's input may have.
var inputFields = map[string][]string{
	WorkflowFailover: {"trigger", "alarm", "reason", "approval", "approvalTimeoutSeconds", "restoreSource", "retryRestore", "abandoned"},
	WorkflowFailback: {"reason", "approval", "approvalTimeoutSeconds", "minHealthyMinutes", "abandoned"},
	WorkflowDrill:    {"mode", "minHealthyMinutes"},
}

var (
	triggers       = []string{"console", "alarm", "gameday"}
	restoreSources = []string{"auto", "pitr", "backup"}
	drillModes     = []string{"isolated", "gameday"}
	abandonedModes = []string{AbandonedResume, AbandonedRollback}
)

// ParseWorkflowInput validates a workflow's execution input (a JSON object,
// every field optional, unknown fields rejected) and returns it normalized
// with the defaults applied. A field given as null is absent, whichever
// field it is (a console user clearing a value means "the default").
// defaultApproval is the deployment's default for the approval step. All
// problems are reported in one InvalidInputError.
func ParseWorkflowInput(workflow string, input []byte, defaultApproval bool) (WorkflowConfig, error) {
	allowed, ok := inputFields[workflow]
	if !ok {
		return WorkflowConfig{}, invalidf("workflow %q: want failover, failback or drill", workflow)
	}
	var fields map[string]json.RawMessage
	trimmed := bytes.TrimSpace(input)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		fields = map[string]json.RawMessage{}
	} else if err := json.Unmarshal(trimmed, &fields); err != nil || fields == nil {
		return WorkflowConfig{}, invalidf("invalid %s input: want a JSON object such as {} (every field is optional: %s)", workflow, strings.Join(allowed, ", "))
	}
	var problems []string
	var unknown []string
	known := map[string]bool{}
	for _, f := range allowed {
		known[f] = true
	}
	for k, v := range fields {
		switch {
		case !known[k]:
			unknown = append(unknown, k)
		case bytes.Equal(bytes.TrimSpace(v), []byte("null")):
			delete(fields, k) // null is absent: the default applies
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		problems = append(problems, fmt.Sprintf("unknown field %q (allowed: %s)", k, strings.Join(allowed, ", ")))
	}
	str := func(name string, max int) (string, bool) {
		raw, ok := fields[name]
		if !ok {
			return "", false
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			problems = append(problems, fmt.Sprintf("%s: want a string", name))
			return "", false
		}
		if max > 0 && utf8.RuneCountInString(s) > max {
			problems = append(problems, fmt.Sprintf("%s: at most %d characters, got %d", name, max, utf8.RuneCountInString(s)))
			return "", false
		}
		return s, true
	}
	oneOf := func(name string, choices []string, def string) string {
		s, ok := str(name, 0)
		if !ok {
			return def
		}
		for _, c := range choices {
			if s == c {
				return s
			}
		}
		problems = append(problems, fmt.Sprintf("%s: %q is not one of %s", name, s, strings.Join(choices, ", ")))
		return def
	}
	integer := func(name string, lo, hi, def int) int {
		raw, ok := fields[name]
		if !ok {
			return def
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f != float64(int64(f)) {
			problems = append(problems, fmt.Sprintf("%s: want a whole number from %d to %d", name, lo, hi))
			return def
		}
		if f < float64(lo) || f > float64(hi) {
			problems = append(problems, fmt.Sprintf("%s: %v is outside %d…%d", name, f, lo, hi))
			return def
		}
		return int(f)
	}
	boolean := func(name string, def bool) bool {
		raw, ok := fields[name]
		if !ok {
			return def
		}
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			problems = append(problems, fmt.Sprintf("%s: want true or false", name))
			return def
		}
		return b
	}

	var c WorkflowConfig
	switch workflow {
	case WorkflowFailover:
		alarm, _ := str("alarm", MaxReasonRunes)
		defTrigger := "console"
		if alarm != "" {
			defTrigger = "alarm"
		}
		c.Trigger = oneOf("trigger", triggers, defTrigger)
		c.Alarm = alarm
		c.Reason, _ = str("reason", MaxReasonRunes)
		if c.Reason == "" {
			c.Reason = "failover started by " + c.Trigger
			if c.Alarm != "" {
				c.Reason = "failover started by alarm " + c.Alarm
			}
		}
		c.Approval = ptr(boolean("approval", defaultApproval))
		c.ApprovalTimeoutSeconds = integer("approvalTimeoutSeconds", MinApprovalTimeoutSeconds, MaxApprovalTimeoutSeconds, DefaultApprovalTimeoutSeconds)
		c.RestoreSource = oneOf("restoreSource", restoreSources, "auto")
		c.RetryRestore = ptr(boolean("retryRestore", false))
		c.Abandoned = oneOf("abandoned", abandonedModes, "")
	case WorkflowFailback:
		c.Reason, _ = str("reason", MaxReasonRunes)
		if c.Reason == "" {
			c.Reason = "failback started from the console"
		}
		c.Approval = ptr(boolean("approval", defaultApproval))
		c.ApprovalTimeoutSeconds = integer("approvalTimeoutSeconds", MinApprovalTimeoutSeconds, MaxApprovalTimeoutSeconds, DefaultApprovalTimeoutSeconds)
		c.MinHealthyMinutes = ptr(integer("minHealthyMinutes", 0, MaxHealthyMinutes, DefaultMinHealthyMinutes))
		c.Abandoned = oneOf("abandoned", abandonedModes, "")
	case WorkflowDrill:
		c.Mode = oneOf("mode", drillModes, "isolated")
		c.MinHealthyMinutes = ptr(integer("minHealthyMinutes", 0, MaxHealthyMinutes, DefaultMinHealthyMinutes))
	}
	if err := invalidAll(workflow+" input", problems); err != nil {
		return WorkflowConfig{}, err
	}
	return c, nil
}

// Validate reports whether c is a normalized configuration of workflow:
// what ParseWorkflowInput returns for any input it accepts.
func (c WorkflowConfig) Validate(workflow string) error {
	in := func(s string, set []string) bool {
		for _, x := range set {
			if s == x {
				return true
			}
		}
		return false
	}
	var problems []string
	switch workflow {
	case WorkflowFailover, WorkflowFailback:
		if c.Reason == "" || utf8.RuneCountInString(c.Reason) > MaxReasonRunes+64 {
			problems = append(problems, "reason missing or too long")
		}
		if c.Approval == nil {
			problems = append(problems, "approval missing")
		}
		if c.ApprovalTimeoutSeconds < MinApprovalTimeoutSeconds || c.ApprovalTimeoutSeconds > MaxApprovalTimeoutSeconds {
			problems = append(problems, "approvalTimeoutSeconds out of range")
		}
		if c.Abandoned != "" && !in(c.Abandoned, abandonedModes) {
			problems = append(problems, "abandoned not one of "+strings.Join(abandonedModes, ", "))
		}
		if workflow == WorkflowFailover {
			if !in(c.Trigger, triggers) || !in(c.RestoreSource, restoreSources) || c.RetryRestore == nil || c.MinHealthyMinutes != nil || c.Mode != "" {
				problems = append(problems, "failover fields wrong")
			}
		} else if c.MinHealthyMinutes == nil || *c.MinHealthyMinutes < 0 || *c.MinHealthyMinutes > MaxHealthyMinutes || c.Trigger != "" || c.RestoreSource != "" || c.RetryRestore != nil {
			problems = append(problems, "failback fields wrong")
		}
	case WorkflowDrill:
		if !in(c.Mode, drillModes) || c.MinHealthyMinutes == nil || *c.MinHealthyMinutes < 0 || *c.MinHealthyMinutes > MaxHealthyMinutes || c.Abandoned != "" {
			problems = append(problems, "drill fields wrong")
		}
	default:
		problems = append(problems, "unknown workflow")
	}
	return invalidAll(workflow+" config", problems)
}

func ptr[T any](v T) *T { return &v }
