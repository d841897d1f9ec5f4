package dr

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
)

// RecoveryPointLister is the part of AWS Backup the restore step uses.
type RecoveryPointLister = drapi.RecoveryPointLister

// LatestRecoveryPoint is the newest COMPLETED recovery point of a resource
// in a vault (drapi.LatestRecoveryPoint): dr-restore restores it; the
// readiness check and the isolated drill judge its age.
var LatestRecoveryPoint = drapi.LatestRecoveryPoint

// RestoreInput is dr-restore's input.
type RestoreInput struct {
	Op          string          `json:"op"`
	Vault       string          `json:"vault"`
	ResourceARN string          `json:"resourceArn"`
	PITRError   json.RawMessage `json:"pitrError,omitempty"`
}

// RestoreOutput names the recovery point to restore.
type RestoreOutput struct {
	RecoveryPointARN string `json:"recoveryPointArn"`
	CreationDate     string `json:"creationDate"`
}

// Restore is the dr-restore step: the fallback when a point-in-time
// restore from the primary fails (P unreachable, PITR unavailable). It picks
// the newest COMPLETED recovery point of P's table among the cross-region
// copies in B's vault.
type Restore struct {
	Backup RecoveryPointLister
}

// Handle answers op "latestRecoveryPoint".
func (r *Restore) Handle(ctx context.Context, in RestoreInput) (RestoreOutput, error) {
	if in.Op != "latestRecoveryPoint" {
		return RestoreOutput{}, invalidf("op %q: want latestRecoveryPoint", in.Op)
	}
	var problems []string
	if in.Vault == "" {
		problems = append(problems, "vault is required")
	}
	if in.ResourceARN == "" {
		problems = append(problems, "resourceArn is required")
	}
	if err := invalidAll("restore input", problems); err != nil {
		return RestoreOutput{}, err
	}
	best, err := drapi.LatestRecoveryPoint(ctx, r.Backup, in.Vault, in.ResourceARN)
	if err != nil {
		return RestoreOutput{}, err
	}
	if best == nil {
		return RestoreOutput{}, notFoundf("no COMPLETED recovery point of %s in vault %s: the table can be restored neither from PITR (%s) nor from a backup copy", in.ResourceARN, in.Vault, errorText(in.PITRError))
	}
	return RestoreOutput{
		RecoveryPointARN: aws.ToString(best.RecoveryPointArn),
		CreationDate:     aws.ToTime(best.CreationDate).UTC().Format(time.RFC3339),
	}, nil
}
