// Command partitions is the Lambda that registers hour partitions in the
// Glue Data Catalog as objects land in the raw and curated buckets. The logic
// lives in pkg/partition.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/glue"

	"github.com/pendulum-dr/pendulum/pkg/partition"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := partition.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "partitions: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "partitions: aws configuration: %v\n", err)
		os.Exit(2)
	}
	reg := partition.NewRegistrar(glue.NewFromConfig(awsCfg), cfg.Database, partition.DefaultCacheSize)
	h := partition.NewHandler(cfg.Tables, reg, log)
	lambda.StartHandlerFunc(h.Handle)
}
