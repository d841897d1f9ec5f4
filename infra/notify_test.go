package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestEndedNotifications: each DR state machine (and the nightly batch of
// both workload regions) has its two rules in B, publishing to the DR
// topic; the failure rule leaves out exactly the failures the machine's
// Catch path notified; only those rules may publish (the topic policy);
// P forwards its nightly batch's ends to B's bus as a role that may only
// put events there.
func TestEndedNotifications(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	B, P := s.cfg.BackupRegion, s.cfg.PrimaryRegion
	R := s.name("recovery", B)
	var topicID string
	for id := range s.resources(R, "AWS::SNS::Topic") {
		topicID = id
	}
	rules := map[string]map[string]any{}
	for _, r := range s.resources(R, "AWS::Events::Rule") {
		if name, _ := props(r)["Name"].(string); name != "" {
			rules[name] = props(r)
		}
	}
	want := map[string][]string{}
	for _, m := range DRMachines(s.cfg.Machines) {
		want[m] = []string{n.StateMachineARN(B, m)}
	}
	want[NightlyBatch] = []string{n.StateMachineARN(B, NightlyBatch), n.StateMachineARN(P, NightlyBatch)}
	var ruleARNs []string
	for m, arns := range want {
		notified, err := notifiedFailures(s.cfg.Machines, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"failed", "stopped"} {
			name := EndedRuleName(n, m, kind)
			p, ok := rules[name]
			if !ok {
				t.Errorf("no rule %s", name)
				continue
			}
			ruleARNs = append(ruleARNs, fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", B, s.cfg.Account, name))
			pat := p["EventPattern"]
			if get(pat, "source", 0) != StatesEventSource || get(pat, "detail-type", 0) != StatesEventDetailType ||
				fmt.Sprint(get(pat, "detail", "stateMachineArn")) != fmt.Sprint(arns) {
				t.Errorf("%s: pattern %v", name, pat)
			}
			statuses := fmt.Sprint(get(pat, "detail", "status"))
			leftOut := get(pat, "detail", "error", 0, "anything-but")
			switch kind {
			case "failed":
				if statuses != "[FAILED]" || (len(notified) > 0) != (leftOut != nil) || (leftOut != nil && fmt.Sprint(leftOut) != fmt.Sprint(notified)) {
					t.Errorf("%s: statuses %s, leaves out %v; want [FAILED] leaving out %v", name, statuses, leftOut, notified)
				}
			case "stopped":
				if statuses != "[TIMED_OUT ABORTED]" || get(pat, "detail", "error") != nil {
					t.Errorf("%s: statuses %s, error filter %v; want every timeout and abort", name, statuses, get(pat, "detail", "error"))
				}
			}
			if get(p, "Targets", 0, "Arn", "Ref") != topicID || get(p, "Targets", 0, "InputTransformer", "InputTemplate") == nil {
				t.Errorf("%s: target %v, want the DR topic with a message", name, get(p, "Targets"))
			}
			tmpl, _ := get(p, "Targets", 0, "InputTransformer", "InputTemplate").(string)
			for _, field := range []string{`"stateMachine":<machine>`, `"execution":<execution>`, `"status":<status>`, `"cause":<cause>`} {
				if !strings.Contains(tmpl, field) {
					t.Errorf("%s: message %s lacks %s", name, tmpl, field)
				}
			}
		}
	}
	// The ended rules, and the two publishing P's forwarded alarms.
	for _, kind := range []string{"alarm", "ok"} {
		name := ForwardedAlarmRuleName(n, kind)
		if _, ok := rules[name]; !ok {
			t.Errorf("no rule %s", name)
		}
		ruleARNs = append(ruleARNs, fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", B, s.cfg.Account, name))
	}
	if got, want := len(rules), 2*len(want)+2; got != want {
		t.Errorf("%d named rules in B, want %d", got, want)
	}
	// Only these rules may publish, by the topic policy.
	var sources []string
	for _, pol := range s.resources(R, "AWS::SNS::TopicPolicy") {
		for _, st := range get(props(pol), "PolicyDocument", "Statement").([]any) {
			if get(st, "Principal", "Service") == "events.amazonaws.com" {
				if get(st, "Effect") != "Allow" || get(st, "Action") != "sns:Publish" || get(st, "Condition", "StringEquals", "aws:SourceAccount") != s.cfg.Account {
					t.Errorf("events statement %v", st)
				}
				for _, a := range get(st, "Condition", "ArnEquals", "aws:SourceArn").([]any) {
					sources = append(sources, a.(string))
				}
			}
		}
	}
	sort.Strings(sources)
	sort.Strings(ruleARNs)
	if fmt.Sprint(sources) != fmt.Sprint(ruleARNs) {
		t.Errorf("topic policy lets %v publish, want exactly %v", sources, ruleARNs)
	}
	// P forwards; B does not forward to itself.
	W := s.name("workload", P)
	var fwd map[string]any
	for _, r := range s.resources(W, "AWS::Events::Rule") {
		if props(r)["Name"] == ForwardRuleName(n) {
			fwd = props(r)
		}
	}
	bus := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", B, s.cfg.Account)
	if fwd == nil || get(fwd, "Targets", 0, "Arn") != bus || get(fwd, "Targets", 0, "RoleArn") == nil ||
		fmt.Sprint(get(fwd, "EventPattern", "detail", "stateMachineArn")) != fmt.Sprint([]string{n.StateMachineARN(P, NightlyBatch)}) {
		t.Fatalf("forward rule in %s = %v, want P's nightly batch to %s", W, fwd, bus)
	}
	for _, pol := range s.resources(W, "AWS::IAM::Policy") {
		for _, st := range get(props(pol), "PolicyDocument", "Statement").([]any) {
			if get(st, "Action") == "events:PutEvents" && get(st, "Resource") != bus {
				t.Errorf("forward role may put events on %v, want only %s", get(st, "Resource"), bus)
			}
		}
	}
	for _, r := range s.resources(s.name("workload", B), "AWS::Events::Rule") {
		if props(r)["Name"] == ForwardRuleName(n) {
			t.Error("B's workload stack forwards to itself")
		}
	}
}

// TestNoExecutionDataInLogs: every state machine logs all events without
// execution data, so no input, output or task token reaches a log group.
func TestNoExecutionDataInLogs(t *testing.T) {
	s := deployment(t)
	count := 0
	for _, st := range s.d.Stacks(s.cfg) {
		for id, m := range s.resources(*st.StackName(), "AWS::StepFunctions::StateMachine") {
			count++
			lc := get(props(m), "LoggingConfiguration")
			if get(lc, "Level") != "ALL" || get(lc, "IncludeExecutionData") != false {
				t.Errorf("%s/%s logging %v, want ALL without execution data", *st.StackName(), id, lc)
			}
		}
	}
	if count == 0 {
		t.Fatal("no state machines")
	}
}

// TestHealthCanaryHasFailureDestination: the canary's asynchronous
// invocations are not retried and a failed one goes to its queue.
func TestHealthCanaryHasFailureDestination(t *testing.T) {
	s := deployment(t)
	R := s.name("recovery", s.cfg.BackupRegion)
	cfgs := s.resources(R, "AWS::Lambda::EventInvokeConfig")
	if len(cfgs) != 1 {
		t.Fatalf("%d EventInvokeConfigs, want the canary's", len(cfgs))
	}
	var queueID string
	for id, q := range s.resources(R, "AWS::SQS::Queue") {
		if props(q)["QueueName"] == NamesFor(s.cfg).Prefix+"-health-failures" {
			queueID = id
		}
	}
	for _, c := range cfgs {
		p := props(c)
		if p["MaximumRetryAttempts"] != float64(0) || get(p, "DestinationConfig", "OnFailure", "Destination", "Fn::GetAtt", 0) != queueID || queueID == "" {
			t.Fatalf("canary async config %v, want no retries and the failure queue %s", p, queueID)
		}
	}
}
