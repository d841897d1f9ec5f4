// Package readiness tells, between drills, whether the installation is
// ready to fail over: the scheduled readiness Lambda in B (functions/
// readiness) runs Check, publishes each check's result and the verdict as
// CloudWatch metrics, and notifies the DR topic when the verdict changes.
//
// The checks, each a named Result with what it observed:
//
//   - recoveryPoint: B's vault holds a COMPLETED copy of P's aggregates
//     table younger than the backup plan's longest interval plus a margin
//     (the restore source when P's PITR cannot run);
//   - replication: S3 replication of every data bucket rule is within
//     Replication Time Control's 15 minutes (ReplicationLatency,
//     OperationsPendingReplication of the last 15 minutes, in B);
//   - dormantStack: B's workload stack would activate what P runs (the same
//     functions, state machine, stream, delivery stream and consumer,
//     region aside) and its Active/ConsumerEnabled parameters are what the
//     DR mode says;
//   - stateMachines: each DR state machine is deployed from the definition
//     the recovery stack was synthesized with;
//   - traffic: the accelerator sends producers where the DR mode says (P's
//     load balancer at weight 100 and B's group at 0 while PRIMARY, the
//     other way round while FAILED_OVER);
//   - pitr: the serving region's aggregates table has point-in-time
//     recovery on.
//
// A DR workflow in progress (FAILING_OVER, FAILING_BACK) makes the
// dormantStack and traffic checks fail: the installation is in transition,
// not ready for another failover. See docs/dr.md "Readiness".
package readiness

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// The checks' names, as Result.Name, the metric dimension and the docs
// spell them.
const (
	CheckRecoveryPoint = "recoveryPoint"
	CheckReplication   = "replication"
	CheckDormantStack  = "dormantStack"
	CheckStateMachines = "stateMachines"
	CheckTraffic       = "traffic"
	CheckPITR          = "pitr"
)

// OutputFunctionName is the Recovery stack's output naming the readiness
// function, which `make verify-deploy` invokes.
const OutputFunctionName = "ReadinessFunctionName"

// Checks lists the checks in the order they run and are reported.
var Checks = []string{CheckRecoveryPoint, CheckReplication, CheckDormantStack, CheckStateMachines, CheckTraffic, CheckPITR}

// The readiness metrics, in the installation's namespace: Ready (1 ready,
// 0 not), ReadinessCheck (1/0, dimension Check: one of Checks) and DRMode
// (the control record's mode as ModeValue). The CDK app's alarm and
// dashboard read them by these names.
const (
	MetricNamespace = topology.MetricNamespace
	MetricReady     = topology.MetricReady
	MetricCheck     = topology.MetricReadinessCheck
	DimensionCheck  = topology.ReadinessDimensionCheck
	MetricDRMode    = topology.MetricDRMode
)

// The S3 replication metrics the replication check reads (AWS/S3, in the
// destination's region, dimensions SourceBucket, DestinationBucket,
// RuleId; docs/aws-facts.md "S3 replication"); the CDK app's alarms and
// dashboard read them by these names.
const (
	S3Namespace                    = topology.S3MetricNamespace
	S3ReplicationLatency           = topology.S3ReplicationLatency
	S3OperationsPendingReplication = topology.S3OperationsPendingReplication
	S3BytesPendingReplication      = topology.S3BytesPendingReplication
	S3DimensionSourceBucket        = topology.S3DimensionSourceBucket
	S3DimensionDestinationBucket   = topology.S3DimensionDestinationBucket
	S3DimensionRuleID              = topology.S3DimensionRuleID
)

// ModeValue is the DRMode metric's value of each DR mode.
var ModeValue = map[string]float64{dr.ModePrimary: 0, dr.ModeFailingOver: 1, dr.ModeFailedOver: 2, dr.ModeFailingBack: 3}

// The readiness function's own environment, besides the common DR
// environment (dr.ConfigFromEnv); infra sets every one.
const (
	// EnvBackupVault names B's backup vault (the copies' destination).
	EnvBackupVault = "BACKUP_VAULT"
	// EnvRecoveryPointResource is the ARN of the resource whose copies
	// must be recent: P's aggregates table.
	EnvRecoveryPointResource = "RECOVERY_POINT_RESOURCE_ARN"
	// EnvRecoveryPointMaxAge is the oldest the newest copy may be (a Go
	// duration): the backup plan's longest interval plus
	// RecoveryPointMargin, computed by infra from the plan's schedule.
	EnvRecoveryPointMaxAge = "RECOVERY_POINT_MAX_AGE"
	// EnvReplicationRules is the JSON list of the replication rules to
	// watch ([{"source","destination","rule"}]).
	EnvReplicationRules = "REPLICATION_RULES"
	// EnvStateMachines is the JSON list of the DR state machines and the
	// SHA-256 of the definition each was synthesized from
	// ([{"name","arn","sha256"}]).
	EnvStateMachines = "STATE_MACHINES"
	// EnvInterval is the readiness schedule's interval (a Go duration):
	// the previous verdict is read back from that far.
	EnvInterval = "READINESS_INTERVAL"
)

