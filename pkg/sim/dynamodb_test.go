package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// ddbAPI is the consumer-style interface of the DynamoDB methods the
// simulator implements, with the SDK's exact signatures.
type ddbAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	ListTables(ctx context.Context, in *dynamodb.ListTablesInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error)
	DeleteTable(ctx context.Context, in *dynamodb.DeleteTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
	UpdateTable(ctx context.Context, in *dynamodb.UpdateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
	TagResource(ctx context.Context, in *dynamodb.TagResourceInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *dynamodb.UntagResourceInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UntagResourceOutput, error)
	ListTagsOfResource(ctx context.Context, in *dynamodb.ListTagsOfResourceInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error)
	UpdateContinuousBackups(ctx context.Context, in *dynamodb.UpdateContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error)
	DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
	RestoreTableToPointInTime(ctx context.Context, in *dynamodb.RestoreTableToPointInTimeInput, optFns ...func(*dynamodb.Options)) (*dynamodb.RestoreTableToPointInTimeOutput, error)
}

var (
	_ ddbAPI = (*DynamoDB)(nil)
	_ ddbAPI = (*dynamodb.Client)(nil)
)

func ddbS(s string) ddbAV { return &ddbtypes.AttributeValueMemberS{Value: s} }
func ddbN(n string) ddbAV { return &ddbtypes.AttributeValueMemberN{Value: n} }

// ddbTestTable creates an ACTIVE table pk (S) + sk (N) in region P.
func ddbTestTable(t testing.TB, w *World, clk *clock.Virtual, name string) *DynamoDB {
	t.Helper()
	ctx := context.Background()
	c := w.Region(s3TestP).DynamoDB()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}, {AttributeName: aws.String("sk"), AttributeType: "N"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}, {AttributeName: aws.String("sk"), KeyType: "RANGE"}}})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	_ = clk.Sleep(ctx, 10*time.Second)
	return c
}

func ddbCode(err error) string { return s3ErrCode(err) }

func TestDynamoDBTableLifecycle(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := w.Region(s3TestP).DynamoDB()
	out, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("control"), DeletionProtectionEnabled: aws.Bool(true),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: "S"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: "HASH"}},
		Tags:                 []ddbtypes.Tag{{Key: aws.String("app"), Value: aws.String("pendulum")}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.TableDescription.TableStatus, ddbtypes.TableStatusCreating; got != want {
		t.Fatalf("status after create = %s, want %s", got, want)
	}
	if got, want := aws.ToString(out.TableDescription.TableArn), "arn:aws:dynamodb:us-east-1:111122223333:table/control"; got != want {
		t.Fatalf("TableArn = %s, want %s", got, want)
	}
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("control"), Item: ddbItem{"id": ddbS("a")}})
	var rnf *ddbtypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("put to a CREATING table: %v, want ResourceNotFoundException", err)
	}
	_, err = c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("control"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: "S"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: "HASH"}}})
	var riu *ddbtypes.ResourceInUseException
	if !errors.As(err, &riu) {
		t.Fatalf("create twice: %v, want ResourceInUseException", err)
	}
	_ = clk.Sleep(ctx, 10*time.Second)
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("control")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Table.TableStatus, ddbtypes.TableStatusActive; got != want {
		t.Fatalf("status later = %s, want %s", got, want)
	}
	for _, id := range []string{"a", "bb", "a"} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("control"), Item: ddbItem{"id": ddbS(id), "v": ddbS("xyz")}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("control"), Key: ddbItem{"id": ddbS("bb")}}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("control")})
	if got, want := aws.ToInt64(d.Table.ItemCount), int64(1); got != want {
		t.Fatalf("ItemCount = %d, want %d", got, want)
	}
	if got, want := aws.ToInt64(d.Table.TableSizeBytes), int64(len("id")+len("a")+len("v")+len("xyz")); got != want {
		t.Fatalf("TableSizeBytes = %d, want %d", got, want)
	}
	_, err = c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("control")})
	if got, want := ddbCode(err), "ValidationException"; got != want || !strings.Contains(err.Error(), "protected against deletion") {
		t.Fatalf("delete of a protected table: %v, want %s about deletion protection", err, want)
	}
	tags, err := c.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: d.Table.TableArn})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("tags = %v, %v; want the one tag from CreateTable", tags, err)
	}
	if _, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("control"),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	ttl, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("control")})
	if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled {
		t.Fatalf("TTL = %+v, %v; want ENABLED", ttl, err)
	}
	if _, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("control"), DeletionProtectionEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	del, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("control")})
	if err != nil || del.TableDescription.TableStatus != ddbtypes.TableStatusDeleting {
		t.Fatalf("delete = %v, %v; want DELETING", del, err)
	}
	_, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("control")})
	if !errors.As(err, &rnf) {
		t.Fatalf("describe after delete: %v, want ResourceNotFoundException", err)
	}
}

