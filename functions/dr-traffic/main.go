// Command dr-traffic moves traffic between the regions with Global
// Accelerator endpoint weights: fence a region (weight 0) or promote one
// (its load balancer at weight 100, the other region at 0). The accelerator's
// control plane exists only in us-west-2 (GLOBAL_REGION), so its client is
// created for that region explicitly. The logic lives in pkg/dr (Traffic).
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
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"

	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-traffic: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-traffic: aws configuration: %v\n", err)
		os.Exit(2)
	}
	stacks := map[string]dr.StackDescriber{}
	for _, r := range []string{cfg.PrimaryRegion, cfg.BackupRegion} {
		stacks[r] = cloudformation.NewFromConfig(awsCfg, func(o *cloudformation.Options) { o.Region = r })
	}
	t := &dr.Traffic{
		GA:     globalaccelerator.NewFromConfig(awsCfg, func(o *globalaccelerator.Options) { o.Region = cfg.GlobalRegion }),
		Config: cfg,
		Stacks: func(region string) (dr.StackDescriber, error) {
			if c, ok := stacks[region]; ok {
				return c, nil
			}
			return nil, cfg.UnknownRegion(region)
		},
	}
	lambda.StartHandlerFunc(dr.Edge("dr-traffic", log, t.Handle))
}
