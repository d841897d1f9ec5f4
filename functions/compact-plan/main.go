// Command compact-plan is the nightly batch's planning Lambda: it lists the
// hour partitions of one day in the raw bucket (see plan.Planner).
//
// Environment: RAW_BUCKET and AWS_REGION, both required.
// Input {"date":"YYYY-MM-DD"} or {"now":"<RFC 3339>"} (the state machine
// passes $$.Execution.StartTime; the day before it is planned); output
// {"date":…,"partitions":[{"table":"raw","dt":…,"hr":…},…]}.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/batch"
)

func main() { wiring.Main("compact-plan", batch.CompactPlan) }
