package sim

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// Resource import (`cdk import`): an IMPORT change set brings resources
// that exist outside any stack under a stack's management without touching
// them. As CloudFormation documents it (docs/aws-facts.md "CloudFormation
// updates and imports"):
//
//   - the change set's template describes the whole stack: the stack's
//     resources as they are, plus the resources to import; the only change
//     an import may make is adding them (no other resource added, changed or
//     removed, no output added or changed);
//   - each resource to import must carry a DeletionPolicy attribute, and is
//     named by its type's identifier property and the identifier's value
//     (ResourcesToImport), which must agree with the template's property;
//   - the resource must exist and must not belong to another stack of the
//     region;
//   - CloudFormation does not check that the template's other properties
//     match the resource's configuration (drift detection is the way to
//     find out); the stack then records the template's properties, so a
//     later update compares templates, not the live resource.
//
// Only the resource types whose provider has an import identifier
// (cfnProvider.importID) can be imported; any other is refused as not
// modelled. CreateChangeSet refuses a malformed request (ValidationError);
// an import the checks above refuse is a change set in status FAILED with
// the reason, as the console shows it. Only IMPORT change sets are
// modelled: stacks are created and updated with CreateStack and
// UpdateStack.

// cfChangeSet is one change set of a stack.
type cfChangeSet struct {
	name, id string
	stack    *cfStack
	typ      cftypes.ChangeSetType
	status   cftypes.ChangeSetStatus
	exec     cftypes.ExecutionStatus
	reason   string
	created  time.Time
	desc     string

	body     string
	tmpl     *cfnTemplate
	values   map[string]string
	resolved map[string]any
	imports  []cftypes.ResourceToImport
	role     string
}

// changeSetNamePattern is CreateChangeSet's ChangeSetName constraint.
var changeSetNamePattern = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

// stableStatuses are the stack statuses an update, an import or a deletion
// may start from.
var stableStatuses = []cftypes.StackStatus{
	cftypes.StackStatusCreateComplete, cftypes.StackStatusUpdateComplete, cftypes.StackStatusUpdateRollbackComplete,
	cftypes.StackStatusImportComplete, cftypes.StackStatusImportRollbackComplete,
}

func stable(st cftypes.StackStatus) bool {
	for _, s := range stableStatuses {
		if s == st {
			return true
		}
	}
	return false
}

// givenParams resolves a request's parameters against the stack's current
// values (UsePreviousValue). c.mu must be held.
func givenParams(s *cfStack, in []cftypes.Parameter) (map[string]string, error) {
	params := map[string]string{}
	for _, p := range in {
		key := aws.ToString(p.ParameterKey)
		switch {
		case aws.ToBool(p.UsePreviousValue) && p.ParameterValue != nil:
			return nil, cfValidation("Invalid input for parameter key %s. Cannot specify usePreviousValue as true and non empty value for a parameter", key)
		case aws.ToBool(p.UsePreviousValue):
			prev, ok := s.params[key]
			if !ok {
				return nil, cfValidation("Invalid input for parameter key %s. Cannot specify usePreviousValue as true for a parameter key not in the previous template", key)
			}
			params[key] = prev
		default:
			params[key] = aws.ToString(p.ParameterValue)
		}
	}
	return params, nil
}

