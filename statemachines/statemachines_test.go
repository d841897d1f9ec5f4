package statemachines

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

func TestNamesListsEveryEmbeddedFile(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no state machines embedded")
	}
	found := false
	for _, n := range names {
		if strings.HasSuffix(n, ".asl.json") || strings.Contains(n, "/") {
			t.Errorf("name %q still carries a suffix or directory", n)
		}
		if n == "nightly-batch" {
			found = true
		}
	}
	if !found {
		t.Fatalf("Names() = %v, want it to include nightly-batch", names)
	}
}

func TestEveryDefinitionIsValidJSONPathASL(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			def, err := Definition(name)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(def, &doc); err != nil {
				t.Fatalf("not valid JSON: %v", err)
			}
			if ql, ok := doc["QueryLanguage"]; ok && ql != "JSONPath" {
				t.Fatalf("QueryLanguage = %v, want JSONPath or absent", ql)
			}
			if _, ok := doc["StartAt"].(string); !ok {
				t.Fatal("StartAt missing")
			}
			checkStates(t, doc, "")
		})
	}
}

// checkStates checks what asl-validator does not: every Next and Default
// names a state of the same scope, every state is reachable, and every
// ErrorEquals name is a States./Lambda. name, one of the error types the Go
// handlers return (fault.Names), or — on a service integration Task — an
// exception of that integration's own service ("<Prefix>.<Code>Exception",
// the prefix as Step Functions names it), so Retry and Catch can really match.
func checkStates(t *testing.T, scope map[string]any, where string) {
	t.Helper()
	states, ok := scope["States"].(map[string]any)
	if !ok {
		t.Fatalf("%sStates missing", where)
	}
	known := map[string]bool{}
	for _, n := range fault.Names {
		known[n] = true
	}
	reached := map[string]bool{scope["StartAt"].(string): true}
	for name, raw := range states {
		st := raw.(map[string]any)
		targets := []any{st["Next"], st["Default"]}
		for _, c := range asSlice(st["Choices"]) {
			targets = append(targets, c.(map[string]any)["Next"])
		}
		for _, c := range asSlice(st["Catch"]) {
			targets = append(targets, c.(map[string]any)["Next"])
		}
		for _, tg := range targets {
			if tg == nil {
				continue
			}
			if _, ok := states[tg.(string)]; !ok {
				t.Errorf("%s%s: transition to unknown state %q", where, name, tg)
			}
			reached[tg.(string)] = true
		}
		for _, list := range [][]any{asSlice(st["Retry"]), asSlice(st["Catch"])} {
			for _, r := range list {
				for _, e := range asSlice(r.(map[string]any)["ErrorEquals"]) {
					n := e.(string)
					own := serviceException(st["Resource"], n)
					if !strings.HasPrefix(n, "States.") && !strings.HasPrefix(n, "Lambda.") && !known[n] && !own {
						t.Errorf("%s%s: ErrorEquals %q is no error type the Go handlers return (fault.Names) nor an exception of the Task's own service", where, name, n)
					}
				}
			}
		}
		for _, key := range []string{"ItemProcessor", "Iterator"} {
			if sub, ok := st[key].(map[string]any); ok {
				checkStates(t, sub, where+name+"/")
			}
		}
		for i, b := range asSlice(st["Branches"]) {
			checkStates(t, b.(map[string]any), where+name+"/branch"+string(rune('0'+i))+"/")
		}
	}
	for name := range states {
		if !reached[name] {
			t.Errorf("%s%s: unreachable state", where, name)
		}
	}
}

// serviceException reports whether name is an exception of the service a
// Task's Resource integrates: arn:aws:states:::aws-sdk:<service>:<action> or
// an optimized integration such as arn:aws:states:::sns:publish.
func serviceException(resource any, name string) bool {
	res, _ := resource.(string)
	rest, ok := strings.CutPrefix(res, "arn:aws:states:::")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "aws-sdk:")
	service, _, _ := strings.Cut(rest, ":")
	if service == "" || service == "lambda" || service == "states" {
		return false
	}
	code, ok := strings.CutPrefix(name, states.SDKServicePrefix(service)+".")
	return ok && code != "" && strings.HasSuffix(code, "Exception")
}

func TestServiceException(t *testing.T) {
	tests := []struct {
		resource, name string
		want           bool
	}{
		{"arn:aws:states:::aws-sdk:dynamodb:describeTable", "DynamoDb.ResourceNotFoundException", true},
		{"arn:aws:states:::aws-sdk:dynamodb:describeTable", "Backup.ResourceNotFoundException", false},
		{"arn:aws:states:::aws-sdk:dynamodb:describeTable", "DynamoDb.Oops", false},
		{"arn:aws:states:::sns:publish.waitForTaskToken", "Sns.ThrottledException", true},
		{"${DrControlFunctionArn}", "DynamoDb.ResourceNotFoundException", false},
		{"arn:aws:states:::lambda:invoke", "Lambda.ServiceException", false},
	}
	for _, tt := range tests {
		if got := serviceException(tt.resource, tt.name); got != tt.want {
			t.Errorf("serviceException(%q, %q) = %v, want %v", tt.resource, tt.name, got, tt.want)
		}
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func TestRenderRoundTripsWithEveryPlaceholder(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			keys, err := Placeholders(name)
			if err != nil {
				t.Fatal(err)
			}
			subs := map[string]string{"Unused": "ignored"}
			for _, k := range keys {
				subs[k] = "arn:aws:lambda:eu-west-1:123456789012:function:" + k
			}
			out, err := Render(name, subs)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out) {
				t.Fatal("rendered definition is not valid JSON")
			}
			if got := placeholdersIn(out); len(got) != 0 {
				t.Fatalf("placeholders left after Render: %v", got)
			}
			for _, k := range keys {
				if !strings.Contains(string(out), subs[k]) {
					t.Errorf("rendered definition lacks the value of ${%s}", k)
				}
			}
			// JSONPath is untouched by substitution.
			def, _ := Definition(name)
			if got, want := strings.Count(string(out), "$."), strings.Count(string(def), "$."); got != want {
				t.Errorf("count of \"$.\" = %d after Render, want %d", got, want)
			}
		})
	}
}

