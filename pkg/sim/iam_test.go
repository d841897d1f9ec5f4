package sim

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	firehosetypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
)

const (
	iamTestAccount = "111111111111"
	iamTestRole    = "arn:aws:iam::111111111111:role/app/pendulum-restore"
)

// iamWorld is a world with IAM enforced and one declared role without
// policies, and a context that calls as that role.
func iamWorld(t *testing.T) (*World, context.Context) {
	t.Helper()
	w := NewWorld(clock.NewVirtual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)), iamTestAccount, "us-east-1", GAControlRegion)
	w.EnforceIAM(true)
	if err := w.CreateRole(iamTestRole); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	return w, WithPrincipal(context.Background(), iamTestRole)
}

// iamServices are the simulated services of a region by their SDK
// ServiceID.
func iamServices(r *Region) map[string]any {
	return map[string]any{
		"S3": r.S3(), "DynamoDB": r.DynamoDB(), "Kinesis": r.Kinesis(), "Firehose": r.Firehose(),
		"SQS": r.SQS(), "SNS": r.SNS(), "Glue": r.Glue(), "Backup": r.Backup(), "CloudWatch": r.CloudWatch(),
		"CloudFormation": r.CloudFormation(), "Global Accelerator": r.GlobalAccelerator(), "SSM": r.SSM(),
		"Lambda": r.Lambda(), "EventBridge": r.EventBridge(), "Scheduler": r.Scheduler(), "ACM": r.ACM(),
		"S3 Control": r.S3Control(),
	}
}

// sdkOperations returns the exported methods of svc with the SDK client
// method shape: (ctx, *XInput, ...func(*Options)) (*XOutput, error).
func sdkOperations(svc any) []reflect.Method {
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	var out []reflect.Method
	t := reflect.TypeOf(svc)
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		ft := m.Type // receiver first
		if ft.NumIn() != 4 || !ft.IsVariadic() || ft.In(1) != ctxType || ft.NumOut() != 2 {
			continue
		}
		in := ft.In(2)
		if in.Kind() != reflect.Pointer || in.Elem().Kind() != reflect.Struct || !strings.HasSuffix(in.Elem().Name(), "Input") {
			continue
		}
		out = append(out, m)
	}
	return out
}

// TestIAMEveryOperationIsMapped fails on a simulated operation with no IAM
// mapping, so a new operation cannot slip past authorization unmapped.
func TestIAMEveryOperationIsMapped(t *testing.T) {
	w, _ := iamWorld(t)
	n := 0
	for service, svc := range iamServices(w.Region(GAControlRegion)) {
		for _, m := range sdkOperations(svc) {
			n++
			if iamOps[service+"."+m.Name] == nil {
				t.Errorf("%s.%s has no IAM mapping in iamOps (iam_actions.go)", service, m.Name)
			}
		}
	}
	if n < 100 {
		t.Fatalf("found %d operations; the reflection walk is broken", n)
	}
}

// TestIAMEveryOperationIsGated calls every simulated operation, with a zero
// input, as a role without policies: each must fail as a permission error
// and be recorded. An operation that does not pass its input to r.call
// fails here.
func TestIAMEveryOperationIsGated(t *testing.T) {
	w, ctx := iamWorld(t)
	for service, svc := range iamServices(w.Region(GAControlRegion)) {
		for _, m := range sdkOperations(svc) {
			before := len(w.Denied())
			in := reflect.New(m.Type.In(2).Elem())
			if fixed, ok := gateInputs[service+"."+m.Name]; ok {
				in = reflect.ValueOf(fixed)
			}
			res := reflect.ValueOf(svc).MethodByName(m.Name).Call([]reflect.Value{reflect.ValueOf(ctx), in})
			err, _ := res[1].Interface().(error)
			if got, want := fault.Classify(err), fault.Permission; got != want {
				t.Errorf("%s.%s as a role without policies: %v (%v), want a permission error: does it pass its input to r.call?", service, m.Name, err, got)
				continue
			}
			d := w.Denied()
			if got, want := len(d), before+1; got != want {
				t.Errorf("%s.%s: %d denials recorded, want %d", service, m.Name, got, want)
				continue
			}
			if got, want := d[len(d)-1].Operation, m.Name; got != want {
				t.Errorf("%s.%s: denial recorded for %s", service, m.Name, got)
			}
		}
	}
}

