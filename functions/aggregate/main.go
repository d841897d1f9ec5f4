// Command aggregate is the Lambda that keeps per-minute window aggregates of
// the record stream in DynamoDB, counting each record exactly once. The logic
// lives in pkg/aggregate.
//
// Environment: TABLE_NAME and AWS_REGION, both required;
// MARKER_TTL_DAYS (default 7).
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/workload"
)

func main() { wiring.Main("aggregate", workload.Aggregate) }
