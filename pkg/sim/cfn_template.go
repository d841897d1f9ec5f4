package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file reads CloudFormation templates as CloudFormation does: the
// template anatomy, parameters, rules, conditions and the intrinsic
// functions the synthesized CDK app uses. A template section, resource
// attribute or intrinsic function this file does not know is a template
// error naming it, never ignored: a rehearsal that silently skipped part of
// the installation would prove nothing about it.
//
// Template anatomy:
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html
// Intrinsic functions:
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html

// cfnTemplate is a parsed template.
type cfnTemplate struct {
	Description string
	Parameters  map[string]*cfnParameter
	Rules       map[string]*cfnRule
	Mappings    map[string]map[string]map[string]any
	Conditions  map[string]any
	Resources   map[string]*cfnResourceDecl
	Outputs     map[string]*cfnOutput
}

// cfnParameter is a template parameter.
type cfnParameter struct {
	Type          string
	Default       *string
	AllowedValues []string
	// AllowedPattern is the compiled AllowedPattern, anchored: a value
	// must match it whole. ConstraintDescription replaces the pattern in
	// the error a value that does not match gets.
	AllowedPattern        *regexp.Regexp
	ConstraintDescription string
	Description           string
	NoEcho                bool
}

// cfnRule is a template rule: assertions checked before any resource is
// touched.
type cfnRule struct {
	RuleCondition any
	Assertions    []struct {
		Assert            any
		AssertDescription string
	}
}

// cfnResourceDecl is a resource as the template declares it.
type cfnResourceDecl struct {
	Type                string
	Properties          map[string]any
	DependsOn           []string
	Condition           string
	DeletionPolicy      string
	UpdateReplacePolicy string
	Metadata            map[string]any
}

// cfnOutput is a template output.
type cfnOutput struct {
	Value       any
	Description string
	Condition   string
	ExportName  any
}

