package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// An installation can be deployed again from another cloud assembly of the
// same app, as an operator re-synthesizes it with another configuration and
// runs `cdk import` and `cdk deploy` (docs/dr.md "When the primary is lost
// for good"): Bootstrap a new region, Import resources made outside any
// stack into a stack of the new assembly, Redeploy every stack of it
// (updating the stacks that exist, creating the others), DeleteStack what
// the new app no longer has. The functions the new stacks create run their
// handlers as the first deployment's do (each wired once, when created),
// and after Redeploy the installation's Names, Regions, Engine and
// accelerator values are the new assembly's.

// ResourceMapping is `cdk import`'s resource mapping (--resource-mapping
// FILE, --resource-mapping-inline): for each logical ID of the app's
// template to import, the identifier properties of the existing resource,
// e.g. {"AggregatesDCEBC1D6": {"TableName": "pendulum-aggregates"}}.
type ResourceMapping map[string]map[string]string

// Import rehearses `cdk import STACK --resource-mapping FILE` of a stack of
// a's: CloudFormation resource import of the resources the mapping names
// into the deployed stack. As cdk import does, the change set's template is
// the stack's deployed template (GetTemplate) plus the declarations of the
// resources to import, taken from the app's template, with DeletionPolicy
// Retain when the app sets none; every other difference between the two is
// left for the next `cdk deploy`. The IMPORT change set is created with
// the stack's execution role and its parameters' previous values, then
// executed and awaited. A resource the app's template does not add, or an
// import CloudFormation refuses, is an error naming why.
func (l *Local) Import(ctx context.Context, a *assembly.Assembly, stack string, mapping ResourceMapping) error {
	s, ok := a.Stack(stack)
	if !ok {
		return fmt.Errorf("local: import: no stack %s in %s", stack, a.Dir)
	}
	if len(mapping) == 0 {
		return fmt.Errorf("local: import into %s: the resource mapping is empty", stack)
	}
	c := l.World.Region(s.Region).CloudFormation()
	cur, err := c.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String(stack)})
	if err != nil {
		return fmt.Errorf("cdk import %s: read the deployed template: %w", stack, err)
	}
	deployed, err := decodeTemplate([]byte(aws.ToString(cur.TemplateBody)))
	if err != nil {
		return fmt.Errorf("cdk import %s: the deployed template: %w", stack, err)
	}
	app, err := decodeTemplate(l.templateOf(s))
	if err != nil {
		return fmt.Errorf("cdk import %s: the app's template: %w", stack, err)
	}
	have, want := resourcesOf(deployed), resourcesOf(app)
	var toImport []cftypes.ResourceToImport
	for _, id := range sortedKeys(mapping) {
		decl, ok := want[id].(map[string]any)
		if !ok {
			return fmt.Errorf("cdk import %s: the app's template has no resource %s", stack, id)
		}
		if _, ok := have[id]; ok {
			return fmt.Errorf("cdk import %s: %s is deployed already: only resources the app adds can be imported", stack, id)
		}
		if _, ok := decl["DeletionPolicy"]; !ok {
			decl["DeletionPolicy"] = "Retain"
		}
		have[id] = decl
		typ, _ := decl["Type"].(string)
		toImport = append(toImport, cftypes.ResourceToImport{LogicalResourceId: aws.String(id), ResourceType: aws.String(typ), ResourceIdentifier: mapping[id]})
	}
	deployed["Resources"] = have
	body, err := json.Marshal(deployed)
	if err != nil {
		return err
	}
	st, err := l.describeStack(ctx, s.Region, stack)
	if err != nil {
		return err
	}
	var params []cftypes.Parameter
	for _, p := range st.Parameters {
		params = append(params, cftypes.Parameter{ParameterKey: p.ParameterKey, UsePreviousValue: aws.Bool(true)})
	}
	name := "cdk-import-" + strings.ToLower(topology.Camel(stack))
	in := &cloudformation.CreateChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name), ChangeSetType: cftypes.ChangeSetTypeImport,
		TemplateBody: aws.String(string(body)), ResourcesToImport: toImport, Parameters: params}
	if s.ExecutionRoleARN != "" {
		in.RoleARN = aws.String(s.ExecutionRoleARN)
	}
	if _, err := c.CreateChangeSet(ctx, in); err != nil {
		return fmt.Errorf("cdk import %s: %w", stack, err)
	}
	cs, err := c.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("cdk import %s: %w", stack, err)
	}
	if cs.Status != cftypes.ChangeSetStatusCreateComplete {
		return fmt.Errorf("cdk import %s: the change set is %s: %s", stack, cs.Status, aws.ToString(cs.StatusReason))
	}
	if _, err := c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name)}); err != nil {
		return fmt.Errorf("cdk import %s: %w", stack, err)
	}
	done, err := l.waitStack(ctx, s.Region, stack)
	if err != nil {
		return err
	}
	if done.StackStatus != cftypes.StackStatusImportComplete {
		return fmt.Errorf("cdk import %s: stack is %s: %s", stack, done.StackStatus, aws.ToString(done.StackStatusReason))
	}
	l.log.Info("resources imported", "stack", stack, "resources", len(toImport))
	return nil
}

