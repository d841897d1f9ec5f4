package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

const statesTestExec = "arn:aws:states:us-east-2:111122223333:execution:pendulum-failover:run-1"

// statesTestTemplate is a topic encrypted with a customer managed key, a
// topic policy and key policy for EventBridge ({{topicCondition}} and
// {{keyPrincipal}} vary), a rule notifying the topic of executions that
// end without success (except those whose Catch already notified), and a
// queue receiving every Step Functions event as it is.
const statesTestTemplate = `{
  "Resources": {
    "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
      {"Effect": "Allow", "Principal": {"Service": "{{keyPrincipal}}"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
       "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}]}}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "dr", "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
    "TopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": {"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish", "Resource": {"Ref": "Topic"},
       "Condition": {"ArnEquals": {"aws:SourceArn": "{{topicCondition}}"}}}]}}},
    "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Name": "ended", "EventPattern": {
      "source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
      "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "error": [{"anything-but": ["FailoverFailed"]}, null]}},
      "Targets": [{"Id": "Topic", "Arn": {"Ref": "Topic"}, "InputTransformer": {
        "InputPathsMap": {"execution": "$.detail.executionArn", "status": "$.detail.status", "error": "$.detail.error", "cause": "$.detail.cause"},
        "InputTemplate": "{\"notice\":\"ended <status>\",\"execution\":<execution>,\"error\":<error>,\"cause\":<cause>}"}}]}},
    "All": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "all"}},
    "AllRule": {"Type": "AWS::Events::Rule", "Properties": {"Name": "all", "EventPattern": {"source": ["aws.states"]},
      "Targets": [{"Id": "Queue", "Arn": {"Fn::GetAtt": ["All", "Arn"]}}]}}
  }
}`

