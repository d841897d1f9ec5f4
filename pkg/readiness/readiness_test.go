package readiness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr"
)

const (
	tP, tB       = "us-east-1", "us-east-2"
	tTable       = "arn:aws:dynamodb:us-east-1:111111111111:table/pendulum-aggregates"
	tMachineARN  = "arn:aws:states:us-east-2:111111111111:stateMachine:pendulum-failover"
	tGroupP      = "arn:aws:globalaccelerator::111111111111:accelerator/a/listener/l/endpoint-group/p"
	tGroupB      = "arn:aws:globalaccelerator::111111111111:accelerator/a/listener/l/endpoint-group/b"
	tALBP, tALBB = "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/pendulum-ingest/1", "arn:aws:elasticloadbalancing:us-east-2:111111111111:loadbalancer/app/pendulum-ingest/2"
	tRaw         = `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${FnArn}","Parameters":{"t":"${Table}","again":"${FnArn}"},"End":true}}}`
)

var tNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type fakeBackup struct {
	points []backuptypes.RecoveryPointByBackupVault
}

func (f *fakeBackup) ListRecoveryPointsByBackupVault(_ context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, _ ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	return &backup.ListRecoveryPointsByBackupVaultOutput{RecoveryPoints: f.points}, nil
}

type fakeMetrics struct {
	series map[string][]cwtypes.Datapoint // by metric name
	puts   []cwtypes.MetricDatum
}

func (f *fakeMetrics) GetMetricStatistics(_ context.Context, in *cloudwatch.GetMetricStatisticsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error) {
	return &cloudwatch.GetMetricStatisticsOutput{Datapoints: f.series[aws.ToString(in.MetricName)]}, nil
}

func (f *fakeMetrics) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	if aws.ToString(in.Namespace) != MetricNamespace {
		return nil, fmt.Errorf("namespace %s", aws.ToString(in.Namespace))
	}
	f.puts = append(f.puts, in.MetricData...)
	return &cloudwatch.PutMetricDataOutput{}, nil
}

func (f *fakeMetrics) put(name string) (float64, bool) {
	for _, d := range f.puts {
		if aws.ToString(d.MetricName) == name {
			return aws.ToFloat64(d.Value), true
		}
	}
	return 0, false
}

type fakeStacks struct {
	stack    cftypes.Stack
	template string
	err      error
}

func (f *fakeStacks) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{f.stack}}, nil
}

func (f *fakeStacks) GetTemplate(context.Context, *cloudformation.GetTemplateInput, ...func(*cloudformation.Options)) (*cloudformation.GetTemplateOutput, error) {
	return &cloudformation.GetTemplateOutput{TemplateBody: aws.String(f.template)}, nil
}

type fakeSFN struct{ def string }

func (f *fakeSFN) DescribeStateMachine(_ context.Context, in *sfn.DescribeStateMachineInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	return &sfn.DescribeStateMachineOutput{StateMachineArn: in.StateMachineArn, Definition: aws.String(f.def)}, nil
}

type fakeGA struct {
	groups map[string][]gatypes.EndpointDescription
}

func (f *fakeGA) DescribeEndpointGroup(_ context.Context, in *globalaccelerator.DescribeEndpointGroupInput, _ ...func(*globalaccelerator.Options)) (*globalaccelerator.DescribeEndpointGroupOutput, error) {
	return &globalaccelerator.DescribeEndpointGroupOutput{EndpointGroup: &gatypes.EndpointGroup{EndpointGroupArn: in.EndpointGroupArn,
		EndpointDescriptions: f.groups[aws.ToString(in.EndpointGroupArn)]}}, nil
}

type fakeTables struct {
	status ddbtypes.PointInTimeRecoveryStatus
}

func (f *fakeTables) DescribeContinuousBackups(context.Context, *dynamodb.DescribeContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: &ddbtypes.ContinuousBackupsDescription{
		ContinuousBackupsStatus:        ddbtypes.ContinuousBackupsStatusEnabled,
		PointInTimeRecoveryDescription: &ddbtypes.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: f.status}}}, nil
}

type fakeControl struct {
	item map[string]ddbtypes.AttributeValue
}

func (f *fakeControl) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: f.item}, nil
}

func (f *fakeControl) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, errors.New("readiness must not write the control record")
}

type fakeSNS struct{ published []sns.PublishInput }

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.published = append(f.published, *in)
	return &sns.PublishOutput{}, nil
}

