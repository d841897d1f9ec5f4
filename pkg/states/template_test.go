package states

import (
	"testing"
	"time"
)

// TestAppendEvalMatchesMarshal checks that a template written straight to JSON gives the
// bytes marshal gives for the evaluated value, and fails with the same failure.
func TestAppendEvalMatchesMarshal(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		streams bool
	}{
		{"Static", `{"b":1,"a":[true,null,{"z":"<&>"}]}`, true},
		{"Paths", `{"id.$":"$.id","all.$":"$","name":"x"}`, true},
		{"Nested", `{"Item":{"id":{"N.$":"States.Format('{}', $.id)"}},"TableName":"t"}`, true},
		{"Arrays", `{"list":[{"v.$":"$.id"},"lit",[1,{"w.$":"$.obj"}]]}`, true},
		{"Context", `{"name.$":"$$.State.Name","exec.$":"$$.Execution.Id"}`, true},
		{"Escapes", `{"é.$":"$.s","q\"k":"v\u2028"}`, true},
		{"KeyOrderDiffers", `{"a-b":1,"a.$":"$.id"}`, false},
		{"MissingPath", `{"a.$":"$.nope","b.$":"$.alsoNope"}`, true},
		{"FailingIntrinsic", `{"a.$":"States.ArrayGetItem($.list, 9)"}`, true},
	}
	x := &Execution{eng: New(Options{}), arn: "arn:x", name: "x", machineName: "m", machineARN: "arn:m", input: map[string]any{}}
	input, err := decode([]byte(`{"id":7,"obj":{"k":[1,"2"]},"s":"ü<>","list":[1]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decode([]byte(tc.tmpl))
			if err != nil {
				t.Fatal(err)
			}
			p := &parser{names: map[string]bool{}}
			tm := p.template("S", "Parameters", v)
			if len(p.problems) > 0 {
				t.Fatalf("problems: %v", p.problems)
			}
			if got, want := tm.streams, tc.streams; got != want {
				t.Fatalf("streams = %v, want %v", got, want)
			}
			th := &thread{x: x}
			sr := &stateRun{s: &state{name: "S"}, entered: time.Unix(0, 0)}
			want, wf := tm.eval(th.env(sr, input))
			if !tm.streams {
				return
			}
			got, ok, gf := tm.appendEval(nil, th.env(sr, input))
			if (wf == nil) != (gf == nil) {
				t.Fatalf("failures differ: appendEval %v, eval %v", gf, wf)
			}
			if wf != nil {
				if gf.name != wf.name || gf.cause != wf.cause {
					t.Fatalf("appendEval failed with %s %q, eval with %s %q", gf.name, gf.cause, wf.name, wf.cause)
				}
				return
			}
			if !ok {
				t.Fatal("appendEval could not encode")
			}
			wantJSON, err := marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(wantJSON) {
				t.Fatalf("appendEval = %s, marshal(eval) = %s", got, wantJSON)
			}
		})
	}
}
