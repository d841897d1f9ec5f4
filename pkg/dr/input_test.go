package dr

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseWorkflowInput(t *testing.T) {
	tests := []struct {
		name, workflow, input string
		defApproval           bool
		want                  string // golden config JSON, or the error's substrings separated by |
		wantErr               bool
	}{
		{name: "FailoverEmpty", workflow: "failover", input: `{}`, want: `{"trigger":"console","reason":"failover started by console","approval":false,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false}`},
		{name: "FailoverNull", workflow: "failover", input: `null`, defApproval: true, want: `{"trigger":"console","reason":"failover started by console","approval":true,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false}`},
		{name: "FailoverAlarm", workflow: "failover", input: `{"trigger":"alarm","alarm":"pendulum-primary-unhealthy"}`, want: `{"trigger":"alarm","alarm":"pendulum-primary-unhealthy","reason":"failover started by alarm pendulum-primary-unhealthy","approval":false,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false}`},
		{name: "FailoverAlarmImpliesTrigger", workflow: "failover", input: `{"alarm":"a"}`, want: `{"trigger":"alarm","alarm":"a","reason":"failover started by alarm a","approval":false,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false}`},
		{name: "FailoverAll", workflow: "failover", input: `{"trigger":"gameday","reason":"game day","approval":true,"approvalTimeoutSeconds":60,"restoreSource":"backup"}`, want: `{"trigger":"gameday","reason":"game day","approval":true,"approvalTimeoutSeconds":60,"restoreSource":"backup","retryRestore":false}`},
		{name: "FailoverRetryRestore", workflow: "failover", input: `{"retryRestore":true,"restoreSource":"pitr"}`, want: `{"trigger":"console","reason":"failover started by console","approval":false,"approvalTimeoutSeconds":3600,"restoreSource":"pitr","retryRestore":true}`},
		{name: "RetryRestoreNotBoolean", workflow: "failover", input: `{"retryRestore":"yes"}`, wantErr: true, want: "retryRestore: want true or false"},
		{name: "FailbackRejectsRetryRestore", workflow: "failback", input: `{"retryRestore":true}`, wantErr: true, want: `unknown field "retryRestore"`},
		{name: "FailbackEmpty", workflow: "failback", input: `{}`, want: `{"reason":"failback started from the console","approval":false,"approvalTimeoutSeconds":3600,"minHealthyMinutes":30}`},
		{name: "FailbackZeroMinutes", workflow: "failback", input: `{"minHealthyMinutes":0,"approvalTimeoutSeconds":86400}`, want: `{"reason":"failback started from the console","approval":false,"approvalTimeoutSeconds":86400,"minHealthyMinutes":0}`},
		{name: "DrillEmpty", workflow: "drill", input: `{}`, want: `{"minHealthyMinutes":30,"mode":"isolated"}`},
		{name: "DrillGameday", workflow: "drill", input: `{"mode":"gameday","minHealthyMinutes":1}`, want: `{"minHealthyMinutes":1,"mode":"gameday"}`},
		// null is absent for every optional field: the default applies.
		{name: "FailoverAllNull", workflow: "failover", defApproval: true,
			input: `{"trigger":null,"alarm":null,"reason":null,"approval":null,"approvalTimeoutSeconds":null,"restoreSource":null,"retryRestore":null,"abandoned":null}`,
			want:  `{"trigger":"console","reason":"failover started by console","approval":true,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false}`},
		{name: "FailoverApprovalNullIsDefaultNotFalse", workflow: "failover", input: `{"approval":null}`, defApproval: true, want: `{"trigger":"console","reason":"failover started by console","approval":true,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false}`},
		{name: "FailoverRestoreSourceNull", workflow: "failover", input: `{"restoreSource":null,"approval":false}`, want: `{"trigger":"console","reason":"failover started by console","approval":false,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false}`},
		{name: "FailoverTimeoutNull", workflow: "failover", input: `{"approvalTimeoutSeconds":null}`, want: `{"trigger":"console","reason":"failover started by console","approval":false,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false}`},
		{name: "FailbackAllNull", workflow: "failback", input: `{"reason":null,"approval":null,"approvalTimeoutSeconds":null,"minHealthyMinutes":null,"abandoned":null}`,
			want: `{"reason":"failback started from the console","approval":false,"approvalTimeoutSeconds":3600,"minHealthyMinutes":30}`},
		{name: "DrillAllNull", workflow: "drill", input: `{"mode":null,"minHealthyMinutes":null}`, want: `{"minHealthyMinutes":30,"mode":"isolated"}`},
		{name: "UnknownNullStillUnknown", workflow: "failover", input: `{"reasn":null}`, wantErr: true, want: `unknown field "reasn"`},
		{name: "FailoverAbandonedResume", workflow: "failover", input: `{"abandoned":"resume"}`, want: `{"trigger":"console","reason":"failover started by console","approval":false,"approvalTimeoutSeconds":3600,"restoreSource":"auto","retryRestore":false,"abandoned":"resume"}`},
		{name: "FailbackAbandonedRollback", workflow: "failback", input: `{"abandoned":"rollback"}`, want: `{"reason":"failback started from the console","approval":false,"approvalTimeoutSeconds":3600,"minHealthyMinutes":30,"abandoned":"rollback"}`},
		{name: "AbandonedBadValue", workflow: "failover", input: `{"abandoned":"undo"}`, wantErr: true, want: `abandoned: "undo" is not one of resume, rollback`},
		{name: "AbandonedNotForDrill", workflow: "drill", input: `{"abandoned":"resume"}`, wantErr: true, want: `unknown field "abandoned"`},
		{name: "NotAnObject", workflow: "failover", input: `[1]`, wantErr: true, want: "want a JSON object"},
		{name: "NotJSON", workflow: "failback", input: `{"reason":`, wantErr: true, want: "want a JSON object"},
		{name: "AllProblemsAtOnce", workflow: "failover", input: `{"trigger":"pager","approval":1,"approvalTimeoutSeconds":59.5,"restoreSource":"tape","x":1,"reason":7}`, wantErr: true,
			want: `trigger: "pager" is not one of console, alarm, gameday|approval: want true or false|approvalTimeoutSeconds: want a whole number|restoreSource: "tape"|unknown field "x"|reason: want a string`},
		{name: "FailbackRejectsFailoverFields", workflow: "failback", input: `{"restoreSource":"pitr","minHealthyMinutes":1441}`, wantErr: true, want: `unknown field "restoreSource"|minHealthyMinutes: 1441 is outside 0…1440`},
		{name: "ReasonTooLong", workflow: "failover", input: `{"reason":"` + strings.Repeat("é", 1025) + `"}`, wantErr: true, want: "reason: at most 1024 characters, got 1025"},
		{name: "TimeoutTooLong", workflow: "failover", input: `{"approvalTimeoutSeconds":86401}`, wantErr: true, want: "approvalTimeoutSeconds: 86401 is outside 60…86400"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWorkflowInput(tc.workflow, []byte(tc.input), tc.defApproval)
			if tc.wantErr {
				if kindOf(err) != "invalid" {
					t.Fatalf("err = %v, want InvalidInputError", err)
				}
				for _, part := range strings.Split(tc.want, "|") {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q lacks %q", err, part)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			b, _ := json.Marshal(got)
			if got, want := string(b), tc.want; got != want {
				t.Fatalf("config = %s\nwant     %s", got, want)
			}
			if err := got.Validate(tc.workflow); err != nil {
				t.Fatalf("normalized config invalid: %v", err)
			}
		})
	}
}

// TestControlGolden checks the control step's input and output documents
// against testdata, the shapes the state machines pass and read.
func TestControlGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "control_begin_input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in ControlInput
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	if in.Op != "begin" || in.Workflow != "failover" || in.Defaults.Approval != "false" || !strings.Contains(string(in.Input), "alarm") {
		t.Fatalf("decoded %+v", in)
	}
	c, _, _ := newControl(t)
	out, err := c.Handle(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(out, "", "  ")
	want, err := os.ReadFile(filepath.Join("testdata", "control_begin_output.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	json.Unmarshal(got, &g)
	json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("output\n%s\nwant\n%s", got, want)
	}
}

// FuzzBeginInput: the parser never panics, and every input it accepts
// normalizes to a valid configuration that parses back to itself.
func FuzzBeginInput(f *testing.F) {
	for _, s := range []string{`{}`, `null`, ``, `[]`, `{"trigger":"alarm","alarm":"x"}`, `{"reason":"r","approval":true,"approvalTimeoutSeconds":60,"restoreSource":"pitr"}`,
		`{"minHealthyMinutes":0}`, `{"mode":"gameday"}`, `{"approval":null,"restoreSource":null}`, `{"abandoned":"rollback"}`, `{"approvalTimeoutSeconds":1e3}`, `{"a":1,"b":2}`, `{"reason":"\ud800"}`} {
		for _, wf := range []string{"failover", "failback", "drill"} {
			f.Add(wf, []byte(s), false)
		}
	}
	f.Fuzz(func(t *testing.T, workflow string, input []byte, def bool) {
		c, err := ParseWorkflowInput(workflow, input, def)
		if err != nil {
			if kindOf(err) != "invalid" {
				t.Fatalf("error of kind %s: %v", kindOf(err), err)
			}
			return
		}
		if err := c.Validate(workflow); err != nil {
			t.Fatalf("accepted %q → %+v: %v", input, c, err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseWorkflowInput(workflow, b, !def)
		if err != nil {
			t.Fatalf("normalized %s rejected: %v", b, err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("normalization not stable: %+v → %+v", c, again)
		}
	})
}
