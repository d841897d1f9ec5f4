package intrinsic

import (
	"errors"
	"testing"
)

// FuzzParse parses arbitrary invocations. Parse must never panic; a call that parses must
// print to a canonical form that parses back to the same form, and evaluating it against a
// fixed input must either succeed or fail with ErrIntrinsicFailure.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`States.Format('Hello, my name is {}.', $.name)`,
		`States.Format($.template, $.name)`,
		`States.Format('I\'m \{\} {} \\', $$.Execution.Id)`,
		`States.StringToJson($.escapedJsonString)`,
		`States.JsonToString($.unescapedJson)`,
		`States.Array($.Id, 1, -2.5e3, true, false, null, 'x')`,
		`States.ArrayPartition($.inputArray,4)`,
		`States.ArrayContains($.inputArray, $.lookingFor)`,
		`States.ArrayRange(1, 9, 2)`,
		`States.ArrayGetItem($.inputArray, $.index)`,
		`States.ArrayLength($.inputArray)`,
		`States.ArrayUnique($.inputArray)`,
		`States.Base64Encode($.input)`,
		`States.Base64Decode($.base64)`,
		`States.Hash($.Data, $.Algorithm)`,
		`States.JsonMerge($.json1, $.json2, false)`,
		`States.MathRandom($.start, $.end, 7)`,
		`States.MathAdd($.value1, $.step)`,
		`States.StringSplit($.inputString, $.splitter)`,
		`States.UUID()`,
		`States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))`,
		`States.Array($.a[?(@.b == 'x, y')], $['c d'])`,
		`States.Array('a\x')`, `States.Array(`, `States.Nope()`,
	} {
		f.Add(s)
	}
	input := decode(f, `{"name":"Arnav","template":"Hello, my name is {}.","Id":123456,"inputArray":[1,2,3,3],
		"lookingFor":3,"index":1,"input":"Data to encode","base64":"RGF0YSB0byBlbmNvZGU=","Data":"input data",
		"Algorithm":"SHA-1","json1":{"a":1},"json2":{"b":2},"start":1,"end":999,"value1":111,"step":-1,
		"inputString":"a,b","splitter":",","escapedJsonString":"{\"foo\": \"bar\"}","unescapedJson":{"foo":"bar"},
		"ImageRecipe":{"Arn":"arn:aws:imagebuilder:us-east-1:1:image-recipe/r.v/1.0.0"}}`)
	env := envFor(f, input, decode(f, `{"Execution":{"Id":"e1"}}`))
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T is not a *SyntaxError", expr, err)
			}
			if se.Offset < 0 || se.Offset > len(expr) {
				t.Fatalf("Parse(%q) error offset %d outside the input", expr, se.Offset)
			}
			return
		}
		s := c.String()
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", s, expr, err)
		}
		if got := again.String(); got != s {
			t.Fatalf("String() %q of %q reparses to %q", s, expr, got)
		}
		if _, err := c.Eval(env); err != nil && !errors.Is(err, ErrIntrinsicFailure) {
			t.Fatalf("Eval(%q) error %v does not wrap ErrIntrinsicFailure", expr, err)
		}
	})
}
