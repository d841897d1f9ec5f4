package jsonpath

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// numberText returns the decimal text of a JSON number in any of the Go forms we accept.
func numberText(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), true
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(n), 'f', -1, 32), true
	case int:
		return strconv.Itoa(n), true
	case int64:
		return strconv.FormatInt(n, 10), true
	case int32:
		return strconv.FormatInt(int64(n), 10), true
	case uint64:
		return strconv.FormatUint(n, 10), true
	}
	return "", false
}

func isNumber(v any) bool {
	_, ok := numberText(v)
	return ok
}

// compareNumbers compares two decimal texts, exactly for integers that fit in int64 and as
// float64 otherwise.
func compareNumbers(a, b string) (int, bool) {
	if x, ok := parseInt(a); ok {
		if y, ok := parseInt(b); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if (err1 != nil && !isRangeErr(err1)) || (err2 != nil && !isRangeErr(err2)) || math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

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

// deepEqual compares JSON values structurally; numbers compare by value.
func deepEqual(a, b any) bool {
	if x, ok := numberText(a); ok {
		y, ok := numberText(b)
		if !ok {
			return false
		}
		c, ok := compareNumbers(x, y)
		return ok && c == 0
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !deepEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

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

// parseInt parses a plain decimal integer without allocating on failure (strconv.ParseInt
// allocates an error, and filters try it once per item).
func parseInt(s string) (int64, bool) {
	digits := s
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		if len(digits) > 18 {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, false
			}
			return n, true
		}
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
