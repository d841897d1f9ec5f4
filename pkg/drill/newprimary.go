package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/local"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// The new-primary scenario: primary-lost's timeline (P never returns, B
// serves, failback is refused), then the operator makes B the primary for
// good, protected by a new backup region N, with the documented steps
// (docs/dr.md "When the primary is lost for good"), each against the
// simulated world: cdk bootstrap of N; cdk import of B's restored
// aggregates table into B's data stack; cdk deploy of the app synthesized
// with primaryRegion=B and backupRegion=N (Config.NewPrimaryAssembly);
// deletion of B's old recovery stack; S3 Batch Replication of what B's
// buckets held before they replicated to N. It is a scenario of its own,
// not primary-lost with more steps, so that primary-lost stays the check
// of the loss alone and this one can add its redeployment's checks.

// NewPrimary is what the new-primary scenario's redeployment did and
// measured.
type NewPrimary struct {
	// Primary is the new primary (the old backup region), Backup the new
	// backup region.
	Primary string `json:"primary"`
	Backup  string `json:"backup"`
	// Assembly is the cloud assembly deployed over the first.
	Assembly string `json:"assembly"`
	// Steps are the operator's steps with their virtual durations.
	Steps []NewPrimaryStep `json:"steps"`
	// Stacks is what the deployment did to each stack of the new assembly.
	Stacks []local.StackChange `json:"stacks"`
	// Table is the imported aggregates table: its logical ID in the data
	// stack, its items before the import and after the deployment, and the
	// items of before missing after.
	Table TableImport `json:"table"`
	// Ingest is what producers saw while the installation was redeployed.
	Ingest RedeployIngest `json:"ingest"`
	// BatchReplication is each Batch Replication job of B's buckets.
	BatchReplication []BatchJob `json:"batchReplication"`
	// OldStacks is what became of the stacks the new app no longer has.
	OldStacks []OldStack `json:"oldStacks"`
	// BackupCopy is the first recovery point of B's table that B's backup
	// plan copied into N's vault ("" if none by the end).
	BackupCopy    string  `json:"backupCopy,omitempty"`
	BackupCopyAtS float64 `json:"backupCopyAtSeconds,omitempty"`
	loadBalancer  string
	oldPrimaryEGA string
	redeployed    time.Time
}

