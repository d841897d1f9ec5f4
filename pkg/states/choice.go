package states

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/states/internal/jsonvalue"
)

// rule is a Choice rule: a comparison on Variable, or And/Or/Not of rules.
type rule struct {
	op        string // operator name without the "Path" suffix, or And/Or/Not
	isPath    bool   // the …Path form: the operand is a path
	variable  *valuePath
	value     any
	valuePath *valuePath
	children  []*rule
	pattern   *regexp.Regexp
	nextName  string
	next      *state
}

// operand kinds of the comparison operators.
var comparisons = map[string]string{
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "boolean",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
}

// operators without a …Path form; their value is a boolean (Is*) or a pattern.
var typeTests = map[string]bool{
	"IsNull": true, "IsPresent": true, "IsNumeric": true, "IsString": true, "IsBoolean": true, "IsTimestamp": true,
}

func (p *parser) choice(s *state, o map[string]any) {
	arr, ok := o["Choices"].([]any)
	if !ok || len(arr) == 0 {
		p.add(s.name, "Choices", "must be a non-empty array of Choice rules")
	}
	for i, c := range arr {
		r := p.rule(s.name, fmt.Sprintf("Choices[%d]", i), c, true)
		if r != nil {
			s.choices = append(s.choices, r)
		}
	}
	if v, ok := o["Default"]; ok {
		if d, ok := v.(string); ok && d != "" {
			s.defaultName = d
		} else {
			p.add(s.name, "Default", "must be a non-empty state name")
		}
	}
}

func (p *parser) rule(stateName, field string, v any, top bool) *rule {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(stateName, field, "a Choice rule must be an object")
		return nil
	}
	r := &rule{}
	var ops []string
	for k, val := range o {
		switch k {
		case "Variable":
			r.variable = p.path(stateName, field+".Variable", val, false, true)
		case "Next":
			if !top {
				p.add(stateName, field+".Next", `only top-level Choice rules may have "Next"`)
			} else if n, ok := val.(string); ok && n != "" {
				r.nextName = n
			} else {
				p.add(stateName, field+".Next", "must be a non-empty state name")
			}
		case "Comment":
		case "And", "Or":
			ops = append(ops, k)
			arr, ok := val.([]any)
			if !ok || len(arr) == 0 {
				p.add(stateName, field+"."+k, "must be a non-empty array of rules")
			}
			for i, c := range arr {
				if cr := p.rule(stateName, fmt.Sprintf("%s.%s[%d]", field, k, i), c, false); cr != nil {
					r.children = append(r.children, cr)
				}
			}
			r.op = k
		case "Not":
			ops = append(ops, k)
			if cr := p.rule(stateName, field+".Not", val, false); cr != nil {
				r.children = []*rule{cr}
			}
			r.op = k
		default:
			base, isPath := strings.CutSuffix(k, "Path")
			if _, ok := comparisons[base]; ok && isPath {
				ops = append(ops, k)
				r.op, r.isPath = base, true
				r.valuePath = p.path(stateName, field+"."+k, val, false, true)
				continue
			}
			kind, isCmp := comparisons[k]
			switch {
			case isCmp:
				ops = append(ops, k)
				r.op, r.value = k, val
				p.checkOperand(stateName, field+"."+k, kind, val)
			case typeTests[k]:
				ops = append(ops, k)
				r.op, r.value = k, val
				if _, ok := val.(bool); !ok {
					p.add(stateName, field+"."+k, "must be true or false")
				}
			case k == "StringMatches":
				ops = append(ops, k)
				r.op, r.value = k, val
				str, ok := val.(string)
				if !ok {
					p.add(stateName, field+"."+k, "must be a string pattern")
				} else {
					r.pattern = wildcard(str)
				}
			default:
				p.add(stateName, field+"."+k, "unknown Choice rule field%s", suggest(k, knownRuleFields()))
			}
		}
	}
	switch {
	case len(ops) == 0:
		p.add(stateName, field, "a Choice rule needs a comparison operator or And/Or/Not")
	case len(ops) > 1:
		p.add(stateName, field, "a Choice rule takes exactly one operator (got %s)", strings.Join(sortedCopy(ops), ", "))
	}
	isBool := r.op == "And" || r.op == "Or" || r.op == "Not"
	if len(ops) == 1 && !isBool && r.variable == nil && !has(o, "Variable") {
		p.add(stateName, field, "a %s rule needs \"Variable\"", ops[0])
	}
	if isBool && has(o, "Variable") {
		p.add(stateName, field+".Variable", "not allowed beside %s", r.op)
	}
	if top && !has(o, "Next") {
		p.add(stateName, field, `a top-level Choice rule needs "Next"`)
	}
	return r
}

func knownRuleFields() []string {
	out := []string{"Variable", "Next", "And", "Or", "Not", "StringMatches", "Comment"}
	for k := range comparisons {
		out = append(out, k, k+"Path")
	}
	for k := range typeTests {
		out = append(out, k)
	}
	return out
}

func sortedCopy(xs []string) []string {
	out := append([]string(nil), xs...)
	slices.Sort(out)
	return out
}

