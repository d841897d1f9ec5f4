package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// This file runs stack operations on templates with resources: every
// resource is created, updated or deleted through the provider of its type
// (cfn_resources*.go), in dependency order, each taking its modelled time on
// the world's clock, so an activation that creates an ALB takes as long as
// the ALB does. A resource type or property no provider models fails the
// operation with an error naming it.
//
// Stack operations, dependency order and rollback:
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacks.html
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html

// cfnLive is a resource a stack has created.
type cfnLive struct {
	id, typ string
	decl    *cfnResourceDecl
	// physicalID is the resource's physical ID; ref is what Ref returns
	// (usually the physical ID) and attrs what Fn::GetAtt returns.
	physicalID string
	ref        any
	attrs      map[string]any
	// props are the resolved properties it was created or updated with.
	props map[string]any
}

// cfnProvider creates, updates and deletes resources of one type.
type cfnProvider struct {
	// properties lists every property the type accepts. A property used
	// that is not listed fails the operation, naming it.
	properties []string
	// required lists the properties that must be set.
	required []string
	// create makes the resource and sets r.physicalID, r.ref and r.attrs.
	create func(ctx context.Context, op *cfnOp, r *cfnLive) error
	// update changes the resource in place; nil replaces it on any change.
	update func(ctx context.Context, op *cfnOp, old, r *cfnLive) error
	// replaceOn lists the properties whose change requires replacement even
	// when update is set.
	replaceOn []string
	// delete removes the resource.
	delete func(ctx context.Context, op *cfnOp, r *cfnLive) error
	// createTime, updateTime and deleteTime are how long each operation
	// takes (docs/aws-facts.md, "CloudFormation resource times").
	createTime, updateTime, deleteTime time.Duration
	// nameProperty is the property that gives the resource a custom name
	// (TableName, BucketName, …): a replacement that keeps the name fails,
	// as CloudFormation cannot replace a custom-named resource.
	nameProperty string
	// importID is the identifier property a resource import names the
	// resource by (cfn_import.go), and adopt reads the existing resource
	// with that identifier's value into r (physicalID, ref, attrs) without
	// changing it; empty and nil: the type cannot be imported.
	importID string
	adopt    func(ctx context.Context, op *cfnOp, r *cfnLive, id string) error
}

// cfnProviders holds the provider of every resource type the simulator
// deploys, registered by the cfn_resources*.go files.
var cfnProviders = map[string]*cfnProvider{}

func registerCFN(typ string, p *cfnProvider) {
	if _, dup := cfnProviders[typ]; dup {
		panic("sim: two CloudFormation providers for " + typ)
	}
	cfnProviders[typ] = p
}

// cfnOp is one stack operation in progress.
type cfnOp struct {
	c     *CloudFormation
	r     *Region
	stack *cfStack
	eval  *cfnEval
}

// world returns the world the stack's region belongs to.
func (op *cfnOp) world() *World { return op.r.world }

// arn builds an ARN in the stack's region and account.
func (op *cfnOp) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, op.r.Name, op.r.world.Account, resource)
}

// physicalName is the name CloudFormation generates for a resource whose
// name property is not set: stack name, logical ID and a random suffix,
// truncated to max characters.
func (op *cfnOp) physicalName(logicalID string, max int) string {
	h := fnvString(op.stack.id + "/" + logicalID)
	suffix := strings.ToUpper(fmt.Sprintf("%012x", h))[:12]
	name := fmt.Sprintf("%s-%s-%s", op.stack.name, logicalID, suffix)
	if len(name) > max {
		keep := max - len(suffix) - 1
		name = name[:keep] + "-" + suffix
	}
	return name
}

// cfnResourceError fails a resource operation the way CloudFormation
// reports it in the stack's status reason.
type cfnResourceError struct {
	LogicalID, Type string
	Err             error
}

func (e *cfnResourceError) Error() string {
	return fmt.Sprintf("Resource handler returned message: %q (LogicalID: %s, Type: %s)", e.Err.Error(), e.LogicalID, e.Type)
}

func (e *cfnResourceError) Unwrap() error { return e.Err }

