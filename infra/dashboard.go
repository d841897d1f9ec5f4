package main

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/health"
	"github.com/pendulum-dr/pendulum/pkg/readiness"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// DashboardName is the installation's CloudWatch dashboard, in B (the
// region that is up when P is not); its widgets read each metric in the
// region that publishes it.
func DashboardName(n Names) string { return n.Prefix + "-dr" }

// metric is one metric of region.
func metric(region, namespace, name, statistic string, periodSec float64, label string, dims ...string) awscloudwatch.IMetric {
	m := map[string]*string{}
	for i := 0; i+1 < len(dims); i += 2 {
		m[dims[i]] = jsii.String(dims[i+1])
	}
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(namespace), MetricName: jsii.String(name), DimensionsMap: &m,
		Statistic: jsii.String(statistic), Period: awscdk.Duration_Seconds(jsii.Number(periodSec)),
		Region: jsii.String(region), Label: jsii.String(label),
	})
}

func graph(title string, width float64, left []awscloudwatch.IMetric, right ...awscloudwatch.IMetric) awscloudwatch.IWidget {
	p := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left}
	if len(right) > 0 {
		p.Right = &right
	}
	return awscloudwatch.NewGraphWidget(p)
}

// addDashboard adds the dashboard: readiness and the DR mode, the canary,
// ingest, the stream's consumers, S3 replication, the dead-letter queues,
// the backup jobs, the DR reports' figures, and B's alarms.
func (r *RecoveryStack) addDashboard(cfg Config) {
	n := NamesFor(cfg)
	P, B := cfg.PrimaryRegion, cfg.BackupRegion
	const minute = 60
	ns := topology.MetricNamespace

	var checks []awscloudwatch.IMetric
	for _, c := range readiness.Checks {
		checks = append(checks, metric(B, ns, readiness.MetricCheck, "Minimum", 3600, c, readiness.DimensionCheck, c))
	}
	var ingest, ingestErrors, iterator, dlqs []awscloudwatch.IMetric
	for _, region := range []string{P, B} {
		for _, m := range []string{topology.MetricRecordsAccepted, topology.MetricRecordsRejected, topology.MetricRecordsFailed} {
			ingest = append(ingest, metric(region, topology.IngestMetricNamespace, m, "Sum", minute, m+" "+region, topology.IngestDimensionRegion, region))
		}
		ingestErrors = append(ingestErrors,
			metric(region, lambdaNamespace, lambdaErrors, "Sum", minute, "ingest errors "+region, lambdaDimensionFunction, n.Function("ingest")),
			metric(region, lambdaNamespace, lambdaInvocations, "Sum", minute, "ingest invocations "+region, lambdaDimensionFunction, n.Function("ingest")))
		iterator = append(iterator,
			metric(region, kinesisNamespace, kinesisIteratorAge, "Maximum", minute, n.Stream()+" "+region, "StreamName", n.Stream()),
			metric(region, lambdaNamespace, lambdaIteratorAge, "Maximum", minute, "aggregate consumer "+region, lambdaDimensionFunction, n.Function("aggregate")))
		queues := []string{partitionsDLQ, aggregateDLQ}
		if region == B {
			queues = append(queues, healthDLQ)
		}
		for _, q := range queues {
			dlqs = append(dlqs, metric(region, sqsNamespace, sqsMessagesVisible, "Maximum", 5*minute, queueName(n, q)+" "+region, "QueueName", queueName(n, q)))
		}
	}
	var latency, pending, bytesPending []awscloudwatch.IMetric
	for _, kind := range dataKinds {
		dims := []string{readiness.S3DimensionSourceBucket, n.Bucket(kind, P), readiness.S3DimensionDestinationBucket, n.Bucket(kind, B), readiness.S3DimensionRuleID, replicationRuleID(cfg)}
		latency = append(latency, metric(B, readiness.S3Namespace, readiness.S3ReplicationLatency, "Maximum", minute, kind, dims...))
		pending = append(pending, metric(B, readiness.S3Namespace, readiness.S3OperationsPendingReplication, "Maximum", minute, kind+" operations", dims...))
		bytesPending = append(bytesPending, metric(B, readiness.S3Namespace, readiness.S3BytesPendingReplication, "Maximum", minute, kind+" bytes", dims...))
	}
	var backups []awscloudwatch.IMetric
	for _, m := range []string{backupJobsCompleted, backupJobsFailed, copyJobsCompleted, copyJobsFailed} {
		backups = append(backups, metric(P, backupNamespace, m, "Sum", 3600, m, backupDimensionVault, n.BackupVault()))
	}
	canary := []awscloudwatch.IMetric{
		metric(B, ns, MetricName, "Average", minute, "P's regional endpoint", health.DimensionEndpoint, PrimaryTargetName, health.DimensionRegion, B),
		metric(B, ns, MetricName, "Average", minute, "accelerator", health.DimensionEndpoint, AcceleratorTarget, health.DimensionRegion, B),
		metric(B, ns, health.MetricPipelineFresh, "Minimum", minute, "P's pipeline fresh", health.DimensionEndpoint, PrimaryTargetName, health.DimensionRegion, B),
	}
	var alarms []interfacesawscloudwatch.IAlarmRef
	ids := make([]string, 0, len(r.Alarms))
	for id := range r.Alarms {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	alarms = append(alarms, r.Alarm, r.PipelineAlarm)
	for _, id := range ids {
		alarms = append(alarms, r.Alarms[id])
	}

	header := fmt.Sprintf("# Pendulum %s: P = %s, B = %s\n"+
		"Readiness runs %s (docs/dr.md \"Readiness\"); DR mode: 0 PRIMARY, 1 FAILING_OVER, 2 FAILED_OVER, 3 FAILING_BACK. "+
		"Every alarm notifies the DR topic %s (P's through B's event bus). The DR figures are the state machines' durations as dr-report "+
		"publishes them, not the producers' RTO the drill measures.", n.Prefix, P, B, cfg.ReadinessSchedule, n.Topic())
	awscloudwatch.NewDashboard(r.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(DashboardName(n)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{Markdown: jsii.String(header), Width: jsii.Number(24), Height: jsii.Number(2)})},
			{
				awscloudwatch.NewSingleValueWidget(&awscloudwatch.SingleValueWidgetProps{Title: jsii.String("Ready, DR mode"), Width: jsii.Number(6), Height: jsii.Number(6),
					Metrics: &[]awscloudwatch.IMetric{
						metric(B, ns, readiness.MetricReady, "Minimum", 3600, "ready (1) / not (0)"),
						metric(B, ns, readiness.MetricDRMode, "Maximum", 3600, "DR mode"),
					}}),
				graph("Readiness checks (1 ok)", 9, checks),
				awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{Title: jsii.String("Alarms in " + B), Width: jsii.Number(9), Height: jsii.Number(6), Alarms: &alarms}),
			},
			{graph("Health canary (from "+B+")", 8, canary), graph("Ingest records", 8, ingest), graph("Ingest Lambda", 8, ingestErrors)},
			{graph("Stream readers' iterator age (ms)", 8, iterator), graph("S3 replication latency (s)", 8, latency), graph("S3 replication pending", 8, pending, bytesPending...)},
			{
				graph("Dead-letter queues (messages visible)", 8, dlqs),
				graph("AWS Backup jobs in "+P, 8, backups),
				graph("DR workflows (dr-report)", 8, []awscloudwatch.IMetric{
					metric(B, ns, dr.MetricFailoverSeconds, "Maximum", 86400, "failover seconds"),
					metric(B, ns, dr.MetricFailbackSeconds, "Maximum", 86400, "failback seconds"),
					metric(B, ns, dr.MetricDrillSeconds, "Maximum", 86400, "drill seconds"),
				}, metric(B, ns, dr.MetricDrillPassed, "Minimum", 86400, "isolated drill passed", dr.DimensionMode, "isolated")),
			},
		},
	})
}
