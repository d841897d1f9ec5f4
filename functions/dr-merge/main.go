// Command dr-merge applies the aggregate record markers the backup region's
// table gained since the failover to the primary's table, with the same
// idempotent transaction the aggregate consumer uses, a bounded slice per
// invocation (the state machine loops on the cursor). The logic lives in
// pkg/dr (Merge) and pkg/aggregate.
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

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-merge: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.BackupRegion))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-merge: aws configuration: %v\n", err)
		os.Exit(2)
	}
	// P's table through a client for P's region.
	primary := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.Region = cfg.PrimaryRegion })
	m := &dr.Merge{
		B:            dynamodb.NewFromConfig(awsCfg),
		P:            aggregate.New(primary, aggregate.Options{Table: cfg.AggregatesTable, Region: cfg.PrimaryRegion, Clock: clock.Real{}}),
		Table:        cfg.AggregatesTable,
		BackupRegion: cfg.BackupRegion,
		Clock:        clock.Real{},
		Budget:       dr.Budget{MaxItems: 5000, MaxDuration: dr.DefaultBudget.MaxDuration, Margin: dr.DefaultBudget.Margin},
	}
	lambda.StartHandlerFunc(dr.Edge("dr-merge", log, m.Handle))
}