var (
	cfnTopLevel  = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Resources", "Outputs"}
	cfnResKeys   = []string{"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "Metadata"}
	cfnParamKeys = []string{"Type", "Default", "AllowedValues", "Description", "NoEcho", "AllowedPattern", "ConstraintDescription", "MinLength", "MaxLength", "MinValue", "MaxValue"}
	cfnOutKeys   = []string{"Value", "Description", "Condition", "Export"}
)

// cfnTemplateError is CloudFormation's "Template format error" (a
// ValidationError).
func cfnTemplateError(format string, args ...any) error {
	return cfValidation("Template format error: "+format, args...)
}

// parseCFNTemplate parses a JSON template. Every key it does not model is an
// error naming it.
func parseCFNTemplate(body []byte) (*cfnTemplate, error) {
	var top map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&top); err != nil {
		return nil, cfnTemplateError("JSON not well-formed: %v", err)
	}
	for k := range top {
		if k == "Transform" {
			return nil, cfnTemplateError("Transform is not supported by the simulator")
		}
		if !slices.Contains(cfnTopLevel, k) {
			return nil, cfnTemplateError("Invalid template property or properties [%s]", k)
		}
	}
	t := &cfnTemplate{Parameters: map[string]*cfnParameter{}, Rules: map[string]*cfnRule{}, Conditions: map[string]any{},
		Resources: map[string]*cfnResourceDecl{}, Outputs: map[string]*cfnOutput{}}
	if raw, ok := top["Description"]; ok {
		if err := json.Unmarshal(raw, &t.Description); err != nil {
			return nil, cfnTemplateError("Description must be a string")
		}
	}
	sections := map[string]*map[string]any{}
	var params, rules, res, outs, conds, maps map[string]any
	sections["Parameters"], sections["Rules"], sections["Resources"] = &params, &rules, &res
	sections["Outputs"], sections["Conditions"], sections["Mappings"] = &outs, &conds, &maps
	for name, dst := range sections {
		raw, ok := top[name]
		if !ok {
			continue
		}
		v, err := cfnDecode(raw)
		if err != nil {
			return nil, cfnTemplateError("%s: %v", name, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, cfnTemplateError("%s must be an object", name)
		}
		*dst = m
	}
	if len(res) == 0 {
		return nil, cfnTemplateError("At least one Resources member must be defined.")
	}
	for name, v := range params {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, cfnTemplateError("Parameter %s must be an object", name)
		}
		p := &cfnParameter{}
		for k, pv := range m {
			if !slices.Contains(cfnParamKeys, k) {
				return nil, cfnTemplateError("Invalid template parameter property '%s' of %s", k, name)
			}
			switch k {
			case "Type":
				p.Type, _ = pv.(string)
			case "Default":
				s := cfnScalarString(pv)
				p.Default = &s
			case "AllowedValues":
				list, _ := pv.([]any)
				for _, a := range list {
					p.AllowedValues = append(p.AllowedValues, cfnScalarString(a))
				}
			case "Description":
				p.Description, _ = pv.(string)
			case "NoEcho":
				p.NoEcho = cfnTruthy(pv)
			case "AllowedPattern":
				// CloudFormation matches the whole value (a Java
				// regular expression; the templates' patterns are in
				// the syntax both share).
				s, _ := pv.(string)
				re, err := regexp.Compile(`^(?:` + s + `)$`)
				if err != nil {
					return nil, cfnTemplateError("Parameter %s: AllowedPattern %q is not a valid regular expression", name, s)
				}
				p.AllowedPattern = re
			case "ConstraintDescription":
				p.ConstraintDescription, _ = pv.(string)
			default:
				return nil, cfnTemplateError("parameter property %s of %s is not modelled by the simulator", k, name)
			}
		}
		if p.Type == "" {
			return nil, cfnTemplateError("Parameter %s has no Type", name)
		}
		t.Parameters[name] = p
	}
	for name, v := range rules {
		raw, _ := json.Marshal(v)
		r := &cfnRule{}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		if err := dec.Decode(r); err != nil {
			return nil, cfnTemplateError("Rule %s: %v", name, err)
		}
		t.Rules[name] = r
	}
	t.Conditions = conds
	if maps != nil {
		t.Mappings = map[string]map[string]map[string]any{}
		for name, v := range maps {
			m1, ok := v.(map[string]any)
			if !ok {
				return nil, cfnTemplateError("Mapping %s must be an object", name)
			}
			t.Mappings[name] = map[string]map[string]any{}
			for k1, v1 := range m1 {
				m2, ok := v1.(map[string]any)
				if !ok {
					return nil, cfnTemplateError("Mapping %s.%s must be an object", name, k1)
				}
				t.Mappings[name][k1] = m2
			}
		}
	}
	for id, v := range res {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, cfnTemplateError("Resource %s must be an object", id)
		}
		r := &cfnResourceDecl{}
		for k, rv := range m {
			if !slices.Contains(cfnResKeys, k) {
				return nil, cfnTemplateError("Invalid resource attribute %s in resource %s", k, id)
			}
			switch k {
			case "Type":
				r.Type, _ = rv.(string)
			case "Properties":
				props, ok := rv.(map[string]any)
				if !ok {
					return nil, cfnTemplateError("Properties of %s must be an object", id)
				}
				r.Properties = props
			case "DependsOn":
				switch d := rv.(type) {
				case string:
					r.DependsOn = []string{d}
				case []any:
					for _, e := range d {
						s, ok := e.(string)
						if !ok {
							return nil, cfnTemplateError("DependsOn of %s must list logical IDs", id)
						}
						r.DependsOn = append(r.DependsOn, s)
					}
				default:
					return nil, cfnTemplateError("DependsOn of %s must be a string or a list", id)
				}
			case "Condition":
				r.Condition, _ = rv.(string)
			case "DeletionPolicy":
				r.DeletionPolicy, _ = rv.(string)
			case "UpdateReplacePolicy":
				r.UpdateReplacePolicy, _ = rv.(string)
			case "Metadata":
				r.Metadata, _ = rv.(map[string]any)
			}
		}
		if r.Type == "" {
			return nil, cfnTemplateError("Resource %s has no Type", id)
		}
		switch r.DeletionPolicy {
		case "", "Delete", "Retain", "RetainExceptOnCreate", "Snapshot":
		default:
			return nil, cfnTemplateError("Unrecognized DeletionPolicy %s for resource %s", r.DeletionPolicy, id)
		}
		if r.Condition != "" {
			if _, ok := conds[r.Condition]; !ok {
				return nil, cfnTemplateError("Unresolved condition dependency %s in resource %s", r.Condition, id)
			}
		}
		for _, dep := range r.DependsOn {
			if _, ok := res[dep]; !ok {
				return nil, cfnTemplateError("Unresolved resource dependencies [%s] in the Resources block of the template", dep)
			}
		}
		t.Resources[id] = r
	}
	for name, v := range outs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, cfnTemplateError("Output %s must be an object", name)
		}
		o := &cfnOutput{}
		for k, ov := range m {
			if !slices.Contains(cfnOutKeys, k) {
				return nil, cfnTemplateError("Invalid output property %s in %s", k, name)
			}
			switch k {
			case "Value":
				o.Value = ov
			case "Description":
				o.Description, _ = ov.(string)
			case "Condition":
				o.Condition, _ = ov.(string)
			case "Export":
				em, _ := ov.(map[string]any)
				o.ExportName = em["Name"]
			}
		}
		t.Outputs[name] = o
	}
	return t, nil
}