// gateInputs are inputs for the operations whose resources come only from
// the request's items: a zero input names no table, so there is nothing to
// authorize.
var gateInputs = map[string]any{
	"DynamoDB.BatchGetItem":       &dynamodb.BatchGetItemInput{RequestItems: map[string]ddbtypes.KeysAndAttributes{"t": {}}},
	"DynamoDB.BatchWriteItem":     &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"t": {}}},
	"DynamoDB.TransactGetItems":   &dynamodb.TransactGetItemsInput{TransactItems: []ddbtypes.TransactGetItem{{Get: &ddbtypes.Get{TableName: aws.String("t")}}}},
	"DynamoDB.TransactWriteItems": &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{{Delete: &ddbtypes.Delete{TableName: aws.String("t")}}}},
}

// allow grants the test role one statement as an inline policy.
func allow(t *testing.T, w *World, name, statement string) {
	t.Helper()
	if err := w.PutRolePolicy(iamTestRole, name, []byte(`{"Version":"2012-10-17","Statement":`+statement+`}`)); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
}

// TestIAMDeniedThenAllowed checks, per service, that a call lacking the
// permission fails with the service's error code, HTTP 403 and AWS's
// message, is recorded with its action and resource, and no longer fails on
// permissions once the policy grants them.
func TestIAMDeniedThenAllowed(t *testing.T) {
	const east = "us-east-1"
	tests := []struct {
		name     string
		region   string
		call     func(r *Region, ctx context.Context) error
		code     string
		action   string
		resource string
		grant    string // the statement that allows the call
		message  string // in the message, besides the action
	}{
		{"s3 GetObject", east, func(r *Region, ctx context.Context) error {
			_, err := r.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("raw/a.json")})
			return err
		}, "AccessDenied", "s3:GetObject", "arn:aws:s3:::data/raw/a.json",
			`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}`, `on resource: "arn:aws:s3:::data/raw/a.json"`},
		{"s3 GetObject of a version", east, func(r *Region, ctx context.Context) error {
			_, err := r.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("k"), VersionId: aws.String("v1")})
			return err
		}, "AccessDenied", "s3:GetObjectVersion", "arn:aws:s3:::data/k",
			`{"Effect":"Allow","Action":"s3:GetObjectVersion","Resource":"arn:aws:s3:::data/*"}`, ""},
		{"s3 HeadObject", east, func(r *Region, ctx context.Context) error {
			_, err := r.S3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data"), Key: aws.String("k")})
			return err
		}, "Forbidden", "s3:GetObject", "arn:aws:s3:::data/k",
			`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}`, ""},
		{"s3 ListObjectsV2", east, func(r *Region, ctx context.Context) error {
			_, err := r.S3().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("data"), Prefix: aws.String("raw/")})
			return err
		}, "AccessDenied", "s3:ListBucket", "arn:aws:s3:::data",
			`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::data","Condition":{"StringLike":{"s3:prefix":"raw/*"}}}`, ""},
		{"s3 PutObject with tags", east, func(r *Region, ctx context.Context) error {
			_, err := r.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("k"), Tagging: aws.String("a=b")})
			return err
		}, "AccessDenied", "s3:PutObject", "arn:aws:s3:::data/k",
			`{"Effect":"Allow","Action":["s3:PutObject","s3:PutObjectTagging"],"Resource":"arn:aws:s3:::data/*"}`, ""},
		{"dynamodb PutItem", east, func(r *Region, ctx context.Context) error {
			_, err := r.DynamoDB().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("events"),
				Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}})
			return err
		}, "AccessDeniedException", "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111111111111:table/events",
			`{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"arn:aws:dynamodb:*:*:table/events"}`,
			"User: arn:aws:sts::111111111111:assumed-role/pendulum-restore/pendulum-restore is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:111111111111:table/events because no identity-based policy allows the dynamodb:PutItem action"},
		{"dynamodb BatchWriteItem", east, func(r *Region, ctx context.Context) error {
			_, err := r.DynamoDB().BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{
				"events": {{PutRequest: &ddbtypes.PutRequest{Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}}}}}})
			return err
		}, "AccessDeniedException", "dynamodb:BatchWriteItem", "arn:aws:dynamodb:us-east-1:111111111111:table/events",
			`{"Effect":"Allow","Action":"dynamodb:BatchWriteItem","Resource":"arn:aws:dynamodb:*:*:table/events"}`, ""},
		{"dynamodb TransactWriteItems per item", east, func(r *Region, ctx context.Context) error {
			_, err := r.DynamoDB().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
				{Put: &ddbtypes.Put{TableName: aws.String("events"), Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}}},
				{Update: &ddbtypes.Update{TableName: aws.String("totals"), Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}},
					UpdateExpression: aws.String("SET n = :n"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":n": &ddbtypes.AttributeValueMemberN{Value: "1"}}}},
			}})
			return err
		}, "AccessDeniedException", "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111111111111:table/events",
			`[{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"arn:aws:dynamodb:*:*:table/events"},{"Effect":"Allow","Action":"dynamodb:UpdateItem","Resource":"arn:aws:dynamodb:*:*:table/totals"}]`, ""},
		{"kinesis PutRecords", east, func(r *Region, ctx context.Context) error {
			_, err := r.Kinesis().PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"),
				Records: []kinesistypes.PutRecordsRequestEntry{{Data: []byte("x"), PartitionKey: aws.String("p")}}})
			return err
		}, "AccessDeniedException", "kinesis:PutRecords", "arn:aws:kinesis:us-east-1:111111111111:stream/ingest",
			`{"Effect":"Allow","Action":"kinesis:PutRecord*","Resource":"arn:aws:kinesis:us-east-1:111111111111:stream/ingest"}`, ""},
		{"firehose PutRecordBatch", east, func(r *Region, ctx context.Context) error {
			_, err := r.Firehose().PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("archive"),
				Records: []firehosetypes.Record{{Data: []byte("x")}}})
			return err
		}, "AccessDeniedException", "firehose:PutRecordBatch", "arn:aws:firehose:us-east-1:111111111111:deliverystream/archive",
			`{"Effect":"Allow","Action":"firehose:PutRecordBatch","Resource":"*"}`, ""},
		{"sqs SendMessageBatch needs sqs:SendMessage", east, func(r *Region, ctx context.Context) error {
			_, err := r.SQS().SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/111111111111/jobs")})
			return err
		}, "AccessDenied", "sqs:SendMessage", "arn:aws:sqs:us-east-1:111111111111:jobs",
			`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:jobs"}`, "sqs:sendmessage"},
		{"sns Publish", east, func(r *Region, ctx context.Context) error {
			_, err := r.SNS().Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:111111111111:alerts"), Message: aws.String("m")})
			return err
		}, "AuthorizationError", "sns:Publish", "arn:aws:sns:us-east-1:111111111111:alerts",
			`{"Effect":"Allow","Action":"sns:Publish","Resource":"arn:aws:sns:us-east-1:111111111111:alerts"}`, "SNS:Publish"},
		{"glue GetTable needs the table", east, func(r *Region, ctx context.Context) error {
			_, err := r.Glue().GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("lake"), Name: aws.String("Events")})
			return err
		}, "AccessDeniedException", "glue:GetTable", "arn:aws:glue:us-east-1:111111111111:catalog",
			`{"Effect":"Allow","Action":"glue:GetTable","Resource":["arn:aws:glue:us-east-1:111111111111:catalog","arn:aws:glue:us-east-1:111111111111:database/lake","arn:aws:glue:us-east-1:111111111111:table/lake/events"]}`, ""},
		{"backup StartRestoreJob", east, func(r *Region, ctx context.Context) error {
			_, err := r.Backup().StartRestoreJob(ctx, &backup.StartRestoreJobInput{
				RecoveryPointArn: aws.String("arn:aws:backup:us-east-1:111111111111:recovery-point:rp1"),
				IamRoleArn:       aws.String("arn:aws:iam::111111111111:role/backup-restore"), Metadata: map[string]string{"TargetTableName": "events-restored"}})
			return err
		}, "AccessDeniedException", "backup:StartRestoreJob", "arn:aws:backup:us-east-1:111111111111:recovery-point:rp1",
			`[{"Effect":"Allow","Action":"backup:StartRestoreJob","Resource":"*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111111111111:role/backup-restore","Condition":{"StringEquals":{"iam:PassedToService":"backup.amazonaws.com"}}}]`, ""},
		{"cloudwatch PutMetricData", east, func(r *Region, ctx context.Context) error {
			_, err := r.CloudWatch().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pendulum")})
			return err
		}, "AccessDenied", "cloudwatch:PutMetricData", "*",
			`{"Effect":"Allow","Action":"cloudwatch:PutMetricData","Resource":"*","Condition":{"StringEquals":{"cloudwatch:namespace":"Pendulum"}}}`,
			"is not authorized to perform: cloudwatch:PutMetricData because"},
		{"global accelerator DescribeAccelerator", GAControlRegion, func(r *Region, ctx context.Context) error {
			_, err := r.GlobalAccelerator().DescribeAccelerator(ctx, &globalaccelerator.DescribeAcceleratorInput{AcceleratorArn: aws.String("arn:aws:globalaccelerator::111111111111:accelerator/abc")})
			return err
		}, "AccessDeniedException", "globalaccelerator:DescribeAccelerator", "arn:aws:globalaccelerator::111111111111:accelerator/abc",
			`{"Effect":"Allow","Action":"globalaccelerator:Describe*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-west-2"}}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ctx := iamWorld(t)
			r := w.Region(tt.region)
			err := tt.call(r, ctx)
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("denied call: %v, want an API error", err)
			}
			if got, want := api.ErrorCode(), tt.code; got != want {
				t.Fatalf("error code = %q, want %q (%v)", got, want, err)
			}
			var oe *smithy.OperationError
			if !errors.As(err, &oe) {
				t.Fatalf("denied call: %v, want an OperationError", err)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("denied call: %v, want an HTTP response error", err)
			}
			if got, want := re.HTTPStatusCode(), 403; got != want {
				t.Fatalf("HTTP status = %d, want %d", got, want)
			}
			if got, want := fault.Classify(err), fault.Permission; got != want {
				t.Fatalf("fault.Classify = %v, want %v", got, want)
			}
			if tt.code != "Forbidden" && !strings.Contains(api.ErrorMessage(), "because no identity-based policy allows") {
				t.Fatalf("message %q does not say why", api.ErrorMessage())
			}
			if tt.message != "" && !strings.Contains(api.ErrorMessage(), tt.message) {
				t.Fatalf("message %q does not contain %q", api.ErrorMessage(), tt.message)
			}
			d := w.Denied()
			if got, want := len(d), 1; got != want {
				t.Fatalf("%d denials recorded, want %d", got, want)
			}
			if got, want := d[0], (DeniedCall{Principal: iamTestRole, Action: tt.action, Resource: tt.resource, Region: tt.region,
				Service: oe.ServiceID, Operation: oe.OperationName, Time: w.Clock.Now()}); got != want {
				t.Fatalf("denial = %+v, want %+v", got, want)
			}

			allow(t, w, "grant", tt.grant)
			if err := tt.call(r, ctx); fault.Classify(err) == fault.Permission {
				t.Fatalf("after the grant: %v", err)
			}
			if got, want := len(w.Denied()), 1; got != want {
				t.Fatalf("after the grant %d denials recorded, want %d", got, want)
			}
		})
	}
}

// TestIAMCopyObjectNeedsBothSides checks that CopyObject reads the source
// and writes the destination: allowed to read, the copy is denied on the
// destination's s3:PutObject.
func TestIAMCopyObjectNeedsBothSides(t *testing.T) {
	w, ctx := iamWorld(t)
	allow(t, w, "read", `{"Effect":"Allow","Action":"s3:GetObject*","Resource":"arn:aws:s3:::src/*"}`)
	c := w.Region("us-east-1").S3()
	_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("b"), CopySource: aws.String("src/a?versionId=v1")})
	if got, want := fault.Code(err), "AccessDenied"; got != want {
		t.Fatalf("copy error code = %q, want %q (%v)", got, want, err)
	}
	d := w.Denied()
	if got, want := d[len(d)-1].Action+" "+d[len(d)-1].Resource, "s3:PutObject arn:aws:s3:::dst/b"; got != want {
		t.Fatalf("denied %s, want %s", got, want)
	}
	if got, want := iamChecksFor(w.Region("us-east-1"), "S3", "CopyObject", &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("b"),
		CopySource: aws.String("src/a?versionId=v1")})[0].action, "s3:GetObjectVersion"; got != want {
		t.Fatalf("source action = %s, want %s", got, want)
	}
}

// TestIAMExplicitDeny checks the explicit-deny message and record.
func TestIAMExplicitDeny(t *testing.T) {
	w, ctx := iamWorld(t)
	allow(t, w, "all", `[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"},{"Effect":"Deny","Action":"dynamodb:DeleteTable","Resource":"*"}]`)
	_, err := w.Region("us-east-1").DynamoDB().DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("events")})
	var api smithy.APIError
	if !errors.As(err, &api) || !strings.HasSuffix(api.ErrorMessage(), "with an explicit deny in an identity-based policy") {
		t.Fatalf("explicit deny: %v", err)
	}
	if d := w.Denied(); len(d) != 1 || !d[0].Explicit {
		t.Fatalf("denials = %+v, want one explicit", d)
	}
}

