// Command readiness is the scheduled readiness check in the backup region
// (hourly by default): it checks that the installation is ready to fail
// over — a recent backup copy in B's vault, S3 replication within RTC, B's
// dormant workload stack in sync with P's, the DR state machines deployed
// from their current definitions, the accelerator's endpoint groups and
// the serving table's PITR as the DR mode says — publishes each check and
// the verdict as CloudWatch metrics and notifies the DR topic when the
// verdict changes. The logic lives in pkg/readiness.
//
// Environment: the common DR environment (see dr.ConfigFromEnv) and
// BACKUP_VAULT, RECOVERY_POINT_RESOURCE_ARN, RECOVERY_POINT_MAX_AGE,
// REPLICATION_RULES, STATE_MACHINES, READINESS_INTERVAL (see
// readiness.ConfigFromEnv), every variable required.
package main

import (
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

func main() { wiring.Main("readiness", recovery.Readiness) }
