package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/topology"
	"github.com/pendulum-dr/pendulum/statemachines"
)

// Every end of a DR state machine's execution that is not a success
// reaches the DR topic once. Step Functions sends each status change of a
// Standard workflow execution to its region's default event bus ("Step
// Functions Execution Status Change", docs/aws-facts.md "Step Functions
// events"); two rules per state machine in B match FAILED, and TIMED_OUT
// or ABORTED, and publish a message the rules' input transformer writes. The
// ends whose own Catch path already published the operator's message (the
// Fail states statemachines.NotifiedFailures finds: a failed failover's
// NotifyFailure, a drill's report) are left out by the pattern, so nothing
// is notified twice; every other end — approval timed out or denied,
// refused, invalid input, an uncaught error (States.Runtime, a failed
// Complete), the execution's timeout, StopExecution — is the rule's.
//
// The nightly batch also runs in P: a rule there forwards its ends to B's
// default bus (EventBridge targets other than event buses must be in the
// rule's region), where the same rule matches them.

// StatesEventSource and StatesEventDetailType identify Step Functions'
// execution status change events.
const (
	StatesEventSource     = "aws.states"
	StatesEventDetailType = "Step Functions Execution Status Change"
)

// endedKinds are the rules of each machine: its failures (less those its
// Catch path notified) and its other unsuccessful ends. Two rules, not one
// with an error filter, because an aborted or timed-out execution's error
// may be null, which no anything-but list is documented to match.
var endedKinds = []struct {
	suffix   string
	statuses []string
	filter   bool // leave out the notified failures
}{
	{"failed", []string{"FAILED"}, true},
	{"stopped", []string{"TIMED_OUT", "ABORTED"}, false},
}

// EndedRuleName is the name of a rule notifying the DR topic of a state
// machine's unsuccessful ends (in B): kind "failed" or "stopped".
func EndedRuleName(n Names, machine, kind string) string {
	return n.Prefix + "-" + machine + "-" + kind
}

// ForwardRuleName is the name of the rule in a workload region other than
// B that forwards its nightly batch's ends to B's default bus.
func ForwardRuleName(n Names) string { return n.Prefix + "-" + NightlyBatch + "-ended-to-backup" }

// endedPattern is the event pattern of executions of machineARNs ending
// with one of statuses; with notified, failures whose error is one of
// them are left out.
func endedPattern(machineARNs, statuses, notified []string) map[string]any {
	detail := map[string]any{"stateMachineArn": machineARNs, "status": statuses}
	if len(notified) > 0 {
		detail["error"] = []any{map[string]any{"anything-but": notified}}
	}
	return map[string]any{"source": []string{StatesEventSource}, "detail-type": []string{StatesEventDetailType}, "detail": detail}
}

// notifiedFailures are the ends of machine its own Catch path notifies.
func notifiedFailures(src MachineSource, machine string) ([]string, error) {
	def, err := src.Definition(machine)
	if err != nil {
		return nil, err
	}
	notified, err := statemachines.NotifiedFailures(def)
	if err != nil {
		return nil, fmt.Errorf("state machine %s: %w", machine, err)
	}
	return notified, nil
}

// endedRecovery is what the message tells the operator to do after an
// unsuccessful end of each DR workflow.
func endedRecovery(machine string) string {
	switch machine {
	case FailoverMachine, dr.WorkflowFailback:
		return fmt.Sprintf("If this execution held the DR lock, start %s again: a run that ended in its Catch path resumes; otherwise the refusal names the choices, "+
			`{"abandoned":"%s"} while the run had changed nothing, or {"abandoned":"%s"}. See docs/dr.md "When a workflow stops".`,
			machine, dr.AbandonedRollback, dr.AbandonedResume)
	case DrillMachine:
		return `Nothing in production was changed by an isolated drill; a refused drill names the DR lock to recover first. See docs/dr.md "Drills".`
	}
	return "Fix the cause and start the execution again with the same input; outputs are deterministic, a re-run overwrites."
}

// endedTemplate is the InputTemplate of a machine's notification: a JSON
// object naming the machine, the execution, the status, the error and
// cause (null when there is none) and what to do.
func endedTemplate(machine string) (string, map[string]*string) {
	paths := map[string]*string{
		"execution": jsii.String("$.detail.executionArn"), "machine": jsii.String("$.detail.stateMachineArn"),
		"status": jsii.String("$.detail.status"), "error": jsii.String("$.detail.error"), "cause": jsii.String("$.detail.cause"),
		"region": jsii.String("$.region"), "stopped": jsii.String("$.detail.stopDate"),
	}
	lit := func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // < and > stay placeholders
		_ = enc.Encode(s)
		return strings.TrimSpace(b.String())
	}
	fields := []string{
		`"notice":` + lit("Pendulum: "+machine+" execution <status>"),
		`"stateMachine":<machine>`, `"region":<region>`, `"execution":<execution>`, `"status":<status>`,
		`"error":<error>`, `"cause":<cause>`, `"stopDate":<stopped>`,
		`"whatNext":` + lit(endedRecovery(machine)),
	}
	return "{" + strings.Join(fields, ",") + "}", paths
}