// TestIAMRequestedRegion checks that aws:RequestedRegion is the region
// called, so a policy confined to one region denies the other.
func TestIAMRequestedRegion(t *testing.T) {
	w, ctx := iamWorld(t)
	allow(t, w, "east", `{"Effect":"Allow","Action":"sqs:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}`)
	if _, err := w.Region("us-east-1").SQS().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")}); err != nil {
		t.Fatalf("in us-east-1: %v", err)
	}
	_, err := w.Region(GAControlRegion).SQS().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")})
	if got, want := fault.Code(err), "AccessDenied"; got != want {
		t.Fatalf("in us-west-2: code %q, want %q (%v)", got, want, err)
	}
}

// TestIAMWhoIsEvaluated checks that calls without a principal, and all
// calls while enforcement is off, are not evaluated, and that a principal
// with an undeclared role is denied.
func TestIAMWhoIsEvaluated(t *testing.T) {
	w, ctx := iamWorld(t)
	c := w.Region("us-east-1").S3()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt-a")}); err != nil {
		t.Fatalf("without a principal: %v", err)
	}
	if got, ok := PrincipalOf(ctx); !ok || got != iamTestRole {
		t.Fatalf("PrincipalOf = %q, %v", got, ok)
	}
	if _, ok := PrincipalOf(context.Background()); ok {
		t.Fatalf("PrincipalOf(Background) reports a principal")
	}
	stranger := WithRoleSession(context.Background(), "arn:aws:iam::111111111111:role/nobody", "s1")
	_, err := c.HeadBucket(stranger, &s3.HeadBucketInput{Bucket: aws.String("bkt-a")})
	if got, want := fault.Code(err), "Forbidden"; got != want {
		t.Fatalf("unknown role: code %q, want %q (%v)", got, want, err)
	}
	w.EnforceIAM(false)
	if _, err := c.HeadBucket(stranger, &s3.HeadBucketInput{Bucket: aws.String("bkt-a")}); err != nil {
		t.Fatalf("enforcement off: %v", err)
	}
	if got, want := len(w.Denied()), 1; got != want {
		t.Fatalf("%d denials, want %d", got, want)
	}
}

