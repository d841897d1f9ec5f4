package dr

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
)

// fakeVault pages its recovery points two at a time, as a vault with many
// points does.
type fakeVault struct {
	points []backuptypes.RecoveryPointByBackupVault
}

func (f *fakeVault) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, _ ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	start := 0
	if in.NextToken != nil {
		json.Unmarshal([]byte(*in.NextToken), &start)
	}
	end := min(start+2, len(f.points))
	out := &backup.ListRecoveryPointsByBackupVaultOutput{RecoveryPoints: f.points[start:end]}
	if end < len(f.points) {
		b, _ := json.Marshal(end)
		out.NextToken = aws.String(string(b))
	}
	return out, nil
}

func TestRestoreLatestRecoveryPoint(t *testing.T) {
	table := "arn:aws:dynamodb:us-east-1:111111111111:table/pendulum-aggregates"
	rp := func(id string, at time.Time, st backuptypes.RecoveryPointStatus, res string) backuptypes.RecoveryPointByBackupVault {
		return backuptypes.RecoveryPointByBackupVault{RecoveryPointArn: aws.String("arn:aws:backup:us-east-2:111111111111:recovery-point:" + id),
			CreationDate: aws.Time(at), Status: st, ResourceArn: aws.String(res)}
	}
	tests := []struct {
		name     string
		points   []backuptypes.RecoveryPointByBackupVault
		want     string
		wantKind string
	}{
		{name: "NewestCompletedAcrossPages", points: []backuptypes.RecoveryPointByBackupVault{
			rp("old", t0.Add(-48*time.Hour), backuptypes.RecoveryPointStatusCompleted, table),
			rp("partial", t0.Add(-time.Hour), backuptypes.RecoveryPointStatusPartial, table),
			rp("other-table", t0.Add(-2*time.Hour), backuptypes.RecoveryPointStatusCompleted, table+"-x"),
			rp("newest", t0.Add(-24*time.Hour), backuptypes.RecoveryPointStatusCompleted, table),
			rp("expired", t0.Add(-3*time.Hour), backuptypes.RecoveryPointStatusExpired, table),
		}, want: "newest", wantKind: "nil"},
		{name: "None", points: nil, wantKind: "not found"},
		{name: "OnlyIncomplete", points: []backuptypes.RecoveryPointByBackupVault{rp("p", t0, backuptypes.RecoveryPointStatusPartial, table)}, wantKind: "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Restore{Backup: &fakeVault{points: tc.points}}
			out, err := r.Handle(context.Background(), RestoreInput{Op: "latestRecoveryPoint", Vault: "pendulum-vault", ResourceARN: table,
				PITRError: json.RawMessage(`{"Error":"DynamoDb.SdkClientException","Cause":"unreachable"}`)})
			if got := kindOf(err); got != tc.wantKind {
				t.Fatalf("err = %v (%s), want %s", err, got, tc.wantKind)
			}
			if err != nil {
				return
			}
			if got, want := out.RecoveryPointARN, "arn:aws:backup:us-east-2:111111111111:recovery-point:"+tc.want; got != want {
				t.Fatalf("recovery point = %s, want %s", got, want)
			}
			if got, want := out.CreationDate, t0.Add(-24*time.Hour).Format(time.RFC3339); got != want {
				t.Fatalf("creationDate = %s, want %s", got, want)
			}
		})
	}
	if _, err := (&Restore{Backup: &fakeVault{}}).Handle(context.Background(), RestoreInput{Op: "x"}); kindOf(err) != "invalid" {
		t.Fatalf("bad op: %v", err)
	}
}

// TestRestoreOnSimulatedVault runs against pkg/sim's AWS Backup: a vault
// with no copy yet is NotFound; a missing vault is NotFound too.
func TestRestoreOnSimulatedVault(t *testing.T) {
	ctx := context.Background()
	w, _ := newWorld(t)
	b := w.Region(regionB).Backup()
	if _, err := b.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("pendulum-vault")}); err != nil {
		t.Fatal(err)
	}
	r := &Restore{Backup: b}
	in := RestoreInput{Op: "latestRecoveryPoint", Vault: "pendulum-vault", ResourceARN: "arn:aws:dynamodb:us-east-1:111111111111:table/pendulum-aggregates"}
	if _, err := r.Handle(ctx, in); kindOf(err) != "not found" {
		t.Fatalf("empty vault: %v", err)
	}
	in.Vault = "missing"
	if _, err := r.Handle(ctx, in); kindOf(err) != "not found" {
		t.Fatalf("missing vault: %v", err)
	}
}
