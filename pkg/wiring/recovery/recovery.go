// Package recovery builds the DR functions, dr-*, which the DR state
// machines invoke in B, and readiness, the scheduled check that they are
// ready to. Each reads the common DR environment
// (dr.ConfigFromEnv) and makes the clients of the regions its step works
// on; the logic is pkg/dr's. See package wiring.
package recovery

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/readiness"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/statemachines"
)

// DRControl builds dr-control, the DR lock in B's control table (Control).
func DRControl(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	c := control(rt, cfg)
	c.SFN = wiring.Client[SFNAPI](rt, SFN, cfg.BackupRegion)
	return wiring.Step("dr-control", rt.Log, c.Handle), nil
}

// control is the control record in B's control table; dr-report reads it
// too.
func control(rt wiring.Runtime, cfg dr.Config) *dr.Control {
	return &dr.Control{DB: wiring.Client[DynamoDBAPI](rt, DynamoDB, cfg.BackupRegion),
		Table: cfg.ControlTable, AggregatesTable: cfg.AggregatesTable, Clock: rt.Clock}
}

// EnvBackupStackRoleARN names the variable holding the CloudFormation
// execution role dr-stack passes when it updates B's workload stack; infra
// sets it on dr-stack only.
const EnvBackupStackRoleARN = "BACKUP_STACK_ROLE_ARN"

// DRStack builds dr-stack, which flips a workload stack's parameters in P
// or B (Stack).
func DRStack(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	s := &dr.Stack{Clients: inRegions(cfg, func(r string) dr.StackAPI { return wiring.Client[CloudFormationAPI](rt, CloudFormation, r) })}
	// B's workload stack is updated as its own execution role (infra
	// creates it; dr-stack may pass no other). Unset, as in tests that
	// predate it, the update passes no role.
	if arn := rt.Getenv(EnvBackupStackRoleARN); arn != "" {
		s.RoleARNs = map[string]string{cfg.BackupRegion: arn}
	}
	return wiring.Step("dr-stack", rt.Log, s.Handle), nil
}

// DRRestore builds dr-restore, which finds the newest recovery point of
// P's table in B's vault (Restore).
func DRRestore(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	r := &dr.Restore{Backup: wiring.Client[BackupAPI](rt, Backup, cfg.BackupRegion)}
	return wiring.Step("dr-restore", rt.Log, r.Handle), nil
}

// DRTraffic builds dr-traffic, which moves traffic with Global Accelerator
// endpoint weights (Traffic). The accelerator's control plane exists only
// in GLOBAL_REGION, whatever region the function runs in.
func DRTraffic(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	t := &dr.Traffic{
		GA:     wiring.Client[GlobalAcceleratorAPI](rt, GlobalAccelerator, cfg.GlobalRegion),
		Config: cfg,
		Stacks: inRegions(cfg, func(r string) dr.StackDescriber { return wiring.Client[CloudFormationAPI](rt, CloudFormation, r) }),
	}
	return wiring.Step("dr-traffic", rt.Log, t.Handle), nil
}

// probeTimeout bounds each dr-probe request: the state machine retries a
// probe while Global Accelerator moves traffic, so a slow answer is a
// retry, not a hang.
const probeTimeout = 10 * time.Second

// DRProbe builds dr-probe, which checks where the accelerator routes and
// what B's health canary reported (Probe).
func DRProbe(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	client := http.Client{}
	if rt.HTTP != nil {
		client = *rt.HTTP
	}
	client.Timeout = probeTimeout
	// The canary runs in B and publishes its metrics there.
	p := &dr.Probe{HTTP: &client, Metrics: wiring.Client[CloudWatchAPI](rt, CloudWatch, cfg.BackupRegion),
		VantageRegion: cfg.BackupRegion, Clock: rt.Clock}
	return wiring.Step("dr-probe", rt.Log, p.Handle), nil
}

