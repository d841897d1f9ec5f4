package jsonpath

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf16"
)

// expr is a filter condition, evaluated with "@" bound to the candidate node.
type expr interface {
	eval(item, root any) bool
	canon(b *strings.Builder)
}

// operand is one side of a comparison: a path, a literal or a regular expression.
type operand struct {
	path     *Path
	lit      any
	isLit    bool
	regex    *regexp.Regexp
	regexSrc string
}

// undefined marks a path operand that selected nothing; it equals nothing, not even itself,
// as Jayway's UndefinedNode.
type undefinedT struct{}

var undefined any = undefinedT{}

func (o *operand) value(item, root any) any {
	if o.path == nil {
		return o.lit
	}
	doc := item
	if o.path.root == '$' {
		doc = root
	}
	if o.path.IsDefinite() {
		v, ok := o.path.getOne(doc, root)
		if !ok {
			return undefined
		}
		return v
	}
	return o.path.getAll(doc, root)
}

func (o *operand) canon(b *strings.Builder) {
	switch {
	case o.path != nil:
		o.path.canon(b)
	case o.regex != nil:
		b.WriteString(o.regexSrc)
	default:
		writeLiteral(b, o.lit)
	}
}

func writeLiteral(b *strings.Builder, v any) {
	if s, ok := v.(string); ok {
		writeQuoted(b, s)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.WriteString("null")
		return
	}
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

type existsExpr struct{ path *Path }

func (e *existsExpr) eval(item, root any) bool {
	doc := item
	if e.path.root == '$' {
		doc = root
	}
	if e.path.IsDefinite() {
		_, ok := e.path.getOne(doc, root)
		return ok
	}
	return len(e.path.getAll(doc, root)) > 0
}

func (e *existsExpr) canon(b *strings.Builder) { e.path.canon(b) }

type notExpr struct{ e expr }

func (e *notExpr) eval(item, root any) bool { return !e.e.eval(item, root) }
func (e *notExpr) canon(b *strings.Builder) {
	b.WriteString("!")
	e.e.canon(b)
}

type groupExpr struct{ e expr }

func (e *groupExpr) eval(item, root any) bool { return e.e.eval(item, root) }
func (e *groupExpr) canon(b *strings.Builder) {
	b.WriteString("(")
	e.e.canon(b)
	b.WriteString(")")
}

type logicalExpr struct {
	op          string
	left, right expr
}

func (e *logicalExpr) eval(item, root any) bool {
	if e.op == "&&" {
		return e.left.eval(item, root) && e.right.eval(item, root)
	}
	return e.left.eval(item, root) || e.right.eval(item, root)
}

func (e *logicalExpr) canon(b *strings.Builder) {
	e.left.canon(b)
	b.WriteString(" " + e.op + " ")
	e.right.canon(b)
}

type relExpr struct {
	op          string
	left, right operand
}

func (e *relExpr) canon(b *strings.Builder) {
	e.left.canon(b)
	b.WriteString(" " + e.op + " ")
	e.right.canon(b)
}

// eval follows Jayway's evaluators: ordering compares numbers with numbers and strings with
// strings only; anything else is false.
func (e *relExpr) eval(item, root any) bool {
	if e.op == "=~" {
		re, other := e.right.regex, &e.left
		if re == nil {
			re, other = e.left.regex, &e.right
		}
		if re == nil || (e.left.regex != nil && e.right.regex != nil) {
			return false
		}
		s, ok := regexInput(other.value(item, root))
		return ok && re.MatchString(s)
	}
	l, r := e.left.value(item, root), e.right.value(item, root)
	switch e.op {
	case "==":
		return looseEqual(l, r)
	case "!=":
		return !looseEqual(l, r)
	case "===":
		return strictEqual(l, r)
	case "!==":
		return !strictEqual(l, r)
	case "<", "<=", ">", ">=":
		c, ok := order(l, r)
		if !ok {
			return false
		}
		switch e.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		default:
			return c >= 0
		}
	case "in":
		return listContains(r, l)
	case "nin":
		return !listContains(r, l)
	case "contains":
		if ls, ok := l.(string); ok {
			rs, ok := r.(string)
			return ok && strings.Contains(ls, rs)
		}
		return listContains(l, r)
	case "subsetof", "anyof", "noneof":
		la, ok1 := l.([]any)
		ra, ok2 := r.([]any)
		if !ok1 || !ok2 {
			return false
		}
		switch e.op {
		case "subsetof":
			for _, x := range la {
				if !listContains(ra, x) {
					return false
				}
			}
			return true
		case "anyof":
			for _, x := range la {
				if listContains(ra, x) {
					return true
				}
			}
			return false
		default:
			for _, x := range la {
				if listContains(ra, x) {
					return false
				}
			}
			return true
		}
	case "size":
		n, ok := asInt(r)
		if !ok {
			return false
		}
		switch v := l.(type) {
		case string:
			return len(utf16.Encode([]rune(v))) == n
		case []any:
			return len(v) == n
		}
		return false
	case "empty":
		want, ok := r.(bool)
		if !ok {
			return false
		}
		switch v := l.(type) {
		case string:
			return (v == "") == want
		case []any:
			return (len(v) == 0) == want
		}
		return false
	}
	return false
}

func regexInput(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	if n, ok := numberText(v); ok {
		return n, true
	}
	return "", false
}

func listContains(list, v any) bool {
	l, ok := list.([]any)
	if !ok {
		return false
	}
	for _, x := range l {
		if looseEqual(v, x) {
			return true
		}
	}
	return false
}
