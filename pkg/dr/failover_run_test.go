package dr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/integration"
	"github.com/pendulum-dr/pendulum/pkg/local/objectstore"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// lambdaOf adapts a step to the engine's Lambda handler: the payload is
// the step's input, its output the task result, its error named as the
// Lambda runtime names it.
func lambdaOf[I, O any](step string, h func(context.Context, I) (O, error)) states.LambdaHandler {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		var in I
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, invalidf("decode %s input: %v", step, err)
		}
		out, err := h(ctx, in)
		if err != nil {
			return nil, fault.Edge(err)
		}
		return json.Marshal(out)
	}
}

// rig is the simulated deployment the DR state machines run on: the
// accelerator, both workload stacks, buckets, B's catalog, P's aggregates
// with PITR, B's control table, and an engine with every dr step wired as
// the functions wire it.
type rig struct {
	w              *sim.World
	clk            clock.Clock
	cfg            Config
	cw             *copyWorld
	pdb, bdb       *sim.DynamoDB
	eng            *states.Engine
	control        *Control
	aggP           *aggregate.Aggregator
	failover, back *states.Machine
	// published are the SNS publish calls' parameters (TopicArn, Subject,
	// Message), in order.
	published *[]map[string]string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := os.Getenv("DR_ASL_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "statemachines")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "failover.asl.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no failover.asl.json in %s (set DR_ASL_DIR)", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	rawBack, err := os.ReadFile(filepath.Join(dir, "failback.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, cfg := gaWorld(t)
	clk := w.Clock
	// B's workload stack starts dormant, with the consumer switch.
	cfB := w.Region(regionB).CloudFormation()
	if _, err := cfB.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String(cfg.WorkloadStack(regionB)), UsePreviousTemplate: aws.Bool(true),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, time.Hour)
	// Data: buckets, B's catalog, P's aggregates with PITR, B's control table.
	cw := &copyWorld{w: w, clk: nil, cfg: cfg, p: w.Region(regionP).S3(), b: w.Region(regionB).S3()}
	for _, b := range []struct{ c, region, name string }{{"p", regionP, cfg.PrimaryRawBucket}, {"p", regionP, cfg.PrimaryCuratedBucket}, {"b", regionB, cfg.BackupRawBucket}, {"b", regionB, cfg.BackupCuratedBucket}} {
		s := cw.p
		if b.c == "b" {
			s = cw.b
		}
		createBucket(t, s, b.region, b.name)
	}
	createBucket(t, cw.b, regionB, failbackBucket)
	createCatalog(t, w, cfg, regionB)
	put(t, cw.b, cfg.BackupRawBucket, "dt=2026-11-25/hr=10/replica.ndjson", "r")
	pdb, bdb := w.Region(regionP).DynamoDB(), w.Region(regionB).DynamoDB()
	createTable(t, pdb, aggTable, true)
	if _, err := pdb.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(aggTable),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	createTable(t, bdb, cfg.ControlTable, false)
	bdb.SetRestoreDuration(3 * time.Minute)
	clk.Sleep(ctx, time.Hour)

	// The steps, wired as the functions wire them, on the simulator.
	eng := states.New(states.Options{Clock: clk, Registry: states.NewRegistry(), AccountID: account, Region: regionB, ObjectStore: objectstore.S3{S3: cw.b}})
	reg := eng.Registry()
	control := &Control{DB: bdb, SFN: states.SFN{Engine: eng}, Table: cfg.ControlTable, AggregatesTable: aggTable, Clock: clk}
	fn := func(name string) string {
		return "arn:aws:lambda:" + regionB + ":" + account + ":function:pendulum-" + name
	}
	reg.HandleLambda(fn("dr-control"), lambdaOf("dr-control", control.Handle))
	stack := &Stack{Clients: func(region string) (StackAPI, error) { return w.Region(region).CloudFormation(), nil }}
	reg.HandleLambda(fn("dr-stack"), lambdaOf("dr-stack", stack.Handle))
	restore := &Restore{Backup: w.Region(regionB).Backup()}
	reg.HandleLambda(fn("dr-restore"), lambdaOf("dr-restore", restore.Handle))
	rec := &Reconcile{Config: cfg, Database: cfg.GlueDatabase, Clients: func(region string) (ObjectLister, CatalogAPI, error) {
		return w.Region(region).S3(), w.Region(region).Glue(), nil
	}}
	reg.HandleLambda(fn("dr-reconcile"), lambdaOf("dr-reconcile", rec.Handle))
	reg.HandleLambda(fn("dr-traffic"), lambdaOf("dr-traffic", newTraffic(w, cfg, regionG).Handle))
	ga := w.Region(regionG).GlobalAccelerator()
	probe := &Probe{Clock: clk, VantageRegion: regionB, Metrics: w.Region(regionB).CloudWatch(), HTTP: doerFunc(func(r *http.Request) (*http.Response, error) {
		_, region, err := ga.Route(cfg.AcceleratorARN, 80)
		if err != nil {
			return answer(503, ""), nil
		}
		return answer(200, region), nil
	})}
	reg.HandleLambda(fn("dr-probe"), lambdaOf("dr-probe", probe.Handle))
	report := &Report{History: states.SFN{Engine: eng}, Control: control, Metrics: w.Region(regionB).CloudWatch(), Clock: clk}
	reg.HandleLambda(fn("dr-report"), lambdaOf("dr-report", report.Handle))
	copyBack := &CopyBack{B: cw.b, P: cw.p, Results: cw.b, Settings: testSettings(2), Clock: clk,
		Buckets: []BucketPair{{cfg.BackupRawBucket, cfg.PrimaryRawBucket}, {cfg.BackupCuratedBucket, cfg.PrimaryCuratedBucket}}}
	reg.HandleLambda(fn("dr-copyback"), lambdaOf("dr-copyback", copyBack.Handle))
	aggP := aggregate.New(pdb, aggregate.Options{Table: aggTable, Region: regionP, Clock: clk})
	merge := &Merge{S3: cw.b, P: aggP, Results: cw.b, Settings: testSettings(2), Bucket: cfg.BackupRawBucket, Table: aggTable, BackupRegion: regionB, Clock: clk}
	reg.HandleLambda(fn("dr-merge"), lambdaOf("dr-merge", merge.Handle))
	replay := &Replay{S3: cw.b, DB: bdb, Agg: aggregate.New(bdb, aggregate.Options{Table: aggTable, Region: regionB, Clock: clk}),
		Bucket: cfg.BackupRawBucket, Table: aggTable, Clock: clk, Budget: Budget{MaxItems: 2}}
	reg.HandleLambda(fn("dr-replay"), lambdaOf("dr-replay", replay.Handle))
	drain := &Drain{Metrics: func(r string) (MetricStatistics, error) { return w.Region(r).CloudWatch(), nil }, ConsumerFunction: "pendulum-aggregate",
		IngestQuiet: time.Minute, MaxConsumerLag: time.Second, Clock: clk, Config: cfg}
	reg.HandleLambda(fn("dr-drain"), lambdaOf("dr-drain", drain.Handle))
	for _, action := range []string{"restoreTableToPointInTime", "describeTable", "updateContinuousBackups", "updateTable", "updateTimeToLive", "tagResource", "deleteTable"} {
		reg.HandleSDK("dynamodb", action, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
			return integration.Call(ctx, "dynamodb", bdb, action, params)
		})
	}
	for _, action := range []string{"startRestoreJob", "describeRestoreJob"} {
		reg.HandleSDK("backup", action, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
			return integration.Call(ctx, "backup", w.Region(regionB).Backup(), action, params)
		})
	}
	published := &[]map[string]string{}
	reg.HandleSDK("sns", "publish", func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
		var p map[string]string
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, err
		}
		*published = append(*published, p)
		return json.RawMessage(`{"MessageId":"m-1"}`), nil
	})

	subst := map[string]string{
		"AcceleratorDnsName": "a1234.awsglobalaccelerator.com", "AcceleratorUrl": "http://a1234.awsglobalaccelerator.com", "ActiveParameter": "Active", "ConsumerParameter": "Active",
		"AggregatesTableName": aggTable, "BackupRegion": regionB, "PrimaryRegion": regionP, "NamePrefix": "pendulum",
		"BackupRestoreRoleArn": "arn:aws:iam::" + account + ":role/restore", "BackupVaultName": "pendulum-vault",
		"BackupWorkloadStackName": cfg.WorkloadStack(regionB), "FailoverApproval": "false",
		"NotificationTopicArn": cfg.TopicARN, "FailbackBucket": failbackBucket, "PrimaryAggregatesTableArn": "arn:aws:dynamodb:" + regionP + ":" + account + ":table/" + aggTable,
	}
	subst["PrimaryWorkloadStackName"] = cfg.WorkloadStack(regionP)
	for _, f := range []string{"Control", "Probe", "Reconcile", "Report", "Restore", "Stack", "Traffic", "Copyback", "Merge", "Drain", "Replay"} {
		subst["Dr"+f+"FunctionArn"] = fn("dr-" + strings.ToLower(f))
	}
	load := func(name string, raw []byte) *states.Machine {
		doc := string(raw)
		for k, v := range subst {
			doc = strings.ReplaceAll(doc, "${"+k+"}", v)
		}
		if i := strings.Index(doc, "${"); i >= 0 {
			t.Fatalf("%s: unsubstituted placeholder near %q", name, doc[i:min(i+40, len(doc))])
		}
		m, err := states.Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		eng.Register("pendulum-"+name, m)
		return m
	}
	m := load("failover", raw)
	back := load("failback", rawBack)
	return &rig{w: w, clk: clk, cfg: cfg, cw: cw, pdb: pdb, bdb: bdb, eng: eng, control: control, aggP: aggP, failover: m, back: back, published: published}
}