// workloadTemplate is a small workload stack of region: a function, a
// stream and its consumer; dormant, the stream and consumer are scoped
// under WhenActive, conditional and the consumer's Enabled follows
// ConsumerEnabled, as infra builds B's.
func workloadTemplate(region string, dormant bool, codeKey string) string {
	scope, suffix, cond, enabled := "Always", "71CD1DC3", "", ""
	if dormant {
		scope, suffix, cond = "WhenActive", "23E70EDF", `"Condition":"IsActive",`
		enabled = `,"Enabled":{"Fn::If":["IsConsumerEnabled",true,false]}`
	}
	return fmt.Sprintf(`{"Resources":{
 "Ingest4069586C":{"Type":"AWS::Lambda::Function","Properties":{"FunctionName":"pendulum-ingest","Code":{"S3Bucket":"cdk-assets-111111111111-%[1]s","S3Key":"%[2]s.zip"},
   "Environment":{"Variables":{"STREAM_NAME":"pendulum-records"}},"Role":{"Fn::GetAtt":["IngestRole","Arn"]}}},
 "%[3]sRecords%[4]s":{"Type":"AWS::Kinesis::Stream",%[5]s"Properties":{"Name":"pendulum-records","RetentionPeriodHours":168}},
 "%[3]sConsumer%[4]s":{"Type":"AWS::Lambda::EventSourceMapping",%[5]s"Properties":{"EventSourceArn":"arn:aws:kinesis:%[1]s:111111111111:stream/pendulum-records","FunctionName":{"Ref":"Ingest4069586C"},"BatchSize":500,"DependsOnStream":{"Ref":"%[3]sRecords%[4]s"}%[6]s}},
 "Vpc":{"Type":"AWS::EC2::VPC","Properties":{"CidrBlock":"10.0.0.0/16"}}}}`, region, codeKey, scope, suffix, cond, enabled)
}

// fixture is a healthy installation in mode PRIMARY.
type fixture struct {
	r       *Readiness
	backup  *fakeBackup
	metrics *fakeMetrics
	stacks  map[string]*fakeStacks
	sfn     *fakeSFN
	ga      *fakeGA
	tables  map[string]*fakeTables
	control *fakeControl
	sns     *fakeSNS
}

func rendered() string {
	return strings.NewReplacer("${FnArn}", "arn:aws:lambda:us-east-2:111111111111:function:pendulum-dr-control", "${Table}", "pendulum-dr-control").Replace(tRaw)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		backup: &fakeBackup{points: []backuptypes.RecoveryPointByBackupVault{{RecoveryPointArn: aws.String("arn:rp:1"), ResourceArn: aws.String(tTable),
			Status: backuptypes.RecoveryPointStatusCompleted, CreationDate: aws.Time(tNow.Add(-10 * time.Hour))}}},
		metrics: &fakeMetrics{series: map[string][]cwtypes.Datapoint{
			"ReplicationLatency":           {{Maximum: aws.Float64(8), Timestamp: aws.Time(tNow.Add(-time.Minute))}},
			"OperationsPendingReplication": {{Maximum: aws.Float64(1), Timestamp: aws.Time(tNow.Add(-time.Minute))}},
		}},
		stacks: map[string]*fakeStacks{
			tP: {stack: cftypes.Stack{StackStatus: cftypes.StackStatusCreateComplete,
				Outputs: []cftypes.Output{{OutputKey: aws.String("LoadBalancerArn"), OutputValue: aws.String(tALBP)}}}, template: workloadTemplate(tP, false, "abc")},
			tB: {stack: cftypes.Stack{StackStatus: cftypes.StackStatusUpdateComplete, Parameters: []cftypes.Parameter{
				{ParameterKey: aws.String("Active"), ParameterValue: aws.String("false")}, {ParameterKey: aws.String("ConsumerEnabled"), ParameterValue: aws.String("false")}}},
				template: workloadTemplate(tB, true, "abc")},
		},
		sfn: &fakeSFN{def: rendered()},
		ga: &fakeGA{groups: map[string][]gatypes.EndpointDescription{
			tGroupP: {{EndpointId: aws.String(tALBP), Weight: aws.Int32(100), HealthState: gatypes.HealthStateHealthy}},
			tGroupB: {},
		}},
		tables:  map[string]*fakeTables{tP: {status: ddbtypes.PointInTimeRecoveryStatusEnabled}, tB: {status: ddbtypes.PointInTimeRecoveryStatusEnabled}},
		control: &fakeControl{},
		sns:     &fakeSNS{},
	}
	cfg := Config{
		Config: dr.Config{PrimaryRegion: tP, BackupRegion: tB, GlobalRegion: "us-west-2", NamePrefix: "pendulum", ControlTable: "pendulum-dr-control",
			AggregatesTable: "pendulum-aggregates", PrimaryEndpointGroupARN: tGroupP, BackupEndpointGroupARN: tGroupB, TopicARN: "arn:aws:sns:us-east-2:111111111111:pendulum-dr"},
		RecoveryPoint: RecoveryPointConfig{Vault: "pendulum-vault", ResourceARN: tTable, MaxAge: 36 * time.Hour},
		Replication:   []ReplicationRule{{Source: "raw-p", Destination: "raw-b", Rule: "to-us-east-2"}},
		StateMachines: []StateMachine{{Name: "failover", ARN: tMachineARN, SHA256: DefinitionDigest([]byte(tRaw))}},
		Interval:      time.Hour,
	}
	f.r = &Readiness{
		Config: cfg, Backup: f.backup, Metrics: f.metrics, SFN: f.sfn, GA: f.ga, Notify: f.sns,
		Stacks:  func(region string) (StacksAPI, error) { return f.stacks[region], nil },
		Tables:  func(region string) (TablesAPI, error) { return f.tables[region], nil },
		Control: &dr.Control{DB: f.control, Table: "pendulum-dr-control"},
		Clock:   clock.NewVirtual(tNow),
		Definition: func(name string) ([]byte, error) {
			if name != "failover" {
				return nil, fmt.Errorf("unknown %s", name)
			}
			return []byte(tRaw), nil
		},
	}
	return f
}

