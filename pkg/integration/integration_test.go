package integration

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeDynamoDB has the SDK client's method signatures; its function fields
// answer the calls.
type fakeDynamoDB struct {
	putItem       func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error)
	getItem       func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
	describeTable func(*dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error)
}

func (f *fakeDynamoDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return f.putItem(in)
}

func (f *fakeDynamoDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return f.getItem(in)
}

func (f *fakeDynamoDB) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return f.describeTable(in)
}

func TestCallDecodesParameters(t *testing.T) {
	var got *dynamodb.PutItemInput
	f := &fakeDynamoDB{putItem: func(in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
		got = in
		return &dynamodb.PutItemOutput{}, nil
	}}
	params := `{"TableName":"control","ConditionExpression":"attribute_not_exists(pk)",
		"Item":{"pk":{"S":"dr"},"n":{"N":"42"},"b":{"B":"aGk="},"tags":{"SS":["a","b"]},
		"m":{"M":{"l":{"L":[{"BOOL":true},{"NULL":true}]}}}},
		"ReturnValues":"ALL_OLD"}`
	out, err := Call(context.Background(), "dynamodb", f, "putItem", json.RawMessage(params))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{}`; got != want {
		t.Fatalf("output = %s, want %s", got, want)
	}
	want := &dynamodb.PutItemInput{
		TableName:           aws.String("control"),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ReturnValues:        ddbtypes.ReturnValueAllOld,
		Item: map[string]ddbtypes.AttributeValue{
			"pk":   &ddbtypes.AttributeValueMemberS{Value: "dr"},
			"n":    &ddbtypes.AttributeValueMemberN{Value: "42"},
			"b":    &ddbtypes.AttributeValueMemberB{Value: []byte("hi")},
			"tags": &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
			"m": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
				"l": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{
					&ddbtypes.AttributeValueMemberBOOL{Value: true},
					&ddbtypes.AttributeValueMemberNULL{Value: true},
				}},
			}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("input = %#v\nwant %#v", got, want)
	}
}

func TestCallEncodesOutput(t *testing.T) {
	created := time.Date(2026, 11, 25, 2, 31, 0, 422e6, time.UTC)
	f := &fakeDynamoDB{
		getItem: func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
			return &dynamodb.GetItemOutput{Item: map[string]ddbtypes.AttributeValue{
				"pk":    &ddbtypes.AttributeValueMemberS{Value: "dr"},
				"count": &ddbtypes.AttributeValueMemberN{Value: "7"},
			}}, nil
		},
		describeTable: func(*dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error) {
			return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{
				TableName:                 aws.String("aggregates"),
				TableStatus:               ddbtypes.TableStatusActive,
				CreationDateTime:          aws.Time(created),
				ItemCount:                 aws.Int64(12),
				DeletionProtectionEnabled: aws.Bool(true),
			}}, nil
		},
	}
	tests := []struct {
		name, action, want string
	}{
		{"GetItem", "getItem", `{"Item":{"count":{"N":"7"},"pk":{"S":"dr"}}}`},
		{"DescribeTable", "describeTable", `{"Table":{"CreationDateTime":"2026-11-25T02:31:00.422Z","DeletionProtectionEnabled":true,"ItemCount":12,"TableName":"aggregates","TableStatus":"ACTIVE"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Call(context.Background(), "dynamodb", f, tt.action, json.RawMessage(`{"TableName":"aggregates"}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out); got != tt.want {
				t.Fatalf("output = %s\nwant     %s", got, tt.want)
			}
		})
	}
}

func TestCallInvalidParameters(t *testing.T) {
	f := &fakeDynamoDB{putItem: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
		t.Fatal("called with invalid parameters")
		return nil, nil
	}}
	tests := []struct{ name, action, params string }{
		{"UnknownMember", "putItem", `{"TableName":"t","Nope":1}`},
		{"WrongType", "putItem", `{"TableName":5}`},
		{"BadAttributeValue", "putItem", `{"TableName":"t","Item":{"pk":{"S":"a","N":"1"}}}`},
		{"UnknownAttributeType", "putItem", `{"TableName":"t","Item":{"pk":{"X":"a"}}}`},
		{"NotJSON", "putItem", `{"TableName":`},
		{"UnknownAction", "deleteEverything", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Call(context.Background(), "dynamodb", f, tt.action, json.RawMessage(tt.params))
			if !errors.Is(err, ErrInvalidParameters) {
				t.Fatalf("err = %v, want ErrInvalidParameters", err)
			}
		})
	}
}

func TestCallErrorNames(t *testing.T) {
	op := func(err error) error {
		return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "PutItem", Err: err}
	}
	tests := []struct {
		name, service string
		err           error
		want          string
	}{
		{"Typed", "dynamodb", op(&ddbtypes.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}), "DynamoDb.ConditionalCheckFailedException"},
		{"NoSuffix", "s3", &smithy.GenericAPIError{Code: "BucketAlreadyExists"}, "S3.BucketAlreadyExistsException"},
		{"CloudFormation", "cloudformation", &smithy.GenericAPIError{Code: "ValidationError", Message: "No updates are to be performed."}, "CloudFormation.ValidationErrorException"},
		{"Transport", "dynamodb", op(&smithyhttp.RequestSendError{Err: errors.New("dial tcp: connection refused")}), "DynamoDb.SdkClientException"},
		{"UnlistedService", "athena", &smithy.GenericAPIError{Code: "InvalidRequestException"}, "Athena.InvalidRequestException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeDynamoDB{putItem: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return nil, tt.err }}
			_, err := Call(context.Background(), tt.service, f, "putItem", json.RawMessage(`{}`))
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %T %v, want *Error", err, err)
			}
			if got := ie.ErrorName(); got != tt.want {
				t.Fatalf("name = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Fatal("the client's error is not in the chain")
			}
		})
	}
}

// FuzzCall feeds arbitrary Parameters through decoding: a state machine's
// input reaches Parameters, so no document may panic the runner.
func FuzzCall(f *testing.F) {
	f.Add(`{"TableName":"t","Item":{"pk":{"S":"a"},"m":{"M":{"x":{"L":[{"N":"1"}]}}}}}`)
	f.Add(`{"TableName":"t","Item":{"pk":{"BS":["aGk="]}}}`)
	f.Add(`{"TableName":"t","ReturnConsumedCapacity":"TOTAL","Expected":{"a":{"Value":{"S":"x"}}}}`)
	f.Add(`[1,2,3]`)
	f.Add(`{"Item":{"a":{"NULL":false}}}`)
	dd := &fakeDynamoDB{putItem: func(in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
		return &dynamodb.PutItemOutput{Attributes: in.Item}, nil
	}}
	f.Fuzz(func(t *testing.T, params string) {
		out, err := Call(context.Background(), "dynamodb", dd, "putItem", json.RawMessage(params))
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid output JSON %q", out)
		}
	})
}

// BenchmarkCall measures one PutItem round trip through the integration.
func BenchmarkCall(b *testing.B) {
	dd := &fakeDynamoDB{putItem: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
		return &dynamodb.PutItemOutput{}, nil
	}}
	params := json.RawMessage(`{"TableName":"control","ConditionExpression":"attribute_not_exists(pk) OR #m = :p","Item":{"pk":{"S":"dr"},"mode":{"S":"FAILING_OVER"},"execution":{"S":"arn:aws:states:us-east-2:111111111111:execution:failover:x"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Call(context.Background(), "dynamodb", dd, "putItem", params); err != nil {
			b.Fatal(err)
		}
	}
}