// RecoveryPointMargin is added to the backup plan's interval: AWS Backup
// may start a scheduled job up to its start window after the scheduled
// time (8 hours, AWS's default, which the plan keeps), and the backup and
// its cross-Region copy take their time after that (4 hours, our
// allowance for a small table).
const RecoveryPointMargin = 12 * time.Hour

// ReplicationWindow is how far back the replication check reads the
// replication metrics; ReplicationBound (RTC's 15 minutes) is the most
// the destination may be behind.
const (
	ReplicationWindow = 15 * time.Minute
	ReplicationBound  = dr.ReplicationBound
)

// Result is one check's outcome.
type Result struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Detail says what was found, in a sentence; for a failed check, what
	// is wrong and, where it helps, what to do.
	Detail string `json:"detail"`
	// Observed is what the check read (values, ages, statuses).
	Observed any `json:"observed,omitempty"`
}

// Report is one readiness run.
type Report struct {
	Ready bool   `json:"ready"`
	Mode  string `json:"mode"`
	At    string `json:"at"`
	// Failing names the checks that failed.
	Failing []string `json:"failing"`
	Checks  []Result `json:"checks"`
	// Notified is set when this run published the verdict to the DR topic
	// (the verdict changed, or no earlier one was found).
	Notified bool `json:"notified"`
}

// ReplicationRule is one S3 replication rule whose metrics are watched.
type ReplicationRule struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Rule        string `json:"rule"`
}

// StateMachine is one DR state machine and the DefinitionDigest of the raw
// definition (statemachines/<Name>.asl.json, placeholders in place) the
// recovery stack was synthesized from.
type StateMachine struct {
	Name   string `json:"name"`
	ARN    string `json:"arn"`
	SHA256 string `json:"sha256"`
}

// DefinitionDigest is a definition's SHA-256, base64url without padding
// (43 characters): infra computes it at synth, the stateMachines check
// from the definition this build embeds.
func DefinitionDigest(def []byte) string {
	sum := sha256.Sum256(def)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// RecoveryPointConfig is what the recovery-point check needs; dr-verify
// reads it too, for the isolated drill's check of the same thing.
type RecoveryPointConfig struct {
	Vault       string
	ResourceARN string
	MaxAge      time.Duration
}

// RecoveryPointConfigFromEnv reads BACKUP_VAULT,
// RECOVERY_POINT_RESOURCE_ARN and RECOVERY_POINT_MAX_AGE, every one
// required.
func RecoveryPointConfigFromEnv(getenv func(string) string) (RecoveryPointConfig, error) {
	c := RecoveryPointConfig{Vault: strings.TrimSpace(getenv(EnvBackupVault)), ResourceARN: strings.TrimSpace(getenv(EnvRecoveryPointResource))}
	var errs []error
	if c.Vault == "" {
		errs = append(errs, fmt.Errorf("%s is required", EnvBackupVault))
	}
	if !strings.HasPrefix(c.ResourceARN, "arn:") {
		errs = append(errs, fmt.Errorf("%s must be the aggregates table's ARN, got %q", EnvRecoveryPointResource, c.ResourceARN))
	}
	d, err := positiveDuration(getenv, EnvRecoveryPointMaxAge)
	if err != nil {
		errs = append(errs, err)
	}
	c.MaxAge = d
	return c, errors.Join(errs...)
}

func positiveDuration(getenv func(string) string, name string) (time.Duration, error) {
	s := strings.TrimSpace(getenv(name))
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as 36h, got %q", name, s)
	}
	return d, nil
}

// Config is the readiness function's configuration.
type Config struct {
	dr.Config
	RecoveryPoint RecoveryPointConfig
	Replication   []ReplicationRule
	StateMachines []StateMachine
	Interval      time.Duration
}

