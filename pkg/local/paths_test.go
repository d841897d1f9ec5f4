package local

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"github.com/aws/smithy-go"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/producer"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// controlItem reads one string attribute of the control record.
func controlItem(t *testing.T, l *Local, attr string) string {
	t.Helper()
	out, err := l.World.Region(l.Regions.Backup).DynamoDB().GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(l.Names.ControlTable()), Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "dr"}}})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := out.Item[attr].(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// run starts machine with input and waits for its end.
func run(t *testing.T, l *Local, machine, input string) (*states.Execution, states.Result) {
	t.Helper()
	x, res, err := l.Run(context.Background(), machine, input)
	if err != nil {
		t.Fatal(err)
	}
	return x, res
}

func mustStatus(t *testing.T, x *states.Execution, res states.Result, want states.Status, wantErr string) {
	t.Helper()
	if res.Status != want || (wantErr != "" && res.Error != wantErr) {
		t.Fatalf("%s: %s %s (%s), want %s %s\n%s", x.Name(), res.Status, res.Error, res.Cause, want, wantErr, strings.Join(FailureLog(x), "\n"))
	}
}

// failedOver returns an installation that has failed over (P reachable,
// point-in-time restore) with records counted before.
func failedOver(t *testing.T, opts Options) *Local {
	t.Helper()
	opts.NoAutoFailover = true
	l := newLocal(t, opts)
	produce(t, l, "sensor-1", 20)
	if err := l.Sleep(context.Background(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	x, res := run(t, l, "failover", `{"approval":false}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	return l
}

// TestFailoverRerunIsNoop: a second failover after a finished one changes
// nothing and says so.
func TestFailoverRerunIsNoop(t *testing.T) {
	l := failedOver(t, Options{})
	since := controlItem(t, l, "since")
	x, res := run(t, l, "failover", `{}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	var out struct{ Status, Message string }
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "noop" || !strings.Contains(strings.ToLower(out.Message), "already") {
		t.Fatalf("re-run output %s, want a noop saying it is already failed over", res.Output)
	}
	if got := controlMode(t, l); got != "FAILED_OVER" || controlItem(t, l, "since") != since {
		t.Fatalf("mode %s since %s after the re-run, want FAILED_OVER since %s", got, controlItem(t, l, "since"), since)
	}
}

// TestFailoverConcurrentStartRefused: two failovers started at the same
// moment: one takes the lock and finishes, the other is refused with a
// cause naming the holder.
func TestFailoverConcurrentStartRefused(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	a, err := l.StartExecution(ctx, "failover", "first", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.StartExecution(ctx, "failover", "second", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	xa, _ := l.Engine.Execution(a)
	xb, _ := l.Engine.Execution(b)
	ra, err := xa.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := xb.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	winner, loser, lres, holder := ra, rb, rb, "first"
	if ra.Status != states.StatusSucceeded {
		winner, loser, lres, holder = rb, ra, ra, "second"
	}
	if winner.Status != states.StatusSucceeded || loser.Status != states.StatusFailed || lres.Error != "Refused" {
		t.Fatalf("outcomes %s (%s) and %s (%s), want one SUCCEEDED and one FAILED Refused", ra.Status, ra.Error, rb.Status, rb.Error)
	}
	if !strings.Contains(lres.Cause, holder) {
		t.Fatalf("refusal cause %q does not name the holder %s", lres.Cause, holder)
	}
	if got := controlMode(t, l); got != "FAILED_OVER" {
		t.Fatalf("mode %s, want FAILED_OVER", got)
	}
}

// awaitApproval advances time until execution asks for approval.
func awaitApproval(t *testing.T, l *Local, execution string) Approval {
	t.Helper()
	x, _ := l.Engine.Execution(execution)
	for range 120 {
		for _, a := range l.Approvals() {
			if a.Execution == execution {
				return a
			}
		}
		if res := x.Result(); res.Status != states.StatusRunning {
			t.Fatalf("%s ended %s (%s: %s) before asking for approval", execution, res.Status, res.Error, res.Cause)
		}
		if err := l.Sleep(context.Background(), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%s never asked for approval", execution)
	return Approval{}
}

// TestFailoverApproval: a denial and a timeout both abort cleanly: the
// execution fails with the named error and the mode is PRIMARY again.
func TestFailoverApproval(t *testing.T) {
	for _, tt := range []struct {
		name, input, wantErr string
		deny                 bool
	}{
		{"Denied", `{}`, "ApprovalDenied", true},
		{"TimedOut", `{"approvalTimeoutSeconds":60}`, "ApprovalTimedOut", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true, EditTemplate: withFailoverApproval})
			arn, err := l.StartExecution(ctx, "failover", "", tt.input)
			if err != nil {
				t.Fatal(err)
			}
			a := awaitApproval(t, l, arn)
			if !strings.Contains(a.Message, a.Token) {
				t.Fatalf("approval message lacks the task token: %q", a.Message)
			}
			if tt.deny {
				if err := l.Deny(a.Token, "not now"); err != nil {
					t.Fatal(err)
				}
			}
			res := waitStatus(t, l, arn, states.StatusFailed)
			if res.Error != tt.wantErr {
				t.Fatalf("error %s (%s), want %s", res.Error, res.Cause, tt.wantErr)
			}
			if got := controlMode(t, l); got != "PRIMARY" {
				t.Fatalf("mode %s, want PRIMARY", got)
			}
			if l.RegionStats(l.Regions.Backup).Serving {
				t.Fatal("B was activated although nothing was approved")
			}
		})
	}
}

// TestFailoverRestoreFromBackup: when point-in-time restore is impossible
// (P unreachable, or PITR off), failover restores the newest AWS Backup
// copy in B's vault.
func TestFailoverRestoreFromBackup(t *testing.T) {
	for _, tt := range []struct {
		name    string
		breakIt func(t *testing.T, l *Local)
	}{
		{"PrimaryDown", func(t *testing.T, l *Local) { l.World.SetDown(l.Regions.Primary, true) }},
		{"PITROff", func(t *testing.T, l *Local) {
			if _, err := l.World.Region(l.Regions.Primary).DynamoDB().UpdateContinuousBackups(context.Background(), &dynamodb.UpdateContinuousBackupsInput{
				TableName:                        aws.String(l.Names.AggregatesTable()),
				PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(false)}}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true, EditTemplate: withBackupSchedule("cron(0/10 * * * ? *)")})
			produce(t, l, "sensor-1", 30)
			if err := l.Sleep(context.Background(), 40*time.Minute); err != nil { // a backup taken and copied to B
				t.Fatal(err)
			}
			tt.breakIt(t, l)
			x, res := run(t, l, "failover", `{}`)
			mustStatus(t, x, res, states.StatusSucceeded, "")
			if facts := controlItem(t, l, "failoverFacts"); !strings.Contains(facts, `"source":"backup"`) {
				t.Fatalf("failover facts %s, want restore source backup", facts)
			}
			if got, want := countMarkers(t, l, l.Regions.Backup), 30; got != want {
				t.Fatalf("markers restored from the backup copy = %d, want %d", got, want)
			}
		})
	}
}

// TestFailoverTransientErrors: throttling of an aws-sdk task and of a
// Lambda step's API calls is retried and the failover succeeds.
func TestFailoverTransientErrors(t *testing.T) {
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	B := l.Regions.Backup
	l.World.Inject(&sim.Fault{Region: B, Service: "DynamoDB", Operation: "RestoreTableToPointInTime", Err: sim.ThrottlingError(), Times: 2})
	l.World.Inject(&sim.Fault{Region: B, Service: "CloudFormation", Operation: "DescribeStacks", Err: sim.ThrottlingError(), Times: 2})
	x, res := run(t, l, "failover", `{}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	var throttledSDK, transientLambda int
	for _, ev := range x.History() {
		if d := ev.TaskFailedEventDetails; d != nil && d.Error == "DynamoDb.ThrottlingException" {
			throttledSDK++
		}
		if d := ev.LambdaFunctionFailedEventDetails; d != nil && d.Error == "TransientError" {
			transientLambda++
		}
	}
	if throttledSDK != 2 || transientLambda < 2 {
		t.Fatalf("retried failures: %d DynamoDb.ThrottlingException (want 2), %d TransientError (want ≥ 2)", throttledSDK, transientLambda)
	}
	if facts := controlItem(t, l, "failoverFacts"); !strings.Contains(facts, `"source":"pitr"`) {
		t.Fatalf("failover facts %s, want restore source pitr", facts)
	}
}

// TestFailbackRefusedWhilePrimaryUnhealthy: with P down, failback stops
// at the health check, changes nothing and traffic stays in B.
func TestFailbackRefusedWhilePrimaryUnhealthy(t *testing.T) {
	l := failedOver(t, Options{})
	l.World.SetDown(l.Regions.Primary, true)
	if err := l.Sleep(context.Background(), 10*time.Minute); err != nil { // the canary reports P unhealthy
		t.Fatal(err)
	}
	x, res := run(t, l, "failback", `{"minHealthyMinutes":5}`)
	mustStatus(t, x, res, states.StatusFailed, "PrimaryUnhealthy")
	if got := controlMode(t, l); got != "FAILED_OVER" {
		t.Fatalf("mode %s, want FAILED_OVER", got)
	}
	if got := servedBy(t, l); got != l.Regions.Backup {
		t.Fatalf("served by %q, want %s", got, l.Regions.Backup)
	}
}

// TestFailbackCatchesWritesDuringSwitch: producers keep writing while
// failback runs; records B took after the first copy-back pass are caught
// by the second, and every acknowledged record ends up in P's raw bucket
// and aggregates exactly once.
func TestFailbackCatchesWritesDuringSwitch(t *testing.T) {
	ctx := context.Background()
	l := failedOver(t, Options{})
	P := l.Regions.Primary
	p, err := producer.Open(producer.Config{Dir: t.TempDir(), Endpoint: l.AcceleratorURL, Client: l.HTTPClient(),
		Clock: l.Clock, Name: "steady", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pctx, stop := context.WithCancel(ctx)
	done := l.Clock.Go(func() { _ = p.Run(pctx) })
	gen := l.Clock.Go(func() {
		for i := 0; pctx.Err() == nil; i++ {
			if _, err := p.Produce(pctx, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				return
			}
			if l.Clock.Sleep(pctx, time.Second) != nil {
				return
			}
		}
	})
	if err := l.Sleep(ctx, 12*time.Minute); err != nil { // P healthy for the window, B taking writes
		t.Fatal(err)
	}
	x, res := run(t, l, "failback", `{"minHealthyMinutes":5}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	if err := l.Sleep(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	stop()
	_ = l.Clock.Await(ctx, gen, 0)
	_ = l.Clock.Await(ctx, done, 0)
	if err := p.Send(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Sleep(ctx, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	var facts struct {
		Copy2  struct{ Copied int } `json:"copy2"`
		Merge1 struct{ Merged int } `json:"merge1"`
	}
	if err := json.Unmarshal([]byte(controlItem(t, l, "failbackFacts")), &facts); err != nil {
		t.Fatalf("failback facts: %v", err)
	}
	if facts.Copy2.Copied == 0 {
		t.Fatalf("the second copy-back pass copied nothing (facts %s): writes during the switch were not exercised", controlItem(t, l, "failbackFacts"))
	}
	if facts.Merge1.Merged == 0 {
		t.Fatal("the first merge merged nothing")
	}
	acked := p.AckedIDs()
	if len(acked) == 0 {
		t.Fatal("nothing acknowledged")
	}
	inP := rawIDs(t, l, P)
	markers := countMarkers(t, l, P)
	missing := 0
	for _, id := range acked {
		if !inP[id] {
			missing++
		}
	}
	if missing != 0 {
		t.Fatalf("%d of %d acknowledged records missing from P's raw bucket", missing, len(acked))
	}
	if want := 20 + len(acked); markers != want {
		t.Fatalf("markers in P = %d, want %d (20 before failover + %d acknowledged since)", markers, want, len(acked))
	}
	if got := controlMode(t, l); got != "PRIMARY" {
		t.Fatalf("mode %s, want PRIMARY", got)
	}
}

// rawIDs returns the record ids found in the region's raw bucket.
func rawIDs(t *testing.T, l *Local, region string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	c := l.World.Region(region).S3()
	bucket := l.Names.Bucket("raw", region)
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, o := range out.Contents {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range gunzipLines(t, obj.Body) {
			var rec struct{ ID string }
			if json.Unmarshal([]byte(line), &rec) == nil {
				ids[rec.ID] = true
			}
		}
	}
	return ids
}

// gunzipLines reads a GZIP NDJSON object's lines.
func gunzipLines(t *testing.T, body io.ReadCloser) []string {
	t.Helper()
	defer body.Close()
	zr, err := gzip.NewReader(body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestNightlyBatchRerunIdentical: the nightly batch compacts a day's raw
// hours into Parquet in P's curated bucket (and the curated partition is
// registered); a re-run produces byte-identical output.
func TestNightlyBatchRerunIdentical(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	P := l.Regions.Primary
	produce(t, l, "sensor-1", 25)
	if err := l.Sleep(ctx, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	day := l.Now().Format("2006-01-02")
	input := fmt.Sprintf(`{"date":%q}`, day)
	curated := l.Names.Bucket("curated", P)
	read := func() map[string]string {
		out, err := l.World.Region(P).S3().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(curated)})
		if err != nil {
			t.Fatal(err)
		}
		objs := map[string]string{}
		for _, o := range out.Contents {
			obj, err := l.World.Region(P).S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(curated), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			objs[aws.ToString(o.Key)] = string(b)
		}
		return objs
	}
	// The nightly batch runs in P, on P's buckets, as its schedule there
	// starts it.
	x, res, err := l.RunIn(ctx, P, "nightly-batch", input)
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, x, res, states.StatusSucceeded, "")
	first := read()
	if len(first) == 0 {
		t.Fatalf("nothing written to %s (output %s)", curated, res.Output)
	}
	if err := l.Sleep(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := l.World.Region(P).Glue().PartitionCount(l.Names.GlueDatabase(), "curated"); got == 0 {
		t.Fatal("the curated partition was not registered")
	}
	x2, res2, err := l.RunIn(ctx, P, "nightly-batch", input)
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, x2, res2, states.StatusSucceeded, "")
	second := read()
	if len(second) != len(first) {
		t.Fatalf("re-run wrote %d objects, first run %d", len(second), len(first))
	}
	for k, v := range first {
		if second[k] != v {
			t.Fatalf("re-run changed %s", k)
		}
	}
	if string(res.Output) != string(res2.Output) {
		t.Fatalf("outputs differ:\n%s\n%s", res.Output, res2.Output)
	}
}

// TestDrillIsolated: the isolated drill restores P's table to a drill
// table in B, verifies it, removes it and reports passed, without
// touching the DR mode or production traffic. The installation is
// deployed before the daily backup, so B's vault holds its copy when the
// drill judges the newest one (readiness.RecoveryPoint).
func TestDrillIsolated(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true, Start: beforeDailyBackup})
	produce(t, l, "sensor-1", 30)
	if err := l.Sleep(ctx, 30*time.Minute); err != nil { // replicas and partitions settled, PITR window past the writes
		t.Fatal(err)
	}
	x, res := run(t, l, "drill", `{"mode":"isolated"}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	if !strings.Contains(string(res.Output), `"passed":true`) {
		t.Fatalf("drill output %s, want passed", res.Output)
	}
	tables, err := l.World.Region(l.Regions.Backup).DynamoDB().ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range tables.TableNames {
		if strings.Contains(name, "-drill-") {
			t.Fatalf("drill table %s left behind", name)
		}
	}
	if got := controlMode(t, l); got != "PRIMARY" {
		t.Fatalf("mode %s, want PRIMARY", got)
	}
	if got := servedBy(t, l); got != l.Regions.Primary {
		t.Fatalf("served by %q during an isolated drill, want %s", got, l.Regions.Primary)
	}
}

// TestDrillGameDay: the game-day drill runs a real failover and failback
// as child executions (states:startExecution.sync:2) and ends PRIMARY.
func TestDrillGameDay(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true})
	produce(t, l, "sensor-1", 10)
	if err := l.Sleep(ctx, 35*time.Minute); err != nil { // P healthy for the default failback window
		t.Fatal(err)
	}
	x, res := run(t, l, "drill", `{"mode":"gameday"}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	if !strings.Contains(string(res.Output), `"passed":true`) {
		t.Fatalf("game-day output %s, want passed", res.Output)
	}
	if got := controlMode(t, l); got != "PRIMARY" {
		t.Fatalf("mode %s, want PRIMARY", got)
	}
	if got := servedBy(t, l); got != l.Regions.Primary {
		t.Fatalf("served by %q after the game day, want %s", got, l.Regions.Primary)
	}
}

// TestFailoverResumesInterrupted: a failover stopped mid-way leaves the
// lock FAILING_OVER; a plain run is refused (the stop was not the Catch
// path: the operator chooses), and the run with {"abandoned":"resume"}
// takes it over and finishes (every step is idempotent: the restore
// already under way is resumed, not repeated).
func TestFailoverResumesInterrupted(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	produce(t, l, "sensor-1", 10)
	if err := l.Sleep(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	arn, err := l.StartExecution(ctx, "failover", "interrupted", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Sleep(ctx, 90*time.Second); err != nil { // inside Recover: activation and restore under way
		t.Fatal(err)
	}
	x, _ := l.Engine.Execution(arn)
	x.Stop("Operator", "stopped by the test")
	waitStatus(t, l, arn, states.StatusAborted)
	if got := controlMode(t, l); got != "FAILING_OVER" {
		t.Fatalf("mode %s after the interruption, want FAILING_OVER", got)
	}
	xr, res := run(t, l, "failover", `{}`)
	mustStatus(t, xr, res, states.StatusFailed, "Refused")
	x2, res := run(t, l, "failover", `{"abandoned":"resume"}`)
	mustStatus(t, x2, res, states.StatusSucceeded, "")
	var resumed bool
	for _, ev := range x2.History() {
		if d := ev.StateExitedEventDetails; d != nil && d.Name == "Begin" {
			resumed = strings.Contains(d.Output, `"resumed":true`)
		}
	}
	if !resumed {
		t.Fatal("the second run did not report resuming the interrupted failover")
	}
	if got := controlMode(t, l); got != "FAILED_OVER" {
		t.Fatalf("mode %s, want FAILED_OVER", got)
	}
	if got, want := countMarkers(t, l, l.Regions.Backup), countMarkers(t, l, l.Regions.Primary); got != want {
		t.Fatalf("markers in B = %d, want %d", got, want)
	}
}

// TestFailbackApprovalDenied: a denied failback changes nothing: the mode
// stays FAILED_OVER and B keeps serving.
func TestFailbackApprovalDenied(t *testing.T) {
	ctx := context.Background()
	l := failedOver(t, Options{})
	if err := l.Sleep(ctx, 7*time.Minute); err != nil { // P healthy for the window
		t.Fatal(err)
	}
	arn, err := l.StartExecution(ctx, "failback", "", `{"approval":true,"minHealthyMinutes":5}`)
	if err != nil {
		t.Fatal(err)
	}
	a := awaitApproval(t, l, arn)
	if err := l.Deny(a.Token, "not now"); err != nil {
		t.Fatal(err)
	}
	res := waitStatus(t, l, arn, states.StatusFailed)
	if res.Error != "ApprovalDenied" {
		t.Fatalf("error %s (%s), want ApprovalDenied", res.Error, res.Cause)
	}
	if got := controlMode(t, l); got != "FAILED_OVER" {
		t.Fatalf("mode %s, want FAILED_OVER", got)
	}
	if got := servedBy(t, l); got != l.Regions.Backup {
		t.Fatalf("served by %q, want %s", got, l.Regions.Backup)
	}
}

// TestFailoverSucceedsWhenReportFails: the report comes after the DR mode
// is recorded as FAILED_OVER; a report that cannot be published takes the
// report's place in the output and does not fail the workflow.
func TestFailoverSucceedsWhenReportFails(t *testing.T) {
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: cloudwatch:PutMetricData"}
	l.World.Inject(&sim.Fault{Region: l.Regions.Backup, Service: "CloudWatch", Operation: "PutMetricData", Err: denied})
	x, res := run(t, l, "failover", `{}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	var out struct {
		Status string
		Report struct{ Error, Cause string }
	}
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "FAILED_OVER" || out.Report.Error != "PermissionError" || !strings.Contains(out.Report.Cause, "PutMetricData") {
		t.Fatalf("output %s, want status FAILED_OVER with the report's PermissionError in its place", res.Output)
	}
	if got := controlMode(t, l); got != "FAILED_OVER" {
		t.Fatalf("mode %s, want FAILED_OVER", got)
	}
}

// TestInvalidConsoleInput: a wrong input, as a person might type it in the
// console, ends the execution in the InvalidInput Fail state with a cause
// naming what to fix, and changes nothing (no lock, no stack update).
func TestInvalidConsoleInput(t *testing.T) {
	tests := []struct {
		machine, input, wantInCause string
	}{
		{"failover", `{"restoreSource":"tape"}`, "restoreSource"},
		{"failover", `{"approvalTimeoutSeconds":5}`, "approvalTimeoutSeconds"},
		{"failover", `{"reasn":"typo"}`, "reasn"},
		{"failover", `["not","an","object"]`, "object"},
		{"failback", `{"minHealthyMinutes":-1}`, "minHealthyMinutes"},
		{"drill", `{"mode":"chaos"}`, "mode"},
	}
	for _, tt := range tests {
		t.Run(tt.machine+"/"+tt.wantInCause, func(t *testing.T) {
			l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
			before := l.World.CallCount(sim.CallKey{Service: "CloudFormation", Operation: "UpdateStack"})
			x, res := run(t, l, tt.machine, tt.input)
			mustStatus(t, x, res, states.StatusFailed, "InvalidInput")
			if !strings.Contains(res.Cause, tt.wantInCause) {
				t.Fatalf("cause %q does not name %q", res.Cause, tt.wantInCause)
			}
			if got := controlMode(t, l); got != "PRIMARY" || controlItem(t, l, "execution") != "" {
				t.Fatalf("mode %s, lock %q after a rejected input, want PRIMARY and no lock", got, controlItem(t, l, "execution"))
			}
			if after := l.World.CallCount(sim.CallKey{Service: "CloudFormation", Operation: "UpdateStack"}); after != before {
				t.Fatalf("%d stack updates after a rejected input", after-before)
			}
		})
	}
}

// withFailoverApproval deploys the installation with FailoverApproval on
// (cdk.json's pendulum:failoverApproval), as its synthesized template would.
func withFailoverApproval(stack string, body []byte) []byte {
	return bytes.ReplaceAll(body, []byte(`"FailoverApproval": "false"`), []byte(`"FailoverApproval": "true"`))
}

// withBackupSchedule deploys the installation with the aggregates' backup
// plan on another schedule.
func withBackupSchedule(cron string) func(string, []byte) []byte {
	return func(stack string, body []byte) []byte {
		return bytes.ReplaceAll(body, []byte(`"cron(0 3 * * ? *)"`), []byte(`"`+cron+`"`))
	}
}
