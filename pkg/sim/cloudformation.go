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

// CloudFormation is one region's simulated CloudFormation, for the stacks
// the DR workflows drive: the workload stack deployed dormant in the backup
// region with a parameter Active=false, flipped to true by one UpdateStack
// on failover and back on failback (DESIGN "Backup region: dormant, not
// absent"). Templates are not interpreted; a stack's operations take the
// time of a modelled resource plan, walked in dependency order, and hooks
// make activation real (the drill creates and deletes the region's Kinesis
// stream, Firehose, event-source mappings and ALB endpoint in them).
type CloudFormation struct {
	r *Region

	// ActivationPlan models the resources an update to Active=true creates;
	// DeactivationPlan those an update to Active=false deletes.
	ActivationPlan, DeactivationPlan []CFResourceStep
	// DormantCreate is how long creating a dormant stack takes.
	DormantCreate time.Duration

	mu     sync.Mutex
	stacks map[string]*cfStack
	hooks  map[string][]func(ctx context.Context, active bool) error
	seq    int
}

// CFResourceStep is one resource of a modelled plan: it starts once every
// step it depends on has finished and takes Duration.
type CFResourceStep struct {
	LogicalID string
	Type      string
	Duration  time.Duration
	DependsOn []string
}

// DefaultActivationPlan is the workload's costly part, from docs/aws-facts.md
// ("Elastic Load Balancing", "Kinesis Data Streams"): an
// ALB takes 2–4 min to provision (3 min here); an on-demand Kinesis stream
// under a minute (45 s); the resources that read the stream follow it, and
// the ALB listener needs both the ALB and the ingest target group, which
// needs the stream the ingest function writes to. Critical path: ALB 180 s
// + listener 5 s = 185 s.
func DefaultActivationPlan() []CFResourceStep {
	return []CFResourceStep{
		{LogicalID: "IngestStream", Type: "AWS::Kinesis::Stream", Duration: 45 * time.Second},
		{LogicalID: "RawDeliveryStream", Type: "AWS::KinesisFirehose::DeliveryStream", Duration: 60 * time.Second, DependsOn: []string{"IngestStream"}},
		{LogicalID: "AggregateMapping", Type: "AWS::Lambda::EventSourceMapping", Duration: 10 * time.Second, DependsOn: []string{"IngestStream"}},
		{LogicalID: "IngestTargetGroup", Type: "AWS::ElasticLoadBalancingV2::TargetGroup", Duration: 10 * time.Second, DependsOn: []string{"IngestStream"}},
		{LogicalID: "IngestLoadBalancer", Type: "AWS::ElasticLoadBalancingV2::LoadBalancer", Duration: 180 * time.Second},
		{LogicalID: "IngestListener", Type: "AWS::ElasticLoadBalancingV2::Listener", Duration: 5 * time.Second, DependsOn: []string{"IngestLoadBalancer", "IngestTargetGroup"}},
	}
}

// DefaultDeactivationPlan deletes the same resources in reverse dependency
// order; deletions are quicker than creations (an ALB deletes in about a
// minute).
func DefaultDeactivationPlan() []CFResourceStep {
	return []CFResourceStep{
		{LogicalID: "IngestListener", Type: "AWS::ElasticLoadBalancingV2::Listener", Duration: 5 * time.Second},
		{LogicalID: "IngestLoadBalancer", Type: "AWS::ElasticLoadBalancingV2::LoadBalancer", Duration: 60 * time.Second, DependsOn: []string{"IngestListener"}},
		{LogicalID: "IngestTargetGroup", Type: "AWS::ElasticLoadBalancingV2::TargetGroup", Duration: 5 * time.Second, DependsOn: []string{"IngestListener"}},
		{LogicalID: "AggregateMapping", Type: "AWS::Lambda::EventSourceMapping", Duration: 10 * time.Second},
		{LogicalID: "RawDeliveryStream", Type: "AWS::KinesisFirehose::DeliveryStream", Duration: 30 * time.Second},
		{LogicalID: "IngestStream", Type: "AWS::Kinesis::Stream", Duration: 10 * time.Second, DependsOn: []string{"RawDeliveryStream", "AggregateMapping", "IngestTargetGroup"}},
	}
}