// NewPrimaryStep is one operator step.
type NewPrimaryStep struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Detail  string  `json:"detail,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// TableImport is the aggregates table's import.
type TableImport struct {
	Name        string `json:"name"`
	LogicalID   string `json:"logicalId"`
	ItemsBefore int    `json:"itemsBefore"`
	ItemsAfter  int    `json:"itemsAfter"`
	Missing     int    `json:"missing"`
	// Drift is each property of the table's template the table, as
	// imported, does not match ("Tags: …"); NotCompared the template's
	// properties the simulator cannot compare (it does not model them).
	Drift       []string `json:"drift"`
	NotCompared []string `json:"notCompared,omitempty"`
}

// allowedDrift are the properties in which the imported table may differ
// from its template, each with why (docs/dr.md "When the primary is lost
// for good"): the import does not change the table, and the failover tags
// it as its own.
var allowedDrift = map[string]string{
	"Tags": "the failover's tags (pendulum:role, pendulum:restored-by), not the stack's: harmless, tag it by hand if wanted",
}

// RedeployIngest is the producers' view of the redeployment: from the
// import's start to the old recovery stack's deletion.
type RedeployIngest struct {
	WindowSeconds float64 `json:"windowSeconds"`
	// Acknowledged is the records acknowledged in the window, ByPrimary
	// those by the new primary.
	Acknowledged int `json:"acknowledged"`
	ByPrimary    int `json:"byPrimary"`
	// Failures is the producers' failed requests in the window (retried).
	Failures int64 `json:"failures"`
	// LongestGapSeconds is the longest time in the window without an
	// acknowledgement (the ingest gap the redeployment caused, if any);
	// SteadyGapSeconds the same over as long a window just before it.
	LongestGapSeconds float64 `json:"longestGapSeconds"`
	SteadyGapSeconds  float64 `json:"steadyGapSeconds"`
}

// BatchJob is one S3 Batch Replication job.
type BatchJob struct {
	Bucket    string  `json:"bucket"`
	Job       string  `json:"job"`
	Status    string  `json:"status"`
	Tasks     int64   `json:"tasks"`
	Succeeded int64   `json:"succeeded"`
	Failed    int64   `json:"failed"`
	Seconds   float64 `json:"seconds"`
}

// OldStack is a stack of the first deployment the new app lacks.
type OldStack struct {
	Stack   string `json:"stack"`
	Region  string `json:"region"`
	Outcome string `json:"outcome"`
}

// ingestGapSlack is how much longer than the steady window's longest gap
// the redeployment's may be and still be no gap of its own: producers
// send a batch a second, and a request's latency varies with the calls
// it makes.
const ingestGapSlack = 2 * time.Second

// newPrimarySettle is how long B serves, protected by N, before the next
// day's runs: N's canary and alarms run on B for a while.
const newPrimarySettle = 20 * time.Minute

func init() {
	register(&Scenario{
		Name: "new-primary",
		Summary: "the primary never returns: after failover the operator makes B the primary for good, protected by a new backup region " +
			"(cdk bootstrap, cdk import of the restored table, cdk deploy of the app with primaryRegion=B, S3 Batch Replication), then an isolated drill in it",
		Expect: "PASS when: as primary-lost until failback is refused; then B's workload stack is the primary's (updated in place: its ALB unchanged), " +
			"its buckets replicate to N and the backup plan copies to N's vault, the recovery stack runs in N, the accelerator routes to B, " +
			"the restored table belongs to B's data stack with deletion protection, PITR and every item it held, producers are served by B " +
			"throughout the redeployment with no gap, B's old recovery stack is deleted, and the isolated drill in N restores B's table and passes",
		newPrimary: true,
		// The redeployment (some 6 minutes), the Batch Replication jobs (a
		// few) and newPrimarySettle, with room.
		extraGenerating: newPrimarySettle + 25*time.Minute,
		play: func(ctx context.Context, r *run) error {
			r.final = r.l.Regions.Backup
			if err := r.outageFor(ctx, r.cfg.Outage); err != nil {
				return err
			}
			if err := r.watch(ctx, time.Duration(r.cfg.MinHealthyMinutes+2)*time.Minute); err != nil {
				return err
			}
			if !r.failedOver() {
				return nil
			}
			if err := r.failBack(ctx); err != nil {
				return err
			}
			return r.establishNewPrimary(ctx)
		},
		after: func(ctx context.Context, r *run) error { return r.awaitBackupCopy(ctx) },
		expect: func(r *run, ok checkFunc) {
			ok("failoverSucceeded", succeeded(r.rep.Failover), "failover: %s", status(r.rep.Failover))
			ok("failbackRefused", r.rep.Failback != nil && r.rep.Failback.Status == string(states.StatusFailed) && r.rep.Failback.Error == "PrimaryUnhealthy",
				"failback: %s (%s)", status(r.rep.Failback), cause(r.rep.Failback))
			ok("lossCounted", r.rep.Records.AtRisk > 0, "%d records were at risk at the outage (acknowledged by %s, not yet in %s)", r.rep.Records.AtRisk, r.orig.Primary, r.orig.Backup)
			r.expectNewPrimary(ok)
			r.expectBatchAndDrill(ok)
		},
	})
}

// step runs one operator step and records it.
func (r *run) step(name string, f func() (string, error)) error {
	start := r.l.Now()
	detail, err := f()
	s := NewPrimaryStep{Name: name, Seconds: r.l.Now().Sub(start).Seconds(), Detail: detail}
	if err != nil {
		s.Error = err.Error()
	}
	r.np.Steps = append(r.np.Steps, s)
	if err != nil {
		r.progress("new-primary", "%s failed after %s: %v", name, secs(s.Seconds), err)
		return err
	}
	r.progress("new-primary", "%s in %s: %s", name, secs(s.Seconds), detail)
	return nil
}

// establishNewPrimary runs the operator's steps (see above). A step that
// fails ends the scenario's play with the steps so far recorded: the
// checks say what is missing.
func (r *run) establishNewPrimary(ctx context.Context) error {
	l := r.l
	a := r.cfg.NewPrimaryAssembly
	_, regions, err := a.Topology()
	if err != nil {
		return err
	}
	B := r.orig.Backup
	if regions.Primary != B {
		return fmt.Errorf("new-primary: %s makes %s the primary, but %s is the region serving", a.Dir, regions.Primary, B)
	}
	N := regions.Backup
	r.np = &NewPrimary{Primary: B, Backup: N, Assembly: a.Dir, loadBalancer: l.LoadBalancerDNS(B), oldPrimaryEGA: l.PrimaryGroupARN}
	np := r.np
	r.progress("new-primary", "%s is lost for good: making %s the primary, protected by %s (%s)", r.orig.Primary, B, N, a.Dir)

	if err := r.step("cdk bootstrap "+N, func() (string, error) {
		return "bootstrap stack and execution role in " + N, l.Bootstrap(ctx, N)
	}); err != nil {
		return nil
	}
	data := l.Names.Stack("data", B)
	ds, ok := a.Stack(data)
	if !ok {
		return fmt.Errorf("new-primary: %s has no stack %s", a.Dir, data)
	}
	table := l.Names.AggregatesTable()
	id, err := local.TableLogicalID(ds, table)
	if err != nil {
		return err
	}
	np.Table = TableImport{Name: table, LogicalID: id}
	before, err := r.tableKeys(ctx, B)
	if err != nil {
		return err
	}
	np.Table.ItemsBefore = len(before)

	winStart, failuresBefore := l.Now(), r.failures()
	if err := r.step("cdk import "+data, func() (string, error) {
		return fmt.Sprintf("%s (TableName=%s) imported", id, table), l.Import(ctx, a, data, local.ResourceMapping{id: {"TableName": table}})
	}); err != nil {
		return nil
	}
	if err := r.step("cdk deploy --all", func() (string, error) {
		changes, err := l.Redeploy(ctx, a)
		np.Stacks = changes
		var parts []string
		for _, c := range changes {
			parts = append(parts, c.Stack+" "+c.Action)
		}
		return strings.Join(parts, ", "), err
	}); err != nil {
		return nil
	}
	oldRecovery := l.Names.Stack("recovery", B)
	if err := r.step("delete-stack "+oldRecovery, func() (string, error) {
		return "deleted; its retained resources stay in " + B, l.DeleteStack(ctx, B, oldRecovery)
	}); err != nil {
		return nil
	}
	np.OldStacks = append(np.OldStacks, OldStack{Stack: oldRecovery, Region: B, Outcome: "deleted (the control table, the topic key and the log groups are retained)"})
	winEnd := l.Now()
	np.redeployed = winEnd
	np.Ingest = r.ingestDuring(winStart, winEnd, r.failures()-failuresBefore)
	r.progress("new-primary", "producers during the redeployment (%s): %d records acknowledged (%d by %s), %d failed requests, longest gap %s (steady %s)",
		secs(np.Ingest.WindowSeconds), np.Ingest.Acknowledged, np.Ingest.ByPrimary, B, np.Ingest.Failures, secs(np.Ingest.LongestGapSeconds), secs(np.Ingest.SteadyGapSeconds))

	// The lost primary's stacks: nothing can be deleted in a region that
	// does not answer.
	for _, s := range r.cfg.Assembly.Stacks {
		if s.Region != r.orig.Primary {
			continue
		}
		err := l.DeleteStack(ctx, s.Region, s.Name)
		out := "deleted"
		if err != nil {
			out = "left as it is: " + err.Error()
		}
		np.OldStacks = append(np.OldStacks, OldStack{Stack: s.Name, Region: s.Region, Outcome: out})
	}

	after, err := r.tableKeys(ctx, B)
	if err != nil {
		return err
	}
	if err := r.tableDrift(ctx, ds, id); err != nil {
		return err
	}
	np.Table.ItemsAfter = len(after)
	for k := range before {
		if !after[k] {
			np.Table.Missing++
		}
	}

	// What B's buckets held before they replicated to N: P's replicas and
	// B's own objects since failover.
	for _, kind := range []string{"raw", "curated"} {
		bucket := l.Names.Bucket(kind, B)
		if err := r.step("s3control create-job "+bucket, func() (string, error) {
			j, err := r.batchReplicate(ctx, B, bucket)
			if j != nil {
				np.BatchReplication = append(np.BatchReplication, *j)
				return fmt.Sprintf("%s: %d tasks, %d succeeded, %d failed", j.Status, j.Tasks, j.Succeeded, j.Failed), err
			}
			return "", err
		}); err != nil {
			return nil
		}
	}
	r.progress("new-primary", "%s serves as the primary, protected by %s; watching %s", B, N, newPrimarySettle)
	return r.watch(ctx, newPrimarySettle)
}

// failures sums the producers' failed requests so far.
func (r *run) failures() int64 {
	var n int64
	for _, p := range r.prods {
		n += p.Stats().Failures
	}
	return n
}

// ingestDuring measures acknowledgements in [from, to]: how many, by
// whom, and the longest stretch without one, beside the same measure over
// as long a window just before from.
func (r *run) ingestDuring(from, to time.Time, failures int64) RedeployIngest {
	r.mu.Lock()
	var in, steady []time.Time
	acked, byB := 0, 0
	width := to.Sub(from)
	for _, a := range r.acked {
		switch {
		case !a.at.Before(from) && !a.at.After(to):
			in = append(in, a.at)
			acked++
			if a.region == r.orig.Backup {
				byB++
			}
		case !a.at.Before(from.Add(-width)) && a.at.Before(from):
			steady = append(steady, a.at)
		}
	}
	r.mu.Unlock()
	return RedeployIngest{WindowSeconds: width.Seconds(), Acknowledged: acked, ByPrimary: byB, Failures: failures,
		LongestGapSeconds: longestGap(in, from, to).Seconds(), SteadyGapSeconds: longestGap(steady, from.Add(-width), from).Seconds()}
}

// longestGap is the longest interval of [from, to] without one of ts.
func longestGap(ts []time.Time, from, to time.Time) time.Duration {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	gap, last := time.Duration(0), from
	for _, t := range ts {
		gap = max(gap, t.Sub(last))
		last = t
	}
	return max(gap, to.Sub(last))
}

// tableKeys reads every item key of region's aggregates table.
func (r *run) tableKeys(ctx context.Context, region string) (map[string]bool, error) {
	ctx = sim.Unmetered(ctx) // the drill observes the timeline without taking part in it
	db := r.l.World.Region(region).DynamoDB()
	keys := map[string]bool{}
	var start map[string]ddbtypes.AttributeValue
	for {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(r.l.Names.AggregatesTable()), ExclusiveStartKey: start})
		if err != nil {
			return nil, fmt.Errorf("scan %s's aggregates: %w", region, err)
		}
		for _, it := range out.Items {
			pk, _ := it["pk"].(*ddbtypes.AttributeValueMemberS)
			sk, _ := it["sk"].(*ddbtypes.AttributeValueMemberS)
			if pk != nil && sk != nil {
				keys[pk.Value+"\x00"+sk.Value] = true
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return keys, nil
		}
		start = out.LastEvaluatedKey
	}
}

// batchReplicate runs a Batch Replication job of bucket (in region) as the
// data stack's Batch Replication role, for every version live replication
// did not replicate (NONE, FAILED, replicas of another source), and waits
// for it, as an operator with `aws s3control create-job` and
// `describe-job`.
func (r *run) batchReplicate(ctx context.Context, region, bucket string) (*BatchJob, error) {
	l := r.l
	c := l.World.Region(region).S3Control()
	start := l.Now()
	out, err := c.CreateJob(ctx, &s3control.CreateJobInput{
		AccountId: aws.String(l.Names.Account), ClientRequestToken: aws.String("new-primary-" + bucket), Priority: aws.Int32(10),
		RoleArn:   aws.String(l.Names.RoleARN(l.Names.BatchReplicationRole(region))),
		Operation: &s3ctypes.JobOperation{S3ReplicateObject: &s3ctypes.S3ReplicateObjectOperation{}},
		Report:    &s3ctypes.JobReport{Enabled: false},
		ManifestGenerator: &s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator{Value: s3ctypes.S3JobManifestGenerator{
			SourceBucket: aws.String("arn:aws:s3:::" + bucket),
			Filter: &s3ctypes.JobManifestGeneratorFilter{EligibleForReplication: aws.Bool(true),
				ObjectReplicationStatuses: []s3ctypes.ReplicationStatus{s3ctypes.ReplicationStatusNone, s3ctypes.ReplicationStatusFailed, s3ctypes.ReplicationStatusReplica}},
		}},
	})
	if err != nil {
		return nil, err
	}
	for range 240 {
		d, err := c.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(l.Names.Account), JobId: out.JobId})
		if err != nil {
			return nil, err
		}
		switch d.Job.Status {
		case s3ctypes.JobStatusComplete, s3ctypes.JobStatusFailed:
			p := d.Job.ProgressSummary
			j := &BatchJob{Bucket: bucket, Job: aws.ToString(out.JobId), Status: string(d.Job.Status), Tasks: aws.ToInt64(p.TotalNumberOfTasks),
				Succeeded: aws.ToInt64(p.NumberOfTasksSucceeded), Failed: aws.ToInt64(p.NumberOfTasksFailed), Seconds: l.Now().Sub(start).Seconds()}
			if d.Job.Status == s3ctypes.JobStatusFailed {
				var why []string
				for _, f := range d.Job.FailureReasons {
					why = append(why, aws.ToString(f.FailureCode)+": "+aws.ToString(f.FailureReason))
				}
				return j, fmt.Errorf("job %s failed: %s", j.Job, strings.Join(why, "; "))
			}
			return j, nil
		}
		if err := l.Sleep(ctx, 30*time.Second); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("job %s did not finish within 2 h", aws.ToString(out.JobId))
}

// tableDrift compares the imported table with its declaration in the data
// stack's template, property by property, as drift detection would:
// CloudFormation records the template's values at the import without
// checking them (docs/aws-facts.md "CloudFormation updates and imports").
func (r *run) tableDrift(ctx context.Context, ds assembly.Stack, id string) error {
	ctx = sim.Unmetered(ctx) // the drill observes the timeline without taking part in it
	var tmpl struct {
		Resources map[string]struct {
			Properties map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(ds.Template, &tmpl); err != nil {
		return fmt.Errorf("template of %s: %w", ds.Name, err)
	}
	props := tmpl.Resources[id].Properties
	np := r.np
	db := r.l.World.Region(np.Primary).DynamoDB()
	name := aws.String(np.Table.Name)
	dt, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: name})
	if err != nil {
		return err
	}
	cb, err := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: name})
	if err != nil {
		return err
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: name})
	if err != nil {
		return err
	}
	tags, err := db.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: dt.Table.TableArn})
	if err != nil {
		return err
	}
	t := dt.Table
	billing := "PROVISIONED"
	if t.BillingModeSummary != nil {
		billing = string(t.BillingModeSummary.BillingMode)
	}
	type kv struct{ AttributeName, KeyType string }
	type attr struct{ AttributeName, AttributeType string }
	var keys []kv
	for _, k := range t.KeySchema {
		keys = append(keys, kv{aws.ToString(k.AttributeName), string(k.KeyType)})
	}
	var attrs []attr
	for _, a := range t.AttributeDefinitions {
		attrs = append(attrs, attr{aws.ToString(a.AttributeName), string(a.AttributeType)})
	}
	type tag struct{ Key, Value string }
	var tagList []tag
	for _, tg := range tags.Tags {
		tagList = append(tagList, tag{aws.ToString(tg.Key), aws.ToString(tg.Value)})
	}
	sort.Slice(tagList, func(i, j int) bool { return tagList[i].Key < tagList[j].Key })
	var stream any
	if t.StreamSpecification != nil && aws.ToBool(t.StreamSpecification.StreamEnabled) {
		stream = map[string]string{"StreamViewType": string(t.StreamSpecification.StreamViewType)}
	}
	ttlSpec := map[string]any{"AttributeName": aws.ToString(ttl.TimeToLiveDescription.AttributeName),
		"Enabled": ttl.TimeToLiveDescription.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled}
	actual := map[string]any{
		"TableName": aws.ToString(t.TableName), "BillingMode": billing, "KeySchema": keys, "AttributeDefinitions": attrs,
		"DeletionProtectionEnabled":        aws.ToBool(t.DeletionProtectionEnabled),
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled},
		"TimeToLiveSpecification":          ttlSpec, "Tags": tagList, "StreamSpecification": stream,
	}
	np.Table.Drift = []string{}
	for _, p := range sortedKeys(props) {
		got, compared := actual[p]
		if !compared {
			np.Table.NotCompared = append(np.Table.NotCompared, p)
			continue
		}
		var want any
		if err := json.Unmarshal(props[p], &want); err != nil {
			return err
		}
		if p == "Tags" {
			want = sortedTags(want)
		}
		if !sameJSON(want, got) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			np.Table.Drift = append(np.Table.Drift, fmt.Sprintf("%s: template %s, table %s", p, w, g))
		}
	}
	// A property the table has and the template does not set.
	if _, set := props["StreamSpecification"]; !set && stream != nil {
		np.Table.Drift = append(np.Table.Drift, "StreamSpecification: template none, table a stream")
	}
	return nil
}

// sortedTags sorts a template's Tags list by key.
func sortedTags(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	sort.Slice(l, func(i, j int) bool {
		a, _ := l[i].(map[string]any)
		b, _ := l[j].(map[string]any)
		return fmt.Sprint(a["Key"]) < fmt.Sprint(b["Key"])
	})
	return l
}

// sameJSON compares two values as JSON documents.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// newPrimaryBackupWait bounds the wait for the new primary's backup plan
// to copy a recovery point into the new backup region's vault: its daily
// run, and the copy after it.
const newPrimaryBackupWait = 26 * time.Hour

// awaitBackupCopy waits, producers idle, for B's backup plan (its daily
// 03:00 run, as deployed) to copy a recovery point of B's table into N's
// vault.
func (r *run) awaitBackupCopy(ctx context.Context) error {
	np := r.np
	if np == nil || len(np.Stacks) == 0 {
		return nil
	}
	l := r.l
	tableARN := l.Names.TableARN(np.Primary, l.Names.AggregatesTable())
	r.progress("new-primary", "waiting for %s's backup plan to copy %s into %s's vault", np.Primary, l.Names.AggregatesTable(), np.Backup)
	for end := l.Now().Add(newPrimaryBackupWait); l.Now().Before(end); {
		out, err := l.World.Region(np.Backup).Backup().ListRecoveryPointsByBackupVault(sim.Unmetered(ctx), &backup.ListRecoveryPointsByBackupVaultInput{
			BackupVaultName: aws.String(l.Names.BackupVault()), ByResourceArn: aws.String(tableARN)})
		if err == nil {
			for _, p := range out.RecoveryPoints {
				if p.Status == "COMPLETED" {
					np.BackupCopy = aws.ToString(p.RecoveryPointArn)
					np.BackupCopyAtS = aws.ToTime(p.CreationDate).Sub(r.virtStart).Seconds()
					r.progress("new-primary", "recovery point %s of %s's table in %s's vault", np.BackupCopy, np.Primary, np.Backup)
					return nil
				}
			}
		}
		if err := l.Sleep(ctx, 15*time.Minute); err != nil {
			return err
		}
	}
	r.progress("new-primary", "no recovery point of %s's table reached %s's vault within %s", np.Primary, np.Backup, newPrimaryBackupWait)
	return nil
}

// expectNewPrimary checks that B is a real primary protected by N.
func (r *run) expectNewPrimary(ok checkFunc) {
	np := r.np
	if np == nil {
		ok("newPrimary", false, "the redeployment did not run (failover: %s)", status(r.rep.Failover))
		return
	}
	ctx := sim.Unmetered(context.Background())
	l := r.l
	B, N := np.Primary, np.Backup
	var failed []string
	for _, s := range np.Steps {
		if s.Error != "" {
			failed = append(failed, s.Name+": "+s.Error)
		}
	}
	ok("operatorSteps", len(failed) == 0 && len(np.Steps) == 6, "%d steps, failed: %s", len(np.Steps), strings.Join(failed, "; "))
	ok("topology", l.Regions == topology.Regions{Primary: B, Backup: N}, "the installation's regions are now %+v", l.Regions)

	// B's workload stack is the primary's: no Active parameter, its load
	// balancer the one that served all along, its consumer running.
	wl := l.Names.Stack("workload", B)
	st, err := describeStack(ctx, l, B, wl)
	params := map[string]string{}
	for _, p := range st.Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	_, dormant := params[topology.ActiveParameter]
	ok("primaryWorkload", err == nil && !dormant && l.LoadBalancerDNS(B) == np.loadBalancer && np.loadBalancer != "" && l.ConsumerRunning(B),
		"%s: %s, parameters %v, load balancer %s (before the redeployment %s), consumer running %t", wl, st.StackStatus, sortedKeys(params), l.LoadBalancerDNS(B), np.loadBalancer, l.ConsumerRunning(B))

	var repl []string
	replOK := true
	for _, kind := range []string{"raw", "curated"} {
		out, err := l.World.Region(B).S3().GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(l.Names.Bucket(kind, B))})
		dest := ""
		if err == nil && len(out.ReplicationConfiguration.Rules) > 0 && out.ReplicationConfiguration.Rules[0].Destination != nil {
			dest = aws.ToString(out.ReplicationConfiguration.Rules[0].Destination.Bucket)
		}
		replOK = replOK && dest == l.Names.BucketARN(kind, N)
		repl = append(repl, kind+" → "+dest)
	}
	ok("replicatesToNewBackup", replOK, "%s", strings.Join(repl, ", "))

	var jobs []string
	jobsOK := len(np.BatchReplication) == 2
	for _, j := range np.BatchReplication {
		jobsOK = jobsOK && j.Status == string(s3ctypes.JobStatusComplete) && j.Failed == 0 && j.Succeeded == j.Tasks
		jobs = append(jobs, fmt.Sprintf("%s %s (%d of %d tasks)", j.Bucket, j.Status, j.Succeeded, j.Tasks))
	}
	ok("batchReplicated", jobsOK, "%s", strings.Join(jobs, "; "))
	ok("backupCopiedToNewBackup", np.BackupCopy != "", "recovery point of %s's table in %s's vault: %q", B, N, np.BackupCopy)

	// The recovery stack, its canary, alarm, machines and control table,
	// in N; the alarm OK, no failover started there.
	rec := l.Names.Stack("recovery", N)
	rst, rerr := describeStack(ctx, l, N, rec)
	var missing []string
	for _, m := range []string{"failover", "failback", "drill"} {
		if _, ok := l.Engine.StateMachine(l.Names.StateMachineARN(N, m)); !ok {
			missing = append(missing, "state machine "+m)
		}
	}
	if _, err := l.World.Region(N).DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(l.Names.ControlTable())}); err != nil {
		missing = append(missing, "control table")
	}
	alarm, samples, unhealthy := "missing", 0.0, 0.0
	cw := l.World.Region(N).CloudWatch()
	if out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{l.Names.AlarmName()}}); err == nil && len(out.MetricAlarms) == 1 {
		a := out.MetricAlarms[0]
		alarm = string(a.StateValue)
		// What the alarm watches, as deployed: the canary's health of
		// B's regional endpoint, from N, since N's recovery stack exists.
		if st, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: a.Dimensions,
			StartTime: aws.Time(np.redeployed), EndTime: aws.Time(l.Now()), Period: aws.Int32(60),
			Statistics: []cwtypes.Statistic{cwtypes.StatisticSampleCount, cwtypes.StatisticMinimum}}); err == nil {
			for _, p := range st.Datapoints {
				samples += aws.ToFloat64(p.SampleCount)
				if aws.ToFloat64(p.Minimum) < 1 {
					unhealthy++
				}
			}
		}
	}
	if alarm != string(cwtypes.StateValueOk) {
		missing = append(missing, "alarm OK ("+alarm+")")
	}
	if samples == 0 || unhealthy > 0 {
		missing = append(missing, fmt.Sprintf("the canary's healthy minutes (%.0f probes, %.0f minutes unhealthy)", samples, unhealthy))
	}
	started := 0
	for _, x := range l.AlarmExecutions() {
		if regionOf(x) == N {
			started++
		}
	}
	ok("recoveryInNewBackup", rerr == nil && len(missing) == 0 && started == 0 && r.mode == "PRIMARY",
		"%s %s; the canary probed %s %.0f times from %s, %s %s; missing: %s; failovers started in %s: %d; DR mode %s",
		rec, rst.StackStatus, B, samples, N, l.Names.AlarmName(), alarm, strings.Join(missing, ", "), N, started, r.mode)

	// The accelerator: B's group serves B's load balancer, N's is empty,
	// P's is gone.
	ga := l.World.Region(topology.GlobalRegion).GlobalAccelerator()
	groups := map[string]string{}
	for name, arn := range map[string]string{"primary": l.PrimaryGroupARN, "backup": l.BackupGroupARN, "old primary": np.oldPrimaryEGA} {
		out, err := ga.DescribeEndpointGroup(ctx, &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(arn)})
		if err != nil {
			groups[name] = "none"
			continue
		}
		var eps []string
		for _, e := range out.EndpointGroup.EndpointDescriptions {
			eps = append(eps, fmt.Sprintf("%s weight %d", regionOf(aws.ToString(e.EndpointId)), aws.ToInt32(e.Weight)))
		}
		groups[name] = aws.ToString(out.EndpointGroup.EndpointGroupRegion) + " [" + strings.Join(eps, ", ") + "]"
	}
	served := servedBy(l)
	ok("acceleratorRoutesToNewPrimary", served == B && groups["primary"] == B+" ["+B+" weight 100]" && groups["backup"] == N+" []" && groups["old primary"] == "none",
		"served by %s; endpoint groups: primary %s, backup %s, %s's %s", served, groups["primary"], groups["backup"], r.orig.Primary, groups["old primary"])

	// The restored table belongs to B's data stack, protected, with every
	// item it held.
	data := l.Names.Stack("data", B)
	owned := false
	if res, err := l.World.Region(B).CloudFormation().StackResources(data); err == nil {
		for _, x := range res {
			owned = owned || (x.LogicalID == np.Table.LogicalID && x.PhysicalID == np.Table.Name)
		}
	}
	db := l.World.Region(B).DynamoDB()
	dt, derr := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(np.Table.Name)})
	cb, cerr := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(np.Table.Name)})
	protected := derr == nil && aws.ToBool(dt.Table.DeletionProtectionEnabled)
	pitr := cerr == nil && cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled
	ok("tableImported", owned && protected && pitr && np.Table.Missing == 0 && np.Table.ItemsBefore > 0,
		"%s owned by %s: %t; deletion protection %t, PITR %t; %d items before the import, %d after the deployment, %d of them missing",
		np.Table.Name, data, owned, protected, pitr, np.Table.ItemsBefore, np.Table.ItemsAfter, np.Table.Missing)
	var unexpected []string
	for _, d := range np.Table.Drift {
		if p, _, _ := strings.Cut(d, ":"); allowedDrift[p] == "" {
			unexpected = append(unexpected, d)
		}
	}
	ok("tableMatchesTemplate", np.Table.Drift != nil && len(unexpected) == 0,
		"differences from the template: %s; allowed: %v; not compared (not simulated): %s",
		strings.Join(unexpected, "; "), sortedKeys(allowedDrift), strings.Join(np.Table.NotCompared, ", "))

	in := np.Ingest
	ok("noIngestGap", in.Acknowledged > 0 && in.ByPrimary == in.Acknowledged && in.Failures == 0 &&
		in.LongestGapSeconds <= in.SteadyGapSeconds+ingestGapSlack.Seconds(),
		"during the %s redeployment %d records acknowledged, %d by %s; %d failed requests; longest gap %s (%s in as long a window before)",
		secs(in.WindowSeconds), in.Acknowledged, in.ByPrimary, B, in.Failures, secs(in.LongestGapSeconds), secs(in.SteadyGapSeconds))

	// B's old recovery stack is gone, its control table retained; the lost
	// primary's stacks cannot be deleted.
	_, gone := describeStack(ctx, l, B, l.Names.Stack("recovery", B))
	_, kept := l.World.Region(B).DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(l.Names.ControlTable())})
	ok("oldRecoveryDeleted", gone != nil && kept == nil, "%s: %v; its control table retained: %t", l.Names.Stack("recovery", B), gone, kept == nil)
	var undeleted []string
	for _, s := range np.OldStacks {
		if s.Region == r.orig.Primary && strings.HasPrefix(s.Outcome, "left as it is") {
			undeleted = append(undeleted, s.Stack)
		}
	}
	ok("lostPrimaryStacksKept", len(undeleted) == 2, "%s's stacks that cannot be deleted while it is down: %s", r.orig.Primary, strings.Join(undeleted, ", "))
	drillIn := ""
	if w := r.rep.IsolatedDrill; w != nil {
		drillIn = regionOf(w.Execution)
	}
	ok("drillInNewBackup", succeeded(r.rep.IsolatedDrill) && drillIn == N, "isolated drill %s in %s", status(r.rep.IsolatedDrill), drillIn)
}

func describeStack(ctx context.Context, l *local.Local, region, name string) (st cftypes.Stack, err error) {
	out, err := l.World.Region(region).CloudFormation().DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return st, err
	}
	return out.Stacks[0], nil
}

// regionOf is the region an ARN names ("" if none).
func regionOf(arn string) string {
	if f := strings.SplitN(arn, ":", 6); len(f) == 6 {
		return f[3]
	}
	return ""
}

// servedBy is the region that answers a health request through the
// accelerator, as dr-probe asks it.
func servedBy(l *local.Local) string {
	resp, err := l.HTTPClient().Get(l.AcceleratorURL + "/health")
	if err != nil {
		return "error: " + err.Error()
	}
	resp.Body.Close()
	return resp.Header.Get(local.RegionHeader)
}
