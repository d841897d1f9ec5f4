package drill

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/local"
)

// snapshot is the synthesized installation (pkg/assembly's snapshot of
// `make synth`), read once.
var snapshot = sync.OnceValues(func() (*assembly.Assembly, error) { return assembly.Read("../assembly/testdata/cdk.out") })

// shortConfig is a small scenario that still covers every phase, on the
// synthesized installation.
func shortConfig(t testing.TB) Config {
	t.Helper()
	a, err := snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return Config{Producers: 1, Rate: 2, Warmup: 10 * time.Minute, Outage: 25 * time.Minute, MinHealthyMinutes: 5, Assembly: a}
}

func checks(rep *Report) map[string]Check {
	out := map[string]Check{}
	for _, c := range rep.Checks {
		out[c.Name] = c
	}
	return out
}

// TestDrillAccounting runs the short scenario and checks its accounting:
// every acknowledged record is found in P's raw bucket and aggregates, the
// alarm started failover, and the report's verdict is the conjunction of
// its checks.
func TestDrillAccounting(t *testing.T) {
	rep, err := Run(context.Background(), shortConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Denied) > 0 {
		t.Fatalf("IAM denied %d calls, the first %+v", len(rep.Denied), rep.Denied[0])
	}
	cs := checks(rep)
	if rep.Records.Produced == 0 || rep.Records.Acknowledged == 0 {
		t.Fatalf("nothing produced/acknowledged: %+v", rep.Records)
	}
	if rep.Failover == nil || rep.AlarmSeconds <= 0 {
		t.Fatalf("the alarm did not start failover: %+v", rep)
	}
	for _, name := range []string{"lost:s3", "lost:aggregates", "lost:catalog", "doubleCounted:s3", "doubleCounted:aggregates", "catalogComplete"} {
		if c, ok := cs[name]; !ok || !c.Passed {
			t.Errorf("check %s: %+v", name, c)
		}
	}
	passed := true
	for _, c := range rep.Checks {
		passed = passed && c.Passed
	}
	if rep.Passed != passed {
		t.Fatalf("Passed = %t, but the checks say %t", rep.Passed, passed)
	}
	var b strings.Builder
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Passed {
		t.Fatalf("the short drill failed:\n%s", b.String())
	}
	if rep.IngestRTOSeconds <= rep.AlarmSeconds || rep.FullRTOSeconds < rep.IngestRTOSeconds {
		t.Fatalf("RTOs out of order: alarm %.0fs, ingest %.0fs, full %.0fs", rep.AlarmSeconds, rep.IngestRTOSeconds, rep.FullRTOSeconds)
	}
	if rep.Records.ItemsMerged == 0 || rep.Records.ObjectsCopiedBack == 0 || rep.Records.AckedByBackup == 0 {
		t.Fatalf("failback moved nothing back: %+v", rep.Records)
	}
	for _, want := range []string{"ingest RTO", "full RTO", "failover:", "RPO at the outage", "final aggregates", "Glue API calls"} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("text report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestDrillHTTPS runs the short scenario deployed with certificates
// (Config.HTTPS): producers, the canary and the DR probes use https
// through the accelerator, and every invariant holds.
func TestDrillHTTPS(t *testing.T) {
	cfg := shortConfig(t)
	cfg.HTTPS = true
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rep.Endpoint, "https://") {
		t.Fatalf("endpoint %q, want https://", rep.Endpoint)
	}
	if !rep.Passed || rep.Records.AckedByBackup == 0 {
		var b strings.Builder
		_ = WriteText(&b, rep)
		t.Fatalf("the short drill over HTTPS failed or B served nothing:\n%s", b.String())
	}
}

// TestDrillDetectsLoss deletes an object from P's raw bucket before the
// accounting: the drill must notice the lost records and fail.
func TestDrillDetectsLoss(t *testing.T) {
	cfg := shortConfig(t)
	deleted := 0
	cfg.BeforeAccounting = func(ctx context.Context, l *local.Local) error {
		// An object holding producer records, not only canaries.
		_, err := deleteRawObject(ctx, l, func(key, body string) bool {
			return strings.HasPrefix(key, "dt=") && strings.Contains(body, `"producer":"drill-`)
		})
		if err == nil {
			deleted++
		}
		return err
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 1 {
		t.Fatalf("deleted %d objects, want 1", deleted)
	}
	if c := checks(rep)["lost:s3"]; c.Passed || rep.Stores[StoreS3].Lost == 0 {
		t.Fatalf("a deleted raw object went unnoticed: check %+v, store %+v", c, rep.Stores[StoreS3])
	}
	if rep.Passed {
		t.Fatal("the drill passed with records missing from the raw bucket")
	}
}

// deleteRawObject deletes the first gzipped object of P's raw bucket (in
// its first listing page) whose key and uncompressed body match, and
// returns its key; an error when none does.
func deleteRawObject(ctx context.Context, l *local.Local, match func(key, body string) bool) (string, error) {
	c := l.World.Region(l.Regions.Primary).S3()
	bucket := l.Names.Bucket("raw", l.Regions.Primary)
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return "", err
	}
	for _, o := range out.Contents {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			return "", err
		}
		zr, err := gzip.NewReader(obj.Body)
		if err != nil {
			obj.Body.Close()
			continue
		}
		body, err := io.ReadAll(zr)
		obj.Body.Close()
		if err != nil {
			return "", err
		}
		if match(aws.ToString(o.Key), string(body)) {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			return aws.ToString(o.Key), err
		}
	}
	return "", fmt.Errorf("no raw object in %s matches", bucket)
}