// ConfigFromEnv reads the common DR environment and the readiness
// function's own, naming every variable that is missing or wrong.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	var err error
	if c.Config, err = dr.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	}
	if c.RecoveryPoint, err = RecoveryPointConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	}
	if err := jsonList(getenv, EnvReplicationRules, &c.Replication); err != nil {
		errs = append(errs, err)
	}
	for _, r := range c.Replication {
		if r.Source == "" || r.Destination == "" || r.Rule == "" {
			errs = append(errs, fmt.Errorf("%s: every rule needs source, destination and rule, got %+v", EnvReplicationRules, r))
		}
	}
	if err := jsonList(getenv, EnvStateMachines, &c.StateMachines); err != nil {
		errs = append(errs, err)
	}
	for _, m := range c.StateMachines {
		if m.Name == "" || !strings.HasPrefix(m.ARN, "arn:") || len(m.SHA256) != 43 {
			errs = append(errs, fmt.Errorf("%s: every state machine needs name, arn and sha256 (base64url), got %+v", EnvStateMachines, m))
		}
	}
	if c.Interval, err = positiveDuration(getenv, EnvInterval); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func jsonList[T any](getenv func(string) string, name string, dst *[]T) error {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return fmt.Errorf("%s is required (a JSON list)", name)
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("%s is not the JSON list expected: %v", name, err)
	}
	if len(*dst) == 0 {
		return fmt.Errorf("%s lists nothing", name)
	}
	return nil
}

// The parts of each service the checks use, with the SDK's signatures.
type (
	// MetricsAPI is B's CloudWatch: replication metrics and the previous
	// verdict are read there, the readiness metrics published there.
	MetricsAPI interface {
		GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error)
		PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
	}
	// StacksAPI is a region's CloudFormation.
	StacksAPI interface {
		DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
		GetTemplate(ctx context.Context, in *cloudformation.GetTemplateInput, optFns ...func(*cloudformation.Options)) (*cloudformation.GetTemplateOutput, error)
	}
	// MachinesAPI is B's Step Functions.
	MachinesAPI interface {
		DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
	}
	// AcceleratorAPI is Global Accelerator's control plane (us-west-2).
	AcceleratorAPI interface {
		DescribeEndpointGroup(ctx context.Context, in *globalaccelerator.DescribeEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.DescribeEndpointGroupOutput, error)
	}
	// TablesAPI is a region's DynamoDB, for the PITR status.
	TablesAPI interface {
		DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
	}
	// NotifyAPI is B's SNS.
	NotifyAPI interface {
		Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	}
)

// Readiness runs the checks. Every client is in the region its field
// says; Stacks and Tables take P or B.
type Readiness struct {
	Config  Config
	Backup  dr.RecoveryPointLister // B's AWS Backup
	Metrics MetricsAPI             // B's CloudWatch
	Stacks  func(region string) (StacksAPI, error)
	SFN     MachinesAPI    // B's Step Functions
	GA      AcceleratorAPI // us-west-2
	Tables  func(region string) (TablesAPI, error)
	Control *dr.Control // B's control table
	Notify  NotifyAPI   // B's SNS
	Clock   clock.Clock
	// Definition returns a DR state machine's raw definition as this build
	// embeds it (statemachines.Definition).
	Definition func(name string) ([]byte, error)
}

// Handle runs every check once, publishes the metrics and, when the verdict
// changed, notifies the DR topic. Its input (the schedule's event) is
// ignored. A check that cannot read what it needs fails with the error in
// its detail; only a failure to publish fails the invocation.
func (r *Readiness) Handle(ctx context.Context, _ json.RawMessage) (Report, error) {
	rep := r.Check(ctx)
	prev, known, err := r.previousVerdict(ctx)
	if err != nil {
		return rep, err
	}
	if err := r.publishMetrics(ctx, rep); err != nil {
		return rep, err
	}
	if !known || prev != rep.Ready {
		if err := r.notify(ctx, rep, known); err != nil {
			return rep, err
		}
		rep.Notified = true
	}
	return rep, nil
}

// Check runs the checks and returns the report, publishing nothing.
func (r *Readiness) Check(ctx context.Context) Report {
	now := r.Clock.Now()
	rep := Report{At: now.UTC().Format(time.RFC3339), Failing: []string{}}
	rec, _, err := r.Control.Read(ctx)
	mode := rec.Mode
	if err != nil {
		mode = "UNKNOWN"
	}
	rep.Mode = mode
	st := r.readStacks(ctx)
	rep.Checks = []Result{
		RecoveryPoint(ctx, r.Backup, r.Config.RecoveryPoint, now),
		r.replication(ctx, now),
		r.dormantStack(ctx, rec, err, st),
		r.stateMachines(ctx),
		r.traffic(ctx, rec, err, st),
		r.pitr(ctx, rec, err),
	}
	rep.Ready = true
	for _, c := range rep.Checks {
		if !c.OK {
			rep.Ready = false
			rep.Failing = append(rep.Failing, c.Name)
		}
	}
	return rep
}