// CFPlanDuration is how long a plan takes: its critical path.
func CFPlanDuration(plan []CFResourceStep) time.Duration {
	done := map[string]time.Duration{}
	var finish func(id string, depth int) time.Duration
	byID := map[string]CFResourceStep{}
	for _, s := range plan {
		byID[s.LogicalID] = s
	}
	finish = func(id string, depth int) time.Duration {
		if d, ok := done[id]; ok {
			return d
		}
		s, ok := byID[id]
		if !ok || depth > len(plan) { // unknown or cyclic dependency: no wait
			return 0
		}
		start := time.Duration(0)
		for _, dep := range s.DependsOn {
			start = max(start, finish(dep, depth+1))
		}
		done[id] = start + s.Duration
		return done[id]
	}
	total := time.Duration(0)
	for _, s := range plan {
		total = max(total, finish(s.LogicalID, 0))
	}
	return total
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
	customOut   map[string]string // set by SetOutputs, shown when complete
	deleted     bool
	deletedTime time.Time

	// The template path (cfn_deploy.go): the parsed template and resolved
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
		return &CloudFormation{r: r, ActivationPlan: DefaultActivationPlan(), DeactivationPlan: DefaultDeactivationPlan(),
			DormantCreate: 2 * time.Minute, stacks: make(map[string]*cfStack), hooks: make(map[string][]func(context.Context, bool) error)}
	}).(*CloudFormation)
}

// cfValidation is CloudFormation's catch-all client error: the SDK has no
// typed error for code ValidationError.
func cfValidation(format string, args ...any) error {
	return apiErr("ValidationError", format, args...)
}

// OnActivate registers fn to run when an operation on the stack that sets
// Active completes (create or update, with the new value) or rolls back
// (with the restored value). The stack stays IN_PROGRESS while fn runs, on
// the world's clock; an error fails the operation and rolls it back.
func (c *CloudFormation) OnActivate(stackName string, fn func(ctx context.Context, active bool) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hooks[stackName] = append(c.hooks[stackName], fn)
}

// SetOutputs sets outputs the stack reports once its current operation is
// complete (added to the simulator's own, e.g. the ALB DNS name when
// active). Hooks use it to publish what they created.
func (c *CloudFormation) SetOutputs(stackName string, outputs map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The stacks are kept by stack ID: look the live one up by name.
	if s, err := c.find(stackName); err == nil {
		s.customOut = glueCopyMap(outputs)
	}
}

// LoadBalancerARN is the ARN of the ALB the stack has while active: the
// endpoint ID Global Accelerator routes to.
func (c *CloudFormation) LoadBalancerARN(stackName string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s", c.r.Name, stackName)
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/%s-ingest/%016x", c.r.Name, c.r.world.Account, cfShort(stackName), h.Sum64())
}

// LoadBalancerDNSName is the DNS name of the stack's ALB while active.
func (c *CloudFormation) LoadBalancerDNSName(stackName string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s", c.r.Name, stackName)
	return fmt.Sprintf("%s-ingest-%d.%s.elb.amazonaws.com", cfShort(stackName), h.Sum32(), c.r.Name)
}

// cfShort keeps an ALB name within its 32 characters.
func cfShort(name string) string {
	if len(name) > 20 {
		return name[:20]
	}
	return name
}

func cfActive(params map[string]string) bool { return strings.EqualFold(params["Active"], "true") }

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

