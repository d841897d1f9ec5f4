// Command dr-traffic moves traffic between the regions with Global
// Accelerator endpoint weights: fence a region (weight 0) or promote one
// (its load balancer at weight 100, the other region at 0). The accelerator's
// control plane exists only in us-west-2 (GLOBAL_REGION), so its client is
// created for that region explicitly. The logic lives in pkg/dr (Traffic).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-traffic", recovery.DRTraffic) }
