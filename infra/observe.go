package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/readiness"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// The AWS metrics the alarms and the dashboard read besides the S3
// replication metrics (pkg/readiness): SQS's, Kinesis's and AWS Backup's
// (docs/aws-facts.md "SQS", "Kinesis Data Streams", "AWS Backup
// cross-Region copy"), and Lambda's.
const (
	sqsNamespace            = "AWS/SQS"
	sqsMessagesVisible      = "ApproximateNumberOfMessagesVisible"
	kinesisNamespace        = "AWS/Kinesis"
	kinesisIteratorAge      = "GetRecords.IteratorAgeMilliseconds"
	backupNamespace         = "AWS/Backup"
	backupJobsFailed        = "NumberOfBackupJobsFailed"
	backupJobsCompleted     = "NumberOfBackupJobsCompleted"
	copyJobsFailed          = "NumberOfCopyJobsFailed"
	copyJobsCompleted       = "NumberOfCopyJobsCompleted"
	backupDimensionVault    = "BackupVaultName"
	lambdaNamespace         = "AWS/Lambda"
	lambdaInvocations       = "Invocations"
	lambdaErrors            = "Errors"
	lambdaIteratorAge       = "IteratorAge"
	lambdaDimensionFunction = "FunctionName"
)

// The installation's alarms on its failure signals, besides the two the
// canary's metrics drive (infra/recovery.go): S3 replication late or not
// draining, a Kinesis consumer far behind, a dead-letter queue that is not
// empty, a failed backup or copy job, readiness not ready. Every one
// notifies the DR topic. The topic is in B, and a CloudWatch alarm can
// notify only a topic of its own region (docs/aws-facts.md "CloudWatch
// alarms and Embedded Metric Format"): B's alarms are in the Recovery
// stack with the topic as their action; P's are in P's stacks without
// actions, and their state changes, which CloudWatch sends to P's default
// event bus, are forwarded to B's bus, where two rules publish them to the
// topic (ALARM, and OK after ALARM) in the shape of an alarm's own
// notification.

// The dead-letter queues, by name suffix (queueName): the partitions
// Lambda's (Data stack), the aggregate consumer's on-failure queue
// (Workload stack) and the health canary's (Recovery stack, B only).
const (
	partitionsDLQ = "partitions-dlq"
	aggregateDLQ  = "aggregate-failures"
	healthDLQ     = "health-failures"
)

// queueName is the physical name of a queue of the installation.
func queueName(n Names, suffix string) string { return n.Prefix + "-" + suffix }

// replicationRuleID is the ID of each data bucket's replication rule to B:
// the replication metrics' RuleId.
func replicationRuleID(cfg Config) string { return "to-" + cfg.BackupRegion }

// Alarm thresholds.
const (
	// IteratorAgeAlarmMinutes: a consumer this far behind its stream for
	// five minutes in a row is stuck, not catching up (a failover's
	// restore keeps B's consumer off for about 20 minutes, and it catches
	// up in a few once started).
	IteratorAgeAlarmMinutes = 10
	// ReplicationBacklogMinutes: replication that has not drained once
	// in this many one-minute datapoints does not keep up.
	ReplicationBacklogMinutes = 15
	// BackupJobPeriodMinutes: AWS Backup publishes its job metrics every
	// five minutes.
	BackupJobPeriodMinutes = 5
)

// alarmSpec is one alarm of a region.
type alarmSpec struct {
	id          string // construct ID base and name suffix (AlarmName)
	stack       string // "data", "workload" or "recovery": where it is created in P (B's are all in Recovery)
	description string
	namespace   string
	metric      string
	dims        map[string]string
	statistic   string
	periodSec   float64
	threshold   float64
	op          awscloudwatch.ComparisonOperator
	periods     float64 // evaluation periods, all of them breaching to alarm
	missing     awscloudwatch.TreatMissingData
	ok          bool // notify the return to OK too
	// insufficient notifies the change to INSUFFICIENT_DATA too: with
	// missing data treated as missing, the alarm's way of saying its
	// metric stopped arriving.
	insufficient bool
}

// AlarmName is the physical name of the alarm with id.
func AlarmName(n Names, id string) string { return n.Prefix + "-" + id }

