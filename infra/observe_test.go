package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/pendulum-dr/pendulum/pkg/readiness"
)

// alarmsByName are a stack's alarms' properties by AlarmName.
func (s *synthesized) alarmsByName(stack string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, a := range s.resources(stack, "AWS::CloudWatch::Alarm") {
		out[props(a)["AlarmName"].(string)] = props(a)
	}
	return out
}

// list is v as a list, empty when absent.
func list(v any) []any {
	if v == nil {
		return nil
	}
	return asList(v)
}

func dimensions(p map[string]any) map[string]string {
	out := map[string]string{}
	for _, d := range list(p["Dimensions"]) {
		out[get(d, "Name").(string)] = fmt.Sprint(get(d, "Value"))
	}
	return out
}

// TestFailureAlarms: every failure signal has its alarm in the region that
// publishes the metric — B's in the Recovery stack notifying the DR topic,
// P's in P's Data and Workload stacks without actions — and P's alarm
// changes go to B's bus by one rule, as a role that may put events there
// only.
func TestFailureAlarms(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	P, B := s.cfg.PrimaryRegion, s.cfg.BackupRegion
	R := s.name("recovery", B)
	var topicID string
	for id := range s.resources(R, "AWS::SNS::Topic") {
		topicID = id
	}
	inStack := map[string]string{"data": s.name("data", P), "workload": s.name("workload", P), "recovery": R}
	want := map[string][]string{ // the signals, by region
		P: {"aggregate-failures-not-empty", "backup-jobs-failed", "copy-jobs-failed", "partitions-dlq-not-empty", "records-iterator-age"},
		B: {"aggregate-failures-not-empty", "health-failures-not-empty", "not-ready", "partitions-dlq-not-empty", "records-iterator-age",
			"replication-backlog-curated", "replication-backlog-raw", "replication-latency-curated", "replication-latency-raw"},
	}
	for _, region := range []string{P, B} {
		var ids []string
		for _, spec := range alarmSpecs(s.cfg, region) {
			ids = append(ids, spec.id)
			stack := inStack[spec.stack]
			if region == B {
				stack = R
			}
			p, ok := s.alarmsByName(stack)[AlarmName(n, spec.id)]
			if !ok {
				t.Errorf("%s: no alarm %s in %s", region, AlarmName(n, spec.id), stack)
				continue
			}
			if p["Namespace"] != spec.namespace || p["MetricName"] != spec.metric || p["Statistic"] != spec.statistic || p["Threshold"] != spec.threshold ||
				p["EvaluationPeriods"] != spec.periods || p["DatapointsToAlarm"] != spec.periods || fmt.Sprint(dimensions(p)) != fmt.Sprint(spec.dims) {
				t.Errorf("%s %s: %v", region, spec.id, p)
			}
			acts, oks := list(p["AlarmActions"]), list(p["OKActions"])
			switch {
			case region == P && (len(acts) != 0 || len(oks) != 0):
				t.Errorf("P's %s has actions %v %v: a topic of another region cannot be one", spec.id, acts, oks)
			case region == B && (len(acts) != 1 || get(acts, 0, "Ref") != topicID || (len(oks) == 1) != spec.ok):
				t.Errorf("B's %s: actions %v, OK actions %v; want the DR topic (OK too: %v)", spec.id, acts, oks, spec.ok)
			}
		}
		sort.Strings(ids)
		if fmt.Sprint(ids) != fmt.Sprint(want[region]) {
			t.Errorf("%s alarms %v, want %v", region, ids, want[region])
		}
	}
	// The DLQ alarms name the queues the stacks create.
	for _, stack := range []string{s.name("data", P), s.name("workload", P), R} {
		for _, q := range s.resources(stack, "AWS::SQS::Queue") {
			name, _ := props(q)["QueueName"].(string)
			if !strings.HasSuffix(name, "dlq") && !strings.HasSuffix(name, "failures") {
				continue
			}
			if s.alarmsByName(stack)[name+"-not-empty"] == nil {
				t.Errorf("dead-letter queue %s of %s has no alarm", name, stack)
			}
		}
	}
	// P's alarms are forwarded to B's bus.
	W := s.name("workload", P)
	bus := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", B, s.cfg.Account)
	var fwd map[string]any
	for _, r := range s.resources(W, "AWS::Events::Rule") {
		if props(r)["Name"] == AlarmForwardRuleName(n) {
			fwd = props(r)
		}
	}
	if fwd == nil || get(fwd, "Targets", 0, "Arn") != bus || fmt.Sprint(get(fwd, "EventPattern", "resources")) != fmt.Sprint(primaryAlarmARNs(s.cfg)) ||
		fmt.Sprint(get(fwd, "EventPattern", "detail", "state", "value")) != "[ALARM OK]" {
		t.Fatalf("alarm forward rule = %v", fwd)
	}
	if len(primaryAlarmARNs(s.cfg)) != len(want[P]) {
		t.Fatalf("forwarded alarms %v", primaryAlarmARNs(s.cfg))
	}
	role := get(fwd, "Targets", 0, "RoleArn", "Fn::GetAtt", 0)
	for _, pol := range s.resources(W, "AWS::IAM::Policy") {
		if get(props(pol), "Roles", 0, "Ref") != role {
			continue
		}
		for _, st := range asList(get(props(pol), "PolicyDocument", "Statement")) {
			if get(st, "Action") != "events:PutEvents" || get(st, "Resource") != bus {
				t.Errorf("the forwarding role may %v on %v, want events:PutEvents on %s only", get(st, "Action"), get(st, "Resource"), bus)
			}
		}
	}
	// B's two rules publish them: ALARM, and OK after ALARM.
	for kind, want := range map[string][2]string{"alarm": {"[ALARM]", "<nil>"}, "ok": {"[OK]", "[ALARM]"}} {
		var p map[string]any
		for _, r := range s.resources(R, "AWS::Events::Rule") {
			if props(r)["Name"] == ForwardedAlarmRuleName(n, kind) {
				p = props(r)
			}
		}
		if p == nil || fmt.Sprint(get(p, "EventPattern", "detail", "state", "value")) != want[0] ||
			fmt.Sprint(get(p, "EventPattern", "detail", "previousState", "value")) != want[1] ||
			get(p, "Targets", 0, "Arn", "Ref") != topicID || !strings.Contains(fmt.Sprint(get(p, "Targets", 0, "InputTransformer", "InputTemplate")), `"NewStateValue":<state>`) {
			t.Errorf("rule %s = %v", ForwardedAlarmRuleName(n, kind), p)
		}
	}
}

