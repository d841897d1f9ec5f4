// Command dr-control is the DR lock Lambda: it validates a failover,
// failback or drill input and keeps the control record in the control table
// (in the backup region, where the function runs). The logic lives in
// pkg/dr (Control).
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
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-control: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-control: aws configuration: %v\n", err)
		os.Exit(2)
	}
	c := &dr.Control{
		DB:              dynamodb.NewFromConfig(awsCfg),
		SFN:             sfn.NewFromConfig(awsCfg),
		Table:           cfg.ControlTable,
		AggregatesTable: cfg.AggregatesTable,
		Clock:           clock.Real{},
	}
	lambda.StartHandlerFunc(dr.Edge("dr-control", log, c.Handle))
}
