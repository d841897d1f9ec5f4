package sim

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

const ebTestEvent = `{"version":"0","id":"1","detail-type":"Order Placed","source":"shop","account":"111122223333",
"time":"2026-11-25T00:00:00Z","region":"us-east-1","resources":["arn:aws:s3:::a","arn:aws:s3:::b"],
"detail":{"state":{"value":"ALARM"},"count":5,"name":"Ünïcode","tags":["x","y"],"flag":false,"empty":null}}`

func TestEventPatternMatch(t *testing.T) {
	var ev map[string]any
	if err := json.Unmarshal([]byte(ebTestEvent), &ev); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, pattern string
		want          bool
	}{
		{"Exact", `{"source":["shop"]}`, true},
		{"ExactMiss", `{"source":["other"]}`, false},
		{"OrWithinArray", `{"source":["other","shop"]}`, true},
		{"AndAcrossMembers", `{"source":["shop"],"detail-type":["Order Cancelled"]}`, false},
		{"Nested", `{"detail":{"state":{"value":["ALARM"]}}}`, true},
		{"NestedMiss", `{"detail":{"state":{"value":["OK"]}}}`, false},
		{"EventArray", `{"resources":["arn:aws:s3:::b"]}`, true},
		{"Prefix", `{"detail-type":[{"prefix":"Order"}]}`, true},
		{"Suffix", `{"detail-type":[{"suffix":"Placed"}]}`, true},
		{"IgnoreCase", `{"source":[{"equals-ignore-case":"SHOP"}]}`, true},
		{"Wildcard", `{"detail-type":[{"wildcard":"Order*ed"}]}`, true},
		{"AnythingBut", `{"source":[{"anything-but":"other"}]}`, true},
		{"AnythingButList", `{"source":[{"anything-but":["shop","x"]}]}`, false},
		{"AnythingButPrefix", `{"source":[{"anything-but":{"prefix":"sh"}}]}`, false},
		{"ExistsTrue", `{"detail":{"count":[{"exists":true}]}}`, true},
		{"ExistsFalse", `{"detail":{"missing":[{"exists":false}]}}`, true},
		{"ExistsFalseButPresent", `{"detail":{"count":[{"exists":false}]}}`, false},
		{"MissingField", `{"detail":{"missing":["x"]}}`, false},
		{"Numeric", `{"detail":{"count":[{"numeric":[">",0,"<=",5]}]}}`, true},
		{"NumericMiss", `{"detail":{"count":[{"numeric":["<",5]}]}}`, false},
		{"NumberLiteral", `{"detail":{"count":[5]}}`, true},
		{"BoolLiteral", `{"detail":{"flag":[false]}}`, true},
		{"NullLiteral", `{"detail":{"empty":[null]}}`, true},
		{"TagsAny", `{"detail":{"tags":["y"]}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseEventPattern(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.matches(ev); got != tc.want {
				t.Fatalf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEventPatternInvalid(t *testing.T) {
	for _, tc := range []struct{ name, pattern string }{
		{"NotObject", `["shop"]`},
		{"LeafNotArray", `{"source":"shop"}`},
		{"EmptyArray", `{"source":[]}`},
		{"UnknownOperator", `{"source":[{"regex":"x"}]}`},
		{"TwoOperators", `{"source":[{"prefix":"a","suffix":"b"}]}`},
		{"BadNumeric", `{"n":[{"numeric":["~",1]}]}`},
		{"BadExists", `{"n":[{"exists":"yes"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseEventPattern(tc.pattern); err == nil {
				t.Fatalf("parseEventPattern(%s) = nil error, want one", tc.pattern)
			}
		})
	}
}

func TestEventInputTemplate(t *testing.T) {
	values := map[string]any{"name": `say "hi"`, "n": 5.0, "obj": map[string]any{"a": "b"}, "gone": ebMissing{}}
	for _, tc := range []struct{ name, tmpl, want string }{
		{"StringValuePosition", `{"alarm":<name>,"trigger":"alarm"}`, `{"alarm":"say \"hi\"","trigger":"alarm"}`},
		{"StringInsideString", `{"msg":"got <name> now"}`, `{"msg":"got say \"hi\" now"}`},
		{"Number", `{"n":<n>,"s":"<n>"}`, `{"n":5,"s":"5"}`},
		{"Object", `{"o":<obj>}`, `{"o":{"a":"b"}}`},
		{"Missing", `{"g":<gone>,"s":"<gone>"}`, `{"g":null,"s":""}`},
		{"QuotedTemplate", `"<name> is in state <n>"`, `"say \"hi\" is in state 5"`},
		{"PlainText", `<name> is in state <n>`, `say "hi" is in state 5`},
		{"UnknownPlaceholder", `{"x":"<other>"}`, `{"x":"<other>"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ebRenderTemplate(tc.tmpl, values); got != tc.want {
				t.Fatalf("render = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestEventAlarmStartsFailover replays the template's failover rule: the
// health alarm entering ALARM starts the state machine with the rule's
// role and the transformed input.
func TestEventAlarmStartsFailover(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1")
	r := w.Region("us-east-1")
	var mu sync.Mutex
	var started []string
	w.SetStateMachineStarter(func(ctx context.Context, role, machine, input string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		started = append(started, role+" "+machine+" "+input)
		return machine + ":exec-1", nil
	})
	cw, eb := r.CloudWatch(), r.EventBridge()
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("PrimaryUnhealthy"), Namespace: aws.String("Pendulum"),
		MetricName: aws.String("Healthy"), Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		Statistic: cwtypes.StatisticMinimum, ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold}); err != nil {
		t.Fatal(err)
	}
	alarmARN := "arn:aws:cloudwatch:us-east-1:111122223333:alarm:PrimaryUnhealthy"
	pattern := `{"detail":{"state":{"value":["ALARM"]}},"detail-type":["CloudWatch Alarm State Change"],"resources":["` + alarmARN + `"],"source":["aws.cloudwatch"]}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("failover"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	machine, role := "arn:aws:states:us-east-1:111122223333:stateMachine:Failover", "arn:aws:iam::111122223333:role/events"
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("failover"), Targets: []ebtypes.Target{{
		Id: aws.String("Target0"), Arn: aws.String(machine), RoleArn: aws.String(role),
		InputTransformer: &ebtypes.InputTransformer{InputPathsMap: map[string]string{"detail-alarmName": "$.detail.alarmName"},
			InputTemplate: aws.String(`{"alarm":<detail-alarmName>,"trigger":"alarm"}`)},
	}}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []cwtypes.StateValue{cwtypes.StateValueOk, cwtypes.StateValueAlarm} {
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("PrimaryUnhealthy"), StateValue: s, StateReason: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Sleep(ctx, time.Second)
	mu.Lock()
	defer mu.Unlock()
	if got, want := len(started), 1; got != want {
		t.Fatalf("%d executions started, want %d (only the ALARM transition matches): %v", got, want, started)
	}
	if got, want := started[0], role+" "+machine+` {"alarm":"PrimaryUnhealthy","trigger":"alarm"}`; got != want {
		t.Fatalf("started %s, want %s", got, want)
	}
}

// TestEventScheduledRule checks a rate rule invoking a Lambda function on
// the clock, and that disabling it stops it.
func TestEventScheduledRule(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var at []time.Duration
	var w *World
	w, clk, l := lambdaTestWorld(t, map[string]LambdaHandler{"health": func(ctx context.Context, p []byte) ([]byte, error) {
		var ev struct {
			DetailType string `json:"detail-type"`
		}
		json.Unmarshal(p, &ev)
		if ev.DetailType != "Scheduled Event" {
			t.Errorf("detail-type = %q, want Scheduled Event", ev.DetailType)
		}
		mu.Lock()
		at = append(at, w.Clock.Now().Sub(glueTestStart))
		mu.Unlock()
		return nil, nil
	}})
	lambdaTestCreate(t, l, "health", 10)
	eb := w.Region("us-east-1").EventBridge()
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")}); err != nil {
		t.Fatal(err)
	}
	// The rate counts from the rule's creation, when PutRule returned.
	created := clk.Now().Sub(glueTestStart)
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("tick"), Targets: []ebtypes.Target{{Id: aws.String("Target0"), Arn: aws.String(l.FunctionARN("health"))}}}); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, 3*time.Minute+30*time.Second)
	if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("tick")}); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, 5*time.Minute)
	mu.Lock()
	defer mu.Unlock()
	if got, want := len(at), 3; got != want {
		t.Fatalf("invoked at %v, want 3 times, a minute apart", at)
	}
	// Each handler runs a minute after the last, Lambda's invocation
	// overhead after the tick; the first also pays the cold start.
	for i, want := range []time.Duration{
		created + time.Minute + l.InvokeLatency + l.ColdStart,
		created + 2*time.Minute + l.InvokeLatency,
		created + 3*time.Minute + l.InvokeLatency,
	} {
		if at[i] != want {
			t.Fatalf("invoked at %v, want run %d at +%v (the rule created at +%v)", at, i+1, want, created)
		}
	}
}

