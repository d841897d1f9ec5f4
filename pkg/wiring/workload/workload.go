// Package workload builds the workload's functions that event sources
// feed, in each region: ingest (behind the ALB), partitions (S3 events
// through SQS) and aggregate (the Kinesis stream). See package wiring.
package workload

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/ingest"
	"github.com/pendulum-dr/pendulum/pkg/partition"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
)

// Ingest builds ingest, the ALB target that records each accepted id in the
// region's idempotency table and writes producer records to the region's
// Kinesis stream (STREAM_NAME, IDEMPOTENCY_TABLE, AWS_REGION, optional
// MARKER_TTL_DAYS; pkg/ingest). It answers every request with an HTTP
// response, failures included.
func Ingest(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := ingest.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	h := &ingest.Handler{Config: cfg, Kinesis: wiring.Client[KinesisAPI](rt, Kinesis, cfg.Region),
		Idempotency: wiring.Client[DynamoDBAPI](rt, DynamoDB, cfg.Region), Clock: rt.Clock, Metrics: rt.Stdout}
	return wiring.Source("ingest", rt.Log, h.Handle), nil
}

// Partitions builds partitions, which registers hour partitions in the
// region's Glue catalog as objects land (GLUE_DATABASE, TABLES, AWS_REGION;
// pkg/partition). Fed by SQS, it reports failed messages as batch item
// failures.
func Partitions(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := partition.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	reg := partition.NewRegistrar(wiring.Client[GlueAPI](rt, Glue, cfg.Region), cfg.Database, partition.DefaultCacheSize)
	return wiring.Source("partitions", rt.Log, partition.NewHandler(cfg.Tables, reg, rt.Log).Handle), nil
}

// Aggregate builds aggregate, the Kinesis consumer that keeps per-minute
// window aggregates in the region's table (TABLE_NAME, MARKER_TTL_DAYS,
// AWS_REGION; pkg/aggregate). It reports the record to retry from as a
// batch item failure, records the newest health canary it got past in
// the table's heartbeat item, and records each record it does not count
// because its id was counted with other content (a conflict item, an error
// log line, the RecordConflicts metric on stdout).
func Aggregate(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := aggregate.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	db := wiring.Client[DynamoDBAPI](rt, DynamoDB, cfg.Region)
	agg := aggregate.New(db, aggregate.Options{Table: cfg.Table, Region: cfg.Region, MarkerTTL: cfg.MarkerTTL, Clock: rt.Clock})
	return wiring.Source("aggregate", rt.Log, aggregate.NewHandler(agg, rt.Log).WithHeartbeat(db).WithMetrics(rt.Stdout).Handle), nil
}

// The services these functions use.
var (
	DynamoDB = wiring.Service{Name: "dynamodb", FromConfig: func(cfg aws.Config, region string) any {
		return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.Region = region })
	}}
	Glue = wiring.Service{Name: "glue", FromConfig: func(cfg aws.Config, region string) any {
		return glue.NewFromConfig(cfg, func(o *glue.Options) { o.Region = region })
	}}
	Kinesis = wiring.Service{Name: "kinesis", FromConfig: func(cfg aws.Config, region string) any {
		return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.Region = region })
	}}
)

// DynamoDBAPI is the part of DynamoDB these functions use (aggregate;
// ingest's idempotency writes).
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// GlueAPI is the part of Glue these functions use (partitions).
type GlueAPI interface {
	BatchCreatePartition(ctx context.Context, in *glue.BatchCreatePartitionInput, optFns ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error)
	GetTable(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
}

// KinesisAPI is the part of Kinesis these functions use (ingest).
type KinesisAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}
