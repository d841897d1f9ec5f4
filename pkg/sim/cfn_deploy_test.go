package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

func cfnTestWorld(t *testing.T) (*World, *clock.Virtual, *CloudFormation) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	t.Cleanup(w.Close)
	return w, clk, w.Region("us-east-2").CloudFormation()
}

// cfnTestWait waits, in virtual time, until the stack leaves *_IN_PROGRESS.
func cfnTestWait(t *testing.T, clk *clock.Virtual, c *CloudFormation, name string) cftypes.Stack {
	t.Helper()
	ctx := context.Background()
	for range 1000 {
		out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		if s := out.Stacks[0]; !strings.HasSuffix(string(s.StackStatus), "_IN_PROGRESS") {
			return s
		}
		if err := clk.Sleep(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("stack %s never settled", name)
	return cftypes.Stack{}
}

const cfnTestTemplate = `{
  "Parameters": {
    "Active": {"Type": "String", "Default": "false", "AllowedValues": ["true", "false"]},
    "Suffix": {"Type": "String"}
  },
  "Conditions": {"IsActive": {"Fn::Equals": [{"Ref": "Active"}, "true"]}},
  "Resources": {
    "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "dlq-${Suffix}"}}},
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {
      "QueueName": {"Fn::Join": ["-", ["work", {"Ref": "Suffix"}]]},
      "VisibilityTimeout": 120,
      "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}, "maxReceiveCount": 3}}},
    "Bucket": {"Type": "AWS::S3::Bucket", "Condition": "IsActive", "DeletionPolicy": "Delete", "Properties": {
      "BucketName": {"Fn::Sub": "data-${AWS::Region}-${Suffix}"},
      "VersioningConfiguration": {"Status": "Enabled"},
      "Tags": [{"Key": "k", "Value": {"Fn::If": ["IsActive", "on", {"Ref": "AWS::NoValue"}]}}]}},
    "Table": {"Type": "AWS::DynamoDB::Table", "DependsOn": "Queue", "Properties": {
      "TableName": {"Fn::Select": [1, {"Fn::Split": [",", "a,table,b"]}]},
      "BillingMode": "PAY_PER_REQUEST",
      "DeletionProtectionEnabled": false,
      "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
      "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
      "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}}
  },
  "Outputs": {
    "QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}},
    "BucketName": {"Value": {"Ref": "Bucket"}, "Condition": "IsActive"}
  }
}`

func cfnTestCreate(t *testing.T, c *CloudFormation, body string, params map[string]string) error {
	t.Helper()
	in := &cloudformation.CreateStackInput{StackName: aws.String("s"), TemplateBody: aws.String(body)}
	for k, v := range params {
		in.Parameters = append(in.Parameters, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	_, err := c.CreateStack(context.Background(), in)
	return err
}

func cfnTestOutputs(s cftypes.Stack) map[string]string {
	out := map[string]string{}
	for _, o := range s.Outputs {
		out[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return out
}

func TestCFNTemplateCreateUpdateDelete(t *testing.T) {
	w, clk, c := cfnTestWorld(t)
	ctx := context.Background()
	r := w.Region("us-east-2")
	if err := cfnTestCreate(t, c, cfnTestTemplate, map[string]string{"Suffix": "x"}); err != nil {
		t.Fatal(err)
	}
	s := cfnTestWait(t, clk, c, "s")
	if got, want := s.StackStatus, cftypes.StackStatusCreateComplete; got != want {
		t.Fatalf("status = %s (%s), want %s", got, aws.ToString(s.StackStatusReason), want)
	}
	// Intrinsics resolved: the queue's dead-letter ARN, the table's name.
	attrs, err := r.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(r.SQS().QueueURL("work-x")), AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := attrs.Attributes["VisibilityTimeout"], "120"; got != want {
		t.Errorf("VisibilityTimeout = %s, want %s", got, want)
	}
	if got := attrs.Attributes["RedrivePolicy"]; !strings.Contains(got, r.SQS().QueueARN("dlq-x")) {
		t.Errorf("RedrivePolicy = %s, want the DLQ's ARN", got)
	}
	if _, err := r.DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("table")}); err != nil {
		t.Errorf("table not created: %v", err)
	}
	pitr, err := r.DynamoDB().DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("table")})
	if err != nil || pitr.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != "ENABLED" {
		t.Errorf("PITR not enabled: %v", err)
	}
	// The conditional bucket is not there while Active=false.
	if _, err := r.S3().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("data-us-east-2-x")}); err == nil {
		t.Error("the IsActive bucket exists while Active=false")
	}
	if got, want := cfnTestOutputs(s), map[string]string{"QueueArn": r.SQS().QueueARN("work-x")}; len(got) != len(want) || got["QueueArn"] != want["QueueArn"] {
		t.Errorf("outputs = %v, want %v", got, want)
	}
	// Activation: the bucket is created, versioned, and named in an output.
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("s"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("true")}, {ParameterKey: aws.String("Suffix"), UsePreviousValue: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	s = cfnTestWait(t, clk, c, "s")
	if got, want := s.StackStatus, cftypes.StackStatusUpdateComplete; got != want {
		t.Fatalf("status = %s (%s), want %s", got, aws.ToString(s.StackStatusReason), want)
	}
	v, err := r.S3().GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("data-us-east-2-x")})
	if err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
		t.Fatalf("bucket after activation: %v %v", v, err)
	}
	if got, want := cfnTestOutputs(s)["BucketName"], "data-us-east-2-x"; got != want {
		t.Errorf("BucketName output = %q, want %q", got, want)
	}
	// The same update again changes nothing.
	_, err = c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("s"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Active"), ParameterValue: aws.String("true")}, {ParameterKey: aws.String("Suffix"), UsePreviousValue: aws.Bool(true)}}})
	cfTestValidation(t, err, "No updates are to be performed.")
	// Deactivation deletes the bucket (DeletionPolicy Delete).
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("s"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Suffix"), UsePreviousValue: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	s = cfnTestWait(t, clk, c, "s")
	if _, err := r.S3().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("data-us-east-2-x")}); err == nil {
		t.Errorf("bucket still there after Active went back to its default false (stack %s)", s.StackStatus)
	}
	// Delete: every resource goes.
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	for range 600 {
		if _, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("s")}); err != nil {
			break
		}
		_ = clk.Sleep(ctx, time.Second)
	}
	if _, err := r.DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("table")}); err == nil {
		t.Error("table still there after DeleteStack")
	}
}

func TestCFNTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		params     map[string]string
		want       string
	}{
		{"UnknownType", `{"Resources":{"X":{"Type":"AWS::Foo::Bar"}}}`, nil, "Unrecognized resource types for the simulator: [AWS::Foo::Bar (X)]"},
		{"UnknownIntrinsic", `{"Resources":{"Q":{"Type":"AWS::SQS::Queue","Properties":{"QueueName":{"Fn::Cidr":["10.0.0.0/16",1,8]}}}}}`, nil, ""},
		{"MissingParameter", `{"Parameters":{"P":{"Type":"String"}},"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`, nil, "Parameters: [P] must have values"},
		{"UnknownParameter", `{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`, map[string]string{"Nope": "1"}, "Parameters: [Nope] do not exist in the template"},
		{"NotAllowed", `{"Parameters":{"P":{"Type":"String","AllowedValues":["a"]}},"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`, map[string]string{"P": "b"}, "must be one of AllowedValues"},
		{"Transform", `{"Transform":"AWS::Serverless-2016-10-31","Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`, nil, "Transform"},
		{"NoResources", `{"Resources":{}}`, nil, "At least one Resources member"},
		{"BadDependsOn", `{"Resources":{"Q":{"Type":"AWS::SQS::Queue","DependsOn":"Nope"}}}`, nil, "Unresolved resource dependencies [Nope]"},
		{"Rule", `{"Parameters":{"V":{"Type":"String","Default":"3"}},"Rules":{"R":{"Assertions":[{"Assert":{"Fn::Not":[{"Fn::Contains":[["1","2","3"],{"Ref":"V"}]}]},"AssertDescription":"version too old"}]}},"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`, nil, "version too old"},
		{"Cycle", `{"Resources":{"A":{"Type":"AWS::SQS::Queue","DependsOn":"B"},"B":{"Type":"AWS::SQS::Queue","DependsOn":"A"}}}`, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, clk, c := cfnTestWorld(t)
			err := cfnTestCreate(t, c, tc.body, tc.params)
			if err == nil {
				// Errors found while resources are created fail the stack.
				s := cfnTestWait(t, clk, c, "s")
				if s.StackStatus != cftypes.StackStatusRollbackComplete {
					t.Fatalf("created: status %s", s.StackStatus)
				}
				if tc.want != "" && !strings.Contains(aws.ToString(s.StackStatusReason), tc.want) {
					t.Fatalf("reason %q, want it to contain %q", aws.ToString(s.StackStatusReason), tc.want)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			if !strings.Contains(ae.ErrorMessage(), tc.want) {
				t.Fatalf("message %q, want it to contain %q", ae.ErrorMessage(), tc.want)
			}
		})
	}
}

func TestCFNUnknownPropertyFailsAndRollsBack(t *testing.T) {
	w, clk, c := cfnTestWorld(t)
	body := `{"Resources":{
	  "Q":{"Type":"AWS::SQS::Queue","Properties":{"QueueName":"q1"}},
	  "B":{"Type":"AWS::S3::Bucket","DependsOn":"Q","Properties":{"BucketName":"b1","AccelerateConfiguration":{"AccelerationStatus":"Enabled"}}}}}`
	if err := cfnTestCreate(t, c, body, nil); err != nil {
		t.Fatal(err)
	}
	s := cfnTestWait(t, clk, c, "s")
	if got, want := s.StackStatus, cftypes.StackStatusRollbackComplete; got != want {
		t.Fatalf("status = %s, want %s", got, want)
	}
	if reason := aws.ToString(s.StackStatusReason); !strings.Contains(reason, "AccelerateConfiguration") || !strings.Contains(reason, "LogicalID: B") {
		t.Errorf("reason %q does not name the property and the resource", reason)
	}
	// The rollback deleted the queue the failed create had made.
	if _, err := w.Region("us-east-2").SQS().GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("q1")}); err == nil {
		t.Error("queue q1 survived the rollback")
	}
}

func TestCFNOrderWaitsForDependencies(t *testing.T) {
	_, clk, c := cfnTestWorld(t)
	start := clk.Now()
	body := `{"Resources":{
	  "T":{"Type":"AWS::DynamoDB::Table","Properties":{"TableName":"tbl","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]}},
	  "Q":{"Type":"AWS::SQS::Queue","Properties":{"QueueName":{"Fn::Join":["",[{"Ref":"T"},"-q"]]}}}}}`
	if err := cfnTestCreate(t, c, body, nil); err != nil {
		t.Fatal(err)
	}
	s := cfnTestWait(t, clk, c, "s")
	if s.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("status %s: %s", s.StackStatus, aws.ToString(s.StackStatusReason))
	}
	// The queue's name needs the table: table then queue, one after the other.
	if got, want := clk.Now().Sub(start), cfnTable+cfnQuick; got < want {
		t.Errorf("create took %v, want at least %v (the queue waits for the table)", got, want)
	}
}