// cfnDecode decodes JSON keeping numbers exact (json.Number).
func cfnDecode(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// cfnScalarString renders a scalar as CloudFormation passes it to a string
// context: numbers and booleans as their JSON text.
func cfnScalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// cfnTruthy reads a boolean property given as a JSON boolean or the strings
// "true"/"false", as resource providers accept both.
func cfnTruthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// cfnNoValue is AWS::NoValue: the property or list element is removed.
type cfnNoValue struct{}

// cfnEval evaluates a template's intrinsic functions for one stack
// operation.
type cfnEval struct {
	t                  *cfnTemplate
	region, account    string
	stackName, stackID string
	params             map[string]any // string, or []string for list types
	conditions         map[string]bool
	// ref and getAtt answer references to resources; they report false for
	// a resource that is not (yet) there.
	ref    func(logicalID string) (any, bool)
	getAtt func(logicalID, attr string) (any, bool)
	azs    func(region string) []string
	// evaluating guards against cyclic conditions.
	evaluating map[string]bool
}

var cfnPseudo = map[string]bool{"AWS::Region": true, "AWS::AccountId": true, "AWS::Partition": true, "AWS::URLSuffix": true,
	"AWS::StackName": true, "AWS::StackId": true, "AWS::NoValue": true, "AWS::NotificationARNs": true}

// pseudo returns a pseudo parameter's value.
func (e *cfnEval) pseudo(name string) (any, bool) {
	switch name {
	case "AWS::Region":
		return e.region, true
	case "AWS::AccountId":
		return e.account, true
	case "AWS::Partition":
		return "aws", true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::StackName":
		return e.stackName, true
	case "AWS::StackId":
		return e.stackID, true
	case "AWS::NoValue":
		return cfnNoValue{}, true
	case "AWS::NotificationARNs":
		return []any{}, true
	}
	return nil, false
}

// condition evaluates a named condition.
func (e *cfnEval) condition(name string) (bool, error) {
	if v, ok := e.conditions[name]; ok {
		return v, nil
	}
	expr, ok := e.t.Conditions[name]
	if !ok {
		return false, cfnTemplateError("Unresolved condition %s", name)
	}
	if e.evaluating == nil {
		e.evaluating = map[string]bool{}
	}
	if e.evaluating[name] {
		return false, cfnTemplateError("Circular condition dependency on %s", name)
	}
	e.evaluating[name] = true
	defer delete(e.evaluating, name)
	v, err := e.boolean(expr)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	if e.conditions == nil {
		e.conditions = map[string]bool{}
	}
	e.conditions[name] = v
	return v, nil
}

// boolean evaluates a condition function (or a rule assertion).
func (e *cfnEval) boolean(expr any) (bool, error) {
	m, ok := expr.(map[string]any)
	if ok && len(m) == 1 {
		for fn, arg := range m {
			switch fn {
			case "Condition":
				name, _ := arg.(string)
				return e.condition(name)
			case "Fn::Equals":
				args, ok := arg.([]any)
				if !ok || len(args) != 2 {
					return false, cfnTemplateError("Fn::Equals takes a list of two values")
				}
				a, err := e.resolve(args[0])
				if err != nil {
					return false, err
				}
				b, err := e.resolve(args[1])
				if err != nil {
					return false, err
				}
				return cfnScalarString(a) == cfnScalarString(b), nil
			case "Fn::Not":
				args, ok := arg.([]any)
				if !ok || len(args) != 1 {
					return false, cfnTemplateError("Fn::Not takes a list of one condition")
				}
				v, err := e.boolean(args[0])
				return !v, err
			case "Fn::And", "Fn::Or":
				args, ok := arg.([]any)
				if !ok || len(args) < 2 || len(args) > 10 {
					return false, cfnTemplateError("%s takes a list of 2 to 10 conditions", fn)
				}
				and := fn == "Fn::And"
				for _, a := range args {
					v, err := e.boolean(a)
					if err != nil {
						return false, err
					}
					if and && !v {
						return false, nil
					}
					if !and && v {
						return true, nil
					}
				}
				return and, nil
			case "Fn::Contains":
				// A rules function: is the value in the list?
				args, ok := arg.([]any)
				if !ok || len(args) != 2 {
					return false, cfnTemplateError("Fn::Contains takes a list and a value")
				}
				list, err := e.resolve(args[0])
				if err != nil {
					return false, err
				}
				v, err := e.resolve(args[1])
				if err != nil {
					return false, err
				}
				items, _ := list.([]any)
				for _, it := range items {
					if cfnScalarString(it) == cfnScalarString(v) {
						return true, nil
					}
				}
				return false, nil
			}
		}
	}
	v, err := e.resolve(expr)
	if err != nil {
		return false, err
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if x == "true" || x == "false" {
			return x == "true", nil
		}
	}
	return false, cfnTemplateError("not a condition: %s", cfnScalarString(expr))
}

// resolve evaluates every intrinsic function in v. AWS::NoValue removes
// object members and list elements.
func (e *cfnEval) resolve(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") || k == "Condition" {
					return e.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, mv := range x {
			r, err := e.resolve(mv)
			if err != nil {
				return nil, err
			}
			if _, no := r.(cfnNoValue); no {
				continue
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, lv := range x {
			r, err := e.resolve(lv)
			if err != nil {
				return nil, err
			}
			if _, no := r.(cfnNoValue); no {
				continue
			}
			out = append(out, r)
		}
		return out, nil
	}
	return v, nil
}

func (e *cfnEval) resolveString(v any, fn string) (string, error) {
	r, err := e.resolve(v)
	if err != nil {
		return "", err
	}
	switch r.(type) {
	case string, json.Number, bool:
		return cfnScalarString(r), nil
	}
	return "", cfnTemplateError("%s needs a string, got %s", fn, cfnScalarString(r))
}

func (e *cfnEval) resolveList(v any, fn string) ([]any, error) {
	r, err := e.resolve(v)
	if err != nil {
		return nil, err
	}
	switch l := r.(type) {
	case []any:
		return l, nil
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, nil
	}
	return nil, cfnTemplateError("%s needs a list, got %s", fn, cfnScalarString(r))
}

// intrinsic evaluates one intrinsic function.
func (e *cfnEval) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, cfnTemplateError("Ref takes a logical name")
		}
		return e.refValue(name)
	case "Condition":
		return e.boolean(map[string]any{"Condition": arg})
	case "Fn::GetAtt":
		var id, attr string
		switch a := arg.(type) {
		case []any:
			if len(a) != 2 {
				return nil, cfnTemplateError("Fn::GetAtt takes [logicalId, attribute]")
			}
			id, _ = a[0].(string)
			s, err := e.resolveString(a[1], fn)
			if err != nil {
				return nil, err
			}
			attr = s
		case string:
			id, attr, _ = strings.Cut(a, ".")
		default:
			return nil, cfnTemplateError("Fn::GetAtt takes [logicalId, attribute]")
		}
		if _, ok := e.t.Resources[id]; !ok {
			return nil, cfnTemplateError("Unresolved resource dependencies [%s] in Fn::GetAtt", id)
		}
		v, ok := e.getAtt(id, attr)
		if !ok {
			return nil, cfValidation("Template error: resource %s does not support attribute type %s in Fn::GetAtt, or it does not exist", id, attr)
		}
		return v, nil
	case "Fn::Join":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, cfnTemplateError("Fn::Join takes [delimiter, list]")
		}
		delim, ok := a[0].(string)
		if !ok {
			return nil, cfnTemplateError("Fn::Join's delimiter must be a string")
		}
		list, err := e.resolveList(a[1], fn)
		if err != nil {
			return nil, err
		}
		parts := make([]string, 0, len(list))
		for _, it := range list {
			switch it.(type) {
			case map[string]any, []any:
				return nil, cfnTemplateError("Fn::Join joins strings only")
			}
			parts = append(parts, cfnScalarString(it))
		}
		return strings.Join(parts, delim), nil
	case "Fn::Sub":
		var tmpl string
		vars := map[string]any{}
		switch a := arg.(type) {
		case string:
			tmpl = a
		case []any:
			if len(a) != 2 {
				return nil, cfnTemplateError("Fn::Sub takes a string or [string, variables]")
			}
			tmpl, _ = a[0].(string)
			m, ok := a[1].(map[string]any)
			if !ok {
				return nil, cfnTemplateError("Fn::Sub's variables must be an object")
			}
			for k, v := range m {
				r, err := e.resolve(v)
				if err != nil {
					return nil, err
				}
				vars[k] = r
			}
		default:
			return nil, cfnTemplateError("Fn::Sub takes a string or [string, variables]")
		}
		return e.sub(tmpl, vars)
	case "Fn::Select":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, cfnTemplateError("Fn::Select takes [index, list]")
		}
		is, err := e.resolveString(a[0], fn)
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(is)
		if err != nil {
			return nil, cfnTemplateError("Fn::Select's index must be an integer, got %q", is)
		}
		list, err := e.resolveList(a[1], fn)
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= len(list) {
			return nil, cfnTemplateError("Fn::Select cannot select nonexistent value at index %d", i)
		}
		return list[i], nil
	case "Fn::Split":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, cfnTemplateError("Fn::Split takes [delimiter, string]")
		}
		delim, _ := a[0].(string)
		s, err := e.resolveString(a[1], fn)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		a, ok := arg.([]any)
		if !ok || len(a) != 3 {
			return nil, cfnTemplateError("Fn::If takes [condition, valueIfTrue, valueIfFalse]")
		}
		name, _ := a[0].(string)
		c, err := e.condition(name)
		if err != nil {
			return nil, err
		}
		if c {
			return e.resolve(a[1])
		}
		return e.resolve(a[2])
	case "Fn::GetAZs":
		region, err := e.resolveString(arg, fn)
		if err != nil {
			return nil, err
		}
		if region == "" {
			region = e.region
		}
		var out []any
		for _, az := range e.azs(region) {
			out = append(out, az)
		}
		return out, nil
	case "Fn::FindInMap":
		a, ok := arg.([]any)
		if !ok || len(a) != 3 {
			return nil, cfnTemplateError("Fn::FindInMap takes [map, topKey, secondKey]")
		}
		var keys [3]string
		for i := range a {
			s, err := e.resolveString(a[i], fn)
			if err != nil {
				return nil, err
			}
			keys[i] = s
		}
		v, ok := e.t.Mappings[keys[0]][keys[1]][keys[2]]
		if !ok {
			return nil, cfnTemplateError("Unable to get mapping for %s::%s::%s", keys[0], keys[1], keys[2])
		}
		return e.resolve(v)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::Contains":
		return e.boolean(map[string]any{fn: arg})
	}
	return nil, cfnTemplateError("intrinsic function %s is not supported by the simulator", fn)
}

