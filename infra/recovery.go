package main

import (
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/health"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// Health metric the health Lambda emits (Embedded Metric Format) and the
// alarm that starts failover watches.
const (
	MetricNamespace   = topology.MetricNamespace
	MetricName        = topology.MetricEndpointHealthy
	PrimaryTargetName = "primary-regional"
	AcceleratorTarget = "accelerator"
	// PipelineEvaluationPeriods and PipelineDatapointsToAlarm shape the
	// one-minute PipelineFresh alarm: three stale minutes in a row, after
	// the canary's own DefaultPipelineMaxLag.
	PipelineEvaluationPeriods = 3
	PipelineDatapointsToAlarm = 3
	// FailoverMachine is the state machine the alarm starts.
	FailoverMachine = "failover"
	// DrillMachine is the state machine the drill schedule starts.
	DrillMachine = "drill"
)

// RecoveryStack is everything B needs to detect P's outage and recover:
// the health canary and its alarms (P down: failover; P's pipeline
// stalled: a notice), the rule that starts failover, the DR
// notification topic, the DR control table, the dr-* Lambdas and the DR
// state machines.
type RecoveryStack struct {
	awscdk.Stack
	Alarm     awscloudwatch.Alarm
	AlarmRule awsevents.Rule
	// PipelineAlarm watches P's pipeline freshness; it only notifies.
	PipelineAlarm awscloudwatch.Alarm
	// Topic is the DR topic: the stack's own, or the existing topic of
	// pendulum:notifyTopicArn.
	Topic        awssns.ITopic
	ControlTable awsdynamodb.Table
	// Alarms are the Recovery stack's alarms on B's failure signals, by ID
	// (observe.go).
	Alarms map[string]awscloudwatch.Alarm
	// Readiness is the readiness check (readiness.go).
	Readiness   Function
	Machines    map[string]awsstepfunctions.StateMachine
	DRFunctions map[string]Function
	// Placeholders are the DefinitionSubstitutions keys DR machines may use.
	Placeholders []string
	// Scope is where DR machines' derived permissions may reach, by service.
	Scope Scope
}

// NewRecoveryStack builds the Recovery stack in B.
func NewRecoveryStack(scope constructs.Construct, cfg Config) (*RecoveryStack, error) {
	n := NamesFor(cfg)
	B, P := cfg.BackupRegion, cfg.PrimaryRegion
	stack := awscdk.NewStack(scope, jsii.String(n.Stack("recovery", B)), &awscdk.StackProps{
		StackName:   jsii.String(n.Stack("recovery", B)),
		Env:         env(cfg, B),
		Description: jsii.String("Pendulum recovery (backup region): health canary, failover trigger, DR state machines"),
	})
	r := &RecoveryStack{Stack: stack, Machines: map[string]awsstepfunctions.StateMachine{}, DRFunctions: map[string]Function{}}

	// Values AWS chose, published by the Workload (P) and Global stacks.
	primaryURL := ReadParameter(stack, "PrimaryAlbUrl", cfg, P, paramALBURL)
	accDNS := ReadParameter(stack, "AcceleratorDns", cfg, GlobalRegion, paramAcceleratorDNS)
	accURL := ReadParameter(stack, "AcceleratorUrl", cfg, GlobalRegion, paramAcceleratorURL)
	accARN := ReadParameter(stack, "AcceleratorArn", cfg, GlobalRegion, paramAcceleratorARN)
	groupARN := map[string]*string{
		P: ReadParameter(stack, "PrimaryEndpointGroupArn", cfg, GlobalRegion, paramEndpointGroupARN(P)),
		B: ReadParameter(stack, "BackupEndpointGroupArn", cfg, GlobalRegion, paramEndpointGroupARN(B)),
	}

	key := r.newTopic(cfg)

	r.ControlTable = awsdynamodb.NewTable(stack, jsii.String("Control"), &awsdynamodb.TableProps{
		TableName:          jsii.String(n.ControlTable()),
		PartitionKey:       &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:        awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(true),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	// The health canary: P's ALB directly and the accelerator, every
	// minute, with their listeners' scheme as deployed. Behind P's regional
	// front door it also checks P's pipeline: the aggregate consumer's
	// canary heartbeat in P's aggregates table.
	targets := fmt.Sprintf(`[{"name":%q,"url":"%s/"},{"name":%q,"url":"%s/"}]`,
		PrimaryTargetName, *primaryURL, AcceleratorTarget, *accURL)
	healthFn := NewFunction(stack, cfg, B, FunctionSpec{
		Name: "health",
		Env: map[string]string{
			health.EnvTargets: targets, health.EnvProbeTimeoutMs: strconv.Itoa(cfg.ProbeTimeoutMs),
			health.EnvPipelineTable: n.AggregatesTable(), health.EnvPipelineRegion: P, health.EnvPipelineTarget: PrimaryTargetName,
		},
		TimeoutSeconds: 50,
	})
	// The canary is invoked asynchronously (the schedule below): an
	// invocation that fails is not retried (the next minute's run is the
	// retry, and a late probe would report a minute it did not see) and
	// its record goes to this queue instead of being dropped.
	canaryFailures := awssqs.NewQueue(stack, jsii.String("HealthFailures"), &awssqs.QueueProps{
		QueueName:       jsii.String(queueName(n, healthDLQ)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(canaryFailures, map[string]string{"SQS3": "This queue is the on-failure destination (dead letters) of the health canary's asynchronous invocations."})
	healthFn.Fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(0),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(60)),
		OnFailure:     awslambdadestinations.NewSqsDestination(canaryFailures),
	})
	healthFn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:GetItem"),
		Resources: jsii.Strings(n.TableARN(P, n.AggregatesTable())),
	}))
	awsevents.NewRule(stack, jsii.String("HealthSchedule"), &awsevents.RuleProps{
		Schedule: awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets:  &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(healthFn.Fn, nil)},
	})

	r.Alarm = awscloudwatch.NewAlarm(stack, jsii.String("PrimaryUnhealthy"), &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(n.AlarmName()),
		AlarmDescription: jsii.String("P's regional ingest endpoint fails the canary; ALARM starts failover."),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String(MetricNamespace),
			MetricName: jsii.String(MetricName),
			// Region is the canary's vantage point (B), as pkg/health emits it.
			DimensionsMap: &map[string]*string{"Endpoint": jsii.String(PrimaryTargetName), "Region": jsii.String(B)},
			Statistic:     jsii.String("Average"),
			Period:        awscdk.Duration_Minutes(jsii.Number(1)),
		}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(float64(cfg.AlarmEvaluationPeriods)),
		DatapointsToAlarm:  jsii.Number(float64(cfg.AlarmDatapointsToAlarm)),
		// A silent canary is B's problem, not proof that P is down.
		TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	r.Alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(r.Topic))
	r.Alarm.AddOkAction(awscloudwatchactions.NewSnsAction(r.Topic))

	// P's pipeline behind its answering front door: notify, never fail
	// over (ingest still works in P; moving producers to B, whose
	// consumer is off, would not help). The canary judges the pipeline only
	// in rounds where P's front door answered, so an outage leaves no
	// datapoints (not breaching) and the first round after it is the only
	// stale one: PipelineDatapointsToAlarm must be more than one.
	r.PipelineAlarm = awscloudwatch.NewAlarm(stack, jsii.String("PrimaryPipelineStalled"), &awscloudwatch.AlarmProps{
		AlarmName: jsii.String(n.PipelineAlarmName()),
		AlarmDescription: jsii.String(fmt.Sprintf("P's aggregate consumer has not got past a health canary for more than %.0f s while P's front door answers; "+
			"notifies only, starts no failover (docs/dr.md \"Partial failure of the primary\").", health.DefaultPipelineMaxLag.Seconds())),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(MetricNamespace),
			MetricName:    jsii.String(health.MetricPipelineFresh),
			DimensionsMap: &map[string]*string{health.DimensionEndpoint: jsii.String(PrimaryTargetName), health.DimensionRegion: jsii.String(B)},
			Statistic:     jsii.String("Minimum"),
			Period:        awscdk.Duration_Minutes(jsii.Number(1)),
		}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(PipelineEvaluationPeriods),
		DatapointsToAlarm:  jsii.Number(PipelineDatapointsToAlarm),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	r.PipelineAlarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(r.Topic))
	r.PipelineAlarm.AddOkAction(awscloudwatchactions.NewSnsAction(r.Topic))

	// Backup restores (the fallback when cross-region PITR cannot run) run
	// as this role.
	restoreRole := awsiam.NewRole(stack, jsii.String("BackupRestoreRole"), &awsiam.RoleProps{
		RoleName:  jsii.String(n.Prefix + "-backup-restore-" + B),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("backup.amazonaws.com"), nil),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSBackupServiceRolePolicyForRestores")),
		},
	})
	suppress(restoreRole, map[string]string{
		"IAM4": "AWS Backup's documented service-role policy for restore jobs; only the failover state machine may pass this role, and only to AWS Backup.",
	})

	// dr-stack activates and deactivates B's workload stack as this role,
	// never as the CDK's deploy role.
	execRole := NewWorkloadExecRole(stack, "WorkloadExecRole", WorkloadExecRoleProps{
		Names: n, Region: B,
	})

	// The placeholders DR state machines may use (documented in docs/deploy.md),
	// the same set the local runner renders them with.
	machines := DRMachines(cfg.Machines)
	known := topology.Substitutions(n, topology.Regions{Primary: P, Backup: B}, topology.Deployed{
		AcceleratorARN:          *accARN,
		AcceleratorDNSName:      *accDNS,
		AcceleratorURL:          *accURL,
		PrimaryEndpointGroupARN: *groupARN[P],
		BackupEndpointGroupARN:  *groupARN[B],
		BackupRestoreRoleARN:    *restoreRole.RoleArn(),
		NotificationTopicARN:    *r.Topic.TopicArn(),
		HealthFunctionARN:       *healthFn.Fn.FunctionArn(),
		FailoverApproval:        cfg.FailoverApproval,
		StateMachines:           machines,
	})

	// The dr-* Lambdas found in functions/.
	drNames, err := drFunctionNames(cfg)
	if err != nil {
		return nil, err
	}
	if err := CheckAssets(cfg, drNames...); err != nil {
		return nil, err
	}
	ctx := drContext{cfg: cfg, names: n, accARN: *accARN, topic: r.Topic, key: key, groups: groupARN, restoreRole: *restoreRole.RoleArn(), execRole: *execRole.RoleArn()}
	var drARNs []string
	for _, name := range drNames {
		spec, ok := DRFunctions[name]
		if !ok {
			return nil, fmt.Errorf("%s/%s has no entry in infra's DRFunctions table (infra/drfunctions.go): add its environment and least-privilege grants", cfg.FunctionsDir, name)
		}
		fn := NewFunction(stack, cfg, B, FunctionSpec{
			Name: name, Env: spec.env(ctx), TimeoutSeconds: spec.TimeoutSeconds, MemoryMB: spec.MemoryMB,
			Wildcards: drWildcards,
		})
		for _, p := range spec.grants(ctx) {
			fn.Role.AddToPolicy(p.statement())
		}
		if spec.Publishes {
			r.Topic.GrantPublish(fn.Role)
		}
		r.DRFunctions[name] = fn
		known[topology.Camel(name)+"FunctionArn"] = *fn.Fn.FunctionArn()
		drARNs = append(drARNs, *fn.Fn.FunctionArn())
	}

	for k := range known {
		r.Placeholders = append(r.Placeholders, k)
	}
	sort.Strings(r.Placeholders)

	// The DR state machines found in statemachines/.
	r.Scope = ctx.scope()
	for _, m := range machines {
		def, err := cfg.Machines.Definition(m)
		if err != nil {
			return nil, err
		}
		perms, err := TaskPermissions(def, ctx.machineScope(m), drARNs, n.StateMachineARN(B, m))
		if err != nil {
			return nil, fmt.Errorf("state machine %s: %w", m, err)
		}
		sm, err := newStateMachine(stack, cfg, B, m, known, drWildcards)
		if err != nil {
			return nil, err
		}
		for _, p := range perms {
			sm.AddToRolePolicy(p.statement())
		}
		if key != nil {
			key.GrantEncryptDecrypt(sm.Role())
		}
		r.Machines[m] = sm
	}

	// Every unsuccessful end of a DR workflow (and of the nightly batch)
	// notifies the topic once, and so does every change to ALARM of P's
	// alarms (and back to OK); the topic lets exactly those rules publish.
	ruleARNs, err := r.addEndedNotifications(cfg)
	if err != nil {
		return nil, err
	}
	ruleARNs = append(ruleARNs, r.addForwardedAlarmRules(cfg)...)
	r.allowRulesPublish(cfg, ruleARNs)

	// B's alarms, the readiness check and the dashboard.
	r.Alarms = r.addBackupAlarms(cfg)
	if r.Readiness, err = r.addReadiness(cfg, ctx); err != nil {
		return nil, err
	}
	r.addDashboard(cfg)

	// ALARM → failover (when the failover machine exists) and a notice.
	r.AlarmRule = awsevents.NewRule(stack, jsii.String("PrimaryUnhealthyRule"), &awsevents.RuleProps{
		Description: jsii.String("Starts failover when P's health alarm enters ALARM"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.cloudwatch"),
			DetailType: jsii.Strings("CloudWatch Alarm State Change"),
			Resources:  jsii.Strings(*r.Alarm.AlarmArn()),
			Detail:     &map[string]interface{}{"state": map[string]interface{}{"value": []string{"ALARM"}}},
		},
	})
	if sm, ok := r.Machines[FailoverMachine]; ok {
		r.AlarmRule.AddTarget(awseventstargets.NewSfnStateMachine(sm, &awseventstargets.SfnStateMachineProps{
			Input: awsevents.RuleTargetInput_FromObject(map[string]interface{}{
				"trigger": "alarm",
				"alarm":   awsevents.EventField_FromPath(jsii.String("$.detail.alarmName")),
			}),
		}))
	}
	if sm, ok := r.Machines[DrillMachine]; ok && cfg.DrillSchedule != "" {
		schedRole := awsiam.NewRole(stack, jsii.String("DrillScheduleRole"), &awsiam.RoleProps{
			AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
				Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account}},
			}),
		})
		schedRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("states:StartExecution"), Resources: jsii.Strings(*sm.StateMachineArn()),
		}))
		awsscheduler.NewCfnSchedule(stack, jsii.String("DrillSchedule"), &awsscheduler.CfnScheduleProps{
			Name:                       jsii.String(n.Prefix + "-drill"),
			ScheduleExpression:         jsii.String(cfg.DrillSchedule),
			ScheduleExpressionTimezone: jsii.String("UTC"),
			FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
			Target: &awsscheduler.CfnSchedule_TargetProperty{
				Arn: sm.StateMachineArn(), RoleArn: schedRole.RoleArn(), Input: jsii.String(`{"mode":"isolated"}`),
			},
		})
	}
	return r, nil
}

