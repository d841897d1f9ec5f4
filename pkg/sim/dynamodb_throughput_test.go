package sim

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestDynamoDBOnDemandThroughput checks that an on-demand table and its
// global index are described with zero provisioned capacity, as DynamoDB
// describes them, and a provisioned table with what it was given.
func TestDynamoDBOnDemandThroughput(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := ddbTestTable(t, w, clk, "aggregates")
	check := func(what string, pt *ddbtypes.ProvisionedThroughputDescription, rcu, wcu int64) {
		t.Helper()
		if pt == nil {
			t.Fatalf("%s: no ProvisionedThroughput", what)
		}
		if got, want := aws.ToInt64(pt.ReadCapacityUnits), rcu; pt.ReadCapacityUnits == nil || got != want {
			t.Fatalf("%s: ReadCapacityUnits = %v, want %d", what, pt.ReadCapacityUnits, want)
		}
		if got, want := aws.ToInt64(pt.WriteCapacityUnits), wcu; pt.WriteCapacityUnits == nil || got != want {
			t.Fatalf("%s: WriteCapacityUnits = %v, want %d", what, pt.WriteCapacityUnits, want)
		}
		if got, want := aws.ToInt64(pt.NumberOfDecreasesToday), int64(0); pt.NumberOfDecreasesToday == nil || got != want {
			t.Fatalf("%s: NumberOfDecreasesToday = %v, want %d", what, pt.NumberOfDecreasesToday, want)
		}
	}
	out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("aggregates")})
	if err != nil {
		t.Fatal(err)
	}
	check("on-demand table", out.Table.ProvisionedThroughput, 0, 0)

	_, err = c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("objects"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}, {AttributeName: aws.String("g"), AttributeType: "S"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{IndexName: aws.String("by-g"),
			KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: aws.String("g"), KeyType: "HASH"}},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("objects")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(out.Table.GlobalSecondaryIndexes), 1; got != want {
		t.Fatalf("global indexes = %d, want %d", got, want)
	}
	check("on-demand global index", out.Table.GlobalSecondaryIndexes[0].ProvisionedThroughput, 0, 0)

	_, err = c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("provisioned"), BillingMode: ddbtypes.BillingModeProvisioned,
		ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(7)},
		AttributeDefinitions:  []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}},
		KeySchema:             []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("provisioned")})
	if err != nil {
		t.Fatal(err)
	}
	check("provisioned table", out.Table.ProvisionedThroughput, 5, 7)
}
