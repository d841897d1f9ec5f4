// Package iamaudit reads every identity-based IAM policy of a synthesized
// cloud assembly (inline and AWS::IAM::Policy documents attached to roles)
// and resolves the few intrinsics the policies use, so the policies can be
// checked without Node, the CDK or an AWS account.
//
// Resolution is conservative: Ref of a pseudo parameter becomes its value
// (the stack's region and account), Ref and Fn::GetAtt of an IAM role in the
// same template become that role's ARN, Ref and Fn::GetAtt of another
// resource become a placeholder naming it ({LogicalId.Attr}: one deploy-time
// value, never a pattern), and anything else (a parameter, an import, a
// function this package does not model) becomes "*", which every check
// treats as matching everything.
package iamaudit

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
)

// Role is an IAM role a template creates.
type Role struct {
	// Stack and Region are where it is defined (IAM is global; the region
	// is the stack's, and says which region's work the role does).
	Stack, Region string
	// LogicalID is its logical ID in the template.
	LogicalID string
	// ARN is its ARN; a role without a RoleName gets CloudFormation's
	// generated name, written <stack>-<LogicalId>-GENERATED.
	ARN string
	// TrustedServices are the service principals its trust policy allows.
	TrustedServices []string
	// ManagedPolicies are the ARNs of the managed policies attached to it.
	ManagedPolicies []string
}

// Grant is one Allow (or Deny) statement of a policy attached to a role.
type Grant struct {
	Role *Role
	// Policy is the logical ID of the AWS::IAM::Policy, or the role's
	// inline policy name.
	Policy string
	Effect string
	// Actions and Resources are resolved; NotAction/NotResource statements
	// are reported with NotAction/NotResource set.
	Actions, Resources     []string
	NotAction, NotResource bool
	// Conditions is the statement's Condition block, values resolved:
	// operator → key → values.
	Conditions map[string]map[string][]string
}

// Audit is the roles and grants of an assembly.
type Audit struct {
	Roles  []*Role
	Grants []Grant
}

type template struct {
	Resources map[string]struct {
		Type       string          `json:"Type"`
		Properties json.RawMessage `json:"Properties"`
	} `json:"Resources"`
}

// Read resolves every role and policy of a.
func Read(a *assembly.Assembly) (*Audit, error) {
	out := &Audit{}
	for _, s := range a.Stacks {
		var t template
		if err := json.Unmarshal(s.Template, &t); err != nil {
			return nil, fmt.Errorf("stack %s: %w", s.Name, err)
		}
		r := resolver{stack: s, resources: map[string]resourceInfo{}}
		for id, res := range t.Resources {
			var props map[string]any
			if len(res.Properties) > 0 {
				if err := json.Unmarshal(res.Properties, &props); err != nil {
					return nil, fmt.Errorf("stack %s resource %s: %w", s.Name, id, err)
				}
			}
			r.resources[id] = resourceInfo{typ: res.Type, props: props}
		}
		roles := map[string]*Role{}
		for _, id := range sortedKeys(r.resources) {
			res := r.resources[id]
			if res.typ != "AWS::IAM::Role" {
				continue
			}
			role := &Role{Stack: s.Name, Region: s.Region, LogicalID: id, ARN: r.roleARN(id)}
			role.TrustedServices = trustedServices(r, res.props["AssumeRolePolicyDocument"])
			for _, m := range asList(res.props["ManagedPolicyArns"]) {
				role.ManagedPolicies = append(role.ManagedPolicies, r.str(m))
			}
			roles[id] = role
			out.Roles = append(out.Roles, role)
			for _, p := range asList(res.props["Policies"]) {
				pm, _ := p.(map[string]any)
				name := r.str(pm["PolicyName"])
				gs, err := r.statements(role, name, pm["PolicyDocument"])
				if err != nil {
					return nil, err
				}
				out.Grants = append(out.Grants, gs...)
			}
		}
		for _, id := range sortedKeys(r.resources) {
			res := r.resources[id]
			if res.typ != "AWS::IAM::Policy" {
				continue
			}
			for _, ref := range asList(res.props["Roles"]) {
				m, _ := ref.(map[string]any)
				target, _ := m["Ref"].(string)
				role, ok := roles[target]
				if !ok {
					// A policy on a role this template does not create:
					// audited under a placeholder role, region of the stack.
					role = &Role{Stack: s.Name, Region: s.Region, LogicalID: "?" + r.str(ref), ARN: "*"}
				}
				gs, err := r.statements(role, id, res.props["PolicyDocument"])
				if err != nil {
					return nil, err
				}
				out.Grants = append(out.Grants, gs...)
			}
		}
	}
	return out, nil
}

type resourceInfo struct {
	typ   string
	props map[string]any
}

type resolver struct {
	stack     assembly.Stack
	resources map[string]resourceInfo
}

