package jsonpath

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
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

// canonJSON re-encodes a value so that equal JSON compares equal as text (sorted keys).
func canonJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(b)
}

func loadStore(t testing.TB) any {
	t.Helper()
	data, err := os.ReadFile("testdata/store.json")
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(data))
}

func TestGet(t *testing.T) {
	doc := loadStore(t)
	tests := []struct {
		name, path, want string
	}{
		// The developer guide's Reference Path examples.
		{"GuideFoo", "$.foo", `123`},
		{"GuideBar", "$.bar", `["a","b","c"]`},
		{"GuideCarCdr", "$.car.cdr", `true`},
		{"Root", "$", ""}, // checked separately below: the whole document
		{"BracketName", "$['foo']", `123`},
		{"DoubleQuotedName", `$["foo"]`, `123`},
		{"DotBracket", "$.['def ghi']", `"spaced"`},
		{"SpacedName", "$['def ghi']", `"spaced"`},
		{"EscapedQuote", `$['a\'b']`, `"quoted"`},
		{"DotInName", "$['dotted.name']", `"dots"`},
		{"UnicodeName", "$.名前", `"unicode"`},
		{"DashName", "$.a-b", `"dash"`},
		{"Index", "$.bar[1]", `"b"`},
		{"NegativeIndex", "$.bar[-1]", `"c"`},
		{"NestedIndex", "$.store.book[0].author", `"Nigel Rees"`},
		{"NullValue", "$.nothing", `null`},
		{"FalseValue", "$.flag", `false`},
		{"EmptyArray", "$.empty", `[]`},
		{"MultiNameLeafMerges", "$.store.book[0]['author','price']", `{"author":"Nigel Rees","price":8.95}`},
		{"MultiNameLeafSkipsMissing", "$.store.book[0]['author','isbn']", `{"author":"Nigel Rees"}`},
		// Indefinite paths return every match.
		{"Wildcard", "$.store.book[*].author", `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`},
		{"DotWildcardOnObject", "$.car.*", `[true]`},
		{"WildcardObjectSortedKeys", "$.store.bicycle.*", `["red",19.95]`},
		{"FlattenGuide", "$.nested[*][*]", `[1,2,3]`},
		{"WildcardEmpty", "$.empty[*]", `[]`},
		{"DeepScan", "$..author", `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`},
		{"DeepScanUnderStore", "$.store..price", `[19.95,8.95,12.99,8.99,22.99]`},
		{"DeepScanIndex", "$..book[2].title", `["Moby Dick"]`},
		{"DeepScanNegative", "$..book[-1].title", `["The Lord of the Rings"]`},
		{"DeepBracket", "$..['isbn']", `["0-553-21311-3","0-395-19395-8"]`},
		{"DeepMultiNameNeedsAll", "$..['category','price']", `[{"category":"reference","price":8.95},{"category":"fiction","price":12.99},{"category":"fiction","price":8.99},{"category":"fiction","price":22.99}]`},
		{"DeepWildcardOrder", "$.store.bicycle..*", `["red",19.95]`},
		{"IndexUnion", "$.bar[0,2]", `["a","c"]`},
		{"IndexUnionOutOfRangeSkipped", "$.bar[0,7]", `["a"]`},
		{"NameUnionNotLeaf", "$.store.book[0]['author','title'].x", `[]`},
		{"SliceBetween", "$.bar[0:2]", `["a","b"]`},
		{"SliceFrom", "$.bar[1:]", `["b","c"]`},
		{"SliceTo", "$.bar[:1]", `["a"]`},
		{"SliceNegativeFrom", "$.bar[-2:]", `["b","c"]`},
		{"SliceBeyondEnd", "$.bar[1:99]", `["b","c"]`},
		{"SliceEmpty", "$.bar[2:1]", `[]`},
		{"SliceOnObject", "$.car[0:1]", `[]`},
		// Filters.
		{"FilterExists", "$.store.book[?(@.isbn)].title", `["Moby Dick","The Lord of the Rings"]`},
		{"FilterNotExists", "$.store.book[?(!@.isbn)].title", `["Sayings of the Century","Sword of Honour"]`},
		{"FilterLess", "$.store.book[?(@.price < 10)].price", `[8.95,8.99]`},
		{"FilterLessEqual", "$.store.book[?(@.price <= 8.99)].price", `[8.95,8.99]`},
		{"FilterGreater", "$.store.book[?(@.price > 20)].title", `["The Lord of the Rings"]`},
		{"FilterGreaterEqual", "$.store.book[?(@.price >= 12.99)].price", `[12.99,22.99]`},
		{"FilterEqualString", "$.store.book[?(@.category == 'reference')].author", `["Nigel Rees"]`},
		{"FilterEqualDoubleQuoted", `$.store.book[?(@.category == "reference")].author`, `["Nigel Rees"]`},
		{"FilterNotEqual", "$.store.book[?(@.category != 'fiction')].author", `["Nigel Rees"]`},
		{"FilterRootRef", "$.store.book[?(@.price < $.expensive)].price", `[8.95,8.99]`},
		{"FilterAnd", "$.store.book[?(@.category == 'fiction' && @.price < 20)].title", `["Sword of Honour","Moby Dick"]`},
		{"FilterOr", "$.store.book[?(@.price < 9 || @.price > 20)].price", `[8.95,8.99,22.99]`},
		{"FilterGroupedNot", "$.store.book[?(!(@.price < 9 || @.price > 20))].price", `[12.99]`},
		{"FilterRegex", "$.store.book[?(@.author =~ /.*REES/i)].author", `["Nigel Rees"]`},
		{"FilterRegexJavaFlags", "$.store.book[?(@.author =~ /nigel.*/iuU)].author", `["Nigel Rees"]`},
		{"FilterRegexFullMatch", "$.store.book[?(@.author =~ /Rees/)].author", `[]`},
		{"FilterIn", "$.store.book[?(@.price in [8.95, 22.99])].price", `[8.95,22.99]`},
		{"FilterInStrings", "$.store.book[?(@.category in ['reference'])].price", `[8.95]`},
		{"FilterNin", "$.store.book[?(@.category nin ['fiction'])].price", `[8.95]`},
		{"FilterBoolean", "$.items[?(@.ok == true)].id", `[1,3]`},
		{"FilterNull", "$.items[?(@.n == null)].id", `[1]`},
		{"FilterMissingNotEqual", "$.items[?(@.n != null)].id", `[2,3]`},
		{"FilterNumberVsString", "$.items[?(@.id == '2')].id", `[2]`},
		{"FilterStrictEqual", "$.items[?(@.id === '2')].id", `[]`},
		{"FilterStringOrder", "$.store.book[?(@.author < 'F')].author", `["Evelyn Waugh"]`},
		{"FilterMixedOrderFalse", "$.store.book[?(@.author < 5)].author", `[]`},
		{"FilterContains", "$.items[?(@.tags contains 'x')].id", `[1]`},
		{"FilterSize", "$.items[?(@.tags size 1)].id", `[2]`},
		{"FilterEmpty", "$.items[?(@.tags empty true)].id", `[3]`},
		{"FilterSubsetOf", "$.items[?(@.tags subsetof ['x','y'])].id", `[1,2,3]`},
		{"FilterAnyOf", "$.items[?(@.tags anyof ['x'])].id", `[1]`},
		{"FilterNoneOf", "$.items[?(@.tags noneof ['x'])].id", `[2,3]`},
		{"FilterOnObject", "$.store[?(@.bicycle)].bicycle.color", `["red"]`},
		{"DeepFilter", "$..[?(@.price > 19)].price", `[19.95,22.99]`},
		// The developer guide's filter example, and its rule that "@" matches only objects.
		{"GuideJarFilter", "$.jar[?(@.a >= 5)]", `[{"a":5},{"a":7}]`},
		{"FilterScalarsNeverMatch", "$.bar[?(@ == 'a')]", `[]`},
		{"FilterScalarsNeverMatchRootCondition", "$.bar[?($.foo == 123)]", `[]`},
		{"FilterNestedArraysNeverMatch", "$.nested[?(@.length)]", `[]`},
		{"FilterEmptyResult", "$.store.book[?(@.price > 100)]", `[]`},
		// Step Functions does not evaluate path functions: "length()" is a member name.
		{"FunctionNameIsMember", "$.fn['length()']", `"a member"`},
		{"FunctionNameDotted", "$.fn.length()", `"a member"`},
		{"FilterFunctionNameIsMember", "$.items[?(@.tags.length() == 2)].id", `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.path)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.path, err)
			}
			got, err := p.Get(doc)
			if err != nil {
				t.Fatalf("Get(%q): %v", tt.path, err)
			}
			if tt.want == "" {
				if got, want := canonJSON(t, got), canonJSON(t, doc); got != want {
					t.Fatalf("Get(%q) = %s, want the whole document", tt.path, got)
				}
				return
			}
			if got, want := canonJSON(t, got), canonJSON(t, decode(t, tt.want)); got != want {
				t.Fatalf("Get(%q) = %s, want %s", tt.path, got, want)
			}
		})
	}
}

func TestGetNotFound(t *testing.T) {
	doc := loadStore(t)
	tests := []struct {
		name, path, msg string
	}{
		{"MissingMember", "$.nope", `no member "nope" at $`},
		{"MissingNested", "$.car.nope.deeper", `no member "nope" at $['car']`},
		{"IndexOutOfRange", "$.bar[3]", "index 3 out of range for array of length 3"},
		{"NegativeOutOfRange", "$.bar[-4]", "index -4 out of range"},
		{"IndexIntoEmpty", "$.empty[0]", "array of length 0"},
		{"MemberOfArray", "$.bar.x", "expected an object, found an array at $['bar']"},
		{"MemberOfNull", "$.nothing.x", "expected an object, found null"},
		{"MemberOfString", "$.str.x", "found a string"},
		{"IndexOfObject", "$.car[0]", "expected an array, found an object"},
		{"FunctionNotEvaluated", "$.bar.length()", `expected an object, found an array at $['bar']`},
		{"AggregateNotEvaluated", "$.car.sum()", `no member "sum()" at $['car']`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.path)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.path, err)
			}
			v, err := p.Get(doc)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(%q) = %v, %v; want ErrNotFound", tt.path, v, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Get(%q) error %q does not say %q", tt.path, err, tt.msg)
			}
		})
	}
}

func TestGetScalarDocuments(t *testing.T) {
	for _, tt := range []struct {
		doc  any
		path string
		want string
	}{
		{"plain", "$", `"plain"`},
		{nil, "$", `null`},
		{float64(1.5), "$", `1.5`},
		{[]any{1, 2}, "$[1]", `2`},
		{map[string]any{"a": int(7)}, "$.a", `7`},
	} {
		p, err := Compile(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Get(tt.doc)
		if err != nil {
			t.Fatalf("Get(%q) on %#v: %v", tt.path, tt.doc, err)
		}
		if got, want := canonJSON(t, got), tt.want; got != want {
			t.Fatalf("Get(%q) on %#v = %s, want %s", tt.path, tt.doc, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		path                string
		reference, definite bool
		canonical           string
	}{
		{"$", true, true, "$"},
		{"$.a.b", true, true, "$['a']['b']"},
		{"$['a'][0]", true, true, "$['a'][0]"},
		{"$.a[-1]", true, true, "$['a'][-1]"},
		{"$.a[*]", false, false, "$['a'][*]"},
		{"$.*", false, false, "$[*]"},
		{"$..a", false, false, "$..['a']"},
		{"$.a[0,1]", false, false, "$['a'][0,1]"},
		{"$.a[1:2]", false, false, "$['a'][1:2]"},
		{"$.a[:2]", false, false, "$['a'][:2]"},
		{"$['a','b']", false, true, "$['a','b']"},
		{"$['a','b'].c", false, false, "$['a','b']['c']"},
		{"$.a[?(@.b > 1)]", false, false, "$['a'][?(@['b'] > 1)]"},
		{"$.a.length()", true, true, "$['a']['length()']"},
		{"$.a[?(@.b.length() > 1)]", false, false, "$['a'][?(@['b']['length()'] > 1)]"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := Compile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.IsReference(); got != tt.reference {
				t.Fatalf("IsReference() = %v, want %v", got, tt.reference)
			}
			if got := p.IsDefinite(); got != tt.definite {
				t.Fatalf("IsDefinite() = %v, want %v", got, tt.definite)
			}
			if got, want := p.String(), tt.path; got != want {
				t.Fatalf("String() = %q, want %q", got, want)
			}
			if got, want := p.canonical(), tt.canonical; got != want {
				t.Fatalf("canonical() = %q, want %q", got, want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		path   string
		offset int
		msg    string
	}{
		{"", 0, "must start with '$'"},
		{"a.b", 0, "must start with '$'"},
		{"$a", 1, "expected '.' or '['"},
		{"$.", 1, "must not end with '.'"},
		{"$..", 1, "must not end with '..'"},
		{"$...a", 3, "unexpected '.'"},
		{"$.a b", 3, "expected '.' or '['"},
		{"$[", 1, "unclosed '['"},
		{"$['a'", 1, "unclosed '['"},
		{"$['a", 2, "unterminated string"},
		{"$[a]", 2, "unexpected 'a' after '['"},
		{"$[1:2:3]", 5, "slices with a step are not supported"},
		{"$[1x]", 3, "expected ']'"},
		{`$['\q']`, 3, `unknown escape \q`},
		{"$[?(@.a == )]", 11, "expected a path, literal"},
		{"$[?(@.a =~ 'x')]", 11, "must be a /regular expression/"},
		{"$[?(@.a =~ /[/)]", 11, "bad regular expression"},
		{"$[?(@.a =~ /x/q)]", 14, "unsupported regular expression flag"},
		{"$[?(1)]", 4, "a literal alone is not a condition"},
		{"$[?(@.a > 1]", 11, "expected ')' to close the filter"},
		{"$[?@.a]", 3, "expected '(' after '?'"},
		{"$[?(@.a.length(1) > 1)]", 14, "expected ')'"},
		{"$[?(@.a in [1,)]", 11, "bad JSON literal"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := Compile(tt.path)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want an error", tt.path, p.canonical())
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error %T is not a *SyntaxError", tt.path, err)
			}
			if got, want := se.Offset, tt.offset; got != want {
				t.Fatalf("Compile(%q) offset = %d, want %d (%v)", tt.path, got, want, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Compile(%q) error %q does not say %q", tt.path, err, tt.msg)
			}
		})
	}
}

func TestSet(t *testing.T) {
	// The developer guide's ResultPath examples start from this input.
	input := `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions"}`
	tests := []struct {
		name, doc, path, value, want string
	}{
		{"ReplaceRoot", input, "$", `"Hello, AWS Step Functions!"`, `"Hello, AWS Step Functions!"`},
		{"AddMember", input, "$.taskresult", `"Hello, AWS Step Functions!"`,
			`{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions","taskresult":"Hello, AWS Step Functions!"}`},
		{"CreateObjectsOnTheWay", input, "$.strings.lambdaresult", `"Hello"`,
			`{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions","strings":{"lambdaresult":"Hello"}}`},
		{"ReplaceMember", input, "$.who", `{"x":1}`,
			`{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":{"x":1}}`},
		{"IntoExistingObject", `{"a":{"b":1}}`, "$.a.c", `2`, `{"a":{"b":1,"c":2}}`},
		{"BracketName", `{}`, "$['x y']['z']", `true`, `{"x y":{"z":true}}`},
		{"ArrayElement", `{"a":[1,{"b":2},3]}`, "$.a[1].c", `4`, `{"a":[1,{"b":2,"c":4},3]}`},
		{"ArrayElementReplace", `{"a":[1,2,3]}`, "$.a[-1]", `9`, `{"a":[1,2,9]}`},
		{"NullValue", `{"a":1}`, "$.b", `null`, `{"a":1,"b":null}`},
		{"RootIntoScalar", `"text"`, "$", `{"a":1}`, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := decode(t, tt.doc)
			before := canonJSON(t, doc)
			p, err := Compile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Set(doc, p, decode(t, tt.value))
			if err != nil {
				t.Fatalf("Set(%s, %q): %v", tt.doc, tt.path, err)
			}
			if got, want := canonJSON(t, got), canonJSON(t, decode(t, tt.want)); got != want {
				t.Fatalf("Set = %s, want %s", got, want)
			}
			if got := canonJSON(t, doc); got != before {
				t.Fatalf("Set modified its input: %s, was %s", got, before)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		name, doc, path, msg string
	}{
		{"ScalarInput", `"text"`, "$.a", "$ is a string, not an object"},
		{"ArrayInput", `[1]`, "$.a", "$ is an array, not an object"},
		{"ThroughString", `{"a":"x"}`, "$.a.b", "$['a'] is a string, not an object"},
		{"ThroughNull", `{"a":null}`, "$.a.b", "$['a'] is null, not an object"},
		{"ThroughNumber", `{"a":{"b":5}}`, "$.a.b.c", "$['a']['b'] is a number"},
		{"IndexOnObject", `{"a":{}}`, "$.a[0]", "not an array"},
		{"IndexOnCreated", `{}`, "$.a[0]", "not an array"},
		{"IndexOutOfRange", `{"a":[1]}`, "$.a[1]", "index 1 out of range"},
		{"NotReference", `{"a":[1]}`, "$.a[*]", "only a Reference Path"},
		{"DeepScan", `{"a":1}`, "$..a", "only a Reference Path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Set(decode(t, tt.doc), p, "v")
			if !errors.Is(err, ErrCannotSet) {
				t.Fatalf("Set(%s, %q) = %v, %v; want ErrCannotSet", tt.doc, tt.path, got, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Set error %q does not say %q", err, tt.msg)
			}
		})
	}
	if _, err := Set(map[string]any{}, nil, 1); !errors.Is(err, ErrCannotSet) {
		t.Fatalf("Set with a nil path: %v, want ErrCannotSet", err)
	}
}

// TestCanonicalRoundTrip checks that the canonical form of every path in the tests above
// compiles to a path with the same canonical form and the same results.
func TestCanonicalRoundTrip(t *testing.T) {
	doc := loadStore(t)
	for _, path := range []string{
		"$.store.book[?(@.category == 'fiction' && @.price < 20)].title",
		"$.store.book[?(!(@.price < 9 || @.price > 20))].price",
		`$['a\'b']`, "$..['isbn']", "$.bar[-2:]", "$.bar[:1]", "$.bar[0,2]",
		"$.store.book[?(@.author =~ /.*REES/i)].author",
		"$.items[?(@.tags subsetof ['x','y'])].id",
		"$.items[?(@.n == null)].id",
		"$.store.book[?(@.price < $.expensive)].price",
		"$.items[?(@.tags.length() == 2)].id",
		"$..[?(@.price > 19)].price",
		"$.store.book[*].price.sum()",
		"$.fn.length()",
		"$['\\u0001x']",
	} {
		p, err := Compile(path)
		if err != nil {
			t.Fatalf("Compile(%q): %v", path, err)
		}
		c := p.canonical()
		q, err := Compile(c)
		if err != nil {
			t.Fatalf("Compile(canonical %q of %q): %v", c, path, err)
		}
		if got := q.canonical(); got != c {
			t.Fatalf("canonical of %q is %q, but its own canonical is %q", path, c, got)
		}
		v1, err1 := p.Get(doc)
		v2, err2 := q.Get(doc)
		if (err1 == nil) != (err2 == nil) || canonJSON(t, v1) != canonJSON(t, v2) {
			t.Fatalf("%q and its canonical %q disagree: %v/%v, %v/%v", path, c, v1, err1, v2, err2)
		}
	}
}

func TestGetDoesNotModify(t *testing.T) {
	doc := loadStore(t)
	before := canonJSON(t, doc)
	for _, path := range []string{"$..*", "$.store.book[?(@.price > 1)]", "$['store','foo']", "$..price"} {
		p, err := Compile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Get(doc); err != nil {
			t.Fatal(err)
		}
	}
	if got := canonJSON(t, doc); got != before {
		t.Fatal("Get modified the document")
	}
}

func TestParseInt(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-12", -12, true}, {"+7", 7, true}, {"123456789012345678", 123456789012345678, true},
		{"9223372036854775807", 9223372036854775807, true}, {"9223372036854775808", 0, false},
		{"", 0, false}, {"-", 0, false}, {"1.5", 0, false}, {"1e3", 0, false}, {"12a", 0, false},
	} {
		got, ok := parseInt(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Fatalf("parseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestConcurrentUse shares one compiled path between goroutines, as concurrent executions of
// one state machine do (run with -race).
func TestConcurrentUse(t *testing.T) {
	doc := loadStore(t)
	p, err := Compile("$.store.book[?(@.price < $.expensive)].title")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Compile("$.store.bicycle.done")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	for range 8 {
		go func() {
			var last string
			for range 200 {
				v, err := p.Get(doc)
				if err != nil {
					done <- err.Error()
					return
				}
				if _, err := Set(doc, ref, true); err != nil {
					done <- err.Error()
					return
				}
				b, _ := json.Marshal(v) // not canonJSON: t.Fatal must not run off the test goroutine
				last = string(b)
			}
			done <- last
		}()
	}
	for range 8 {
		if got, want := <-done, `["Sayings of the Century","Moby Dick"]`; got != want {
			t.Fatalf("concurrent Get = %s, want %s", got, want)
		}
	}
}