// TestIAMRegistry checks the role and policy registry's answers.
func TestIAMRegistry(t *testing.T) {
	w, ctx := iamWorld(t)
	if err := w.PutRolePolicy("arn:aws:iam::111111111111:role/missing", "p", []byte(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)); fault.Code(err) != "NoSuchEntity" {
		t.Fatalf("PutRolePolicy on a missing role: %v", err)
	}
	if err := w.PutRolePolicy(iamTestRole, "p", []byte(`{"Statement":{"Effect":"Allow"}}`)); fault.Code(err) != "MalformedPolicyDocument" {
		t.Fatalf("PutRolePolicy of a bad document: %v", err)
	}
	if err := w.CreateRole("arn:aws:s3:::not-a-role"); err == nil {
		t.Fatalf("CreateRole accepted a bucket ARN")
	}
	if err := w.DeleteRolePolicy(iamTestRole, "nope"); fault.Code(err) != "NoSuchEntity" {
		t.Fatalf("DeleteRolePolicy of a missing policy: %v", err)
	}
	topics := w.Region("us-east-1").SNS()
	list := func() error { _, err := topics.ListTopics(ctx, &sns.ListTopicsInput{}); return err }

	const managed = "arn:aws:iam::111111111111:policy/read-topics"
	if err := w.AttachRolePolicy(iamTestRole, managed); fault.Code(err) != "NoSuchEntity" {
		t.Fatalf("attach of a missing managed policy: %v", err)
	}
	if err := w.PutManagedPolicy(managed, []byte(`{"Statement":{"Effect":"Allow","Action":"sns:List*","Resource":"*"}}`)); err != nil {
		t.Fatalf("PutManagedPolicy: %v", err)
	}
	if err := w.AttachRolePolicy(iamTestRole, managed); err != nil {
		t.Fatalf("AttachRolePolicy: %v", err)
	}
	if err := list(); err != nil {
		t.Fatalf("with the managed policy: %v", err)
	}
	if err := w.DetachRolePolicy(iamTestRole, managed); err != nil {
		t.Fatalf("DetachRolePolicy: %v", err)
	}
	if got, want := fault.Code(list()), "AuthorizationError"; got != want {
		t.Fatalf("after detach: %q, want %q", got, want)
	}
	allow(t, w, "inline", `{"Effect":"Allow","Action":"sns:ListTopics","Resource":"*"}`)
	if err := list(); err != nil {
		t.Fatalf("with the inline policy: %v", err)
	}
	if err := w.DeleteRolePolicy(iamTestRole, "inline"); err != nil {
		t.Fatalf("DeleteRolePolicy: %v", err)
	}
	if got, want := fault.Code(list()), "AuthorizationError"; got != want {
		t.Fatalf("after delete: %q, want %q", got, want)
	}
	w.DeleteRole(iamTestRole)
	if err := w.CreateRole(iamTestRole); err != nil {
		t.Fatalf("CreateRole again: %v", err)
	}
}

