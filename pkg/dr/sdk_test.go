package dr

import (
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// The SDK clients the functions wire and the simulator the drill wires
// both satisfy every interface the steps declare.
var (
	_ ControlDB           = (*dynamodb.Client)(nil)
	_ ControlDB           = (*sim.DynamoDB)(nil)
	_ ExecutionDescriber  = (*sfn.Client)(nil)
	_ ExecutionDescriber  = states.SFN{}
	_ StackAPI            = (*cloudformation.Client)(nil)
	_ StackAPI            = (*sim.CloudFormation)(nil)
	_ RecoveryPointLister = (*backup.Client)(nil)
	_ RecoveryPointLister = (*sim.Backup)(nil)
	_ AcceleratorAPI      = (*globalaccelerator.Client)(nil)
	_ AcceleratorAPI      = (*sim.GlobalAccelerator)(nil)
	_ StackDescriber      = (*cloudformation.Client)(nil)
	_ MetricStatistics    = (*cloudwatch.Client)(nil)
	_ MetricStatistics    = (*sim.CloudWatch)(nil)
	_ MetricPutter        = (*cloudwatch.Client)(nil)
	_ MetricPutter        = (*sim.CloudWatch)(nil)
	_ ObjectSource        = (*s3.Client)(nil)
	_ ObjectSource        = (*sim.S3)(nil)
	_ ObjectTarget        = (*s3.Client)(nil)
	_ ObjectTarget        = (*sim.S3)(nil)
	_ ObjectLister        = (*s3.Client)(nil)
	_ CatalogAPI          = (*glue.Client)(nil)
	_ CatalogAPI          = (*sim.Glue)(nil)
	_ Scanner             = (*dynamodb.Client)(nil)
	_ MarkerReader        = (*dynamodb.Client)(nil)
	_ MarkerReader        = (*sim.DynamoDB)(nil)
	_ HistoryReader       = (*sfn.Client)(nil)
	_ HistoryReader       = states.SFN{}
)
