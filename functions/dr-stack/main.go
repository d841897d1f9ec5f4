// Command dr-stack flips a workload stack's parameters (Active, the
// consumer switch) with a parameter-only UpdateStack in the primary or the
// backup region, and reports its progress. The logic lives in pkg/dr (Stack).
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-stack", recovery.DRStack) }
