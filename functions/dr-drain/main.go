// Command dr-drain tells whether a region is drained: no record accepted by
// its ingest for Firehose's buffer interval, and its aggregate consumer
// caught up (CloudWatch metrics of that region). The logic lives in pkg/dr
// (Drain).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-drain", recovery.DRDrain) }
