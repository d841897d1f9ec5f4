// Command dr-report builds the report of a failover, failback or drill:
// each top-level step's duration from the execution history, the facts the
// control record holds (or the drill's checks), published as CloudWatch
// metrics. The logic lives in pkg/dr (Report).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
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
		fmt.Fprintf(os.Stderr, "dr-report: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.BackupRegion))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-report: aws configuration: %v\n", err)
		os.Exit(2)
	}
	r := &dr.Report{
		History: sfn.NewFromConfig(awsCfg),
		Control: &dr.Control{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.ControlTable, AggregatesTable: cfg.AggregatesTable, Clock: clock.Real{}},
		Metrics: cloudwatch.NewFromConfig(awsCfg),
		Clock:   clock.Real{},
	}
	lambda.StartHandlerFunc(dr.Edge("dr-report", log, r.Handle))
}
