// Command dr-replay brings the backup region's restored aggregates table
// current during failover: it applies the records of the raw objects S3
// replicated from the primary since shortly before the restore point, with
// the same idempotent transaction the aggregate consumer uses, a bounded
// slice per invocation (the state machine loops on the cursor). The logic
// lives in pkg/dr (Replay) and pkg/aggregate.
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-replay", recovery.DRReplay) }