// TestDynamoDBPutConditionReturnsOldItem: a conditional PutItem that fails
// its condition is a *ConditionalCheckFailedException carrying the item as
// it is when ReturnValuesOnConditionCheckFailure is ALL_OLD, and no item
// otherwise; the item is unchanged. This is the idempotency write ingest
// makes: "attribute_not_exists(pk) OR h = :h".
func TestDynamoDBPutConditionReturnsOldItem(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := ddbTestTable(t, w, clk, "ids")
	tbl := aws.String("ids")
	put := func(h string, rv ddbtypes.ReturnValuesOnConditionCheckFailure) error {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl,
			Item:                                ddbItem{"pk": ddbS("r-1"), "sk": ddbN("0"), "h": ddbS(h), "expires": ddbN("1796000000")},
			ConditionExpression:                 aws.String("attribute_not_exists(pk) OR h = :h"),
			ExpressionAttributeValues:           map[string]ddbAV{":h": ddbS(h)},
			ReturnValuesOnConditionCheckFailure: rv})
		return err
	}
	if err := put("aaa", ddbtypes.ReturnValuesOnConditionCheckFailureAllOld); err != nil {
		t.Fatalf("first put: %v", err)
	}
	if err := put("aaa", ddbtypes.ReturnValuesOnConditionCheckFailureAllOld); err != nil {
		t.Fatalf("the same hash again: %v, want it taken", err)
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	err := put("bbb", ddbtypes.ReturnValuesOnConditionCheckFailureAllOld)
	if !errors.As(err, &ccf) || ccf.Item == nil {
		t.Fatalf("another hash: %v, want ConditionalCheckFailedException carrying the item", err)
	}
	if got := ccf.Item["h"]; !ddbEqual(got, ddbS("aaa")) || !ddbEqual(ccf.Item["pk"], ddbS("r-1")) {
		t.Fatalf("item carried %v, want the stored one (h aaa)", ccf.Item)
	}
	if got, want := ddbCode(err), "ConditionalCheckFailedException"; got != want {
		t.Fatalf("code %q, want %q", got, want)
	}
	for _, rv := range []ddbtypes.ReturnValuesOnConditionCheckFailure{"", ddbtypes.ReturnValuesOnConditionCheckFailureNone} {
		ccf = nil
		if err := put("bbb", rv); !errors.As(err, &ccf) || ccf.Item != nil {
			t.Fatalf("another hash, ReturnValuesOnConditionCheckFailure %q: %v (item %v), want the exception without the item", rv, err, ccf)
		}
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: ddbItem{"pk": ddbS("r-1"), "sk": ddbN("0")}})
	if err != nil || !ddbEqual(got.Item["h"], ddbS("aaa")) {
		t.Fatalf("stored item %v, %v: want it unchanged by the failed puts", got.Item, err)
	}
	if err := put("bbb", "ALL_NEW"); ddbCode(err) != "ValidationException" || !strings.Contains(err.Error(), "enum value set: [ALL_OLD, NONE]") {
		t.Fatalf("ReturnValuesOnConditionCheckFailure ALL_NEW: %v, want a ValidationException", err)
	}
}

func TestDynamoDBItems(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := ddbTestTable(t, w, clk, "items")
	tbl := aws.String("items")
	key := ddbItem{"pk": ddbS("a"), "sk": ddbN("1")}
	// Conditional create.
	put := &dynamodb.PutItemInput{TableName: tbl, Item: ddbItem{"pk": ddbS("a"), "sk": ddbN("1.50"), "n": ddbN("10")},
		ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if _, err := c.PutItem(ctx, put); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutItem(ctx, put)
	var ccf *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second conditional create: %v, want ConditionalCheckFailedException", err)
	}
	// Numbers are normalised, so 1.50 and 1.5 are the same key.
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: ddbItem{"pk": ddbS("a"), "sk": ddbN("1.5")}})
	if err != nil || got.Item == nil {
		t.Fatalf("get by normalised key: %v, %v", got, err)
	}
	if got, want := got.Item["sk"].(*ddbtypes.AttributeValueMemberN).Value, "1.5"; got != want {
		t.Fatalf("stored number = %s, want %s", got, want)
	}
	_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: ddbItem{"pk": ddbS("a")}})
	if got, want := ddbCode(err), "ValidationException"; got != want {
		t.Fatalf("get with a partial key: code %q, want %q", got, want)
	}
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: ddbItem{"pk": ddbN("1"), "sk": ddbN("1")}})
	if err == nil || !strings.Contains(err.Error(), "Type mismatch for key pk expected: S actual: N") {
		t.Fatalf("key type mismatch: %v", err)
	}
	// Update with ReturnValues.
	k := ddbItem{"pk": ddbS("a"), "sk": ddbN("1.5")}
	up, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: k,
		UpdateExpression:          aws.String("SET n = n + :one, tags = list_append(if_not_exists(tags, :empty), :t) ADD visits :one"),
		ConditionExpression:       aws.String("n >= :ten"),
		ExpressionAttributeValues: map[string]ddbAV{":one": ddbN("1"), ":ten": ddbN("10"), ":empty": &ddbtypes.AttributeValueMemberL{}, ":t": &ddbtypes.AttributeValueMemberL{Value: []ddbAV{ddbS("x")}}},
		ReturnValues:              ddbtypes.ReturnValueUpdatedNew})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(up.Attributes), 3; got != want {
		t.Fatalf("UPDATED_NEW returned %d attributes, want %d: %v", got, want, up.Attributes)
	}
	if !ddbEqual(up.Attributes["n"], ddbN("11")) || !ddbEqual(up.Attributes["visits"], ddbN("1")) {
		t.Fatalf("UPDATED_NEW = %v", up.Attributes)
	}
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: k, UpdateExpression: aws.String("SET pk = :v"),
		ExpressionAttributeValues: map[string]ddbAV{":v": ddbS("b")}})
	if err == nil || !strings.Contains(err.Error(), "This attribute is part of the key") {
		t.Fatalf("update of a key attribute: %v", err)
	}
	// Conditional delete with ALL_OLD on failure.
	_, err = c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: k, ConditionExpression: aws.String("n = :v"),
		ExpressionAttributeValues: map[string]ddbAV{":v": ddbN("0")}, ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld})
	if !errors.As(err, &ccf) || ccf.Item == nil {
		t.Fatalf("failed delete: %v, want ConditionalCheckFailedException carrying the item", err)
	}
	del, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: k, ReturnValues: ddbtypes.ReturnValueAllOld})
	if err != nil || !ddbEqual(del.Attributes["n"], ddbN("11")) {
		t.Fatalf("delete ALL_OLD = %v, %v", del, err)
	}
	got, _ = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key})
	if got.Item != nil {
		t.Fatalf("item still there after delete: %v", got.Item)
	}
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: ddbItem{"pk": ddbS("a"), "sk": ddbN("2")},
		ExpressionAttributeValues: map[string]ddbAV{":unused": ddbN("1")}})
	if err == nil || !strings.Contains(err.Error(), "unused in expressions: keys: {:unused}") {
		t.Fatalf("unused value: %v", err)
	}
}

