package states

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// fakeTables serves DescribeTable with the SDK's signature.
type fakeTables struct{ got *dynamodb.DescribeTableInput }

func (f *fakeTables) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	f.got = in
	if aws.ToString(in.TableName) == "missing" {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Requested resource not found"}
	}
	return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{
		TableName: in.TableName, TableStatus: ddbtypes.TableStatusActive, ItemCount: aws.Int64(3),
	}}, nil
}

func TestSDKCall(t *testing.T) {
	m := mustParse(t, `{"StartAt":"Describe","States":{"Describe":{"Type":"Task",
	  "Resource":"arn:aws:states:::aws-sdk:dynamodb:describeTable","Parameters":{"TableName.$":"$.table"},
	  "Catch":[{"ErrorEquals":["DynamoDb.ResourceNotFoundException"],"ResultPath":"$.error","Next":"Missing"}],"End":true},
	  "Missing":{"Type":"Pass","OutputPath":"$.error.Error","End":true}}}`)
	fake := &fakeTables{}
	e := New(Options{Clock: clock.NewVirtual(conformanceStart)})
	e.Registry().HandleSDK("dynamodb", "DescribeTable", SDKCall(fake.DescribeTable))

	r, _ := run(t, e, m, `{"table":"orders"}`)
	if got, want := aws.ToString(fake.got.TableName), "orders"; got != want {
		t.Fatalf("TableName = %q, want %q", got, want)
	}
	var out map[string]any
	if err := json.Unmarshal(r.Output, &out); err != nil {
		t.Fatal(err)
	}
	if _, ok := out["ResultMetadata"]; ok {
		t.Errorf("output keeps ResultMetadata: %s", r.Output)
	}
	if got, want := string(r.Output), `{"Table":{"ItemCount":3,"TableName":"orders","TableStatus":"ACTIVE"}}`; got != want {
		t.Errorf("output = %s, want %s", got, want)
	}

	r, _ = run(t, e, m, `{"table":"missing"}`)
	if got, want := string(r.Output), `"DynamoDb.ResourceNotFoundException"`; got != want {
		t.Errorf("error output = %s, want %s", got, want)
	}
}