// alarmSpecs are the alarms of region (P or B).
func alarmSpecs(cfg Config, region string) []alarmSpec {
	n := NamesFor(cfg)
	P, B := cfg.PrimaryRegion, cfg.BackupRegion
	var out []alarmSpec
	dlq := func(suffix, stack, what string) {
		out = append(out, alarmSpec{
			id: suffix + "-not-empty", stack: stack,
			description: fmt.Sprintf("%s in %s holds messages: %s", queueName(n, suffix), region, what),
			namespace:   sqsNamespace, metric: sqsMessagesVisible, dims: map[string]string{"QueueName": queueName(n, suffix)},
			statistic: "Maximum", periodSec: 300, threshold: 1, op: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, periods: 1,
			missing: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	}
	dlq(partitionsDLQ, "data", "S3 events the partitions Lambda failed 5 times; the catalog lacks their partitions until dr-reconcile or a redrive registers them")
	dlq(aggregateDLQ, "workload", "Kinesis records older than the stream's retention the aggregate consumer gave up on; their aggregates are missing (docs/dr.md \"Partial failure of the primary\")")
	out = append(out, alarmSpec{
		id: "records-iterator-age", stack: "workload",
		description: fmt.Sprintf("A reader of %s in %s (the aggregate consumer or Firehose) is more than %d minutes behind for 5 minutes", n.Stream(), region, IteratorAgeAlarmMinutes),
		namespace:   kinesisNamespace, metric: kinesisIteratorAge, dims: map[string]string{"StreamName": n.Stream()},
		statistic: "Maximum", periodSec: 60, threshold: IteratorAgeAlarmMinutes * 60 * 1000, op: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, periods: 5,
		missing: awscloudwatch.TreatMissingData_NOT_BREACHING, ok: true,
	})
	if region == P {
		for _, kind := range []string{"Backup", "Copy"} {
			metric := backupJobsFailed
			if kind == "Copy" {
				metric = copyJobsFailed
			}
			out = append(out, alarmSpec{
				id: strings.ToLower(kind) + "-jobs-failed", stack: "data",
				description: fmt.Sprintf("An AWS Backup %s job of vault %s failed: the recovery point B's vault should get may be missing (the readiness check's recoveryPoint)", strings.ToLower(kind), n.BackupVault()),
				namespace:   backupNamespace, metric: metric, dims: map[string]string{backupDimensionVault: n.BackupVault()},
				statistic: "Sum", periodSec: BackupJobPeriodMinutes * 60, threshold: 1, op: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, periods: 1,
				missing: awscloudwatch.TreatMissingData_NOT_BREACHING,
			})
		}
	}
	if region == B {
		dlq(healthDLQ, "recovery", "failed invocations of the health canary; the canary's log says why")
		for _, kind := range dataKinds {
			dims := map[string]string{readiness.S3DimensionSourceBucket: n.Bucket(kind, P), readiness.S3DimensionDestinationBucket: n.Bucket(kind, B),
				readiness.S3DimensionRuleID: replicationRuleID(cfg)}
			out = append(out,
				alarmSpec{
					id: "replication-latency-" + kind, stack: "recovery",
					description: fmt.Sprintf("S3 replication of %s to %s is more than Replication Time Control's %s behind", n.Bucket(kind, P), B, readiness.ReplicationBound),
					namespace:   readiness.S3Namespace, metric: readiness.S3ReplicationLatency, dims: dims,
					statistic: "Maximum", periodSec: 60, threshold: readiness.ReplicationBound.Seconds(), op: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, periods: 5,
					missing: awscloudwatch.TreatMissingData_IGNORE, ok: true,
				},
				alarmSpec{
					id: "replication-backlog-" + kind, stack: "recovery",
					description: fmt.Sprintf("S3 replication of %s to %s has had operations pending in every minute for %d minutes: it does not keep up", n.Bucket(kind, P), B, ReplicationBacklogMinutes),
					namespace:   readiness.S3Namespace, metric: readiness.S3OperationsPendingReplication, dims: dims,
					statistic: "Maximum", periodSec: 60, threshold: 1, op: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, periods: ReplicationBacklogMinutes,
					missing: awscloudwatch.TreatMissingData_IGNORE, ok: true,
				})
		}
		// Missing data is missing, not breaching: a readiness run that
		// does not report turns the alarm INSUFFICIENT_DATA, which
		// notifies too, while right after a deployment, before the first
		// run, the alarm stays in its initial INSUFFICIENT_DATA without a
		// false ALARM.
		out = append(out, alarmSpec{
			id: "not-ready", stack: "recovery",
			description: fmt.Sprintf("ALARM: the readiness check found the installation not ready to fail over (its own notice names the failing checks); "+
				"INSUFFICIENT_DATA: it did not report within %s (docs/dr.md \"Readiness\")", cfg.ReadinessInterval()),
			namespace: readiness.MetricNamespace, metric: readiness.MetricReady,
			statistic: "Minimum", periodSec: cfg.ReadinessInterval().Seconds(), threshold: 1, op: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, periods: 1,
			missing: awscloudwatch.TreatMissingData_MISSING, ok: true, insufficient: true,
		})
	}
	return out
}

// newAlarm creates spec in stack, notifying topic when it is not nil.
func newAlarm(stack awscdk.Stack, cfg Config, spec alarmSpec, topic awssns.ITopic) awscloudwatch.Alarm {
	n := NamesFor(cfg)
	dims := map[string]*string{}
	for k, v := range spec.dims {
		dims[k] = jsii.String(v)
	}
	a := awscloudwatch.NewAlarm(stack, jsii.String(topology.Camel(spec.id)+"Alarm"), &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(AlarmName(n, spec.id)),
		AlarmDescription: jsii.String(spec.description),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(spec.namespace), MetricName: jsii.String(spec.metric), DimensionsMap: &dims,
			Statistic: jsii.String(spec.statistic), Period: awscdk.Duration_Seconds(jsii.Number(spec.periodSec)),
		}),
		Threshold:          jsii.Number(spec.threshold),
		ComparisonOperator: spec.op,
		EvaluationPeriods:  jsii.Number(spec.periods),
		DatapointsToAlarm:  jsii.Number(spec.periods),
		TreatMissingData:   spec.missing,
	})
	if topic != nil {
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
		if spec.ok {
			a.AddOkAction(awscloudwatchactions.NewSnsAction(topic))
		}
		if spec.insufficient {
			a.AddInsufficientDataAction(awscloudwatchactions.NewSnsAction(topic))
		}
	}
	return a
}

