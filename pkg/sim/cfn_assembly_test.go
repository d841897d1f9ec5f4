package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// testMachines is a StateMachineHost that keeps what it is given.
type testMachines struct {
	mu   sync.Mutex
	defs map[string]StateMachineDefinition
}

func (m *testMachines) CreateStateMachine(_ context.Context, region string, d StateMachineDefinition) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !json.Valid([]byte(d.Definition)) {
		return "", fmt.Errorf("definition of %s is not JSON", d.Name)
	}
	arn := fmt.Sprintf("arn:aws:states:%s:111111111111:stateMachine:%s", region, d.Name)
	m.defs[arn] = d
	return arn, nil
}

func (m *testMachines) UpdateStateMachine(_ context.Context, arn string, d StateMachineDefinition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.defs[arn] = d
	return nil
}

func (m *testMachines) DeleteStateMachine(_ context.Context, arn string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.defs, arn)
	return nil
}

// TestDeployAssembly deploys the synthesized installation (the snapshot of
// `make synth`) stack by stack in the manifest's order, then activates the
// dormant workload stack with one UpdateStack, as failover does.
func TestDeployAssembly(t *testing.T) {
	a, err := assembly.Read("../assembly/testdata/cdk.out")
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]bool{}
	for _, s := range a.Stacks {
		regions[s.Region] = true
	}
	var names []string
	for r := range regions {
		names = append(names, r)
	}
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, a.Stacks[0].Account, names...)
	t.Cleanup(w.Close)
	machines := &testMachines{defs: map[string]StateMachineDefinition{}}
	w.SetStateMachineHost(machines)
	ctx := context.Background()
	// `cdk bootstrap` leaves its version in each region's Parameter Store.
	for _, r := range names {
		if _, err := w.Region(r).SSM().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/cdk-bootstrap/hnb659fds/version"),
			Value: aws.String("30"), Type: ssmtypes.ParameterTypeString}); err != nil {
			t.Fatal(err)
		}
	}
	deploy := func(s assembly.Stack) cftypes.Stack {
		c := w.Region(s.Region).CloudFormation()
		start := clk.Now()
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(s.Name), TemplateBody: aws.String(string(s.Template))}); err != nil {
			t.Fatalf("create %s: %v", s.Name, err)
		}
		st := cfnTestWait(t, clk, c, s.Name)
		if st.StackStatus != cftypes.StackStatusCreateComplete {
			t.Fatalf("stack %s: %s: %s", s.Name, st.StackStatus, aws.ToString(st.StackStatusReason))
		}
		t.Logf("%s in %s: CREATE_COMPLETE in %v", s.Name, s.Region, clk.Now().Sub(start))
		return st
	}
	for _, s := range a.Stacks {
		deploy(s)
	}
	// What the templates say, the simulator now holds: a few spot checks
	// of properties the recovery depends on.
	var dormant assembly.Stack
	for _, s := range a.Stacks {
		if strings.Contains(string(s.Template), `"Active"`) {
			dormant = s
		}
	}
	if dormant.Name == "" {
		t.Fatal("no dormant workload stack in the assembly")
	}
	B := w.Region(dormant.Region)
	if _, err := B.Kinesis().DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("pendulum-records")}); err == nil {
		t.Error("the dormant stack has a Kinesis stream before activation")
	}
	if got := len(B.ELB().LoadBalancers()); got != 0 {
		t.Errorf("the dormant stack has %d load balancers", got)
	}
	if got, want := len(machines.defs), 5; got != want { // failover, failback, drill, and the nightly batch in each region
		t.Errorf("%d state machines deployed, want %d", got, want)
	}
	for arn, d := range machines.defs {
		if strings.Contains(d.Definition, "${") {
			t.Errorf("%s still has a placeholder after DefinitionSubstitutions", arn)
		}
	}
	// Activation, as dr-stack does it: one UpdateStack with Active=true.
	c := B.CloudFormation()
	start := clk.Now()
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String(dormant.Name), UsePreviousTemplate: aws.Bool(true),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("true")},
			{ParameterKey: aws.String("ConsumerEnabled"), UsePreviousValue: aws.Bool(true)},
			{ParameterKey: aws.String("BootstrapVersion"), UsePreviousValue: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	st := cfnTestWait(t, clk, c, dormant.Name)
	took := clk.Now().Sub(start)
	if st.StackStatus != cftypes.StackStatusUpdateComplete {
		t.Fatalf("activation: %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	t.Logf("activation of %s: %v", dormant.Name, took)
	sum, err := B.Kinesis().DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("pendulum-records")})
	if err != nil {
		t.Fatalf("no stream after activation: %v", err)
	}
	if got, want := aws.ToInt32(sum.StreamDescriptionSummary.RetentionPeriodHours), int32(168); got != want {
		t.Errorf("stream retention = %d h, want the template's %d h", got, want)
	}
	if got := len(B.ELB().LoadBalancers()); got != 1 {
		t.Errorf("%d load balancers after activation, want 1", got)
	}
	if took < cfnALB {
		t.Errorf("activation took %v, less than an ALB's %v", took, cfnALB)
	}
	if got := cfnTestOutputs(st)["LoadBalancerArn"]; got == "" || !B.ELB().HasLoadBalancer(got) {
		t.Errorf("LoadBalancerArn output %q is not the ALB", got)
	}
	// The primary's raw bucket replicates to B's with RTC, as deployed.
	var P string
	for r := range regions {
		if r != dormant.Region && r != "us-west-2" {
			P = r
		}
	}
	rep, err := w.Region(P).S3().GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("pendulum-raw-111111111111-" + P)})
	if err != nil {
		t.Fatal(err)
	}
	if rule := rep.ReplicationConfiguration.Rules[0]; rule.Destination.ReplicationTime == nil || rule.Destination.ReplicationTime.Status != "Enabled" {
		t.Errorf("replication rule without RTC: %+v", rule.Destination)
	}
	_ = time.Second
}

