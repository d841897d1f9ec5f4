package dr

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// The test world's regions and names, as the local drill uses them.
const (
	regionP = "us-east-1"
	regionB = "us-east-2"
	regionG = "us-west-2"
	account = "111111111111"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{
		PrimaryRegion: regionP, BackupRegion: regionB, GlobalRegion: regionG, NamePrefix: "pendulum",
		ControlTable: "pendulum-dr-control", AggregatesTable: "pendulum-aggregates", GlueDatabase: "pendulum_analytics",
		PrimaryRawBucket: "pendulum-raw-" + account + "-" + regionP, PrimaryCuratedBucket: "pendulum-curated-" + account + "-" + regionP,
		BackupRawBucket: "pendulum-raw-" + account + "-" + regionB, BackupCuratedBucket: "pendulum-curated-" + account + "-" + regionB,
		LoadBalancerName: "pendulum-ingest", TopicARN: "arn:aws:sns:" + regionB + ":" + account + ":pendulum-dr",
		Region: regionB,
	}
}

func newWorld(t testing.TB) (*sim.World, *clock.Virtual) {
	t.Helper()
	clk := clock.NewVirtual(t0)
	return sim.NewWorld(clk, account, regionP, regionB, regionG), clk
}

// createTable makes an ACTIVE table keyed pk (+ sk when withSK).
func createTable(t testing.TB, db *sim.DynamoDB, name string, withSK bool) {
	t.Helper()
	db.SetCreateDelay(0)
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
	}
	if withSK {
		in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange})
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS})
	}
	if _, err := db.CreateTable(context.Background(), in); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
}

// createBucket makes a versioned bucket.
func createBucket(t testing.TB, c *sim.S3, region, name string) {
	t.Helper()
	ctx := context.Background()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := c.CreateBucket(ctx, in); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("versioning %s: %v", name, err)
	}
}

func kindOf(err error) string {
	if err == nil {
		return "nil"
	}
	return fault.Classify(err).String()
}

func newVirtualAt(at time.Time) *clock.Virtual { return clock.NewVirtual(at) }
