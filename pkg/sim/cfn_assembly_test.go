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

// deployData deploys the assembly's data stacks (the backup region's
// first, as the manifest orders them) into a new world with IAM enforced,
// with the template of each transformed by edit.
func deployData(t *testing.T, edit func(name string, body []byte) []byte) (*World, *clock.Virtual, *assembly.Assembly) {
	t.Helper()
	a, err := assembly.Read("../assembly/testdata/cdk.out")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	w := NewWorld(clk, a.Stacks[0].Account, "us-east-1", "us-east-2", "us-west-2")
	t.Cleanup(w.Close)
	w.EnforceIAM(true)
	ctx := context.Background()
	for _, r := range w.Regions() {
		if _, err := w.Region(r).SSM().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/cdk-bootstrap/hnb659fds/version"),
			Value: aws.String("30"), Type: ssmtypes.ParameterTypeString}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range a.Stacks {
		if !strings.Contains(s.Name, "-data-") {
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
