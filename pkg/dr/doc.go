// Package dr holds the logic of the DR step Lambdas (functions/dr-*) that the
// failover, failback and drill state machines call: the control record that
// lets one DR workflow run at a time, and records a degraded failover
// (Control), stack activation (Stack), the AWS Backup fallback (Restore), the
// replay of replicated raw records into the restored aggregates table
// (Replay), the catalog reconcile (Reconcile), the
// traffic switch through Global Accelerator (Traffic), the probes (Probe),
// the copy-back of objects and the merge of aggregates written in the backup
// region (CopyBack, Merge), the drain check (Drain), the isolated drill's
// checks (Verify) and the report (Report).
//
// Every step is a type with its dependencies as small interfaces of
// aws-sdk-go-v2 method signatures, so the SDK clients and pkg/sim both
// satisfy them, and a Handle method taking and returning the JSON documents
// the state machines pass (see testdata/steps and docs/dr.md). Steps are idempotent: the state
// machines retry them and re-run whole workflows. Errors come back classified
// by pkg/fault; the functions' edge (package wiring) turns them into the
// named types the ASL Retry and Catch match. Time comes from a clock.Clock so the local drill runs the very same
// code on virtual time.
package dr
