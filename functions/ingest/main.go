// Command ingest is the Lambda behind the ingest ALB: it validates producer
// records and writes them to the Kinesis stream. The logic lives in
// pkg/ingest.
//
// Environment: STREAM_NAME, IDEMPOTENCY_TABLE and AWS_REGION, required;
// MARKER_TTL_DAYS, optional (how long an accepted id holds its content).
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/workload"
)

func main() { wiring.Main("ingest", workload.Ingest) }
