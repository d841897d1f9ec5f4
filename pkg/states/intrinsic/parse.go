package intrinsic

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pendulum-dr/pendulum/pkg/states/jsonpath"
)

// MaxNesting is how deeply intrinsic calls may nest within one field; Step Functions allows 10.
const MaxNesting = 10

// argKind is the syntactic kind of an argument.
type argKind uint8

const (
	argString argKind = iota
	argNumber
	argBool
	argNull
	argPath
	argCall
)

// arg is one parsed argument.
type arg struct {
	kind argKind
	// str is the decoded value of a string literal (with each placeholder "{}" in place), or
	// the text of a path as written.
	str string
	// holes are the byte offsets in str of the unescaped "{}" placeholders of a string literal;
	// an escaped "\{\}" is literal text and not a hole.
	holes []int
	num   json.Number
	b     bool
	call  *Call
	path  *jsonpath.Path
	// lit is the value of a string, number or boolean literal, boxed once
	// at parse time rather than on every evaluation.
	lit any
}

// SyntaxError describes why an invocation failed to parse and where.
type SyntaxError struct {
	Expr   string // the whole invocation
	Offset int    // byte offset of the problem in Expr
	Msg    string
}

// Error reports the message with the offset and the invocation.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid intrinsic function %q: %s at position %d", e.Expr, e.Msg, e.Offset)
}

type parser struct {
	src string
	pos int
}

