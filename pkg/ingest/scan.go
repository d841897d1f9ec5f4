package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// The JSON scanner below validates RFC 8259 JSON (strings must be valid
// UTF-8) without building values. It exists because encoding/json cannot
// validate a 1 MiB body of 500 records inside the per-record budget ingest
// sets itself (< 2 µs); BenchmarkParseAndBatch holds it to that.

// maxDepth bounds nesting so a hostile body cannot exhaust the stack.
const maxDepth = 512

// syntaxError is a JSON syntax error at a byte offset of the scanned input.
type syntaxError struct {
	off    int
	msg    string
	member bool // valid JSON, but a member ingest cannot accept (a duplicate)
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.off) }

// reason is the error as a Problem reason.
func (e *syntaxError) reason() string {
	if e.member {
		return e.Error()
	}
	return "invalid JSON: " + e.Error()
}

func errAt(off int, format string, args ...any) *syntaxError {
	return &syntaxError{off: off, msg: fmt.Sprintf(format, args...)}
}

// isSpace reports JSON insignificant whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// SWAR constants: lo has 0x01 in every byte, hi 0x80.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// plainMask flags, in the high bit of each byte, the bytes of the
// little-endian word x that a string cannot hold as they are: '\\', control
// characters and non-ASCII. The high bit is set by x-0x20 wrapping (< 0x20),
// by x itself (>= 0x80), or by s being zero ('\\'). Borrows only flag bytes
// above a true hit, so the lowest flag is exact, and the mask is zero exactly
// when no byte needs a closer look.
func plainMask(x uint64) uint64 {
	s := x ^ (lo * '\\')
	return ((x - lo*0x20) | x | (s - lo)) & hi
}

// plainPrefix returns the length of the run of plain string characters
// (printable ASCII other than '\\') that s starts with.
func plainPrefix(s []byte) int {
	if len(s) >= 32 {
		// The common case, a long plain run: find the first '\\'
		// (assembly), then test the bytes before it for control and
		// non-ASCII characters in one branch-free pass; only when that
		// flags something does the exact search below locate it.
		n := bytes.IndexByte(s, '\\')
		if n < 0 {
			n = len(s)
		}
		if printableASCII(s[:n]) {
			return n
		}
	}
	n := 0
	for len(s) >= 32 {
		m := plainMask(binary.LittleEndian.Uint64(s)) |
			plainMask(binary.LittleEndian.Uint64(s[8:])) |
			plainMask(binary.LittleEndian.Uint64(s[16:])) |
			plainMask(binary.LittleEndian.Uint64(s[24:]))
		if m != 0 {
			break
		}
		s = s[32:]
		n += 32
	}
	for len(s) >= 8 {
		if m := plainMask(binary.LittleEndian.Uint64(s)); m != 0 {
			return n + bits.TrailingZeros64(m)>>3
		}
		s = s[8:]
		n += 8
	}
	for i, c := range s {
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return n + i
		}
	}
	return n + len(s)
}

// printableASCII reports whether every byte of s is in 0x20-0x7f. A byte
// below 0x20 sets its high bit in x-0x20 (a borrow out of it can only set
// more bits above a byte that is already flagged); one at or above 0x80 has
// it set in x. The flags are OR-ed over the whole of s and tested once.
func printableASCII(s []byte) bool {
	// Four accumulators, one per word of a turn, keep the OR chains
	// independent so the CPU runs them side by side.
	var a0, a1, a2, a3 uint64
	whole := s
	for len(s) >= 32 {
		x0 := binary.LittleEndian.Uint64(s)
		x1 := binary.LittleEndian.Uint64(s[8:])
		x2 := binary.LittleEndian.Uint64(s[16:])
		x3 := binary.LittleEndian.Uint64(s[24:])
		a0 |= (x0 - lo*0x20) | x0
		a1 |= (x1 - lo*0x20) | x1
		a2 |= (x2 - lo*0x20) | x2
		a3 |= (x3 - lo*0x20) | x3
		s = s[32:]
	}
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		a0 |= (x - lo*0x20) | x
		s = s[8:]
	}
	if len(s) > 0 {
		if len(whole) >= 8 {
			// The last eight bytes, overlapping some already tested.
			x := binary.LittleEndian.Uint64(whole[len(whole)-8:])
			a0 |= (x - lo*0x20) | x
		} else {
			for _, c := range s {
				if c < 0x20 || c >= utf8.RuneSelf {
					return false
				}
			}
		}
	}
	return (a0|a1|a2|a3)&hi == 0
}