// ddbSample is the item expression tests evaluate against.
func ddbSample() ddbItem {
	return ddbItem{
		"pk":      ddbS("user#1"),
		"sk":      ddbN("5"),
		"name":    ddbS("Ada Lovelace"),
		"age":     ddbN("36"),
		"tags":    &ddbtypes.AttributeValueMemberSS{Value: []string{"math", "poetry"}},
		"scores":  &ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"lst":     &ddbtypes.AttributeValueMemberL{Value: []ddbAV{ddbS("a"), ddbN("2"), &ddbtypes.AttributeValueMemberM{Value: ddbItem{"deep": ddbS("x")}}}},
		"doc":     &ddbtypes.AttributeValueMemberM{Value: ddbItem{"city": ddbS("London"), "zip": ddbS("NW1")}},
		"ok":      &ddbtypes.AttributeValueMemberBOOL{Value: true},
		"nothing": &ddbtypes.AttributeValueMemberNULL{Value: true},
		"status":  ddbS("ACTIVE"),
	}
}

func ddbSampleValues() map[string]ddbAV {
	return map[string]ddbAV{
		":n36": ddbN("36"), ":n40": ddbN("40"), ":n1": ddbN("1"), ":s": ddbS("Ada"), ":ss": ddbS("poetry"),
		":tS": ddbS("S"), ":tSS": ddbS("SS"), ":bad": ddbS("XYZ"), ":city": ddbS("London"), ":two": ddbN("2"),
		":active": ddbS("ACTIVE"), ":x": ddbS("x"), ":n12": ddbN("12"), ":n2_5": ddbN("2.5"),
	}
}

