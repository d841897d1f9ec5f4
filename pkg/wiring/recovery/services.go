package recovery

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/pendulum-dr/pendulum/pkg/wiring"
)

// The services the DR functions use. DynamoDB, Glue and S3 are described
// in package workload and batch too: sharing them would make the DR
// bootstraps import those packages' other services, or the workload's
// import pkg/dr's.
var (
	Backup = wiring.Service{Name: "backup", FromConfig: func(cfg aws.Config, region string) any {
		return backup.NewFromConfig(cfg, func(o *backup.Options) { o.Region = region })
	}}
	CloudFormation = wiring.Service{Name: "cloudformation", FromConfig: func(cfg aws.Config, region string) any {
		return cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.Region = region })
	}}
	CloudWatch = wiring.Service{Name: "cloudwatch", FromConfig: func(cfg aws.Config, region string) any {
		return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.Region = region })
	}}
	DynamoDB = wiring.Service{Name: "dynamodb", FromConfig: func(cfg aws.Config, region string) any {
		return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.Region = region })
	}}
	GlobalAccelerator = wiring.Service{Name: "globalaccelerator", FromConfig: func(cfg aws.Config, region string) any {
		return globalaccelerator.NewFromConfig(cfg, func(o *globalaccelerator.Options) { o.Region = region })
	}}
	Glue = wiring.Service{Name: "glue", FromConfig: func(cfg aws.Config, region string) any {
		return glue.NewFromConfig(cfg, func(o *glue.Options) { o.Region = region })
	}}
	S3 = wiring.Service{Name: "s3", FromConfig: func(cfg aws.Config, region string) any {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.Region = region })
	}}
	SFN = wiring.Service{Name: "sfn", FromConfig: func(cfg aws.Config, region string) any {
		return sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.Region = region })
	}}
	SNS = wiring.Service{Name: "sns", FromConfig: func(cfg aws.Config, region string) any {
		return sns.NewFromConfig(cfg, func(o *sns.Options) { o.Region = region })
	}}
)

// BackupAPI is the part of AWS Backup the DR functions use (dr-restore,
// dr-verify, readiness).
type BackupAPI interface {
	ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, optFns ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error)
}

// CloudFormationAPI is the part of CloudFormation the DR functions use
// (dr-stack, dr-traffic, readiness).
type CloudFormationAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	GetTemplate(ctx context.Context, in *cloudformation.GetTemplateInput, optFns ...func(*cloudformation.Options)) (*cloudformation.GetTemplateOutput, error)
	UpdateStack(ctx context.Context, in *cloudformation.UpdateStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.UpdateStackOutput, error)
}

// CloudWatchAPI is the part of CloudWatch the DR functions use (dr-drain,
// dr-probe, dr-report, readiness).
type CloudWatchAPI interface {
	GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error)
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// DynamoDBAPI is the part of DynamoDB the DR functions use (dr-control,
// dr-merge, dr-replay, dr-report, dr-verify, readiness).
type DynamoDBAPI interface {
	DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// GlobalAcceleratorAPI is the part of Global Accelerator the DR functions
// use (dr-traffic, readiness).
type GlobalAcceleratorAPI interface {
	AddEndpoints(ctx context.Context, in *globalaccelerator.AddEndpointsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.AddEndpointsOutput, error)
	DescribeEndpointGroup(ctx context.Context, in *globalaccelerator.DescribeEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.DescribeEndpointGroupOutput, error)
	UpdateEndpointGroup(ctx context.Context, in *globalaccelerator.UpdateEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.UpdateEndpointGroupOutput, error)
}

// GlueAPI is the part of Glue the DR functions use (dr-reconcile,
// dr-verify).
type GlueAPI interface {
	BatchCreatePartition(ctx context.Context, in *glue.BatchCreatePartitionInput, optFns ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error)
	BatchGetPartition(ctx context.Context, in *glue.BatchGetPartitionInput, optFns ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error)
	GetTable(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
}

// S3API is the part of S3 the DR functions use (dr-copyback, dr-reconcile,
// dr-replay, dr-verify).
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// SFNAPI is the part of Step Functions the DR functions use (dr-control,
// dr-report, readiness).
type SFNAPI interface {
	DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// SNSAPI is the part of SNS the readiness function uses (its verdict).
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}
