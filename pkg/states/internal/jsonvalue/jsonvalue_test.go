package jsonvalue

import (
	"encoding/json"
	"math"
	"testing"
)

func TestCompareNumbers(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
		ok   bool
	}{
		{"Integers", "-3", "2", -1, true},
		{"EqualForms", "1", "1.000e0", 0, true},
		{"LeadingZeros", "007.50", "7.5", 0, true},
		{"BeyondFloat64", "9007199254740993", "9007199254740992", 1, true},
		{"BeyondFloat64Fraction", "9007199254740993", "9007199254740992.5", 1, true},
		{"BeyondInt64", "-12345678901234567891", "-12345678901234567890", -1, true},
		{"SmallDecimals", "0.1", "0.10000000000000001", -1, true},
		{"NegativeExponent", "1e-5", "0.00001", 0, true},
		{"HugeExponents", "1e400", "1e300", 1, true},
		{"AbsurdExponent", "1e99999999999999999999999", "1e400", 1, true},
		{"TinyVersusZero", "1e-99999999999999999999999", "0", 1, true},
		{"Zeros", "-0.0", "0e7", 0, true},
		{"NegativeVersusPositive", "-1e400", "1e-400", -1, true},
		{"ShorterDigits", "1.2", "1.23", -1, true},
		{"GoInfinity", "+Inf", "1e400", 1, true},
		{"NaN", "NaN", "NaN", 0, false},
		{"NotANumber", "abc", "1", 0, false},
		{"EmptyExponent", "1e", "1", 0, false},
		{"Empty", "", "0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CompareNumbers(tt.a, tt.b)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Fatalf("CompareNumbers(%q, %q) = %d, %v; want %d, %v", tt.a, tt.b, got, ok, tt.want, tt.ok)
			}
			if !tt.ok {
				return
			}
			if got, _ := CompareNumbers(tt.b, tt.a); got != -tt.want {
				t.Fatalf("CompareNumbers(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func TestParseInt64(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-12", -12, true}, {"+7", 7, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"", 0, false}, {"-", 0, false}, {"1.5", 0, false},
		{"1e3", 0, false}, {"12a", 0, false},
	} {
		got, ok := ParseInt64(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Fatalf("ParseInt64(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestAppendKeyMatchesEqual checks, over every pair of a varied set of values, that two values
// have the same key exactly when Equal holds: ArrayUnique's hashing depends on it.
func TestAppendKeyMatchesEqual(t *testing.T) {
	values := []any{
		nil, true, false, "", "1", "a",
		json.Number("1"), json.Number("1.0"), json.Number("10e-1"), 1.0, int(1), int64(1), int32(1), uint64(1), float32(1),
		json.Number("-0"), json.Number("0"), 0.0,
		json.Number("9007199254740993"), json.Number("9007199254740992"), json.Number("9007199254740992.0"), float64(1 << 53),
		json.Number("12345678901234567890"), json.Number("1.234567890123456789e19"), json.Number("12345678901234567891"),
		json.Number("0.1"), 0.1, json.Number("0.10000000000000001"),
		json.Number("1e400"), json.Number("10e399"), json.Number("-1e400"),
		[]any{}, []any{json.Number("1")}, []any{1.0}, []any{"1"},
		map[string]any{}, map[string]any{"a": json.Number("2")}, map[string]any{"a": 2.0}, map[string]any{"b": 2.0},
		map[string]any{"a": 1, "b": 2}, map[string]any{"b": 2, "a": 1},
	}
	for i, a := range values {
		for j, b := range values {
			eq := Equal(a, b)
			if eq != Equal(b, a) {
				t.Fatalf("Equal is not symmetric for %#v and %#v", a, b)
			}
			sameKey := string(AppendKey(nil, a)) == string(AppendKey(nil, b))
			if eq != sameKey {
				t.Fatalf("values %d (%#v) and %d (%#v): Equal = %v but same key = %v", i, a, j, b, eq, sameKey)
			}
		}
	}
	for _, tt := range []struct {
		a, b any
		want bool
	}{
		{json.Number("1"), 1.0, true},
		{json.Number("1"), "1", false},
		{json.Number("9007199254740993"), float64(1 << 53), false},
		{json.Number("9007199254740992"), float64(1 << 53), true},
		{map[string]any{"a": 1, "b": 2}, map[string]any{"b": 2.0, "a": json.Number("1")}, true},
		{[]any{1, 2}, []any{2, 1}, false},
	} {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Fatalf("Equal(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkCompareNumbers(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := CompareNumbers("8.95", "10.5"); !ok {
			b.Fatal("not comparable")
		}
	}
}
