// Command dr-probe checks that the accelerator routes to the expected
// region (GET /health and a canary POST /records answered with that region
// in X-Pendulum-Region), and that a region's health canary reported healthy
// for a whole window. The logic lives in pkg/dr (Probe).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-probe", recovery.DRProbe) }