func (f *fixture) run(t *testing.T) Report {
	t.Helper()
	rep, err := f.r.Handle(context.Background(), json.RawMessage(`{"source":"aws.events"}`))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return rep
}

func result(t *testing.T, rep Report, name string) Result {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s in %+v", name, rep)
	return Result{}
}

// failingOnly checks rep is not ready with exactly the checks want failing,
// the first one's detail containing detail.
func failingOnly(t *testing.T, rep Report, detail string, want ...string) {
	t.Helper()
	if rep.Ready || strings.Join(rep.Failing, ",") != strings.Join(want, ",") {
		t.Fatalf("ready %v, failing %v; want not ready with %v failing\n%+v", rep.Ready, rep.Failing, want, rep.Checks)
	}
	if d := result(t, rep, want[0]).Detail; !strings.Contains(d, detail) {
		t.Fatalf("%s: detail %q, want it to contain %q", want[0], d, detail)
	}
}

func TestHealthyPublishesAndNotifiesTheFirstVerdict(t *testing.T) {
	f := newFixture(t)
	rep := f.run(t)
	if !rep.Ready || len(rep.Failing) != 0 || rep.Mode != dr.ModePrimary || len(rep.Checks) != len(Checks) {
		t.Fatalf("healthy installation: %+v", rep)
	}
	for i, c := range rep.Checks {
		if c.Name != Checks[i] || !c.OK || c.Detail == "" || c.Observed == nil {
			t.Errorf("check %d = %+v", i, c)
		}
	}
	if v, ok := f.metrics.put(MetricReady); !ok || v != 1 {
		t.Errorf("Ready = %v, %v", v, ok)
	}
	if v, ok := f.metrics.put(MetricDRMode); !ok || v != 0 {
		t.Errorf("DRMode = %v, %v", v, ok)
	}
	checks := 0
	for _, d := range f.metrics.puts {
		if aws.ToString(d.MetricName) == MetricCheck && aws.ToString(d.Dimensions[0].Name) == DimensionCheck && aws.ToFloat64(d.Value) == 1 {
			checks++
		}
	}
	if checks != len(Checks) {
		t.Errorf("%d ReadinessCheck datapoints of 1, want %d", checks, len(Checks))
	}
	if len(f.sns.published) != 1 || aws.ToString(f.sns.published[0].Subject) != "Pendulum: ready" || !rep.Notified {
		t.Fatalf("first verdict: published %+v", f.sns.published)
	}
	if !strings.Contains(aws.ToString(f.sns.published[0].Message), "no earlier verdict found") {
		t.Errorf("message: %s", aws.ToString(f.sns.published[0].Message))
	}
}

