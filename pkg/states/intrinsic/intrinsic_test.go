package intrinsic

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/states/jsonpath"
)

func decode(t testing.TB, text string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", text, err)
	}
	return v
}

func canonJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(b)
}

// envFor resolves "$…" against input and "$$…" against context, as the engine does, compiling
// each path once.
func envFor(t testing.TB, input, context any) Env {
	var cache sync.Map // path → *jsonpath.Path
	return Env{Resolve: func(path string) (any, error) {
		doc, expr := input, path
		if strings.HasPrefix(path, "$$") {
			doc, expr = context, path[1:]
		}
		var p *jsonpath.Path
		if c, ok := cache.Load(path); ok {
			p = c.(*jsonpath.Path)
		} else {
			var err error
			if p, err = jsonpath.Compile(expr); err != nil {
				return nil, err
			}
			cache.Store(path, p)
		}
		return p.Get(doc)
	}}
}

// TestGuideExamples runs every example of the developer guide's intrinsic functions page,
// kept in testdata/guide_examples.json with the guide's input and result.
func TestGuideExamples(t *testing.T) {
	data, err := os.ReadFile("testdata/guide_examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name       string          `json:"name"`
		Input      json.RawMessage `json:"input"`
		Expression string          `json:"expression"`
		Want       json.RawMessage `json:"want"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("only %d guide examples in testdata", len(cases))
	}
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			c, err := Parse(tt.Expression)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.Expression, err)
			}
			got, err := c.Eval(envFor(t, decode(t, string(tt.Input)), nil))
			if err != nil {
				t.Fatalf("Eval(%q): %v", tt.Expression, err)
			}
			if got, want := canonJSON(t, got), canonJSON(t, decode(t, string(tt.Want))); got != want {
				t.Fatalf("Eval(%q) = %s, want %s", tt.Expression, got, want)
			}
		})
	}
}

func TestEval(t *testing.T) {
	input := `{"s":"abc","n":5,"f":2.5,"neg":-2.5,"arr":[1,"a",{"k":[1,2]},null,true],"obj":{"b":1,"a":[1,"x"]},"empty":[],
		"big":2147483647,"small":-2147483648,"uni":"héllo 😀","nums":[1,1.0,2,"1"],"objs":[{"a":1},{"a":1},{"a":2}]}`
	context := `{"Execution":{"Id":"arn:aws:states:eu-west-1:1:execution:m:e1"},"Map":{"Item":{"Index":3}}}`
	tests := []struct {
		name, expr, want string
	}{
		{"FormatNoPlaceholders", `States.Format('plain')`, `"plain"`},
		{"FormatEscapedBraces", `States.Format('\{\} {} \\ \'', $.s)`, `"{} abc \\ '"`},
		{"FormatHalfEscapedIsNotPlaceholder", `States.Format('{\} {}', $.n)`, `"{} 5"`},
		{"FormatLoneBraces", `States.Format('{ x } {}', $.n)`, `"{ x } 5"`},
		{"FormatNumber", `States.Format('{} {} {}', $.n, $.f, 1.50)`, `"5 2.5 1.50"`},
		{"FormatBoolNull", `States.Format('{}/{}', true, null)`, `"true/null"`},
		{"FormatArray", `States.Format('{}', $.arr)`, `"[1, a, {k=[1, 2]}, null, true]"`},
		{"FormatObject", `States.Format('{}', $.obj)`, `"{a=[1, x], b=1}"`},
		{"FormatUnicode", `States.Format('{}!', $.uni)`, `"héllo 😀!"`},
		{"FormatContextPath", `States.Format('id={}', $$.Execution.Id)`, `"id=arn:aws:states:eu-west-1:1:execution:m:e1"`},
		{"FormatNested", `States.Format('{}-{}', States.ArrayLength($.arr), States.MathAdd($.n, 1))`, `"5-6"`},
		{"ArrayEmpty", `States.Array()`, `[]`},
		{"ArrayLiterals", `States.Array(1, -2.5e3, 'x', true, false, null)`, `[1,-2.5e3,"x",true,false,null]`},
		{"ArrayOfPaths", `States.Array($.s, $.obj.b, $$.Map.Item.Index)`, `["abc",1,3]`},
		{"ArrayFilterPath", `States.Array($.objs[?(@.a == 1)])`, `[[{"a":1},{"a":1}]]`},
		{"ArrayUnionPath", `States.Array($.arr[0,1], $.arr[?(@.k)])`, `[[1,"a"],[{"k":[1,2]}]]`},
		{"PartitionEmpty", `States.ArrayPartition($.empty, 2)`, `[]`},
		{"PartitionExact", `States.ArrayPartition(States.Array(1,2,3,4), 2)`, `[[1,2],[3,4]]`},
		{"PartitionRoundsSize", `States.ArrayPartition(States.Array(1,2,3), 1.5)`, `[[1,2],[3]]`},
		{"PartitionLargerThanArray", `States.ArrayPartition(States.Array(1,2,3), 10)`, `[[1,2,3]]`},
		{"ContainsObject", `States.ArrayContains($.arr, $.arr[2])`, `true`},
		{"ContainsNull", `States.ArrayContains($.arr, null)`, `true`},
		{"ContainsNumberByValue", `States.ArrayContains(States.Array(1, 2), 2.0)`, `true`},
		{"ContainsMissing", `States.ArrayContains($.arr, 'b')`, `false`},
		{"ContainsEmpty", `States.ArrayContains($.empty, 1)`, `false`},
		{"RangeSingle", `States.ArrayRange(5, 5, 1)`, `[5]`},
		{"RangeDescending", `States.ArrayRange(9, 1, -3)`, `[9,6,3]`},
		{"RangeWrongDirection", `States.ArrayRange(1, 9, -1)`, `[]`},
		{"RangeRounds", `States.ArrayRange(0.5, 2.4, 1)`, `[1,2]`},
		{"RangeNegativeRoundsHalfUp", `States.ArrayRange(-2.5, 0, 1)`, `[-2,-1,0]`},
		{"RangeThousand", `States.ArrayLength(States.ArrayRange(1, 1000, 1))`, `1000`},
		{"GetItemFirst", `States.ArrayGetItem($.arr, 0)`, `1`},
		{"GetItemObject", `States.ArrayGetItem($.arr, 2)`, `{"k":[1,2]}`},
		{"LengthEmpty", `States.ArrayLength($.empty)`, `0`},
		{"UniqueByValue", `States.ArrayUnique($.nums)`, `[1,2,"1"]`},
		{"UniqueObjects", `States.ArrayUnique($.objs)`, `[{"a":1},{"a":2}]`},
		{"UniqueEmpty", `States.ArrayUnique($.empty)`, `[]`},
		{"Base64Unicode", `States.Base64Encode($.uni)`, `"aMOpbGxvIPCfmIA="`},
		{"Base64RoundTrip", `States.Base64Decode(States.Base64Encode($.uni))`, `"héllo 😀"`},
		{"Base64DecodeUnpadded", `States.Base64Decode('YWI')`, `"ab"`},
		{"Base64Empty", `States.Base64Encode('')`, `""`},
		{"HashMD5", `States.Hash('input data', 'MD5')`, `"812f45842bc6d66ee14572ce20db8e86"`},
		{"HashSHA256", `States.Hash('input data', 'SHA-256')`, `"b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"`},
		{"HashSHA384", `States.Hash('', 'SHA-384')`, `"38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"`},
		{"HashSHA512", `States.Hash('', 'SHA-512')`, `"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"`},
		{"StringToJsonNumber", `States.StringToJson('12.50')`, `12.50`},
		{"StringToJsonArray", `States.StringToJson('[1, {"a": null}]')`, `[1,{"a":null}]`},
		{"JsonToStringScalar", `States.JsonToString($.n)`, `"5"`},
		{"JsonToStringNoHTMLEscape", `States.JsonToString(States.Array('<a&b>'))`, `"[\"<a&b>\"]"`},
		{"JsonToStringRoundTrip", `States.StringToJson(States.JsonToString($.obj))`, `{"a":[1,"x"],"b":1}`},
		{"MergeEmpty", `States.JsonMerge($.obj, States.StringToJson('{}'), false)`, `{"a":[1,"x"],"b":1}`},
		{"MathAddRounds", `States.MathAdd($.f, $.neg)`, `1`},
		{"MathAddBounds", `States.MathAdd($.big, $.small)`, `-1`},
		{"MathAddLiteral", `States.MathAdd(-1, 1)`, `0`},
		{"SplitDropsEmpty", `States.StringSplit(',a,,b,', ',')`, `["a","b"]`},
		{"SplitNoDelimiter", `States.StringSplit('abc', '-')`, `["abc"]`},
		{"SplitEmptyString", `States.StringSplit('', ',')`, `[]`},
		{"SplitUnicodeDelimiter", `States.StringSplit('a😀b', '😀')`, `["a","b"]`},
		{"SplitMultiCharIsSetOfChars", `States.StringSplit('a-b_c', '_-')`, `["a","b","c"]`},
		{"SpacesAroundArgs", `States.Array(  1 ,'a'  ,  $.n  )`, `[1,"a",5]`},
	}
	in, ctx := decode(t, input), decode(t, context)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			got, err := c.Eval(envFor(t, in, ctx))
			if err != nil {
				t.Fatalf("Eval(%q): %v", tt.expr, err)
			}
			if got, want := canonJSON(t, got), canonJSON(t, decode(t, tt.want)); got != want {
				t.Fatalf("Eval(%q) = %s, want %s", tt.expr, got, want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	input := decode(t, `{"s":"abc","n":5,"arr":[1,2],"obj":{"a":1},"t":true,"long":"`+strings.Repeat("x", 10001)+`",
		"max":"`+strings.Repeat("é", 10000)+`","tmpl":"{} and {}","f":false}`)
	tests := []struct {
		name, expr, msg string
	}{
		{"FormatTooFewValues", `States.Format('{} {}', 1)`, "2 placeholder(s) {} but 1 value argument(s)"},
		{"FormatTooManyValues", `States.Format('{}', 1, 2)`, "1 placeholder(s) {} but 2 value argument(s)"},
		// The guide's nine-level example has three placeholders and two values.
		{"FormatGuideNineLevels", `States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.s, '/'), 0), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.s, '/'), 0), '.'), 0))`, "3 placeholder(s) {} but 2 value"},
		{"FormatPathTemplateCount", `States.Format($.tmpl, 1)`, "2 placeholder(s)"},
		{"FormatTemplateNotString", `States.Format($.n)`, "template (argument 1) must be a string, got a number"},
		{"StringToJsonNotString", `States.StringToJson($.n)`, "argument 1 must be a string, got a number"},
		{"StringToJsonInvalid", `States.StringToJson('{"a":')`, "not JSON"},
		{"StringToJsonTrailing", `States.StringToJson('1 2')`, "more than one JSON value"},
		{"StringToJsonEmpty", `States.StringToJson('')`, "not JSON"},
		{"PartitionNotArray", `States.ArrayPartition($.obj, 1)`, "argument 1 must be an array, got an object"},
		{"PartitionZero", `States.ArrayPartition($.arr, 0)`, "chunk size (argument 2) must be a positive integer"},
		{"PartitionRoundsToZero", `States.ArrayPartition($.arr, 0.4)`, "must be a positive integer"},
		{"PartitionNegative", `States.ArrayPartition($.arr, -1)`, "must be a positive integer"},
		{"PartitionSizeString", `States.ArrayPartition($.arr, 'a')`, "chunk size (argument 2) must be an integer, got a string"},
		{"ContainsNotArray", `States.ArrayContains($.s, 1)`, "argument 1 must be an array"},
		{"RangeZeroStep", `States.ArrayRange(1, 5, 0)`, "step (argument 3) must not be zero"},
		{"RangeTooMany", `States.ArrayRange(1, 1001, 1)`, "1001 items; at most 1000"},
		{"RangeHuge", `States.ArrayRange(0, 1e15, 1)`, "at most 1000"},
		{"RangeNotNumber", `States.ArrayRange('1', 5, 1)`, "first element (argument 1) must be an integer"},
		{"GetItemOutOfRange", `States.ArrayGetItem($.arr, 2)`, "index 2 is out of bounds for an array of length 2"},
		{"GetItemNegative", `States.ArrayGetItem($.arr, -1)`, "out of bounds"},
		{"GetItemFraction", `States.ArrayGetItem($.arr, 0.5)`, "must be an integer"},
		{"LengthNotArray", `States.ArrayLength($.obj)`, "must be an array, got an object"},
		{"UniqueNotArray", `States.ArrayUnique(null)`, "must be an array, got null"},
		{"Base64TooLong", `States.Base64Encode($.long)`, "10001 characters; at most 10000"},
		{"Base64DecodeTooLong", `States.Base64Decode($.long)`, "10001 characters"},
		{"Base64NotString", `States.Base64Encode($.n)`, "must be a string"},
		{"Base64DecodeInvalid", `States.Base64Decode('***')`, "not Base64"},
		{"HashTooLong", `States.Hash($.long, 'MD5')`, "at most 10000"},
		{"HashNotString", `States.Hash($.obj, 'MD5')`, "argument 1 must be a string, got an object"},
		{"HashAlgorithmFromPath", `States.Hash('x', $.s)`, `algorithm "abc" is not one of`},
		{"MergeNotObjects", `States.JsonMerge($.obj, $.arr, false)`, "must be objects, got an object and an array"},
		{"MergeDeepFromPath", `States.JsonMerge($.obj, $.obj, $.t)`, "only the shallow mode"},
		{"MathAddNotNumber", `States.MathAdd($.s, 1)`, "must be an integer, got a string"},
		{"MathAddArgumentRange", `States.MathAdd(2147483648, 0)`, "outside the integer range"},
		{"MathAddOverflow", `States.MathAdd(2147483647, 1)`, "sum 2147483648 overflows"},
		{"MathAddUnderflow", `States.MathAdd(-2147483648, -1)`, "overflows"},
		{"RandomStartNotBelowEnd", `States.MathRandom(5, 5)`, "start (5) must be less than the end (5)"},
		{"RandomNotNumber", `States.MathRandom($.s, 5)`, "start (argument 1) must be an integer"},
		{"SplitNotString", `States.StringSplit($.arr, ',')`, "argument 1 must be a string, got an array"},
		{"SplitDelimiterNotString", `States.StringSplit('a', 1)`, "argument 2 must be a string, got a number"},
		{"MissingPath", `States.Array($.nope)`, `argument 1 ($.nope)`},
		{"NestedFailure", `States.Array(States.ArrayLength($.s))`, "States.ArrayLength: argument 1 must be an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			got, err := c.Eval(envFor(t, input, nil))
			if err == nil {
				t.Fatalf("Eval(%q) = %s, want an error", tt.expr, canonJSON(t, got))
			}
			if !errors.Is(err, ErrIntrinsicFailure) {
				t.Fatalf("Eval(%q) error %v does not wrap ErrIntrinsicFailure", tt.expr, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Eval(%q) error %q does not say %q", tt.expr, err, tt.msg)
			}
		})
	}
	t.Run("ExactlyTenThousandCharacters", func(t *testing.T) {
		c, err := Parse(`States.Base64Encode($.max)`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Eval(envFor(t, input, nil)); err != nil {
			t.Fatalf("10,000 characters must be accepted: %v", err)
		}
	})
	t.Run("ResolverErrorInChain", func(t *testing.T) {
		c, err := Parse(`States.Format('{}', $.nope)`)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Eval(envFor(t, input, nil))
		if !errors.Is(err, ErrIntrinsicFailure) || !errors.Is(err, jsonpath.ErrNotFound) {
			t.Fatalf("error %v must wrap both ErrIntrinsicFailure and jsonpath.ErrNotFound", err)
		}
	})
	t.Run("NoResolver", func(t *testing.T) {
		c, err := Parse(`States.Array($.a)`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Eval(Env{}); !errors.Is(err, ErrIntrinsicFailure) {
			t.Fatalf("Eval without a resolver: %v, want ErrIntrinsicFailure", err)
		}
	})
}

func TestMathRandom(t *testing.T) {
	t.Run("InjectedSource", func(t *testing.T) {
		for _, tt := range []struct {
			r    float64
			want string
		}{{0, "1"}, {0.5, "500"}, {0.999999999, "998"}, {1, "998"}} {
			c, err := Parse(`States.MathRandom(1, 999)`)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Eval(Env{Random: func() float64 { return tt.r }})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := canonJSON(t, got), tt.want; got != want {
				t.Fatalf("MathRandom(1, 999) with random %v = %s, want %s", tt.r, got, want)
			}
		}
	})
	t.Run("DefaultSourceInRange", func(t *testing.T) {
		c, err := Parse(`States.MathRandom(-3, 3)`)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 2000 {
			v, err := c.Eval(Env{})
			if err != nil {
				t.Fatal(err)
			}
			seen[string(v.(json.Number))] = true
		}
		for n := range seen {
			if !map[string]bool{"-3": true, "-2": true, "-1": true, "0": true, "1": true, "2": true}[n] {
				t.Fatalf("MathRandom(-3, 3) produced %s, outside [-3, 3)", n)
			}
		}
		if len(seen) != 6 {
			t.Fatalf("MathRandom(-3, 3) produced only %v in 2000 draws", seen)
		}
	})
	t.Run("SeedIsDeterministic", func(t *testing.T) {
		c, err := Parse(`States.MathRandom(1, 1000000, 42)`)
		if err != nil {
			t.Fatal(err)
		}
		first, err := c.Eval(Env{})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			again, err := c.Eval(Env{Random: func() float64 { return 0 }})
			if err != nil {
				t.Fatal(err)
			}
			if again != first {
				t.Fatalf("seeded MathRandom gave %v then %v", first, again)
			}
		}
		other, err := Parse(`States.MathRandom(1, 1000000, 43)`)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := other.Eval(Env{}); v == first {
			t.Fatalf("seeds 42 and 43 gave the same value %v", v)
		}
	})
}

func TestUUID(t *testing.T) {
	c, err := Parse(`States.UUID()`)
	if err != nil {
		t.Fatal(err)
	}
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, err := c.Eval(Env{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Eval(Env{})
	if err != nil {
		t.Fatal(err)
	}
	if !v4.MatchString(a.(string)) || !v4.MatchString(b.(string)) || a == b {
		t.Fatalf("UUIDs %v and %v are not two distinct version 4 UUIDs", a, b)
	}
	got, err := c.Eval(Env{UUID: func() string { return "fixed" }})
	if err != nil || got != "fixed" {
		t.Fatalf("injected UUID: %v, %v", got, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr   string
		offset int
		msg    string
	}{
		{``, 0, "expected an intrinsic function"},
		{`Format('x')`, 0, "expected an intrinsic function"},
		{`States.Nope()`, 0, "unknown intrinsic function States.Nope"},
		{`States.Array`, 12, "expected '(' after States.Array"},
		{`States.Array(`, 13, "unexpected end of input"},
		{`States.Array(1`, 14, "expected ',' or ')'"},
		{`States.Array(1,)`, 15, "expected an argument"},
		{`States.Array(1 2)`, 15, "expected ',' or ')'"},
		{`States.Array(1) x`, 16, "after the closing ')'"},
		{`States.Array('abc)`, 13, "unterminated string literal"},
		{`States.Array('a\x')`, 15, `open escape '\' before 'x'`},
		{`States.Array('a\`, 15, "open escape"},
		{`States.Array(01)`, 13, `bad number "01"`},
		{`States.Array(1.)`, 13, "bad number"},
		{`States.Array(--1)`, 13, "bad number"},
		{`States.Array(nul)`, 13, "expected an argument"},
		{`States.Array(True)`, 13, "expected an argument"},
		{`States.Array($.a[)`, 13, "bad path argument"},
		{`States.Array($x)`, 13, "bad path argument"},
		{`States.Array(@.a)`, 13, "expected an argument"},
		{`States.Array("a")`, 13, "expected an argument"},
		{`States.Format()`, 0, "takes at least 1 argument(s), got 0"},
		{`States.Format(1)`, 0, "first argument of States.Format must be a string"},
		{`States.StringToJson()`, 0, "takes 1 argument(s), got 0"},
		{`States.JsonToString($.a, $.b)`, 0, "takes 1 argument(s), got 2"},
		{`States.ArrayPartition($.a)`, 0, "takes 2 argument(s), got 1"},
		{`States.ArrayRange(1, 2)`, 0, "takes 3 argument(s), got 2"},
		{`States.MathRandom(1)`, 0, "takes 2 to 3 arguments, got 1"},
		{`States.MathRandom(1, 2, 3, 4)`, 0, "takes 2 to 3 arguments, got 4"},
		{`States.UUID(1)`, 0, "takes 0 argument(s), got 1"},
		{`States.Hash('x', 'SHA-2')`, 0, `algorithm "SHA-2" is not one of`},
		{`States.Hash('x', 1)`, 0, "algorithm of States.Hash must be a string"},
		{`States.JsonMerge($.a, $.b, true)`, 0, "supports only the shallow mode"},
		{`States.JsonMerge($.a, $.b, 'false')`, 0, "must be the boolean false"},
		{`States.Array(States.Nope())`, 13, "unknown intrinsic function"},
		{nest(11), 130, "nest more than 10 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c, err := Parse(tt.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", tt.expr, c)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T is not a *SyntaxError", tt.expr, err)
			}
			if got, want := se.Offset, tt.offset; got != want {
				t.Fatalf("Parse(%q) offset = %d, want %d (%v)", tt.expr, got, want, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Parse(%q) error %q does not say %q", tt.expr, err, tt.msg)
			}
		})
	}
	if _, err := Parse(nest(10)); err != nil {
		t.Fatalf("ten nested calls must parse: %v", err)
	}
}

// nest returns n nested States.Array calls around a literal.
func nest(n int) string {
	return strings.Repeat("States.Array(", n) + "1" + strings.Repeat(")", n)
}

func TestString(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`States.Format('Hello, my name is {}.',$.name)`, `States.Format('Hello, my name is {}.', $.name)`},
		{`States.Format( 'a\'b \{\} {} \\' , $$.Execution.Id )`, `States.Format('a\'b \{\} {} \\', $$.Execution.Id)`},
		{`States.Format('{\}{}', 1)`, `States.Format('\{\}{}', 1)`},
		{`States.Array(1,-2.5e3,true,false,null,'x')`, `States.Array(1, -2.5e3, true, false, null, 'x')`},
		{`States.Array($.a[?(@.b == 'x, y')], $['c d'])`, `States.Array($.a[?(@.b == 'x, y')], $['c d'])`},
		{`States.UUID()`, `States.UUID()`},
		{`States.ArrayLength(States.StringSplit($.s,','))`, `States.ArrayLength(States.StringSplit($.s, ','))`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			again, err := Parse(c.String())
			if err != nil {
				t.Fatalf("Parse(String()) = %v", err)
			}
			if got := again.String(); got != tt.want {
				t.Fatalf("String() after round trip = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestConcurrentEval shares one parsed call between goroutines (run with -race).
func TestConcurrentEval(t *testing.T) {
	c, err := Parse(`States.Format('{} has {} items', $.name, States.ArrayLength(States.ArrayUnique($.items)))`)
	if err != nil {
		t.Fatal(err)
	}
	env := envFor(t, decode(t, `{"name":"cart","items":[1,2,2,3]}`), nil)
	done := make(chan any)
	for range 8 {
		go func() {
			var last any
			for range 200 {
				v, err := c.Eval(env)
				if err != nil {
					done <- err
					return
				}
				last = v
			}
			done <- last
		}()
	}
	for range 8 {
		if got := <-done; got != "cart has 3 items" {
			t.Fatalf("concurrent Eval = %v", got)
		}
	}
}

func TestNameAndPaths(t *testing.T) {
	c, err := Parse(`States.Format('{} {}', $.a, States.ArrayLength($$.Execution.Input.items[?(@.x)]), 'lit')`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Name(), "States.Format"; got != want {
		t.Fatalf("Name() = %q, want %q", got, want)
	}
	if got, want := strings.Join(c.Paths(), " | "), "$.a | $$.Execution.Input.items[?(@.x)]"; got != want {
		t.Fatalf("Paths() = %q, want %q", got, want)
	}
	u, err := Parse(`States.UUID()`)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Paths(); len(got) != 0 {
		t.Fatalf("Paths() of States.UUID() = %v, want none", got)
	}
}