// TestReadinessDeployed: the readiness function in B has exactly its
// environment — the recovery point's bound from the backup schedule, the
// replication rules, each DR machine with its definition's hash, the
// interval — its schedule, its not-ready alarm (missing data breaching) and
// reads scoped to this deployment.
func TestReadinessDeployed(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	P, B := s.cfg.PrimaryRegion, s.cfg.BackupRegion
	R := s.name("recovery", B)
	var fn map[string]any
	var fnID string
	for id, f := range s.resources(R, "AWS::Lambda::Function") {
		if props(f)["FunctionName"] == n.Function(ReadinessFunction) {
			fn, fnID = props(f), id
		}
	}
	if fn == nil {
		t.Fatal("no readiness function")
	}
	env := get(fn, "Environment", "Variables").(map[string]any)
	if env[readiness.EnvRecoveryPointMaxAge] != (36*time.Hour).String() || env[readiness.EnvInterval] != time.Hour.String() ||
		env[readiness.EnvBackupVault] != n.BackupVault() || env[readiness.EnvRecoveryPointResource] != n.TableARN(P, n.AggregatesTable()) {
		t.Errorf("readiness env %v", env)
	}
	var rules []readiness.ReplicationRule
	if err := json.Unmarshal([]byte(env[readiness.EnvReplicationRules].(string)), &rules); err != nil || len(rules) != len(dataKinds) ||
		rules[0] != (readiness.ReplicationRule{Source: n.Bucket("raw", P), Destination: n.Bucket("raw", B), Rule: "to-" + B}) {
		t.Errorf("replication rules %v (%v)", rules, err)
	}
	var machines []readiness.StateMachine
	if err := json.Unmarshal([]byte(env[readiness.EnvStateMachines].(string)), &machines); err != nil || len(machines) != len(DRMachines(s.cfg.Machines)) {
		t.Fatalf("state machines %v (%v)", machines, err)
	}
	for _, m := range machines {
		def, err := s.cfg.Machines.Definition(m.Name)
		if err != nil || m.SHA256 != readiness.DefinitionDigest(def) || m.ARN != n.StateMachineARN(B, m.Name) {
			t.Errorf("state machine %+v", m)
		}
	}
	// dr-verify (the isolated drill) judges the recovery point by the same
	// bound.
	if got := DRFunctions["dr-verify"].env(drContext{cfg: s.cfg, names: n, groups: map[string]*string{P: jsii.String(""), B: jsii.String("")}, topic: s.d.Recovery.Topic}); got[readiness.EnvRecoveryPointMaxAge] != env[readiness.EnvRecoveryPointMaxAge] {
		t.Errorf("dr-verify's recovery point bound %q, readiness's %q", got[readiness.EnvRecoveryPointMaxAge], env[readiness.EnvRecoveryPointMaxAge])
	}
	// Its schedule.
	scheduled := false
	for _, r := range s.resources(R, "AWS::Events::Rule") {
		p := props(r)
		if p["ScheduleExpression"] == s.cfg.ReadinessSchedule && get(p, "Targets", 0, "Arn", "Fn::GetAtt", 0) == fnID {
			scheduled = true
		}
	}
	if !scheduled {
		t.Error("no rule runs the readiness function on " + s.cfg.ReadinessSchedule)
	}
	// Its alarm: not ready (ALARM), or not reporting within an interval
	// (INSUFFICIENT_DATA), both notified.
	a := s.alarmsByName(R)[AlarmName(n, "not-ready")]
	if a == nil || a["Namespace"] != readiness.MetricNamespace || a["MetricName"] != readiness.MetricReady || a["Period"] != 3600.0 ||
		a["TreatMissingData"] != "missing" || len(list(a["InsufficientDataActions"])) != 1 {
		t.Errorf("not-ready alarm %v", a)
	}
	// Its grants: reads only, on this deployment's resources.
	role := get(fn, "Role", "Fn::GetAtt", 0)
	var actions []string
	for _, pol := range s.resources(R, "AWS::IAM::Policy") {
		if get(props(pol), "Roles", 0, "Ref") != role {
			continue
		}
		for _, st := range asList(get(props(pol), "PolicyDocument", "Statement")) {
			for _, a := range asList(get(st, "Action")) {
				actions = append(actions, a.(string))
			}
			res := fmt.Sprint(get(st, "Resource"))
			if res == "*" && !UnscopedActions[fmt.Sprint(get(st, "Action"))] {
				t.Errorf("readiness grant %v on *", get(st, "Action"))
			}
		}
	}
	sort.Strings(actions)
	wantActions := []string{"backup:ListRecoveryPointsByBackupVault", "cloudformation:DescribeStacks", "cloudformation:GetTemplate", "cloudwatch:GetMetricStatistics",
		"cloudwatch:PutMetricData", "dynamodb:DescribeContinuousBackups", "dynamodb:GetItem", "globalaccelerator:DescribeEndpointGroup",
		"kms:Decrypt", "kms:GenerateDataKey*", "logs:CreateLogStream", "logs:PutLogEvents", "sns:Publish", "states:DescribeStateMachine"}
	if fmt.Sprint(actions) != fmt.Sprint(wantActions) {
		t.Errorf("readiness may %v, want %v", actions, wantActions)
	}
	out := get(s.json[R], "Outputs", ReadinessOutput, "Value", "Ref")
	if out != fnID {
		t.Errorf("output %s = %v, want the readiness function", ReadinessOutput, out)
	}
}

