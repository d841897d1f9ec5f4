// Command dr-copyback copies to the primary's buckets every object the
// backup region's buckets gained since the failover that the primary lacks,
// a bounded slice per invocation (the state machine loops on the cursor).
// The logic lives in pkg/dr (CopyBack).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-copyback: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.BackupRegion))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-copyback: aws configuration: %v\n", err)
		os.Exit(2)
	}
	c := &dr.CopyBack{
		B: s3.NewFromConfig(awsCfg),
		// P's buckets through a client for P's region.
		P:     s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.Region = cfg.PrimaryRegion }),
		Clock: clock.Real{},
		Buckets: []dr.BucketPair{
			{From: cfg.BackupRawBucket, To: cfg.PrimaryRawBucket},
			{From: cfg.BackupCuratedBucket, To: cfg.PrimaryCuratedBucket},
		},
		Budget: dr.DefaultBudget,
	}
	lambda.StartHandlerFunc(dr.Edge("dr-copyback", log, c.Handle))
}
