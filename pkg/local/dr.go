package local

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// DRConfig is the common DR environment the dr-* functions get, as
// infra's drfunctions.go sets it.
func (l *Local) DRConfig() dr.Config {
	n, P, B := l.Names, l.Regions.Primary, l.Regions.Backup
	return dr.Config{
		PrimaryRegion: P, BackupRegion: B, GlobalRegion: topology.GlobalRegion,
		NamePrefix: n.Prefix, ControlTable: n.ControlTable(), AggregatesTable: n.AggregatesTable(),
		GlueDatabase:     n.GlueDatabase(),
		PrimaryRawBucket: n.Bucket("raw", P), PrimaryCuratedBucket: n.Bucket("curated", P),
		BackupRawBucket: n.Bucket("raw", B), BackupCuratedBucket: n.Bucket("curated", B),
		AcceleratorARN: l.AcceleratorARN, PrimaryEndpointGroupARN: l.PrimaryGroupARN, BackupEndpointGroupARN: l.BackupGroupARN,
		LoadBalancerName: n.LoadBalancer(), TopicARN: n.TopicARN(B),
		Region: B,
	}
}

// knownRegion checks a region a DR step asks a client for: P or B only,
// as the functions' IAM policies allow.
func (l *Local) knownRegion(region string) error {
	if region != l.Regions.Primary && region != l.Regions.Backup {
		return fmt.Errorf("no client for region %q (want %s or %s)", region, l.Regions.Primary, l.Regions.Backup)
	}
	return nil
}

// wireDR registers the dr-* functions: pkg/dr's steps with simulated
// clients — B's by default, P's for the other region, us-west-2 for Global
// Accelerator — and B's Step Functions (the engine) for DescribeExecution
// and GetExecutionHistory.
func (l *Local) wireDR(reg *states.Registry) error {
	B := l.Regions.Backup
	rb := l.World.Region(B)
	sfnClient := states.SFN{Engine: l.Engine}
	l.wired = map[string]bool{}
	fn := func(name string) string {
		l.wired[name] = true
		return l.Names.Function(name)
	}

	control := &dr.Control{DB: rb.DynamoDB(), SFN: sfnClient, Table: l.Names.ControlTable(), AggregatesTable: l.Names.AggregatesTable(), Clock: l.Clock}
	reg.HandleLambda(fn("dr-control"), Lambda(control.Handle))

	stack := &dr.Stack{Clients: func(region string) (dr.StackAPI, error) {
		if err := l.knownRegion(region); err != nil {
			return nil, err
		}
		return l.World.Region(region).CloudFormation(), nil
	}}
	reg.HandleLambda(fn("dr-stack"), Lambda(stack.Handle))

	restore := &dr.Restore{Backup: rb.Backup()}
	reg.HandleLambda(fn("dr-restore"), Lambda(restore.Handle))

	traffic := &dr.Traffic{GA: l.ga(), Config: l.DRConfig(), Stacks: func(region string) (dr.StackDescriber, error) {
		if err := l.knownRegion(region); err != nil {
			return nil, err
		}
		return l.World.Region(region).CloudFormation(), nil
	}}
	reg.HandleLambda(fn("dr-traffic"), Lambda(traffic.Handle))

	probe := &dr.Probe{HTTP: l.HTTPClient(), Metrics: rb.CloudWatch(), VantageRegion: B, Clock: l.Clock}
	reg.HandleLambda(fn("dr-probe"), Lambda(probe.Handle))

	cfg := l.DRConfig()
	reconcile := &dr.Reconcile{Config: cfg, Database: l.Names.GlueDatabase(), Clients: func(region string) (dr.ObjectLister, dr.CatalogAPI, error) {
		if err := l.knownRegion(region); err != nil {
			return nil, nil, err
		}
		r := l.World.Region(region)
		return r.S3(), r.Glue(), nil
	}}
	reg.HandleLambda(fn("dr-reconcile"), Lambda(reconcile.Handle))

	P := l.Regions.Primary
	rp := l.World.Region(P)
	copyback := &dr.CopyBack{B: rb.S3(), P: rp.S3(), Clock: l.Clock, Budget: dr.DefaultBudget, Buckets: []dr.BucketPair{
		{From: cfg.BackupRawBucket, To: cfg.PrimaryRawBucket}, {From: cfg.BackupCuratedBucket, To: cfg.PrimaryCuratedBucket}}}
	reg.HandleLambda(fn("dr-copyback"), Lambda(copyback.Handle))

	merge := &dr.Merge{B: rb.DynamoDB(), Table: l.Names.AggregatesTable(), BackupRegion: B, Clock: l.Clock, Budget: dr.DefaultBudget,
		P: aggregate.New(rp.DynamoDB(), aggregate.Options{Table: l.Names.AggregatesTable(), Region: P, Clock: l.Clock})}
	reg.HandleLambda(fn("dr-merge"), Lambda(merge.Handle))

	drain := &dr.Drain{ConsumerFunction: l.Names.Function("aggregate"), IngestQuiet: time.Minute, MaxConsumerLag: time.Second,
		Clock: l.Clock, Config: cfg, Metrics: func(region string) (dr.MetricStatistics, error) {
			if err := l.knownRegion(region); err != nil {
				return nil, err
			}
			return l.World.Region(region).CloudWatch(), nil
		}}
	reg.HandleLambda(fn("dr-drain"), Lambda(drain.Handle))

	verify := &dr.Verify{DrillDB: rb.DynamoDB(), PrimaryDB: rp.DynamoDB(), PrimaryS3: rp.S3(), BackupS3: rb.S3(), Catalog: rb.Glue(),
		Config: cfg, Clock: l.Clock}
	reg.HandleLambda(fn("dr-verify"), Lambda(verify.Handle))

	report := &dr.Report{History: sfnClient, Control: control, Metrics: rb.CloudWatch(), Clock: l.Clock}
	reg.HandleLambda(fn("dr-report"), Lambda(report.Handle))
	return nil
}

// Missing returns the DR functions the state machines call that this
// build does not register yet (pkg/dr has no step for them).
func (l *Local) Missing() []string {
	var out []string
	for _, f := range functionNames {
		if strings.HasPrefix(f, "dr-") && !l.wired[f] {
			out = append(out, f)
		}
	}
	return out
}

// sfnStart builds a StartExecution input.
func sfnStart(machineARN, name, input string) *sfn.StartExecutionInput {
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(machineARN), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	return in
}
