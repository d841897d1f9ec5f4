package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// CloudFormation is one region's simulated CloudFormation. Templates are
// interpreted and deployed (cfn_template.go, cfn_deploy.go): every resource
// is created, updated and deleted through the provider of its type, in
// dependency order and on the world's clock, so a stack's operations take
// as long as its resources do. As in AWS, a template must declare at least
// one resource. The DR workflows drive the workload stack deployed dormant
// in the backup region with a parameter Active=false, flipped to true by
// one UpdateStack on failover and back on failback (DESIGN "Backup region:
// dormant, not absent").
type CloudFormation struct {
	r *Region

	mu     sync.Mutex
	stacks map[string]*cfStack
	seq    int
	// changeSets are the stacks' change sets by ARN (cfn_import.go).
	changeSets map[string]*cfChangeSet
}

type cfStack struct {
	name, id    string
	status      cftypes.StackStatus
	reason      string
	params      map[string]string
	prevParams  map[string]string // before the update in progress, for rollback
	template    string
	created     time.Time
	updated     time.Time
	outputs     map[string]string
	deleted     bool
	deletedTime time.Time

	// The deployment (cfn_deploy.go): the parsed template and resolved
	// parameters the live resources follow, what an update in progress
	// rolls back to, and the resources created.
	tmpl, pendingTmpl, prevTmpl  *cfnTemplate
	resolvedParams, prevResolved map[string]any
	prevTemplate                 string
	live                         map[string]*cfnLive
	// role is the service role the stack's operations run as (the
	// RoleARN of the last create or update that gave one): with it, every
	// resource operation is authorized against that role, as CloudFormation
	// uses the role's credentials.
	role string
}

// CloudFormation returns the region's CloudFormation.
func (r *Region) CloudFormation() *CloudFormation {
	return r.service(cloudformation.ServiceID, func() any {
		return &CloudFormation{r: r, stacks: make(map[string]*cfStack)}
	}).(*CloudFormation)
}

// cfValidation is CloudFormation's catch-all client error: the SDK has no
// typed error for code ValidationError.
func cfValidation(format string, args ...any) error {
	return apiErr("ValidationError", format, args...)
}

// find returns a live stack by name or stack ID; c.mu must be held.
func (c *CloudFormation) find(nameOrID string) (*cfStack, error) {
	for _, s := range c.stacks {
		if !s.deleted && (s.name == nameOrID || s.id == nameOrID) {
			return s, nil
		}
	}
	return nil, cfValidation("Stack with id %s does not exist", nameOrID)
}

// describable returns the stack DescribeStacks shows for nameOrID: a live
// stack by name or ID, or, asked by its stack ID, a deleted one, which
// CloudFormation keeps answering for (DELETE_COMPLETE) so a caller that
// polls a deletion by ID sees it finish instead of an error. By name a
// deleted stack does not exist. c.mu must be held.
func (c *CloudFormation) describable(nameOrID string) (*cfStack, error) {
	if s, err := c.find(nameOrID); err == nil {
		return s, nil
	}
	if s, ok := c.stacks[nameOrID]; ok && s.deleted {
		return s, nil
	}
	return nil, cfValidation("Stack with id %s does not exist", nameOrID)
}

// CreateStack creates a stack from a template with resources: it is
// CREATE_IN_PROGRESS while its resources are created, each taking its
// modelled time (cfn_deploy.go). A template without resources is a
// ValidationError, as in CloudFormation.
func (c *CloudFormation) CreateStack(ctx context.Context, in *cloudformation.CreateStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error) {
	const op = "CreateStack"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.StackName)
	if name == "" || len(name) > 128 {
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("1 validation error detected: Value at 'stackName' failed to satisfy constraint: Member must have length between 1 and 128"))
	}
	body := aws.ToString(in.TemplateBody)
	switch {
	case body == "" && aws.ToString(in.TemplateURL) == "":
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Either Template URL or Template Body must be specified."))
	case body == "":
		return nil, opErr(cloudformation.ServiceID, op, cfTemplateURL())
	}
	params := map[string]string{}
	for _, p := range in.Parameters {
		if aws.ToBool(p.UsePreviousValue) {
			return nil, opErr(cloudformation.ServiceID, op, cfValidation("Invalid input for parameter key %s. Cannot specify usePreviousValue as true for new stack", aws.ToString(p.ParameterKey)))
		}
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	c.mu.Lock()
	if _, err := c.find(name); err == nil {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, &cftypes.AlreadyExistsException{Message: aws.String(fmt.Sprintf("Stack [%s] already exists", name))})
	}
	c.seq++
	h := fnv.New128a()
	fmt.Fprintf(h, "%s/%s/%d", c.r.Name, name, c.seq)
	sum := h.Sum(nil)
	now := c.r.world.Clock.Now()
	s := &cfStack{
		name: name, id: fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%x-%x-%x-%x-%x", c.r.Name, c.r.world.Account, name, sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
		status: cftypes.StackStatusCreateInProgress, params: params, template: body,
		created: now, role: aws.ToString(in.RoleARN),
	}
	c.stacks[s.id] = s
	c.mu.Unlock()
	if err := c.createFromTemplate(ctx, s, body, params); err != nil {
		c.mu.Lock()
		delete(c.stacks, s.id)
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	return &cloudformation.CreateStackOutput{StackId: aws.String(s.id)}, nil
}

// cfTemplateURL is the error for a template given by URL: the simulator
// does not fetch templates from S3.
func cfTemplateURL() error {
	return cfValidation("TemplateURL is %s: pass the template as TemplateBody", errNotModelled)
}

