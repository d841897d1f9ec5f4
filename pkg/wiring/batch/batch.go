// Package batch builds the nightly batch's functions, which its state
// machine invokes on the raw and curated buckets: compact-plan and compact.
// See package wiring.
package batch

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/compact"
	"github.com/pendulum-dr/pendulum/pkg/compact/plan"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
)

// CompactPlan builds compact-plan, the batch's planner: it lists one day's
// hour partitions in the raw bucket (RAW_BUCKET, AWS_REGION;
// pkg/compact/plan).
func CompactPlan(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := plan.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	p := &plan.Planner{Raw: wiring.Client[S3API](rt, S3, cfg.Region), RawBucket: cfg.RawBucket, Clock: rt.Clock}
	return wiring.Step("compact-plan", rt.Log, p.Plan), nil
}

// Compact builds compact, the batch's worker: it compacts one raw hour
// partition into one curated Parquet file (RAW_BUCKET, CURATED_BUCKET,
// AWS_REGION; pkg/compact).
func Compact(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := compact.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	s3c := wiring.Client[S3API](rt, S3, cfg.Region)
	c := &compact.Compactor{Raw: s3c, Curated: s3c, RawBucket: cfg.RawBucket, CuratedBucket: cfg.CuratedBucket}
	return wiring.Step("compact", rt.Log, c.Compact), nil
}

// S3 is the service these functions use.
var S3 = wiring.Service{Name: "s3", FromConfig: func(cfg aws.Config, region string) any {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.Region = region })
}}

// S3API is the part of S3 these functions use.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}
