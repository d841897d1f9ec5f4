// Command health is the scheduled canary Lambda (every minute, in the backup
// region): it probes the configured endpoints, checks the primary's
// pipeline behind one of them, and emits CloudWatch Embedded Metric Format
// lines (see pkg/health).
//
// Environment: TARGETS (required, JSON array of {"name","url"}),
// PROBE_TIMEOUT_MS (default 5000), AWS_REGION (required); for the pipeline
// check PIPELINE_TABLE, PIPELINE_REGION, PIPELINE_TARGET and
// PIPELINE_MAX_LAG_SECONDS (default 180), all unset for none.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/monitor"
)

func main() { wiring.Main("health", monitor.Health) }
