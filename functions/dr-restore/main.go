// Command dr-restore finds the newest completed AWS Backup recovery point of
// the primary's aggregates table in the backup region's vault: the restore
// fallback when a point-in-time restore from the primary fails. The logic
// lives in pkg/dr (Restore).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-restore: configuration: %v\n", err)
		os.Exit(2)
	}
	// The vault holding the cross-region copies is in B, where this runs.
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.BackupRegion))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-restore: aws configuration: %v\n", err)
		os.Exit(2)
	}
	r := &dr.Restore{Backup: backup.NewFromConfig(awsCfg)}
	lambda.StartHandlerFunc(dr.Edge("dr-restore", log, r.Handle))
}