// TestFailoverFailbackStateMachines runs failover.asl.json and
// failback.asl.json (statemachines/, or DR_ASL_DIR) on the engine with
// these steps against the simulator: P's ingest fails, B's stack is
// activated, P's table restored into B, B's catalog reconciled, traffic
// promoted, the record FAILED_OVER, and a re-run is a no-op; then B takes
// writes, P recovers and stays healthy, and failback copies B's objects and
// merges B's records into P (pass 2 finds nothing new), moves traffic back,
// deletes B's table and records PRIMARY.
func TestFailoverFailbackStateMachines(t *testing.T) {
	r0 := newRig(t)
	ctx := context.Background()
	w, clk, cfg, cw, bdb, eng, control, aggP, m, back := r0.w, r0.clk, r0.cfg, r0.cw, r0.bdb, r0.eng, r0.control, r0.aggP, r0.failover, r0.back

	// P's ingest fails (its ALB stops serving) while P's control plane
	// answers, so the point-in-time restore from P works. (With the whole
	// region down the restore falls back to an AWS Backup copy.)
	ga0 := w.Region(regionG).GlobalAccelerator()
	ga0.SetEndpointServing(loadBalancerARN(t, w, regionP, cfg.WorkloadStack(regionP)), false)
	x, err := eng.Start(ctx, m, "alarm-1", json.RawMessage(`{"trigger":"alarm","alarm":"pendulum-primary-unhealthy"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != states.StatusSucceeded {
		for _, ev := range x.History() {
			if strings.Contains(ev.Type, "Failed") || strings.Contains(ev.Type, "TimedOut") {
				b, _ := json.Marshal(ev)
				t.Log(string(b))
			}
		}
		t.Fatalf("failover %s: %s: %s", res.Status, res.Error, res.Cause)
	}
	var out struct {
		Status string       `json:"status"`
		Report ReportOutput `json:"report"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil || out.Status != "FAILED_OVER" || !out.Report.Passed {
		t.Fatalf("output %s (%v)", res.Output, err)
	}
	if r := mustMode(t, control, ModeFailedOver); !strings.Contains(string(r.FailoverFacts), `"source":"pitr"`) {
		t.Fatalf("facts = %s", r.FailoverFacts)
	}
	bLB := loadBalancerARN(t, w, regionB, cfg.WorkloadStack(regionB))
	if got := groupWeights(t, w, cfg.BackupEndpointGroupARN)[bLB]; got != 100 {
		t.Fatalf("B weight %d", got)
	}
	t.Logf("failover took %.0f s of virtual time; steps %+v", out.Report.TotalSeconds, out.Report.Steps)

	// A re-run is a no-op that says so.
	x2, err := eng.Start(ctx, m, "again", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res, _ = x2.Wait(ctx)
	if res.Status != states.StatusSucceeded || !strings.Contains(string(res.Output), "already failed over") {
		t.Fatalf("re-run %s %s %s", res.Status, res.Output, res.Cause)
	}

	// While failed over, B takes writes: its Firehose's raw object of the
	// records B acknowledged, which B's consumer counts, and a curated
	// object.
	var bRecs []record.Record
	var bEntries []aggregate.Entry
	for i := 1; i <= 3; i++ {
		at := clk.Now().UTC()
		r := record.Record{ID: fmt.Sprintf("b-%d", i), TS: at, Received: at, Region: regionB, Producer: "beta", Data: json.RawMessage(`{"v":1}`)}
		bRecs, bEntries = append(bRecs, r), append(bEntries, aggregate.EntryOf(r))
	}
	hour := clk.Now().UTC().Format("dt=2006-01-02/hr=15/")
	put(t, cw.b, cfg.BackupRawBucket, hour+"b-1.gz", string(ndjson(t, bRecs, true)))
	put(t, cw.b, cfg.BackupCuratedBucket, hour+"b.parquet", "bc")
	aggB := aggregate.New(bdb, aggregate.Options{Table: aggTable, Region: regionB, Clock: clk})
	apply(t, aggB, bEntries...)
	// P recovers; its canary reports healthy for the last 40 minutes.
	ga0.SetEndpointServing(loadBalancerARN(t, w, regionP, cfg.WorkloadStack(regionP)), true)
	clk.Sleep(ctx, 45*time.Minute)
	for i := 1; i <= 40; i++ {
		if _, err := w.Region(regionB).CloudWatch().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pendulum"), MetricData: []cwtypes.MetricDatum{{
			MetricName: aws.String("EndpointHealthy"), Value: aws.Float64(1), Timestamp: aws.Time(clk.Now().Add(-time.Duration(i) * time.Minute)),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("Endpoint"), Value: aws.String("primary-regional")}, {Name: aws.String("Region"), Value: aws.String(regionB)}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	fb, err := eng.Start(ctx, back, "failback-1", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res, _ = fb.Wait(ctx)
	if res.Status != states.StatusSucceeded {
		for _, ev := range fb.History() {
			if strings.Contains(ev.Type, "Failed") {
				b, _ := json.Marshal(ev)
				t.Log(string(b))
			}
		}
		t.Fatalf("failback %s: %s: %s", res.Status, res.Error, res.Cause)
	}
	r := mustMode(t, control, ModePrimary)
	var facts struct {
		Copy1, Copy2   CopyTotals
		Merge1, Merge2 MergeTotals
	}
	if err := json.Unmarshal(r.FailbackFacts, &facts); err != nil {
		t.Fatalf("facts %s: %v", r.FailbackFacts, err)
	}
	if facts.Copy1.Copied != 2 || facts.Merge1.Merged != 3 || facts.Copy2.Copied != 0 || facts.Merge2.Merged != 0 {
		t.Fatalf("failback facts %s", r.FailbackFacts)
	}
	if e, ok, err := aggP.Marker(ctx, "b-2"); err != nil || !ok || e.Origin != regionB {
		t.Fatalf("P lacks B's record b-2: %+v %v %v", e, ok, err)
	}
	pLB := loadBalancerARN(t, w, regionP, cfg.WorkloadStack(regionP))
	if got := groupWeights(t, w, cfg.PrimaryEndpointGroupARN)[pLB]; got != 100 {
		t.Fatalf("P weight %d after failback", got)
	}
	if _, err := bdb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(aggTable)}); kindOf(err) != "not found" {
		t.Fatalf("B's restored table still there: %v", err)
	}
	t.Logf("failback facts %s", r.FailbackFacts)
}

// TestFailoverRegionDownRestoresFromBackup runs failover.asl.json with the
// whole primary region unreachable: the point-in-time restore from P
// fails, and the table is restored from the newest AWS Backup copy in B's
// vault, which dr-restore finds.
func TestFailoverRegionDownRestoresFromBackup(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	w, clk := r.w, r.clk
	apply(t, r.aggP, entry("p-1", t0, "alpha"), entry("p-2", t0, "alpha"))
	bp, bb := w.Region(regionP).Backup(), w.Region(regionB).Backup()
	bb.SetDurations(time.Minute, time.Minute, 4*time.Minute)
	bp.SetDurations(time.Minute, 10*time.Minute, 4*time.Minute)
	for _, b := range []*sim.Backup{bp, bb} {
		if _, err := b.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("pendulum-vault")}); err != nil {
			t.Fatal(err)
		}
	}
	dest, err := bb.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("pendulum-vault")})
	if err != nil {
		t.Fatal(err)
	}
	role := aws.String("arn:aws:iam::" + account + ":role/backup")
	job, err := bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("pendulum-vault"), ResourceArn: aws.String("arn:aws:dynamodb:" + regionP + ":" + account + ":table/" + aggTable), IamRoleArn: role})
	if err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, 5*time.Minute)
	if _, err := bp.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: aws.String("pendulum-vault"), RecoveryPointArn: job.RecoveryPointArn,
		DestinationBackupVaultArn: dest.BackupVaultArn, IamRoleArn: role}); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, 30*time.Minute)

	w.SetDown(regionP, true)
	x, err := r.eng.Start(ctx, r.failover, "region-down", json.RawMessage(`{"trigger":"alarm","alarm":"pendulum-primary-unhealthy"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := x.Wait(ctx)
	if res.Status != states.StatusSucceeded {
		for _, ev := range x.History() {
			if strings.Contains(ev.Type, "Failed") {
				b, _ := json.Marshal(ev)
				t.Log(string(b))
			}
		}
		t.Fatalf("failover %s: %s: %s", res.Status, res.Error, res.Cause)
	}
	rec := mustMode(t, r.control, ModeFailedOver)
	if !strings.Contains(string(rec.FailoverFacts), `"source":"backup"`) {
		t.Fatalf("facts %s, want a restore from backup", rec.FailoverFacts)
	}
	t.Logf("failover with P down took %v of virtual time", res.StopDate.Sub(res.StartDate))
	aggB := aggregate.New(r.bdb, aggregate.Options{Table: aggTable, Region: regionB, Clock: clk})
	if e, ok, err := aggB.Marker(ctx, "p-2"); err != nil || !ok {
		t.Fatalf("restored table lacks p-2: %+v %v %v", e, ok, err)
	}
}

// TestFailbackRefusedWhilePrimaryUnhealthy: with no healthy minutes from
// P's canary, failback aborts, releases the lock and leaves FAILED_OVER.
func TestFailbackRefusedWhilePrimaryUnhealthy(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	ga := r.w.Region(regionG).GlobalAccelerator()
	ga.SetEndpointServing(loadBalancerARN(t, r.w, regionP, r.cfg.WorkloadStack(regionP)), false)
	x, err := r.eng.Start(ctx, r.failover, "f1", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := x.Wait(ctx); res.Status != states.StatusSucceeded {
		t.Fatalf("failover %s: %s", res.Status, res.Cause)
	}
	fb, err := r.eng.Start(ctx, r.back, "b1", json.RawMessage(`{"minHealthyMinutes":10}`))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := fb.Wait(ctx)
	if res.Status != states.StatusFailed || res.Error != "PrimaryUnhealthy" {
		t.Fatalf("failback = %s %s %s, want FAILED PrimaryUnhealthy", res.Status, res.Error, res.Cause)
	}
	rec := mustMode(t, r.control, ModeFailedOver)
	if rec.Execution != "" || !strings.Contains(rec.LastError, "PrimaryUnhealthy") {
		t.Fatalf("record %+v", rec)
	}
	// Traffic stays in B.
	bLB := loadBalancerARN(t, r.w, regionB, r.cfg.WorkloadStack(regionB))
	if got := groupWeights(t, r.w, r.cfg.BackupEndpointGroupARN)[bLB]; got != 100 {
		t.Fatalf("B weight %d", got)
	}
}

// TestFailoverDegradedThenRetry runs failover.asl.json with P down and no
// recovery point in B's vault: traffic still moves to B, the execution
// ends RestoreDegraded with the mode FAILED_OVER and the restore pending,
// the DR topic hears why, and the consumer is not started; failback is
// refused; once P answers again, {"retryRestore":true} restores, replays
// and completes without touching traffic.
func TestFailoverDegradedThenRetry(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	w, clk := r.w, r.clk
	apply(t, r.aggP, entry("p-1", t0, "alpha"), entry("p-2", t0, "alpha"))
	if _, err := w.Region(regionB).Backup().CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("pendulum-vault")}); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, 10*time.Minute)
	w.SetDown(regionP, true)
	x, err := r.eng.Start(ctx, r.failover, "no-point", json.RawMessage(`{"trigger":"alarm","alarm":"pendulum-primary-unhealthy"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := x.Wait(ctx)
	if res.Status != states.StatusFailed || res.Error != "RestoreDegraded" || !strings.Contains(res.Cause, "retryRestore") {
		t.Fatalf("failover %s %s (%s), want FAILED RestoreDegraded with a cause saying how to retry", res.Status, res.Error, res.Cause)
	}
	rec := mustMode(t, r.control, ModeFailedOver)
	if !rec.RestorePending || rec.DegradedReason != "no recovery point of the aggregates table" {
		t.Fatalf("record %+v", rec)
	}
	bLB := loadBalancerARN(t, w, regionB, r.cfg.WorkloadStack(regionB))
	if got := groupWeights(t, w, r.cfg.BackupEndpointGroupARN)[bLB]; got != 100 {
		t.Fatalf("B weight %d: traffic did not move although only the restore failed", got)
	}
	var subjects []string
	for _, p := range *r.published {
		subjects = append(subjects, p["Subject"])
	}
	if len(subjects) == 0 || subjects[len(subjects)-1] != "Pendulum: failover to "+regionB+" DEGRADED: no recovery point of the aggregates table" {
		t.Fatalf("notifications %q, want the degraded one last", subjects)
	}
	for _, ev := range x.History() {
		if d := ev.StateEnteredEventDetails; d != nil && (d.Name == "StartConsumer" || d.Name == "RecordFailure") {
			t.Fatalf("the degraded failover entered %s", d.Name)
		}
	}
	// Failback is refused while degraded.
	fb, err := r.eng.Start(ctx, r.back, "too-early", json.RawMessage(`{"minHealthyMinutes":0}`))
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := fb.Wait(ctx); res.Status != states.StatusFailed || res.Error != "Refused" || !strings.Contains(res.Cause, "degraded") {
		t.Fatalf("failback while degraded %s %s (%s), want Refused naming the degraded failover", res.Status, res.Error, res.Cause)
	}

	// P answers again: the retry restores from PITR and completes.
	w.SetDown(regionP, false)
	clk.Sleep(ctx, 10*time.Minute)
	updates := w.CallCount(sim.CallKey{Region: regionG, Service: "Global Accelerator", Operation: "UpdateEndpointGroup"})
	if updates == 0 {
		t.Fatal("the first run made no UpdateEndpointGroup call: the count below would prove nothing")
	}
	x2, err := r.eng.Start(ctx, r.failover, "retry", json.RawMessage(`{"retryRestore":true}`))
	if err != nil {
		t.Fatal(err)
	}
	res, _ = x2.Wait(ctx)
	if res.Status != states.StatusSucceeded {
		t.Fatalf("retry %s %s (%s)", res.Status, res.Error, res.Cause)
	}
	if got := w.CallCount(sim.CallKey{Region: regionG, Service: "Global Accelerator", Operation: "UpdateEndpointGroup"}); got != updates {
		t.Fatalf("the retry changed endpoint weights (%d → %d UpdateEndpointGroup calls)", updates, got)
	}
	rec = mustMode(t, r.control, ModeFailedOver)
	var facts struct {
		Outcome          string
		RestoreRetriedBy string
		Restore          struct{ Source string }
		Replay           ReplayTotals
		Probe            map[string]any
	}
	if err := json.Unmarshal(rec.FailoverFacts, &facts); err != nil {
		t.Fatal(err)
	}
	if rec.RestorePending || facts.Outcome != "complete" || facts.Restore.Source != "pitr" || facts.Replay.RestorePoint == "" || !strings.HasSuffix(facts.RestoreRetriedBy, ":retry") || len(facts.Probe) == 0 {
		t.Fatalf("record after the retry: pending %v, facts %s", rec.RestorePending, rec.FailoverFacts)
	}
	aggB := aggregate.New(r.bdb, aggregate.Options{Table: aggTable, Region: regionB, Clock: clk})
	if _, ok, err := aggB.Marker(ctx, "p-2"); err != nil || !ok {
		t.Fatalf("B's restored table lacks p-2: %v %v", ok, err)
	}
}