// roleARN is the ARN of the template's role id.
func (r resolver) roleARN(id string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", r.stack.Account, r.roleName(id))
}

func (r resolver) roleName(id string) string {
	if n, ok := r.resources[id].props["RoleName"]; ok {
		return r.str(n)
	}
	return r.stack.Name + "-" + id + "-GENERATED"
}

// str resolves v to a string ("*" where it cannot).
func (r resolver) str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if len(x) != 1 {
			return "*"
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				name, _ := arg.(string)
				return r.ref(name)
			case "Fn::GetAtt":
				parts := asList(arg)
				if len(parts) != 2 {
					return "*"
				}
				id, _ := parts[0].(string)
				attr, _ := parts[1].(string)
				res, ok := r.resources[id]
				switch {
				case !ok:
					return "*"
				case res.typ == "AWS::IAM::Role" && attr == "Arn":
					return r.roleARN(id)
				}
				return "{" + id + "." + attr + "}"
			case "Fn::Join":
				parts := asList(arg)
				if len(parts) != 2 {
					return "*"
				}
				sep, _ := parts[0].(string)
				var ss []string
				for _, p := range asList(parts[1]) {
					ss = append(ss, r.str(p))
				}
				return strings.Join(ss, sep)
			case "Fn::Sub":
				s, ok := arg.(string)
				if !ok {
					return "*"
				}
				for {
					i := strings.Index(s, "${")
					if i < 0 {
						return s
					}
					j := strings.Index(s[i:], "}")
					if j < 0 {
						return "*"
					}
					s = s[:i] + r.ref(s[i+2:i+j]) + s[i+j+1:]
				}
			}
		}
	}
	return "*"
}

// ref resolves a Ref: pseudo parameters to their values, the template's
// roles to their names, other resources to placeholders, parameters to "*".
func (r resolver) ref(name string) string {
	switch name {
	case "AWS::Region":
		return r.stack.Region
	case "AWS::AccountId":
		return r.stack.Account
	case "AWS::Partition":
		return "aws"
	case "AWS::URLSuffix":
		return "amazonaws.com"
	case "AWS::StackName":
		return r.stack.Name
	}
	res, ok := r.resources[name]
	switch {
	case !ok:
		return "*"
	case res.typ == "AWS::IAM::Role":
		return r.roleName(name)
	}
	return "{" + name + "}"
}

// statements resolves a policy document's statements. A statement under
// Fn::If counts with both branches (either may deploy).
func (r resolver) statements(role *Role, policy string, doc any) ([]Grant, error) {
	d, _ := doc.(map[string]any)
	var out []Grant
	for _, st := range flattenIf(asList(d["Statement"])) {
		m, ok := st.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("stack %s policy %s: statement %v is not an object", r.stack.Name, policy, st)
		}
		g := Grant{Role: role, Policy: policy, Effect: r.str(m["Effect"])}
		if a, ok := m["NotAction"]; ok {
			g.NotAction = true
			g.Actions = r.strs(a)
		} else {
			g.Actions = r.strs(m["Action"])
		}
		if res, ok := m["NotResource"]; ok {
			g.NotResource = true
			g.Resources = r.strs(res)
		} else {
			g.Resources = r.strs(m["Resource"])
		}
		if c, ok := m["Condition"].(map[string]any); ok {
			g.Conditions = map[string]map[string][]string{}
			for op, keys := range c {
				km, _ := keys.(map[string]any)
				g.Conditions[op] = map[string][]string{}
				for k, v := range km {
					g.Conditions[op][k] = r.strs(v)
				}
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// strs resolves a string or a list of them (branches of Fn::If included).
func (r resolver) strs(v any) []string {
	var out []string
	for _, x := range flattenIf(asList(v)) {
		out = append(out, r.str(x))
	}
	return out
}

// flattenIf replaces each {"Fn::If": [cond, a, b]} by a and b, dropping
// AWS::NoValue.
func flattenIf(items []any) []any {
	var out []any
	for _, it := range items {
		m, ok := it.(map[string]any)
		if f, isIf := m["Fn::If"]; ok && isIf && len(m) == 1 {
			args := asList(f)
			if len(args) == 3 {
				out = append(out, flattenIf(asList(args[1]))...)
				out = append(out, flattenIf(asList(args[2]))...)
				continue
			}
		}
		if ok && len(m) == 1 && m["Ref"] == "AWS::NoValue" {
			continue
		}
		out = append(out, it)
	}
	return out
}

// trustedServices lists the service principals a trust policy allows.
func trustedServices(r resolver, doc any) []string {
	d, _ := doc.(map[string]any)
	var out []string
	for _, st := range asList(d["Statement"]) {
		m, _ := st.(map[string]any)
		if r.str(m["Effect"]) != "Allow" {
			continue
		}
		p, _ := m["Principal"].(map[string]any)
		out = append(out, r.strs(p["Service"])...)
	}
	sort.Strings(out)
	return out
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
