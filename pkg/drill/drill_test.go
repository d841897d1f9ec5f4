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
	for _, name := range []string{"noneLostInS3", "noneLostInAggregates", "noneDoubleCounted", "catalogComplete"} {
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
	for _, want := range []string{"ingest RTO", "full RTO", "failover:", "lost:", "Glue API calls"} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("text report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestDrillDetectsLoss deletes an object from P's raw bucket before the
// accounting: the drill must notice the lost records and fail.
func TestDrillDetectsLoss(t *testing.T) {
	cfg := shortConfig(t)
	deleted := 0
	cfg.BeforeAccounting = func(ctx context.Context, l *local.Local) error {
		c := l.World.Region(l.Regions.Primary).S3()
		bucket := l.Names.Bucket("raw", l.Regions.Primary)
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			return err
		}
		for _, o := range out.Contents {
			obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				return err
			}
			zr, err := gzip.NewReader(obj.Body)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(zr)
			obj.Body.Close()
			if err != nil {
				return err
			}
			// An object holding producer records, not only canaries.
			if strings.HasPrefix(aws.ToString(o.Key), "dt=") && strings.Contains(string(body), `"producer":"drill-`) {
				if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
					return err
				}
				deleted++
				return nil
			}
		}
		return fmt.Errorf("no raw object to delete")
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 1 {
		t.Fatalf("deleted %d objects, want 1", deleted)
	}
	if c := checks(rep)["noneLostInS3"]; c.Passed || rep.Records.LostS3 == 0 {
		t.Fatalf("a deleted raw object went unnoticed: check %+v, lost %d", c, rep.Records.LostS3)
	}
	if rep.Passed {
		t.Fatal("the drill passed with records missing from the raw bucket")
	}
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
