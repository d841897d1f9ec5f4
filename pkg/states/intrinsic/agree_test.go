package intrinsic_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/states/intrinsic"
	"github.com/pendulum-dr/pendulum/pkg/states/jsonpath"
)

// TestNumberEqualityAgreesWithFilters checks that States.ArrayContains, States.ArrayUnique and
// a JSONPath filter share one number equality, including for numbers float64 cannot hold
// exactly (they used to compare through float64 here and exactly in filters).
func TestNumberEqualityAgreesWithFilters(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{"BeyondFloat64", "9007199254740993", "9007199254740992", false},
		{"BeyondFloat64WithFraction", "9007199254740993", "9007199254740992.0", false},
		{"SameValueOtherForm", "9007199254740993", "9007199254740993.0", true},
		{"BeyondInt64", "12345678901234567890", "12345678901234567891", false},
		{"BeyondInt64Equal", "12345678901234567890", "1.234567890123456789e19", true},
		{"DecimalsFloatCannotSeparate", "0.1", "0.10000000000000001", false},
		{"Exponent", "1", "1e0", true},
		{"NegativeZero", "-0", "0.0", true},
		{"HugeExponents", "1e400", "1e401", false},
		{"Different", "2", "3", false},
	}
	// Step Functions' "@" never matches a scalar item, so the filter looks into objects.
	filter, err := jsonpath.Compile("$.records[?(@.v == $.probe)]")
	if err != nil {
		t.Fatal(err)
	}
	contains, err := intrinsic.Parse("States.ArrayContains($.items, $.probe)")
	if err != nil {
		t.Fatal(err)
	}
	unique, err := intrinsic.Parse("States.ArrayLength(States.ArrayUnique($.pair))")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(`{"records":[{"v":` + tt.a + `}],"items":[` + tt.a + `],"probe":` + tt.b + `,"pair":[` + tt.a + `,` + tt.b + `]}`))
			dec.UseNumber()
			var doc any
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			env := intrinsic.Env{Resolve: resolver(doc)}

			matched, err := filter.Get(doc)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(matched.([]any)) == 1, tt.equal; got != want {
				t.Fatalf("filter %s == %s matched %v, want %v", tt.a, tt.b, got, want)
			}
			got, err := contains.Eval(env)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := got, tt.equal; got != want {
				t.Fatalf("ArrayContains([%s], %s) = %v, want %v", tt.a, tt.b, got, want)
			}
			n, err := unique.Eval(env)
			if err != nil {
				t.Fatal(err)
			}
			wantLen := "2"
			if tt.equal {
				wantLen = "1"
			}
			if got, want := n.(json.Number).String(), wantLen; got != want {
				t.Fatalf("ArrayLength(ArrayUnique([%s, %s])) = %s, want %s", tt.a, tt.b, got, want)
			}
			m := doc.(map[string]any)
			if got, want := jsonpath.Equal(m["items"].([]any)[0], m["probe"]), tt.equal; got != want {
				t.Fatalf("jsonpath.Equal(%s, %s) = %v, want %v", tt.a, tt.b, got, want)
			}
		})
	}
}
