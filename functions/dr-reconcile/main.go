// Command dr-reconcile registers in a region's Glue catalog every hour
// partition present in that region's raw and curated buckets but missing
// from the catalog. The logic lives in pkg/dr (Reconcile) and pkg/partition.
//
// Environment: the common DR environment (see dr.ConfigFromEnv), every
// variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("dr-reconcile", recovery.DRReconcile) }