// DRReconcile builds dr-reconcile, which registers in a region's catalog
// the partitions its buckets hold (Reconcile). The catalog has no
// cross-region replication: each region's is reconciled with that region's
// clients.
func DRReconcile(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	type pair struct {
		s3   S3API
		glue GlueAPI
	}
	clients := inRegions(cfg, func(r string) pair {
		return pair{wiring.Client[S3API](rt, S3, r), wiring.Client[GlueAPI](rt, Glue, r)}
	})
	rc := &dr.Reconcile{Config: cfg, Database: cfg.GlueDatabase, Clients: func(region string) (dr.ObjectLister, dr.CatalogAPI, error) {
		c, err := clients(region)
		if err != nil {
			return nil, nil, err
		}
		return c.s3, c.glue, nil
	}}
	return wiring.Step("dr-reconcile", rt.Log, rc.Handle), nil
}

// DRCopyBack builds dr-copyback, which copies to P's buckets what B's
// gained since the failover: the plan, batches and sums of the failback's
// Distributed Map passes (CopyBack).
func DRCopyBack(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	fs, err := dr.FailbackSettingsFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	b := wiring.Client[S3API](rt, S3, cfg.BackupRegion)
	c := &dr.CopyBack{
		B:        b,
		P:        wiring.Client[S3API](rt, S3, cfg.PrimaryRegion),
		Results:  b,
		Settings: fs,
		Clock:    rt.Clock,
		Buckets: []dr.BucketPair{
			{From: cfg.BackupRawBucket, To: cfg.PrimaryRawBucket},
			{From: cfg.BackupCuratedBucket, To: cfg.PrimaryCuratedBucket},
		},
	}
	return wiring.Step("dr-copyback", rt.Log, c.Handle), nil
}

// DRMerge builds dr-merge, which counts in P's aggregates the records of
// the raw objects B's Firehose wrote since the failover, with the
// aggregate consumer's idempotent transaction: the plan, batches and sums
// of the failback's Distributed Map passes (Merge, pkg/aggregate).
func DRMerge(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	fs, err := dr.FailbackSettingsFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	primary := wiring.Client[DynamoDBAPI](rt, DynamoDB, cfg.PrimaryRegion)
	b := wiring.Client[S3API](rt, S3, cfg.BackupRegion)
	m := &dr.Merge{
		S3:           b,
		P:            aggregate.New(primary, aggregate.Options{Table: cfg.AggregatesTable, Region: cfg.PrimaryRegion, Clock: rt.Clock}),
		Results:      b,
		Settings:     fs,
		Bucket:       cfg.BackupRawBucket,
		Table:        cfg.AggregatesTable,
		BackupRegion: cfg.BackupRegion,
		Clock:        rt.Clock,
	}
	return wiring.Step("dr-merge", rt.Log, m.Handle), nil
}

// DRReplay builds dr-replay, which applies to B's restored aggregates
// table the records of the raw objects replicated from P since shortly
// before the restore point, with the aggregate consumer's idempotent
// transaction, a bounded slice per invocation (Replay, pkg/aggregate).
func DRReplay(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	db := wiring.Client[DynamoDBAPI](rt, DynamoDB, cfg.BackupRegion)
	r := &dr.Replay{
		S3:     wiring.Client[S3API](rt, S3, cfg.BackupRegion),
		DB:     db,
		Agg:    aggregate.New(db, aggregate.Options{Table: cfg.AggregatesTable, Region: cfg.BackupRegion, Clock: rt.Clock}),
		Bucket: cfg.BackupRawBucket,
		Table:  cfg.AggregatesTable,
		Margin: dr.DefaultReplayMargin,
		Clock:  rt.Clock,
		Budget: dr.DefaultBudget,
	}
	return wiring.Step("dr-replay", rt.Log, r.Handle), nil
}

// drainQuiet is how long a region's ingest must have accepted nothing for
// it to be drained: the raw delivery stream's buffer interval
// (infra/workload.go).
const drainQuiet = 60 * time.Second

// drainMaxConsumerLag is the consumer's iterator age taken as caught up.
// Lambda polls each shard about once a second, so a caught-up mapping
// hands a record over up to a second after it arrived, plus the time the
// round's other invocations take: the interval itself would leave no room
// for those, and a consumer behind by any real backlog (the outage's
// replay is minutes) is far above twice it.
const drainMaxConsumerLag = 2 * time.Second

// DRDrain builds dr-drain, which tells whether a region is drained from
// that region's CloudWatch metrics (Drain).
func DRDrain(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	d := &dr.Drain{
		Metrics:          inRegions(cfg, func(r string) dr.MetricStatistics { return wiring.Client[CloudWatchAPI](rt, CloudWatch, r) }),
		ConsumerFunction: cfg.AggregateFunction(),
		IngestQuiet:      drainQuiet,
		MaxConsumerLag:   drainMaxConsumerLag,
		Clock:            rt.Clock,
		Config:           cfg,
	}
	return wiring.Step("dr-drain", rt.Log, d.Handle), nil
}