// CreateChangeSet creates an IMPORT change set of an existing stack (see
// above): the request is validated at once, the import's checks give the
// change set its status (CREATE_COMPLETE and AVAILABLE, or FAILED with the
// reason).
func (c *CloudFormation) CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	const op = "CreateChangeSet"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	fail := func(err error) (*cloudformation.CreateChangeSetOutput, error) {
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	name := aws.ToString(in.ChangeSetName)
	if len(name) == 0 || len(name) > 128 || !changeSetNamePattern.MatchString(name) {
		return fail(cfValidation("1 validation error detected: Value '%s' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", name))
	}
	typ := in.ChangeSetType
	if typ == "" {
		typ = cftypes.ChangeSetTypeUpdate
	}
	if typ != cftypes.ChangeSetTypeImport {
		return fail(cfValidation("ChangeSetType %s is %s: create and update stacks with CreateStack and UpdateStack", typ, errNotModelled))
	}
	if len(in.ResourcesToImport) == 0 {
		return fail(cfValidation("ResourcesToImport must be specified for a change set of type IMPORT"))
	}
	body := aws.ToString(in.TemplateBody)
	switch {
	case aws.ToBool(in.UsePreviousTemplate):
		return fail(cfValidation("An IMPORT change set needs a template that adds the resources to import: UsePreviousTemplate cannot be used"))
	case body == "" && aws.ToString(in.TemplateURL) == "":
		return fail(cfValidation("Either Template URL or Template Body must be specified."))
	case body == "":
		return fail(cfTemplateURL())
	}
	c.mu.Lock()
	s, err := c.find(aws.ToString(in.StackName))
	if err != nil {
		c.mu.Unlock()
		return fail(cfValidation("Stack [%s] does not exist: an IMPORT change set that creates its stack is %s", aws.ToString(in.StackName), errNotModelled))
	}
	if !stable(s.status) {
		c.mu.Unlock()
		return fail(cfValidation("Stack:%s is in %s state and can not be updated.", s.id, s.status))
	}
	for _, cs := range c.changeSets {
		if cs.stack == s && cs.name == name {
			c.mu.Unlock()
			return fail(&cftypes.AlreadyExistsException{Message: aws.String(fmt.Sprintf("ChangeSet [%s] already exists", name))})
		}
	}
	given, err := givenParams(s, in.Parameters)
	c.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	t, values, resolved, err := c.prepareTemplate(ctx, s, body, given)
	if err != nil {
		return fail(err)
	}
	seen := map[string]bool{}
	for _, imp := range in.ResourcesToImport {
		id := aws.ToString(imp.LogicalResourceId)
		if id == "" || aws.ToString(imp.ResourceType) == "" || len(imp.ResourceIdentifier) == 0 {
			return fail(cfValidation("Each resource to import needs a LogicalResourceId, a ResourceType and a ResourceIdentifier"))
		}
		if seen[id] {
			return fail(cfValidation("Resource %s is listed more than once in ResourcesToImport", id))
		}
		seen[id] = true
	}
	c.mu.Lock()
	c.seq++
	cs := &cfChangeSet{
		name: name, id: fmt.Sprintf("arn:aws:cloudformation:%s:%s:changeSet/%s/%016x", c.r.Name, c.r.world.Account, name, fnvString(fmt.Sprintf("%s/%s/%d", s.id, name, c.seq))),
		stack: s, typ: typ, created: c.r.world.Clock.Now(), desc: aws.ToString(in.Description),
		body: body, tmpl: t, values: values, resolved: resolved,
		imports: append([]cftypes.ResourceToImport(nil), in.ResourcesToImport...), role: aws.ToString(in.RoleARN),
	}
	if c.changeSets == nil {
		c.changeSets = map[string]*cfChangeSet{}
	}
	c.changeSets[cs.id] = cs
	stackID := s.id
	c.mu.Unlock()
	reason := c.checkImport(c.importContext(ctx, cs), cs)
	c.mu.Lock()
	if reason != "" {
		cs.status, cs.exec, cs.reason = cftypes.ChangeSetStatusFailed, cftypes.ExecutionStatusUnavailable, reason
	} else {
		cs.status, cs.exec = cftypes.ChangeSetStatusCreateComplete, cftypes.ExecutionStatusAvailable
	}
	c.mu.Unlock()
	return &cloudformation.CreateChangeSetOutput{Id: aws.String(cs.id), StackId: aws.String(stackID)}, nil
}

// importContext is the context the import's own calls run in: unmetered
// (the import's time is modelled apart) and as the change set's role, or
// the stack's, when there is one.
func (c *CloudFormation) importContext(ctx context.Context, cs *cfChangeSet) context.Context {
	ctx = Unmetered(context.WithoutCancel(ctx))
	c.mu.Lock()
	role := cs.role
	if role == "" {
		role = cs.stack.role
	}
	c.mu.Unlock()
	if role != "" {
		ctx = WithRoleSession(ctx, role, "AWSCloudFormation")
	}
	return ctx
}

