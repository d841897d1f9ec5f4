package jsonpath

import (
	"encoding/json"
	"testing"
)

func TestLooseAndStrictEqual(t *testing.T) {
	obj := map[string]any{"a": []any{json.Number("1"), "x", nil, true}}
	tests := []struct {
		name          string
		a, b          any
		loose, strict bool
	}{
		{"SameNumberForms", json.Number("1"), json.Number("1.0"), true, true},
		{"Float64AndNumber", 2.5, json.Number("2.5"), true, true},
		{"IntAndNumber", int(3), json.Number("3e0"), true, true},
		{"BigIntegers", json.Number("12345678901234567890"), json.Number("12345678901234567890"), true, true},
		{"NumberAndNumericString", json.Number("2"), "2", true, false},
		{"NumericStringAndNumber", "2.0", json.Number("2"), true, false},
		{"NumberAndOtherString", json.Number("2"), "two", false, false},
		{"Strings", "a", "a", true, true},
		{"StringsDiffer", "a", "b", false, false},
		{"Bools", true, true, true, true},
		{"BoolAndString", true, "true", false, false},
		{"Nulls", nil, nil, true, true},
		{"NullAndFalse", nil, false, false, false},
		{"Objects", obj, map[string]any{"a": []any{json.Number("1.00"), "x", nil, true}}, true, true},
		{"ObjectsDiffer", obj, map[string]any{"a": []any{json.Number("1"), "x", nil, false}}, false, false},
		{"ObjectMissingKey", map[string]any{"a": 1}, map[string]any{"b": 1}, false, false},
		{"ArraysLength", []any{1}, []any{1, 2}, false, false},
		{"ArrayAndObject", []any{}, map[string]any{}, false, false},
		{"Undefined", undefined, undefined, false, false},
		{"UndefinedAndNull", undefined, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := looseEqual(tt.a, tt.b); got != tt.loose {
				t.Fatalf("looseEqual(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.loose)
			}
			if got := strictEqual(tt.a, tt.b); got != tt.strict {
				t.Fatalf("strictEqual(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.strict)
			}
		})
	}
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want int
		ok   bool
	}{
		{"Integers", json.Number("-3"), json.Number("2"), -1, true},
		{"Decimals", json.Number("2.50"), 2.5, 0, true},
		{"HugeExponents", json.Number("1e400"), json.Number("1e300"), 1, true},
		{"Strings", "abc", "abd", -1, true},
		{"Prefix", "ab", "abc", -1, true},
		{"Equal", "x", "x", 0, true},
		// Java compares UTF-16 code units: a supplementary character (a surrogate pair,
		// 0xD83D…) sorts before U+FF01, although its code point is larger.
		{"UTF16Order", "😀", "！", -1, true},
		{"BMPOrder", "é", "z", 1, true},
		{"Mixed", json.Number("1"), "1", 0, false},
		{"Bools", true, false, 0, false},
		{"Null", nil, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := order(tt.a, tt.b)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Fatalf("order(%#v, %#v) = %d, %v; want %d, %v", tt.a, tt.b, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRegexInputAndSize(t *testing.T) {
	doc := decode(t, `{"items":[{"v":12},{"v":"12"},{"v":true},{"v":null},{"v":[1]},{"v":"abc"}]}`)
	for _, tt := range []struct{ path, want string }{
		{"$.items[?(@.v =~ /1\\d/)].v", `[12,"12"]`},
		{"$.items[?(@.v =~ /tru./)].v", `[true]`},
		{"$.items[?(/a.c/ =~ @.v)].v", `["abc"]`},
		{"$.items[?(@.v size 3)].v", `["abc"]`},
		{"$.items[?(@.v size 1)].v", `[[1]]`},
		{"$.items[?(@.v empty false)].v", `["12",[1],"abc"]`},
		{"$.items[?(@.v contains 1)].v", `[[1]]`},
		{"$.items[?(@.v contains 'b')].v", `["abc"]`},
	} {
		p, err := Compile(tt.path)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.path, err)
		}
		got, err := p.Get(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := canonJSON(t, got), canonJSON(t, decode(t, tt.want)); got != want {
			t.Fatalf("Get(%q) = %s, want %s", tt.path, got, want)
		}
	}
}
