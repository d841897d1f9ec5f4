package jsonpath

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// stepKind is what one step of a path selects.
type stepKind uint8

const (
	stepName     stepKind = iota // .name, ['name'], ['a','b']
	stepIndex                    // [n], [n,m]
	stepWildcard                 // .*, [*]
	stepSlice                    // [a:b]
	stepFilter                   // [?(expr)]
)

// segment is one step of a compiled path. A deep segment ("..") applies its step to the node
// and to every descendant.
type segment struct {
	deep    bool
	kind    stepKind
	names   []string
	indexes []int
	// slice bounds; hasFrom/hasTo say whether they were written.
	from, to       int
	hasFrom, hasTo bool
	filter         expr
	leaf           bool // last segment of the path (Jayway merges multi-name leaves into one object)
}

func (s *segment) isReferenceStep() bool {
	if s.deep {
		return false
	}
	switch s.kind {
	case stepName:
		return len(s.names) == 1
	case stepIndex:
		return len(s.indexes) == 1
	}
	return false
}

// isDefinite follows Jayway: a single name or index, a multi-name leaf (merged into one object)
// and a function are definite; everything else may select several values.
func (s *segment) isDefinite() bool {
	if s.deep {
		return false
	}
	switch s.kind {
	case stepName:
		return len(s.names) == 1 || s.leaf
	case stepIndex:
		return len(s.indexes) == 1
	}
	return false
}

// maxDepth bounds the nesting of filters and brackets so hostile input cannot exhaust the stack.
const maxDepth = 64

// SyntaxError describes why an expression failed to compile and where.
type SyntaxError struct {
	Expr   string // the whole expression
	Offset int    // byte offset of the problem in Expr
	Msg    string
}

// Error reports the message with the offset and the expression.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSONPath %q: %s at position %d", e.Expr, e.Msg, e.Offset)
}

type parser struct {
	src   string
	pos   int
	depth int
}

