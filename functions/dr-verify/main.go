// Command dr-verify runs the isolated drill's checks: the restored drill
// table against the primary's table, replication completeness from the
// primary's buckets to the backup's, and the backup catalog's completeness.
// The logic lives in pkg/dr (Verify).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-verify", recovery.DRVerify) }
