// Command dr-verify runs the isolated drill's checks: the restored drill
// table against the primary's table, replication completeness from the
// primary's buckets to the backup's, and the backup catalog's completeness.
// The logic lives in pkg/dr (Verify).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-verify: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.BackupRegion))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-verify: aws configuration: %v\n", err)
		os.Exit(2)
	}
	inP := func(region string) func(*dynamodb.Options) { return func(o *dynamodb.Options) { o.Region = region } }
	v := &dr.Verify{
		DrillDB:   dynamodb.NewFromConfig(awsCfg),
		PrimaryDB: dynamodb.NewFromConfig(awsCfg, inP(cfg.PrimaryRegion)),
		PrimaryS3: s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.Region = cfg.PrimaryRegion }),
		BackupS3:  s3.NewFromConfig(awsCfg),
		Catalog:   glue.NewFromConfig(awsCfg),
		Config:    cfg,
		Clock:     clock.Real{},
	}
	lambda.StartHandlerFunc(dr.Edge("dr-verify", log, v.Handle))
}