// checkImport runs the import's checks and returns why the change set
// fails, or "" (every resource found and free, the template adding only
// them).
func (c *CloudFormation) checkImport(ctx context.Context, cs *cfChangeSet) string {
	t, s := cs.tmpl, cs.stack
	c.mu.Lock()
	cur := s.tmpl
	var live []string
	for id := range s.live {
		live = append(live, id)
	}
	c.mu.Unlock()
	sort.Strings(live)
	importing := map[string]cftypes.ResourceToImport{}
	for _, imp := range cs.imports {
		importing[aws.ToString(imp.LogicalResourceId)] = imp
	}
	// Only additions of the resources to import.
	var added, removed, modified []string
	for id := range t.Resources {
		if _, ok := importing[id]; ok {
			continue
		}
		if cur == nil || cur.Resources[id] == nil {
			added = append(added, id)
		}
	}
	if cur != nil {
		for id, old := range cur.Resources {
			nw := t.Resources[id]
			switch {
			case nw == nil:
				removed = append(removed, id)
			case !sameDecl(old, nw):
				modified = append(modified, id)
			}
		}
	}
	for _, l := range [][]string{added, removed, modified} {
		sort.Strings(l)
	}
	switch {
	case len(added) > 0:
		return fmt.Sprintf("As part of the import operation, you cannot add resources other than the resources to import: [%s]", strings.Join(added, ", "))
	case len(removed) > 0:
		return fmt.Sprintf("As part of the import operation, you cannot remove resources: [%s]", strings.Join(removed, ", "))
	case len(modified) > 0:
		return fmt.Sprintf("As part of the import operation, you cannot modify resources: [%s]", strings.Join(modified, ", "))
	case cur != nil && !reflect.DeepEqual(cur.Outputs, t.Outputs):
		return "As part of the import operation, you cannot modify or add [Outputs]"
	}
	var reasons []string
	for _, imp := range cs.imports {
		if why := c.checkOneImport(ctx, cs, imp, live); why != "" {
			reasons = append(reasons, why)
		}
	}
	return strings.Join(reasons, "; ")
}

// sameDecl reports whether two declarations of a resource are the same
// (its metadata aside, which CloudFormation does not deploy).
func sameDecl(a, b *cfnResourceDecl) bool {
	return a.Type == b.Type && a.Condition == b.Condition && a.DeletionPolicy == b.DeletionPolicy &&
		a.UpdateReplacePolicy == b.UpdateReplacePolicy && reflect.DeepEqual(a.DependsOn, b.DependsOn) &&
		reflect.DeepEqual(a.Properties, b.Properties)
}

// checkOneImport checks one resource to import; "" when it can be imported.
func (c *CloudFormation) checkOneImport(ctx context.Context, cs *cfChangeSet, imp cftypes.ResourceToImport, live []string) string {
	id, typ := aws.ToString(imp.LogicalResourceId), aws.ToString(imp.ResourceType)
	decl := cs.tmpl.Resources[id]
	if decl == nil {
		return fmt.Sprintf("Resource %s to import does not exist in the template", id)
	}
	if decl.Type != typ {
		return fmt.Sprintf("Resource %s to import is of type %s, the template declares %s", id, typ, decl.Type)
	}
	for _, l := range live {
		if l == id {
			return fmt.Sprintf("Resource %s already exists in the stack", id)
		}
	}
	if decl.DeletionPolicy == "" {
		return fmt.Sprintf("Resource %s to import must have a DeletionPolicy attribute in the template", id)
	}
	if decl.Condition != "" {
		return fmt.Sprintf("Resource %s to import has a Condition: the simulator imports only unconditional resources (%v)", id, errNotModelled)
	}
	p := cfnProviders[typ]
	if p == nil || p.importID == "" || p.adopt == nil {
		return fmt.Sprintf("Resource type %s does not support import in the simulator (%v)", typ, errNotModelled)
	}
	value, ok := imp.ResourceIdentifier[p.importID]
	if !ok || len(imp.ResourceIdentifier) != 1 {
		var keys []string
		for k := range imp.ResourceIdentifier {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Sprintf("Invalid resource identifier [%s] for resource %s of type %s: the identifier is %s", strings.Join(keys, ", "), id, typ, p.importID)
	}
	r, err := c.importLive(cs, id)
	if err != nil {
		return err.Error()
	}
	if got := cfnScalarString(r.props[p.importID]); got != "" && got != value {
		return fmt.Sprintf("Resource %s: the template's %s %q does not match the identifier to import, %q", id, p.importID, got, value)
	}
	op := &cfnOp{c: c, r: c.r, stack: cs.stack}
	if err := p.adopt(ctx, op, r, value); err != nil {
		return fmt.Sprintf("Resource %s (%s %s) cannot be imported: %v", id, p.importID, value, err)
	}
	if owner := c.owner(typ, r.physicalID, cs.stack); owner != "" {
		return fmt.Sprintf("Resource %s (%s %s) already belongs to stack %s", id, p.importID, value, owner)
	}
	return ""
}

// importLive resolves the template's declaration of resource id as the
// change set's template and parameters have it.
func (c *CloudFormation) importLive(cs *cfChangeSet, id string) (*cfnLive, error) {
	decl := cs.tmpl.Resources[id]
	c.mu.Lock()
	e := c.newEval(cs.stack, cs.tmpl, cs.resolved)
	resolved, err := e.resolve(decl.Properties)
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", id, err)
	}
	props, _ := resolved.(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	if err := cfnProviders[decl.Type].checkProperties(id, decl.Type, props); err != nil {
		return nil, err
	}
	return &cfnLive{id: id, typ: decl.Type, decl: decl, props: props}, nil
}

// owner returns the name of the live stack of this region (other than
// except) that has a resource of type typ with physical ID id, or "".
func (c *CloudFormation) owner(typ, id string, except *cfStack) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stacks {
		if s.deleted || s == except {
			continue
		}
		for _, l := range s.live {
			if l.typ == typ && l.physicalID == id {
				return s.name
			}
		}
	}
	return ""
}

