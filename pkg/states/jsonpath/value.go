package jsonpath

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pendulum-dr/pendulum/pkg/states/internal/jsonvalue"
)

// numberText returns the decimal text of a JSON number in any of the Go forms we accept.
func numberText(v any) (string, bool) { return jsonvalue.NumberText(v) }

func isNumber(v any) bool { return jsonvalue.IsNumber(v) }

// compareNumbers compares two decimal texts by exact value (see jsonvalue).
func compareNumbers(a, b string) (int, bool) { return jsonvalue.CompareNumbers(a, b) }

// order compares two values for <, <=, >, >=: numbers with numbers, strings with strings
// (by UTF-16 code units, as Java does); other pairs are not ordered.
func order(a, b any) (int, bool) {
	if x, ok := numberText(a); ok {
		if y, ok := numberText(b); ok {
			return compareNumbers(x, y)
		}
		return 0, false
	}
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return compareUTF16(x, y), true
}

// compareUTF16 orders strings as Java's String.compareTo does. UTF-8 byte order agrees with
// code point order, which differs from UTF-16 order only between supplementary characters and
// U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ka, kb := utf16Key(ra), utf16Key(rb)
			if ka < kb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func utf16Key(r rune) rune {
	if r >= 0x10000 {
		// High surrogate of r: sorts below U+E000.
		return 0xD800 + ((r - 0x10000) >> 10)
	}
	return r
}

// looseEqual is Jayway's "==": numbers compare numerically, a number equals a string holding
// the same number, and arrays and objects compare deeply. An undefined operand equals nothing.
func looseEqual(a, b any) bool {
	if a == undefined || b == undefined {
		return false
	}
	if x, ok := numberText(a); ok {
		switch y := b.(type) {
		case string:
			c, ok := compareNumbers(x, strings.TrimSpace(y))
			return ok && c == 0
		default:
			if yt, ok := numberText(b); ok {
				c, ok := compareNumbers(x, yt)
				return ok && c == 0
			}
			return false
		}
	}
	if x, ok := a.(string); ok {
		if yt, ok := numberText(b); ok {
			c, ok := compareNumbers(strings.TrimSpace(x), yt)
			return ok && c == 0
		}
	}
	return deepEqual(a, b)
}

// strictEqual is Jayway's "===": equal values of the same JSON type.
func strictEqual(a, b any) bool {
	if a == undefined || b == undefined {
		return false
	}
	return deepEqual(a, b)
}

// deepEqual compares JSON values structurally; numbers compare by exact value. It is the one
// equality the intrinsic functions use too.
func deepEqual(a, b any) bool { return jsonvalue.Equal(a, b) }

// Equal reports whether two JSON values are equal as a filter's "===" sees them: the same JSON
// type and, for numbers, the same exact value (1 equals 1.0; 9007199254740993 does not equal
// 9007199254740992). Go callers that must agree with filters and Choice rules use it.
func Equal(a, b any) bool { return jsonvalue.Equal(a, b) }

// ParseInt64 parses a plain decimal integer (optional sign, digits only) that fits in int64,
// without allocating on failure.
func ParseInt64(s string) (int64, bool) { return jsonvalue.ParseInt64(s) }

func asInt(v any) (int, bool) {
	t, ok := numberText(v)
	if !ok {
		return 0, false
	}
	if n, err := strconv.Atoi(t); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}

// parseInt parses a plain decimal integer without allocating on failure.
func parseInt(s string) (int64, bool) { return jsonvalue.ParseInt64(s) }
