package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Policy is a parsed IAM identity-based policy document, as CloudFormation
// delivers it once intrinsic functions are resolved.
//
// The grammar is the one in "IAM JSON policy element reference" and "Grammar
// of the IAM JSON policy language" (AWS IAM User Guide): Statement is an
// object or a list; Action, NotAction, Resource and NotResource are a string
// or a list of strings; Condition maps operators to keys to one value or a
// list of values.
type Policy struct {
	// Version is the policy language version, "2012-10-17" or "2008-10-17".
	Version string
	// ID is the optional Id element.
	ID string
	// Statements are the policy's statements in document order.
	Statements []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	// Sid is the optional statement ID.
	Sid string
	// Deny is true for "Effect": "Deny", false for "Allow".
	Deny bool
	// Action and NotAction are the action patterns; exactly one is set.
	Action, NotAction []string
	// Resource and NotResource are the resource patterns; exactly one is set.
	Resource, NotResource []string
	// Conditions are the Condition block flattened to one entry per
	// operator and key, sorted; all must hold for the statement to apply.
	Conditions []Condition
	// Principal is a resource-based policy's Principal (or NotPrincipal,
	// when NotPrincipal is set) as written; identity-based policies have
	// none.
	Principal    json.RawMessage
	NotPrincipal bool
}

// Condition is one operator and key of a Condition block with its values.
type Condition struct {
	// Operator is the operator as written, e.g. "ForAnyValue:StringLike".
	Operator string
	// Key is the condition key as written, e.g. "aws:RequestedRegion".
	Key string
	// Values are the policy values, as strings (JSON booleans and numbers
	// are kept in their JSON spelling).
	Values []string

	set      string // "", "ForAnyValue" or "ForAllValues"
	base     string // the positive operator, e.g. "StringLike" for StringNotLike
	negated  bool   // a Not operator: the opposite of base
	ifExists bool
	lowerKey string // Key in lower case, as request contexts are keyed
}

// Decision is the outcome of evaluating policies for a request.
type Decision int

// The decisions of "Policy evaluation logic" (AWS IAM User Guide): a request
// no statement allows is implicitly denied; a matching Deny wins over any
// Allow.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

// String returns the decision's name.
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case ExplicitDeny:
		return "explicit deny"
	}
	return "implicit deny"
}

// AuthRequest is what a policy is evaluated against: one action on one
// resource, with the request context's condition keys.
type AuthRequest struct {
	// Action is the IAM action, e.g. "s3:GetObject".
	Action string
	// Resource is the resource ARN, or "*" for actions without a resource.
	Resource string
	// Context maps condition keys to their values; a key with several
	// values is multivalued. Keys are matched case-insensitively.
	Context map[string][]string
}

// ParsePolicy parses and validates an identity-based policy document. It
// rejects what IAM rejects with MalformedPolicyDocument: unknown elements, a
// Principal (identity-based policies have none), a missing Effect, Action
// or Resource, and unknown condition operators.
func ParsePolicy(doc []byte) (*Policy, error) { return parsePolicy(doc, false) }

// ParseResourcePolicy parses and validates a resource-based policy
// document (a bucket, queue, topic or key policy): like ParsePolicy, but
// every statement names its Principal or NotPrincipal.
func ParseResourcePolicy(doc []byte) (*Policy, error) { return parsePolicy(doc, true) }

func parsePolicy(doc []byte, resource bool) (*Policy, error) {
	var top map[string]json.RawMessage
	if err := strictUnmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	if top == nil {
		return nil, fmt.Errorf("parse policy: the document is not a JSON object")
	}
	p := &Policy{}
	for k, raw := range top {
		switch k {
		case "Version":
			if err := json.Unmarshal(raw, &p.Version); err != nil {
				return nil, fmt.Errorf("parse policy: Version: %w", err)
			}
			if p.Version != "2012-10-17" && p.Version != "2008-10-17" {
				return nil, fmt.Errorf("parse policy: unsupported Version %q", p.Version)
			}
		case "Id":
			if err := json.Unmarshal(raw, &p.ID); err != nil {
				return nil, fmt.Errorf("parse policy: Id: %w", err)
			}
		case "Statement":
			stmts, err := parseStatements(raw, resource)
			if err != nil {
				return nil, fmt.Errorf("parse policy: %w", err)
			}
			p.Statements = stmts
		default:
			return nil, fmt.Errorf("parse policy: unknown element %q", k)
		}
	}
	if len(p.Statements) == 0 {
		return nil, fmt.Errorf("parse policy: no Statement")
	}
	return p, nil
}

