package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestDynamoDBSecondaryIndexes(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := w.Region(s3TestP).DynamoDB()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("objects"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}, {AttributeName: aws.String("sk"), AttributeType: "N"},
			{AttributeName: aws.String("state"), AttributeType: "S"}, {AttributeName: aws.String("at"), AttributeType: "N"}},
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}, {AttributeName: aws.String("sk"), KeyType: "RANGE"}},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{IndexName: aws.String("byState"),
			KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: aws.String("state"), KeyType: "HASH"}, {AttributeName: aws.String("at"), KeyType: "RANGE"}},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeInclude, NonKeyAttributes: []string{"size"}}}},
		LocalSecondaryIndexes: []ddbtypes.LocalSecondaryIndex{{IndexName: aws.String("byAt"),
			KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}, {AttributeName: aws.String("at"), KeyType: "RANGE"}},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeKeysOnly}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, time.Minute)
	// 12 items; every third has no state (sparse in byState); at runs backwards.
	for i := 0; i < 12; i++ {
		item := ddbItem{"pk": ddbS(fmt.Sprintf("p%d", i%2)), "sk": ddbN(fmt.Sprint(i)), "at": ddbN(fmt.Sprint(100 - i)), "size": ddbN("7"), "body": ddbS("x")}
		if i%3 != 0 {
			item["state"] = ddbS("PENDING")
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("objects"), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	query := func(in *dynamodb.QueryInput) ([]ddbItem, int) {
		var items []ddbItem
		pages := 0
		p := dynamodb.NewQueryPaginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			items = append(items, out.Items...)
		}
		return items, pages
	}
	items, pages := query(&dynamodb.QueryInput{TableName: aws.String("objects"), IndexName: aws.String("byState"), Limit: aws.Int32(3),
		KeyConditionExpression:    aws.String("#s = :s AND #a > :a"),
		ExpressionAttributeNames:  map[string]string{"#s": "state", "#a": "at"},
		ExpressionAttributeValues: map[string]ddbAV{":s": ddbS("PENDING"), ":a": ddbN("90")}})
	if got, want := strings.Join(ddbSKs(items), ","), "8,7,5,4,2,1"; got != want {
		t.Fatalf("byState query (ordered by at) = %s, want %s", got, want)
	}
	if pages < 3 {
		t.Fatalf("pages = %d, want at least 3 with Limit 3", pages)
	}
	if _, has := items[0]["body"]; has || items[0]["size"] == nil {
		t.Fatalf("INCLUDE projection returned %v, want keys and size only", items[0])
	}
	items, _ = query(&dynamodb.QueryInput{TableName: aws.String("objects"), IndexName: aws.String("byAt"), ScanIndexForward: aws.Bool(false), Limit: aws.Int32(2),
		KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: map[string]ddbAV{":p": ddbS("p0")}})
	if got, want := strings.Join(ddbSKs(items), ","), "0,2,4,6,8,10"; got != want {
		t.Fatalf("byAt reverse query = %s, want %s", got, want)
	}
	if _, has := items[0]["size"]; has {
		t.Fatalf("KEYS_ONLY projection returned %v", items[0])
	}
	scan, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("objects"), IndexName: aws.String("byState"), Select: ddbtypes.SelectCount})
	if err != nil || scan.Count != 8 {
		t.Fatalf("index scan = %d items, %v; want the 8 with a state", scan.Count, err)
	}
	_, err = c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("objects"), IndexName: aws.String("nope"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]ddbAV{":p": ddbS("p0")}})
	if err == nil || !strings.Contains(err.Error(), "The table does not have the specified index: nope") {
		t.Fatalf("unknown index: %v", err)
	}
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("objects")})
	if err != nil || len(d.Table.GlobalSecondaryIndexes) != 1 || aws.ToInt64(d.Table.GlobalSecondaryIndexes[0].ItemCount) != 8 || len(d.Table.LocalSecondaryIndexes) != 1 {
		t.Fatalf("describe indexes = %+v, %v", d.Table.GlobalSecondaryIndexes, err)
	}
	// A restore carries the indexes over.
	if _, err := c.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("objects"),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 10*time.Minute)
	if _, err := c.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("objects"),
		TargetTableName: aws.String("objects-restored"), UseLatestRestorableTime: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, time.Hour)
	scan, err = c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("objects-restored"), IndexName: aws.String("byState"), Select: ddbtypes.SelectCount})
	if err != nil || scan.Count != 8 {
		t.Fatalf("restored index scan = %d, %v; want 8", scan.Count, err)
	}
}
