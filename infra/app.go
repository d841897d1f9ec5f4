package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// WorkloadFunctions are the Lambdas every deployment needs built in dist/
// besides the dr-* ones (found in functions/): the workload's, the health
// canary and the readiness check.
var WorkloadFunctions = []string{"ingest", "partitions", "aggregate", "compact", "compact-plan", "health", ReadinessFunction}

// FeatureFlags are the CDK behaviours the stacks rely on, set by Build so
// the tests' apps and `cdk synth` agree whatever cdk.json says:
// server-access logs and ALB logs delivered through bucket policies (the log
// buckets enforce bucket-owner object ownership, so ACLs are off).
var FeatureFlags = map[string]interface{}{
	"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
	"@aws-cdk/aws-s3:createDefaultLoggingPolicy":      true,
	"@aws-cdk/aws-iam:minimizePolicies":               true,
}

// Deployment is every stack of one configuration.
type Deployment struct {
	Data     map[string]*DataStack
	Workload map[string]*WorkloadStack
	Global   *GlobalStack
	Recovery *RecoveryStack
}

// Stacks lists every stack, in deploy order.
func (d *Deployment) Stacks(cfg Config) []awscdk.Stack {
	P, B := cfg.PrimaryRegion, cfg.BackupRegion
	return []awscdk.Stack{
		d.Data[B].Stack, d.Data[P].Stack, d.Workload[P].Stack, d.Workload[B].Stack,
		d.Global.Stack, d.Recovery.Stack,
	}
}

// Build adds every stack of cfg to app, with cdk-nag's AwsSolutions checks
// over all of them. Deploy order (encoded as stack dependencies, so
// `cdk deploy --all` follows it): Data in B (replication and backup-copy
// destination), Data in P, Workload in P and B, Global (reads P's ALB),
// Recovery (reads the accelerator).
func Build(app awscdk.App, cfg Config) (*Deployment, error) {
	if cfg.Machines == nil {
		cfg.Machines = EmbeddedMachines
	}
	if err := CheckAssets(cfg, WorkloadFunctions...); err != nil {
		return nil, err
	}
	applyFeatureFlags(app)
	P, B := cfg.PrimaryRegion, cfg.BackupRegion
	d := &Deployment{Data: map[string]*DataStack{}, Workload: map[string]*WorkloadStack{}}
	for _, r := range []string{B, P} {
		d.Data[r] = NewDataStack(app, cfg, r)
		w, err := NewWorkloadStack(app, cfg, r)
		if err != nil {
			return nil, err
		}
		w.AddStackDependency(d.Data[r].Stack, jsii.String("the workload writes to this region's buckets by name"))
		d.Workload[r] = w
	}
	d.Data[P].AddStackDependency(d.Data[B].Stack, jsii.String("replication and backup copies need B's buckets and vault"))
	d.Global = NewGlobalStack(app, cfg)
	d.Global.AddStackDependency(d.Workload[P].Stack, jsii.String("the accelerator reads P's ALB ARN"))
	rec, err := NewRecoveryStack(app, cfg)
	if err != nil {
		return nil, err
	}
	rec.AddStackDependency(d.Global.Stack, jsii.String("the canary and DR machines read the accelerator's ARNs"))
	rec.AddStackDependency(d.Data[B].Stack, jsii.String("recovery works on B's data"))
	d.Recovery = rec
	awscdk.Tags_Of(app).Add(jsii.String("project"), jsii.String("pendulum"), nil)
	awscdk.Tags_Of(app).Add(jsii.String("pendulum:prefix"), jsii.String(cfg.NamePrefix), nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return d, nil
}

// applyFeatureFlags sets FeatureFlags on app; it must run before any stack
// is added.
func applyFeatureFlags(app awscdk.App) {
	for flag, v := range FeatureFlags {
		app.Node().SetContext(jsii.String(flag), v)
	}
}