func (p *parser) errf(at int, format string, args ...any) error {
	return &SyntaxError{Expr: p.src, Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) peekAt(i int) byte {
	if p.pos+i < len(p.src) {
		return p.src[p.pos+i]
	}
	return 0
}

func (p *parser) skipSpaces() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// describe names the character at the cursor for error messages.
func (p *parser) describe() string {
	if p.eof() {
		return "end of expression"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

func compile(expr string) (*Path, error) {
	p := &parser{src: expr}
	if p.peek() != '$' {
		return nil, p.errf(0, "a path must start with '$'")
	}
	path, err := p.parsePath(false)
	if err != nil {
		return nil, err
	}
	if !p.eof() {
		return nil, p.errf(p.pos, "unexpected %s", p.describe())
	}
	path.src = expr
	return path, nil
}

// parsePath parses a path starting at '$' (or '@' inside a filter). Outside a filter the whole
// rest of the input belongs to the path; inside one the path ends at the first character that
// cannot continue it.
func (p *parser) parsePath(inFilter bool) (*Path, error) {
	path := &Path{root: p.peek()}
	p.pos++
loop:
	for !p.eof() {
		c := p.peek()
		start := p.pos
		switch {
		case c == '.' && p.peekAt(1) == '.':
			p.pos += 2
			if p.eof() {
				return nil, p.errf(start, "a path must not end with '..'")
			}
			seg, err := p.parseStepAfterDot(inFilter)
			if err != nil {
				return nil, err
			}
			seg.deep = true
			path.segs = append(path.segs, seg)
		case c == '.':
			p.pos++
			if p.eof() {
				return nil, p.errf(start, "a path must not end with '.'")
			}
			seg, err := p.parseStepAfterDot(inFilter)
			if err != nil {
				return nil, err
			}
			path.segs = append(path.segs, seg)
		case c == '[':
			seg, err := p.parseBracket()
			if err != nil {
				return nil, err
			}
			path.segs = append(path.segs, seg)
		default:
			if inFilter {
				break loop
			}
			return nil, p.errf(p.pos, "unexpected %s, expected '.' or '['", p.describe())
		}
	}
	if n := len(path.segs); n > 0 {
		path.segs[n-1].leaf = true
	}
	path.definite, path.reference = path.isDefinite(), path.isReference()
	return path, nil
}

// nameStop reports whether c ends a dot-notation member name: '.', '[' and spaces do; inside a
// filter, operators and parentheses do too.
func nameStop(c byte, inFilter bool) bool {
	switch c {
	case '.', '[', ' ', '\t', '\n', '\r':
		return true
	case '(', ')', '<', '>', '=', '!', '~', '&', '|', ',', ']':
		return inFilter
	}
	return false
}

func (p *parser) parseStepAfterDot(inFilter bool) (segment, error) {
	switch c := p.peek(); c {
	case '*':
		p.pos++
		return segment{kind: stepWildcard}, nil
	case '[':
		return p.parseBracket()
	case '.':
		return segment{}, p.errf(p.pos, "unexpected '.'")
	}
	start := p.pos
	for !p.eof() && !nameStop(p.peek(), inFilter) {
		p.pos++
	}
	if inFilter && strings.HasPrefix(p.src[p.pos:], "()") {
		// "@.list.length()": Step Functions does not evaluate path functions, so the
		// parentheses are part of the member name, as they are outside a filter.
		p.pos += 2
	}
	name := p.src[start:p.pos]
	if name == "" {
		return segment{}, p.errf(start, "expected a member name, found %s", p.describe())
	}
	return segment{kind: stepName, names: []string{strings.ToValidUTF8(name, "\uFFFD")}}, nil
}

func (p *parser) parseBracket() (segment, error) {
	open := p.pos
	p.pos++ // '['
	p.skipSpaces()
	var seg segment
	switch c := p.peek(); {
	case c == '?':
		f, err := p.parseFilter()
		if err != nil {
			return seg, err
		}
		seg = segment{kind: stepFilter, filter: f}
	case c == '*':
		p.pos++
		seg = segment{kind: stepWildcard}
	case c == '\'' || c == '"':
		var names []string
		for {
			p.skipSpaces()
			if q := p.peek(); q != '\'' && q != '"' {
				return seg, p.errf(p.pos, "expected a quoted member name, found %s", p.describe())
			}
			s, err := p.parseQuoted()
			if err != nil {
				return seg, err
			}
			names = append(names, s)
			p.skipSpaces()
			if p.peek() != ',' {
				break
			}
			p.pos++
		}
		seg = segment{kind: stepName, names: names}
	case c == '-' || c == ':' || (c >= '0' && c <= '9'):
		s, err := p.parseIndexes()
		if err != nil {
			return seg, err
		}
		seg = s
	case p.eof():
		return seg, p.errf(open, "unclosed '['")
	default:
		return seg, p.errf(p.pos, "unexpected %s after '['", p.describe())
	}
	p.skipSpaces()
	if p.peek() != ']' {
		if p.eof() {
			return seg, p.errf(open, "unclosed '['")
		}
		return seg, p.errf(p.pos, "expected ']', found %s", p.describe())
	}
	p.pos++
	return seg, nil
}

// parseQuoted reads a single- or double-quoted string with backslash escapes.
func (p *parser) parseQuoted() (string, error) {
	q := p.peek()
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errf(start, "unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == q:
			p.pos++
			// JSON documents hold only valid UTF-8, so a name with malformed bytes could never
			// match; normalise it as the JSON decoder does.
			return strings.ToValidUTF8(b.String(), "\uFFFD"), nil
		case c == '\\':
			if p.pos+1 >= len(p.src) {
				return "", p.errf(p.pos, "unterminated escape")
			}
			e := p.src[p.pos+1]
			p.pos += 2
			switch e {
			case '\\', '\'', '"', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if p.pos+4 > len(p.src) {
					return "", p.errf(p.pos-2, "short \\u escape")
				}
				v, err := strconv.ParseUint(p.src[p.pos:p.pos+4], 16, 16)
				if err != nil {
					return "", p.errf(p.pos-2, "bad \\u escape")
				}
				p.pos += 4
				b.WriteRune(rune(v))
			default:
				return "", p.errf(p.pos-2, "unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

func (p *parser) parseInt() (int, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	for !p.eof() && p.peek() >= '0' && p.peek() <= '9' {
		p.pos++
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	if err != nil {
		return 0, p.errf(start, "bad array index %q", p.src[start:p.pos])
	}
	return n, nil
}

// parseIndexes reads "n", "n,m,…", "a:b", "a:", ":b". Jayway has no slice step, so "a:b:c" is
// an error as it is in Step Functions.
func (p *parser) parseIndexes() (segment, error) {
	p.skipSpaces()
	if p.peek() == ':' || p.isSliceAhead() {
		seg := segment{kind: stepSlice}
		if p.peek() != ':' {
			n, err := p.parseInt()
			if err != nil {
				return seg, err
			}
			seg.from, seg.hasFrom = n, true
			p.skipSpaces()
		}
		p.pos++ // ':'
		p.skipSpaces()
		if c := p.peek(); c == '-' || (c >= '0' && c <= '9') {
			n, err := p.parseInt()
			if err != nil {
				return seg, err
			}
			seg.to, seg.hasTo = n, true
			p.skipSpaces()
		}
		if p.peek() == ':' {
			return seg, p.errf(p.pos, "array slices with a step are not supported (Step Functions would ignore the step)")
		}
		return seg, nil
	}
	seg := segment{kind: stepIndex}
	for {
		p.skipSpaces()
		n, err := p.parseInt()
		if err != nil {
			return seg, err
		}
		seg.indexes = append(seg.indexes, n)
		p.skipSpaces()
		if p.peek() != ',' {
			return seg, nil
		}
		p.pos++
	}
}

func (p *parser) isSliceAhead() bool {
	for i := p.pos; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == ':':
			return true
		case c == '-' || c == ' ' || (c >= '0' && c <= '9'):
		default:
			return false
		}
	}
	return false
}

// ---- filters ----

func (p *parser) parseFilter() (expr, error) {
	start := p.pos
	p.pos++ // '?'
	p.skipSpaces()
	if p.peek() != '(' {
		return nil, p.errf(p.pos, "expected '(' after '?'")
	}
	p.pos++
	p.depth++
	if p.depth > maxDepth {
		return nil, p.errf(start, "filter nested too deeply")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.depth--
	p.skipSpaces()
	if p.peek() != ')' {
		return nil, p.errf(p.pos, "expected ')' to close the filter, found %s", p.describe())
	}
	p.pos++
	return e, nil
}

func (p *parser) parseOr() (expr, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpaces()
		if p.peek() != '|' || p.peekAt(1) != '|' {
			return left, nil
		}
		p.pos += 2
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &logicalExpr{op: "||", left: left, right: right}
	}
}

func (p *parser) parseAnd() (expr, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpaces()
		if p.peek() != '&' || p.peekAt(1) != '&' {
			return left, nil
		}
		p.pos += 2
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = &logicalExpr{op: "&&", left: left, right: right}
	}
}

func (p *parser) parseUnary() (expr, error) {
	p.skipSpaces()
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf(p.pos, "filter nested too deeply")
	}
	switch p.peek() {
	case '!':
		if p.peekAt(1) == '=' {
			break
		}
		p.pos++
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &notExpr{e: e}, nil
	case '(':
		p.pos++
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.skipSpaces()
		if p.peek() != ')' {
			return nil, p.errf(p.pos, "expected ')', found %s", p.describe())
		}
		p.pos++
		return &groupExpr{e: e}, nil
	}
	return p.parseRelation()
}

// relOps lists the relational operators, longest first so that "<=" wins over "<".
var relOps = []string{"===", "!==", "==", "!=", "<=", ">=", "=~", "<", ">", "subsetof", "anyof", "noneof", "contains", "size", "empty", "nin", "in"}

func (p *parser) parseRelation() (expr, error) {
	leftAt := p.pos
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	p.skipSpaces()
	op := ""
	for _, o := range relOps {
		if strings.HasPrefix(p.src[p.pos:], o) {
			if isLetter(o[0]) {
				// Word operators need a boundary after them.
				if n := p.pos + len(o); n < len(p.src) && (isLetter(p.src[n]) || p.src[n] >= '0' && p.src[n] <= '9') {
					continue
				}
			}
			op = o
			break
		}
	}
	if op == "" {
		if left.path == nil {
			return nil, p.errf(leftAt, "a literal alone is not a condition; compare it or use a path")
		}
		return &existsExpr{path: left.path}, nil
	}
	p.pos += len(op)
	p.skipSpaces()
	rightAt := p.pos
	right, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if op == "=~" && right.regex == nil && left.regex == nil {
		return nil, p.errf(rightAt, "the right side of =~ must be a /regular expression/")
	}
	return &relExpr{op: op, left: left, right: right}, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (p *parser) parseOperand() (operand, error) {
	p.skipSpaces()
	start := p.pos
	switch c := p.peek(); {
	case c == '@' || c == '$':
		sub, err := p.parsePath(true)
		if err != nil {
			return operand{}, err
		}
		sub.src = p.src[start:p.pos]
		return operand{path: sub}, nil
	case c == '\'' || c == '"':
		s, err := p.parseQuoted()
		if err != nil {
			return operand{}, err
		}
		return operand{lit: s, isLit: true}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		for !p.eof() && strings.IndexByte("0123456789-+.eE", p.peek()) >= 0 {
			p.pos++
		}
		text := p.src[start:p.pos]
		if !json.Valid([]byte(text)) {
			// Jayway reads numbers with Java's BigDecimal, which also takes forms such as
			// "1." or "+1"; keep them as the JSON number they denote.
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return operand{}, p.errf(start, "bad number %q", text)
			}
			text = strconv.FormatFloat(f, 'g', -1, 64)
		}
		return operand{lit: json.Number(text), isLit: true}, nil
	case c == '/':
		return p.parseRegex()
	case c == '[' || c == '{':
		end, err := p.matchingClose(p.pos)
		if err != nil {
			return operand{}, err
		}
		text := p.src[p.pos : end+1]
		v, err := decodeJSON(text)
		if err != nil {
			// Jayway also accepts single-quoted strings in array literals: ['a','b'].
			v, err = p.parseLooseArray(text)
			if err != nil {
				return operand{}, p.errf(start, "bad JSON literal %s", text)
			}
		}
		p.pos = end + 1
		return operand{lit: v, isLit: true}, nil
	case strings.HasPrefix(p.src[p.pos:], "true"):
		p.pos += 4
		return operand{lit: true, isLit: true}, nil
	case strings.HasPrefix(p.src[p.pos:], "false"):
		p.pos += 5
		return operand{lit: false, isLit: true}, nil
	case strings.HasPrefix(p.src[p.pos:], "null"):
		p.pos += 4
		return operand{lit: nil, isLit: true}, nil
	}
	return operand{}, p.errf(p.pos, "expected a path, literal or regular expression, found %s", p.describe())
}

// matchingClose finds the bracket that closes the one at i, skipping quoted strings.
func (p *parser) matchingClose(i int) (int, error) {
	depth := 0
	var quote byte
	for j := i; j < len(p.src); j++ {
		c := p.src[j]
		if quote != 0 {
			if c == '\\' {
				j++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
		case '[', '{':
			depth++
			if depth > maxDepth {
				return 0, p.errf(j, "literal nested too deeply")
			}
		case ']', '}':
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, p.errf(i, "unclosed %q", p.src[i])
}

// parseLooseArray reads an array literal whose items are numbers, quoted strings, booleans or
// null, as Jayway accepts in "in" and "nin" filters (['a', 'b']).
func (p *parser) parseLooseArray(text string) (any, error) {
	sub := &parser{src: text}
	if sub.peek() != '[' {
		return nil, fmt.Errorf("not an array")
	}
	sub.pos++
	out := []any{}
	sub.skipSpaces()
	if sub.peek() == ']' {
		return out, nil
	}
	for {
		o, err := sub.parseOperand()
		if err != nil || !o.isLit {
			return nil, fmt.Errorf("bad array item")
		}
		out = append(out, o.lit)
		sub.skipSpaces()
		switch sub.peek() {
		case ',':
			sub.pos++
		case ']':
			sub.pos++
			if sub.pos != len(text) {
				return nil, fmt.Errorf("trailing text")
			}
			return out, nil
		default:
			return nil, fmt.Errorf("bad array")
		}
	}
}

func (p *parser) parseRegex() (operand, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			return operand{}, p.errf(start, "unterminated regular expression")
		}
		c := p.src[p.pos]
		if c == '\\' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/' {
			b.WriteByte('/')
			p.pos += 2
			continue
		}
		if c == '\\' && p.pos+1 < len(p.src) {
			b.WriteString(p.src[p.pos : p.pos+2])
			p.pos += 2
			continue
		}
		p.pos++
		if c == '/' {
			break
		}
		b.WriteByte(c)
	}
	flagsAt := p.pos
	for !p.eof() && isLetter(p.peek()) {
		p.pos++
	}
	flags := p.src[flagsAt:p.pos]
	prefix := ""
	for _, f := range flags {
		switch f {
		case 'i', 'm', 's':
			if !strings.ContainsRune(prefix, f) {
				prefix += string(f)
			}
		case 'd', 'u', 'U':
			// Java's UNIX_LINES, UNICODE_CASE and UNICODE_CHARACTER_CLASS: Go's RE2 already
			// matches that way. (Go's own U flag means "ungreedy" and must not be passed on.)
		default:
			return operand{}, p.errf(flagsAt, "unsupported regular expression flag %q", f)
		}
	}
	pattern := b.String()
	full := `\A(?:` + pattern + `)\z`
	if prefix != "" {
		full = "(?" + prefix + ")" + full
	}
	re, err := regexp.Compile(full)
	if err != nil {
		return operand{}, p.errf(start, "bad regular expression: %v", err)
	}
	return operand{regex: re, regexSrc: p.src[start:p.pos]}, nil
}

func decodeJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}
