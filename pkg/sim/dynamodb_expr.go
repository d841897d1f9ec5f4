package sim

import (
	"bytes"
	"math/big"
	"sort"
	"strconv"
	"strings"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// This file is DynamoDB's expression language: condition, filter, key
// condition, update and projection expressions, parsed into a small AST and
// evaluated against items. Errors are ValidationExceptions whose messages
// follow DynamoDB's ("Invalid UpdateExpression: Syntax error; token: …").

// ddbAV is an attribute value.
type ddbAV = ddbtypes.AttributeValue

// ddbItem is an item: attribute name → value.
type ddbItem = map[string]ddbAV

// ddbExprCtx resolves the #name and :value placeholders of one request and
// records which were used, because DynamoDB rejects unused ones.
type ddbExprCtx struct {
	names      map[string]string
	values     map[string]ddbAV
	usedNames  map[string]bool
	usedValues map[string]bool
}

func ddbNewExprCtx(names map[string]string, values map[string]ddbAV) *ddbExprCtx {
	return &ddbExprCtx{names: names, values: values, usedNames: map[string]bool{}, usedValues: map[string]bool{}}
}

// checkUnused reports placeholders that no expression of the request used.
func (c *ddbExprCtx) checkUnused() error {
	var un []string
	for k := range c.names {
		if !c.usedNames[k] {
			un = append(un, k)
		}
	}
	if len(un) > 0 {
		sort.Strings(un)
		return ddbValidation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(un, ", "))
	}
	var uv []string
	for k := range c.values {
		if !c.usedValues[k] {
			uv = append(uv, k)
		}
	}
	if len(uv) > 0 {
		sort.Strings(uv)
		return ddbValidation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(uv, ", "))
	}
	return nil
}

// ddbValidation returns DynamoDB's ValidationException (the SDK has no typed
// error for it).
func ddbValidation(format string, args ...any) error {
	return apiErr("ValidationException", format, args...)
}

// --- tokens ---

type ddbTokKind int

const (
	ddbTEOF ddbTokKind = iota
	ddbTIdent
	ddbTName  // #name
	ddbTValue // :value
	ddbTNumber
	ddbTPunct // ( ) [ ] , . = <> < <= > >= + -
)

type ddbTok struct {
	kind ddbTokKind
	text string
	pos  int
}

func ddbIsIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func ddbIsIdentChar(c byte) bool  { return ddbIsIdentStart(c) || c >= '0' && c <= '9' }

// ddbLex splits an expression into tokens.
func ddbLex(kind, src string) ([]ddbTok, error) {
	// An expression is mostly tokens of two or more bytes and the spaces
	// between them: one allocation instead of a slice doubled four or five
	// times for each of the millions of expressions a merge parses.
	toks := make([]ddbTok, 0, len(src)/2+2)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(src) && ddbIsIdentChar(src[j]) {
				j++
			}
			if j == i+1 {
				return nil, ddbSyntax(kind, src, string(c), i)
			}
			k := ddbTName
			if c == ':' {
				k = ddbTValue
			}
			toks = append(toks, ddbTok{k, src[i:j], i})
			i = j
		case ddbIsIdentStart(c):
			j := i + 1
			for j < len(src) && ddbIsIdentChar(src[j]) {
				j++
			}
			toks = append(toks, ddbTok{ddbTIdent, src[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			toks = append(toks, ddbTok{ddbTNumber, src[i:j], i})
			i = j
		case c == '<' && i+1 < len(src) && (src[i+1] == '=' || src[i+1] == '>'), c == '>' && i+1 < len(src) && src[i+1] == '=':
			toks = append(toks, ddbTok{ddbTPunct, src[i : i+2], i})
			i += 2
		case strings.IndexByte("()[],.=<>+-", c) >= 0:
			toks = append(toks, ddbTok{ddbTPunct, src[i : i+1], i})
			i++
		default:
			end := i + 1
			for end < len(src) && src[end] >= 0x80 && src[end] < 0xC0 {
				end++
			}
			return nil, ddbSyntax(kind, src, src[i:end], i)
		}
	}
	return append(toks, ddbTok{ddbTEOF, "<EOF>", len(src)}), nil
}

func ddbSyntax(kind, src, tok string, pos int) error {
	lo, hi := pos-10, pos+len(tok)+10
	if lo < 0 {
		lo = 0
	}
	if hi > len(src) {
		hi = len(src)
	}
	return ddbValidation("Invalid %s: Syntax error; token: %q, near: %q", kind, tok, src[lo:hi])
}

// --- AST ---

// ddbPathElem is one step of a document path: a name, or a list index
// (index >= 0).
type ddbPathElem struct {
	name  string
	index int
}

// ddbPath is a document path such as a.b[2].c.
type ddbPath struct{ elems []ddbPathElem }

// ddbValRef is a resolved :value.
type ddbValRef struct {
	name string
	av   ddbAV
}

// ddbSize is size(path).
type ddbSize struct{ path *ddbPath }

// ddbArith is a + b or a - b in a SET action.
type ddbArith struct {
	op   byte
	l, r any
}

// ddbIfNotExists is if_not_exists(path, value).
type ddbIfNotExists struct {
	path *ddbPath
	v    any
}

// ddbListAppend is list_append(a, b).
type ddbListAppend struct{ a, b any }

// Conditions.
type (
	ddbCmp struct {
		op   string
		l, r any
	}
	ddbBetween struct{ v, lo, hi any }
	ddbIn      struct {
		v    any
		list []any
	}
	ddbFunc struct {
		name string
		args []any
	}
	ddbAnd struct{ l, r any }
	ddbOr  struct{ l, r any }
	ddbNot struct{ c any }
)

// ddbTopNames adds to names the top-level attribute of every document
// path in condition node n, and reports whether it knew every node (if
// not, a reader needs the whole item).
func ddbTopNames(n any, names map[string]bool) bool {
	switch n := n.(type) {
	case nil, *ddbValRef:
		return true
	case *ddbPath:
		names[n.elems[0].name] = true
		return true
	case *ddbSize:
		return ddbTopNames(n.path, names)
	case *ddbAnd:
		return ddbTopNames(n.l, names) && ddbTopNames(n.r, names)
	case *ddbOr:
		return ddbTopNames(n.l, names) && ddbTopNames(n.r, names)
	case *ddbNot:
		return ddbTopNames(n.c, names)
	case *ddbCmp:
		return ddbTopNames(n.l, names) && ddbTopNames(n.r, names)
	case *ddbBetween:
		return ddbTopNames(n.v, names) && ddbTopNames(n.lo, names) && ddbTopNames(n.hi, names)
	case *ddbIn:
		for _, x := range n.list {
			if !ddbTopNames(x, names) {
				return false
			}
		}
		return ddbTopNames(n.v, names)
	case *ddbFunc:
		for _, x := range n.args {
			if !ddbTopNames(x, names) {
				return false
			}
		}
		return true
	}
	return false
}

// ddbUpdate is a parsed update expression.
type ddbUpdate struct {
	sets    []ddbSetAction
	removes []*ddbPath
	adds    []ddbSetAction // value is a *ddbValRef
	deletes []ddbSetAction
}

type ddbSetAction struct {
	path *ddbPath
	v    any
}

// --- parser ---

type ddbParser struct {
	kind string // e.g. "ConditionExpression", for messages
	src  string
	toks []ddbTok
	i    int
	ctx  *ddbExprCtx
}

func ddbNewParser(kind, src string, ctx *ddbExprCtx) (*ddbParser, error) {
	if strings.TrimSpace(src) == "" {
		return nil, ddbValidation("Invalid %s: The expression can not be empty;", kind)
	}
	toks, err := ddbLex(kind, src)
	if err != nil {
		return nil, err
	}
	return &ddbParser{kind: kind, src: src, toks: toks, ctx: ctx}, nil
}

func (p *ddbParser) peek() ddbTok { return p.toks[p.i] }
func (p *ddbParser) peekAt(n int) ddbTok {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *ddbParser) next() ddbTok {
	t := p.toks[p.i]
	if t.kind != ddbTEOF {
		p.i++
	}
	return t
}
func (p *ddbParser) syntaxErr() error {
	t := p.peek()
	return ddbSyntax(p.kind, p.src, t.text, t.pos)
}
func (p *ddbParser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == ddbTPunct && t.text == s
}
func (p *ddbParser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == ddbTIdent && strings.EqualFold(t.text, kw)
}
func (p *ddbParser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return p.syntaxErr()
	}
	p.i++
	return nil
}
func (p *ddbParser) atEOF() bool { return p.peek().kind == ddbTEOF }