// addPrimaryAlarms creates P's alarms of kind ("data" or "workload") in
// stack, without actions: their state changes are forwarded to B
// (addAlarmForward).
func addPrimaryAlarms(stack awscdk.Stack, cfg Config, kind string) {
	for _, spec := range alarmSpecs(cfg, cfg.PrimaryRegion) {
		if spec.stack == kind {
			newAlarm(stack, cfg, spec, nil)
		}
	}
}

// primaryAlarmARNs are the ARNs of every alarm of P, sorted.
func primaryAlarmARNs(cfg Config) []string {
	n := NamesFor(cfg)
	var out []string
	for _, spec := range alarmSpecs(cfg, cfg.PrimaryRegion) {
		out = append(out, fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", cfg.PrimaryRegion, cfg.Account, AlarmName(n, spec.id)))
	}
	sort.Strings(out)
	return out
}

// alarmEventPattern matches the state changes of alarms, to states (and
// from previous ones, when given).
func alarmEventPattern(alarmARNs, states, previous []string) map[string]any {
	detail := map[string]any{"state": map[string]any{"value": states}}
	if len(previous) > 0 {
		detail["previousState"] = map[string]any{"value": previous}
	}
	return map[string]any{"source": []string{"aws.cloudwatch"}, "detail-type": []string{"CloudWatch Alarm State Change"},
		"resources": alarmARNs, "detail": detail}
}

// AlarmForwardRuleName is the rule in P that forwards P's alarm state
// changes to B's default bus.
func AlarmForwardRuleName(n Names) string { return n.Prefix + "-alarms-to-backup" }

// addAlarmForward adds, in P's workload stack, the rule that sends P's
// alarms' changes to ALARM or OK to B's default bus, as role (which may put
// events on that bus only).
func addAlarmForward(stack awscdk.Stack, cfg Config, role awsiam.IRole) {
	n := NamesFor(cfg)
	bus := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", cfg.BackupRegion, cfg.Account)
	awsevents.NewCfnRule(stack, jsii.String("AlarmsForward"), &awsevents.CfnRuleProps{
		Name:         jsii.String(AlarmForwardRuleName(n)),
		Description:  jsii.String("Forwards this region's Pendulum alarms entering ALARM or OK to the backup region, where they notify the DR topic"),
		EventPattern: alarmEventPattern(primaryAlarmARNs(cfg), []string{"ALARM", "OK"}, nil),
		State:        jsii.String("ENABLED"),
		Targets: &[]*awsevents.CfnRule_TargetProperty{{
			Id: jsii.String("BackupBus"), Arn: jsii.String(bus), RoleArn: role.RoleArn(),
		}},
	})
}

// ForwardedAlarmRuleName is a rule in B publishing P's forwarded alarm
// changes to the DR topic: kind "alarm" (entering ALARM) or "ok" (back to
// OK from ALARM).
func ForwardedAlarmRuleName(n Names, kind string) string { return n.Prefix + "-primary-alarms-" + kind }

// forwardedAlarmTemplate is the message of a forwarded alarm change: the
// fields of CloudWatch's own alarm notification that say what happened.
func forwardedAlarmTemplate() (string, map[string]*string) {
	paths := map[string]*string{
		"alarm": jsii.String("$.detail.alarmName"), "state": jsii.String("$.detail.state.value"), "previous": jsii.String("$.detail.previousState.value"),
		"reason": jsii.String("$.detail.state.reason"), "region": jsii.String("$.region"), "time": jsii.String("$.time"), "arn": jsii.String("$.resources[0]"),
	}
	return `{"AlarmName":<alarm>,"AlarmArn":<arn>,"NewStateValue":<state>,"OldStateValue":<previous>,"NewStateReason":<reason>,"Region":<region>,"StateChangeTime":<time>}`, paths
}

// addForwardedAlarmRules adds, in the Recovery stack, the rules that
// publish P's forwarded alarm changes to the topic, and returns their ARNs
// (the topic's policy lets them publish).
func (r *RecoveryStack) addForwardedAlarmRules(cfg Config) []string {
	n := NamesFor(cfg)
	tmpl, paths := forwardedAlarmTemplate()
	var arns []string
	for _, k := range []struct {
		kind, description string
		states, previous  []string
	}{
		{"alarm", "Notifies the DR topic when an alarm of the primary region enters ALARM (forwarded from its event bus)", []string{"ALARM"}, nil},
		{"ok", "Notifies the DR topic when an alarm of the primary region returns to OK from ALARM (forwarded from its event bus)", []string{"OK"}, []string{"ALARM"}},
	} {
		name := ForwardedAlarmRuleName(n, k.kind)
		awsevents.NewCfnRule(r.Stack, jsii.String("PrimaryAlarms"+topology.Camel(k.kind)+"Rule"), &awsevents.CfnRuleProps{
			Name:         jsii.String(name),
			Description:  jsii.String(k.description),
			EventPattern: alarmEventPattern(primaryAlarmARNs(cfg), k.states, k.previous),
			State:        jsii.String("ENABLED"),
			Targets: &[]*awsevents.CfnRule_TargetProperty{{
				Id: jsii.String("Topic"), Arn: r.Topic.TopicArn(),
				InputTransformer: &awsevents.CfnRule_InputTransformerProperty{InputPathsMap: &paths, InputTemplate: jsii.String(tmpl)},
			}},
		})
		arns = append(arns, fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", cfg.BackupRegion, cfg.Account, name))
	}
	return arns
}

// addBackupAlarms creates B's alarms in the Recovery stack, notifying the
// topic, and returns them by ID.
func (r *RecoveryStack) addBackupAlarms(cfg Config) map[string]awscloudwatch.Alarm {
	out := map[string]awscloudwatch.Alarm{}
	for _, spec := range alarmSpecs(cfg, cfg.BackupRegion) {
		out[spec.id] = newAlarm(r.Stack, cfg, spec, r.Topic)
	}
	return out
}