func TestNotifiesOnlyWhenTheVerdictChanges(t *testing.T) {
	f := newFixture(t)
	f.metrics.series[MetricReady] = []cwtypes.Datapoint{
		{Minimum: aws.Float64(0), Timestamp: aws.Time(tNow.Add(-2 * time.Hour))},
		{Minimum: aws.Float64(1), Timestamp: aws.Time(tNow.Add(-time.Hour))},
	}
	if rep := f.run(t); !rep.Ready || rep.Notified || len(f.sns.published) != 0 {
		t.Fatalf("ready after ready: notified %v, %d messages", rep.Notified, len(f.sns.published))
	}
	f.tables[tP].status = ddbtypes.PointInTimeRecoveryStatusDisabled
	rep := f.run(t)
	if !rep.Notified || len(f.sns.published) != 1 {
		t.Fatalf("not ready after ready: notified %v, %d messages", rep.Notified, len(f.sns.published))
	}
	if s := aws.ToString(f.sns.published[0].Subject); s != "Pendulum: NOT READY (pitr)" {
		t.Errorf("subject %q", s)
	}
	var m struct {
		Report   Report
		WhatNext string
	}
	if err := json.Unmarshal([]byte(aws.ToString(f.sns.published[0].Message)), &m); err != nil || m.Report.Ready || m.WhatNext == "" {
		t.Errorf("message %s: %v", aws.ToString(f.sns.published[0].Message), err)
	}
}

func TestRecoveryPoint(t *testing.T) {
	f := newFixture(t)
	f.backup.points[0].CreationDate = aws.Time(tNow.Add(-37 * time.Hour))
	f.backup.points = append(f.backup.points, backuptypes.RecoveryPointByBackupVault{RecoveryPointArn: aws.String("arn:rp:2"), ResourceArn: aws.String(tTable),
		Status: backuptypes.RecoveryPointStatusCreating, CreationDate: aws.Time(tNow.Add(-time.Hour))})
	failingOnly(t, f.r.Check(context.Background()), "is 37h0m0s old, more than 36h0m0s", CheckRecoveryPoint)
	f.backup.points = nil
	failingOnly(t, f.r.Check(context.Background()), "holds no COMPLETED recovery point", CheckRecoveryPoint)
}

func TestReplication(t *testing.T) {
	f := newFixture(t)
	f.metrics.series["ReplicationLatency"] = []cwtypes.Datapoint{{Maximum: aws.Float64(1200)}}
	failingOnly(t, f.r.Check(context.Background()), "raw-p → raw-b is 1200 s behind", CheckReplication)
	delete(f.metrics.series, "ReplicationLatency")
	failingOnly(t, f.r.Check(context.Background()), "no replication metrics in the last 15m0s", CheckReplication)
}

func TestDormantStack(t *testing.T) {
	f := newFixture(t)
	f.stacks[tB].template = workloadTemplate(tB, true, "def")
	failingOnly(t, f.r.Check(context.Background()), `AWS::Lambda::Function "pendulum-ingest" differs`, CheckDormantStack)

	f = newFixture(t)
	f.stacks[tB].stack.Parameters[0].ParameterValue = aws.String("true")
	failingOnly(t, f.r.Check(context.Background()), "mode PRIMARY wants Active=false ConsumerEnabled=false", CheckDormantStack)

	f = newFixture(t)
	f.stacks[tB].stack.StackStatus = cftypes.StackStatusUpdateInProgress
	failingOnly(t, f.r.Check(context.Background()), "is UPDATE_IN_PROGRESS", CheckDormantStack)

	f = newFixture(t)
	f.stacks[tP].err = errors.New("P is unreachable")
	// Without P's stack, traffic cannot tell P's load balancer either, but
	// the endpoint at weight 100 passes for it.
	failingOnly(t, f.r.Check(context.Background()), "P is unreachable", CheckDormantStack)
}

func TestStateMachines(t *testing.T) {
	f := newFixture(t)
	f.sfn.def = strings.Replace(rendered(), `"End":true`, `"Next":"B"`, 1)
	failingOnly(t, f.r.Check(context.Background()), "its text differs", CheckStateMachines)
	f.sfn.def = strings.Replace(rendered(), `"again":"arn:aws:lambda:us-east-2:111111111111:function:pendulum-dr-control"`, `"again":"arn:other"`, 1)
	failingOnly(t, f.r.Check(context.Background()), "${FnArn} is", CheckStateMachines)
	f.sfn.def = rendered()
	f.r.Config.StateMachines[0].SHA256 = DefinitionDigest([]byte("another version"))
	failingOnly(t, f.r.Check(context.Background()), "another version of statemachines/failover.asl.json", CheckStateMachines)
}