// refValue answers Ref: a parameter, a pseudo parameter or a resource.
func (e *cfnEval) refValue(name string) (any, error) {
	if v, ok := e.params[name]; ok {
		return v, nil
	}
	if cfnPseudo[name] {
		v, _ := e.pseudo(name)
		return v, nil
	}
	if _, ok := e.t.Resources[name]; !ok {
		return nil, cfnTemplateError("Unresolved resource dependencies [%s] in the Resources block of the template", name)
	}
	v, ok := e.ref(name)
	if !ok {
		return nil, cfValidation("Template error: resource %s is not created in this stack (its condition is false) and cannot be referenced", name)
	}
	return v, nil
}

var cfnSubVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub is Fn::Sub: ${Name} and ${Resource.Attribute} replaced, ${!Literal}
// kept as ${Literal}.
func (e *cfnEval) sub(tmpl string, vars map[string]any) (string, error) {
	var err error
	out := cfnSubVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		if err != nil {
			return m
		}
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return cfnScalarString(v)
		}
		var v any
		if id, attr, ok := strings.Cut(name, "."); ok && !cfnPseudo[name] {
			v, err = e.intrinsic("Fn::GetAtt", []any{id, attr})
		} else {
			v, err = e.refValue(name)
		}
		if err != nil {
			return m
		}
		return cfnScalarString(v)
	})
	return out, err
}

