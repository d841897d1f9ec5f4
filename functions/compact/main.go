// Command compact is the nightly batch's worker Lambda: it compacts one raw
// hour partition into one curated Parquet file (see pkg/compact).
//
// Environment: RAW_BUCKET, CURATED_BUCKET and AWS_REGION, all required.
// Input {"table":"raw","dt":"YYYY-MM-DD","hr":"HH"}; output compact.Result.
// Errors are returned as the fault types the state machine retries
// (TransientError) or records as a failed hour (the others).
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

	"github.com/pendulum-dr/pendulum/pkg/compact"
	"github.com/pendulum-dr/pendulum/pkg/fault"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg, err := compact.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compact:", err)
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintln(os.Stderr, "compact: load AWS configuration:", err)
		os.Exit(1)
	}
	client := s3.NewFromConfig(awsCfg)
	c := &compact.Compactor{Raw: client, Curated: client, RawBucket: cfg.RawBucket, CuratedBucket: cfg.CuratedBucket}
	lambda.StartHandlerFunc(func(ctx context.Context, in compact.Input) (compact.Result, error) {
		res, err := c.Compact(ctx, in)
		if err != nil {
			err = fault.Edge(err)
			slog.ErrorContext(ctx, "compact failed", "table", in.Table, "dt", in.DT, "hr", in.HR, "errorType", fmt.Sprintf("%T", err), "err", err)
			return res, err
		}
		slog.InfoContext(ctx, "compacted", "table", res.Table, "dt", res.DT, "hr", res.HR, "objects", res.Objects,
			"records", res.Records, "duplicates", res.Duplicates, "canaries", res.Canaries, "rows", res.Rows, "key", res.Key, "bytes", res.Bytes)
		return res, nil
	})
}
