package states

import (
	"encoding/json"
	"math"
	"testing"
)

// TestMarshalMatchesEncodingJSON checks the fast encoder byte for byte
// against encoding/json.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, "", "plain", "quote\"back\\slash", "<tag>&amp;", "tab\tnew\nline\x01", "é ü 日本", "\u2028", "bad\xffutf8",
		json.Number("12"), json.Number("-1.5e10"), json.Number("0.000001"), 3, int64(-7), 1.5, 1e21, math.SmallestNonzeroFloat64,
		[]any{}, []any{1, "a", nil, []any{map[string]any{}}},
		map[string]any{}, map[string]any{"b": 1, "a": map[string]any{"z": []any{true}, "<k>": "v"}, "é": nil},
		[]string{"typed"}, map[string]int{"x": 1},
	}
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshal(v)
		if err != nil {
			t.Fatalf("marshal(%#v): %v", v, err)
		}
		if string(got) != string(want) {
			t.Errorf("marshal(%#v) = %s, want %s", v, got, want)
		}
	}
}

func FuzzMarshal(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x<y",{"b":null,"c":true}],"d":"\u00e9\n"}`))
	f.Add([]byte(`[1.0e3, -0, "\u2029"]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := decode(doc)
		if err != nil {
			return
		}
		want, err := json.Marshal(v)
		if err != nil {
			return
		}
		got, err := marshal(v)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if string(got) != string(want) {
			t.Fatalf("marshal = %s, want %s", got, want)
		}
	})
}
