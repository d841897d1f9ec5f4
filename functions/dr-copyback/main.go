// Command dr-copyback copies to the primary's buckets every object the
// backup region's buckets gained since the failover that the primary lacks,
// a bounded slice per invocation (the state machine loops on the cursor).
// The logic lives in pkg/dr (CopyBack).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-copyback", recovery.DRCopyBack) }
