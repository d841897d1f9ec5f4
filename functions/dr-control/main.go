// Command dr-control is the DR lock Lambda: it validates a failover,
// failback or drill input and keeps the control record in the control table
// (in the backup region, where the function runs). The logic lives in
// pkg/dr (Control).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-control", recovery.DRControl) }