// TestIAMStackARN checks that a stack is authorized by its ID once it
// exists, and that UpdateStack passes its service role.
func TestIAMStackARN(t *testing.T) {
	w, ctx := iamWorld(t)
	r := w.Region("us-east-1")
	out, err := r.CloudFormation().CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("pendulum"), TemplateBody: aws.String(`{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`)})
	if err != nil {
		t.Fatalf("CreateStack: %v", err)
	}
	allow(t, w, "cfn", `{"Effect":"Allow","Action":"cloudformation:UpdateStack","Resource":"arn:aws:cloudformation:us-east-1:111111111111:stack/pendulum/*"}`)
	_, err = r.CloudFormation().UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("pendulum"), UsePreviousTemplate: aws.Bool(true),
		RoleARN: aws.String("arn:aws:iam::111111111111:role/cfn-exec")})
	if got, want := fault.Code(err), "AccessDenied"; got != want {
		t.Fatalf("UpdateStack without PassRole: %q, want %q (%v)", got, want, err)
	}
	d := w.Denied()
	if got, want := d[len(d)-1].Action+" "+d[len(d)-1].Resource, "iam:PassRole arn:aws:iam::111111111111:role/cfn-exec"; got != want {
		t.Fatalf("denied %s, want %s", got, want)
	}
	if got, want := cfStackARN(r, "pendulum"), aws.ToString(out.StackId); got != want {
		t.Fatalf("stack ARN = %s, want %s", got, want)
	}
}

// TestIAMDeleteObjectsPerKey checks that a multi-object delete is authorized
// key by key, with the version action for a version.
func TestIAMDeleteObjectsPerKey(t *testing.T) {
	w, _ := iamWorld(t)
	checks := iamChecksFor(w.Region("us-east-1"), "S3", "DeleteObjects", &s3.DeleteObjectsInput{Bucket: aws.String("b"), Delete: &s3types.Delete{
		Objects: []s3types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("c"), VersionId: aws.String("v")}}}})
	var got []string
	for _, c := range checks {
		got = append(got, c.action+" "+c.resource)
	}
	if want := "s3:DeleteObject arn:aws:s3:::b/a,s3:DeleteObjectVersion arn:aws:s3:::b/c"; strings.Join(got, ",") != want {
		t.Fatalf("checks = %v, want %s", got, want)
	}
}