// findChangeSet returns the change set by ARN, or by name of the stack;
// c.mu must be held.
func (c *CloudFormation) findChangeSet(name, stack string) (*cfChangeSet, error) {
	if cs, ok := c.changeSets[name]; ok {
		return cs, nil
	}
	if stack == "" {
		return nil, cfValidation("StackName must be specified if ChangeSetName is not specified as an ARN.")
	}
	for _, cs := range c.changeSets {
		if cs.name == name && (cs.stack.name == stack || cs.stack.id == stack) && !cs.stack.deleted {
			return cs, nil
		}
	}
	return nil, &cftypes.ChangeSetNotFoundException{Message: aws.String(fmt.Sprintf("ChangeSet [%s] does not exist", name))}
}

// DescribeChangeSet describes a change set: its status (and why it
// failed), whether it can be executed, and its changes (Import of each
// resource to import).
func (c *CloudFormation) DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	const op = "DescribeChangeSet"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err := c.findChangeSet(aws.ToString(in.ChangeSetName), aws.ToString(in.StackName))
	if err != nil {
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	created := cs.created
	out := &cloudformation.DescribeChangeSetOutput{
		ChangeSetId: aws.String(cs.id), ChangeSetName: aws.String(cs.name), StackId: aws.String(cs.stack.id), StackName: aws.String(cs.stack.name),
		Status: cs.status, ExecutionStatus: cs.exec, CreationTime: &created,
	}
	if cs.reason != "" {
		out.StatusReason = aws.String(cs.reason)
	}
	if cs.desc != "" {
		out.Description = aws.String(cs.desc)
	}
	for _, k := range sortedKeys(cs.values) {
		out.Parameters = append(out.Parameters, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(cs.values[k])})
	}
	for _, imp := range cs.imports {
		var phys string
		for _, v := range imp.ResourceIdentifier {
			phys = v
		}
		out.Changes = append(out.Changes, cftypes.Change{Type: cftypes.ChangeTypeResource, ResourceChange: &cftypes.ResourceChange{
			Action: cftypes.ChangeActionImport, LogicalResourceId: imp.LogicalResourceId, PhysicalResourceId: aws.String(phys), ResourceType: imp.ResourceType,
		}})
	}
	return out, nil
}

