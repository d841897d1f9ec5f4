// Command dr-merge applies the aggregate record markers the backup region's
// table gained since the failover to the primary's table, with the same
// idempotent transaction the aggregate consumer uses, a bounded slice per
// invocation (the state machine loops on the cursor). The logic lives in
// pkg/dr (Merge) and pkg/aggregate.
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-merge", recovery.DRMerge) }