// checkProperties fails on a property the provider does not model or a
// required one that is missing.
func (p *cfnProvider) checkProperties(id, typ string, props map[string]any) error {
	var unknown []string
	for k := range props {
		if !slices.Contains(p.properties, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("sim: resource %s (%s) uses properties the simulator does not model: %s", id, typ, strings.Join(unknown, ", "))
	}
	for _, k := range p.required {
		if _, ok := props[k]; !ok {
			return fmt.Errorf("Properties validation failed for resource %s with message: #: required key [%s] not found", id, k)
		}
	}
	return nil
}

// checkTemplate fails on a resource type no provider models, before
// anything is created.
func checkTemplateTypes(t *cfnTemplate) error {
	var unknown []string
	for id, r := range t.Resources {
		if _, ok := cfnProviders[r.Type]; !ok {
			unknown = append(unknown, fmt.Sprintf("%s (%s)", r.Type, id))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return cfValidation("Template format error: Unrecognized resource types for the simulator: [%s]", strings.Join(unknown, ", "))
	}
	return nil
}

// templateParams validates and completes a stack's parameters against the
// template: defaults, AllowedValues, unknown keys, and SSM parameter types
// resolved from the region's Parameter Store.
func (c *CloudFormation) templateParams(ctx context.Context, t *cfnTemplate, given map[string]string) (map[string]string, map[string]any, error) {
	var unknown, missing []string
	for k := range given {
		if _, ok := t.Parameters[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, nil, cfValidation("Parameters: [%s] do not exist in the template", strings.Join(unknown, ", "))
	}
	values := map[string]string{}
	resolved := map[string]any{}
	for name, p := range t.Parameters {
		v, ok := given[name]
		if !ok {
			if p.Default == nil {
				missing = append(missing, name)
				continue
			}
			v = *p.Default
		}
		if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, v) {
			return nil, nil, cfValidation("Parameter '%s' must be one of AllowedValues", name)
		}
		if p.AllowedPattern != nil && !p.AllowedPattern.MatchString(v) {
			if p.ConstraintDescription != "" {
				return nil, nil, cfValidation("Parameter '%s' failed to satisfy constraint: %s", name, p.ConstraintDescription)
			}
			return nil, nil, cfValidation("Parameter '%s' must match pattern %s", name, strings.TrimSuffix(strings.TrimPrefix(p.AllowedPattern.String(), "^(?:"), ")$"))
		}
		values[name] = v
		switch {
		case strings.HasPrefix(p.Type, "AWS::SSM::Parameter::Value<"):
			val, err := c.r.ssmParameterValue(ctx, v)
			if err != nil {
				return nil, nil, cfValidation("Unable to fetch parameters [%s] from parameter store for this account.", v)
			}
			resolved[name] = val
		case p.Type == "CommaDelimitedList" || strings.HasPrefix(p.Type, "List<"):
			var list []any
			for _, s := range strings.Split(v, ",") {
				list = append(list, strings.TrimSpace(s))
			}
			resolved[name] = list
		case p.Type == "String" || p.Type == "Number" || strings.HasPrefix(p.Type, "AWS::"):
			resolved[name] = v
		default:
			return nil, nil, cfValidation("Template format error: Unrecognized parameter type: %s", p.Type)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, nil, cfValidation("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	return values, resolved, nil
}

// newEval returns an evaluator of the stack's template with its parameters,
// answering references from the stack's live resources.
func (c *CloudFormation) newEval(s *cfStack, t *cfnTemplate, params map[string]any) *cfnEval {
	return &cfnEval{
		t: t, region: c.r.Name, account: c.r.world.Account, stackName: s.name, stackID: s.id, params: params,
		ref: func(id string) (any, bool) {
			l, ok := s.live[id]
			if !ok {
				return nil, false
			}
			return l.ref, true
		},
		getAtt: func(id, attr string) (any, bool) {
			l, ok := s.live[id]
			if !ok {
				return nil, false
			}
			v, ok := l.attrs[attr]
			return v, ok
		},
		azs: func(region string) []string { return []string{region + "a", region + "b", region + "c"} },
	}
}

// checkRules evaluates the template's rules' assertions.
func checkRules(e *cfnEval) error {
	names := make([]string, 0, len(e.t.Rules))
	for n := range e.t.Rules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := e.t.Rules[n]
		if r.RuleCondition != nil {
			ok, err := e.boolean(r.RuleCondition)
			if err != nil {
				return fmt.Errorf("rule %s: %w", n, err)
			}
			if !ok {
				continue
			}
		}
		for _, a := range r.Assertions {
			ok, err := e.boolean(a.Assert)
			if err != nil {
				return fmt.Errorf("rule %s: %w", n, err)
			}
			if !ok {
				return cfValidation("%s", a.AssertDescription)
			}
		}
	}
	return nil
}

// cfnStep is one resource operation of a stack operation's plan.
type cfnStep struct {
	id     string
	action string // "create", "update", "delete"
	at     time.Duration
}

// plan schedules the resources' operations: each starts when everything it
// depends on has finished and takes its provider's time. Deletions run
// after every creation and update, dependents first.
func plan(order []string, deps map[string][]string, action func(id string) (string, time.Duration), deletes []string, oldDeps map[string][]string, delTime func(id string) time.Duration) []cfnStep {
	finish := map[string]time.Duration{}
	var steps []cfnStep
	end := time.Duration(0)
	for _, id := range order {
		start := time.Duration(0)
		for _, d := range deps[id] {
			start = max(start, finish[d])
		}
		act, d := action(id)
		finish[id] = start + d
		end = max(end, finish[id])
		if act != "" {
			steps = append(steps, cfnStep{id: id, action: act, at: finish[id]})
		}
	}
	// Deletions: a resource goes once everything that depended on it is gone.
	dependents := map[string][]string{}
	for _, id := range deletes {
		for _, d := range oldDeps[id] {
			dependents[d] = append(dependents[d], id)
		}
	}
	gone := map[string]time.Duration{}
	var del func(id string, depth int) time.Duration
	del = func(id string, depth int) time.Duration {
		if v, ok := gone[id]; ok {
			return v
		}
		start := end
		if depth < len(deletes) {
			for _, dep := range dependents[id] {
				if slices.Contains(deletes, dep) {
					start = max(start, del(dep, depth+1))
				}
			}
		}
		gone[id] = start + delTime(id)
		return gone[id]
	}
	for _, id := range deletes {
		steps = append(steps, cfnStep{id: id, action: "delete", at: del(id, 0)})
	}
	sort.SliceStable(steps, func(i, j int) bool {
		if steps[i].at != steps[j].at {
			return steps[i].at < steps[j].at
		}
		return steps[i].id < steps[j].id
	})
	return steps
}

// runTemplate runs a create or update of s to template t with params on the
// world's clock. It returns at once; the stack's status tells the outcome.
// prev holds what to roll back to (nil for a create).
func (c *CloudFormation) runTemplate(s *cfStack, t *cfnTemplate, params map[string]any, kind string) {
	c.mu.Lock()
	role := s.role
	c.mu.Unlock()
	c.r.world.Clock.Go(func() {
		// CloudFormation's calls take the resources' modelled creation
		// times (cfn_resources*.go), not each call's latency on top.
		ctx := Unmetered(context.Background())
		if role != "" {
			ctx = WithRoleSession(ctx, role, "AWSCloudFormation")
		}
		err := c.apply(ctx, s, t, params)
		c.mu.Lock()
		if err == nil {
			if kind == "CREATE" {
				s.status = cftypes.StackStatusCreateComplete
			} else {
				s.status = cftypes.StackStatusUpdateComplete
			}
			s.reason = ""
			s.tmpl, s.resolvedParams = t, params
			s.prevTmpl, s.prevParams, s.prevResolved = nil, nil, nil
			c.templateOutputsLocked(s)
			c.mu.Unlock()
			return
		}
		s.reason = err.Error()
		if kind == "CREATE" {
			s.status = cftypes.StackStatusRollbackInProgress
			c.mu.Unlock()
			c.destroy(ctx, s, false)
			c.mu.Lock()
			s.status, s.outputs = cftypes.StackStatusRollbackComplete, nil
			c.mu.Unlock()
			return
		}
		s.status = cftypes.StackStatusUpdateRollbackInProgress
		prevT, prevP, prevV := s.prevTmpl, s.prevResolved, s.prevParams
		c.mu.Unlock()
		rbErr := c.apply(ctx, s, prevT, prevP)
		c.mu.Lock()
		s.params, s.tmpl, s.resolvedParams = prevV, prevT, prevP
		s.template = s.prevTemplate
		s.prevTmpl, s.prevParams, s.prevResolved = nil, nil, nil
		if rbErr != nil {
			s.status = cftypes.StackStatusUpdateRollbackFailed
			s.reason = rbErr.Error()
		} else {
			s.status = cftypes.StackStatusUpdateRollbackComplete
		}
		c.templateOutputsLocked(s)
		c.mu.Unlock()
	})
}

// apply brings the stack's live resources to template t with params:
// creates what is new, updates what changed, deletes what is no longer
// wanted, in dependency order and on the modelled timeline.
func (c *CloudFormation) apply(ctx context.Context, s *cfStack, t *cfnTemplate, params map[string]any) error {
	c.mu.Lock()
	e := c.newEval(s, t, params)
	c.mu.Unlock()
	want := map[string]bool{}
	for id, r := range t.Resources {
		if r.Condition == "" {
			want[id] = true
			continue
		}
		ok, err := e.condition(r.Condition)
		if err != nil {
			return err
		}
		want[id] = ok
	}
	order, deps, err := cfnOrder(t, func(id string) bool { return want[id] })
	if err != nil {
		return err
	}
	c.mu.Lock()
	var deletes []string
	oldDeps := map[string][]string{}
	for id, l := range s.live {
		if !want[id] || t.Resources[id].Type != l.typ {
			deletes = append(deletes, id)
		}
	}
	if s.tmpl != nil {
		_, oldDeps, _ = cfnOrder(s.tmpl, func(id string) bool { _, ok := s.live[id]; return ok })
	}
	live := make(map[string]bool, len(s.live))
	for id := range s.live {
		live[id] = true
	}
	c.mu.Unlock()
	sort.Strings(deletes)
	steps := plan(order, deps, func(id string) (string, time.Duration) {
		p := cfnProviders[t.Resources[id].Type]
		if live[id] && !slices.Contains(deletes, id) {
			return "update", p.updateTime
		}
		return "create", p.createTime
	}, deletes, oldDeps, func(id string) time.Duration {
		c.mu.Lock()
		defer c.mu.Unlock()
		if l, ok := s.live[id]; ok {
			return cfnProviders[l.typ].deleteTime
		}
		return 0
	})
	op := &cfnOp{c: c, r: c.r, stack: s, eval: e}
	start := c.r.world.Clock.Now()
	for _, st := range steps {
		if d := start.Add(st.at).Sub(c.r.world.Clock.Now()); d > 0 {
			if err := c.r.world.Clock.Sleep(ctx, d); err != nil {
				return err
			}
		}
		var err error
		switch st.action {
		case "delete":
			err = c.deleteResource(ctx, op, st.id)
		default:
			err = c.putResource(ctx, op, t, st.id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// putResource creates or updates one resource.
func (c *CloudFormation) putResource(ctx context.Context, op *cfnOp, t *cfnTemplate, id string) error {
	decl := t.Resources[id]
	p := cfnProviders[decl.Type]
	c.mu.Lock()
	resolved, err := op.eval.resolve(decl.Properties)
	old := op.stack.live[id]
	c.mu.Unlock()
	if err != nil {
		return &cfnResourceError{LogicalID: id, Type: decl.Type, Err: err}
	}
	props, _ := resolved.(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	if err := p.checkProperties(id, decl.Type, props); err != nil {
		return &cfnResourceError{LogicalID: id, Type: decl.Type, Err: err}
	}
	r := &cfnLive{id: id, typ: decl.Type, decl: decl, props: props}
	switch {
	case old == nil:
		err = p.create(ctx, op, r)
	case reflect.DeepEqual(old.props, props):
		// No change: the resource stays as it is.
		c.mu.Lock()
		old.decl = decl
		c.mu.Unlock()
		return nil
	case p.update != nil && !changedAny(old.props, props, p.replaceOn):
		r.physicalID, r.ref, r.attrs = old.physicalID, old.ref, old.attrs
		err = p.update(ctx, op, old, r)
	default:
		// Replacement: the new resource first, then the old one goes. A
		// custom name kept across a replacement would be the old
		// resource's, so CloudFormation refuses it.
		if np := p.nameProperty; np != "" {
			if name := cfnScalarString(props[np]); name != "" && name == cfnScalarString(old.props[np]) {
				return &cfnResourceError{LogicalID: id, Type: decl.Type, Err: fmt.Errorf(
					"CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename %s and update the stack again.", name)}
			}
		}
		if err = p.create(ctx, op, r); err == nil && old.physicalID != r.physicalID {
			if old.decl.UpdateReplacePolicy != "Retain" {
				err = p.delete(ctx, op, old)
			}
		}
	}
	if err != nil {
		return &cfnResourceError{LogicalID: id, Type: decl.Type, Err: err}
	}
	c.mu.Lock()
	op.stack.live[id] = r
	c.mu.Unlock()
	return nil
}

// changedAny reports whether any of keys differs between a and b.
func changedAny(a, b map[string]any, keys []string) bool {
	for _, k := range keys {
		if !reflect.DeepEqual(a[k], b[k]) {
			return true
		}
	}
	return false
}

// deleteResource deletes one live resource, unless its DeletionPolicy
// retains it.
func (c *CloudFormation) deleteResource(ctx context.Context, op *cfnOp, id string) error {
	c.mu.Lock()
	l := op.stack.live[id]
	c.mu.Unlock()
	if l == nil {
		return nil
	}
	if pol := l.decl.DeletionPolicy; pol != "Retain" && pol != "RetainExceptOnCreate" && pol != "Snapshot" {
		if err := cfnProviders[l.typ].delete(ctx, op, l); err != nil {
			return &cfnResourceError{LogicalID: id, Type: l.typ, Err: err}
		}
	}
	c.mu.Lock()
	delete(op.stack.live, id)
	c.mu.Unlock()
	return nil
}

// destroy deletes every live resource of s, dependents first. onDelete
// tells whether a rollback of a create (false: retained resources created by
// the failed create are deleted too, as RetainExceptOnCreate asks) or a
// stack deletion (true) is running. The first error is returned.
func (c *CloudFormation) destroy(ctx context.Context, s *cfStack, onDelete bool) error {
	c.mu.Lock()
	t := s.tmpl
	if t == nil {
		t = s.pendingTmpl
	}
	var ids []string
	for id := range s.live {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	sort.Strings(ids)
	var deps map[string][]string
	if t != nil {
		// Dependencies as the template declared them.
		_, deps, _ = cfnOrder(t, func(id string) bool { return slices.Contains(ids, id) })
	}
	steps := plan(nil, nil, nil, ids, deps, func(id string) time.Duration {
		c.mu.Lock()
		defer c.mu.Unlock()
		return cfnProviders[s.live[id].typ].deleteTime
	})
	op := &cfnOp{c: c, r: c.r, stack: s}
	start := c.r.world.Clock.Now()
	var first error
	for _, st := range steps {
		if d := start.Add(st.at).Sub(c.r.world.Clock.Now()); d > 0 {
			_ = c.r.world.Clock.Sleep(ctx, d)
		}
		c.mu.Lock()
		l := s.live[st.id]
		c.mu.Unlock()
		retain := l.decl.DeletionPolicy == "Retain" || l.decl.DeletionPolicy == "Snapshot" ||
			(onDelete && l.decl.DeletionPolicy == "RetainExceptOnCreate")
		if !retain {
			if err := cfnProviders[l.typ].delete(ctx, op, l); err != nil {
				if first == nil {
					first = &cfnResourceError{LogicalID: st.id, Type: l.typ, Err: err}
				}
				continue
			}
		}
		c.mu.Lock()
		delete(s.live, st.id)
		c.mu.Unlock()
	}
	return first
}

// templateOutputsLocked evaluates the template's outputs; c.mu held.
func (c *CloudFormation) templateOutputsLocked(s *cfStack) {
	s.outputs = map[string]string{}
	if s.tmpl == nil {
		return
	}
	e := c.newEval(s, s.tmpl, s.resolvedParams)
	for name, o := range s.tmpl.Outputs {
		if o.Condition != "" {
			if ok, err := e.condition(o.Condition); err != nil || !ok {
				continue
			}
		}
		v, err := e.resolve(o.Value)
		if err != nil {
			continue
		}
		s.outputs[name] = cfnScalarString(v)
	}
}

// prepareTemplate validates a create or update of s to body with the
// given parameters, as CloudFormation does before it touches anything: the
// template's anatomy and resource types, its parameters and its rules. c.mu
// is not held.
func (c *CloudFormation) prepareTemplate(ctx context.Context, s *cfStack, body string, given map[string]string) (*cfnTemplate, map[string]string, map[string]any, error) {
	t, err := parseCFNTemplate([]byte(body))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkTemplateTypes(t); err != nil {
		return nil, nil, nil, err
	}
	values, resolved, err := c.templateParams(ctx, t, given)
	if err != nil {
		return nil, nil, nil, err
	}
	c.mu.Lock()
	e := c.newEval(s, t, resolved)
	c.mu.Unlock()
	if err := checkRules(e); err != nil {
		return nil, nil, nil, err
	}
	return t, values, resolved, nil
}

// createFromTemplate starts a create of a template with resources; c.mu is
// not held. The stack is already registered in CREATE_IN_PROGRESS.
func (c *CloudFormation) createFromTemplate(ctx context.Context, s *cfStack, body string, given map[string]string) error {
	t, values, resolved, err := c.prepareTemplate(ctx, s, body, given)
	if err != nil {
		return err
	}
	c.mu.Lock()
	s.params, s.pendingTmpl, s.live = values, t, map[string]*cfnLive{}
	c.mu.Unlock()
	c.runTemplate(s, t, resolved, "CREATE")
	return nil
}

// updateFromTemplate validates an update of a template stack and starts it;
// c.mu is held on entry and released.
func (c *CloudFormation) updateFromTemplate(ctx context.Context, s *cfStack, body string, given map[string]string) error {
	c.mu.Unlock()
	t, values, resolved, err := c.prepareTemplate(ctx, s, body, given)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if body == s.template && cfSameParams(values, s.params) {
		c.mu.Unlock()
		return cfValidation("No updates are to be performed.")
	}
	s.prevTmpl, s.prevResolved, s.prevParams, s.prevTemplate = s.tmpl, s.resolvedParams, s.params, s.template
	s.params, s.template = values, body
	s.status, s.reason = cftypes.StackStatusUpdateInProgress, "User Initiated"
	s.updated = c.r.world.Clock.Now()
	c.mu.Unlock()
	c.runTemplate(s, t, resolved, "UPDATE")
	return nil
}

// deleteTemplateStack deletes a template stack's resources on the clock.
func (c *CloudFormation) deleteTemplateStack(s *cfStack) {
	c.mu.Lock()
	role := s.role
	c.mu.Unlock()
	c.r.world.Clock.Go(func() {
		ctx := Unmetered(context.Background())
		if role != "" {
			ctx = WithRoleSession(ctx, role, "AWSCloudFormation")
		}
		err := c.destroy(ctx, s, true)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			s.status, s.reason = cftypes.StackStatusDeleteFailed, err.Error()
			return
		}
		s.status, s.deleted, s.deletedTime = cftypes.StackStatusDeleteComplete, true, c.r.world.Clock.Now()
	})
}

// StackResource is a resource a template stack has created, for tests and
// the local runner.
type StackResource struct {
	LogicalID, Type, PhysicalID string
}

// StackResources returns the live resources of a template stack, sorted by
// logical ID.
func (c *CloudFormation) StackResources(stackName string) ([]StackResource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.find(stackName)
	if err != nil {
		return nil, err
	}
	out := make([]StackResource, 0, len(s.live))
	for id, l := range s.live {
		out = append(out, StackResource{LogicalID: id, Type: l.typ, PhysicalID: l.physicalID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out, nil
}

// DescribeStackResources describes a stack's resources, as CloudFormation's
// DescribeStackResources does (by stack name).
func (c *CloudFormation) DescribeStackResources(ctx context.Context, in *cloudformation.DescribeStackResourcesInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourcesOutput, error) {
	const op = "DescribeStackResources"
	if err := c.r.call(ctx, cloudformation.ServiceID, op, in); err != nil {
		return nil, err
	}
	list, err := c.StackResources(aws.ToString(in.StackName))
	if err != nil {
		return nil, opErr(cloudformation.ServiceID, op, err)
	}
	out := &cloudformation.DescribeStackResourcesOutput{}
	for _, r := range list {
		if in.LogicalResourceId != nil && aws.ToString(in.LogicalResourceId) != r.LogicalID {
			continue
		}
		out.StackResources = append(out.StackResources, cftypes.StackResource{LogicalResourceId: aws.String(r.LogicalID),
			PhysicalResourceId: aws.String(r.PhysicalID), ResourceType: aws.String(r.Type), ResourceStatus: cftypes.ResourceStatusCreateComplete,
			StackName: in.StackName})
	}
	return out, nil
}

// fnvString hashes s (FNV-1a, 64 bits) for generated names and IDs.
func fnvString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// errNotModelled is in the chain of a property value a provider cannot
// model (for example an encryption type the simulator does not know).
var errNotModelled = errors.New("not modelled by the simulator")