// path parses a document path.
func (p *ddbParser) path() (*ddbPath, error) {
	var path ddbPath
	elem := func() error {
		t := p.next()
		switch t.kind {
		case ddbTIdent:
			if ddbReserved[strings.ToUpper(t.text)] {
				return ddbValidation("Invalid %s: Attribute name is a reserved keyword; reserved keyword: %s", p.kind, t.text)
			}
			path.elems = append(path.elems, ddbPathElem{name: t.text, index: -1})
		case ddbTName:
			name, ok := p.ctx.names[t.text]
			if !ok {
				return ddbValidation("Invalid %s: An expression attribute name used in the document path is not defined; attribute name: %s", p.kind, t.text)
			}
			p.ctx.usedNames[t.text] = true
			path.elems = append(path.elems, ddbPathElem{name: name, index: -1})
		default:
			p.i--
			if t.kind == ddbTEOF {
				p.i++
			}
			return p.syntaxErr()
		}
		return nil
	}
	if err := elem(); err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isPunct("."):
			p.i++
			if err := elem(); err != nil {
				return nil, err
			}
		case p.isPunct("["):
			p.i++
			t := p.peek()
			if t.kind != ddbTNumber {
				return nil, p.syntaxErr()
			}
			p.i++
			n, err := strconv.Atoi(t.text)
			if err != nil || n > 1<<20 {
				return nil, ddbValidation("Invalid %s: List index is out of bounds; index: %s", p.kind, t.text)
			}
			path.elems = append(path.elems, ddbPathElem{index: n})
			if err := p.expectPunct("]"); err != nil {
				return nil, err
			}
		default:
			return &path, nil
		}
	}
}

func (p *ddbParser) value() (*ddbValRef, error) {
	t := p.next()
	if t.kind != ddbTValue {
		p.i--
		if t.kind == ddbTEOF {
			p.i++
		}
		return nil, p.syntaxErr()
	}
	av, ok := p.ctx.values[t.text]
	if !ok || av == nil {
		return nil, ddbValidation("Invalid %s: An expression attribute value used in expression is not defined; attribute value: %s", p.kind, t.text)
	}
	p.ctx.usedValues[t.text] = true
	return &ddbValRef{name: t.text, av: av}, nil
}

// ddbCondFuncs are the functions that are conditions; size is an operand.
var ddbCondFuncs = map[string]int{"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2, "contains": 2}

func (p *ddbParser) isFuncCall() (string, bool) {
	t := p.peek()
	if t.kind == ddbTIdent && p.peekAt(1).kind == ddbTPunct && p.peekAt(1).text == "(" {
		return t.text, true
	}
	return "", false
}

// args parses "(a, b, …)" with each argument parsed by arg.
func (p *ddbParser) args(arg func() (any, error)) ([]any, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var out []any
	for {
		a, err := arg()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
		if p.isPunct(",") {
			p.i++
			continue
		}
		return out, p.expectPunct(")")
	}
}

// operand parses a condition operand: path, :value or size(path).
func (p *ddbParser) operand() (any, error) {
	if name, ok := p.isFuncCall(); ok {
		p.i++
		if name != "size" {
			if _, known := ddbCondFuncs[name]; known {
				return nil, ddbValidation("Invalid %s: The function is not allowed to be used this way in an expression; function: %s", p.kind, name)
			}
			return nil, ddbValidation("Invalid %s: Invalid function name; function: %s", p.kind, name)
		}
		args, err := p.args(p.operand)
		if err != nil {
			return nil, err
		}
		if len(args) != 1 {
			return nil, ddbValidation("Invalid %s: Incorrect number of operands for operator or function; operator or function: size, number of operands: %d", p.kind, len(args))
		}
		path, ok := args[0].(*ddbPath)
		if !ok {
			return nil, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator or function: size, operand type: %s", p.kind, ddbOperandType(args[0]))
		}
		return &ddbSize{path}, nil
	}
	if p.peek().kind == ddbTValue {
		return p.value()
	}
	return p.path()
}

func ddbOperandType(o any) string {
	switch o := o.(type) {
	case *ddbValRef:
		return ddbTypeName(o.av)
	case *ddbSize:
		return "N"
	}
	return "PATH"
}

// condition parses OR of ANDs of NOTs of primaries (NOT binds tightest).
func (p *ddbParser) condition() (any, error) {
	l, err := p.andCond()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.i++
		r, err := p.andCond()
		if err != nil {
			return nil, err
		}
		l = &ddbOr{l, r}
	}
	return l, nil
}

