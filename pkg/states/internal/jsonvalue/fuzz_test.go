package jsonvalue

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// smallExponent reports whether a number text's exponent is small enough for big.Rat to
// expand quickly.
func smallExponent(s string) bool {
	i := strings.IndexAny(s, "eE")
	return i < 0 || len(s)-i <= 4
}

// FuzzCompareNumbers checks the exact decimal order against math/big on number texts
// (filters and Choice rules compare numbers taken from outside input): the same answer,
// antisymmetry, and keys that agree with Equal.
func FuzzCompareNumbers(f *testing.F) {
	for _, p := range [][2]string{
		{"9007199254740993", "9007199254740992.0"}, {"0.1", "0.10000000000000001"}, {"-0", "0e5"},
		{"1e400", "10e399"}, {"-12345678901234567890", "-1.2345678901234567890e19"}, {"007.50", "7.5"},
		{"1e-7", "0.0000001"}, {"abc", "1"}, {"1e", "+1"}, {".5", "0.5"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		c, ok := CompareNumbers(a, b)
		c2, ok2 := CompareNumbers(b, a)
		if ok != ok2 || (ok && c != -c2) {
			t.Fatalf("CompareNumbers(%q, %q) = %d, %v but reversed %d, %v", a, b, c, ok, c2, ok2)
		}
		x, okx := new(big.Rat), false
		y, oky := new(big.Rat), false
		if json.Valid([]byte(a)) && smallExponent(a) {
			_, okx = x.SetString(a)
		}
		if json.Valid([]byte(b)) && smallExponent(b) {
			_, oky = y.SetString(b)
		}
		if okx && oky {
			if !ok || c != x.Cmp(y) {
				t.Fatalf("CompareNumbers(%q, %q) = %d, %v; math/big says %d", a, b, c, ok, x.Cmp(y))
			}
			na, nb := json.Number(a), json.Number(b)
			if eq, same := Equal(na, nb), string(AppendKey(nil, na)) == string(AppendKey(nil, nb)); eq != (c == 0) || eq != same {
				t.Fatalf("%q, %q: Equal %v, same key %v, compare %d", a, b, eq, same, c)
			}
		}
	})
}