func TestEventErrors(t *testing.T) {
	ctx := context.Background()
	w := NewWorld(clock.NewVirtual(glueTestStart), "111122223333", "us-east-1")
	eb := w.Region("us-east-1").EventBridge()
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{{Id: aws.String("t"), Arn: aws.String("arn:aws:sqs:us-east-1:111122223333:q")}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"BadPattern", func() error {
			_, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("p"), EventPattern: aws.String(`{"source":"x"}`)})
			return err
		}, "InvalidEventPatternException"},
		{"BadSchedule", func() error {
			_, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("s"), ScheduleExpression: aws.String("rate(1 minutes)")})
			return err
		}, "ValidationException"},
		{"DescribeMissing", func() error {
			_, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("nope")})
			return err
		}, "ResourceNotFoundException"},
		{"DeleteWithTargets", func() error {
			_, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r")})
			return err
		}, "ValidationException"},
		{"TargetsOfMissingRule", func() error {
			_, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("nope"), Targets: []ebtypes.Target{{Id: aws.String("t"), Arn: aws.String("arn:aws:sqs:us-east-1:1:q")}}})
			return err
		}, "ResourceNotFoundException"},
		{"OtherBus", func() error {
			_, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("b"), EventBusName: aws.String("custom"), EventPattern: aws.String(`{"source":["x"]}`)})
			return err
		}, "ResourceNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ssmErrorCode(tc.call()); got != tc.want {
				t.Fatalf("error code = %q, want %q", got, tc.want)
			}
		})
	}
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("x"), DetailType: aws.String("t"), Detail: aws.String(`{}`)},
		{Source: aws.String("x"), DetailType: aws.String("t"), Detail: aws.String(`[1]`)},
		{Source: aws.String("aws.cloudwatch"), DetailType: aws.String("t"), Detail: aws.String(`{}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.FailedEntryCount, int32(2); got != want {
		t.Fatalf("FailedEntryCount = %d, want %d", got, want)
	}
	if got, want := aws.ToString(out.Entries[1].ErrorCode), "MalformedDetail"; got != want {
		t.Fatalf("entry 1 error = %q, want %q", got, want)
	}
	d, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.State, ebtypes.RuleStateEnabled; got != want {
		t.Fatalf("State = %q, want %q", got, want)
	}
}

// TestEventBridgeListTargetsByRule: a rule's targets, by ID, paged.
func TestEventBridgeListTargetsByRule(t *testing.T) {
	w := NewWorld(clock.NewVirtual(glueTestStart), "111122223333", "us-east-1")
	defer w.Close()
	e := w.Region("us-east-1").EventBridge()
	ctx := Unmetered(context.Background())
	if _, err := e.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), ScheduleExpression: aws.String("rate(1 hour)")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{
		{Id: aws.String("b"), Arn: aws.String("arn:aws:sqs:us-east-1:111122223333:b")}, {Id: aws.String("a"), Arn: aws.String("arn:aws:sqs:us-east-1:111122223333:a")},
	}}); err != nil {
		t.Fatal(err)
	}
	page, err := e.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r"), Limit: aws.Int32(1)})
	if err != nil || len(page.Targets) != 1 || aws.ToString(page.Targets[0].Id) != "a" || page.NextToken == nil {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, err = e.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r"), NextToken: page.NextToken})
	if err != nil || len(page.Targets) != 1 || aws.ToString(page.Targets[0].Arn) != "arn:aws:sqs:us-east-1:111122223333:b" || page.NextToken != nil {
		t.Fatalf("second page %+v, %v", page, err)
	}
	var nf *ebtypes.ResourceNotFoundException
	if _, err := e.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("nope")}); !errors.As(err, &nf) {
		t.Fatalf("unknown rule: %v", err)
	}
}
