package dr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
)

// StackAPI is the part of CloudFormation the stack step uses.
type StackAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	UpdateStack(ctx context.Context, in *cloudformation.UpdateStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.UpdateStackOutput, error)
}

// StackInput is dr-stack's input.
type StackInput struct {
	Region     string            `json:"region"`
	StackName  string            `json:"stackName"`
	Parameters map[string]string `json:"parameters"`
}

// StackOutput is dr-stack's output: the state machine waits and calls
// again until Done or Failed.
type StackOutput struct {
	Done    bool   `json:"done"`
	Failed  bool   `json:"failed"`
	Status  string `json:"status"`
	Changed bool   `json:"changed"`
}

// Stack is the dr-stack step: it brings a workload stack's parameters
// (Active, the consumer switch) to the asked values with a parameter-only
// UpdateStack (the previous template: nothing is fetched from the other
// region), and reports progress. Calling it again is always safe.
type Stack struct {
	// Clients returns the CloudFormation client of a region (P's or B's).
	Clients func(region string) (StackAPI, error)
	// RoleARNs are the CloudFormation execution roles by region. An update
	// in a region listed here passes its role as RoleARN: without one,
	// CloudFormation would run the update as the role the stack last had
	// (the CDK's deploy role, AdministratorAccess by default), and IAM lets
	// dr-stack update the stack only with the listed role.
	RoleARNs map[string]string
}

// cfNoUpdates is how CloudFormation says a stack already has the asked
// parameters: a ValidationError distinguished only by its message.
const cfNoUpdates = "No updates are to be performed."

// Handle ensures the stack's parameters.
func (s *Stack) Handle(ctx context.Context, in StackInput) (StackOutput, error) {
	var problems []string
	if in.Region == "" {
		problems = append(problems, "region is required")
	}
	if in.StackName == "" {
		problems = append(problems, "stackName is required")
	}
	if len(in.Parameters) == 0 {
		problems = append(problems, `parameters is required, e.g. {"Active":"true"}`)
	}
	if err := invalidAll("stack input", problems); err != nil {
		return StackOutput{}, err
	}
	cf, err := s.Clients(in.Region)
	if err != nil {
		return StackOutput{}, err
	}
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(in.StackName)})
	var missing smithy.APIError
	if errors.As(err, &missing) && missing.ErrorCode() == "ValidationError" && strings.HasSuffix(missing.ErrorMessage(), "does not exist") {
		// CloudFormation reports a missing stack as a ValidationError told
		// apart only by its message.
		return StackOutput{}, notFoundf("stack %s in %s does not exist: %v", in.StackName, in.Region, err)
	}
	if err != nil {
		return StackOutput{}, fmt.Errorf("describe stack %s in %s: %w", in.StackName, in.Region, err)
	}
	if len(out.Stacks) == 0 {
		return StackOutput{}, notFoundf("stack %s in %s does not exist", in.StackName, in.Region)
	}
	st := out.Stacks[0]
	status := string(st.StackStatus)
	current := map[string]string{}
	for _, p := range st.Parameters {
		current[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	var differ []string
	for k, v := range in.Parameters {
		cur, ok := current[k]
		if !ok && v == "true" {
			// A stack without the switch (the primary's workload stack is
			// never dormant) has what the switch would turn on.
			continue
		}
		if !ok {
			return StackOutput{}, invalidf("stack %s in %s has no parameter %s", in.StackName, in.Region, k)
		}
		if cur != v {
			differ = append(differ, k)
		}
	}
	sort.Strings(differ)
	switch {
	case strings.HasSuffix(status, "_IN_PROGRESS"):
		return StackOutput{Status: status}, nil
	case len(differ) == 0 && strings.HasSuffix(status, "_COMPLETE") && !strings.Contains(status, "ROLLBACK") && !strings.HasPrefix(status, "DELETE"):
		return StackOutput{Done: true, Status: status}, nil
	case len(differ) > 0 && st.StackStatus == cftypes.StackStatusUpdateRollbackComplete:
		// The update to these values was rolled back: starting it again
		// would fail the same way. An operator reads the stack events,
		// fixes the cause (and the stack), then re-runs the workflow.
		return StackOutput{Failed: true, Status: status}, nil
	case strings.HasSuffix(status, "_FAILED") || strings.HasPrefix(status, "DELETE") || st.StackStatus == cftypes.StackStatusRollbackComplete:
		return StackOutput{Failed: true, Status: status}, nil
	case len(differ) == 0:
		// Asked values already in place after a rollback of something else.
		return StackOutput{Done: true, Status: status}, nil
	}
	params := make([]cftypes.Parameter, 0, len(current))
	for k := range current {
		if v, ok := in.Parameters[k]; ok {
			params = append(params, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
		} else {
			params = append(params, cftypes.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)})
		}
	}
	sort.Slice(params, func(i, j int) bool {
		return aws.ToString(params[i].ParameterKey) < aws.ToString(params[j].ParameterKey)
	})
	_, err = cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{
		StackName:           aws.String(in.StackName),
		UsePreviousTemplate: aws.Bool(true),
		Parameters:          params,
		Capabilities:        st.Capabilities,
		RoleARN:             roleARN(s.RoleARNs[in.Region]),
	})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationError" && api.ErrorMessage() == cfNoUpdates {
		return StackOutput{Done: true, Status: status}, nil
	}
	if err != nil {
		return StackOutput{}, fmt.Errorf("update stack %s in %s (%s): %w", in.StackName, in.Region, strings.Join(differ, ", "), err)
	}
	return StackOutput{Status: string(cftypes.StackStatusUpdateInProgress), Changed: true}, nil
}

// roleARN is arn as the optional RoleARN: nil when empty.
func roleARN(arn string) *string {
	if arn == "" {
		return nil
	}
	return aws.String(arn)
}
