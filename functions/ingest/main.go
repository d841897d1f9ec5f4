// Command ingest is the Lambda behind the ingest ALB: it validates producer
// records and writes them to the Kinesis stream. The logic lives in
// pkg/ingest.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/pendulum-dr/pendulum/pkg/ingest"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg, err := ingest.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingest: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingest: aws configuration: %v\n", err)
		os.Exit(2)
	}
	// Metrics go to stdout as Embedded Metric Format lines, one per request.
	h := ingest.New(cfg, kinesis.NewFromConfig(awsCfg), os.Stdout)
	lambda.StartHandlerFunc(h.Handle)
}
