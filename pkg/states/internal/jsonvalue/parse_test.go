package jsonvalue

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

// decodeStd is the reference Parse must agree with: encoding/json's Decoder with UseNumber,
// one value and nothing after it, as the engine decoded documents before Parse existed.
func decodeStd(doc []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return v, nil
}

// parseSeeds are documents for the table test and the fuzz corpus: ordinary ones Parse must
// take itself, and ones it must decline or that are invalid.
var parseSeeds = []struct {
	name string
	doc  string
	fast bool // Parse takes it (false: it declines, invalid or left to encoding/json)
}{
	{"Object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, true},
	{"Spaces", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", true},
	{"EmptyContainers", `[{},[],"",{"":[]}]`, true},
	{"Numbers", `[0,-0,1.5,-12.25e+10,3E-2,12345678901234567890123,1e400]`, true},
	{"Escapes", `"q\"b\\s\/\b\f\n\r\t\u00e9\u2028\ud83d\ude00\u0000"`, true},
	{"EscapedKey", `{"a\nb":1,"a":2}`, true},
	{"RepeatedKey", `{"a":1,"a":2}`, true},
	{"UTF8", `{"日本":"é ü"}`, true},
	{"TopLevelScalar", `"x"`, true},
	{"TopLevelNumber", `42`, true},
	{"Nested", strings.Repeat("[", 100) + strings.Repeat("]", 100), true},
	{"TooDeepForParse", strings.Repeat("[", maxParseDepth+1) + strings.Repeat("]", maxParseDepth+1), false},
	{"Empty", ``, false},
	{"OnlySpace", `  `, false},
	{"TrailingValue", `{} {}`, false},
	{"TrailingGarbage", `1 x`, false},
	{"Unclosed", `{"a":1`, false},
	{"TrailingComma", `[1,]`, false},
	{"LeadingZero", `01`, false},
	{"BareDot", `1.`, false},
	{"BareExponent", `1e`, false},
	{"Plus", `+1`, false},
	{"SingleQuotes", `{'a':1}`, false},
	{"ControlCharacter", "\"a\x01\"", false},
	{"InvalidUTF8", "\"a\xffb\"", false},
	{"InvalidUTF8Escaped", "\"\\n\xff\"", false},
	{"UnpairedHigh", `"\ud83d x"`, false},
	{"UnpairedLow", `"\ude00"`, false},
	{"HighThenBMP", `"\ud83d\u0041"`, false},
	{"BadEscape", `"\x"`, false},
	{"ShortUnicode", `"\u12"`, false},
	{"BOM", "\xef\xbb\xbf{}", false},
	{"Truncated", `tru`, false},
	{"LiteralPrefix", `nulls`, false},
}

func TestParse(t *testing.T) {
	for _, tc := range parseSeeds {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse([]byte(tc.doc))
			if ok != tc.fast {
				t.Fatalf("Parse(%q) ok = %v, want %v", tc.doc, ok, tc.fast)
			}
			want, err := decodeStd([]byte(tc.doc))
			if !ok {
				return
			}
			if err != nil {
				t.Fatalf("Parse took %q, which encoding/json rejects: %v", tc.doc, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse(%q) = %#v, want %#v", tc.doc, got, want)
			}
		})
	}
}

func TestParseCanonical(t *testing.T) {
	tests := []struct {
		name, doc string
		canonical bool
	}{
		{"Compact", `{"a":[1,"x",{"b":null,"c":true}],"d":-1.5e3}`, true},
		{"Scalar", `"plain"`, true},
		{"Space", `{"a": 1}`, false},
		{"Unsorted", `{"b":1,"a":2}`, false},
		{"Repeated", `{"a":1,"a":2}`, false},
		{"Escape", `"a\nb"`, false},
		{"HTML", `"<b>"`, false},
		{"NonASCII", `"é"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, text, canonical, ok := ParseCanonical([]byte(tc.doc))
			if !ok {
				t.Fatal("declined")
			}
			if canonical != tc.canonical {
				t.Fatalf("canonical = %v, want %v", canonical, tc.canonical)
			}
			if !canonical {
				return
			}
			m, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := text, string(m); got != want {
				t.Fatalf("text = %s, Marshal writes %s", got, want)
			}
		})
	}
}

func TestParseNumberIsJSONNumber(t *testing.T) {
	v, ok := Parse([]byte(`{"n":-1.50e3}`))
	if !ok {
		t.Fatal("Parse declined")
	}
	if got, want := v.(map[string]any)["n"], any(json.Number("-1.50e3")); got != want {
		t.Fatalf("n = %#v, want %#v", got, want)
	}
}

func TestParseDoesNotAliasInput(t *testing.T) {
	doc := []byte(`{"k":"value","a":["x"]}`)
	v, ok := Parse(doc)
	if !ok {
		t.Fatal("Parse declined")
	}
	for i := range doc {
		doc[i] = ' '
	}
	want := map[string]any{"k": "value", "a": []any{"x"}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("after the input changed: %#v, want %#v", v, want)
	}
}

// FuzzParse checks Parse against encoding/json on arbitrary documents: whatever Parse takes,
// encoding/json takes too, with the same value. What it declines goes to encoding/json, so
// both decoders then give the same value or the same error by construction.
func FuzzParse(f *testing.F) {
	for _, tc := range parseSeeds {
		f.Add([]byte(tc.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, text, canonical, ok := ParseCanonical(doc)
		want, err := decodeStd(doc)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("Parse took %q, which encoding/json rejects: %v", doc, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q) = %#v, encoding/json gives %#v", doc, got, want)
		}
		if canonical {
			m, err := json.Marshal(got)
			if err != nil || string(m) != text {
				t.Fatalf("ParseCanonical(%q) calls %q canonical; Marshal writes %q (%v)", doc, text, m, err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	doc := []byte(`{"ok":true,"Item":{"id":{"N":"123"}},"list":[1,2.5,"three",null],"s":"with \"escapes\""}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, ok := Parse(doc); !ok {
			b.Fatal("declined")
		}
	}
}

func BenchmarkParseEncodingJSON(b *testing.B) {
	doc := []byte(`{"ok":true,"Item":{"id":{"N":"123"}},"list":[1,2.5,"three",null],"s":"with \"escapes\""}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := decodeStd(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func TestIsNumberLiteral(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"0", true}, {"-0", true}, {"12.5e-3", true}, {"1E+2", true}, {"123456789012345678901234567890", true},
		{"", false}, {" 1", false}, {"1 ", false}, {"01", false}, {"1.", false}, {".5", false}, {"+1", false},
		{"1e", false}, {"-", false}, {"\"1\"", false}, {"NaN", false}, {"1x", false},
	} {
		if got := IsNumberLiteral(tc.s); got != tc.want {
			t.Errorf("IsNumberLiteral(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// FuzzIsNumberLiteral checks that every text IsNumberLiteral accepts is a JSON document that
// encoding/json decodes as a number, so an encoder may write it as it is.
func FuzzIsNumberLiteral(f *testing.F) {
	for _, s := range []string{"0", "-1.5e10", "01", " 1", "1.", "1e+", "\"1\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !IsNumberLiteral(s) {
			return
		}
		v, err := decodeStd([]byte(s))
		if err != nil {
			t.Fatalf("IsNumberLiteral(%q) but encoding/json: %v", s, err)
		}
		if n, ok := v.(json.Number); !ok || string(n) != s {
			t.Fatalf("IsNumberLiteral(%q) but encoding/json decodes %#v", s, v)
		}
	})
}
