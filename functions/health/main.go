// Command health is the scheduled canary Lambda (every minute, in the backup
// region): it probes the configured endpoints and emits CloudWatch Embedded
// Metric Format lines (see pkg/health).
//
// Environment: TARGETS (required, JSON array of {"name","url"}),
// PROBE_TIMEOUT_MS (default 5000), AWS_REGION (required).
package main

import "github.com/pendulum-dr/pendulum/pkg/wiring"

func main() { wiring.Main("health", wiring.Health) }