func (p *parser) errf(at int, format string, args ...any) error {
	return &SyntaxError{Expr: p.src, Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) skipSpaces() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

func (p *parser) describe() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

func parse(expr string) (*Call, error) {
	p := &parser{src: expr}
	c, err := p.parseCall(1)
	if err != nil {
		return nil, err
	}
	p.skipSpaces()
	if p.pos != len(p.src) {
		return nil, p.errf(p.pos, "unexpected %s after the closing ')'", p.describe())
	}
	return c, nil
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func (p *parser) parseCall(depth int) (*Call, error) {
	start := p.pos
	if depth > MaxNesting {
		return nil, p.errf(start, "intrinsic functions nest more than %d deep", MaxNesting)
	}
	if !strings.HasPrefix(p.src[p.pos:], "States.") {
		return nil, p.errf(start, "expected an intrinsic function such as States.Format(…)")
	}
	p.pos += len("States.")
	nameAt := p.pos
	for p.pos < len(p.src) && isIdent(p.src[p.pos]) {
		p.pos++
	}
	name := "States." + p.src[nameAt:p.pos]
	fn, ok := functions[name]
	if !ok {
		return nil, p.errf(start, "unknown intrinsic function %s", name)
	}
	p.skipSpaces()
	if p.peek() != '(' {
		return nil, p.errf(p.pos, "expected '(' after %s, found %s", name, p.describe())
	}
	p.pos++
	c := &Call{name: name, fn: fn}
	p.skipSpaces()
	if p.peek() == ')' {
		p.pos++
	} else {
		for {
			a, err := p.parseArg(depth)
			if err != nil {
				return nil, err
			}
			switch a.kind {
			case argString:
				a.lit = a.str
			case argNumber:
				a.lit = a.num
			case argBool:
				a.lit = a.b
			}
			c.args = append(c.args, a)
			p.skipSpaces()
			if p.peek() == ',' {
				p.pos++
				continue
			}
			if p.peek() == ')' {
				p.pos++
				break
			}
			return nil, p.errf(p.pos, "expected ',' or ')' in the arguments of %s, found %s", name, p.describe())
		}
	}
	if err := fn.check(c); err != nil {
		return nil, p.errf(start, "%s", err)
	}
	return c, nil
}

func (p *parser) parseArg(depth int) (arg, error) {
	p.skipSpaces()
	start := p.pos
	switch c := p.peek(); {
	case c == '\'':
		return p.parseString()
	case c == '$':
		return p.parsePath()
	case c == '-' || (c >= '0' && c <= '9'):
		for p.pos < len(p.src) && strings.IndexByte("0123456789+-.eE", p.src[p.pos]) >= 0 {
			p.pos++
		}
		text := p.src[start:p.pos]
		if !json.Valid([]byte(text)) {
			return arg{}, p.errf(start, "bad number %q", text)
		}
		return arg{kind: argNumber, num: json.Number(text)}, nil
	case c == 'S':
		call, err := p.parseCall(depth + 1)
		if err != nil {
			return arg{}, err
		}
		return arg{kind: argCall, call: call}, nil
	}
	for _, kw := range []string{"true", "false", "null"} {
		if strings.HasPrefix(p.src[p.pos:], kw) && (p.pos+len(kw) == len(p.src) || !isIdent(p.src[p.pos+len(kw)])) {
			p.pos += len(kw)
			switch kw {
			case "true":
				return arg{kind: argBool, b: true}, nil
			case "false":
				return arg{kind: argBool}, nil
			}
			return arg{kind: argNull}, nil
		}
	}
	if p.pos >= len(p.src) {
		return arg{}, p.errf(p.pos, "unexpected end of input, expected an argument")
	}
	return arg{}, p.errf(p.pos, "expected an argument ('string', number, true, false, null, a path or States.…), found %s", p.describe())
}

// parseString reads a single-quoted literal. Backslash escapes only ', {, } and \; any other
// backslash is an error (Step Functions rejects an "open escape").
func (p *parser) parseString() (arg, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	var holes []int
	for {
		if p.pos >= len(p.src) {
			return arg{}, p.errf(start, "unterminated string literal")
		}
		c := p.src[p.pos]
		switch c {
		case '\'':
			p.pos++
			return arg{kind: argString, str: b.String(), holes: holes}, nil
		case '\\':
			if p.pos+1 >= len(p.src) {
				return arg{}, p.errf(p.pos, "open escape '\\' at the end of the string")
			}
			e := p.src[p.pos+1]
			switch e {
			case '\'', '{', '}', '\\':
				b.WriteByte(e)
				p.pos += 2
			default:
				return arg{}, p.errf(p.pos, "open escape '\\' before %q; only \\', \\{, \\} and \\\\ are escapes", e)
			}
		case '{':
			if p.pos+1 < len(p.src) && p.src[p.pos+1] == '}' {
				holes = append(holes, b.Len())
				b.WriteString("{}")
				p.pos += 2
				continue
			}
			b.WriteByte(c)
			p.pos++
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

// parsePath reads a path argument up to the ',' or ')' that ends it, skipping brackets,
// parentheses and quoted names inside it, and compiles it.
func (p *parser) parsePath() (arg, error) {
	start := p.pos
	depth := 0
	var quote byte
scan:
	for ; p.pos < len(p.src); p.pos++ {
		c := p.src[p.pos]
		if quote != 0 {
			if c == '\\' {
				p.pos++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
		case '[', '(':
			depth++
		case ']':
			depth--
		case ')':
			if depth == 0 {
				break scan
			}
			depth--
		case ',':
			if depth == 0 {
				break scan
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				break scan
			}
		}
	}
	if p.pos > len(p.src) {
		p.pos = len(p.src)
	}
	text := p.src[start:p.pos]
	toCompile := text
	if strings.HasPrefix(text, "$$") {
		toCompile = text[1:]
	}
	path, err := jsonpath.Compile(toCompile)
	if err != nil {
		return arg{}, p.errf(start, "bad path argument %q: %v", text, err)
	}
	return arg{kind: argPath, str: text, path: path}, nil
}

func (c *Call) string() string {
	var b strings.Builder
	c.write(&b)
	return b.String()
}

func (c *Call) write(b *strings.Builder) {
	b.WriteString(c.name)
	b.WriteByte('(')
	for i := range c.args {
		if i > 0 {
			b.WriteString(", ")
		}
		a := &c.args[i]
		switch a.kind {
		case argString:
			writeString(b, a)
		case argNumber:
			b.WriteString(string(a.num))
		case argBool:
			b.WriteString(strconv.FormatBool(a.b))
		case argNull:
			b.WriteString("null")
		case argPath:
			b.WriteString(a.str)
		case argCall:
			a.call.write(b)
		}
	}
	b.WriteByte(')')
}

// writeString writes a string literal so that it parses back to the same value and holes.
func writeString(b *strings.Builder, a *arg) {
	b.WriteByte('\'')
	h := 0
	for i := 0; i < len(a.str); i++ {
		if h < len(a.holes) && a.holes[h] == i {
			b.WriteString("{}")
			i++
			h++
			continue
		}
		switch c := a.str[i]; c {
		case '\'', '{', '}', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}