// cfnRefs returns the logical IDs of the resources v refers to (Ref,
// Fn::GetAtt, Fn::Sub), both branches of every Fn::If included, as
// CloudFormation derives a resource's dependencies.
func cfnRefs(t *cfnTemplate, v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, a := range x {
			switch k {
			case "Ref":
				if s, ok := a.(string); ok {
					if _, isRes := t.Resources[s]; isRes {
						into[s] = true
					}
				}
				continue
			case "Fn::GetAtt":
				switch g := a.(type) {
				case []any:
					if len(g) > 0 {
						if s, ok := g[0].(string); ok {
							into[s] = true
						}
					}
				case string:
					id, _, _ := strings.Cut(g, ".")
					into[id] = true
				}
				continue
			case "Fn::Sub":
				var tmpl string
				switch s := a.(type) {
				case string:
					tmpl = s
				case []any:
					if len(s) > 0 {
						tmpl, _ = s[0].(string)
					}
					if len(s) > 1 {
						cfnRefs(t, s[1], into)
					}
				}
				for _, m := range cfnSubVar.FindAllStringSubmatch(tmpl, -1) {
					name := m[1]
					if strings.HasPrefix(name, "!") {
						continue
					}
					id, _, _ := strings.Cut(name, ".")
					if _, isRes := t.Resources[id]; isRes {
						into[id] = true
					}
				}
				continue
			}
			cfnRefs(t, a, into)
		}
	case []any:
		for _, e := range x {
			cfnRefs(t, e, into)
		}
	}
}

