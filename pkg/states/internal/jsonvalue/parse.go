package jsonvalue

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// maxParseDepth bounds the nesting Parse handles itself. encoding/json allows 10,000 levels;
// deeper documents than this are left to it, so its limit and its error stay the ones that
// apply.
const maxParseDepth = 512

// Parse decodes one JSON document into the values encoding/json's Decoder produces with
// UseNumber: nil, bool, string, json.Number, []any and map[string]any (a repeated object key
// keeps its last value). It is the engine's fast path for task results, execution input and
// definitions: it allocates the document's text once and slices strings and numbers out of it,
// where encoding/json allocates a decoder, a buffer and every string separately.
//
// ok is false when the document is not valid JSON, has anything but white space after the
// value, nests deeper than maxParseDepth, or holds a string Parse does not decode itself
// (invalid UTF-8, an unpaired surrogate escape). The caller then decodes with encoding/json,
// which gives the value or the error it has always given: Parse never decides that a document
// is invalid, it only declines.
func Parse(data []byte) (v any, ok bool) {
	v, _, _, ok = ParseCanonical(data)
	return v, ok
}

// ParseCanonical is Parse, and also reports whether the document is already in the form
// encoding/json.Marshal writes the value in (no white space, object keys unique and sorted,
// strings with nothing Marshal would escape); text is then that form, shared with the
// strings in v, so a caller that needs the compact JSON as well need not encode v again.
// canonical false says nothing: the document may still be canonical.
func ParseCanonical(data []byte) (v any, text string, canonical, ok bool) {
	p := parser{s: string(data), canon: true}
	p.skipSpace()
	v, ok = p.value(0)
	if !ok {
		return nil, "", false, false
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, "", false, false
	}
	if !p.canon {
		return v, "", false, true
	}
	return v, p.s, true, true
}

type parser struct {
	s string
	i int
	// canon stays true while the document is as encoding/json.Marshal would write it.
	canon bool
	// stack holds the elements of the arrays being parsed, innermost last, so an array is
	// allocated once at its final length.
	stack []any
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
			p.canon = false
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return s, true
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, false
}

func (p *parser) literal(lit string) bool {
	if len(p.s)-p.i < len(lit) || p.s[p.i:p.i+len(lit)] != lit {
		return false
	}
	p.i += len(lit)
	return true
}

func (p *parser) object(depth int) (any, bool) {
	if depth > maxParseDepth {
		return nil, false
	}
	p.i++ // '{'
	m := map[string]any{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return m, true
	}
	prev, first := "", true
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		if !first && k <= prev {
			p.canon = false // Marshal sorts the keys and writes each once
		}
		prev, first = k, false
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.skipSpace()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[k] = v
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipSpace()
		case '}':
			p.i++
			return m, true
		default:
			return nil, false
		}
	}
}

func (p *parser) array(depth int) (any, bool) {
	if depth > maxParseDepth {
		return nil, false
	}
	p.i++ // '['
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return []any{}, true
	}
	base := len(p.stack)
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, v)
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipSpace()
		case ']':
			p.i++
			out := make([]any, len(p.stack)-base)
			copy(out, p.stack[base:])
			clear(p.stack[base:])
			p.stack = p.stack[:base]
			return out, true
		default:
			return nil, false
		}
	}
}

// IsNumberLiteral reports whether s is exactly a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, nothing around it. It is what an encoder
// checks before writing a json.Number as it is, without running a whole JSON scanner.
func IsNumberLiteral(s string) bool {
	if s == "" {
		return false
	}
	end, ok := scanNumber(s, 0)
	return ok && end == len(s)
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and keeps its text, as
// UseNumber does.
func (p *parser) number() (any, bool) {
	end, ok := scanNumber(p.s, p.i)
	if !ok {
		return nil, false
	}
	n := json.Number(p.s[p.i:end])
	p.i = end
	return n, true
}

// scanNumber returns the end of the JSON number starting at s[i].
func scanNumber(s string, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	return i, true
}

// str scans a string starting at its opening quote. One without escapes is a slice of the
// document; one with escapes is built, and declined if it holds an unpaired surrogate.
func (p *parser) str() (string, bool) {
	s := p.s
	i := p.i + 1
	start := i
	ascii := true
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			out := s[start:i]
			if !ascii && !utf8.ValidString(out) {
				return "", false
			}
			return out, true
		case c == '\\':
			return p.escaped(start, i)
		case c < 0x20:
			return "", false
		case c >= 0x7f:
			ascii = false
			p.canon = false
		case c == '<' || c == '>' || c == '&':
			p.canon = false // Marshal escapes them
		}
		i++
	}
	return "", false
}

// escaped finishes a string whose first escape is at i.
func (p *parser) escaped(start, i int) (string, bool) {
	p.canon = false
	s := p.s
	b := make([]byte, 0, i-start+16)
	b = append(b, s[start:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			if !utf8.Valid(b) {
				return "", false
			}
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b = append(b, s[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by an escaped low one is decoded here;
				// encoding/json's replacement rules for the rest stay its own.
				if i+1 >= len(s) || s[i] != '\\' || s[i+1] != 'u' {
					return "", false
				}
				r2, ok := hex4(s, i+2)
				if !ok {
					return "", false
				}
				dec := utf16.DecodeRune(r, r2)
				if dec == utf8.RuneError {
					return "", false
				}
				r = dec
				i += 6
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
