// Package monitor builds health, the scheduled canary in the backup region
// that watches the primary: its front doors over HTTP and, when
// configured, its pipeline through the aggregates table's canary heartbeat
// (DynamoDB). See package wiring.
package monitor

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pendulum-dr/pendulum/pkg/health"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
)

// Health builds health, which probes the endpoints of TARGETS and writes
// Embedded Metric Format lines to Stdout (PROBE_TIMEOUT_MS, AWS_REGION;
// pkg/health). With PIPELINE_TABLE it also reads that table's canary
// heartbeat in PIPELINE_REGION, behind the target PIPELINE_TARGET
// (PIPELINE_MAX_LAG_SECONDS). It makes no SDK client without it.
func Health(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := health.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	p := &health.Prober{Client: rt.HTTP, Targets: cfg.Targets, Timeout: cfg.Timeout, Region: cfg.Region, Metrics: rt.Stdout, Clock: rt.Clock, Log: rt.Log}
	if pc := cfg.Pipeline; pc != nil {
		p.Pipeline = &health.Pipeline{PipelineConfig: *pc, DB: wiring.Client[DynamoDBAPI](rt, DynamoDB, pc.Region)}
	}
	return wiring.Step("health", rt.Log, p.Handle), nil
}

// DynamoDB is the service health reads the heartbeat from.
var DynamoDB = wiring.Service{Name: "dynamodb", FromConfig: func(cfg aws.Config, region string) any {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.Region = region })
}}

// DynamoDBAPI is the part of DynamoDB health uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}
