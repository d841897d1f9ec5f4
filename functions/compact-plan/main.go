// Command compact-plan is the nightly batch's planning Lambda: it lists the
// hour partitions of one day in the raw bucket (see plan.Planner).
//
// Environment: RAW_BUCKET and AWS_REGION, both required.
// Input {"date":"YYYY-MM-DD"} or {"now":"<RFC 3339>"} (the state machine
// passes $$.Execution.StartTime; the day before it is planned); output
// {"date":…,"partitions":[{"table":"raw","dt":…,"hr":…},…]}.
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

	"github.com/pendulum-dr/pendulum/pkg/compact/plan"
	"github.com/pendulum-dr/pendulum/pkg/fault"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg, err := plan.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compact-plan:", err)
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintln(os.Stderr, "compact-plan: load AWS configuration:", err)
		os.Exit(1)
	}
	p := &plan.Planner{Raw: s3.NewFromConfig(awsCfg), RawBucket: cfg.RawBucket}
	lambda.StartHandlerFunc(func(ctx context.Context, in plan.Input) (plan.Plan, error) {
		pl, err := p.Plan(ctx, in)
		if err != nil {
			err = fault.Edge(err)
			slog.ErrorContext(ctx, "plan failed", "date", in.Date, "now", in.Now, "errorType", fmt.Sprintf("%T", err), "err", err)
			return pl, err
		}
		slog.InfoContext(ctx, "planned", "date", pl.Date, "partitions", len(pl.Partitions))
		return pl, nil
	})
}