// addEndedNotifications adds, in the Recovery stack, the rule of each DR
// state machine (and of the nightly batch of both workload regions), and
// returns the rules' ARNs (allowRulesPublish lets exactly the rules
// publish).
func (r *RecoveryStack) addEndedNotifications(cfg Config) ([]string, error) {
	n := NamesFor(cfg)
	B, P := cfg.BackupRegion, cfg.PrimaryRegion
	machines := map[string][]string{}
	for _, m := range DRMachines(cfg.Machines) {
		machines[m] = []string{n.StateMachineARN(B, m)}
	}
	machines[NightlyBatch] = []string{n.StateMachineARN(B, NightlyBatch), n.StateMachineARN(P, NightlyBatch)}
	names := make([]string, 0, len(machines))
	for m := range machines {
		names = append(names, m)
	}
	sort.Strings(names)
	var ruleARNs []string
	for _, m := range names {
		notified, err := notifiedFailures(cfg.Machines, m)
		if err != nil {
			return nil, err
		}
		tmpl, paths := endedTemplate(m)
		for _, k := range endedKinds {
			var leaveOut []string
			if k.filter {
				leaveOut = notified
			}
			name := EndedRuleName(n, m, k.suffix)
			awsevents.NewCfnRule(r.Stack, jsii.String(topology.Camel(m)+topology.Camel(k.suffix)+"Rule"), &awsevents.CfnRuleProps{
				Name: jsii.String(name),
				Description: jsii.String(fmt.Sprintf("Notifies the DR topic when a %s execution ends %s%s", m, strings.Join(k.statuses, " or "),
					map[bool]string{true: " (except the failures its own Catch path notified)", false: ""}[len(leaveOut) > 0])),
				EventPattern: endedPattern(machines[m], k.statuses, leaveOut),
				State:        jsii.String("ENABLED"),
				Targets: &[]*awsevents.CfnRule_TargetProperty{{
					Id:  jsii.String("Topic"),
					Arn: r.Topic.TopicArn(),
					InputTransformer: &awsevents.CfnRule_InputTransformerProperty{
						InputPathsMap: &paths,
						InputTemplate: jsii.String(tmpl),
					},
				}},
			})
			ruleARNs = append(ruleARNs, fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", B, cfg.Account, name))
		}
	}
	return ruleARNs, nil
}

// rulesPublishStatement lets exactly ruleARNs (EventBridge rules in B)
// publish to the topic.
func rulesPublishStatement(cfg Config, topicARN string, ruleARNs []string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("RulesPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(topicARN),
		Conditions: &map[string]interface{}{
			"ArnEquals":    map[string]interface{}{"aws:SourceArn": ruleARNs},
			"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account},
		},
	})
}

// allowRulesPublish lets the rules publish to the topic: EventBridge
// publishes under the topic's policy (and the key's, newTopicKey). An
// existing topic's policy is the operator's (pendulum:notifyTopicArn): synth
// warns with the statement it needs.
func (r *RecoveryStack) allowRulesPublish(cfg Config, ruleARNs []string) {
	st := rulesPublishStatement(cfg, *r.Topic.TopicArn(), ruleARNs)
	if cfg.NotifyTopicARN == "" {
		r.Topic.AddToResourcePolicy(st)
		return
	}
	doc, _ := json.Marshal(st.ToStatementJson())
	awscdk.Annotations_Of(r.Stack).AddWarningV2(jsii.String("pendulum:existing-topic-policy"), jsii.String(fmt.Sprintf(
		"pendulum:notifyTopicArn %s is not this app's: its access policy must let EventBridge's rules publish (add %s), and, when it is encrypted, "+
			"its key policy must let events.amazonaws.com and cloudwatch.amazonaws.com use the key (kms:GenerateDataKey*, kms:Decrypt); see docs/deploy.md \"Configuration\"",
		cfg.NotifyTopicARN, doc)))
}

// addNightlyForward adds, in a workload stack outside B, the rule that
// sends the region's nightly-batch ends to B's default bus, as a role that
// may put events there and nowhere else, and returns the role (the alarms'
// forwarding rule puts events there as it too).
func addNightlyForward(stack awscdk.Stack, cfg Config, region string) awsiam.Role {
	n := NamesFor(cfg)
	// Every unsuccessful end goes to B; B's rules decide what notifies.
	var statuses []string
	for _, k := range endedKinds {
		statuses = append(statuses, k.statuses...)
	}
	pattern := endedPattern([]string{n.StateMachineARN(region, NightlyBatch)}, statuses, nil)
	bus := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", cfg.BackupRegion, cfg.Account)
	role := awsiam.NewRole(stack, jsii.String("NightlyEndedForwardRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge forwards this region's nightly-batch ends and alarm changes to the backup region's default bus"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account}},
		}),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("events:PutEvents"), Resources: jsii.Strings(bus),
	}))
	awsevents.NewCfnRule(stack, jsii.String("NightlyBatchEndedForward"), &awsevents.CfnRuleProps{
		Name:         jsii.String(ForwardRuleName(n)),
		Description:  jsii.String("Forwards this region's nightly-batch executions that end FAILED, TIMED_OUT or ABORTED to the backup region, where they notify the DR topic"),
		EventPattern: pattern,
		State:        jsii.String("ENABLED"),
		Targets: &[]*awsevents.CfnRule_TargetProperty{{
			Id: jsii.String("BackupBus"), Arn: jsii.String(bus), RoleArn: role.RoleArn(),
		}},
	})
	return role
}