// special flags, in the high bit of each byte, the bytes of the
// little-endian word x that end a run of plain string characters: '"', '\\',
// control characters and non-ASCII. It is plainMask that also flags '"';
// the lowest flag is exact.
func special(x uint64) uint64 {
	q := x ^ (lo * '"')
	return (plainMask(x) | (q - lo)) & hi
}

// nextSpecial returns the offset of the first byte at or after i, inside a
// string, that is not a plain character ('"', '\\', control, non-ASCII), or
// len(b). *q is the first '"' at or after i when *q >= i (else unknown); it
// is kept between calls until an escape steps over it, so that each byte is
// searched for a quote once.
func nextSpecial(b []byte, i int, q *int) int {
	if *q < i {
		// Most strings (member names, short values) end within sixteen
		// bytes: two words tested in place find their end at once.
		if i+16 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				return i + bits.TrailingZeros64(m)>>3
			}
			if m := special(binary.LittleEndian.Uint64(b[i+8:])); m != 0 {
				return i + 8 + bits.TrailingZeros64(m)>>3
			}
			i += 16
		}
		// A longer one: its closing quote is the first '"' not escaped;
		// find the next '"' (assembly, many bytes a cycle), then check
		// that the bytes before it are plain.
		if n := bytes.IndexByte(b[i:], '"'); n < 0 {
			*q = len(b)
		} else {
			*q = i + n
		}
	}
	return i + plainPrefix(b[i:*q])
}

// scanString scans the string starting at b[i] == '"'. It returns the offset
// just past the closing quote and whether the string holds escapes.
func scanString(b []byte, i int) (int, bool, *syntaxError) {
	start := i
	i++
	escaped := false
	q := -1 // the first '"' at or after i (len(b) if none), once looked for
	for {
		i = nextSpecial(b, i, &q)
		if i >= len(b) {
			return i, escaped, errAt(start, "unterminated string")
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, escaped, errAt(start, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, escaped, errAt(i, "short \\u escape")
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return i, escaped, errAt(i, "invalid \\u escape")
					}
				}
				i += 6
			default:
				return i, escaped, errAt(i, "invalid escape \\%c", b[i+1])
			}
		case c < 0x20:
			return i, escaped, errAt(i, "control character 0x%02x in string", c)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, escaped, errAt(i, "invalid UTF-8 in string")
			}
			i += size
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber scans a JSON number starting at b[i].
func scanNumber(b []byte, i int) (int, *syntaxError) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, errAt(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, errAt(start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, errAt(start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, *syntaxError) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, errAt(i, "invalid literal")
	}
	return i + len(lit), nil
}

// scanValue scans the value starting at b[i] (no leading space) and returns
// the offset just past it.
func scanValue(b []byte, i, depth int) (int, *syntaxError) {
	if i >= len(b) {
		return i, errAt(i, "unexpected end of input")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{':
		return scanObject(b, i, depth+1)
	case c == '[':
		return scanArray(b, i, depth+1)
	case c == '-' || isDigit(c):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	default:
		if c >= utf8.RuneSelf {
			return i, errAt(i, "unexpected byte 0x%02x", c)
		}
		return i, errAt(i, "unexpected character %q", c)
	}
}

func scanObject(b []byte, i, depth int) (int, *syntaxError) {
	if depth > maxDepth {
		return i, errAt(i, "nesting deeper than %d", maxDepth)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, errAt(i, "expected a member name")
		}
		var err *syntaxError
		if i, _, err = scanString(b, i); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, errAt(i, "expected ':'")
		}
		i = skipSpace(b, i+1)
		if i, err = scanValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, errAt(i, "unterminated object")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, errAt(i, "expected ',' or '}'")
		}
	}
}

func scanArray(b []byte, i, depth int) (int, *syntaxError) {
	if depth > maxDepth {
		return i, errAt(i, "nesting deeper than %d", maxDepth)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err *syntaxError
		if i, err = scanValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, errAt(i, "unterminated array")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, errAt(i, "expected ',' or ']'")
		}
	}
}