func (p *ddbParser) andCond() (any, error) {
	l, err := p.notCond()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.i++
		r, err := p.notCond()
		if err != nil {
			return nil, err
		}
		l = &ddbAnd{l, r}
	}
	return l, nil
}

func (p *ddbParser) notCond() (any, error) {
	if p.isKeyword("NOT") {
		p.i++
		c, err := p.notCond()
		if err != nil {
			return nil, err
		}
		return &ddbNot{c}, nil
	}
	return p.primary()
}

func (p *ddbParser) primary() (any, error) {
	if p.isPunct("(") {
		p.i++
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		return c, p.expectPunct(")")
	}
	if name, ok := p.isFuncCall(); ok {
		if arity, isCond := ddbCondFuncs[name]; isCond {
			p.i++
			args, err := p.args(p.operand)
			if err != nil {
				return nil, err
			}
			if len(args) != arity {
				return nil, ddbValidation("Invalid %s: Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", p.kind, name, len(args))
			}
			if _, ok := args[0].(*ddbPath); !ok {
				return nil, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator or function: %s, operand type: %s", p.kind, name, ddbOperandType(args[0]))
			}
			if name == "attribute_type" {
				v, ok := args[1].(*ddbValRef)
				if !ok {
					return nil, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: %s", p.kind, ddbOperandType(args[1]))
				}
				s, isS := v.av.(*ddbtypes.AttributeValueMemberS)
				if !isS || !ddbTypeNames[s.Value] {
					return nil, ddbValidation("Invalid %s: Invalid attribute type name found in type condition of expression; type: %s", p.kind, ddbAVString(v.av))
				}
			}
			if name == "begins_with" {
				if v, ok := args[1].(*ddbValRef); ok {
					switch v.av.(type) {
					case *ddbtypes.AttributeValueMemberS, *ddbtypes.AttributeValueMemberB:
					default:
						return nil, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator or function: begins_with, operand type: %s", p.kind, ddbTypeName(v.av))
					}
				}
			}
			return &ddbFunc{name, args}, nil
		}
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.kind == ddbTPunct && (t.text == "=" || t.text == "<>" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.i++
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &ddbCmp{t.text, l, r}, nil
	case p.isKeyword("BETWEEN"):
		p.i++
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.syntaxErr()
		}
		p.i++
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		if a, ok := lo.(*ddbValRef); ok {
			if b, ok := hi.(*ddbValRef); ok {
				if c, ok := ddbCompare(a.av, b.av); !ok || c > 0 {
					return nil, ddbValidation("Invalid %s: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {%s}, upper bound operand: AttributeValue: {%s}", p.kind, ddbAVString(a.av), ddbAVString(b.av))
				}
			}
		}
		return &ddbBetween{l, lo, hi}, nil
	case p.isKeyword("IN"):
		p.i++
		list, err := p.args(p.operand)
		if err != nil {
			return nil, err
		}
		if len(list) > 100 {
			return nil, ddbValidation("Invalid %s: The IN operator is provided with too many operands; number of operands: %d", p.kind, len(list))
		}
		return &ddbIn{l, list}, nil
	}
	return nil, p.syntaxErr()
}

// ddbParseCondition parses a condition or filter expression.
func ddbParseCondition(kind, src string, ctx *ddbExprCtx) (any, error) {
	p, err := ddbNewParser(kind, src, ctx)
	if err != nil {
		return nil, err
	}
	c, err := p.condition()
	if err != nil {
		return nil, err
	}
	if !p.atEOF() {
		return nil, p.syntaxErr()
	}
	return c, nil
}

// ddbParseProjection parses a comma-separated list of paths.
func ddbParseProjection(src string, ctx *ddbExprCtx) ([]*ddbPath, error) {
	p, err := ddbNewParser("ProjectionExpression", src, ctx)
	if err != nil {
		return nil, err
	}
	var out []*ddbPath
	for {
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		out = append(out, path)
		if p.isPunct(",") {
			p.i++
			continue
		}
		if !p.atEOF() {
			return nil, p.syntaxErr()
		}
		return out, ddbCheckOverlap("ProjectionExpression", out)
	}
}

// setOperand parses a SET value operand: :v, path, if_not_exists or list_append.
func (p *ddbParser) setOperand() (any, error) {
	if name, ok := p.isFuncCall(); ok {
		p.i++
		switch name {
		case "if_not_exists":
			args, err := p.args(p.setValue)
			if err != nil {
				return nil, err
			}
			if len(args) != 2 {
				return nil, ddbValidation("Invalid %s: Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: %d", p.kind, len(args))
			}
			path, ok := args[0].(*ddbPath)
			if !ok {
				return nil, ddbValidation("Invalid %s: Operator or function requires a document path; operator or function: if_not_exists", p.kind)
			}
			return &ddbIfNotExists{path, args[1]}, nil
		case "list_append":
			args, err := p.args(p.setValue)
			if err != nil {
				return nil, err
			}
			if len(args) != 2 {
				return nil, ddbValidation("Invalid %s: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: %d", p.kind, len(args))
			}
			return &ddbListAppend{args[0], args[1]}, nil
		}
		if _, known := ddbCondFuncs[name]; known || name == "size" {
			return nil, ddbValidation("Invalid %s: The function is not allowed in an update expression; function: %s", p.kind, name)
		}
		return nil, ddbValidation("Invalid %s: Invalid function name; function: %s", p.kind, name)
	}
	if p.peek().kind == ddbTValue {
		return p.value()
	}
	return p.path()
}