func (p *parser) checkOperand(stateName, field, kind string, v any) {
	ok := false
	switch kind {
	case "string":
		_, ok = v.(string)
	case "number":
		_, ok = floatValue(v)
	case "boolean":
		_, ok = v.(bool)
	case "timestamp":
		s, isStr := v.(string)
		if isStr {
			_, err := parseTimestamp(s)
			ok = err == nil
		}
	}
	if !ok {
		p.add(stateName, field, "must be a %s (got %s)", kind, jsonText(v))
	}
}

// wildcard compiles a StringMatches pattern: "*" matches any run of
// characters, "\*" a literal star and "\\" a literal backslash.
func wildcard(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat) && (pat[i+1] == '*' || pat[i+1] == '\\'):
			b.WriteString(regexp.QuoteMeta(string(pat[i+1])))
			i++
		case c == '*':
			b.WriteString(`.*`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

func parseTimestamp(s string) (time.Time, error) {
	// AWS wants an uppercase T and Z (or an offset); Go's RFC 3339 parser
	// accepts fractional seconds too.
	if strings.ContainsAny(s, "tz ") {
		return time.Time{}, fmt.Errorf("not an RFC 3339 timestamp")
	}
	return time.Parse(time.RFC3339Nano, s)
}

// choose evaluates the rules in order on input and returns the next state.
func (s *state) choose(env *evalEnv) (*state, *failure) {
	for _, r := range s.choices {
		ok, f := r.eval(env)
		if f != nil {
			return nil, f
		}
		if ok {
			return r.next, nil
		}
	}
	if s.deflt != nil {
		return s.deflt, nil
	}
	return nil, fail(ErrorNoChoiceMatched, fmt.Sprintf("No Choice Rules matched and no Default was specified for the state '%s'", s.name))
}

func (r *rule) eval(env *evalEnv) (bool, *failure) {
	switch r.op {
	case "And":
		for _, c := range r.children {
			ok, f := c.eval(env)
			if f != nil || !ok {
				return false, f
			}
		}
		return true, nil
	case "Or":
		for _, c := range r.children {
			ok, f := c.eval(env)
			if f != nil || ok {
				return ok, f
			}
		}
		return false, nil
	case "Not":
		ok, f := r.children[0].eval(env)
		return !ok, f
	}
	v, err := r.variable.get(env)
	if r.op == "IsPresent" {
		present := err == nil
		if list, ok := v.([]any); ok && !r.variable.p.IsDefinite() {
			present = len(list) > 0
		}
		return present == r.value.(bool), nil
	}
	if err != nil {
		// AWS fails the execution rather than treating the rule as false.
		return false, fail(ErrorRuntime, fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.src))
	}
	if typeTests[r.op] {
		var got bool
		switch r.op {
		case "IsNull":
			got = v == nil
		case "IsNumeric":
			_, got = numeric(v)
		case "IsString":
			_, got = v.(string)
		case "IsBoolean":
			_, got = v.(bool)
		case "IsTimestamp":
			if s, ok := v.(string); ok {
				_, e := parseTimestamp(s)
				got = e == nil
			}
		}
		return got == r.value.(bool), nil
	}
	if r.op == "StringMatches" {
		s, ok := v.(string)
		return ok && r.pattern.MatchString(s), nil
	}
	operand := r.value
	if r.isPath {
		operand, err = r.valuePath.get(env)
		if err != nil {
			return false, fail(ErrorRuntime, fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", r.valuePath.src))
		}
	}
	return compare(r.op, v, operand), nil
}

// compare applies a comparison operator; mismatched types compare false.
func compare(op string, a, b any) bool {
	var c int
	switch comparisons[op] {
	case "string":
		x, ok1 := a.(string)
		y, ok2 := b.(string)
		if !ok1 || !ok2 {
			return false
		}
		c = strings.Compare(x, y)
	case "number":
		x, ok1 := numeric(a)
		y, ok2 := numeric(b)
		if !ok1 || !ok2 {
			return false
		}
		c, _ = jsonvalue.CompareNumbers(x, y)
	case "boolean":
		x, ok1 := a.(bool)
		y, ok2 := b.(bool)
		return ok1 && ok2 && x == y
	case "timestamp":
		xs, ok1 := a.(string)
		ys, ok2 := b.(string)
		if !ok1 || !ok2 {
			return false
		}
		x, e1 := parseTimestamp(xs)
		y, e2 := parseTimestamp(ys)
		if e1 != nil || e2 != nil {
			return false
		}
		c = x.Compare(y)
	}
	switch {
	case strings.HasSuffix(op, "LessThanEquals"):
		return c <= 0
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return c >= 0
	case strings.HasSuffix(op, "LessThan"):
		return c < 0
	case strings.HasSuffix(op, "GreaterThan"):
		return c > 0
	}
	return c == 0
}

// numeric returns the decimal text of a JSON number. Comparisons go through jsonvalue, the
// exact decimal order JSONPath filters and the intrinsic functions use too, so a Choice rule,
// a filter and States.ArrayContains agree on every pair of numbers.
func numeric(v any) (string, bool) {
	t, ok := jsonvalue.NumberText(v)
	if !ok {
		return "", false
	}
	if _, ok := jsonvalue.CompareNumbers(t, t); !ok {
		return "", false // NaN, or a json.Number a Go caller filled with something else
	}
	return t, true
}
