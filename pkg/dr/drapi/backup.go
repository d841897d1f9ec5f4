package drapi

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
)

// RecoveryPointLister is the part of AWS Backup that lists a vault's
// recovery points.
type RecoveryPointLister interface {
	ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, optFns ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error)
}

// LatestRecoveryPoint returns the newest COMPLETED recovery point of
// resourceARN in vault — for the aggregates table, P's table among the
// cross-region copies in B's vault: what a failover restores from when P's
// point-in-time restore cannot run. nil, nil when there is none.
func LatestRecoveryPoint(ctx context.Context, lister RecoveryPointLister, vault, resourceARN string) (*backuptypes.RecoveryPointByBackupVault, error) {
	var best *backuptypes.RecoveryPointByBackupVault
	var token *string
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list recovery points: %w", err)
		}
		out, err := lister.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{
			BackupVaultName: aws.String(vault), ByResourceArn: aws.String(resourceARN), NextToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list recovery points of %s in vault %s: %w", resourceARN, vault, err)
		}
		for i := range out.RecoveryPoints {
			p := &out.RecoveryPoints[i]
			if p.Status != backuptypes.RecoveryPointStatusCompleted || aws.ToString(p.ResourceArn) != resourceARN {
				continue
			}
			if best == nil || aws.ToTime(p.CreationDate).After(aws.ToTime(best.CreationDate)) {
				best = p
			}
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			return best, nil
		}
	}
}
