// Command partitions is the Lambda that registers hour partitions in the
// Glue Data Catalog as objects land in the raw and curated buckets. The logic
// lives in pkg/partition.
//
// Environment: GLUE_DATABASE, TABLES (a JSON array of
// {"table","bucket","prefix","layout"}) and AWS_REGION, all required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/workload"
)

func main() { wiring.Main("partitions", workload.Partitions) }
