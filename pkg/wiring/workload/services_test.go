package workload

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// The SDK's clients and the simulator's satisfy these functions' view of
// each service.
var (
	_ DynamoDBAPI = (*dynamodb.Client)(nil)
	_ DynamoDBAPI = (*sim.DynamoDB)(nil)
	_ GlueAPI     = (*glue.Client)(nil)
	_ GlueAPI     = (*sim.Glue)(nil)
	_ KinesisAPI  = (*kinesis.Client)(nil)
	_ KinesisAPI  = (*sim.Kinesis)(nil)
)