func TestDynamoDBConditionExpressions(t *testing.T) {
	names := map[string]string{"#st": "status", "#n": "name", "#d": "doc"}
	tests := []struct {
		expr string
		want bool
	}{
		{"age = :n36", true},
		{"age <> :n36", false},
		{"age < :n40", true},
		{"age <= :n36", true},
		{"age > :n36", false},
		{"age >= :n36", true},
		{"age BETWEEN :n1 AND :n40", true},
		{"age BETWEEN :n1 AND :two", false},
		{"age IN (:n1, :n36)", true},
		{"age IN (:n1, :two)", false},
		{"absent = :n1", false},
		{"absent <> :n1", true},
		{"attribute_exists(age)", true},
		{"attribute_not_exists(age)", false},
		{"attribute_not_exists(absent)", true},
		{"attribute_type(#n, :tS)", true},
		{"attribute_type(tags, :tSS)", true},
		{"attribute_type(age, :tS)", false},
		{"begins_with(#n, :s)", true},
		{"begins_with(pk, :s)", false},
		{"contains(tags, :ss)", true},
		{"contains(#n, :s)", true},
		{"contains(scores, :n2_5)", true},
		{"contains(lst, :two)", true},
		{"size(#n) = :n12", true},
		{"size(tags) = :two", true},
		{"size(lst) > :two", true},
		{"size(absent) = :n1", false},
		{"#d.city = :city", true},
		{"lst[2].deep = :x", true},
		{"lst[9] = :x", false},
		{"#st = :active AND age > :n1", true},
		{"#st = :active AND age > :n40", false},
		{"#st <> :active OR age > :n1", true},
		{"NOT age > :n40", true},
		{"NOT (age > :n1 AND age < :n40)", false},
		{"age > :n40 OR age < :n40 AND age > :n36", false}, // AND binds tighter than OR
		{"(age > :n40 OR age < :n40) AND age >= :n36", true},
		{"NOT age > :n40 AND age = :n36", true}, // NOT binds tighter than AND
		{"age = :n36 and #st = :active", true},  // keywords are case-insensitive
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			ctx := ddbNewExprCtx(names, ddbSampleValues())
			c, err := ddbParseCondition("ConditionExpression", tt.expr, ctx)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := ddbEval(ddbSample(), c); got != tt.want {
				t.Fatalf("eval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDynamoDBExpressionErrors(t *testing.T) {
	tests := []struct {
		name, kind, expr, want string
	}{
		{"Empty", "ConditionExpression", "  ", "The expression can not be empty"},
		{"Reserved", "ConditionExpression", "status = :active", "Attribute name is a reserved keyword; reserved keyword: status"},
		{"UndefinedName", "ConditionExpression", "#nope = :active", "An expression attribute name used in the document path is not defined; attribute name: #nope"},
		{"UndefinedValue", "ConditionExpression", "age = :nope", "An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"Syntax", "ConditionExpression", "age = = :n1", `Syntax error; token: "="`},
		{"Trailing", "ConditionExpression", "age = :n1 :n1", `Syntax error; token: ":n1"`},
		{"BadChar", "ConditionExpression", "age $ :n1", `Syntax error; token: "$"`},
		{"UnclosedParen", "ConditionExpression", "(age = :n1", `Syntax error; token: "<EOF>"`},
		{"UnknownFunction", "ConditionExpression", "frobnicate(age)", "Invalid function name; function: frobnicate"},
		{"Arity", "ConditionExpression", "begins_with(age)", "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"},
		{"BadType", "ConditionExpression", "attribute_type(age, :bad)", "Invalid attribute type name found in type condition of expression; type: S:XYZ"},
		{"BeginsWithNumber", "ConditionExpression", "begins_with(age, :n1)", "operator or function: begins_with, operand type: N"},
		{"Between", "ConditionExpression", "age BETWEEN :n40 AND :n1", "The BETWEEN operator requires upper bound to be greater than or equal to lower bound"},
		{"SetTwice", "UpdateExpression", "SET a = :n1 SET b = :n1", `The "SET" section can only be used once`},
		{"Overlap", "UpdateExpression", "SET a = :n1, a.b = :n1", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
		{"Conflict", "UpdateExpression", "SET a = :n1 REMOVE a", "Two document paths conflict with each other"},
		{"AddNeedsValue", "UpdateExpression", "ADD a b", `Syntax error; token: "b"`},
		{"SizeInUpdate", "UpdateExpression", "SET a = size(b)", "The function is not allowed in an update expression; function: size"},
		{"NoClause", "UpdateExpression", "a = :n1", `Syntax error; token: "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ddbNewExprCtx(map[string]string{}, ddbSampleValues())
			var err error
			if tt.kind == "UpdateExpression" {
				_, err = ddbParseUpdate(tt.expr, ctx)
			} else {
				_, err = ddbParseCondition(tt.kind, tt.expr, ctx)
			}
			if err == nil {
				t.Fatalf("parse %q: no error, want %q", tt.expr, tt.want)
			}
			if got := ddbCode(err); got != "ValidationException" {
				t.Fatalf("code %q, want ValidationException", got)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Invalid "+tt.kind) && tt.name != "Empty" {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestDynamoDBUpdateExpressions(t *testing.T) {
	names := map[string]string{"#st": "status", "#d": "doc"}
	tests := []struct {
		name, expr string
		check      func(ddbItem) bool
		wantErr    string
	}{
		{"SetScalar", "SET age = :n40", func(i ddbItem) bool { return ddbEqual(i["age"], ddbN("40")) }, ""},
		{"Increment", "SET age = age + :n1", func(i ddbItem) bool { return ddbEqual(i["age"], ddbN("37")) }, ""},
		{"Decrement", "SET age = age - :n2_5", func(i ddbItem) bool { return ddbEqual(i["age"], ddbN("33.5")) }, ""},
		{"IfNotExistsMissing", "SET c = if_not_exists(c, :n1) + :n1", func(i ddbItem) bool { return ddbEqual(i["c"], ddbN("2")) }, ""},
		{"IfNotExistsPresent", "SET age = if_not_exists(age, :n1)", func(i ddbItem) bool { return ddbEqual(i["age"], ddbN("36")) }, ""},
		{"ListAppend", "SET lst = list_append(lst, :l)", func(i ddbItem) bool { return len(i["lst"].(*ddbtypes.AttributeValueMemberL).Value) == 4 }, ""},
		{"ListPrepend", "SET lst = list_append(:l, lst)", func(i ddbItem) bool {
			return ddbEqual(i["lst"].(*ddbtypes.AttributeValueMemberL).Value[0], ddbS("z"))
		}, ""},
		{"Nested", "SET #d.city = :city, #d.country = :s", func(i ddbItem) bool {
			m := i["doc"].(*ddbtypes.AttributeValueMemberM).Value
			return ddbEqual(m["country"], ddbS("Ada")) && len(m) == 3
		}, ""},
		{"ListIndex", "SET lst[0] = :x", func(i ddbItem) bool { return ddbEqual(i["lst"].(*ddbtypes.AttributeValueMemberL).Value[0], ddbS("x")) }, ""},
		{"ListPastEnd", "SET lst[10] = :x", func(i ddbItem) bool { return len(i["lst"].(*ddbtypes.AttributeValueMemberL).Value) == 4 }, ""},
		{"SwapReadsOriginal", "SET age = sk, sk2 = age", func(i ddbItem) bool { return ddbEqual(i["age"], ddbN("5")) && ddbEqual(i["sk2"], ddbN("36")) }, ""},
		{"Remove", "REMOVE age, #d.zip, lst[1]", func(i ddbItem) bool {
			_, has := i["age"]
			return !has && len(i["doc"].(*ddbtypes.AttributeValueMemberM).Value) == 1 && len(i["lst"].(*ddbtypes.AttributeValueMemberL).Value) == 2
		}, ""},
		{"AddNumber", "ADD age :n1, fresh :n1", func(i ddbItem) bool { return ddbEqual(i["age"], ddbN("37")) && ddbEqual(i["fresh"], ddbN("1")) }, ""},
		{"AddSet", "ADD tags :set", func(i ddbItem) bool { return len(i["tags"].(*ddbtypes.AttributeValueMemberSS).Value) == 3 }, ""},
		{"DeleteFromSet", "DELETE tags :set2", func(i ddbItem) bool { return len(i["tags"].(*ddbtypes.AttributeValueMemberSS).Value) == 1 }, ""},
		{"DeleteLastElement", "DELETE tags :all", func(i ddbItem) bool { _, has := i["tags"]; return !has }, ""},
		{"AllClauses", "SET a = :n1 REMOVE age ADD b :n1 DELETE tags :set2", func(i ddbItem) bool { return i["a"] != nil && i["b"] != nil && i["age"] == nil }, ""},
		{"AddString", "ADD #st :s", nil, "Incorrect operand type for operator or function; operator: ADD, operand type: S"},
		{"ArithOnString", "SET a = pk + :n1", nil, "An operand in the update expression has an incorrect data type"},
		{"MissingOperand", "SET a = nope + :n1", nil, "The provided expression refers to an attribute that does not exist in the item"},
		{"NestedMissingParent", "SET nope.child = :n1", nil, "The document path provided in the update expression is invalid for update"},
		{"ListAppendNonList", "SET a = list_append(age, :l)", nil, "list_append, operand type: N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := ddbSampleValues()
			vals[":l"] = &ddbtypes.AttributeValueMemberL{Value: []ddbAV{ddbS("z")}}
			vals[":set"] = &ddbtypes.AttributeValueMemberSS{Value: []string{"math", "chess"}}
			vals[":set2"] = &ddbtypes.AttributeValueMemberSS{Value: []string{"math"}}
			vals[":all"] = &ddbtypes.AttributeValueMemberSS{Value: []string{"math", "poetry"}}
			ctx := ddbNewExprCtx(names, vals)
			u, err := ddbParseUpdate(tt.expr, ctx)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			item := ddbSample()
			_, err = ddbApplyUpdate(item, u)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("apply: %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if !tt.check(item) {
				t.Fatalf("item after %q: %v", tt.expr, item)
			}
			if got := len(vals[":set"].(*ddbtypes.AttributeValueMemberSS).Value) + len(vals[":l"].(*ddbtypes.AttributeValueMemberL).Value); got != 3 {
				t.Fatal("the update mutated the request's values")
			}
		})
	}
}

func TestDynamoDBProjection(t *testing.T) {
	ctx := ddbNewExprCtx(map[string]string{"#n": "name", "#d": "doc"}, nil)
	paths, err := ddbParseProjection("#n, #d.city, lst[2].deep", ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := ddbProject(ddbSample(), paths)
	want := ddbItem{
		"name": ddbS("Ada Lovelace"),
		"doc":  &ddbtypes.AttributeValueMemberM{Value: ddbItem{"city": ddbS("London")}},
		"lst":  &ddbtypes.AttributeValueMemberL{Value: []ddbAV{&ddbtypes.AttributeValueMemberM{Value: ddbItem{"deep": ddbS("x")}}}},
	}
	if !ddbEqual(&ddbtypes.AttributeValueMemberM{Value: got}, &ddbtypes.AttributeValueMemberM{Value: want}) {
		t.Fatalf("projection = %v, want %v", got, want)
	}
}

// ddbFill writes n items to partition pk with sk 0..n-1.
func ddbFill(t testing.TB, c *DynamoDB, table, pk string, n int) {
	t.Helper()
	for i := 0; i < n; i += 25 {
		var reqs []ddbtypes.WriteRequest
		for j := i; j < n && j < i+25; j++ {
			reqs = append(reqs, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: ddbItem{
				"pk": ddbS(pk), "sk": ddbN(fmt.Sprint(j)), "even": &ddbtypes.AttributeValueMemberBOOL{Value: j%2 == 0}}}})
		}
		if _, err := c.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{table: reqs}}); err != nil {
			t.Fatalf("batch write: %v", err)
		}
	}
}

func ddbSKs(items []ddbItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["sk"].(*ddbtypes.AttributeValueMemberN).Value)
	}
	return out
}

func TestDynamoDBQuery(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := ddbTestTable(t, w, clk, "qry")
	ddbFill(t, c, "qry", "p1", 20) // sk 0..19: numeric order differs from string order
	ddbFill(t, c, "qry", "p2", 3)
	vals := map[string]ddbAV{":p": ddbS("p1"), ":a": ddbN("5"), ":b": ddbN("8"), ":t": &ddbtypes.AttributeValueMemberBOOL{Value: true}}
	tests := []struct {
		name, kc, filter string
		forward          bool
		limit            int32
		want             string
	}{
		{"All", "pk = :p", "", true, 0, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19"},
		{"Lt", "pk = :p AND sk < :a", "", true, 0, "0,1,2,3,4"},
		{"Le", "pk = :p AND sk <= :a", "", true, 0, "0,1,2,3,4,5"},
		{"Gt", "pk = :p AND sk > :b", "", true, 0, "9,10,11,12,13,14,15,16,17,18,19"},
		{"Ge", "sk >= :b AND pk = :p", "", true, 0, "8,9,10,11,12,13,14,15,16,17,18,19"},
		{"Eq", "pk = :p AND sk = :a", "", true, 0, "5"},
		{"Between", "pk = :p AND sk BETWEEN :a AND :b", "", true, 0, "5,6,7,8"},
		{"Reverse", "pk = :p AND sk BETWEEN :a AND :b", "", false, 0, "8,7,6,5"},
		{"Filter", "pk = :p AND sk BETWEEN :a AND :b", "even = :t", true, 0, "6,8"},
		{"Paged", "pk = :p", "", true, 3, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19"},
		{"PagedReverse", "pk = :p AND sk < :b", "", false, 3, "7,6,5,4,3,2,1,0"},
		{"PagedFilter", "pk = :p AND sk < :b", "even = :t", true, 3, "0,2,4,6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &dynamodb.QueryInput{TableName: aws.String("qry"), KeyConditionExpression: aws.String(tt.kc), ScanIndexForward: aws.Bool(tt.forward),
				ExpressionAttributeValues: map[string]ddbAV{}}
			for k, v := range vals {
				if strings.Contains(tt.kc+" "+tt.filter, k) {
					in.ExpressionAttributeValues[k] = v
				}
			}
			if tt.filter != "" {
				in.FilterExpression = aws.String(tt.filter)
			}
			if tt.limit > 0 {
				in.Limit = aws.Int32(tt.limit)
			}
			var got []string
			pages := 0
			p := dynamodb.NewQueryPaginator(c, in)
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if tt.limit > 0 && int(out.ScannedCount) > int(tt.limit) {
					t.Fatalf("page scanned %d > Limit %d", out.ScannedCount, tt.limit)
				}
				got = append(got, ddbSKs(out.Items)...)
			}
			if g, w := strings.Join(got, ","), tt.want; g != w {
				t.Fatalf("query = %s, want %s", g, w)
			}
			if tt.limit == 0 && pages != 1 {
				t.Fatalf("pages = %d without Limit, want 1", pages)
			}
		})
	}
	errTests := []struct{ name, kc, want string }{
		{"NoHash", "sk = :a", "Query condition missed key schema element: pk"},
		{"Or", "pk = :p OR sk = :a", "Invalid operator used in KeyConditionExpression: OR"},
		{"HashRange", "pk < :p", "Query key condition not supported"},
		{"TypeMismatch", "pk = :a", "Condition parameter type does not match schema type"},
		{"NotKey", "pk = :p AND even = :a", "Query condition missed key schema element"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			in := &dynamodb.QueryInput{TableName: aws.String("qry"), KeyConditionExpression: aws.String(tt.kc), ExpressionAttributeValues: map[string]ddbAV{}}
			for k, v := range vals {
				if strings.Contains(tt.kc, k) {
					in.ExpressionAttributeValues[k] = v
				}
			}
			_, err := c.Query(ctx, in)
			if err == nil || ddbCode(err) != "ValidationException" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("query %q: %v, want ValidationException %q", tt.kc, err, tt.want)
			}
		})
	}
}

func TestDynamoDBScan(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := ddbTestTable(t, w, clk, "scan")
	for i := 0; i < 10; i++ {
		ddbFill(t, c, "scan", fmt.Sprintf("p%d", i), 7)
	}
	t.Run("Paginated", func(t *testing.T) {
		seen := map[string]bool{}
		p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String("scan"), Limit: aws.Int32(4)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				k := ddbKeyEnc(it["pk"]) + "/" + ddbKeyEnc(it["sk"])
				if seen[k] {
					t.Fatalf("item %s returned twice", k)
				}
				seen[k] = true
			}
		}
		if got, want := len(seen), 70; got != want {
			t.Fatalf("scanned %d distinct items, want %d", got, want)
		}
	})
	t.Run("Segments", func(t *testing.T) {
		total := 0
		for seg := int32(0); seg < 3; seg++ {
			out, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("scan"), Segment: aws.Int32(seg), TotalSegments: aws.Int32(3),
				FilterExpression: aws.String("even = :t"), ExpressionAttributeValues: map[string]ddbAV{":t": &ddbtypes.AttributeValueMemberBOOL{Value: true}}})
			if err != nil {
				t.Fatal(err)
			}
			total += int(out.Count)
		}
		if got, want := total, 40; got != want {
			t.Fatalf("even items over 3 segments = %d, want %d", got, want)
		}
	})
	t.Run("Count", func(t *testing.T) {
		out, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("scan"), Select: ddbtypes.SelectCount})
		if err != nil || out.Count != 70 || out.Items != nil {
			t.Fatalf("COUNT scan = %d items %v, %v; want Count 70 and no items", out.Count, out.Items, err)
		}
	})
}

func TestDynamoDBBatchGet(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := ddbTestTable(t, w, clk, "bgt")
	ddbFill(t, c, "bgt", "p", 5)
	out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddbtypes.KeysAndAttributes{"bgt": {
		Keys:                 []map[string]ddbAV{{"pk": ddbS("p"), "sk": ddbN("1")}, {"pk": ddbS("p"), "sk": ddbN("3")}, {"pk": ddbS("p"), "sk": ddbN("99")}},
		ProjectionExpression: aws.String("sk")}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ddbSKs(out.Responses["bgt"]), ","), "1,3"; got != want {
		t.Fatalf("batch get = %s, want %s", got, want)
	}
	if _, has := out.Responses["bgt"][0]["pk"]; has {
		t.Fatal("projection not applied")
	}
	_, err = c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"bgt": {
		{DeleteRequest: &ddbtypes.DeleteRequest{Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("1")}}},
		{DeleteRequest: &ddbtypes.DeleteRequest{Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("1")}}}}}})
	if err == nil || !strings.Contains(err.Error(), "contains duplicates") {
		t.Fatalf("duplicate keys in a batch: %v", err)
	}
}

func TestDynamoDBTransactions(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	c := ddbTestTable(t, w, clk, "txn")
	ddbFill(t, c, "txn", "p", 3)
	tx := func(cond string) *dynamodb.TransactWriteItemsInput {
		return &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
			{Put: &ddbtypes.Put{TableName: aws.String("txn"), Item: ddbItem{"pk": ddbS("p"), "sk": ddbN("10"), "v": ddbS("new")}}},
			{Update: &ddbtypes.Update{TableName: aws.String("txn"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("0")},
				UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]ddbAV{":v": ddbS("updated")}}},
			{Delete: &ddbtypes.Delete{TableName: aws.String("txn"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("1")}}},
			{ConditionCheck: &ddbtypes.ConditionCheck{TableName: aws.String("txn"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("2")},
				ConditionExpression: aws.String(cond)}},
		}}
	}
	_, err := c.TransactWriteItems(ctx, tx("attribute_not_exists(pk)"))
	var tce *ddbtypes.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("failing transaction: %v, want TransactionCanceledException", err)
	}
	var codes []string
	for _, r := range tce.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	if got, want := strings.Join(codes, ","), "None,None,None,ConditionalCheckFailed"; got != want {
		t.Fatalf("reasons = %s, want %s", got, want)
	}
	scan, _ := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("txn")})
	if got, want := strings.Join(ddbSKs(scan.Items), ","), "0,1,2"; got != want {
		t.Fatalf("after a cancelled transaction the table holds %s, want %s (nothing written)", got, want)
	}
	if _, err := c.TransactWriteItems(ctx, tx("attribute_exists(pk)")); err != nil {
		t.Fatal(err)
	}
	scan, _ = c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("txn")})
	if got, want := strings.Join(ddbSKs(scan.Items), ","), "0,2,10"; got != want {
		t.Fatalf("after the transaction: %s, want %s", got, want)
	}
	tg, err := c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []ddbtypes.TransactGetItem{
		{Get: &ddbtypes.Get{TableName: aws.String("txn"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("0")}, ProjectionExpression: aws.String("v")}},
		{Get: &ddbtypes.Get{TableName: aws.String("txn"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("1")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Responses) != 2 || !ddbEqual(tg.Responses[0].Item["v"], ddbS("updated")) || len(tg.Responses[0].Item) != 1 || tg.Responses[1].Item != nil {
		t.Fatalf("TransactGetItems = %+v, want the updated item's v and nothing for the deleted one", tg.Responses)
	}
	dup := tx("attribute_exists(pk)")
	dup.TransactItems[3].ConditionCheck.Key = ddbItem{"pk": ddbS("p"), "sk": ddbN("0")}
	_, err = c.TransactWriteItems(ctx, dup)
	if err == nil || !strings.Contains(err.Error(), "multiple operations on one item") {
		t.Fatalf("two actions on one item: %v", err)
	}
}

func TestDynamoDBRegionDown(t *testing.T) {
	w, clk := s3TestWorld(t)
	c := ddbTestTable(t, w, clk, "down")
	w.SetDown(s3TestP, true)
	_, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("down"), Key: ddbItem{"pk": ddbS("a"), "sk": ddbN("1")}})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("get from a down region: %v, want ErrUnreachable", err)
	}
}

func FuzzDynamoDBExpression(f *testing.F) {
	seeds := []string{
		"age = :n36", "attribute_not_exists(pk) AND #st <> :active", "NOT (a < :n1 OR b BETWEEN :n1 AND :n40)",
		"size(lst) > :two", "begins_with(#n, :s)", "contains(tags, :ss)", "a IN (:n1, :two, :n36)", "lst[2].deep = :x",
		"SET a = a + :n1, b = list_append(if_not_exists(b, :l), :l) REMOVE c ADD d :n1 DELETE tags :ss",
		"SET #d.city = :city", "((((a = :n1))))", "pk = :s AND sk BETWEEN :n1 AND :n40", "begins_with(sk, :s) AND pk = :s", "age = :n1 OR pk = :s", "a.b.c[0][1] <> :x", "attribute_type(a, :tS)", "", "#", ":", "a[", "SET",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	names := map[string]string{"#st": "status", "#n": "name", "#d": "doc"}
	f.Fuzz(func(t *testing.T, expr string) {
		vals := ddbSampleValues()
		vals[":l"] = &ddbtypes.AttributeValueMemberL{Value: []ddbAV{ddbS("z")}}
		if c, err := ddbParseCondition("ConditionExpression", expr, ddbNewExprCtx(names, vals)); err == nil {
			ddbEval(ddbSample(), c)
			ddbEval(nil, c)
			for _, schema := range []*ddbSchema{{hashKey: "pk", hashType: "S", rangeKey: "sk", rngType: "N"}, {hashKey: "age", hashType: "N"}} {
				if _, err := schema.keyCondition(c); err != nil && ddbCode(err) != "ValidationException" {
					t.Fatalf("key condition %q: error %v is not a ValidationException", expr, err)
				}
			}
		} else if ddbCode(err) != "ValidationException" {
			t.Fatalf("condition %q: error %v is not a ValidationException", expr, err)
		}
		if u, err := ddbParseUpdate(expr, ddbNewExprCtx(names, vals)); err == nil {
			item := ddbSample()
			if _, err := ddbApplyUpdate(item, u); err != nil && ddbCode(err) != "ValidationException" {
				t.Fatalf("update %q: error %v is not a ValidationException", expr, err)
			}
		} else if ddbCode(err) != "ValidationException" {
			t.Fatalf("update %q: error %v is not a ValidationException", expr, err)
		}
		if _, err := ddbParseProjection(expr, ddbNewExprCtx(names, vals)); err != nil && ddbCode(err) != "ValidationException" {
			t.Fatalf("projection %q: error %v is not a ValidationException", expr, err)
		}
	})
}

func BenchmarkDynamoDBPutGet(b *testing.B) {
	w, clk := s3TestWorld(b)
	c := ddbTestTable(b, w, clk, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := ddbItem{"pk": ddbS(fmt.Sprintf("p%d", i%1000)), "sk": ddbN(fmt.Sprint(i))}
		item := ddbItem{"pk": key["pk"], "sk": key["sk"], "payload": ddbS("0123456789abcdef"), "cnt": ddbN("1")}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("bench"), Item: item}); err != nil {
			b.Fatal(err)
		}
		if out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("bench"), Key: key}); err != nil || out.Item == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDynamoDBLex lexes the expressions of the aggregate consumer's
// transactions, which every one of a merge's million records parses.
func BenchmarkDynamoDBLex(b *testing.B) {
	srcs := []string{"attribute_not_exists(pk)", "ADD #r :n, #b :b, #p :p SET #u = :u"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ddbLex("UpdateExpression", srcs[i%len(srcs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDynamoDBQuery1000(b *testing.B) {
	w, clk := s3TestWorld(b)
	c := ddbTestTable(b, w, clk, "bench")
	ddbFill(b, c, "bench", "p", 1000)
	ctx := context.Background()
	in := &dynamodb.QueryInput{TableName: aws.String("bench"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]ddbAV{":p": ddbS("p")}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := c.Query(ctx, in)
		if err != nil || out.Count != 1000 {
			b.Fatalf("query: %d items, %v", out.Count, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/item")
}

func TestDynamoDBNumbers(t *testing.T) {
	tests := []struct {
		in, canon string
		small     bool
	}{
		{"0", "0", true}, {"-0", "0", false}, {"007", "7", false}, {"1.50", "1.5", false}, {"-12", "-12", true},
		{"1e3", "1000", false}, {"123456789012345678", "123456789012345678", true}, {"12345678901234567890", "12345678901234567890", false},
		{"+5", "5", false}, {"-", "", false},
	}
	for _, tt := range tests {
		_, small := ddbSmallInt(tt.in)
		if small != tt.small {
			t.Errorf("ddbSmallInt(%q) = %v, want %v", tt.in, small, tt.small)
		}
		item := ddbItem{"n": ddbN(tt.in)}
		err := ddbValidateItem(item)
		if tt.canon == "" {
			if err == nil {
				t.Errorf("%q accepted as a number", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got := item["n"].(*ddbtypes.AttributeValueMemberN).Value; got != tt.canon {
			t.Errorf("canonical %q = %q, want %q", tt.in, got, tt.canon)
		}
	}
	if c, ok := ddbCompare(ddbN("-3"), ddbN("2.5")); !ok || c >= 0 {
		t.Fatalf("-3 vs 2.5 = %d, %v", c, ok)
	}
	if c, ok := ddbCompare(ddbN("10"), ddbN("9")); !ok || c <= 0 {
		t.Fatalf("10 vs 9 = %d, %v", c, ok)
	}
}

func TestDynamoDBListTables(t *testing.T) {
	w, _ := s3TestWorld(t)
	ctx := context.Background()
	c := w.Region(s3TestP).DynamoDB()
	for _, n := range []string{"ccc", "aaa", "bbb"} {
		if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(n),
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: "S"}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: "HASH"}}}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	p := dynamodb.NewListTablesPaginator(c, &dynamodb.ListTablesInput{Limit: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.TableNames...)
	}
	if g, want := strings.Join(got, ","), "aaa,bbb,ccc"; g != want {
		t.Fatalf("tables = %s, want %s", g, want)
	}
	if b, _ := w.Region(s3TestB).DynamoDB().ListTables(ctx, &dynamodb.ListTablesInput{}); len(b.TableNames) != 0 {
		t.Fatalf("tables leak across regions: %v", b.TableNames)
	}
}