// UpdateStack updates a stack's parameters (and template). As in
// CloudFormation: a stack that is not in a stable state refuses the update;
// an update that changes nothing is a ValidationError "No updates are to be
// performed."; a parameter not given takes the template's default, and one
// without a default must have a value. The update creates, updates and
// deletes the resources the change asks for, each in its modelled time, and
// rolls back when one fails.
func (c *CloudFormation) UpdateStack(ctx context.Context, in *cloudformation.UpdateStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.UpdateStackOutput, error) {
	const op = "UpdateStack"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	s, err := c.find(aws.ToString(in.StackName))
	if err != nil {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	if !stable(s.status) {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Stack:%s is in %s state and can not be updated.", s.id, s.status))
	}
	template, url := aws.ToString(in.TemplateBody), aws.ToString(in.TemplateURL)
	switch {
	case aws.ToBool(in.UsePreviousTemplate) && template+url != "":
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("You cannot specify both usePreviousTemplate and Template Body/Template URL."))
	case aws.ToBool(in.UsePreviousTemplate):
		template = s.template
	case template == "" && url == "":
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Either Template URL or Template Body must be specified."))
	case template == "":
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfTemplateURL())
	}
	params, err := givenParams(s, in.Parameters)
	if err != nil {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	id := s.id
	if in.RoleARN != nil {
		s.role = aws.ToString(in.RoleARN)
	}
	if err := c.updateFromTemplate(ctx, s, template, params); err != nil {
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	return &cloudformation.UpdateStackOutput{StackId: aws.String(id)}, nil
}

func cfSameParams(a, b map[string]string) bool { return sqsSameAttrs(a, b) }

// DeleteStack deletes a stack: DELETE_IN_PROGRESS while its resources are
// deleted, dependents first, then DELETE_COMPLETE (visible by stack ID
// only). Deleting a missing stack succeeds, as in CloudFormation.
func (c *CloudFormation) DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	const op = "DeleteStack"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	s, err := c.find(aws.ToString(in.StackName))
	if err != nil || s.status == cftypes.StackStatusDeleteInProgress {
		c.mu.Unlock()
		return &cloudformation.DeleteStackOutput{}, nil
	}
	if strings.HasSuffix(string(s.status), "_IN_PROGRESS") {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Stack [%s] cannot be deleted while in status %s", s.name, s.status))
	}
	s.status = cftypes.StackStatusDeleteInProgress
	c.mu.Unlock()
	c.deleteTemplateStack(s)
	return &cloudformation.DeleteStackOutput{}, nil
}

// DescribeStacks describes one stack (by name or ID; a deleted stack only by
// its ID, as DELETE_COMPLETE) or every live stack.
func (c *CloudFormation) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	const op = "DescribeStacks"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var stacks []*cfStack
	if n := aws.ToString(in.StackName); n != "" {
		s, err := c.describable(n)
		if err != nil {
			return nil, opErr(cloudformation.ServiceID, op, err)
		}
		stacks = append(stacks, s)
	} else {
		for _, s := range c.stacks {
			if !s.deleted {
				stacks = append(stacks, s)
			}
		}
		sort.Slice(stacks, func(i, j int) bool { return stacks[i].name < stacks[j].name })
	}
	out := &cloudformation.DescribeStacksOutput{}
	for _, s := range stacks {
		created := s.created
		st := cftypes.Stack{StackName: aws.String(s.name), StackId: aws.String(s.id), StackStatus: s.status, CreationTime: &created}
		if !s.updated.IsZero() {
			u := s.updated
			st.LastUpdatedTime = &u
		}
		if s.deleted {
			d := s.deletedTime
			st.DeletionTime = &d
		}
		if s.reason != "" {
			st.StackStatusReason = aws.String(s.reason)
		}
		keys := make([]string, 0, len(s.params))
		for k := range s.params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			st.Parameters = append(st.Parameters, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(s.params[k])})
		}
		okeys := make([]string, 0, len(s.outputs))
		for k := range s.outputs {
			okeys = append(okeys, k)
		}
		sort.Strings(okeys)
		for _, k := range okeys {
			st.Outputs = append(st.Outputs, cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(s.outputs[k])})
		}
		out.Stacks = append(out.Stacks, st)
	}
	return out, nil
}

// GetTemplate returns the template of a stack, live or (by its stack ID)
// deleted, as CloudFormation keeps it: during an update the new template,
// after a rollback the previous one again. TemplateStage Original (the
// default) and Processed are the same body here, since no template the
// simulator deploys uses a transform; any other stage is a ValidationError.
// Change sets are not modelled.
func (c *CloudFormation) GetTemplate(ctx context.Context, in *cloudformation.GetTemplateInput, optFns ...func(*cloudformation.Options)) (*cloudformation.GetTemplateOutput, error) {
	const op = "GetTemplate"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.ChangeSetName != nil {
		return nil, opErr(cloudformation.ServiceID, op, fmt.Errorf("change sets are %w", errNotModelled))
	}
	switch in.TemplateStage {
	case "", cftypes.TemplateStageOriginal, cftypes.TemplateStageProcessed:
	default:
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("1 validation error detected: Value '%s' at 'templateStage' failed to satisfy constraint: Member must satisfy enum value set: [Original, Processed]", in.TemplateStage))
	}
	name := aws.ToString(in.StackName)
	if name == "" {
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Must specify either StackName or ChangeSetName"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.describable(name)
	if err != nil {
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	return &cloudformation.GetTemplateOutput{
		TemplateBody:    aws.String(s.template),
		StagesAvailable: []cftypes.TemplateStage{cftypes.TemplateStageOriginal, cftypes.TemplateStageProcessed},
	}, nil
}
