// Command dr-report builds the report of a failover, failback or drill:
// each top-level step's duration from the execution history, the facts the
// control record holds (or the drill's checks), published as CloudWatch
// metrics. The logic lives in pkg/dr (Report).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-report", recovery.DRReport) }
