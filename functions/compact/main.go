// Command compact is the nightly batch's worker Lambda: it compacts one raw
// hour partition into one curated Parquet file (see pkg/compact).
//
// Environment: RAW_BUCKET, CURATED_BUCKET and AWS_REGION, all required.
// Input {"table":"raw","dt":"YYYY-MM-DD","hr":"HH"}; output compact.Result.
// Errors are returned as the fault types the state machine retries
// (TransientError) or records as a failed hour (the others).
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/batch"
)

func main() { wiring.Main("compact", batch.Compact) }
