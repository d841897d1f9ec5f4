// Command aggregate is the Lambda that keeps per-minute window aggregates of
// the record stream in DynamoDB, counting each record exactly once. The logic
// lives in pkg/aggregate.
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
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := aggregate.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "aggregate: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "aggregate: aws configuration: %v\n", err)
		os.Exit(2)
	}
	agg := aggregate.New(dynamodb.NewFromConfig(awsCfg), aggregate.Options{Table: cfg.Table, Region: cfg.Region, MarkerTTL: cfg.MarkerTTL})
	lambda.StartHandlerFunc(aggregate.NewHandler(agg, log).Handle)
}