func statesTestDeploy(t *testing.T, topicCondition, keyPrincipal string) (*World, func(d time.Duration)) {
	t.Helper()
	w, clk, c := cfnTestWorld(t)
	body := strings.NewReplacer("{{topicCondition}}", topicCondition, "{{keyPrincipal}}", keyPrincipal).Replace(statesTestTemplate)
	if err := cfnTestCreate(t, c, body, nil); err != nil {
		t.Fatal(err)
	}
	if s := cfnTestWait(t, clk, c, "s"); s.StackStatus != "CREATE_COMPLETE" {
		t.Fatalf("stack %s: %s", s.StackStatus, aws.ToString(s.StackStatusReason))
	}
	w.EnforceIAM(true)
	return w, func(d time.Duration) {
		if err := clk.Sleep(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStatesExecutionStatusChange: the events Step Functions sends have
// AWS's shape; a rule with an SNS target and an input transformer
// notifies the topic of the ends it matches, under the topic's and the
// key's policies.
func TestStatesExecutionStatusChange(t *testing.T) {
	rule := "arn:aws:events:us-east-2:111122223333:rule/ended"
	w, sleep := statesTestDeploy(t, rule, "events.amazonaws.com")
	eb := w.Region("us-east-2").EventBridge()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	base := StatesExecutionStatus{ExecutionARN: statesTestExec, StateMachineARN: "arn:aws:states:us-east-2:111122223333:stateMachine:pendulum-failover",
		Name: "run-1", StartDate: start, Input: `{"approval":true}`}
	ch := func(status, errName, cause, output string) StatesExecutionStatus {
		c := base
		c.Status, c.Error, c.Cause, c.Output = status, errName, cause, output
		if status != "RUNNING" {
			c.StopDate = start.Add(90 * time.Second)
		}
		return c
	}
	for _, c := range []StatesExecutionStatus{
		ch("RUNNING", "", "", ""),
		ch("ABORTED", "", "", ""),
		ch("FAILED", "FailoverFailed", "notified by its Catch", ""),
		ch("FAILED", "States.Runtime", "bad path", ""),
		ch("TIMED_OUT", "States.Timeout", "", ""),
		ch("SUCCEEDED", "", "", `{"status":"FAILED_OVER"}`),
	} {
		eb.PutStatesExecutionStatusChange(c)
	}
	sleep(time.Second)

	// Every event, as the queue received it.
	s := w.Region("us-east-2").SQS()
	url, err := s.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("all")})
	if err != nil {
		t.Fatal(err)
	}
	msgs := sqsTestReceive(t, s, *url.QueueUrl, 10)
	if len(msgs) != 6 {
		t.Fatalf("%d events on the bus, want 6", len(msgs))
	}
	byStatus := map[string]map[string]any{}
	for _, m := range msgs {
		var ev map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
			t.Fatal(err)
		}
		if ev["source"] != "aws.states" || ev["detail-type"] != "Step Functions Execution Status Change" || ev["region"] != "us-east-2" ||
			fmt.Sprint(ev["resources"]) != "["+statesTestExec+"]" {
			t.Fatalf("envelope %s", aws.ToString(m.Body))
		}
		d := ev["detail"].(map[string]any)
		key := d["status"].(string)
		if e, _ := d["error"].(string); e != "" {
			key += " " + e
		}
		byStatus[key] = d
	}
	wantDetail := func(key, want string) {
		t.Helper()
		got, _ := json.Marshal(byStatus[key])
		var a, b any
		json.Unmarshal(got, &a)
		json.Unmarshal([]byte(want), &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s detail\n%s\nwant\n%s", key, got, want)
		}
	}
	const common = `"executionArn":"` + statesTestExec + `","stateMachineArn":"arn:aws:states:us-east-2:111122223333:stateMachine:pendulum-failover","name":"run-1","startDate":1795600800000,"input":"{\"approval\":true}","inputDetails":{"included":true}`
	wantDetail("RUNNING", `{`+common+`,"status":"RUNNING","stopDate":null,"output":null,"outputDetails":null,"error":null,"cause":null}`)
	wantDetail("ABORTED", `{`+common+`,"status":"ABORTED","stopDate":1795600890000,"output":null,"outputDetails":null,"error":null,"cause":null}`)
	wantDetail("FAILED States.Runtime", `{`+common+`,"status":"FAILED","stopDate":1795600890000,"output":null,"outputDetails":null,"error":"States.Runtime","cause":"bad path"}`)
	wantDetail("SUCCEEDED", `{`+common+`,"status":"SUCCEEDED","stopDate":1795600890000,"output":"{\"status\":\"FAILED_OVER\"}","outputDetails":{"included":true},"error":null,"cause":null}`)

	// The topic got the ends the rule matches, rendered by the transformer.
	pub := w.Region("us-east-2").SNS().Published(w.Region("us-east-2").SNS().TopicARN("dr"))
	var got []string
	for _, m := range pub {
		got = append(got, m.Message)
	}
	sort.Strings(got) // EventBridge delivers each event on its own
	want := []string{
		`{"notice":"ended ABORTED","execution":"` + statesTestExec + `","error":null,"cause":null}`,
		`{"notice":"ended FAILED","execution":"` + statesTestExec + `","error":"States.Runtime","cause":"bad path"}`,
		`{"notice":"ended TIMED_OUT","execution":"` + statesTestExec + `","error":"States.Timeout","cause":null}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("notified\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := w.Denied(); len(d) != 0 {
		t.Fatalf("denials %+v", d)
	}
}

// TestStatesPayloadLeftOut: an input and output too large for an event are
// left out, as Step Functions leaves them out.
func TestStatesPayloadLeftOut(t *testing.T) {
	w, sleep := statesTestDeploy(t, "*", "events.amazonaws.com")
	big := `"` + strings.Repeat("x", 200*1024) + `"`
	w.Region("us-east-2").EventBridge().PutStatesExecutionStatusChange(StatesExecutionStatus{ExecutionARN: statesTestExec, Name: "run-1",
		Status: "SUCCEEDED", StartDate: time.Now(), StopDate: time.Now(), Input: big, Output: big})
	sleep(time.Second)
	s := w.Region("us-east-2").SQS()
	url, _ := s.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("all")})
	msgs := sqsTestReceive(t, s, *url.QueueUrl, 10)
	if len(msgs) != 1 {
		t.Fatalf("%d events", len(msgs))
	}
	var ev struct {
		Detail struct {
			Input, Output               *string
			InputDetails, OutputDetails struct{ Included bool }
		}
	}
	json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &ev)
	if ev.Detail.Input != nil || ev.Detail.InputDetails.Included || ev.Detail.Output == nil || !ev.Detail.OutputDetails.Included {
		t.Fatalf("detail %+v: want the input left out and the output kept", ev.Detail)
	}
}

// TestEventsToTopicNeedsPolicies: EventBridge publishes to an encrypted
// topic only when the topic's policy allows it for this rule and the key's
// policy allows events.amazonaws.com; a denial fails the delivery and is
// recorded.
func TestEventsToTopicNeedsPolicies(t *testing.T) {
	for _, tc := range []struct {
		name, topicCondition, keyPrincipal, wantAction string
	}{
		{"OtherRule", "arn:aws:events:us-east-2:111122223333:rule/other", "events.amazonaws.com", "sns:Publish"},
		{"KeyWithoutEvents", "arn:aws:events:us-east-2:111122223333:rule/ended", "cloudwatch.amazonaws.com", "kms:GenerateDataKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, sleep := statesTestDeploy(t, tc.topicCondition, tc.keyPrincipal)
			w.Region("us-east-2").EventBridge().PutStatesExecutionStatusChange(StatesExecutionStatus{ExecutionARN: statesTestExec, Name: "run-1",
				Status: "ABORTED", StartDate: time.Now(), StopDate: time.Now(), Input: "{}"})
			sleep(time.Second)
			if pub := w.Region("us-east-2").SNS().Published(w.Region("us-east-2").SNS().TopicARN("dr")); len(pub) != 0 {
				t.Fatalf("published %+v without the permission", pub)
			}
			var failed []EventDelivery
			for _, d := range w.Region("us-east-2").EventBridge().Deliveries() {
				if d.Rule == "ended" {
					failed = append(failed, d)
				}
			}
			if len(failed) != 1 || !strings.Contains(failed[0].Err, "events.amazonaws.com is not authorized to perform: "+tc.wantAction) {
				t.Fatalf("deliveries %+v, want one failed for %s", failed, tc.wantAction)
			}
			d := w.Denied()
			if len(d) != 1 || d[0].Principal != "events.amazonaws.com" || d[0].Action != tc.wantAction {
				t.Fatalf("denials %+v, want one of %s by events.amazonaws.com", d, tc.wantAction)
			}
		})
	}
}

// TestEventBusTargetForwards: a rule whose target is another region's
// default bus puts the event there as it is, as the target's role (which
// needs events:PutEvents on that bus); rules there match it.
func TestEventBusTargetForwards(t *testing.T) {
	ctx := context.Background()
	for _, allowed := range []bool{true, false} {
		w, vclk, _ := cfnTestWorld(t)
		w.EnforceIAM(true)
		const role = "arn:aws:iam::111122223333:role/forward"
		if allowed {
			svcRole(t, w, role, "events.amazonaws.com", "events:PutEvents")
		} else {
			svcRole(t, w, role, "events.amazonaws.com", "events:PutRule")
		}
		p, b := w.Region("us-east-1").EventBridge(), w.Region("us-east-2").EventBridge()
		if _, err := p.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("forward"), EventPattern: aws.String(`{"source":["aws.states"],"detail":{"status":["FAILED"]}}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("forward"), Targets: []ebtypes.Target{{Id: aws.String("B"),
			Arn: aws.String("arn:aws:events:us-east-2:111122223333:event-bus/default"), RoleArn: aws.String(role)}}}); err != nil {
			t.Fatal(err)
		}
		q, _ := w.Region("us-east-2").SQS().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("got")})
		if _, err := b.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("got"), EventPattern: aws.String(`{"source":["aws.states"],"region":["us-east-1"]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("got"), Targets: []ebtypes.Target{{Id: aws.String("Q"),
			Arn: aws.String(w.Region("us-east-2").SQS().QueueARN("got"))}}}); err != nil {
			t.Fatal(err)
		}
		p.PutStatesExecutionStatusChange(StatesExecutionStatus{ExecutionARN: "arn:aws:states:us-east-1:111122223333:execution:nightly:n", Name: "n",
			Status: "FAILED", Error: "HoursFailed", StartDate: glueTestStart, StopDate: glueTestStart, Input: "{}"})
		if err := vclk.Sleep(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		msgs := sqsTestReceive(t, w.Region("us-east-2").SQS(), *q.QueueUrl, 10)
		if !allowed {
			if len(msgs) != 0 {
				t.Fatal("forwarded without events:PutEvents")
			}
			wantOneDenial(t, w, role, "events.amazonaws.com", "EventBridge", "PutEvents", "events:PutEvents", "arn:aws:events:us-east-2:111122223333:event-bus/default")
			continue
		}
		if len(msgs) != 1 || !strings.Contains(aws.ToString(msgs[0].Body), `"region":"us-east-1"`) || !strings.Contains(aws.ToString(msgs[0].Body), `"error":"HoursFailed"`) {
			t.Fatalf("forwarded %v, want the original event from us-east-1", msgs)
		}
	}
}

// TestLambdaEventInvokeConfigDestination: the template's
// AWS::Lambda::EventInvokeConfig sends a failed asynchronous invocation's
// record to its OnFailure queue — as the function's role, which needs
// sqs:SendMessage there.
func TestLambdaEventInvokeConfigDestination(t *testing.T) {
	const tmpl = `{"Resources": {
	  "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "canary-failures"}},
	  "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "canary",
	    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
	    "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "{{action}}", "Resource": {"Fn::GetAtt": ["Dlq", "Arn"]}}]}}]}},
	  "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "canary", "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": "x"}, "Handler": "bootstrap", "Runtime": "provided.al2023"}},
	  "Async": {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {"FunctionName": {"Ref": "Fn"}, "Qualifier": "$LATEST", "MaximumRetryAttempts": 0,
	    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Dlq", "Arn"]}}}}}
	}}`
	for _, action := range []string{"sqs:SendMessage", "sqs:GetQueueUrl"} {
		t.Run(action, func(t *testing.T) {
			ctx := context.Background()
			w, clk, c := cfnTestWorld(t)
			w.SetLambdaCode(func(fn LambdaFunction) (LambdaHandler, error) {
				return func(ctx context.Context, p []byte) ([]byte, error) { return nil, fmt.Errorf("probe failed") }, nil
			})
			if err := cfnTestCreate(t, c, strings.ReplaceAll(tmpl, "{{action}}", action), nil); err != nil {
				t.Fatal(err)
			}
			if s := cfnTestWait(t, clk, c, "s"); s.StackStatus != "CREATE_COMPLETE" {
				t.Fatalf("stack %s: %s", s.StackStatus, aws.ToString(s.StackStatusReason))
			}
			w.EnforceIAM(true)
			l := w.Region("us-east-2").Lambda()
			if _, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("canary"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
			if err := clk.Sleep(ctx, time.Minute); err != nil {
				t.Fatal(err)
			}
			s := w.Region("us-east-2").SQS()
			msgs := sqsTestReceive(t, s, s.QueueURL("canary-failures"), 10)
			if action == "sqs:SendMessage" {
				if len(msgs) != 1 || !strings.Contains(aws.ToString(msgs[0].Body), `"condition":"RetriesExhausted"`) {
					t.Fatalf("failure records %v, want one (retries exhausted: MaximumRetryAttempts 0)", msgs)
				}
				if d := w.Denied(); len(d) != 0 {
					t.Fatalf("denials %+v", d)
				}
				return
			}
			if len(msgs) != 0 {
				t.Fatal("a record reached the destination without sqs:SendMessage")
			}
			wantOneDenial(t, w, "arn:aws:iam::111122223333:role/canary", "lambda.amazonaws.com", "Lambda", "AsyncDestinationSendMessage", "sqs:SendMessage", s.QueueARN("canary-failures"))
			// Deleting the stack removes the configuration with the function.
			if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("s")}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEvaluateResourcePolicy(t *testing.T) {
	const topic = "arn:aws:sns:us-east-2:111122223333:dr"
	req := AuthRequest{Action: "sns:Publish", Resource: topic, Context: map[string][]string{"aws:SourceArn": {"arn:aws:events:us-east-2:111122223333:rule/ended"}}}
	for _, tc := range []struct {
		name, statements string
		want             Decision
	}{
		{"ServiceNamed", `{"Effect":"Allow","Principal":{"Service":["cloudwatch.amazonaws.com","events.amazonaws.com"]},"Action":"sns:Publish","Resource":"*"}`, Allow},
		{"OtherService", `{"Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"sns:Publish","Resource":"*"}`, ImplicitDeny},
		{"AccountOnly", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sns:Publish","Resource":"*"}`, ImplicitDeny},
		{"Anyone", `{"Effect":"Allow","Principal":"*","Action":"sns:*","Resource":"` + topic + `"}`, Allow},
		{"ConditionMiss", `{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/other"}}}`, ImplicitDeny},
		{"DenyWins", `{"Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"*"},{"Effect":"Deny","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"*"}`, ExplicitDeny},
		{"NotPrincipalDeny", `{"Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"Service":"cloudwatch.amazonaws.com"},"Action":"sns:Publish","Resource":"*"}`, ExplicitDeny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseResourcePolicy([]byte(`{"Version":"2012-10-17","Statement":[` + tc.statements + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := EvaluateResourcePolicy(p, "events.amazonaws.com", req); got != tc.want {
				t.Fatalf("decision %s, want %s", got, tc.want)
			}
		})
	}
}
