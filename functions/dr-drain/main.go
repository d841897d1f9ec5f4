// Command dr-drain tells whether a region is drained: no record accepted by
// its ingest for Firehose's buffer interval, and its aggregate consumer
// caught up (CloudWatch metrics of that region). The logic lives in pkg/dr
// (Drain).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-drain: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-drain: aws configuration: %v\n", err)
		os.Exit(2)
	}
	clients := map[string]dr.MetricStatistics{}
	for _, r := range []string{cfg.PrimaryRegion, cfg.BackupRegion} {
		clients[r] = cloudwatch.NewFromConfig(awsCfg, func(o *cloudwatch.Options) { o.Region = r })
	}
	d := &dr.Drain{
		Metrics: func(region string) (dr.MetricStatistics, error) {
			if c, ok := clients[region]; ok {
				return c, nil
			}
			return nil, cfg.UnknownRegion(region)
		},
		ConsumerFunction: cfg.AggregateFunction(),
		IngestQuiet:      60 * time.Second, // the raw delivery stream's buffer interval (infra)
		MaxConsumerLag:   time.Second,
		Clock:            clock.Real{},
		Config:           cfg,
	}
	lambda.StartHandlerFunc(dr.Edge("dr-drain", log, d.Handle))
}
