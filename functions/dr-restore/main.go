// Command dr-restore finds the newest completed AWS Backup recovery point of
// the primary's aggregates table in the backup region's vault: the restore
// fallback when a point-in-time restore from the primary fails. The logic
// lives in pkg/dr (Restore).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-restore", recovery.DRRestore) }