// strictUnmarshal decodes with numbers kept as json.Number, so a condition
// value 10 stays "10" and not "1e+01".
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

func parseStatements(raw json.RawMessage, resource bool) ([]Statement, error) {
	raw = bytes.TrimSpace(raw)
	var objs []map[string]json.RawMessage
	if len(raw) > 0 && raw[0] == '[' {
		if err := strictUnmarshal(raw, &objs); err != nil {
			return nil, fmt.Errorf("Statement: %w", err)
		}
	} else {
		var one map[string]json.RawMessage
		if err := strictUnmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("Statement: %w", err)
		}
		objs = append(objs, one)
	}
	out := make([]Statement, 0, len(objs))
	for i, o := range objs {
		s, err := parseStatement(o, resource)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseStatement(o map[string]json.RawMessage, resource bool) (Statement, error) {
	var s Statement
	principal := false
	if o == nil {
		return s, fmt.Errorf("not a JSON object")
	}
	effect := ""
	for k, raw := range o {
		var err error
		switch k {
		case "Sid":
			err = json.Unmarshal(raw, &s.Sid)
		case "Effect":
			err = json.Unmarshal(raw, &effect)
		case "Action":
			s.Action, err = stringOrList(raw)
		case "NotAction":
			s.NotAction, err = stringOrList(raw)
		case "Resource":
			s.Resource, err = stringOrList(raw)
		case "NotResource":
			s.NotResource, err = stringOrList(raw)
		case "Condition":
			s.Conditions, err = parseConditions(raw)
		case "Principal", "NotPrincipal":
			if !resource {
				// "Policy document should not specify a principal." is IAM's
				// answer to a Principal in an identity-based policy.
				err = fmt.Errorf("an identity-based policy must not specify a principal")
				break
			}
			principal = true
			s.Principal = append(json.RawMessage(nil), raw...)
			s.NotPrincipal = k == "NotPrincipal"
		default:
			err = fmt.Errorf("unknown element")
		}
		if err != nil {
			return s, fmt.Errorf("%s: %w", k, err)
		}
	}
	if resource && !principal {
		return s, fmt.Errorf("a resource-based policy statement needs a Principal")
	}
	switch effect {
	case "Allow":
	case "Deny":
		s.Deny = true
	default:
		return s, fmt.Errorf("Effect must be Allow or Deny, not %q", effect)
	}
	if (s.Action == nil) == (s.NotAction == nil) {
		return s, fmt.Errorf("exactly one of Action and NotAction is required")
	}
	if (s.Resource == nil) == (s.NotResource == nil) {
		return s, fmt.Errorf("exactly one of Resource and NotResource is required")
	}
	for _, a := range append(append([]string(nil), s.Action...), s.NotAction...) {
		if a != "*" && !strings.Contains(a, ":") {
			return s, fmt.Errorf("action %q is not service:action", a)
		}
	}
	return s, nil
}

// stringOrList decodes a string or a non-empty list of strings.
func stringOrList(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("want a string or a list of strings")
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return list, nil
}

// conditionBases are the positive operators; each Not operator is the
// negation of one of them ("Condition operators", AWS IAM User Guide).
var conditionBases = map[string]struct {
	base    string
	negated bool
}{
	"StringEquals": {"StringEquals", false}, "StringNotEquals": {"StringEquals", true},
	"StringEqualsIgnoreCase": {"StringEqualsIgnoreCase", false}, "StringNotEqualsIgnoreCase": {"StringEqualsIgnoreCase", true},
	"StringLike": {"StringLike", false}, "StringNotLike": {"StringLike", true},
	"NumericEquals": {"NumericEquals", false}, "NumericNotEquals": {"NumericEquals", true},
	"NumericLessThan": {"NumericLessThan", false}, "NumericLessThanEquals": {"NumericLessThanEquals", false},
	"NumericGreaterThan": {"NumericGreaterThan", false}, "NumericGreaterThanEquals": {"NumericGreaterThanEquals", false},
	"DateEquals": {"DateEquals", false}, "DateNotEquals": {"DateEquals", true},
	"DateLessThan": {"DateLessThan", false}, "DateLessThanEquals": {"DateLessThanEquals", false},
	"DateGreaterThan": {"DateGreaterThan", false}, "DateGreaterThanEquals": {"DateGreaterThanEquals", false},
	"Bool":         {"Bool", false},
	"BinaryEquals": {"BinaryEquals", false},
	"IpAddress":    {"IpAddress", false}, "NotIpAddress": {"IpAddress", true},
	"ArnEquals": {"ArnLike", false}, "ArnLike": {"ArnLike", false},
	"ArnNotEquals": {"ArnLike", true}, "ArnNotLike": {"ArnLike", true},
	"Null": {"Null", false},
}

func parseConditions(raw json.RawMessage) ([]Condition, error) {
	var block map[string]map[string]json.RawMessage
	if err := strictUnmarshal(raw, &block); err != nil {
		return nil, fmt.Errorf("want operator → key → values: %w", err)
	}
	var out []Condition
	for op, keys := range block {
		c := Condition{Operator: op}
		name := op
		if set, rest, ok := strings.Cut(name, ":"); ok {
			if set != "ForAnyValue" && set != "ForAllValues" {
				return nil, fmt.Errorf("unknown set operator %q", set)
			}
			c.set, name = set, rest
		}
		if n, ok := strings.CutSuffix(name, "IfExists"); ok && n != "" {
			c.ifExists, name = true, n
		}
		b, ok := conditionBases[name]
		if !ok || (name == "Null" && (c.ifExists || c.set != "")) {
			return nil, fmt.Errorf("unknown condition operator %q", op)
		}
		c.base, c.negated = b.base, b.negated
		for key, vraw := range keys {
			vals, err := conditionValues(vraw)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", op, key, err)
			}
			for _, v := range vals {
				if err := checkConditionValue(c.base, v); err != nil {
					return nil, fmt.Errorf("%s %s: %w", op, key, err)
				}
			}
			cc := c
			cc.Key, cc.Values, cc.lowerKey = key, vals, strings.ToLower(key)
			out = append(out, cc)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Operator != out[j].Operator {
			return out[i].Operator < out[j].Operator
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// conditionValues decodes one value or a list of values; booleans and
// numbers are accepted as IAM accepts them and kept as their JSON text.
func conditionValues(raw json.RawMessage) ([]string, error) {
	var v any
	if err := strictUnmarshal(raw, &v); err != nil {
		return nil, err
	}
	scalar := func(x any) (string, error) {
		switch t := x.(type) {
		case string:
			return t, nil
		case bool:
			return strconv.FormatBool(t), nil
		case json.Number:
			return t.String(), nil
		}
		return "", fmt.Errorf("a condition value must be a string, number or boolean")
	}
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			return nil, fmt.Errorf("empty list of values")
		}
		out := make([]string, 0, len(list))
		for _, x := range list {
			s, err := scalar(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// checkConditionValue rejects policy values the operator cannot compare, as
// IAM does when the policy is put.
func checkConditionValue(base, v string) error {
	switch {
	case strings.HasPrefix(base, "Numeric"):
		if _, ok := new(big.Float).SetString(v); !ok {
			return fmt.Errorf("%q is not a number", v)
		}
	case strings.HasPrefix(base, "Date"):
		if _, ok := parseIAMDate(v); !ok {
			return fmt.Errorf("%q is not a date", v)
		}
	case base == "Bool" || base == "Null":
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("%q is not true or false", v)
		}
	case base == "IpAddress":
		if _, err := parseIAMPrefix(v); err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR", v)
		}
	}
	return nil
}

// EvaluatePolicies evaluates identity-based policies for a request: an
// explicit Deny in any statement wins, else any Allow allows, else the
// request is implicitly denied ("Policy evaluation logic", AWS IAM User
// Guide).
func EvaluatePolicies(policies []*Policy, req AuthRequest) Decision {
	ctx := &condContext{raw: req.Context}
	d := ImplicitDeny
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.Statements {
			s := &p.Statements[i]
			if !s.applies(req.Action, req.Resource, ctx) {
				continue
			}
			if s.Deny {
				return ExplicitDeny
			}
			d = Allow
		}
	}
	return d
}

// applies reports whether the statement matches the request: its action,
// its resource and every condition.
// condContext is a request's context keys, looked up regardless of case
// (condition key names are not case sensitive): the lower-cased copy is
// made when a condition first needs it, as most statements have none.
type condContext struct {
	raw     map[string][]string
	lowered map[string][]string
}

func (c *condContext) get(lowerKey string) ([]string, bool) {
	if c.lowered == nil {
		c.lowered = make(map[string][]string, len(c.raw))
		for k, v := range c.raw {
			c.lowered[strings.ToLower(k)] = v
		}
	}
	v, ok := c.lowered[lowerKey]
	return v, ok
}

func (s *Statement) applies(action, resource string, ctx *condContext) bool {
	actionMatch := func(pats []string) bool {
		for _, p := range pats {
			if globMatchFold(p, action) {
				return true
			}
		}
		return false
	}
	if s.Action != nil && !actionMatch(s.Action) || s.NotAction != nil && actionMatch(s.NotAction) {
		return false
	}
	resMatch := func(pats []string) bool {
		for _, p := range pats {
			if globMatch(p, resource) {
				return true
			}
		}
		return false
	}
	if s.Resource != nil && !resMatch(s.Resource) || s.NotResource != nil && resMatch(s.NotResource) {
		return false
	}
	for i := range s.Conditions {
		if !s.Conditions[i].holds(ctx) {
			return false
		}
	}
	return true
}

// holds evaluates one operator and key against the request context, with
// the rules of "Condition operators" and "Single-valued vs. multivalued
// context keys" (AWS IAM User Guide): values of one key are ORed; a missing
// key fails a positive operator and satisfies a negated one; IfExists makes
// a missing key satisfy any operator; ForAllValues holds vacuously for a
// missing key, ForAnyValue does not.
func (c *Condition) holds(ctx *condContext) bool {
	key := c.lowerKey
	if key == "" { // a Condition made by hand, not parsed
		key = strings.ToLower(c.Key)
	}
	vals, present := ctx.get(key)
	present = present && len(vals) > 0
	if c.base == "Null" {
		wantAbsent := strings.EqualFold(c.Values[0], "true")
		return wantAbsent != present
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == "ForAllValues":
			return true
		case c.set == "ForAnyValue":
			return false
		}
		return c.negated
	}
	// ok reports whether one context value satisfies the operator: it
	// matches some policy value (positive) or none of them (negated).
	ok := func(v string) bool {
		m := false
		for _, pv := range c.Values {
			if conditionMatch(c.base, v, pv) {
				m = true
				break
			}
		}
		return m != c.negated
	}
	switch c.set {
	case "ForAllValues":
		for _, v := range vals {
			if !ok(v) {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, v := range vals {
			if ok(v) {
				return true
			}
		}
		return false
	}
	// Without a set operator a positive operator needs some value to match
	// and a negated one needs no value to match.
	if c.negated {
		for _, v := range vals {
			if !ok(v) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if ok(v) {
			return true
		}
	}
	return false
}

// conditionMatch compares one context value with one policy value under a
// positive operator.
func conditionMatch(base, v, pv string) bool {
	switch base {
	case "StringEquals", "BinaryEquals":
		return v == pv
	case "StringEqualsIgnoreCase":
		return strings.EqualFold(v, pv)
	case "StringLike":
		return globMatch(pv, v)
	case "ArnLike":
		return arnLike(pv, v)
	case "Bool":
		return strings.EqualFold(v, pv)
	case "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		a, ok1 := new(big.Float).SetString(v)
		b, ok2 := new(big.Float).SetString(pv)
		if !ok1 || !ok2 {
			return false
		}
		return cmpHolds(base[len("Numeric"):], a.Cmp(b))
	case "DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		a, ok1 := parseIAMDate(v)
		b, ok2 := parseIAMDate(pv)
		if !ok1 || !ok2 {
			return false
		}
		return cmpHolds(base[len("Date"):], a.Compare(b))
	case "IpAddress":
		addr, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		pfx, err := parseIAMPrefix(pv)
		return err == nil && pfx.Contains(addr)
	}
	return false
}

func cmpHolds(rel string, c int) bool {
	switch rel {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThan":
		return c > 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

// parseIAMDate reads the date forms IAM accepts: ISO 8601 (with or without
// a time) and epoch seconds.
func parseIAMDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
}

// parseIAMPrefix reads an address or a CIDR block.
func parseIAMPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// arnLike matches an ARN against a pattern component by component: each of
// the six colon-separated parts is matched separately with * and ?, so a
// wildcard never spans a colon ("ARN condition operators", AWS IAM User
// Guide). ArnEquals and ArnLike behave the same.
func arnLike(pattern, arn string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !globMatch(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// globMatch reports whether s matches pattern, where * matches any run of
// characters (including none) and ? any one character. Matching is
// byte-exact; callers fold case where IAM does (actions).
func globMatch(pattern, s string) bool { return globMatchCase(pattern, s, false) }

// globMatchFold is globMatch with letters matched regardless of case, as
// IAM matches actions ("Action element", AWS IAM User Guide: action names
// are not case sensitive).
func globMatchFold(pattern, s string) bool { return globMatchCase(pattern, s, true) }

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// globMatchCase is globMatch, or globMatchFold when fold is set.
func globMatchCase(pattern, s string, fold bool) bool {
	same := func(a, b byte) bool {
		if fold {
			return lowerASCII(a) == lowerASCII(b)
		}
		return a == b
	}
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || same(pattern[p], s[i])):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