func TestTraffic(t *testing.T) {
	f := newFixture(t)
	f.ga.groups[tGroupB] = []gatypes.EndpointDescription{{EndpointId: aws.String(tALBB), Weight: aws.Int32(100)}}
	failingOnly(t, f.r.Check(context.Background()), "us-east-2 gets traffic", CheckTraffic)

	// Failed over: B's load balancer at 100, P fenced; B's stack active
	// and its table's PITR is the one checked.
	f = newFixture(t)
	f.control.item = map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "dr"},
		"mode": &ddbtypes.AttributeValueMemberS{Value: dr.ModeFailedOver}, "version": &ddbtypes.AttributeValueMemberN{Value: "3"}}
	f.stacks[tB].stack.Parameters = []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("true")}, {ParameterKey: aws.String("ConsumerEnabled"), ParameterValue: aws.String("true")}}
	f.stacks[tB].stack.Outputs = []cftypes.Output{{OutputKey: aws.String("LoadBalancerArn"), OutputValue: aws.String(tALBB)}}
	f.ga.groups[tGroupB] = []gatypes.EndpointDescription{{EndpointId: aws.String(tALBB), Weight: aws.Int32(100)}}
	f.ga.groups[tGroupP][0].Weight = aws.Int32(0)
	f.tables[tP].status = ddbtypes.PointInTimeRecoveryStatusDisabled
	if rep := f.run(t); !rep.Ready || rep.Mode != dr.ModeFailedOver {
		t.Fatalf("failed over: %+v", rep)
	}
	if v, _ := f.metrics.put(MetricDRMode); v != ModeValue[dr.ModeFailedOver] {
		t.Errorf("DRMode = %v", v)
	}
	f.ga.groups[tGroupP][0].Weight = aws.Int32(100)
	failingOnly(t, f.r.Check(context.Background()), "us-east-1 gets traffic", CheckTraffic)

	// A workflow in progress: not ready, the stack and traffic in
	// transition.
	f = newFixture(t)
	f.control.item = map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "dr"},
		"mode": &ddbtypes.AttributeValueMemberS{Value: dr.ModeFailingOver}, "version": &ddbtypes.AttributeValueMemberN{Value: "1"}}
	failingOnly(t, f.r.Check(context.Background()), "a DR workflow is in progress (mode FAILING_OVER)", CheckDormantStack, CheckTraffic)
}

func TestPITR(t *testing.T) {
	f := newFixture(t)
	f.tables[tP].status = ddbtypes.PointInTimeRecoveryStatusDisabled
	failingOnly(t, f.r.Check(context.Background()), `pendulum-aggregates in us-east-1 is "DISABLED"`, CheckPITR)
}

func TestSubjectFitsSNS(t *testing.T) {
	s := Subject(Report{Failing: Checks})
	if len(s) > 99 || strings.ContainsFunc(s, func(r rune) bool { return r > 127 }) {
		t.Fatalf("subject %q: %d characters", s, len(s))
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		dr.EnvPrimaryRegion: tP, dr.EnvBackupRegion: tB, dr.EnvGlobalRegion: "us-west-2", dr.EnvNamePrefix: "pendulum", dr.EnvControlTable: "c",
		dr.EnvAggregatesTable: "a", dr.EnvGlueDatabase: "g", dr.EnvPrimaryRawBucket: "1", dr.EnvPrimaryCuratedBucket: "2", dr.EnvBackupRawBucket: "3",
		dr.EnvBackupCuratedBucket: "4", dr.EnvAcceleratorARN: "arn:a", dr.EnvPrimaryEndpointGroupARN: tGroupP, dr.EnvBackupEndpointGroupARN: tGroupB,
		dr.EnvLoadBalancerName: "lb", dr.EnvTopicARN: "arn:t", "AWS_REGION": tB,
		EnvBackupVault: "pendulum-vault", EnvRecoveryPointResource: tTable, EnvRecoveryPointMaxAge: "36h",
		EnvReplicationRules: `[{"source":"s","destination":"d","rule":"r"}]`,
		EnvStateMachines:    `[{"name":"failover","arn":"` + tMachineARN + `","sha256":"` + DefinitionDigest(nil) + `"}]`,
		EnvInterval:         "1h",
	}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.RecoveryPoint.MaxAge != 36*time.Hour || len(c.Replication) != 1 || c.Interval != time.Hour {
		t.Fatalf("ConfigFromEnv = %+v, %v", c, err)
	}
	env[EnvRecoveryPointMaxAge], env[EnvReplicationRules], env[EnvStateMachines] = "36", `[{"source":"s"}]`, "nope"
	delete(env, EnvInterval)
	_, err = ConfigFromEnv(func(k string) string { return env[k] })
	for _, want := range []string{EnvRecoveryPointMaxAge + " must be a positive duration", EnvReplicationRules + ": every rule needs", EnvStateMachines + " is not the JSON list", EnvInterval + " must be"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to name %q", err, want)
		}
	}
}