// cfnOrder returns the template's resources in an order where each comes
// after every resource it depends on, or an error naming a cycle.
func cfnOrder(t *cfnTemplate, include func(id string) bool) ([]string, map[string][]string, error) {
	deps := map[string][]string{}
	ids := make([]string, 0, len(t.Resources))
	for id, r := range t.Resources {
		if !include(id) {
			continue
		}
		ids = append(ids, id)
		set := map[string]bool{}
		cfnRefs(t, r.Properties, set)
		for _, d := range r.DependsOn {
			set[d] = true
		}
		delete(set, id)
		var list []string
		for d := range set {
			if include(d) {
				list = append(list, d)
			}
		}
		sort.Strings(list)
		deps[id] = list
	}
	sort.Strings(ids)
	state := map[string]int{} // 1 visiting, 2 done
	var order []string
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		switch state[id] {
		case 1:
			return cfnTemplateError("Circular dependency between resources: [%s]", strings.Join(append(path, id), ", "))
		case 2:
			return nil
		}
		state[id] = 1
		for _, d := range deps[id] {
			if err := visit(d, append(path, id)); err != nil {
				return err
			}
		}
		state[id] = 2
		order = append(order, id)
		return nil
	}
	for _, id := range ids {
		if err := visit(id, nil); err != nil {
			return nil, nil, err
		}
	}
	return order, deps, nil
}

// cfnInt reads an integer property (a JSON number or a numeric string).
func cfnInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) {
			return int64(f), true
		}
	case string:
		if i, err := strconv.ParseInt(x, 10, 64); err == nil {
			return i, true
		}
	case float64:
		if x == math.Trunc(x) {
			return int64(x), true
		}
	case int:
		return int64(x), true
	}
	return 0, false
}

// cfnFloat reads a number property.
func cfnFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}