// deployData deploys the assembly's data stacks (the backup region's
// first, as the manifest orders them) into a new world with IAM enforced,
// with the template of each transformed by edit.
func deployData(t *testing.T, edit func(name string, body []byte) []byte) (*World, *clock.Virtual, *assembly.Assembly) {
	return deployStacks(t, func(name string) bool { return strings.Contains(name, "-data-") }, edit)
}

// deployStacks deploys the assembly's stacks that want accepts, in order,
// into a new world with IAM enforced and state machines kept by a
// testMachines host.
func deployStacks(t *testing.T, want func(name string) bool, edit func(name string, body []byte) []byte) (*World, *clock.Virtual, *assembly.Assembly) {
	t.Helper()
	a, err := assembly.Read("../assembly/testdata/cdk.out")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	w := NewWorld(clk, a.Stacks[0].Account, "us-east-1", "us-east-2", "us-west-2")
	t.Cleanup(w.Close)
	w.EnforceIAM(true)
	w.SetStateMachineHost(&testMachines{defs: map[string]StateMachineDefinition{}})
	ctx := context.Background()
	for _, r := range w.Regions() {
		if _, err := w.Region(r).SSM().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/cdk-bootstrap/hnb659fds/version"),
			Value: aws.String("30"), Type: ssmtypes.ParameterTypeString}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range a.Stacks {
		if !want(s.Name) {
			continue
		}
		c := w.Region(s.Region).CloudFormation()
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(s.Name), TemplateBody: aws.String(string(edit(s.Name, s.Template)))}); err != nil {
			t.Fatalf("create %s: %v", s.Name, err)
		}
		if st := cfnTestWait(t, clk, c, s.Name); st.StackStatus != cftypes.StackStatusCreateComplete {
			t.Fatalf("stack %s: %s: %s", s.Name, st.StackStatus, aws.ToString(st.StackStatusReason))
		}
	}
	return w, clk, a
}

// recoveryPoints lists the completed recovery points in a region's vault.
func recoveryPoints(t *testing.T, w *World, region string) []time.Time {
	t.Helper()
	out, err := w.Region(region).Backup().ListRecoveryPointsByBackupVault(context.Background(), &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("pendulum-vault")})
	if err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	for _, p := range out.RecoveryPoints {
		if p.Status == backuptypes.RecoveryPointStatusCompleted {
			at = append(at, aws.ToTime(p.CreationDate))
		}
	}
	return at
}

