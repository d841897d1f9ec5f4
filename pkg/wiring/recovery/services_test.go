package recovery

import (
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// The SDK's clients and the simulator's satisfy the DR functions' view of
// each service.
var (
	_ BackupAPI            = (*backup.Client)(nil)
	_ BackupAPI            = (*sim.Backup)(nil)
	_ CloudFormationAPI    = (*cloudformation.Client)(nil)
	_ CloudFormationAPI    = (*sim.CloudFormation)(nil)
	_ CloudWatchAPI        = (*cloudwatch.Client)(nil)
	_ CloudWatchAPI        = (*sim.CloudWatch)(nil)
	_ DynamoDBAPI          = (*dynamodb.Client)(nil)
	_ DynamoDBAPI          = (*sim.DynamoDB)(nil)
	_ GlobalAcceleratorAPI = (*globalaccelerator.Client)(nil)
	_ GlobalAcceleratorAPI = (*sim.GlobalAccelerator)(nil)
	_ GlueAPI              = (*glue.Client)(nil)
	_ GlueAPI              = (*sim.Glue)(nil)
	_ S3API                = (*s3.Client)(nil)
	_ S3API                = (*sim.S3)(nil)
	_ SFNAPI               = (*sfn.Client)(nil)
	_ SFNAPI               = states.SFN{}
	_ SNSAPI               = (*sns.Client)(nil)
	_ SNSAPI               = (*sim.SNS)(nil)
)