func TestNightlyBatchPlaceholders(t *testing.T) {
	got, err := Placeholders("nightly-batch")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CompactFunctionArn", "CompactPlanFunctionArn"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Placeholders(nightly-batch) = %v, want %v", got, want)
	}
}

func TestRenderErrors(t *testing.T) {
	def := []byte(`{"a":"${One}","b":"${Two}","c.$":"$$.Execution.StartTime","d":"${One}"}`)
	tests := []struct {
		name    string
		subs    map[string]string
		wantErr []string
	}{
		{"NoneGiven", nil, []string{"${One}", "${Two}"}},
		{"OneMissing", map[string]string{"One": "x"}, []string{"${Two}"}},
		{"NeedsEscaping", map[string]string{"One": `x"y`, "Two": "z"}, []string{"One", "escaping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render("test", def, tt.subs)
			if err == nil {
				t.Fatal("render succeeded, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	out, err := render("test", def, map[string]string{"One": "1", "Two": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"a":"1","b":"2","c.$":"$$.Execution.StartTime","d":"1"}`; got != want {
		t.Fatalf("render = %s, want %s", got, want)
	}
}

func TestUnknownStateMachine(t *testing.T) {
	for _, name := range []string{"no-such", "", "../statemachines", "nightly-batch.asl.json"} {
		if _, err := Definition(name); !errors.Is(err, ErrUnknown) {
			t.Errorf("Definition(%q) error = %v, want ErrUnknown", name, err)
		}
		if _, err := Render(name, nil); !errors.Is(err, ErrUnknown) {
			t.Errorf("Render(%q) error = %v, want ErrUnknown", name, err)
		}
	}
}

// TestNotifiedFailures: the ends whose Catch path already published to the
// DR topic, read from the documents themselves: failover's and failback's
// Catch (RecordFailure → NotifyFailure → FailoverFailed/FailbackFailed)
// and the drill's report (Notify → Passed? → DrillFailed), and the
// degraded failover (NotifyDegraded → FailoverDegraded, error
// RestoreDegraded). Approval
// timeouts and denials, refusals, invalid input and the nightly batch's
// failures publish nothing, so they are not among them.
func TestNotifiedFailures(t *testing.T) {
	want := map[string]string{"failover": "FailoverFailed,RestoreDegraded", "failback": "FailbackFailed", "drill": "DrillFailed", "nightly-batch": ""}
	for _, name := range Names() {
		def, err := Definition(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := NotifiedFailures(def)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[name]; !ok || strings.Join(got, ",") != w {
			t.Errorf("%s: NotifiedFailures = %v, want [%s]", name, got, w)
		}
	}
	for _, tc := range []struct{ name, def, want string }{
		{"PublishThenFail", `{"StartAt":"P","States":{"P":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:publish","Parameters":{"TopicArn":"${NotificationTopicArn}"},"Next":"F"},"F":{"Type":"Fail","Error":"E"}}}`, "E"},
		{"OtherTopic", `{"StartAt":"P","States":{"P":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:publish","Parameters":{"TopicArn":"arn:aws:sns:us-east-1:1:x"},"Next":"F"},"F":{"Type":"Fail","Error":"E"}}}`, ""},
		{"AlsoReachedSilently", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"F"}],"Default":"P"},"P":{"Type":"Task","Resource":"arn:aws:states:::sns:publish","Parameters":{"TopicArn":"${NotificationTopicArn}"},"Next":"F"},"F":{"Type":"Fail","Error":"E"}}}`, ""},
		{"SameNameElsewhere", `{"StartAt":"P","States":{"P":{"Type":"Task","Resource":"arn:aws:states:::sns:publish","Parameters":{"TopicArn":"${NotificationTopicArn}"},"Next":"F"},"F":{"Type":"Fail","Error":"E"},"X":{"Type":"Parallel","Branches":[{"StartAt":"G","States":{"G":{"Type":"Fail","Error":"E"}}}],"End":true}}}`, ""},
		{"CallbackIsNotANotice", `{"StartAt":"P","States":{"P":{"Type":"Task","Resource":"arn:aws:states:::sns:publish.waitForTaskToken","Parameters":{"TopicArn":"${NotificationTopicArn}"},"Next":"F"},"F":{"Type":"Fail","Error":"E"}}}`, ""},
	} {
		got, err := NotifiedFailures([]byte(tc.def))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s: %v, want [%s]", tc.name, got, tc.want)
		}
	}
}
