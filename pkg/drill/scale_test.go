package drill

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/local"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// scaleConfig is the scale scenario, small: 3,000 synthetic records in 300
// objects during a 3-hour failover.
func scaleConfig(t *testing.T) Config {
	cfg := shortConfig(t)
	cfg.Scenario, cfg.Rate, cfg.Warmup, cfg.Outage = "scale", 0, 10*time.Minute, 3*time.Hour
	cfg.ScaleRecords, cfg.ScaleObjects = 3000, 300
	return cfg
}

func TestDrillScale(t *testing.T) {
	rep := runDrill(t, scaleConfig(t))
	if !rep.Passed {
		var b strings.Builder
		_ = WriteText(&b, rep)
		t.Fatalf("the small scale drill failed:\n%s", b.String())
	}
	sc := rep.Scale
	if sc == nil || sc.Records != 3000 || sc.Objects != 300 {
		t.Fatalf("scale figures %+v, want 3000 records in 300 objects", sc)
	}
	// The first pass's two Distributed Maps at least had children; no
	// history is near the limit. The executions ended in the run:
	// failover, failback, the nightly batch and the isolated drill.
	if sc.ChildExecutions < 2 || sc.Executions < 4 || sc.MaxChildHistoryEvents == 0 ||
		sc.MaxHistoryEvents < sc.MaxChildHistoryEvents || sc.MaxHistoryEvents >= states.DefaultMaxHistoryEvents {
		t.Fatalf("executions %+v", sc)
	}
	if sc.FailbackSeconds <= 0 || sc.FailbackSeconds != rep.Failback.Seconds || sc.PeakRSSBytes <= 0 {
		t.Fatalf("failback %.0fs (report %+v), peak RSS %d", sc.FailbackSeconds, rep.Failback, sc.PeakRSSBytes)
	}
	if s := rep.Stores[StoreAggregates]; s.Expected < 3000 || s.Present != s.Expected {
		t.Fatalf("aggregates store %+v: every synthetic record expected and present", s)
	}
}

// A synthetic record missing from P's aggregates, or a synthetic object
// from P's raw bucket, fails the scale drill: the accounting checks each.
func TestDrillScaleDetectsLoss(t *testing.T) {
	cfg := scaleConfig(t)
	var deletedObject string
	cfg.BeforeAccounting = func(ctx context.Context, l *local.Local) error {
		db := l.World.Region(l.Regions.Primary).DynamoDB()
		if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(l.Names.AggregatesTable()), Key: aggregate.MarkerKey(scaleID(7))}); err != nil {
			return err
		}
		var err error
		deletedObject, err = deleteRawObject(ctx, l, func(_, body string) bool {
			return strings.Contains(body, `"id":"`+scaleID(2000)+`"`)
		})
		return err
	}
	rep := runDrill(t, cfg)
	if deletedObject == "" {
		t.Fatal("nothing deleted")
	}
	cs := checks(rep)
	if c := cs["lost:aggregates"]; c.Passed || rep.Stores[StoreAggregates].Lost != 1 {
		t.Fatalf("a deleted marker went unnoticed: check %+v, store %+v", c, rep.Stores[StoreAggregates])
	}
	// The object held records 2000..2009.
	if c := cs["lost:s3"]; c.Passed || rep.Stores[StoreS3].Lost != 10 {
		t.Fatalf("deleted %s unnoticed: check %+v, store %+v", deletedObject, c, rep.Stores[StoreS3])
	}
	if rep.Passed {
		t.Fatal("the scale drill passed with synthetic records missing")
	}
}