// dashboardBody flattens a DashboardBody (a string, or Fn::Join of strings
// and tokens) into one string.
func dashboardBody(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	for _, part := range asList(get(v, "Fn::Join", 1)) {
		if s, ok := part.(string); ok {
			b.WriteString(s)
		} else {
			b.WriteString("<token>")
		}
	}
	return b.String()
}

// TestDashboard: one dashboard in B shows every signal, each metric read in
// the region that publishes it.
func TestDashboard(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	P, B := s.cfg.PrimaryRegion, s.cfg.BackupRegion
	R := s.name("recovery", B)
	boards := s.resources(R, "AWS::CloudWatch::Dashboard")
	if len(boards) != 1 {
		t.Fatalf("%d dashboards in B, want 1", len(boards))
	}
	var body string
	for _, d := range boards {
		if props(d)["DashboardName"] != DashboardName(n) {
			t.Errorf("dashboard name %v", props(d)["DashboardName"])
		}
		body = dashboardBody(props(d)["DashboardBody"])
	}
	for _, want := range []string{
		// P's metrics in P, B's in B.
		fmt.Sprintf(`["Pendulum/Ingest","RecordsAccepted","Region","%s",{"label":"RecordsAccepted %[1]s","region":"%[1]s","period":60,"stat":"Sum"}]`, P),
		fmt.Sprintf(`["AWS/Kinesis","GetRecords.IteratorAgeMilliseconds","StreamName","%s",{"label":"%[1]s %s","region":"%[2]s","period":60,"stat":"Maximum"}]`, n.Stream(), B),
		fmt.Sprintf(`["AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","%s",{"label":"%[1]s %s","region":"%[2]s","stat":"Maximum"}]`, queueName(n, healthDLQ), B),
		fmt.Sprintf(`"QueueName","%s",{"label":"%[1]s %s","region":"%[2]s","stat":"Maximum"}`, queueName(n, aggregateDLQ), P),
		fmt.Sprintf(`["AWS/Backup","NumberOfBackupJobsFailed","BackupVaultName","%s",{"label":"NumberOfBackupJobsFailed","region":"%s","period":3600,"stat":"Sum"}]`, n.BackupVault(), P),
		fmt.Sprintf(`["AWS/S3","ReplicationLatency","DestinationBucket","%s","RuleId","to-%s","SourceBucket","%s",{"label":"raw","region":"%[2]s","period":60,"stat":"Maximum"}]`, n.Bucket("raw", B), B, n.Bucket("raw", P)),
		`"BytesPendingReplication"`, `"OperationsPendingReplication"`,
		`"Pendulum","DRMode"`, `"Pendulum","Ready"`, `"Pendulum","ReadinessCheck","Check","dormantStack"`,
		`"Pendulum","FailoverSeconds"`, `"Pendulum","DrillPassed","Mode","isolated"`, `"Pendulum","EndpointHealthy","Endpoint","primary-regional","Region","` + B + `"`,
		`"type":"alarm"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
}

// TestNotificationConfig: by default the topic has no subscription; with
// pendulum:notifyEmails and notifyHttpsEndpoints each is a subscription,
// and with pendulum:notifyTopicArn the stack creates no topic: every
// publisher, alarm and rule uses the existing one, with its key, synth
// warns about the policies the operator owns, and cdk-nag stays clean.
func TestNotificationConfig(t *testing.T) {
	s := deployment(t)
	R := s.name("recovery", s.cfg.BackupRegion)
	if subs := s.resources(R, "AWS::SNS::Subscription"); len(subs) != 0 {
		t.Errorf("default configuration: %d subscriptions", len(subs))
	}

	cfg := testConfig(t, "testdata/statemachines")
	cfg.NotifyEmails = []string{"oncall@example.com"}
	cfg.NotifyHTTPSEndpoints = []string{"https://hooks.example.com/pendulum"}
	cfg.NotifyTopicARN = "arn:aws:sns:us-east-2:111111111111:ops-alerts"
	cfg.NotifyTopicKeyARN = "arn:aws:kms:us-east-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(nil)
	applyFeatureFlags(app)
	rec, err := NewRecoveryStack(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	tmpl := assertions.Template_FromStack(rec.Stack, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(0))
	tmpl.ResourceCountIs(jsii.String("AWS::SNS::TopicPolicy"), jsii.Number(0))
	tmpl.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(0))
	tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": "oncall@example.com", "TopicArn": cfg.NotifyTopicARN})
	tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "https", "Endpoint": "https://hooks.example.com/pendulum", "TopicArn": cfg.NotifyTopicARN})
	tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{"AlarmName": NamesFor(cfg).AlarmName(), "AlarmActions": []any{cfg.NotifyTopicARN}})
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
		map[string]any{"Action": "sns:Publish", "Effect": "Allow", "Resource": cfg.NotifyTopicARN},
		map[string]any{"Action": []any{"kms:Decrypt", "kms:GenerateDataKey*"}, "Effect": "Allow", "Resource": cfg.NotifyTopicKeyARN},
	})}})
	raw, _ := json.Marshal(tmpl.ToJSON())
	if !strings.Contains(string(raw), `"NotificationTopicArn":"`+cfg.NotifyTopicARN+`"`) {
		t.Error("the DR machines do not publish to the existing topic")
	}
	warned := false
	for _, st := range *app.Synth(nil).Stacks() {
		for _, m := range *st.Messages() {
			if strings.Contains(fmt.Sprint(m.Entry.Data), "is not this app's: its access policy must let EventBridge's rules publish") {
				warned = true
			}
		}
	}
	if !warned {
		t.Error("no warning about the existing topic's policies")
	}
	for stack, errs := range nagErrors(app) {
		t.Errorf("%s: cdk-nag %v", stack, errs)
	}
}
