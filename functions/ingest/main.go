// Command ingest is the Lambda behind the ingest ALB: it validates producer
// records and writes them to the Kinesis stream. The logic lives in
// pkg/ingest.
//
// Environment: STREAM_NAME and AWS_REGION, both required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/workload"
)

func main() { wiring.Main("ingest", workload.Ingest) }