// CreateStack creates a stack; it completes after DormantCreate, or the
// activation plan's duration when created with Active=true.
func (c *CloudFormation) CreateStack(ctx context.Context, in *cloudformation.CreateStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error) {
	const op = "CreateStack"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.StackName)
	if name == "" || len(name) > 128 {
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("1 validation error detected: Value at 'stackName' failed to satisfy constraint: Member must have length between 1 and 128"))
	}
	if aws.ToString(in.TemplateBody) == "" && aws.ToString(in.TemplateURL) == "" {
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Either Template URL or Template Body must be specified."))
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
		status: cftypes.StackStatusCreateInProgress, params: params, template: aws.ToString(in.TemplateBody) + aws.ToString(in.TemplateURL),
		created: now,
	}
	c.stacks[s.id] = s
	if body := aws.ToString(in.TemplateBody); cfnHasResources(body) {
		s.role = aws.ToString(in.RoleARN)
		c.mu.Unlock()
		if err := c.createFromTemplate(ctx, s, body, params); err != nil {
			c.mu.Lock()
			delete(c.stacks, s.id)
			c.mu.Unlock()
			return nil, opErr(cloudformation.ServiceID, op, err)
		}
		return &cloudformation.CreateStackOutput{StackId: aws.String(s.id)}, nil
	}
	d := c.DormantCreate
	if cfActive(params) {
		d += CFPlanDuration(c.ActivationPlan)
	}
	id := s.id
	c.mu.Unlock()
	c.r.world.Clock.AfterFunc(d, func() { c.complete(s, "CREATE") })
	return &cloudformation.CreateStackOutput{StackId: aws.String(id)}, nil
}

// UpdateStack updates a stack's parameters (and template). As in
// CloudFormation: a stack that is not in a stable state refuses the update;
// an update that changes nothing is a ValidationError "No updates are to be
// performed."; a parameter given neither a value nor UsePreviousValue is an
// error here (CloudFormation would silently reset it to the template's
// default, which the simulator cannot know — callers should say
// UsePreviousValue). The update takes the activation or deactivation plan's
// duration when Active changes, else a minute.
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
	switch s.status {
	case cftypes.StackStatusCreateComplete, cftypes.StackStatusUpdateComplete, cftypes.StackStatusUpdateRollbackComplete:
	default:
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Stack:%s is in %s state and can not be updated.", s.id, s.status))
	}
	template := aws.ToString(in.TemplateBody) + aws.ToString(in.TemplateURL)
	switch {
	case aws.ToBool(in.UsePreviousTemplate) && template != "":
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("You cannot specify both usePreviousTemplate and Template Body/Template URL."))
	case aws.ToBool(in.UsePreviousTemplate):
		template = s.template
	case template == "":
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Either Template URL or Template Body must be specified."))
	}
	params := map[string]string{}
	for _, p := range in.Parameters {
		key := aws.ToString(p.ParameterKey)
		switch {
		case aws.ToBool(p.UsePreviousValue) && p.ParameterValue != nil:
			c.mu.Unlock()
			return nil, opErr(cloudformation.ServiceID, op, cfValidation("Invalid input for parameter key %s. Cannot specify usePreviousValue as true and non empty value for a parameter", key))
		case aws.ToBool(p.UsePreviousValue):
			prev, ok := s.params[key]
			if !ok {
				c.mu.Unlock()
				return nil, opErr(cloudformation.ServiceID, op, cfValidation("Invalid input for parameter key %s. Cannot specify usePreviousValue as true for a parameter key not in the previous template", key))
			}
			params[key] = prev
		default:
			params[key] = aws.ToString(p.ParameterValue)
		}
	}
	if s.live != nil {
		// A template stack: parameters not given take the template's
		// defaults, as CloudFormation does.
		id := s.id
		if in.RoleARN != nil {
			s.role = aws.ToString(in.RoleARN)
		}
		if err := c.updateFromTemplate(ctx, s, template, params); err != nil {
			return nil, opErr(cloudformation.ServiceID, op, err)
		}
		return &cloudformation.UpdateStackOutput{StackId: aws.String(id)}, nil
	}
	var missing []string
	for k := range s.params {
		if _, ok := params[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Parameters: [%s] must have values", strings.Join(missing, ", ")))
	}
	if template == s.template && cfSameParams(params, s.params) {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("No updates are to be performed."))
	}
	d := time.Minute
	switch was, now := cfActive(s.params), cfActive(params); {
	case !was && now:
		d = CFPlanDuration(c.ActivationPlan)
	case was && !now:
		d = CFPlanDuration(c.DeactivationPlan)
	}
	s.prevParams, s.params, s.template = s.params, params, template
	s.status, s.reason = cftypes.StackStatusUpdateInProgress, "User Initiated"
	s.updated = c.r.world.Clock.Now()
	id := s.id
	c.mu.Unlock()
	c.r.world.Clock.AfterFunc(d, func() { c.complete(s, "UPDATE") })
	return &cloudformation.UpdateStackOutput{StackId: aws.String(id)}, nil
}

