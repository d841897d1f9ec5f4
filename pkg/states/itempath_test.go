package states

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestMapItemPathsMatchContextObject checks that $$.Map.Item.Value and $$.Map.Item.Index,
// answered from the iteration without building the context object, give what the context
// object gives.
func TestMapItemPathsMatchContextObject(t *testing.T) {
	x := &Execution{eng: New(Options{}), arn: "arn:x", name: "x", machineName: "m", machineARN: "arn:m", input: map[string]any{}}
	values := []any{nil, json.Number("1.50"), "s", true, map[string]any{"a": []any{nil}}, []any{}}
	for i, v := range values {
		th := &thread{x: x, item: &mapItem{index: i, value: v}}
		sr := &stateRun{s: &state{name: "M"}, entered: time.Unix(0, 0)}
		for _, src := range []string{"$$.Map.Item.Value", "$$.Map.Item.Index"} {
			vp, err := compileValuePath(src)
			if err != nil {
				t.Fatal(err)
			}
			if vp.item == itemNone {
				t.Fatalf("%s: not recognised as a Map.Item path", src)
			}
			got, gerr := vp.get(th.env(sr, nil))
			want, werr := vp.p.Get(th.env(sr, nil).ctx())
			if gerr != nil || werr != nil {
				t.Fatalf("%s on %#v: errors %v, %v", src, v, gerr, werr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s on %#v = %#v, context object gives %#v", src, v, got, want)
			}
		}
	}
}