// setValue parses operand [(+|-) operand].
func (p *ddbParser) setValue() (any, error) {
	l, err := p.setOperand()
	if err != nil {
		return nil, err
	}
	if p.isPunct("+") || p.isPunct("-") {
		op := p.next().text[0]
		r, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		return &ddbArith{op, l, r}, nil
	}
	return l, nil
}

// ddbParseUpdate parses an update expression.
func ddbParseUpdate(src string, ctx *ddbExprCtx) (*ddbUpdate, error) {
	p, err := ddbNewParser("UpdateExpression", src, ctx)
	if err != nil {
		return nil, err
	}
	u := &ddbUpdate{}
	seen := map[string]bool{}
	for !p.atEOF() {
		t := p.peek()
		clause := strings.ToUpper(t.text)
		if t.kind != ddbTIdent || clause != "SET" && clause != "REMOVE" && clause != "ADD" && clause != "DELETE" {
			return nil, p.syntaxErr()
		}
		if seen[clause] {
			return nil, ddbValidation("Invalid UpdateExpression: The %q section can only be used once in an update expression;", clause)
		}
		seen[clause] = true
		p.i++
		for {
			path, err := p.path()
			if err != nil {
				return nil, err
			}
			switch clause {
			case "SET":
				if err := p.expectPunct("="); err != nil {
					return nil, err
				}
				v, err := p.setValue()
				if err != nil {
					return nil, err
				}
				u.sets = append(u.sets, ddbSetAction{path, v})
			case "REMOVE":
				u.removes = append(u.removes, path)
			case "ADD", "DELETE":
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				if clause == "ADD" {
					u.adds = append(u.adds, ddbSetAction{path, v})
				} else {
					u.deletes = append(u.deletes, ddbSetAction{path, v})
				}
			}
			if !p.isPunct(",") {
				break
			}
			p.i++
		}
	}
	var paths []*ddbPath
	for _, a := range u.sets {
		paths = append(paths, a.path)
	}
	paths = append(paths, u.removes...)
	for _, a := range u.adds {
		paths = append(paths, a.path)
	}
	for _, a := range u.deletes {
		paths = append(paths, a.path)
	}
	return u, ddbCheckOverlap("UpdateExpression", paths)
}

// ddbCheckOverlap rejects two paths where one is a prefix of the other, as
// DynamoDB does.
func ddbCheckOverlap(kind string, paths []*ddbPath) error {
	for i := 0; i < len(paths); i++ {
		for j := i + 1; j < len(paths); j++ {
			a, b := paths[i].elems, paths[j].elems
			n := min(len(a), len(b))
			same := true
			for k := 0; k < n; k++ {
				if a[k] != b[k] {
					same = false
					break
				}
			}
			if !same {
				continue
			}
			what := "overlap"
			if len(a) == len(b) {
				what = "conflict"
			}
			return ddbValidation("Invalid %s: Two document paths %s with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]",
				kind, what, ddbPathList(paths[i]), ddbPathList(paths[j]))
		}
	}
	return nil
}

func ddbPathList(p *ddbPath) string {
	parts := make([]string, len(p.elems))
	for i, e := range p.elems {
		if e.index >= 0 {
			parts[i] = "[" + strconv.Itoa(e.index) + "]"
		} else {
			parts[i] = e.name
		}
	}
	return strings.Join(parts, ", ")
}

// --- values ---

// ddbTypeNames are the type names attribute_type accepts.
var ddbTypeNames = map[string]bool{"S": true, "SS": true, "N": true, "NS": true, "B": true, "BS": true, "BOOL": true, "NULL": true, "L": true, "M": true}

func ddbTypeName(v ddbAV) string {
	switch v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return "S"
	case *ddbtypes.AttributeValueMemberN:
		return "N"
	case *ddbtypes.AttributeValueMemberB:
		return "B"
	case *ddbtypes.AttributeValueMemberSS:
		return "SS"
	case *ddbtypes.AttributeValueMemberNS:
		return "NS"
	case *ddbtypes.AttributeValueMemberBS:
		return "BS"
	case *ddbtypes.AttributeValueMemberBOOL:
		return "BOOL"
	case *ddbtypes.AttributeValueMemberNULL:
		return "NULL"
	case *ddbtypes.AttributeValueMemberL:
		return "L"
	case *ddbtypes.AttributeValueMemberM:
		return "M"
	}
	return "UNKNOWN"
}

// ddbAVString renders a value for error messages, like DynamoDB's {N:5}.
func ddbAVString(v ddbAV) string {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return "S:" + v.Value
	case *ddbtypes.AttributeValueMemberN:
		return "N:" + v.Value
	case *ddbtypes.AttributeValueMemberBOOL:
		return "BOOL:" + strconv.FormatBool(v.Value)
	}
	return ddbTypeName(v)
}