func cfSameParams(a, b map[string]string) bool { return sqsSameAttrs(a, b) }

// complete ends a create or update: it runs the hooks (the stack stays IN
// PROGRESS meanwhile) and settles the status, rolling back on a hook error.
func (c *CloudFormation) complete(s *cfStack, kind string) {
	ctx := context.Background()
	c.mu.Lock()
	hooks := append([]func(context.Context, bool) error(nil), c.hooks[s.name]...)
	active := cfActive(s.params)
	c.mu.Unlock()
	var failed error
	for _, h := range hooks {
		if err := h(ctx, active); err != nil {
			failed = err
			break
		}
	}
	c.mu.Lock()
	if failed == nil {
		if kind == "CREATE" {
			s.status = cftypes.StackStatusCreateComplete
		} else {
			s.status = cftypes.StackStatusUpdateComplete
		}
		s.reason, s.prevParams = "", nil
		c.setOutputsLocked(s)
		c.mu.Unlock()
		return
	}
	reason := fmt.Sprintf("Resource handler returned message: %q", failed.Error())
	if kind == "CREATE" {
		// A failed create rolls back to ROLLBACK_COMPLETE: the stack can only
		// be deleted.
		s.status, s.reason = cftypes.StackStatusRollbackComplete, reason
		s.outputs = nil
		c.mu.Unlock()
		return
	}
	s.status, s.reason = cftypes.StackStatusUpdateRollbackInProgress, reason
	s.params, s.prevParams = s.prevParams, nil
	restored := cfActive(s.params)
	d := time.Minute
	if restored != active {
		if restored {
			d = CFPlanDuration(c.ActivationPlan)
		} else {
			d = CFPlanDuration(c.DeactivationPlan)
		}
	}
	c.mu.Unlock()
	c.r.world.Clock.AfterFunc(d, func() {
		for _, h := range hooks {
			_ = h(ctx, restored) // best effort, as a rollback's cleanup is
		}
		c.mu.Lock()
		s.status = cftypes.StackStatusUpdateRollbackComplete
		c.setOutputsLocked(s)
		c.mu.Unlock()
	})
}

// setOutputsLocked computes the outputs of a stable stack; c.mu held.
func (c *CloudFormation) setOutputsLocked(s *cfStack) {
	s.outputs = map[string]string{"Active": "false"}
	if cfActive(s.params) {
		s.outputs["Active"] = "true"
		s.outputs["LoadBalancerArn"] = c.LoadBalancerARN(s.name)
		s.outputs["LoadBalancerDNSName"] = c.LoadBalancerDNSName(s.name)
	}
	for k, v := range s.customOut {
		s.outputs[k] = v
	}
}

// DeleteStack deletes a stack (DELETE_IN_PROGRESS, then gone after the
// deactivation plan's duration). Deleting a missing stack succeeds, as in
// CloudFormation.
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
	if s.live != nil {
		c.mu.Unlock()
		c.deleteTemplateStack(s)
		return &cloudformation.DeleteStackOutput{}, nil
	}
	wasActive := cfActive(s.params)
	hooks := append([]func(context.Context, bool) error(nil), c.hooks[s.name]...)
	c.mu.Unlock()
	c.r.world.Clock.AfterFunc(CFPlanDuration(c.DeactivationPlan), func() {
		if wasActive {
			for _, h := range hooks {
				_ = h(context.Background(), false)
			}
		}
		c.mu.Lock()
		s.status, s.deleted, s.deletedTime = cftypes.StackStatusDeleteComplete, true, c.r.world.Clock.Now()
		c.mu.Unlock()
	})
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
