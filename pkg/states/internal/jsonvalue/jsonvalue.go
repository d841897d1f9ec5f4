// Package jsonvalue holds the JSON value semantics that the JSONPath evaluator, the intrinsic
// functions and the Choice state share: which Go values are numbers, how numbers compare and
// when two values are equal. One implementation keeps a JSONPath filter, a Choice rule and
// States.ArrayContains / States.ArrayUnique from disagreeing about the same two values.
//
// Numbers compare by their exact decimal value, never through float64: 9007199254740993 and
// 9007199254740992 differ although float64 cannot tell them apart, while 1, 1.0 and 1e0 are
// equal. This is what Jayway JsonPath (BigDecimal) does, and it keeps equality transitive,
// which ArrayUnique's hashing relies on.
package jsonvalue

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
)

// NumberText returns the decimal text of a JSON number in any of the Go forms the engine
// meets: json.Number from its decoder, float64 and the integer types from Go callers.
func NumberText(v any) (string, bool) {
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

// IsNumber reports whether v is a JSON number.
func IsNumber(v any) bool {
	_, ok := NumberText(v)
	return ok
}

// ParseInt64 parses a plain decimal integer (optional sign, digits only) that fits in int64.
// It does not allocate on failure, unlike strconv.ParseInt, because filters try it once per
// item.
func ParseInt64(s string) (int64, bool) {
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

// maxExp bounds decimal exponents so that absurd ones ("1e99999999999999999999") cannot
// overflow; numbers beyond ±10^maxExp are far outside anything a payload can mean.
const maxExp = 1e15

// decimal is a number as 0.d × 10^exp with d the significant digits (no leading or trailing
// zeros), held as the two substrings of the text they came from (before and after the point)
// so that parsing does not allocate. Zero has no digits.
type decimal struct {
	neg  bool
	a, b string
	exp  int64
}

func (d decimal) len() int { return len(d.a) + len(d.b) }

func (d decimal) digit(i int) byte {
	if i < len(d.a) {
		return d.a[i]
	}
	return d.b[i-len(d.a)]
}

func (d decimal) sign() int {
	switch {
	case d.len() == 0:
		return 0
	case d.neg:
		return -1
	}
	return 1
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseDecimal parses [+-]digits[.digits][(e|E)[+-]digits] with at least one mantissa digit.
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	if s != "" && (s[0] == '-' || s[0] == '+') {
		d.neg = s[0] == '-'
		s = s[1:]
	}
	mant, expText := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == 'e' || s[i] == 'E' {
			mant, expText = s[:i], s[i+1:]
			if expText == "" {
				return d, false
			}
			break
		}
	}
	intPart, frac := mant, ""
	for i := 0; i < len(mant); i++ {
		if mant[i] == '.' {
			intPart, frac = mant[:i], mant[i+1:]
			break
		}
	}
	if intPart == "" && frac == "" || !isDigits(intPart) || !isDigits(frac) {
		return d, false
	}
	var e int64
	if expText != "" {
		eneg := false
		if expText[0] == '-' || expText[0] == '+' {
			eneg = expText[0] == '-'
			expText = expText[1:]
		}
		if expText == "" || !isDigits(expText) {
			return d, false
		}
		for i := 0; i < len(expText) && e < maxExp; i++ {
			e = e*10 + int64(expText[i]-'0')
		}
		e = min(e, maxExp)
		if eneg {
			e = -e
		}
	}
	point := int64(len(intPart))
	for intPart != "" && intPart[0] == '0' {
		intPart = intPart[1:]
		point--
	}
	if intPart == "" {
		for frac != "" && frac[0] == '0' {
			frac = frac[1:]
			point--
		}
	}
	for frac != "" && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if frac == "" {
		for intPart != "" && intPart[len(intPart)-1] == '0' {
			intPart = intPart[:len(intPart)-1]
		}
	}
	d.a, d.b, d.exp = intPart, frac, point+e
	return d, true
}

func (d decimal) cmp(o decimal) int {
	if s, t := d.sign(), o.sign(); s != t || s == 0 {
		return cmpInt(s, t)
	}
	c := 0
	switch {
	case d.exp != o.exp:
		c = cmpInt(d.exp, o.exp)
	default:
		n, m := d.len(), o.len()
		for i := 0; i < min(n, m) && c == 0; i++ {
			c = cmpInt(d.digit(i), o.digit(i))
		}
		if c == 0 {
			c = cmpInt(n, m)
		}
	}
	if d.neg {
		return -c
	}
	return c
}

func cmpInt[T int | int64 | byte](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// CompareNumbers compares two decimal number texts by exact value. Texts that are not
// decimal numbers (a Go float's "+Inf", a hexadecimal string) fall back to float64; ok is
// false when either side is not a number at all or is NaN.
func CompareNumbers(a, b string) (int, bool) {
	if x, ok := ParseInt64(a); ok {
		if y, ok := ParseInt64(b); ok {
			return cmpInt(x, y), true
		}
	}
	x, ok1 := parseDecimal(a)
	y, ok2 := parseDecimal(b)
	if ok1 && ok2 {
		return x.cmp(y), true
	}
	fx, err1 := strconv.ParseFloat(a, 64)
	fy, err2 := strconv.ParseFloat(b, 64)
	if (err1 != nil && !isRangeErr(err1)) || (err2 != nil && !isRangeErr(err2)) || math.IsNaN(fx) || math.IsNaN(fy) {
		return 0, false
	}
	// An infinity is beyond every decimal, however large its exponent (float64 would round
	// 1e400 to +Inf and call them equal).
	switch {
	case ok1 && math.IsInf(fy, 0):
		return -int(math.Copysign(1, fy)), true
	case ok2 && math.IsInf(fx, 0):
		return int(math.Copysign(1, fx)), true
	}
	return cmpFloat(fx, fy), true
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// Equal compares JSON values structurally; numbers compare by exact value, so json.Number("1"),
// 1.0 and int(1) are equal, and a number never equals a string.
func Equal(a, b any) bool {
	if x, ok := NumberText(a); ok {
		y, ok := NumberText(b)
		if !ok {
			return false
		}
		c, ok := CompareNumbers(x, y)
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
			if !Equal(x[i], y[i]) {
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
			if !ok || !Equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// AppendKey appends a text that is the same for two values exactly when Equal considers them
// equal: JSON-like, object keys sorted, numbers in one normal form (sign, significant digits,
// exponent). It lets a caller deduplicate with a map instead of comparing every pair.
func AppendKey(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, 'n')
	case bool:
		return strconv.AppendBool(b, v)
	case string:
		return strconv.AppendQuote(b, v)
	case []any:
		b = append(b, '[')
		for _, x := range v {
			b = AppendKey(b, x)
			b = append(b, ',')
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for _, k := range slices.Sorted(maps.Keys(v)) {
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			b = AppendKey(b, v[k])
			b = append(b, ',')
		}
		return append(b, '}')
	}
	t, ok := NumberText(v)
	if !ok {
		// Not a JSON value (only Go callers can pass one): a key no JSON value has.
		return append(b, '?')
	}
	b = append(b, '#')
	d, ok := parseDecimal(t)
	if !ok {
		// A Go float's ±Inf or NaN: none is a JSON number; keep its text.
		return append(b, t...)
	}
	if d.len() == 0 {
		return append(b, '0')
	}
	if d.neg {
		b = append(b, '-')
	}
	b = append(b, d.a...)
	b = append(b, d.b...)
	b = append(b, 'e')
	return strconv.AppendInt(b, d.exp, 10)
}
