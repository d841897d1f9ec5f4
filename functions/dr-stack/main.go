// Command dr-stack flips a workload stack's parameters (Active, the
// consumer switch) with a parameter-only UpdateStack in the primary or the
// backup region, and reports its progress. The logic lives in pkg/dr (Stack).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-stack: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-stack: aws configuration: %v\n", err)
		os.Exit(2)
	}
	// One client per region, each with its region set explicitly: failback
	// activates P's stack from B.
	clients := map[string]dr.StackAPI{}
	for _, r := range []string{cfg.PrimaryRegion, cfg.BackupRegion} {
		clients[r] = cloudformation.NewFromConfig(awsCfg, func(o *cloudformation.Options) { o.Region = r })
	}
	s := &dr.Stack{Clients: func(region string) (dr.StackAPI, error) {
		if c, ok := clients[region]; ok {
			return c, nil
		}
		return nil, cfg.UnknownRegion(region)
	}}
	lambda.StartHandlerFunc(dr.Edge("dr-stack", log, s.Handle))
}