// drWildcards are the only wildcards the DR scope (drContext.scope and
// machineScope) uses, which every DR Lambda's and state machine's grants
// are drawn from: the reason of their cdk-nag IAM5 suppressions.
const drWildcards = "DR scope, resources of this deployment only: objects of the named buckets (<bucket>/*) and of the failback bucket's failback/ folder (<bucket>/failback/*, failback's Map Run results), the child executions of failback's Distributed Maps (execution:<machine>/<label>:*), tables of the named Glue database (table/<db>/*), the IDs of the named workload stacks (stack/<name>/*), the accelerator's listeners and endpoint groups (<accelerator ARN>/*), the isolated drill's tables in B (<aggregates>-drill-*), this deployment's state machines and executions in B (stateMachine:<prefix>-*, execution:<prefix>-*), recovery points of B's vault (recovery-point:*), the deployment's functions (function:<prefix>-*) and versions of the DR functions (<arn>:*), event-source mappings (event-source-mapping:*, UUIDs), parameters under /<prefix>/; CloudWatch metric reads, PutMetricData (with cloudwatch:namespace) and DescribeRestoreJob support no resource-level permissions (\"*\")."

// newTopic makes the DR topic, with its KMS key (newTopicKey) and the
// subscriptions of pendulum:notifyEmails and notifyHttpsEndpoints, or uses
// the existing topic of pendulum:notifyTopicArn (and notifyTopicKeyArn's
// key, if any), and returns the topic's key (nil for an existing topic
// without one).
func (r *RecoveryStack) newTopic(cfg Config) awskms.IKey {
	n := NamesFor(cfg)
	var key awskms.IKey
	if cfg.NotifyTopicARN != "" {
		attrs := &awssns.TopicAttributes{TopicArn: jsii.String(cfg.NotifyTopicARN)}
		if cfg.NotifyTopicKeyARN != "" {
			key = awskms.Key_FromKeyArn(r.Stack, jsii.String("NotificationsKey"), jsii.String(cfg.NotifyTopicKeyARN))
			attrs.KeyArn = jsii.String(cfg.NotifyTopicKeyARN)
		}
		r.Topic = awssns.Topic_FromTopicAttributes(r.Stack, jsii.String("Notifications"), attrs)
	} else {
		k := newTopicKey(r.Stack, cfg)
		key = k
		r.Topic = awssns.NewTopic(r.Stack, jsii.String("Notifications"), &awssns.TopicProps{
			TopicName:   jsii.String(n.Topic()),
			DisplayName: jsii.String("Pendulum DR"),
			MasterKey:   k,
			EnforceSSL:  jsii.Bool(true),
		})
	}
	// An email subscription waits for its owner's confirmation, an HTTPS
	// one for the endpoint's (docs/deploy.md "Subscribe and confirm").
	for _, sub := range []struct {
		protocol  awssns.SubscriptionProtocol
		endpoints []string
	}{{awssns.SubscriptionProtocol_EMAIL, cfg.NotifyEmails}, {awssns.SubscriptionProtocol_HTTPS, cfg.NotifyHTTPSEndpoints}} {
		for _, e := range sub.endpoints {
			awssns.NewSubscription(r.Stack, jsii.String("Subscription"+topology.Camel(string(sub.protocol))+shortHash(e)), &awssns.SubscriptionProps{
				Topic: r.Topic, Protocol: sub.protocol, Endpoint: jsii.String(e),
			})
		}
	}
	return key
}

