package monitor

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pendulum-dr/pendulum/pkg/health"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// The SDK's client and the simulator's satisfy health's view of DynamoDB,
// and that view is the pipeline check's.
var (
	_ DynamoDBAPI            = (*dynamodb.Client)(nil)
	_ DynamoDBAPI            = (*sim.DynamoDB)(nil)
	_ health.HeartbeatReader = DynamoDBAPI(nil)
)