// The deployed backup plan decides when recovery points exist in the
// backup region: the template's cron, the copy action, the role's
// permissions — and a changed template changes them.
func TestDeployedBackupPlanDecidesRecoveryPoints(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cron  string // replaces the synthesized schedule; "" keeps it
		after time.Duration
		want  int // completed copies in the backup region's vault
	}{
		{"DailyAsSynthesized", "", 6 * time.Hour, 0},         // 09:00 → 15:00: the 03:00 run is tomorrow
		{"DailyAsSynthesizedNextDay", "", 19 * time.Hour, 1}, // past 03:00 the next day, plus the copy
		{"Hourly", "cron(0 * * * ? *)", 6 * time.Hour, 5},    // a copy takes its time: the last run's copy is not done yet
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, clk, _ := deployData(t, func(name string, body []byte) []byte {
				if tc.cron == "" {
					return body
				}
				return []byte(strings.ReplaceAll(string(body), "cron(0 3 * * ? *)", tc.cron))
			})
			if err := clk.Sleep(context.Background(), tc.after); err != nil {
				t.Fatal(err)
			}
			if denied := w.Denied(); len(denied) > 0 {
				t.Fatalf("denied with the synthesized policies: %+v", denied[0])
			}
			if got := len(recoveryPoints(t, w, "us-east-2")); got != tc.want {
				t.Errorf("copies in the backup region after %v = %d, want %d", tc.after, got, tc.want)
			}
		})
	}
}

// A permission the synthesized backup role lacks shows as a failed job
// and a denied call naming it.
func TestDeployedBackupRoleWithoutPermissionIsDenied(t *testing.T) {
	w, clk, _ := deployData(t, func(name string, body []byte) []byte {
		return []byte(strings.ReplaceAll(string(body), "service-role/AWSBackupServiceRolePolicyForBackup", "service-role/AWSLambdaBasicExecutionRole"))
	})
	if err := clk.Sleep(context.Background(), 19*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := len(recoveryPoints(t, w, "us-east-2")); got != 0 {
		t.Errorf("%d copies reached the backup region without the backup role's permissions", got)
	}
	var named bool
	for _, d := range w.Denied() {
		if strings.HasPrefix(d.Action, "dynamodb:") && strings.Contains(d.Resource, "table/pendulum-aggregates") {
			named = true
		}
	}
	if !named {
		t.Errorf("no denied DynamoDB action on the aggregates table recorded: %+v", w.Denied())
	}
}

// The deployed alarm decides when failover starts: its evaluation periods
// as synthesized, or as a changed template sets them.
func TestDeployedAlarmDecidesWhenFailoverStarts(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(string) string
		want time.Duration // from the first unhealthy minute to StartExecution
	}{
		{"AsSynthesized", func(s string) string { return s }, 3 * time.Minute},
		{"FiveOfFive", func(s string) string {
			s = strings.Replace(s, `"DatapointsToAlarm": 3`, `"DatapointsToAlarm": 5`, 1)
			return strings.Replace(s, `"EvaluationPeriods": 3`, `"EvaluationPeriods": 5`, 1)
		}, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, clk, _ := deployStacks(t, func(string) bool { return true }, func(name string, body []byte) []byte {
				if strings.Contains(name, "recovery") {
					return []byte(tc.edit(string(body)))
				}
				return body
			})
			var mu sync.Mutex
			var started []time.Time
			var machine string
			w.SetStateMachineStarter(func(_ context.Context, role, arn, input string) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				started, machine = append(started, clk.Now()), arn
				return arn + ":x", nil
			})
			ctx := context.Background()
			cw := w.Region("us-east-2").CloudWatch()
			// The canary's datapoints: healthy for 5 minutes, then unhealthy.
			begin := clk.Now().Truncate(time.Minute).Add(time.Minute)
			var firstBad time.Time
			for i := range 20 {
				at := begin.Add(time.Duration(i) * time.Minute)
				_ = clk.Sleep(ctx, at.Sub(clk.Now()))
				v := 1.0
				if i >= 5 {
					v = 0
					if firstBad.IsZero() {
						firstBad = at
					}
				}
				if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pendulum"), MetricData: []cwtypes.MetricDatum{{
					MetricName: aws.String("EndpointHealthy"), Value: aws.Float64(v), Timestamp: aws.Time(at),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("Endpoint"), Value: aws.String("primary-regional")}, {Name: aws.String("Region"), Value: aws.String("us-east-2")}}}}}); err != nil {
					t.Fatal(err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(started) != 1 {
				t.Fatalf("failover started %d times, want once", len(started))
			}
			if !strings.HasSuffix(machine, ":stateMachine:pendulum-failover") {
				t.Errorf("the alarm started %s", machine)
			}
			// The alarm needs its periods of breaching data; the evaluation
			// of the last one runs at the end of its minute.
			if got := started[0].Sub(firstBad); got < tc.want || got > tc.want+time.Minute {
				t.Errorf("failover started %v after the first unhealthy minute, want %v to %v", got, tc.want, tc.want+time.Minute)
			}
		})
	}
}