// ddbNum parses a DynamoDB number.
func ddbNum(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// ddbFormatNum renders a number canonically, as DynamoDB returns it (no
// trailing zeros, no leading plus).
func ddbFormatNum(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	s := r.FloatString(40)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// ddbSmallInt parses a canonical integer of at most 18 digits, the common
// case, without allocating: no leading zeros, plus sign or exponent.
func ddbSmallInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	digits := s
	if s[0] == '-' {
		digits = s[1:]
	}
	if len(digits) == 0 || len(digits) > 18 || digits[0] == '0' && (len(digits) > 1 || len(s) > 1) {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if s[0] == '-' {
		n = -n
	}
	return n, true
}

// ddbCompare orders two values of the same scalar type (N, S or B); ok is
// false when they are not comparable.
func ddbCompare(a, b ddbAV) (int, bool) {
	switch a := a.(type) {
	case *ddbtypes.AttributeValueMemberN:
		b, ok := b.(*ddbtypes.AttributeValueMemberN)
		if !ok {
			return 0, false
		}
		if x, ok := ddbSmallInt(a.Value); ok {
			if y, ok := ddbSmallInt(b.Value); ok {
				switch {
				case x < y:
					return -1, true
				case x > y:
					return 1, true
				}
				return 0, true
			}
		}
		x, ok1 := ddbNum(a.Value)
		y, ok2 := ddbNum(b.Value)
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	case *ddbtypes.AttributeValueMemberS:
		b, ok := b.(*ddbtypes.AttributeValueMemberS)
		if !ok {
			return 0, false
		}
		return strings.Compare(a.Value, b.Value), true
	case *ddbtypes.AttributeValueMemberB:
		b, ok := b.(*ddbtypes.AttributeValueMemberB)
		if !ok {
			return 0, false
		}
		return bytes.Compare(a.Value, b.Value), true
	}
	return 0, false
}

// ddbEqual compares two values deeply; sets compare as sets.
func ddbEqual(a, b ddbAV) bool {
	if c, ok := ddbCompare(a, b); ok {
		return c == 0
	}
	switch a := a.(type) {
	case *ddbtypes.AttributeValueMemberBOOL:
		b, ok := b.(*ddbtypes.AttributeValueMemberBOOL)
		return ok && a.Value == b.Value
	case *ddbtypes.AttributeValueMemberNULL:
		_, ok := b.(*ddbtypes.AttributeValueMemberNULL)
		return ok
	case *ddbtypes.AttributeValueMemberSS:
		b, ok := b.(*ddbtypes.AttributeValueMemberSS)
		return ok && ddbSameSet(a.Value, b.Value, func(s string) string { return s })
	case *ddbtypes.AttributeValueMemberNS:
		b, ok := b.(*ddbtypes.AttributeValueMemberNS)
		return ok && ddbSameSet(a.Value, b.Value, ddbCanonNum)
	case *ddbtypes.AttributeValueMemberBS:
		b, ok := b.(*ddbtypes.AttributeValueMemberBS)
		return ok && ddbSameSet(a.Value, b.Value, func(v []byte) string { return string(v) })
	case *ddbtypes.AttributeValueMemberL:
		b, ok := b.(*ddbtypes.AttributeValueMemberL)
		if !ok || len(a.Value) != len(b.Value) {
			return false
		}
		for i := range a.Value {
			if !ddbEqual(a.Value[i], b.Value[i]) {
				return false
			}
		}
		return true
	case *ddbtypes.AttributeValueMemberM:
		b, ok := b.(*ddbtypes.AttributeValueMemberM)
		if !ok || len(a.Value) != len(b.Value) {
			return false
		}
		for k, v := range a.Value {
			w, ok := b.Value[k]
			if !ok || !ddbEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func ddbCanonNum(s string) string {
	if _, ok := ddbSmallInt(s); ok {
		return s
	}
	if r, ok := ddbNum(s); ok {
		return ddbFormatNum(r)
	}
	return s
}

func ddbSameSet[T any](a, b []T, key func(T) string) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]bool, len(a))
	for _, x := range a {
		m[key(x)] = true
	}
	for _, y := range b {
		if !m[key(y)] {
			return false
		}
	}
	return true
}

// --- evaluation ---

// ddbGet resolves a path in an item.
func ddbGet(item ddbItem, p *ddbPath) (ddbAV, bool) {
	if item == nil || len(p.elems) == 0 || p.elems[0].index >= 0 {
		return nil, false
	}
	cur, ok := item[p.elems[0].name]
	if !ok {
		return nil, false
	}
	for _, e := range p.elems[1:] {
		if e.index >= 0 {
			l, ok := cur.(*ddbtypes.AttributeValueMemberL)
			if !ok || e.index >= len(l.Value) {
				return nil, false
			}
			cur = l.Value[e.index]
		} else {
			m, ok := cur.(*ddbtypes.AttributeValueMemberM)
			if !ok {
				return nil, false
			}
			if cur, ok = m.Value[e.name]; !ok {
				return nil, false
			}
		}
	}
	return cur, true
}

// ddbOperandValue evaluates a condition operand; ok is false when a path
// does not resolve.
func ddbOperandValue(item ddbItem, o any) (ddbAV, bool) {
	switch o := o.(type) {
	case *ddbValRef:
		return o.av, true
	case *ddbPath:
		return ddbGet(item, o)
	case *ddbSize:
		v, ok := ddbGet(item, o.path)
		if !ok {
			return nil, false
		}
		n := -1
		switch v := v.(type) {
		case *ddbtypes.AttributeValueMemberS:
			n = len(v.Value)
		case *ddbtypes.AttributeValueMemberB:
			n = len(v.Value)
		case *ddbtypes.AttributeValueMemberSS:
			n = len(v.Value)
		case *ddbtypes.AttributeValueMemberNS:
			n = len(v.Value)
		case *ddbtypes.AttributeValueMemberBS:
			n = len(v.Value)
		case *ddbtypes.AttributeValueMemberL:
			n = len(v.Value)
		case *ddbtypes.AttributeValueMemberM:
			n = len(v.Value)
		}
		if n < 0 {
			return nil, false
		}
		return &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(n)}, true
	}
	return nil, false
}

// ddbEval evaluates a condition against an item (nil: no item).
func ddbEval(item ddbItem, c any) bool {
	switch c := c.(type) {
	case *ddbAnd:
		return ddbEval(item, c.l) && ddbEval(item, c.r)
	case *ddbOr:
		return ddbEval(item, c.l) || ddbEval(item, c.r)
	case *ddbNot:
		return !ddbEval(item, c.c)
	case *ddbCmp:
		l, lok := ddbOperandValue(item, c.l)
		r, rok := ddbOperandValue(item, c.r)
		if !lok || !rok {
			return c.op == "<>"
		}
		switch c.op {
		case "=":
			return ddbEqual(l, r)
		case "<>":
			return !ddbEqual(l, r)
		}
		n, ok := ddbCompare(l, r)
		if !ok {
			return false
		}
		switch c.op {
		case "<":
			return n < 0
		case "<=":
			return n <= 0
		case ">":
			return n > 0
		default:
			return n >= 0
		}
	case *ddbBetween:
		v, ok1 := ddbOperandValue(item, c.v)
		lo, ok2 := ddbOperandValue(item, c.lo)
		hi, ok3 := ddbOperandValue(item, c.hi)
		if !ok1 || !ok2 || !ok3 {
			return false
		}
		a, okA := ddbCompare(v, lo)
		b, okB := ddbCompare(v, hi)
		return okA && okB && a >= 0 && b <= 0
	case *ddbIn:
		v, ok := ddbOperandValue(item, c.v)
		if !ok {
			return false
		}
		for _, o := range c.list {
			if w, ok := ddbOperandValue(item, o); ok && ddbEqual(v, w) {
				return true
			}
		}
		return false
	case *ddbFunc:
		return ddbEvalFunc(item, c)
	}
	return false
}

func ddbEvalFunc(item ddbItem, f *ddbFunc) bool {
	v, exists := ddbGet(item, f.args[0].(*ddbPath))
	switch f.name {
	case "attribute_exists":
		return exists
	case "attribute_not_exists":
		return !exists
	}
	if !exists {
		return false
	}
	arg, ok := ddbOperandValue(item, f.args[1])
	if !ok {
		return false
	}
	switch f.name {
	case "attribute_type":
		s, ok := arg.(*ddbtypes.AttributeValueMemberS)
		return ok && ddbTypeName(v) == s.Value
	case "begins_with":
		switch v := v.(type) {
		case *ddbtypes.AttributeValueMemberS:
			p, ok := arg.(*ddbtypes.AttributeValueMemberS)
			return ok && strings.HasPrefix(v.Value, p.Value)
		case *ddbtypes.AttributeValueMemberB:
			p, ok := arg.(*ddbtypes.AttributeValueMemberB)
			return ok && bytes.HasPrefix(v.Value, p.Value)
		}
		return false
	case "contains":
		switch v := v.(type) {
		case *ddbtypes.AttributeValueMemberS:
			p, ok := arg.(*ddbtypes.AttributeValueMemberS)
			return ok && strings.Contains(v.Value, p.Value)
		case *ddbtypes.AttributeValueMemberB:
			p, ok := arg.(*ddbtypes.AttributeValueMemberB)
			return ok && bytes.Contains(v.Value, p.Value)
		case *ddbtypes.AttributeValueMemberSS:
			p, ok := arg.(*ddbtypes.AttributeValueMemberS)
			return ok && ddbContainsStr(v.Value, p.Value)
		case *ddbtypes.AttributeValueMemberNS:
			p, ok := arg.(*ddbtypes.AttributeValueMemberN)
			if !ok {
				return false
			}
			for _, n := range v.Value {
				if ddbCanonNum(n) == ddbCanonNum(p.Value) {
					return true
				}
			}
		case *ddbtypes.AttributeValueMemberBS:
			p, ok := arg.(*ddbtypes.AttributeValueMemberB)
			if !ok {
				return false
			}
			for _, b := range v.Value {
				if bytes.Equal(b, p.Value) {
					return true
				}
			}
		case *ddbtypes.AttributeValueMemberL:
			for _, e := range v.Value {
				if ddbEqual(e, arg) {
					return true
				}
			}
		}
	}
	return false
}

func ddbContainsStr(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// ddbSetValue evaluates a SET operand against the original item.
func ddbSetValue(item ddbItem, o any) (ddbAV, error) {
	switch o := o.(type) {
	case *ddbValRef:
		return o.av, nil
	case *ddbPath:
		v, ok := ddbGet(item, o)
		if !ok {
			return nil, ddbValidation("The provided expression refers to an attribute that does not exist in the item")
		}
		return v, nil
	case *ddbIfNotExists:
		if v, ok := ddbGet(item, o.path); ok {
			return v, nil
		}
		return ddbSetValue(item, o.v)
	case *ddbListAppend:
		a, err := ddbSetValue(item, o.a)
		if err != nil {
			return nil, err
		}
		b, err := ddbSetValue(item, o.b)
		if err != nil {
			return nil, err
		}
		la, ok1 := a.(*ddbtypes.AttributeValueMemberL)
		lb, ok2 := b.(*ddbtypes.AttributeValueMemberL)
		if !ok1 || !ok2 {
			return nil, ddbValidation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: %s", ddbTypeName(map[bool]ddbAV{true: b, false: a}[ok1]))
		}
		out := make([]ddbAV, 0, len(la.Value)+len(lb.Value))
		out = append(append(out, la.Value...), lb.Value...)
		return &ddbtypes.AttributeValueMemberL{Value: out}, nil
	case *ddbArith:
		a, err := ddbSetValue(item, o.l)
		if err != nil {
			return nil, err
		}
		b, err := ddbSetValue(item, o.r)
		if err != nil {
			return nil, err
		}
		na, ok1 := a.(*ddbtypes.AttributeValueMemberN)
		nb, ok2 := b.(*ddbtypes.AttributeValueMemberN)
		if !ok1 || !ok2 {
			return nil, ddbValidation("An operand in the update expression has an incorrect data type")
		}
		x, ok1 := ddbNum(na.Value)
		y, ok2 := ddbNum(nb.Value)
		if !ok1 || !ok2 {
			return nil, ddbValidation("A value provided cannot be converted into a number")
		}
		if o.op == '+' {
			x = new(big.Rat).Add(x, y)
		} else {
			x = new(big.Rat).Sub(x, y)
		}
		return &ddbtypes.AttributeValueMemberN{Value: ddbFormatNum(x)}, nil
	}
	return nil, ddbValidation("Invalid UpdateExpression: unsupported operand")
}

var errDDBInvalidPath = ddbValidation("The document path provided in the update expression is invalid for update")

// ddbSetIn sets v at elems below cur and returns the new cur.
func ddbSetIn(cur ddbAV, elems []ddbPathElem, v ddbAV) (ddbAV, error) {
	if len(elems) == 0 {
		return v, nil
	}
	e := elems[0]
	if e.index >= 0 {
		l, ok := cur.(*ddbtypes.AttributeValueMemberL)
		if !ok {
			return nil, errDDBInvalidPath
		}
		if e.index >= len(l.Value) {
			if len(elems) > 1 {
				return nil, errDDBInvalidPath
			}
			l.Value = append(l.Value, v) // past the end: appended, as DynamoDB does
			return l, nil
		}
		nv, err := ddbSetIn(l.Value[e.index], elems[1:], v)
		if err != nil {
			return nil, err
		}
		l.Value[e.index] = nv
		return l, nil
	}
	m, ok := cur.(*ddbtypes.AttributeValueMemberM)
	if !ok {
		return nil, errDDBInvalidPath
	}
	child, exists := m.Value[e.name]
	if !exists && len(elems) > 1 {
		return nil, errDDBInvalidPath
	}
	nv, err := ddbSetIn(child, elems[1:], v)
	if err != nil {
		return nil, err
	}
	if m.Value == nil {
		m.Value = map[string]ddbAV{}
	}
	m.Value[e.name] = nv
	return m, nil
}

// ddbSetPath sets a path in an item (which the caller owns, deep-copied).
func ddbSetPath(item ddbItem, p *ddbPath, v ddbAV) error {
	top := p.elems[0].name
	if len(p.elems) == 1 {
		item[top] = v
		return nil
	}
	cur, ok := item[top]
	if !ok {
		return errDDBInvalidPath
	}
	nv, err := ddbSetIn(cur, p.elems[1:], v)
	if err != nil {
		return err
	}
	item[top] = nv
	return nil
}

// ddbRemovePath removes a path; a missing path is not an error.
func ddbRemovePath(item ddbItem, p *ddbPath) {
	if len(p.elems) == 1 {
		delete(item, p.elems[0].name)
		return
	}
	parent := &ddbPath{elems: p.elems[:len(p.elems)-1]}
	cur, ok := ddbGet(item, parent)
	if !ok {
		return
	}
	last := p.elems[len(p.elems)-1]
	switch c := cur.(type) {
	case *ddbtypes.AttributeValueMemberM:
		if last.index < 0 {
			delete(c.Value, last.name)
		}
	case *ddbtypes.AttributeValueMemberL:
		if last.index >= 0 && last.index < len(c.Value) {
			c.Value = append(c.Value[:last.index], c.Value[last.index+1:]...)
		}
	}
}

// ddbApplyUpdate applies u to item (owned by the caller) and returns the
// top-level attribute names it touched. Operands read the original item.
func ddbApplyUpdate(item ddbItem, u *ddbUpdate) ([]string, error) {
	orig := ddbCopyItem(item)
	var touched []string
	for _, a := range u.sets {
		v, err := ddbSetValue(orig, a.v)
		if err != nil {
			return nil, err
		}
		if err := ddbSetPath(item, a.path, ddbCopyAV(v)); err != nil {
			return nil, err
		}
		touched = append(touched, a.path.elems[0].name)
	}
	for _, p := range u.removes {
		ddbRemovePath(item, p)
		touched = append(touched, p.elems[0].name)
	}
	for _, a := range u.adds {
		add := a.v.(*ddbValRef).av
		cur, exists := ddbGet(item, a.path)
		var nv ddbAV
		switch add := add.(type) {
		case *ddbtypes.AttributeValueMemberN:
			x, ok := ddbNum(add.Value)
			if !ok {
				return nil, ddbValidation("A value provided cannot be converted into a number")
			}
			if exists {
				c, ok := cur.(*ddbtypes.AttributeValueMemberN)
				if !ok {
					return nil, ddbValidation("An operand in the update expression has an incorrect data type")
				}
				y, _ := ddbNum(c.Value)
				x = new(big.Rat).Add(x, y)
			}
			nv = &ddbtypes.AttributeValueMemberN{Value: ddbFormatNum(x)}
		case *ddbtypes.AttributeValueMemberSS, *ddbtypes.AttributeValueMemberNS, *ddbtypes.AttributeValueMemberBS:
			if !exists {
				nv = ddbCopyAV(add)
				break
			}
			var err error
			if nv, err = ddbSetUnion(cur, add); err != nil {
				return nil, err
			}
		default:
			return nil, ddbValidation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: %s", ddbTypeName(add))
		}
		if err := ddbSetPath(item, a.path, nv); err != nil {
			return nil, err
		}
		touched = append(touched, a.path.elems[0].name)
	}
	for _, a := range u.deletes {
		del := a.v.(*ddbValRef).av
		switch del.(type) {
		case *ddbtypes.AttributeValueMemberSS, *ddbtypes.AttributeValueMemberNS, *ddbtypes.AttributeValueMemberBS:
		default:
			return nil, ddbValidation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: %s", ddbTypeName(del))
		}
		cur, exists := ddbGet(item, a.path)
		touched = append(touched, a.path.elems[0].name)
		if !exists {
			continue
		}
		nv, err := ddbSetMinus(cur, del)
		if err != nil {
			return nil, err
		}
		if nv == nil {
			ddbRemovePath(item, a.path)
		} else if err := ddbSetPath(item, a.path, nv); err != nil {
			return nil, err
		}
	}
	return touched, nil
}

func ddbSetUnion(cur, add ddbAV) (ddbAV, error) {
	switch c := cur.(type) {
	case *ddbtypes.AttributeValueMemberSS:
		if a, ok := add.(*ddbtypes.AttributeValueMemberSS); ok {
			return &ddbtypes.AttributeValueMemberSS{Value: ddbUnion(c.Value, a.Value, func(s string) string { return s })}, nil
		}
	case *ddbtypes.AttributeValueMemberNS:
		if a, ok := add.(*ddbtypes.AttributeValueMemberNS); ok {
			return &ddbtypes.AttributeValueMemberNS{Value: ddbUnion(c.Value, a.Value, ddbCanonNum)}, nil
		}
	case *ddbtypes.AttributeValueMemberBS:
		if a, ok := add.(*ddbtypes.AttributeValueMemberBS); ok {
			return &ddbtypes.AttributeValueMemberBS{Value: ddbUnion(c.Value, a.Value, func(b []byte) string { return string(b) })}, nil
		}
	}
	return nil, ddbValidation("An operand in the update expression has an incorrect data type")
}

func ddbUnion[T any](a, b []T, key func(T) string) []T {
	seen := make(map[string]bool, len(a))
	out := append([]T(nil), a...)
	for _, x := range a {
		seen[key(x)] = true
	}
	for _, y := range b {
		if !seen[key(y)] {
			seen[key(y)] = true
			out = append(out, y)
		}
	}
	return out
}

func ddbMinus[T any](a, b []T, key func(T) string) []T {
	drop := make(map[string]bool, len(b))
	for _, y := range b {
		drop[key(y)] = true
	}
	var out []T
	for _, x := range a {
		if !drop[key(x)] {
			out = append(out, x)
		}
	}
	return out
}

// ddbSetMinus removes del's elements from cur; nil when the set is empty.
func ddbSetMinus(cur, del ddbAV) (ddbAV, error) {
	switch c := cur.(type) {
	case *ddbtypes.AttributeValueMemberSS:
		if d, ok := del.(*ddbtypes.AttributeValueMemberSS); ok {
			if out := ddbMinus(c.Value, d.Value, func(s string) string { return s }); len(out) > 0 {
				return &ddbtypes.AttributeValueMemberSS{Value: out}, nil
			}
			return nil, nil
		}
	case *ddbtypes.AttributeValueMemberNS:
		if d, ok := del.(*ddbtypes.AttributeValueMemberNS); ok {
			if out := ddbMinus(c.Value, d.Value, ddbCanonNum); len(out) > 0 {
				return &ddbtypes.AttributeValueMemberNS{Value: out}, nil
			}
			return nil, nil
		}
	case *ddbtypes.AttributeValueMemberBS:
		if d, ok := del.(*ddbtypes.AttributeValueMemberBS); ok {
			if out := ddbMinus(c.Value, d.Value, func(b []byte) string { return string(b) }); len(out) > 0 {
				return &ddbtypes.AttributeValueMemberBS{Value: out}, nil
			}
			return nil, nil
		}
	}
	return nil, ddbValidation("An operand in the update expression has an incorrect data type")
}

// ddbProject returns the projection of item onto paths.
// ddbProjectOwn is ddbProject of an item the caller owns (a stored item
// unpacked for it): without a projection it is the answer itself.
func ddbProjectOwn(item ddbItem, paths []*ddbPath) ddbItem {
	if paths == nil {
		return item
	}
	return ddbProject(item, paths)
}

func ddbProject(item ddbItem, paths []*ddbPath) ddbItem {
	if paths == nil {
		return ddbCopyItem(item)
	}
	out := ddbItem{}
	for _, p := range paths {
		v, ok := ddbGet(item, p)
		if !ok {
			continue
		}
		ddbProjectInto(out, p.elems, ddbCopyAV(v))
	}
	return out
}

// ddbProjectInto places v at elems in out, creating maps and (compacted)
// lists on the way, as DynamoDB shapes projected documents.
func ddbProjectInto(out ddbItem, elems []ddbPathElem, v ddbAV) {
	top := elems[0].name
	if len(elems) == 1 {
		out[top] = v
		return
	}
	var mk func(cur ddbAV, es []ddbPathElem) ddbAV
	mk = func(cur ddbAV, es []ddbPathElem) ddbAV {
		if len(es) == 0 {
			return v
		}
		e := es[0]
		if e.index >= 0 {
			l, ok := cur.(*ddbtypes.AttributeValueMemberL)
			if !ok {
				l = &ddbtypes.AttributeValueMemberL{}
			}
			l.Value = append(l.Value, mk(nil, es[1:]))
			return l
		}
		m, ok := cur.(*ddbtypes.AttributeValueMemberM)
		if !ok {
			m = &ddbtypes.AttributeValueMemberM{Value: map[string]ddbAV{}}
		}
		m.Value[e.name] = mk(m.Value[e.name], es[1:])
		return m
	}
	out[top] = mk(out[top], elems[1:])
}

// ddbCopyAV deep-copies a value so stored items never alias caller memory.
func ddbCopyAV(v ddbAV) ddbAV {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return &ddbtypes.AttributeValueMemberS{Value: v.Value}
	case *ddbtypes.AttributeValueMemberN:
		return &ddbtypes.AttributeValueMemberN{Value: v.Value}
	case *ddbtypes.AttributeValueMemberB:
		return &ddbtypes.AttributeValueMemberB{Value: append([]byte(nil), v.Value...)}
	case *ddbtypes.AttributeValueMemberBOOL:
		return &ddbtypes.AttributeValueMemberBOOL{Value: v.Value}
	case *ddbtypes.AttributeValueMemberNULL:
		return &ddbtypes.AttributeValueMemberNULL{Value: v.Value}
	case *ddbtypes.AttributeValueMemberSS:
		return &ddbtypes.AttributeValueMemberSS{Value: append([]string(nil), v.Value...)}
	case *ddbtypes.AttributeValueMemberNS:
		return &ddbtypes.AttributeValueMemberNS{Value: append([]string(nil), v.Value...)}
	case *ddbtypes.AttributeValueMemberBS:
		out := make([][]byte, len(v.Value))
		for i, b := range v.Value {
			out[i] = append([]byte(nil), b...)
		}
		return &ddbtypes.AttributeValueMemberBS{Value: out}
	case *ddbtypes.AttributeValueMemberL:
		out := make([]ddbAV, len(v.Value))
		for i, e := range v.Value {
			out[i] = ddbCopyAV(e)
		}
		return &ddbtypes.AttributeValueMemberL{Value: out}
	case *ddbtypes.AttributeValueMemberM:
		return &ddbtypes.AttributeValueMemberM{Value: ddbCopyItem(v.Value)}
	}
	return v
}

// ddbCopyItem deep-copies an item.
func ddbCopyItem(item ddbItem) ddbItem {
	if item == nil {
		return nil
	}
	out := make(ddbItem, len(item))
	for k, v := range item {
		out[k] = ddbCopyAV(v)
	}
	return out
}
