package dr

import "github.com/pendulum-dr/pendulum/pkg/dr/drapi"

// The workflows' names, inputs and limits are drapi's (what callers of
// the workflows see); the steps use them under these names.

// Workflow names, as the state machines pass them.
const (
	WorkflowFailover = drapi.WorkflowFailover
	WorkflowFailback = drapi.WorkflowFailback
	WorkflowDrill    = drapi.WorkflowDrill
)

// Input limits and defaults (docs/dr.md "Inputs", dr-control).
const (
	MaxReasonRunes                = drapi.MaxReasonRunes
	MinApprovalTimeoutSeconds     = drapi.MinApprovalTimeoutSeconds
	MaxApprovalTimeoutSeconds     = drapi.MaxApprovalTimeoutSeconds
	DefaultApprovalTimeoutSeconds = drapi.DefaultApprovalTimeoutSeconds
	MaxHealthyMinutes             = drapi.MaxHealthyMinutes
	DefaultMinHealthyMinutes      = drapi.DefaultMinHealthyMinutes
)

// The operator's choices for an abandoned lock holder (drapi).
const (
	AbandonedResume   = drapi.AbandonedResume
	AbandonedRollback = drapi.AbandonedRollback
)

// WorkflowConfig is the normalized input of a workflow (drapi).
type WorkflowConfig = drapi.WorkflowConfig

// ParseWorkflowInput validates a workflow's execution input (drapi).
func ParseWorkflowInput(workflow string, input []byte, defaultApproval bool) (WorkflowConfig, error) {
	return drapi.ParseWorkflowInput(workflow, input, defaultApproval)
}

func ptr[T any](v T) *T { return &v }