// decodeTemplate decodes a JSON template keeping numbers as written.
func decodeTemplate(body []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var t map[string]any
	if err := d.Decode(&t); err != nil {
		return nil, err
	}
	return t, nil
}

func resourcesOf(t map[string]any) map[string]any {
	if r, ok := t["Resources"].(map[string]any); ok {
		return r
	}
	return map[string]any{}
}

// templateOf is the template deployed for s (EditTemplate applied).
func (l *Local) templateOf(s assembly.Stack) []byte {
	if l.opts.EditTemplate != nil {
		return l.opts.EditTemplate(s.Name, s.Template)
	}
	return s.Template
}

// describeStack describes a stack by name.
func (l *Local) describeStack(ctx context.Context, region, name string) (cftypes.Stack, error) {
	out, err := l.World.Region(region).CloudFormation().DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return cftypes.Stack{}, fmt.Errorf("describe %s: %w", name, err)
	}
	return out.Stacks[0], nil
}

// StackChange is what Redeploy did to one stack of the new assembly.
type StackChange struct {
	Stack, Region string
	// Action is "create", "update" or "none" (no changes).
	Action string
	// Seconds is how long the stack took, in virtual time.
	Seconds float64
}

// Redeploy rehearses `cdk deploy --all` of another cloud assembly of the
// app into this installation's world: every stack of a, in the manifest's
// order, is updated in place when it exists (the app's template, as the
// stack's execution role, the parameters Options.Parameters gives and the
// previous values of the others, as cdk deploy keeps them) or created in
// its region, each awaited. A stack the update would leave unchanged is
// left alone ("No updates are to be performed."). Every region of a must
// have been bootstrapped (Bootstrap). A stack that fails stops the
// redeployment with CloudFormation's reason; the stacks before it stay as
// deployed. Stacks of the installation that a lacks are not touched
// (DeleteStack is the operator's own step, as it is with cdk).
//
// When every stack is deployed the installation follows a: Names and
// Regions are read from it, Engine is the new backup region's, the
// accelerator and endpoint groups are read again, and the Options that
// disable rules apply to the new recovery stack.
func (l *Local) Redeploy(ctx context.Context, a *assembly.Assembly) ([]StackChange, error) {
	names, regions, err := a.Topology()
	if err != nil {
		return nil, err
	}
	if names != l.Names {
		return nil, fmt.Errorf("local: %s is another installation (prefix %q, account %s; this one %q, %s)", a.Dir, names.Prefix, names.Account, l.Names.Prefix, l.Names.Account)
	}
	for _, s := range a.Stacks {
		if err := l.bootstrapped(s.Region); err != nil {
			return nil, fmt.Errorf("local: deploy %s: %w", s.Name, err)
		}
	}
	if l.opts.HTTPS {
		var need []string
		for _, r := range []string{regions.Primary, regions.Backup} {
			if _, ok := l.Certificates[r]; !ok {
				need = append(need, r)
			}
		}
		if err := l.importCertificates(ctx, need...); err != nil {
			return nil, err
		}
	}
	var changes []StackChange
	for _, s := range a.Stacks {
		ch, err := l.deployOrUpdate(ctx, s)
		if err != nil {
			return changes, err
		}
		changes = append(changes, ch)
	}
	l.mu.Lock()
	l.Names, l.Regions = names, regions
	l.opts.Assembly = a
	l.mu.Unlock()
	e := l.engineFor(regions.Backup)
	l.mu.Lock()
	l.Engine = e
	l.mu.Unlock()
	if err := l.readDeployed(ctx); err != nil {
		return changes, err
	}
	if l.opts.NoAutoFailover {
		if err := l.disableRules(ctx, "failover"); err != nil {
			return changes, err
		}
	}
	if l.opts.NoCanary {
		if err := l.disableRules(ctx, "health"); err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// bootstrapped reports an error unless region is bootstrapped.
func (l *Local) bootstrapped(region string) error {
	for _, r := range l.World.Regions() {
		if r == region {
			if _, err := l.World.Region(r).CloudFormation().StackResources(bootstrapStack); err == nil {
				return nil
			}
		}
	}
	return fmt.Errorf("%s is not bootstrapped (cdk bootstrap aws://%s/%s)", region, l.Names.Account, region)
}

// deployOrUpdate updates stack s when it exists, else creates it.
func (l *Local) deployOrUpdate(ctx context.Context, s assembly.Stack) (StackChange, error) {
	ch := StackChange{Stack: s.Name, Region: s.Region}
	start := l.Clock.Now()
	body := l.templateOf(s)
	c := l.World.Region(s.Region).CloudFormation()
	cur, err := l.describeStack(ctx, s.Region, s.Name)
	if err != nil {
		var ae interface{ ErrorCode() string }
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" || !strings.Contains(err.Error(), "does not exist") {
			return ch, err
		}
		in := &cloudformation.CreateStackInput{StackName: aws.String(s.Name), TemplateBody: aws.String(string(body)), Parameters: l.stackParameters(s.Name)}
		if s.ExecutionRoleARN != "" {
			in.RoleARN = aws.String(s.ExecutionRoleARN)
		}
		if _, err := c.CreateStack(ctx, in); err != nil {
			return ch, fmt.Errorf("create %s: %w", s.Name, err)
		}
		st, err := l.waitStack(ctx, s.Region, s.Name)
		if err != nil {
			return ch, err
		}
		if st.StackStatus != cftypes.StackStatusCreateComplete {
			return ch, fmt.Errorf("stack %s is %s: %s", s.Name, st.StackStatus, aws.ToString(st.StackStatusReason))
		}
		ch.Action, ch.Seconds = "create", l.Clock.Now().Sub(start).Seconds()
		return ch, nil
	}
	params, err := l.updateParameters(s.Name, body, cur)
	if err != nil {
		return ch, err
	}
	in := &cloudformation.UpdateStackInput{StackName: aws.String(s.Name), TemplateBody: aws.String(string(body)), Parameters: params}
	if s.ExecutionRoleARN != "" {
		in.RoleARN = aws.String(s.ExecutionRoleARN)
	}
	if _, err := c.UpdateStack(ctx, in); err != nil {
		if strings.Contains(err.Error(), "No updates are to be performed.") {
			ch.Action = "none"
			return ch, nil
		}
		return ch, fmt.Errorf("update %s: %w", s.Name, err)
	}
	st, err := l.waitStack(ctx, s.Region, s.Name)
	if err != nil {
		return ch, err
	}
	if st.StackStatus != cftypes.StackStatusUpdateComplete {
		return ch, fmt.Errorf("stack %s is %s: %s", s.Name, st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	ch.Action, ch.Seconds = "update", l.Clock.Now().Sub(start).Seconds()
	l.log.Info("stack updated", "stack", s.Name, "region", s.Region, "took", l.Clock.Now().Sub(start))
	return ch, nil
}

// updateParameters are an update's parameters as cdk deploy gives them:
// those the deployment sets (stackParameters), and, for the new template's
// other parameters the stack has, their previous values; a parameter new to
// the stack takes its default.
func (l *Local) updateParameters(name string, body []byte, cur cftypes.Stack) ([]cftypes.Parameter, error) {
	t, err := decodeTemplate(body)
	if err != nil {
		return nil, fmt.Errorf("template of %s: %w", name, err)
	}
	declared, _ := t["Parameters"].(map[string]any)
	given := map[string]bool{}
	out := l.stackParameters(name)
	for _, p := range out {
		given[aws.ToString(p.ParameterKey)] = true
	}
	previous := map[string]bool{}
	for _, p := range cur.Parameters {
		previous[aws.ToString(p.ParameterKey)] = true
	}
	keys := make([]string, 0, len(declared))
	for k := range declared {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !given[k] && previous[k] {
			out = append(out, cftypes.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)})
		}
	}
	return out, nil
}

// DeleteStack rehearses `aws cloudformation delete-stack` of a stack the
// new app no longer has, and waits for it: its resources are deleted,
// those with DeletionPolicy Retain left in place, outside any stack. A
// stack in a region that is down cannot be deleted (the call fails as the
// unreachable endpoint does); a deletion CloudFormation cannot finish is an
// error with its reason (DELETE_FAILED).
func (l *Local) DeleteStack(ctx context.Context, region, name string) error {
	st, err := l.describeStack(ctx, region, name)
	if err != nil {
		return err
	}
	c := l.World.Region(region).CloudFormation()
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(name)}); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	done, err := l.waitStack(ctx, region, aws.ToString(st.StackId))
	if err != nil {
		return err
	}
	if done.StackStatus != cftypes.StackStatusDeleteComplete {
		return fmt.Errorf("stack %s is %s: %s", name, done.StackStatus, aws.ToString(done.StackStatusReason))
	}
	l.log.Info("stack deleted", "stack", name, "region", region)
	return nil
}

// TableLogicalID returns the logical ID of the AWS::DynamoDB::Table of
// stack s whose TableName is table: what `cdk import` offers to import
// with TableName=table.
func TableLogicalID(s assembly.Stack, table string) (string, error) {
	t, err := decodeTemplate(s.Template)
	if err != nil {
		return "", fmt.Errorf("template of %s: %w", s.Name, err)
	}
	res := resourcesOf(t)
	for _, id := range sortedKeys(res) {
		r, _ := res[id].(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		if r["Type"] == "AWS::DynamoDB::Table" && props["TableName"] == table {
			return id, nil
		}
	}
	return "", fmt.Errorf("stack %s declares no table %s", s.Name, table)
}