// shortHash names a construct after a value (an endpoint), stably.
func shortHash(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

// newTopicKey is the DR topic's KMS key. Its policy is explicit (no
// "kms:*"): administration by the account, use by CloudWatch alarms and
// EventBridge (which publish to the topic), use by IAM principals granted
// through IAM policies.
func newTopicKey(stack awscdk.Stack, cfg Config) awskms.Key {
	root := awsiam.NewAccountRootPrincipal()
	doc := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AccountAdministers"),
			Principals: &[]awsiam.IPrincipal{root},
			Actions: jsii.Strings("kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
				"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
				"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"),
			Resources: jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AccountUsesThroughIAM"),
			Principals: &[]awsiam.IPrincipal{root},
			Actions:    jsii.Strings("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"),
			Resources:  jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("AlarmsAndEventsPublish"),
			Principals: &[]awsiam.IPrincipal{
				awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil),
				awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
			},
			Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account}},
		}),
	}})
	return awskms.NewKey(stack, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Pendulum DR notifications"),
		EnableKeyRotation: jsii.Bool(true),
		Policy:            doc,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
}

// drFunctionNames lists functions/dr-*, sorted.
func drFunctionNames(cfg Config) ([]string, error) {
	entries, err := os.ReadDir(cfg.FunctionsDir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", cfg.FunctionsDir, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "dr-") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// statement turns a Permission into an IAM statement.
func (p Permission) statement() awsiam.PolicyStatement {
	props := &awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(p.Actions...),
		Resources: jsii.Strings(p.Resources...),
	}
	if len(p.Conditions) > 0 {
		c := map[string]interface{}{}
		for op, keys := range p.Conditions {
			k := map[string]interface{}{}
			for key, vals := range keys {
				k[key] = vals
			}
			c[op] = k
		}
		props.Conditions = &c
	}
	return awsiam.NewPolicyStatement(props)
}