// BenchmarkDrill runs the short scenario; virtual-s/wall-s is how much
// faster than real time the drill runs.
func BenchmarkDrill(b *testing.B) {
	b.ReportAllocs()
	var virt, wall float64
	for b.Loop() {
		rep, err := Run(context.Background(), shortConfig(b))
		if err != nil {
			b.Fatal(err)
		}
		virt += rep.VirtualSeconds
		wall += rep.WallSeconds
	}
	b.ReportMetric(virt/wall, "virtual-s/wall-s")
}

// couplingConfig is the default scenario with one producer, on a changed
// copy of the synthesized installation.
func couplingConfig(t *testing.T, edit func(stack string, body []byte) []byte) Config {
	cfg := shortConfig(t)
	cfg.Warmup, cfg.Outage = 20*time.Minute, 30*time.Minute
	cfg.EditTemplate = edit
	return cfg
}

func runDrill(t *testing.T, cfg Config) *Report {
	t.Helper()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The drill rehearses the deployment, not a description of it: a
// permission, the alarm's periods and the backup schedule reach the drill
// only through the assembly, and changing them in a copy changes what the
// drill finds.
func TestDrillFollowsTheAssembly(t *testing.T) {
	base := runDrill(t, couplingConfig(t, nil))
	if !base.Passed || len(base.Denied) != 0 {
		t.Fatalf("the synthesized installation: passed %t, %d denied", base.Passed, len(base.Denied))
	}
	t.Run("PermissionRemoved", func(t *testing.T) {
		rep := runDrill(t, couplingConfig(t, func(stack string, body []byte) []byte {
			if !strings.Contains(stack, "recovery") {
				return body
			}
			return []byte(strings.Replace(string(body), `"Action": "cloudformation:UpdateStack",`, `"Action": "cloudformation:DescribeStackEvents",`, 1))
		}))
		if rep.Passed {
			t.Fatal("the drill passed without dr-stack's cloudformation:UpdateStack")
		}
		named := false
		for _, d := range rep.Denied {
			if d.Action == "cloudformation:UpdateStack" && strings.Contains(d.Role, "DrStack") {
				named = true
			}
		}
		if !named {
			t.Fatalf("the report does not name the denied call: %+v", rep.Denied)
		}
	})
	t.Run("AlarmPeriods", func(t *testing.T) {
		rep := runDrill(t, couplingConfig(t, func(stack string, body []byte) []byte {
			if !strings.Contains(stack, "recovery") {
				return body
			}
			s := strings.Replace(string(body), `"EvaluationPeriods": 3,`, `"EvaluationPeriods": 5,`, 1)
			return []byte(strings.Replace(s, `"DatapointsToAlarm": 3,`, `"DatapointsToAlarm": 5,`, 1))
		}))
		t.Logf("failover started %vs after the outage (synthesized: %vs)", rep.AlarmSeconds, base.AlarmSeconds)
		if got, want := rep.AlarmSeconds-base.AlarmSeconds, 120.0; got != want {
			t.Fatalf("failover started %vs later with 5 of 5 periods than with 3 of 3, want %vs", got, want)
		}
	})
	t.Run("BackupSchedule", func(t *testing.T) {
		rep := runDrill(t, couplingConfig(t, func(stack string, body []byte) []byte {
			return []byte(strings.ReplaceAll(string(body), `"cron(0 3 * * ? *)"`, `"cron(0/5 * * * ? *)"`))
		}))
		if rep.RestoreSource != "backup" || base.RestoreSource != "backup" {
			t.Fatalf("restore sources %q and %q, want backup copies (the primary is down)", base.RestoreSource, rep.RestoreSource)
		}
		t.Logf("restore point %vs old at the outage (synthesized daily plan: %vs)", rep.RestorePointAgeSeconds, base.RestorePointAgeSeconds)
		if rep.RestorePointAgeSeconds >= base.RestorePointAgeSeconds {
			t.Fatalf("restore point %vs old with backups every 5 minutes, %vs with the daily plan: want younger", rep.RestorePointAgeSeconds, base.RestorePointAgeSeconds)
		}
	})
}

// newPrimarySnapshot is the app synthesized with B as the primary and a
// new backup region (testdata/cdk.out.new-primary).
var newPrimarySnapshot = sync.OnceValues(func() (*assembly.Assembly, error) {
	return assembly.Read("../assembly/testdata/cdk.out" + assembly.NewPrimarySuffix)
})

// TestNewPrimary runs the new-primary scenario short: it passes, its
// figures say what was measured, and its checks read the world: with B's
// raw bucket replicating nowhere at the end, replicatesToNewBackup fails.
// Without the second assembly the scenario does not run.
func TestNewPrimary(t *testing.T) {
	ctx := context.Background()
	cfg := shortConfig(t)
	cfg.Scenario = "new-primary"
	if _, err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), "NewPrimaryAssembly") {
		t.Fatalf("without the second assembly: %v", err)
	}
	a, err := newPrimarySnapshot()
	if err != nil {
		t.Fatal(err)
	}
	cfg.NewPrimaryAssembly = a
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if !c.Passed {
			t.Errorf("check %s: %s", c.Name, c.Detail)
		}
	}
	np := rep.NewPrimary
	if !rep.Passed || np == nil {
		t.Fatalf("new-primary: passed %t, redeployment %+v", rep.Passed, np)
	}
	if np.Ingest.Acknowledged == 0 || np.Ingest.ByPrimary != np.Ingest.Acknowledged || np.Table.ItemsBefore == 0 || np.Table.Missing != 0 ||
		len(np.BatchReplication) != 2 || np.BackupCopy == "" {
		t.Fatalf("figures: %+v", np)
	}
	cfg.BeforeAccounting = func(ctx context.Context, l *local.Local) error {
		_, err := l.World.Region(np.Primary).S3().DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String(l.Names.Bucket("raw", np.Primary))})
		return err
	}
	rep, err = Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := checks(rep)["replicatesToNewBackup"]; rep.Passed || c.Passed {
		t.Fatalf("with B's raw bucket replicating nowhere: passed %t, check %+v", rep.Passed, c)
	}
}