// DeleteChangeSet deletes a change set that is not being executed.
func (c *CloudFormation) DeleteChangeSet(ctx context.Context, in *cloudformation.DeleteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error) {
	const op = "DeleteChangeSet"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err := c.findChangeSet(aws.ToString(in.ChangeSetName), aws.ToString(in.StackName))
	if err != nil {
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	if cs.exec == cftypes.ExecutionStatusExecuteInProgress {
		return nil, opErr(cloudformation.ServiceID, op, &cftypes.InvalidChangeSetStatusException{Message: aws.String(fmt.Sprintf("ChangeSet [%s] cannot be deleted while it is being executed", cs.id))})
	}
	delete(c.changeSets, cs.id)
	return &cloudformation.DeleteChangeSetOutput{}, nil
}

// ExecuteChangeSet executes an AVAILABLE import change set: the stack is
// IMPORT_IN_PROGRESS while each resource is imported (found again and
// adopted, unchanged), then IMPORT_COMPLETE with the change set's template
// and parameters; a resource that cannot be imported any more rolls the
// import back (IMPORT_ROLLBACK_COMPLETE, the stack as it was). The stack's
// other change sets are deleted, as CloudFormation does once one is
// executed.
func (c *CloudFormation) ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	const op = "ExecuteChangeSet"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	cs, err := c.findChangeSet(aws.ToString(in.ChangeSetName), aws.ToString(in.StackName))
	if err != nil {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	s := cs.stack
	if cs.exec != cftypes.ExecutionStatusAvailable {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, &cftypes.InvalidChangeSetStatusException{
			Message: aws.String(fmt.Sprintf("ChangeSet [%s] cannot be executed in its current status of [%s]", cs.id, cs.status))})
	}
	if !stable(s.status) {
		c.mu.Unlock()
		return nil, opErr(cloudformation.ServiceID, op, cfValidation("Stack:%s is in %s state and can not be updated.", s.id, s.status))
	}
	for id, other := range c.changeSets {
		if other.stack == s && other != cs {
			delete(c.changeSets, id)
		}
	}
	cs.exec = cftypes.ExecutionStatusExecuteInProgress
	if cs.role != "" {
		s.role = cs.role
	}
	s.status, s.reason = cftypes.StackStatusImportInProgress, "User Initiated"
	s.updated = c.r.world.Clock.Now()
	c.mu.Unlock()
	ictx := c.importContext(ctx, cs)
	c.r.world.Clock.Go(func() { c.runImport(ictx, cs) })
	return &cloudformation.ExecuteChangeSetOutput{}, nil
}

// cfnImportTime is how long importing one resource takes: CloudFormation
// reads the resource and records it, creating nothing (our modelling
// choice, as for the resource times of cfn_resources.go).
const cfnImportTime = cfnQuick

// runImport imports the change set's resources on the clock.
func (c *CloudFormation) runImport(ctx context.Context, cs *cfChangeSet) {
	s := cs.stack
	var adopted []*cfnLive
	var failure error
	for _, imp := range cs.imports {
		_ = c.r.world.Clock.Sleep(ctx, cfnImportTime)
		id := aws.ToString(imp.LogicalResourceId)
		r, err := c.importLive(cs, id)
		if err == nil {
			p := cfnProviders[r.typ]
			op := &cfnOp{c: c, r: c.r, stack: s}
			err = p.adopt(ctx, op, r, imp.ResourceIdentifier[p.importID])
			if err == nil {
				if owner := c.owner(r.typ, r.physicalID, s); owner != "" {
					err = fmt.Errorf("already belongs to stack %s", owner)
				}
			}
		}
		if err != nil {
			failure = &cfnResourceError{LogicalID: id, Type: aws.ToString(imp.ResourceType), Err: err}
			break
		}
		adopted = append(adopted, r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if failure != nil {
		// Nothing was changed: the stack keeps its template, parameters and
		// resources; the imported resources stay outside it, as they were.
		s.status, s.reason = cftypes.StackStatusImportRollbackComplete, failure.Error()
		cs.exec = cftypes.ExecutionStatusExecuteFailed
		return
	}
	for _, r := range adopted {
		s.live[r.id] = r
	}
	s.template, s.params, s.tmpl, s.resolvedParams = cs.body, cs.values, cs.tmpl, cs.resolved
	s.status, s.reason = cftypes.StackStatusImportComplete, ""
	cs.exec = cftypes.ExecutionStatusExecuteComplete
	c.templateOutputsLocked(s)
}
