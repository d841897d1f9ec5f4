package dr

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/pendulum-dr/pendulum/pkg/partition"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// createCatalog makes the raw and curated tables in region's catalog.
func createCatalog(t testing.TB, w *sim.World, cfg Config, region string) *sim.Glue {
	t.Helper()
	ctx := context.Background()
	g := w.Region(region).Glue()
	if _, err := g.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String(cfg.GlueDatabase)}}); err != nil {
		t.Fatal(err)
	}
	raw, _ := cfg.RawBucket(region)
	curated, _ := cfg.CuratedBucket(region)
	for _, tb := range []struct{ name, bucket string }{{"raw", raw}, {"curated", curated}} {
		if _, err := g.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String(cfg.GlueDatabase), TableInput: &gluetypes.TableInput{
			Name:              aws.String(tb.name),
			PartitionKeys:     []gluetypes.Column{{Name: aws.String("dt"), Type: aws.String("string")}, {Name: aws.String("hr"), Type: aws.String("string")}},
			StorageDescriptor: &gluetypes.StorageDescriptor{Location: aws.String("s3://" + tb.bucket + "/"), Columns: []gluetypes.Column{{Name: aws.String("id"), Type: aws.String("string")}}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func TestReconcileRegistersOnlyMissing(t *testing.T) {
	ctx := context.Background()
	cw := newCopyWorld(t)
	cfg := cw.cfg
	g := createCatalog(t, cw.w, cfg, regionB)
	raw := cfg.BackupRawBucket
	for _, k := range []string{"dt=2026-11-25/hr=08/a", "dt=2026-11-25/hr=08/b", "dt=2026-11-25/hr=09/a", "dt=2026-11-25/hr=10/a", "dt=2026-11-26/hr=00/a",
		"errors/processing-failed/dt=2026-11-25/x", "dt=2026-11-25/hr=11/_temporary/0"} {
		put(t, cw.b, raw, k, "x")
	}
	put(t, cw.b, cfg.BackupCuratedBucket, "dt=2026-11-24/hr=00/part.parquet", "x")
	// The catalog already has hr=08 (registered by the partitions Lambda).
	reg := partition.NewRegistrar(g, cfg.GlueDatabase, 0)
	rawTable, _ := partition.Table{Name: "raw", Bucket: raw, Layout: partition.LayoutHive}.Normalize()
	if _, err := reg.Register(ctx, rawTable, []partition.Partition{{DT: "2026-11-25", HR: "08"}}); err != nil {
		t.Fatal(err)
	}
	before := cw.w.CallCount(sim.CallKey{Operation: "BatchCreatePartition"})

	r := &Reconcile{Config: cfg, Database: cfg.GlueDatabase, Clients: func(region string) (ObjectLister, CatalogAPI, error) {
		return cw.w.Region(region).S3(), cw.w.Region(region).Glue(), nil
	}}
	out, err := r.Handle(ctx, ReconcileInput{Region: regionB})
	if err != nil {
		t.Fatal(err)
	}
	want := []TableReconcile{{Table: "raw", Partitions: 4, Registered: 3, Present: 1}, {Table: "curated", Partitions: 1, Registered: 1, Present: 0}}
	if len(out.Tables) != 2 || out.Tables[0] != want[0] || out.Tables[1] != want[1] {
		t.Fatalf("tables = %+v, want %+v", out.Tables, want)
	}
	if got, want := g.PartitionCount(cfg.GlueDatabase, "raw"), 4; got != want {
		t.Fatalf("raw partitions in catalog = %d, want %d", got, want)
	}
	// One BatchCreatePartition per table with missing partitions, none for
	// the partition already present.
	if got := cw.w.CallCount(sim.CallKey{Operation: "BatchCreatePartition"}) - before; got != 2 {
		t.Fatalf("BatchCreatePartition calls = %d, want 2", got)
	}
	// A re-run registers nothing.
	out, err = r.Handle(ctx, ReconcileInput{Region: regionB})
	if err != nil || out.Tables[0].Registered != 0 || out.Tables[0].Present != 4 {
		t.Fatalf("re-run = %+v, %v", out, err)
	}
	if _, err := r.Handle(ctx, ReconcileInput{Region: "eu-west-1"}); kindOf(err) != "invalid" {
		t.Fatalf("unknown region: %v", err)
	}
	cw.w.SetDown(regionB, true)
	if _, err := r.Handle(ctx, ReconcileInput{Region: regionB}); kindOf(err) != "transient" {
		t.Fatalf("region down: %v", err)
	}
}