// DRVerify builds dr-verify, the isolated drill's checks of the restored
// table, of replication and of B's catalog (Verify).
func DRVerify(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	rp, err := readiness.RecoveryPointConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	b := wiring.Client[BackupAPI](rt, Backup, cfg.BackupRegion)
	v := &dr.Verify{
		DrillDB:   wiring.Client[DynamoDBAPI](rt, DynamoDB, cfg.BackupRegion),
		PrimaryDB: wiring.Client[DynamoDBAPI](rt, DynamoDB, cfg.PrimaryRegion),
		PrimaryS3: wiring.Client[S3API](rt, S3, cfg.PrimaryRegion),
		BackupS3:  wiring.Client[S3API](rt, S3, cfg.BackupRegion),
		Catalog:   wiring.Client[GlueAPI](rt, Glue, cfg.BackupRegion),
		Config:    cfg,
		Clock:     rt.Clock,
		// The isolated drill judges the newest backup copy as readiness
		// does.
		RecoveryPoint: func(ctx context.Context) dr.Check {
			r := readiness.RecoveryPoint(ctx, b, rp, rt.Clock.Now())
			return dr.Check{Name: r.Name, Passed: r.OK, Detail: r.Detail}
		},
	}
	return wiring.Step("dr-verify", rt.Log, v.Handle), nil
}

// Readiness builds readiness, the scheduled check in B that the
// installation is ready to fail over (pkg/readiness): the common DR
// environment plus readiness's own (readiness.ConfigFromEnv), clients of B,
// of P and B's CloudFormation and DynamoDB, and of Global Accelerator's
// GLOBAL_REGION.
func Readiness(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := readiness.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	B := cfg.BackupRegion
	r := &readiness.Readiness{
		Config:     cfg,
		Backup:     wiring.Client[BackupAPI](rt, Backup, B),
		Metrics:    wiring.Client[CloudWatchAPI](rt, CloudWatch, B),
		Stacks:     inRegions(cfg.Config, func(r string) readiness.StacksAPI { return wiring.Client[CloudFormationAPI](rt, CloudFormation, r) }),
		SFN:        wiring.Client[SFNAPI](rt, SFN, B),
		GA:         wiring.Client[GlobalAcceleratorAPI](rt, GlobalAccelerator, cfg.GlobalRegion),
		Tables:     inRegions(cfg.Config, func(r string) readiness.TablesAPI { return wiring.Client[DynamoDBAPI](rt, DynamoDB, r) }),
		Control:    control(rt, cfg.Config),
		Notify:     wiring.Client[SNSAPI](rt, SNS, B),
		Clock:      rt.Clock,
		Definition: statemachines.Definition,
	}
	return wiring.Step("readiness", rt.Log, r.Handle), nil
}

// DRReport builds dr-report, the report of a workflow from its execution
// history and the control record, published as CloudWatch metrics in B
// (Report).
func DRReport(rt wiring.Runtime) (lambda.Handler, error) {
	cfg, err := dr.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	r := &dr.Report{
		History: wiring.Client[SFNAPI](rt, SFN, cfg.BackupRegion),
		Control: control(rt, cfg),
		Metrics: wiring.Client[CloudWatchAPI](rt, CloudWatch, cfg.BackupRegion),
		Clock:   rt.Clock,
	}
	return wiring.Step("dr-report", rt.Log, r.Handle), nil
}

// inRegions makes a client for P and one for B with mk, and returns the
// lookup a DR step takes: any other region is an input error, as the
// functions' IAM policies allow only those two.
func inRegions[C any](cfg dr.Config, mk func(region string) C) func(region string) (C, error) {
	clients := map[string]C{cfg.PrimaryRegion: mk(cfg.PrimaryRegion), cfg.BackupRegion: mk(cfg.BackupRegion)}
	return func(region string) (C, error) {
		c, ok := clients[region]
		if !ok {
			var none C
			return none, cfg.UnknownRegion(region)
		}
		return c, nil
	}
}
