package sim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// The IAM actions, resources and condition keys of each simulated
// operation, from the Service Authorization Reference ("Actions, resources,
// and condition keys for Amazon S3", "… for Amazon DynamoDB", and so on for
// each service) and the services' own permission pages where those say
// more (noted at the entry). TestIAMEveryOperationIsMapped fails on an
// exported operation with no entry here.

// iamCheck is one authorization a call needs: an action on a resource, with
// the service-specific condition keys the request sets.
type iamCheck struct {
	action, resource string
	keys             map[string][]string
}

// iamMapper computes the checks of one operation from its input.
type iamMapper func(r *Region, in any) []iamCheck

// on adapts a mapper of a typed input. A missing input (or one of another
// type) maps as the zero input, so a resource name the call did not give
// is empty, as it is in the request AWS authorizes.
func on[T any](f func(r *Region, in *T) []iamCheck) iamMapper {
	return func(r *Region, in any) []iamCheck {
		t, _ := in.(*T)
		if t == nil {
			t = new(T)
		}
		return f(r, t)
	}
}

// iamChecksFor returns the checks of an operation. An operation with no
// entry is authorized as its namesake action on "*", the commonest shape;
// the mapping test keeps that fallback unused.
func iamChecksFor(r *Region, service, operation string, in any) []iamCheck {
	if m := iamOps[service+"."+operation]; m != nil {
		return m(r, in)
	}
	return []iamCheck{{action: iamPrefix(service) + ":" + operation, resource: "*"}}
}

// iamPrefix is the IAM service prefix of an SDK ServiceID.
func iamPrefix(service string) string {
	switch service {
	case "Global Accelerator":
		return "globalaccelerator"
	case "CloudWatch":
		return "cloudwatch"
	case "EventBridge":
		return "events"
	case "S3 Control":
		return "s3"
	}
	return strings.ToLower(service)
}

// one is a single check without condition keys.
func one(action, resource string) []iamCheck {
	return []iamCheck{{action: action, resource: resource}}
}

// cfnStackCheck is a stack operation's check, with the
// cloudformation:RoleArn condition key set to the service role the call
// passes, when it passes one
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html).
func cfnStackCheck(action, stackARN string, roleARN *string) []iamCheck {
	c := iamCheck{action: action, resource: stackARN}
	if roleARN != nil {
		c.keys = map[string][]string{"cloudformation:RoleArn": {aws.ToString(roleARN)}}
	}
	return []iamCheck{c}
}

// passRole is the iam:PassRole check a call that hands a role to a service
// needs, with iam:PassedToService set ("Granting a user permissions to pass a
// role to an AWS service", AWS IAM User Guide). No role, no check.
func passRole(roleARN, service string) []iamCheck {
	if roleARN == "" {
		return nil
	}
	return []iamCheck{{action: "iam:PassRole", resource: roleARN, keys: map[string][]string{"iam:PassedToService": {service}}}}
}

// Resource ARNs.

func s3BucketARN(bucket string) string      { return "arn:aws:s3:::" + bucket }
func s3ObjectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

func (r *Region) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, r.Name, r.world.Account, resource)
}

// ddbARN is a table's ARN from a name or an ARN (DynamoDB accepts both).
func ddbARN(r *Region, nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN
	}
	return r.arn("dynamodb", "table/"+nameOrARN)
}

// ddbIndexARN is the resource of a Query or Scan: the index when one is
// named ("Using IAM policy conditions for fine-grained access control",
// Amazon DynamoDB Developer Guide).
func ddbIndexARN(r *Region, table string, index *string) string {
	if aws.ToString(index) != "" {
		return ddbARN(r, table) + "/index/" + aws.ToString(index)
	}
	return ddbARN(r, table)
}

func kinesisARN(r *Region, name, arn *string) string {
	if a := aws.ToString(arn); a != "" {
		return a
	}
	return r.arn("kinesis", "stream/"+aws.ToString(name))
}

func firehoseARN(r *Region, name *string) string {
	return r.arn("firehose", "deliverystream/"+aws.ToString(name))
}

// sqsARN turns a queue URL, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME,
// into the queue's ARN.
func sqsARN(r *Region, queueURL *string) string {
	u := aws.ToString(queueURL)
	region, account, name := r.Name, r.world.Account, u[strings.LastIndexByte(u, '/')+1:]
	if pu, err := url.Parse(u); err == nil {
		if parts := strings.Split(strings.Trim(pu.Path, "/"), "/"); len(parts) == 2 {
			account, name = parts[0], parts[1]
		}
		if h := strings.Split(pu.Host, "."); len(h) >= 3 && h[0] == "sqs" {
			region = h[1]
		}
	}
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, account, name)
}

// glueARNs are the catalog, database and (when table is not empty) table
// ARNs a Data Catalog call on a table needs ("Specifying AWS Glue resource
// ARNs", AWS Glue Developer Guide). Glue keeps names in lower case, and so
// do its ARNs.
func glueARNs(r *Region, db, table *string) []string {
	d := strings.ToLower(aws.ToString(db))
	out := []string{r.arn("glue", "catalog"), r.arn("glue", "database/"+d)}
	if table != nil {
		out = append(out, r.arn("glue", "table/"+d+"/"+strings.ToLower(aws.ToString(table))))
	}
	return out
}

func glueChecks(action string, arns []string) []iamCheck {
	out := make([]iamCheck, 0, len(arns))
	for _, a := range arns {
		out = append(out, iamCheck{action: action, resource: a})
	}
	return out
}

// cfStackARN is a stack's ARN: the live stack's ID when the name resolves,
// else the name with a wildcard ID, which is how CloudFormation names a
// stack that does not exist yet in a denial.
func cfStackARN(r *Region, nameOrID string) string {
	if strings.HasPrefix(nameOrID, "arn:") {
		return nameOrID
	}
	c := r.CloudFormation()
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, err := c.find(nameOrID); err == nil {
		return s.id
	}
	return r.arn("cloudformation", "stack/"+nameOrID+"/*")
}

// cfChangeSetStackARN is the stack a change set operation acts on: the
// stack of the change set named by ARN, else the stack named (change set
// actions are authorized on the stack, Service Authorization Reference).
func cfChangeSetStackARN(r *Region, changeSet, stack *string) string {
	c := r.CloudFormation()
	c.mu.Lock()
	cs, ok := c.changeSets[aws.ToString(changeSet)]
	c.mu.Unlock()
	if ok {
		return cs.stack.id
	}
	return cfStackARN(r, aws.ToString(stack))
}

func backupVaultARN(r *Region, name *string) string {
	return r.arn("backup", "backup-vault:"+aws.ToString(name))
}

// s3GetAction is the read action of an object: a read of a given version
// needs s3:GetObjectVersion ("Amazon S3 API operations and the permissions
// they require" — GetObject, HeadObject).
func s3GetAction(versionID *string) string {
	if aws.ToString(versionID) != "" {
		return "s3:GetObjectVersion"
	}
	return "s3:GetObject"
}

func s3DeleteAction(versionID *string) string {
	if aws.ToString(versionID) != "" {
		return "s3:DeleteObjectVersion"
	}
	return "s3:DeleteObject"
}

// s3ListKeys are the condition keys of a listing ("Actions, resources, and
// condition keys for Amazon S3": s3:prefix, s3:delimiter, s3:max-keys).
func s3ListKeys(prefix, delimiter *string, maxKeys *int32) map[string][]string {
	keys := map[string][]string{}
	if prefix != nil {
		keys["s3:prefix"] = []string{*prefix}
	}
	if delimiter != nil {
		keys["s3:delimiter"] = []string{*delimiter}
	}
	if maxKeys != nil {
		keys["s3:max-keys"] = []string{fmt.Sprint(*maxKeys)}
	}
	return keys
}

// iamOps maps "ServiceID.Operation" to the operation's checks.
var iamOps = map[string]iamMapper{
	// Amazon S3. Bucket-level actions act on the bucket ARN, object-level
	// ones on the object ARN.
	"S3.CreateBucket": on(func(r *Region, in *s3.CreateBucketInput) []iamCheck {
		return one("s3:CreateBucket", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	// HeadBucket needs s3:ListBucket ("HeadBucket", Amazon S3 API Reference).
	"S3.HeadBucket": on(func(r *Region, in *s3.HeadBucketInput) []iamCheck {
		return one("s3:ListBucket", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	"S3.GetBucketLocation": on(func(r *Region, in *s3.GetBucketLocationInput) []iamCheck {
		return one("s3:GetBucketLocation", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	"S3.PutBucketVersioning": on(func(r *Region, in *s3.PutBucketVersioningInput) []iamCheck {
		return one("s3:PutBucketVersioning", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	"S3.GetBucketVersioning": on(func(r *Region, in *s3.GetBucketVersioningInput) []iamCheck {
		return one("s3:GetBucketVersioning", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	// Replication configuration passes the replication role to S3
	// ("Setting up permissions for live replication", Amazon S3 User Guide).
	"S3.PutBucketReplication": on(func(r *Region, in *s3.PutBucketReplicationInput) []iamCheck {
		out := one("s3:PutReplicationConfiguration", s3BucketARN(aws.ToString(in.Bucket)))
		if in.ReplicationConfiguration != nil {
			out = append(out, passRole(aws.ToString(in.ReplicationConfiguration.Role), "s3.amazonaws.com")...)
		}
		return out
	}),
	"S3.GetBucketReplication": on(func(r *Region, in *s3.GetBucketReplicationInput) []iamCheck {
		return one("s3:GetReplicationConfiguration", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	"S3.DeleteBucketReplication": on(func(r *Region, in *s3.DeleteBucketReplicationInput) []iamCheck {
		return one("s3:PutReplicationConfiguration", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	"S3.PutBucketNotificationConfiguration": on(func(r *Region, in *s3.PutBucketNotificationConfigurationInput) []iamCheck {
		return one("s3:PutBucketNotification", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	"S3.GetBucketNotificationConfiguration": on(func(r *Region, in *s3.GetBucketNotificationConfigurationInput) []iamCheck {
		return one("s3:GetBucketNotification", s3BucketARN(aws.ToString(in.Bucket)))
	}),
	// A put with tags needs s3:PutObjectTagging too ("PutObject", Amazon S3
	// API Reference).
	"S3.PutObject": on(func(r *Region, in *s3.PutObjectInput) []iamCheck {
		arn := s3ObjectARN(aws.ToString(in.Bucket), aws.ToString(in.Key))
		out := one("s3:PutObject", arn)
		if aws.ToString(in.Tagging) != "" {
			out = append(out, iamCheck{action: "s3:PutObjectTagging", resource: arn})
		}
		return out
	}),
	"S3.GetObject": on(func(r *Region, in *s3.GetObjectInput) []iamCheck {
		return one(s3GetAction(in.VersionId), s3ObjectARN(aws.ToString(in.Bucket), aws.ToString(in.Key)))
	}),
	// HEAD needs the read permission of GET ("HeadObject", Amazon S3 API
	// Reference).
	"S3.HeadObject": on(func(r *Region, in *s3.HeadObjectInput) []iamCheck {
		return one(s3GetAction(in.VersionId), s3ObjectARN(aws.ToString(in.Bucket), aws.ToString(in.Key)))
	}),
	"S3.DeleteObject": on(func(r *Region, in *s3.DeleteObjectInput) []iamCheck {
		return one(s3DeleteAction(in.VersionId), s3ObjectARN(aws.ToString(in.Bucket), aws.ToString(in.Key)))
	}),
	// DeleteObjects is authorized per key as DeleteObject ("DeleteObjects",
	// Amazon S3 API Reference). S3 reports a denied key in the result's
	// Errors; the simulator fails the whole call.
	"S3.DeleteObjects": on(func(r *Region, in *s3.DeleteObjectsInput) []iamCheck {
		bucket := aws.ToString(in.Bucket)
		if in.Delete == nil || len(in.Delete.Objects) == 0 {
			return one("s3:DeleteObject", s3ObjectARN(bucket, ""))
		}
		var out []iamCheck
		for _, o := range in.Delete.Objects {
			out = append(out, iamCheck{action: s3DeleteAction(o.VersionId), resource: s3ObjectARN(bucket, aws.ToString(o.Key))})
		}
		return out
	}),
	// CopyObject reads the source and writes the destination ("CopyObject",
	// Amazon S3 API Reference).
	"S3.CopyObject": on(func(r *Region, in *s3.CopyObjectInput) []iamCheck {
		sb, sk, svid, err := s3ParseCopySource(aws.ToString(in.CopySource))
		var out []iamCheck
		if err == nil {
			out = append(out, iamCheck{action: s3GetAction(&svid), resource: s3ObjectARN(sb, sk)})
		}
		dst := s3ObjectARN(aws.ToString(in.Bucket), aws.ToString(in.Key))
		out = append(out, iamCheck{action: "s3:PutObject", resource: dst})
		if aws.ToString(in.Tagging) != "" {
			out = append(out, iamCheck{action: "s3:PutObjectTagging", resource: dst})
		}
		return out
	}),
	"S3.ListObjectsV2": on(func(r *Region, in *s3.ListObjectsV2Input) []iamCheck {
		return []iamCheck{{action: "s3:ListBucket", resource: s3BucketARN(aws.ToString(in.Bucket)), keys: s3ListKeys(in.Prefix, in.Delimiter, in.MaxKeys)}}
	}),
	"S3.ListObjectVersions": on(func(r *Region, in *s3.ListObjectVersionsInput) []iamCheck {
		return []iamCheck{{action: "s3:ListBucketVersions", resource: s3BucketARN(aws.ToString(in.Bucket)), keys: s3ListKeys(in.Prefix, in.Delimiter, in.MaxKeys)}}
	}),
	"S3.DeleteBucket":                    s3BucketOp("s3:DeleteBucket", func(in *s3.DeleteBucketInput) *string { return in.Bucket }),
	"S3.PutBucketPolicy":                 s3BucketOp("s3:PutBucketPolicy", func(in *s3.PutBucketPolicyInput) *string { return in.Bucket }),
	"S3.GetBucketPolicy":                 s3BucketOp("s3:GetBucketPolicy", func(in *s3.GetBucketPolicyInput) *string { return in.Bucket }),
	"S3.DeleteBucketPolicy":              s3BucketOp("s3:DeleteBucketPolicy", func(in *s3.DeleteBucketPolicyInput) *string { return in.Bucket }),
	"S3.PutBucketEncryption":             s3BucketOp("s3:PutEncryptionConfiguration", func(in *s3.PutBucketEncryptionInput) *string { return in.Bucket }),
	"S3.GetBucketEncryption":             s3BucketOp("s3:GetEncryptionConfiguration", func(in *s3.GetBucketEncryptionInput) *string { return in.Bucket }),
	"S3.PutPublicAccessBlock":            s3BucketOp("s3:PutBucketPublicAccessBlock", func(in *s3.PutPublicAccessBlockInput) *string { return in.Bucket }),
	"S3.GetPublicAccessBlock":            s3BucketOp("s3:GetBucketPublicAccessBlock", func(in *s3.GetPublicAccessBlockInput) *string { return in.Bucket }),
	"S3.PutBucketOwnershipControls":      s3BucketOp("s3:PutBucketOwnershipControls", func(in *s3.PutBucketOwnershipControlsInput) *string { return in.Bucket }),
	"S3.GetBucketOwnershipControls":      s3BucketOp("s3:GetBucketOwnershipControls", func(in *s3.GetBucketOwnershipControlsInput) *string { return in.Bucket }),
	"S3.PutBucketLifecycleConfiguration": s3BucketOp("s3:PutLifecycleConfiguration", func(in *s3.PutBucketLifecycleConfigurationInput) *string { return in.Bucket }),
	"S3.GetBucketLifecycleConfiguration": s3BucketOp("s3:GetLifecycleConfiguration", func(in *s3.GetBucketLifecycleConfigurationInput) *string { return in.Bucket }),
	"S3.PutBucketLogging":                s3BucketOp("s3:PutBucketLogging", func(in *s3.PutBucketLoggingInput) *string { return in.Bucket }),
	"S3.GetBucketLogging":                s3BucketOp("s3:GetBucketLogging", func(in *s3.GetBucketLoggingInput) *string { return in.Bucket }),
	"S3.PutBucketTagging":                s3BucketOp("s3:PutBucketTagging", func(in *s3.PutBucketTaggingInput) *string { return in.Bucket }),
	"S3.GetBucketTagging":                s3BucketOp("s3:GetBucketTagging", func(in *s3.GetBucketTaggingInput) *string { return in.Bucket }),
	"S3.PutObjectTagging": on(func(r *Region, in *s3.PutObjectTaggingInput) []iamCheck {
		a := "s3:PutObjectTagging"
		if aws.ToString(in.VersionId) != "" {
			a = "s3:PutObjectVersionTagging"
		}
		return one(a, s3ObjectARN(aws.ToString(in.Bucket), aws.ToString(in.Key)))
	}),
	"S3.GetObjectTagging": on(func(r *Region, in *s3.GetObjectTaggingInput) []iamCheck {
		a := "s3:GetObjectTagging"
		if aws.ToString(in.VersionId) != "" {
			a = "s3:GetObjectVersionTagging"
		}
		return one(a, s3ObjectARN(aws.ToString(in.Bucket), aws.ToString(in.Key)))
	}),

	// Amazon DynamoDB: every action on the table (or index) ARN.
	"DynamoDB.CreateTable": on(func(r *Region, in *dynamodb.CreateTableInput) []iamCheck {
		return one("dynamodb:CreateTable", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.DescribeTable": on(func(r *Region, in *dynamodb.DescribeTableInput) []iamCheck {
		return one("dynamodb:DescribeTable", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.ListTables": on(func(r *Region, in *dynamodb.ListTablesInput) []iamCheck {
		return one("dynamodb:ListTables", "*")
	}),
	"DynamoDB.DeleteTable": on(func(r *Region, in *dynamodb.DeleteTableInput) []iamCheck {
		return one("dynamodb:DeleteTable", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.UpdateTable": on(func(r *Region, in *dynamodb.UpdateTableInput) []iamCheck {
		return one("dynamodb:UpdateTable", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.TagResource": on(func(r *Region, in *dynamodb.TagResourceInput) []iamCheck {
		return one("dynamodb:TagResource", aws.ToString(in.ResourceArn))
	}),
	"DynamoDB.UntagResource": on(func(r *Region, in *dynamodb.UntagResourceInput) []iamCheck {
		return one("dynamodb:UntagResource", aws.ToString(in.ResourceArn))
	}),
	"DynamoDB.ListTagsOfResource": on(func(r *Region, in *dynamodb.ListTagsOfResourceInput) []iamCheck {
		return one("dynamodb:ListTagsOfResource", aws.ToString(in.ResourceArn))
	}),
	"DynamoDB.UpdateTimeToLive": on(func(r *Region, in *dynamodb.UpdateTimeToLiveInput) []iamCheck {
		return one("dynamodb:UpdateTimeToLive", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.DescribeTimeToLive": on(func(r *Region, in *dynamodb.DescribeTimeToLiveInput) []iamCheck {
		return one("dynamodb:DescribeTimeToLive", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.PutItem": on(func(r *Region, in *dynamodb.PutItemInput) []iamCheck {
		return one("dynamodb:PutItem", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.GetItem": on(func(r *Region, in *dynamodb.GetItemInput) []iamCheck {
		return one("dynamodb:GetItem", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.UpdateItem": on(func(r *Region, in *dynamodb.UpdateItemInput) []iamCheck {
		return one("dynamodb:UpdateItem", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.DeleteItem": on(func(r *Region, in *dynamodb.DeleteItemInput) []iamCheck {
		return one("dynamodb:DeleteItem", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.Query": on(func(r *Region, in *dynamodb.QueryInput) []iamCheck {
		return one("dynamodb:Query", ddbIndexARN(r, aws.ToString(in.TableName), in.IndexName))
	}),
	"DynamoDB.Scan": on(func(r *Region, in *dynamodb.ScanInput) []iamCheck {
		return one("dynamodb:Scan", ddbIndexARN(r, aws.ToString(in.TableName), in.IndexName))
	}),
	// Batch operations are authorized once per table with the batch action.
	"DynamoDB.BatchWriteItem": on(func(r *Region, in *dynamodb.BatchWriteItemInput) []iamCheck {
		return ddbPerTable(r, "dynamodb:BatchWriteItem", sortedKeys(in.RequestItems))
	}),
	"DynamoDB.BatchGetItem": on(func(r *Region, in *dynamodb.BatchGetItemInput) []iamCheck {
		return ddbPerTable(r, "dynamodb:BatchGetItem", sortedKeys(in.RequestItems))
	}),
	// A transaction is authorized item by item with the item's own action
	// ("Using IAM with DynamoDB transactions", Amazon DynamoDB Developer
	// Guide).
	"DynamoDB.TransactWriteItems": on(func(r *Region, in *dynamodb.TransactWriteItemsInput) []iamCheck {
		var out []iamCheck
		for _, ti := range in.TransactItems {
			switch {
			case ti.Put != nil:
				out = append(out, iamCheck{action: "dynamodb:PutItem", resource: ddbARN(r, aws.ToString(ti.Put.TableName))})
			case ti.Update != nil:
				out = append(out, iamCheck{action: "dynamodb:UpdateItem", resource: ddbARN(r, aws.ToString(ti.Update.TableName))})
			case ti.Delete != nil:
				out = append(out, iamCheck{action: "dynamodb:DeleteItem", resource: ddbARN(r, aws.ToString(ti.Delete.TableName))})
			case ti.ConditionCheck != nil:
				out = append(out, iamCheck{action: "dynamodb:ConditionCheckItem", resource: ddbARN(r, aws.ToString(ti.ConditionCheck.TableName))})
			}
		}
		return ddbDedup(out)
	}),
	"DynamoDB.TransactGetItems": on(func(r *Region, in *dynamodb.TransactGetItemsInput) []iamCheck {
		var out []iamCheck
		for _, ti := range in.TransactItems {
			if ti.Get != nil {
				out = append(out, iamCheck{action: "dynamodb:GetItem", resource: ddbARN(r, aws.ToString(ti.Get.TableName))})
			}
		}
		return ddbDedup(out)
	}),
	"DynamoDB.UpdateContinuousBackups": on(func(r *Region, in *dynamodb.UpdateContinuousBackupsInput) []iamCheck {
		return one("dynamodb:UpdateContinuousBackups", ddbARN(r, aws.ToString(in.TableName)))
	}),
	"DynamoDB.DescribeContinuousBackups": on(func(r *Region, in *dynamodb.DescribeContinuousBackupsInput) []iamCheck {
		return one("dynamodb:DescribeContinuousBackups", ddbARN(r, aws.ToString(in.TableName)))
	}),
	// A restore needs RestoreTableToPointInTime on the source and read and
	// write actions on the target ("Using IAM with DynamoDB backup and
	// restore", Amazon DynamoDB Developer Guide).
	"DynamoDB.RestoreTableToPointInTime": on(func(r *Region, in *dynamodb.RestoreTableToPointInTimeInput) []iamCheck {
		src := aws.ToString(in.SourceTableArn)
		if src == "" {
			src = aws.ToString(in.SourceTableName)
		}
		out := one("dynamodb:RestoreTableToPointInTime", ddbARN(r, src))
		target := ddbARN(r, aws.ToString(in.TargetTableName))
		for _, a := range []string{"PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchWriteItem"} {
			out = append(out, iamCheck{action: "dynamodb:" + a, resource: target})
		}
		return out
	}),

	// Amazon Kinesis Data Streams: every action on the stream ARN.
	"Kinesis.CreateStream": on(func(r *Region, in *kinesis.CreateStreamInput) []iamCheck {
		return one("kinesis:CreateStream", kinesisARN(r, in.StreamName, nil))
	}),
	"Kinesis.IncreaseStreamRetentionPeriod": on(func(r *Region, in *kinesis.IncreaseStreamRetentionPeriodInput) []iamCheck {
		return one("kinesis:IncreaseStreamRetentionPeriod", kinesisARN(r, in.StreamName, in.StreamARN))
	}),
	"Kinesis.DecreaseStreamRetentionPeriod": on(func(r *Region, in *kinesis.DecreaseStreamRetentionPeriodInput) []iamCheck {
		return one("kinesis:DecreaseStreamRetentionPeriod", kinesisARN(r, in.StreamName, in.StreamARN))
	}),
	"Kinesis.DeleteStream": on(func(r *Region, in *kinesis.DeleteStreamInput) []iamCheck {
		return one("kinesis:DeleteStream", kinesisARN(r, in.StreamName, in.StreamARN))
	}),
	"Kinesis.DescribeStreamSummary": on(func(r *Region, in *kinesis.DescribeStreamSummaryInput) []iamCheck {
		return one("kinesis:DescribeStreamSummary", kinesisARN(r, in.StreamName, in.StreamARN))
	}),
	"Kinesis.ListShards": on(func(r *Region, in *kinesis.ListShardsInput) []iamCheck {
		return one("kinesis:ListShards", kinesisARN(r, in.StreamName, in.StreamARN))
	}),
	"Kinesis.PutRecord": on(func(r *Region, in *kinesis.PutRecordInput) []iamCheck {
		return one("kinesis:PutRecord", kinesisARN(r, in.StreamName, in.StreamARN))
	}),
	"Kinesis.PutRecords": on(func(r *Region, in *kinesis.PutRecordsInput) []iamCheck {
		return one("kinesis:PutRecords", kinesisARN(r, in.StreamName, in.StreamARN))
	}),
	"Kinesis.GetShardIterator": on(func(r *Region, in *kinesis.GetShardIteratorInput) []iamCheck {
		return one("kinesis:GetShardIterator", kinesisARN(r, in.StreamName, in.StreamARN))
	}),
	// GetRecords names its stream through the iterator.
	"Kinesis.GetRecords": on(func(r *Region, in *kinesis.GetRecordsInput) []iamCheck {
		name := ""
		if it, err := kinesisDecodeIterator(aws.ToString(in.ShardIterator)); err == nil {
			name = it.stream
		}
		return one("kinesis:GetRecords", kinesisARN(r, &name, in.StreamARN))
	}),

	// Amazon Data Firehose: every action on the delivery stream ARN;
	// creating one passes its roles to Firehose.
	"Firehose.CreateDeliveryStream": on(func(r *Region, in *firehose.CreateDeliveryStreamInput) []iamCheck {
		out := one("firehose:CreateDeliveryStream", firehoseARN(r, in.DeliveryStreamName))
		if d := in.ExtendedS3DestinationConfiguration; d != nil {
			out = append(out, passRole(aws.ToString(d.RoleARN), "firehose.amazonaws.com")...)
		}
		if k := in.KinesisStreamSourceConfiguration; k != nil {
			out = append(out, passRole(aws.ToString(k.RoleARN), "firehose.amazonaws.com")...)
		}
		return ddbDedup(out)
	}),
	"Firehose.DeleteDeliveryStream": on(func(r *Region, in *firehose.DeleteDeliveryStreamInput) []iamCheck {
		return one("firehose:DeleteDeliveryStream", firehoseARN(r, in.DeliveryStreamName))
	}),
	"Firehose.DescribeDeliveryStream": on(func(r *Region, in *firehose.DescribeDeliveryStreamInput) []iamCheck {
		return one("firehose:DescribeDeliveryStream", firehoseARN(r, in.DeliveryStreamName))
	}),
	"Firehose.PutRecord": on(func(r *Region, in *firehose.PutRecordInput) []iamCheck {
		return one("firehose:PutRecord", firehoseARN(r, in.DeliveryStreamName))
	}),
	"Firehose.PutRecordBatch": on(func(r *Region, in *firehose.PutRecordBatchInput) []iamCheck {
		return one("firehose:PutRecordBatch", firehoseARN(r, in.DeliveryStreamName))
	}),

	// Amazon SQS: every action on the queue ARN. The batch operations have
	// no actions of their own: they need their single-message namesakes
	// ("Amazon SQS API permissions: Actions and resource reference", Amazon
	// SQS Developer Guide).
	"SQS.CreateQueue": on(func(r *Region, in *sqs.CreateQueueInput) []iamCheck {
		return one("sqs:CreateQueue", r.arn("sqs", aws.ToString(in.QueueName)))
	}),
	"SQS.GetQueueUrl": on(func(r *Region, in *sqs.GetQueueUrlInput) []iamCheck {
		account := r.world.Account
		if a := aws.ToString(in.QueueOwnerAWSAccountId); a != "" {
			account = a
		}
		return one("sqs:GetQueueUrl", fmt.Sprintf("arn:aws:sqs:%s:%s:%s", r.Name, account, aws.ToString(in.QueueName)))
	}),
	"SQS.DeleteQueue": on(func(r *Region, in *sqs.DeleteQueueInput) []iamCheck {
		return one("sqs:DeleteQueue", sqsARN(r, in.QueueUrl))
	}),
	"SQS.SetQueueAttributes": on(func(r *Region, in *sqs.SetQueueAttributesInput) []iamCheck {
		return one("sqs:SetQueueAttributes", sqsARN(r, in.QueueUrl))
	}),
	"SQS.PurgeQueue": on(func(r *Region, in *sqs.PurgeQueueInput) []iamCheck {
		return one("sqs:PurgeQueue", sqsARN(r, in.QueueUrl))
	}),
	"SQS.TagQueue": on(func(r *Region, in *sqs.TagQueueInput) []iamCheck {
		return one("sqs:TagQueue", sqsARN(r, in.QueueUrl))
	}),
	"SQS.GetQueueAttributes": on(func(r *Region, in *sqs.GetQueueAttributesInput) []iamCheck {
		return one("sqs:GetQueueAttributes", sqsARN(r, in.QueueUrl))
	}),
	"SQS.SendMessage": on(func(r *Region, in *sqs.SendMessageInput) []iamCheck {
		return one("sqs:SendMessage", sqsARN(r, in.QueueUrl))
	}),
	"SQS.SendMessageBatch": on(func(r *Region, in *sqs.SendMessageBatchInput) []iamCheck {
		return one("sqs:SendMessage", sqsARN(r, in.QueueUrl))
	}),
	"SQS.ReceiveMessage": on(func(r *Region, in *sqs.ReceiveMessageInput) []iamCheck {
		return one("sqs:ReceiveMessage", sqsARN(r, in.QueueUrl))
	}),
	"SQS.DeleteMessage": on(func(r *Region, in *sqs.DeleteMessageInput) []iamCheck {
		return one("sqs:DeleteMessage", sqsARN(r, in.QueueUrl))
	}),
	"SQS.DeleteMessageBatch": on(func(r *Region, in *sqs.DeleteMessageBatchInput) []iamCheck {
		return one("sqs:DeleteMessage", sqsARN(r, in.QueueUrl))
	}),
	"SQS.ChangeMessageVisibility": on(func(r *Region, in *sqs.ChangeMessageVisibilityInput) []iamCheck {
		return one("sqs:ChangeMessageVisibility", sqsARN(r, in.QueueUrl))
	}),
	"SQS.ChangeMessageVisibilityBatch": on(func(r *Region, in *sqs.ChangeMessageVisibilityBatchInput) []iamCheck {
		return one("sqs:ChangeMessageVisibility", sqsARN(r, in.QueueUrl))
	}),

	// Amazon SNS: every action on the topic ARN.
	"SNS.CreateTopic": on(func(r *Region, in *sns.CreateTopicInput) []iamCheck {
		return one("sns:CreateTopic", r.arn("sns", aws.ToString(in.Name)))
	}),
	"SNS.Subscribe": on(func(r *Region, in *sns.SubscribeInput) []iamCheck {
		return []iamCheck{{action: "sns:Subscribe", resource: aws.ToString(in.TopicArn), keys: map[string][]string{
			"sns:Protocol": {aws.ToString(in.Protocol)}, "sns:Endpoint": {aws.ToString(in.Endpoint)},
		}}}
	}),
	"SNS.Publish": on(func(r *Region, in *sns.PublishInput) []iamCheck {
		arn := aws.ToString(in.TopicArn)
		if arn == "" {
			arn = aws.ToString(in.TargetArn)
		}
		return one("sns:Publish", arn)
	}),
	"SNS.DeleteTopic": on(func(r *Region, in *sns.DeleteTopicInput) []iamCheck {
		return one("sns:DeleteTopic", aws.ToString(in.TopicArn))
	}),
	"SNS.ListTopics": on(func(r *Region, in *sns.ListTopicsInput) []iamCheck {
		return one("sns:ListTopics", "*")
	}),

	// AWS Glue Data Catalog: the catalog, the database and the table.
	"Glue.CreateDatabase": on(func(r *Region, in *glue.CreateDatabaseInput) []iamCheck {
		var name *string
		if in.DatabaseInput != nil {
			name = in.DatabaseInput.Name
		}
		return glueChecks("glue:CreateDatabase", glueARNs(r, name, nil))
	}),
	"Glue.GetDatabase": on(func(r *Region, in *glue.GetDatabaseInput) []iamCheck {
		return glueChecks("glue:GetDatabase", glueARNs(r, in.Name, nil))
	}),
	"Glue.CreateTable": on(func(r *Region, in *glue.CreateTableInput) []iamCheck {
		var name *string
		if in.TableInput != nil {
			name = in.TableInput.Name
		}
		return glueChecks("glue:CreateTable", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(name))))
	}),
	"Glue.GetTable": on(func(r *Region, in *glue.GetTableInput) []iamCheck {
		return glueChecks("glue:GetTable", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(in.Name))))
	}),
	// GetTables reads every table of the database.
	"Glue.GetTables": on(func(r *Region, in *glue.GetTablesInput) []iamCheck {
		return glueChecks("glue:GetTables", glueARNs(r, in.DatabaseName, aws.String("*")))
	}),
	// Deleting a database deletes its tables ("Actions, resources, and
	// condition keys for AWS Glue": DeleteDatabase names the table type).
	"Glue.DeleteDatabase": on(func(r *Region, in *glue.DeleteDatabaseInput) []iamCheck {
		return glueChecks("glue:DeleteDatabase", glueARNs(r, in.Name, aws.String("*")))
	}),
	"Glue.DeleteTable": on(func(r *Region, in *glue.DeleteTableInput) []iamCheck {
		return glueChecks("glue:DeleteTable", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(in.Name))))
	}),
	"Glue.UpdateTable": on(func(r *Region, in *glue.UpdateTableInput) []iamCheck {
		var name *string
		if in.TableInput != nil {
			name = in.TableInput.Name
		}
		return glueChecks("glue:UpdateTable", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(name))))
	}),
	"Glue.CreatePartition": on(func(r *Region, in *glue.CreatePartitionInput) []iamCheck {
		return glueChecks("glue:CreatePartition", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(in.TableName))))
	}),
	"Glue.BatchCreatePartition": on(func(r *Region, in *glue.BatchCreatePartitionInput) []iamCheck {
		return glueChecks("glue:BatchCreatePartition", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(in.TableName))))
	}),
	"Glue.GetPartition": on(func(r *Region, in *glue.GetPartitionInput) []iamCheck {
		return glueChecks("glue:GetPartition", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(in.TableName))))
	}),
	"Glue.BatchGetPartition": on(func(r *Region, in *glue.BatchGetPartitionInput) []iamCheck {
		return glueChecks("glue:BatchGetPartition", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(in.TableName))))
	}),
	"Glue.GetPartitions": on(func(r *Region, in *glue.GetPartitionsInput) []iamCheck {
		return glueChecks("glue:GetPartitions", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(in.TableName))))
	}),
	"Glue.DeletePartition": on(func(r *Region, in *glue.DeletePartitionInput) []iamCheck {
		return glueChecks("glue:DeletePartition", glueARNs(r, in.DatabaseName, aws.String(aws.ToString(in.TableName))))
	}),

	// AWS Backup. Starting a job passes its role to AWS Backup ("Identity
	// and access management in AWS Backup", AWS Backup Developer Guide); the
	// job descriptions have no resource type.
	"Backup.CreateBackupVault": on(func(r *Region, in *backup.CreateBackupVaultInput) []iamCheck {
		return one("backup:CreateBackupVault", backupVaultARN(r, in.BackupVaultName))
	}),
	// Backup plans and selections: actions on the plan ARN; a selection
	// passes its role to AWS Backup.
	"Backup.CreateBackupPlan": on(func(r *Region, in *backup.CreateBackupPlanInput) []iamCheck {
		return one("backup:CreateBackupPlan", r.arn("backup", "backup-plan:*"))
	}),
	"Backup.DeleteBackupPlan": on(func(r *Region, in *backup.DeleteBackupPlanInput) []iamCheck {
		return one("backup:DeleteBackupPlan", r.arn("backup", "backup-plan:"+aws.ToString(in.BackupPlanId)))
	}),
	"Backup.CreateBackupSelection": on(func(r *Region, in *backup.CreateBackupSelectionInput) []iamCheck {
		role := ""
		if in.BackupSelection != nil {
			role = aws.ToString(in.BackupSelection.IamRoleArn)
		}
		return append(one("backup:CreateBackupSelection", r.arn("backup", "backup-plan:"+aws.ToString(in.BackupPlanId))), passRole(role, "backup.amazonaws.com")...)
	}),
	"Backup.DeleteBackupSelection": on(func(r *Region, in *backup.DeleteBackupSelectionInput) []iamCheck {
		return one("backup:DeleteBackupSelection", r.arn("backup", "backup-plan:"+aws.ToString(in.BackupPlanId)))
	}),
	"Backup.DescribeBackupVault": on(func(r *Region, in *backup.DescribeBackupVaultInput) []iamCheck {
		return one("backup:DescribeBackupVault", backupVaultARN(r, in.BackupVaultName))
	}),
	"Backup.StartBackupJob": on(func(r *Region, in *backup.StartBackupJobInput) []iamCheck {
		return append(one("backup:StartBackupJob", backupVaultARN(r, in.BackupVaultName)), passRole(aws.ToString(in.IamRoleArn), "backup.amazonaws.com")...)
	}),
	"Backup.DescribeBackupJob": on(func(r *Region, in *backup.DescribeBackupJobInput) []iamCheck {
		return one("backup:DescribeBackupJob", "*")
	}),
	"Backup.StartCopyJob": on(func(r *Region, in *backup.StartCopyJobInput) []iamCheck {
		return append(one("backup:StartCopyJob", aws.ToString(in.RecoveryPointArn)), passRole(aws.ToString(in.IamRoleArn), "backup.amazonaws.com")...)
	}),
	"Backup.DescribeCopyJob": on(func(r *Region, in *backup.DescribeCopyJobInput) []iamCheck {
		return one("backup:DescribeCopyJob", "*")
	}),
	"Backup.ListRecoveryPointsByBackupVault": on(func(r *Region, in *backup.ListRecoveryPointsByBackupVaultInput) []iamCheck {
		return one("backup:ListRecoveryPointsByBackupVault", backupVaultARN(r, in.BackupVaultName))
	}),
	"Backup.DescribeRecoveryPoint": on(func(r *Region, in *backup.DescribeRecoveryPointInput) []iamCheck {
		return one("backup:DescribeRecoveryPoint", aws.ToString(in.RecoveryPointArn))
	}),
	"Backup.StartRestoreJob": on(func(r *Region, in *backup.StartRestoreJobInput) []iamCheck {
		return append(one("backup:StartRestoreJob", aws.ToString(in.RecoveryPointArn)), passRole(aws.ToString(in.IamRoleArn), "backup.amazonaws.com")...)
	}),
	"Backup.DescribeRestoreJob": on(func(r *Region, in *backup.DescribeRestoreJobInput) []iamCheck {
		return one("backup:DescribeRestoreJob", "*")
	}),

	// Amazon CloudWatch. Metric actions have no resource; PutMetricData sets
	// cloudwatch:namespace so a policy can confine a writer to its own.
	"CloudWatch.PutMetricData": on(func(r *Region, in *cloudwatch.PutMetricDataInput) []iamCheck {
		return []iamCheck{{action: "cloudwatch:PutMetricData", resource: "*", keys: map[string][]string{"cloudwatch:namespace": {aws.ToString(in.Namespace)}}}}
	}),
	"CloudWatch.GetMetricStatistics": on(func(r *Region, in *cloudwatch.GetMetricStatisticsInput) []iamCheck {
		return one("cloudwatch:GetMetricStatistics", "*")
	}),
	"CloudWatch.GetMetricData": on(func(r *Region, in *cloudwatch.GetMetricDataInput) []iamCheck {
		return one("cloudwatch:GetMetricData", "*")
	}),
	// Dashboards are global: their ARNs have no region
	// (list_amazoncloudwatch.html, resource type dashboard).
	"CloudWatch.PutDashboard": on(func(r *Region, in *cloudwatch.PutDashboardInput) []iamCheck {
		return one("cloudwatch:PutDashboard", r.CloudWatch().dashboardARN(aws.ToString(in.DashboardName)))
	}),
	"CloudWatch.GetDashboard": on(func(r *Region, in *cloudwatch.GetDashboardInput) []iamCheck {
		return one("cloudwatch:GetDashboard", r.CloudWatch().dashboardARN(aws.ToString(in.DashboardName)))
	}),
	"CloudWatch.DeleteDashboards": on(func(r *Region, in *cloudwatch.DeleteDashboardsInput) []iamCheck {
		if len(in.DashboardNames) == 0 {
			return one("cloudwatch:DeleteDashboards", r.CloudWatch().dashboardARN(""))
		}
		var out []iamCheck
		for _, n := range in.DashboardNames {
			out = append(out, iamCheck{action: "cloudwatch:DeleteDashboards", resource: r.CloudWatch().dashboardARN(n)})
		}
		return out
	}),
	"CloudWatch.ListDashboards": on(func(r *Region, in *cloudwatch.ListDashboardsInput) []iamCheck {
		return one("cloudwatch:ListDashboards", "*")
	}),
	"CloudWatch.ListMetrics": on(func(r *Region, in *cloudwatch.ListMetricsInput) []iamCheck {
		return one("cloudwatch:ListMetrics", "*")
	}),
	"CloudWatch.PutMetricAlarm": on(func(r *Region, in *cloudwatch.PutMetricAlarmInput) []iamCheck {
		return one("cloudwatch:PutMetricAlarm", r.arn("cloudwatch", "alarm:"+aws.ToString(in.AlarmName)))
	}),
	"CloudWatch.DescribeAlarms": on(func(r *Region, in *cloudwatch.DescribeAlarmsInput) []iamCheck {
		if len(in.AlarmNames) == 0 {
			return one("cloudwatch:DescribeAlarms", "*")
		}
		var out []iamCheck
		for _, n := range in.AlarmNames {
			out = append(out, iamCheck{action: "cloudwatch:DescribeAlarms", resource: r.arn("cloudwatch", "alarm:"+n)})
		}
		return out
	}),
	"CloudWatch.DeleteAlarms": on(func(r *Region, in *cloudwatch.DeleteAlarmsInput) []iamCheck {
		if len(in.AlarmNames) == 0 {
			return one("cloudwatch:DeleteAlarms", "*")
		}
		var out []iamCheck
		for _, n := range in.AlarmNames {
			out = append(out, iamCheck{action: "cloudwatch:DeleteAlarms", resource: r.arn("cloudwatch", "alarm:"+n)})
		}
		return out
	}),
	"CloudWatch.SetAlarmState": on(func(r *Region, in *cloudwatch.SetAlarmStateInput) []iamCheck {
		return one("cloudwatch:SetAlarmState", r.arn("cloudwatch", "alarm:"+aws.ToString(in.AlarmName)))
	}),

	// AWS CloudFormation: the stack ARN; a service role given to the stack
	// is passed to CloudFormation ("AWS CloudFormation service role", AWS
	// CloudFormation User Guide).
	"CloudFormation.CreateStack": on(func(r *Region, in *cloudformation.CreateStackInput) []iamCheck {
		return append(cfnStackCheck("cloudformation:CreateStack", cfStackARN(r, aws.ToString(in.StackName)), in.RoleARN), passRole(aws.ToString(in.RoleARN), "cloudformation.amazonaws.com")...)
	}),
	"CloudFormation.UpdateStack": on(func(r *Region, in *cloudformation.UpdateStackInput) []iamCheck {
		return append(cfnStackCheck("cloudformation:UpdateStack", cfStackARN(r, aws.ToString(in.StackName)), in.RoleARN), passRole(aws.ToString(in.RoleARN), "cloudformation.amazonaws.com")...)
	}),
	"CloudFormation.DeleteStack": on(func(r *Region, in *cloudformation.DeleteStackInput) []iamCheck {
		return append(cfnStackCheck("cloudformation:DeleteStack", cfStackARN(r, aws.ToString(in.StackName)), in.RoleARN), passRole(aws.ToString(in.RoleARN), "cloudformation.amazonaws.com")...)
	}),
	"CloudFormation.CreateChangeSet": on(func(r *Region, in *cloudformation.CreateChangeSetInput) []iamCheck {
		return append(cfnStackCheck("cloudformation:CreateChangeSet", cfStackARN(r, aws.ToString(in.StackName)), in.RoleARN), passRole(aws.ToString(in.RoleARN), "cloudformation.amazonaws.com")...)
	}),
	"CloudFormation.DescribeChangeSet": on(func(r *Region, in *cloudformation.DescribeChangeSetInput) []iamCheck {
		return one("cloudformation:DescribeChangeSet", cfChangeSetStackARN(r, in.ChangeSetName, in.StackName))
	}),
	"CloudFormation.ExecuteChangeSet": on(func(r *Region, in *cloudformation.ExecuteChangeSetInput) []iamCheck {
		return one("cloudformation:ExecuteChangeSet", cfChangeSetStackARN(r, in.ChangeSetName, in.StackName))
	}),
	"CloudFormation.DeleteChangeSet": on(func(r *Region, in *cloudformation.DeleteChangeSetInput) []iamCheck {
		return one("cloudformation:DeleteChangeSet", cfChangeSetStackARN(r, in.ChangeSetName, in.StackName))
	}),
	"CloudFormation.GetTemplate": on(func(r *Region, in *cloudformation.GetTemplateInput) []iamCheck {
		return one("cloudformation:GetTemplate", cfStackARN(r, aws.ToString(in.StackName)))
	}),
	"CloudFormation.DescribeStacks": on(func(r *Region, in *cloudformation.DescribeStacksInput) []iamCheck {
		if aws.ToString(in.StackName) == "" {
			return one("cloudformation:DescribeStacks", "*")
		}
		return one("cloudformation:DescribeStacks", cfStackARN(r, aws.ToString(in.StackName)))
	}),

	"CloudFormation.DescribeStackResources": on(func(r *Region, in *cloudformation.DescribeStackResourcesInput) []iamCheck {
		return one("cloudformation:DescribeStackResources", cfStackARN(r, aws.ToString(in.StackName)))
	}),

	// AWS Systems Manager Parameter Store: the parameter ARN. GetParameters
	// is authorized per parameter.
	// AWS Certificate Manager: ImportCertificate names the certificate only
	// when it re-imports one.
	"ACM.ImportCertificate": on(func(r *Region, in *acm.ImportCertificateInput) []iamCheck {
		if arn := aws.ToString(in.CertificateArn); arn != "" {
			return one("acm:ImportCertificate", arn)
		}
		return one("acm:ImportCertificate", "*")
	}),
	"ACM.DescribeCertificate": on(func(r *Region, in *acm.DescribeCertificateInput) []iamCheck {
		return one("acm:DescribeCertificate", aws.ToString(in.CertificateArn))
	}),
	"ACM.DeleteCertificate": on(func(r *Region, in *acm.DeleteCertificateInput) []iamCheck {
		return one("acm:DeleteCertificate", aws.ToString(in.CertificateArn))
	}),
	"SSM.PutParameter": on(func(r *Region, in *ssm.PutParameterInput) []iamCheck {
		return one("ssm:PutParameter", ssmParameterARN(r, aws.ToString(in.Name)))
	}),
	"SSM.GetParameter": on(func(r *Region, in *ssm.GetParameterInput) []iamCheck {
		return one("ssm:GetParameter", ssmParameterARN(r, aws.ToString(in.Name)))
	}),
	"SSM.GetParameters": on(func(r *Region, in *ssm.GetParametersInput) []iamCheck {
		if len(in.Names) == 0 {
			return one("ssm:GetParameters", ssmParameterARN(r, ""))
		}
		var out []iamCheck
		for _, n := range in.Names {
			out = append(out, iamCheck{action: "ssm:GetParameters", resource: ssmParameterARN(r, n)})
		}
		return out
	}),
	"SSM.DeleteParameter": on(func(r *Region, in *ssm.DeleteParameterInput) []iamCheck {
		return one("ssm:DeleteParameter", ssmParameterARN(r, aws.ToString(in.Name)))
	}),

	// AWS Global Accelerator: the accelerator, listener or endpoint group
	// ARN the call names.
	// S3 Batch Operations (S3 Control): CreateJob has no resource type, and
	// passes the job's role to batchoperations.s3.amazonaws.com; DescribeJob
	// is on the job's ARN
	// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
	"S3 Control.CreateJob": on(func(r *Region, in *s3control.CreateJobInput) []iamCheck {
		return append(one("s3:CreateJob", "*"), passRole(aws.ToString(in.RoleArn), "batchoperations.s3.amazonaws.com")...)
	}),
	"S3 Control.DescribeJob": on(func(r *Region, in *s3control.DescribeJobInput) []iamCheck {
		return one("s3:DescribeJob", fmt.Sprintf("arn:aws:s3:%s:%s:job/%s", r.Name, aws.ToString(in.AccountId), aws.ToString(in.JobId)))
	}),

	"Global Accelerator.CreateAccelerator": on(func(r *Region, in *globalaccelerator.CreateAcceleratorInput) []iamCheck {
		return one("globalaccelerator:CreateAccelerator", "*")
	}),
	"Global Accelerator.DescribeAccelerator": on(func(r *Region, in *globalaccelerator.DescribeAcceleratorInput) []iamCheck {
		return one("globalaccelerator:DescribeAccelerator", aws.ToString(in.AcceleratorArn))
	}),
	"Global Accelerator.CreateListener": on(func(r *Region, in *globalaccelerator.CreateListenerInput) []iamCheck {
		return one("globalaccelerator:CreateListener", aws.ToString(in.AcceleratorArn))
	}),
	"Global Accelerator.CreateEndpointGroup": on(func(r *Region, in *globalaccelerator.CreateEndpointGroupInput) []iamCheck {
		return one("globalaccelerator:CreateEndpointGroup", aws.ToString(in.ListenerArn))
	}),
	"Global Accelerator.DescribeEndpointGroup": on(func(r *Region, in *globalaccelerator.DescribeEndpointGroupInput) []iamCheck {
		return one("globalaccelerator:DescribeEndpointGroup", aws.ToString(in.EndpointGroupArn))
	}),
	"Global Accelerator.UpdateEndpointGroup": on(func(r *Region, in *globalaccelerator.UpdateEndpointGroupInput) []iamCheck {
		return one("globalaccelerator:UpdateEndpointGroup", aws.ToString(in.EndpointGroupArn))
	}),
	"Global Accelerator.DeleteEndpointGroup": on(func(r *Region, in *globalaccelerator.DeleteEndpointGroupInput) []iamCheck {
		return one("globalaccelerator:DeleteEndpointGroup", aws.ToString(in.EndpointGroupArn))
	}),
	"Global Accelerator.AddEndpoints": on(func(r *Region, in *globalaccelerator.AddEndpointsInput) []iamCheck {
		return one("globalaccelerator:AddEndpoints", aws.ToString(in.EndpointGroupArn))
	}),
	"Global Accelerator.RemoveEndpoints": on(func(r *Region, in *globalaccelerator.RemoveEndpointsInput) []iamCheck {
		return one("globalaccelerator:RemoveEndpoints", aws.ToString(in.EndpointGroupArn))
	}),
	"Global Accelerator.ListEndpointGroups": on(func(r *Region, in *globalaccelerator.ListEndpointGroupsInput) []iamCheck {
		return one("globalaccelerator:ListEndpointGroups", aws.ToString(in.ListenerArn))
	}),
	"Global Accelerator.ListAccelerators": on(func(r *Region, in *globalaccelerator.ListAcceleratorsInput) []iamCheck {
		return one("globalaccelerator:ListAccelerators", "*")
	}),
	"Global Accelerator.ListListeners": on(func(r *Region, in *globalaccelerator.ListListenersInput) []iamCheck {
		return one("globalaccelerator:ListListeners", aws.ToString(in.AcceleratorArn))
	}),

	// AWS Lambda
	// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html,
	// "Fine-tuning the Resources and Conditions sections of policies",
	// Lambda Developer Guide): function actions on the function ARN, the
	// qualified ARN when the call names a version or alias; a function's
	// execution role is passed to Lambda.
	"Lambda.CreateFunction": on(func(r *Region, in *lambda.CreateFunctionInput) []iamCheck {
		arn := lambdaFunctionARN(r, aws.ToString(in.FunctionName), "")
		out := one("lambda:CreateFunction", arn)
		// Tags on create need lambda:TagResource ("Using tags on Lambda
		// functions", Lambda Developer Guide).
		if len(in.Tags) > 0 {
			out = append(out, iamCheck{action: "lambda:TagResource", resource: arn})
		}
		return append(out, passRole(aws.ToString(in.Role), "lambda.amazonaws.com")...)
	}),
	// GetFunction of a tagged function needs lambda:ListTags too ("Using
	// tags on Lambda functions").
	"Lambda.GetFunction": on(func(r *Region, in *lambda.GetFunctionInput) []iamCheck {
		arn := lambdaFunctionARN(r, aws.ToString(in.FunctionName), aws.ToString(in.Qualifier))
		out := one("lambda:GetFunction", arn)
		if r.Lambda().tagged(aws.ToString(in.FunctionName)) {
			out = append(out, iamCheck{action: "lambda:ListTags", resource: lambdaFunctionARN(r, aws.ToString(in.FunctionName), "")})
		}
		return out
	}),
	"Lambda.GetFunctionConfiguration": on(func(r *Region, in *lambda.GetFunctionConfigurationInput) []iamCheck {
		return one("lambda:GetFunctionConfiguration", lambdaFunctionARN(r, aws.ToString(in.FunctionName), aws.ToString(in.Qualifier)))
	}),
	"Lambda.UpdateFunctionConfiguration": on(func(r *Region, in *lambda.UpdateFunctionConfigurationInput) []iamCheck {
		return append(one("lambda:UpdateFunctionConfiguration", lambdaFunctionARN(r, aws.ToString(in.FunctionName), "")),
			passRole(aws.ToString(in.Role), "lambda.amazonaws.com")...)
	}),
	"Lambda.DeleteFunction": on(func(r *Region, in *lambda.DeleteFunctionInput) []iamCheck {
		return one("lambda:DeleteFunction", lambdaFunctionARN(r, aws.ToString(in.FunctionName), aws.ToString(in.Qualifier)))
	}),
	"Lambda.PutFunctionConcurrency": on(func(r *Region, in *lambda.PutFunctionConcurrencyInput) []iamCheck {
		return one("lambda:PutFunctionConcurrency", lambdaFunctionARN(r, aws.ToString(in.FunctionName), ""))
	}),
	"Lambda.DeleteFunctionConcurrency": on(func(r *Region, in *lambda.DeleteFunctionConcurrencyInput) []iamCheck {
		return one("lambda:DeleteFunctionConcurrency", lambdaFunctionARN(r, aws.ToString(in.FunctionName), ""))
	}),
	"Lambda.PutFunctionEventInvokeConfig": on(func(r *Region, in *lambda.PutFunctionEventInvokeConfigInput) []iamCheck {
		return one("lambda:PutFunctionEventInvokeConfig", lambdaFunctionARN(r, aws.ToString(in.FunctionName), aws.ToString(in.Qualifier)))
	}),
	"Lambda.DeleteFunctionEventInvokeConfig": on(func(r *Region, in *lambda.DeleteFunctionEventInvokeConfigInput) []iamCheck {
		return one("lambda:DeleteFunctionEventInvokeConfig", lambdaFunctionARN(r, aws.ToString(in.FunctionName), aws.ToString(in.Qualifier)))
	}),
	// Invoke is authorized as lambda:InvokeFunction, on the qualified ARN
	// when a version or alias is named.
	"Lambda.Invoke": on(func(r *Region, in *lambda.InvokeInput) []iamCheck {
		return one("lambda:InvokeFunction", lambdaFunctionARN(r, aws.ToString(in.FunctionName), aws.ToString(in.Qualifier)))
	}),
	// CreateEventSourceMapping has no resource type (the mapping does not
	// exist yet): "*" with lambda:FunctionArn. The others act on the
	// mapping's ARN, with lambda:FunctionArn of its function.
	"Lambda.CreateEventSourceMapping": on(func(r *Region, in *lambda.CreateEventSourceMappingInput) []iamCheck {
		return []iamCheck{{action: "lambda:CreateEventSourceMapping", resource: "*",
			keys: map[string][]string{"lambda:FunctionArn": {lambdaFunctionARN(r, aws.ToString(in.FunctionName), "")}}}}
	}),
	"Lambda.GetEventSourceMapping": on(func(r *Region, in *lambda.GetEventSourceMappingInput) []iamCheck {
		return lambdaESMCheck(r, "lambda:GetEventSourceMapping", aws.ToString(in.UUID), nil)
	}),
	"Lambda.UpdateEventSourceMapping": on(func(r *Region, in *lambda.UpdateEventSourceMappingInput) []iamCheck {
		return lambdaESMCheck(r, "lambda:UpdateEventSourceMapping", aws.ToString(in.UUID), in.FunctionName)
	}),
	"Lambda.DeleteEventSourceMapping": on(func(r *Region, in *lambda.DeleteEventSourceMappingInput) []iamCheck {
		return lambdaESMCheck(r, "lambda:DeleteEventSourceMapping", aws.ToString(in.UUID), nil)
	}),

	// Amazon EventBridge
	// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html):
	// rule actions on the rule ARN, PutEvents on the event bus ARN. A role
	// given to a rule or a target is passed to EventBridge.
	"EventBridge.PutRule": on(func(r *Region, in *eventbridge.PutRuleInput) []iamCheck {
		c := iamCheck{action: "events:PutRule", resource: ebRuleARN(r, aws.ToString(in.EventBusName), aws.ToString(in.Name))}
		c.keys = ebPatternKeys(aws.ToString(in.EventPattern))
		return append([]iamCheck{c}, passRole(aws.ToString(in.RoleArn), "events.amazonaws.com")...)
	}),
	// PutTargets sets events:TargetArn to the targets' ARNs and passes
	// each target's RoleArn.
	"EventBridge.PutTargets": on(func(r *Region, in *eventbridge.PutTargetsInput) []iamCheck {
		c := iamCheck{action: "events:PutTargets", resource: ebRuleARN(r, aws.ToString(in.EventBusName), aws.ToString(in.Rule))}
		var arns []string
		out := []iamCheck{c}
		for _, t := range in.Targets {
			if a := aws.ToString(t.Arn); a != "" {
				arns = append(arns, a)
			}
			out = append(out, passRole(aws.ToString(t.RoleArn), "events.amazonaws.com")...)
		}
		if len(arns) > 0 {
			out[0].keys = map[string][]string{"events:TargetArn": arns}
		}
		return ddbDedup(out)
	}),
	"EventBridge.RemoveTargets": on(func(r *Region, in *eventbridge.RemoveTargetsInput) []iamCheck {
		return one("events:RemoveTargets", ebRuleARN(r, aws.ToString(in.EventBusName), aws.ToString(in.Rule)))
	}),
	"EventBridge.DeleteRule": on(func(r *Region, in *eventbridge.DeleteRuleInput) []iamCheck {
		return one("events:DeleteRule", ebRuleARN(r, aws.ToString(in.EventBusName), aws.ToString(in.Name)))
	}),
	"EventBridge.DescribeRule": on(func(r *Region, in *eventbridge.DescribeRuleInput) []iamCheck {
		return one("events:DescribeRule", ebRuleARN(r, aws.ToString(in.EventBusName), aws.ToString(in.Name)))
	}),
	"EventBridge.ListTargetsByRule": on(func(r *Region, in *eventbridge.ListTargetsByRuleInput) []iamCheck {
		return one("events:ListTargetsByRule", ebRuleARN(r, aws.ToString(in.EventBusName), aws.ToString(in.Rule)))
	}),
	"EventBridge.EnableRule": on(func(r *Region, in *eventbridge.EnableRuleInput) []iamCheck {
		return one("events:EnableRule", ebRuleARN(r, aws.ToString(in.EventBusName), aws.ToString(in.Name)))
	}),
	"EventBridge.DisableRule": on(func(r *Region, in *eventbridge.DisableRuleInput) []iamCheck {
		return one("events:DisableRule", ebRuleARN(r, aws.ToString(in.EventBusName), aws.ToString(in.Name)))
	}),
	// PutEvents is authorized per entry on the entry's bus, with
	// events:source and events:detail-type; the simulator fails the whole
	// call on a denied entry.
	"EventBridge.PutEvents": on(func(r *Region, in *eventbridge.PutEventsInput) []iamCheck {
		if len(in.Entries) == 0 {
			return one("events:PutEvents", ebBusARN(r, ""))
		}
		out := make([]iamCheck, 0, len(in.Entries))
		for _, e := range in.Entries {
			keys := map[string][]string{}
			if s := aws.ToString(e.Source); s != "" {
				keys["events:source"] = []string{s}
			}
			if d := aws.ToString(e.DetailType); d != "" {
				keys["events:detail-type"] = []string{d}
			}
			out = append(out, iamCheck{action: "events:PutEvents", resource: ebBusARN(r, aws.ToString(e.EventBusName)), keys: keys})
		}
		return out
	}),

	// Amazon EventBridge Scheduler
	// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html):
	// the schedule ARN; creating or updating a schedule passes its target's
	// role to Scheduler.
	"Scheduler.CreateSchedule": on(func(r *Region, in *scheduler.CreateScheduleInput) []iamCheck {
		out := one("scheduler:CreateSchedule", schedARN(r, in.GroupName, in.Name))
		if in.Target != nil {
			out = append(out, passRole(aws.ToString(in.Target.RoleArn), "scheduler.amazonaws.com")...)
		}
		return out
	}),
	"Scheduler.UpdateSchedule": on(func(r *Region, in *scheduler.UpdateScheduleInput) []iamCheck {
		out := one("scheduler:UpdateSchedule", schedARN(r, in.GroupName, in.Name))
		if in.Target != nil {
			out = append(out, passRole(aws.ToString(in.Target.RoleArn), "scheduler.amazonaws.com")...)
		}
		return out
	}),
	"Scheduler.DeleteSchedule": on(func(r *Region, in *scheduler.DeleteScheduleInput) []iamCheck {
		return one("scheduler:DeleteSchedule", schedARN(r, in.GroupName, in.Name))
	}),
	"Scheduler.GetSchedule": on(func(r *Region, in *scheduler.GetScheduleInput) []iamCheck {
		return one("scheduler:GetSchedule", schedARN(r, in.GroupName, in.Name))
	}),
}

// lambdaFunctionARN is the ARN a function reference names: a name, a name
// with a qualifier (NAME:QUALIFIER), a partial ARN (ACCOUNT:function:NAME)
// or an ARN, qualified with qualifier when the reference has none.
func lambdaFunctionARN(r *Region, ref, qualifier string) string {
	parts := strings.Split(ref, ":")
	var arn string
	switch {
	case strings.HasPrefix(ref, "arn:"):
		arn = ref
		if len(parts) >= 8 {
			qualifier = ""
		}
	case len(parts) >= 3 && parts[1] == "function":
		arn = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", r.Name, parts[0], strings.Join(parts[2:], ":"))
		if len(parts) >= 4 {
			qualifier = ""
		}
	case len(parts) == 2:
		arn, qualifier = r.arn("lambda", "function:"+parts[0]), parts[1]
	default:
		arn = r.arn("lambda", "function:"+ref)
	}
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}

// lambdaESMCheck is the check of an action on an event-source mapping:
// its ARN, with lambda:FunctionArn of the function the request names or
// else the mapping's.
func lambdaESMCheck(r *Region, action, uuid string, function *string) []iamCheck {
	l := r.Lambda()
	fn := ""
	if function != nil {
		fn = lambdaFunctionARN(r, *function, "")
	} else {
		l.mu.Lock()
		if m, ok := l.mappings[uuid]; ok {
			fn = aws.ToString(m.cfg.FunctionArn)
		}
		l.mu.Unlock()
	}
	c := iamCheck{action: action, resource: r.arn("lambda", "event-source-mapping:"+uuid)}
	if fn != "" {
		c.keys = map[string][]string{"lambda:FunctionArn": {fn}}
	}
	return []iamCheck{c}
}

// ebBusName is an event bus's name from a name or an ARN; "" is the
// default bus.
func ebBusName(bus string) string {
	if i := strings.Index(bus, ":event-bus/"); strings.HasPrefix(bus, "arn:") && i >= 0 {
		return bus[i+len(":event-bus/"):]
	}
	if bus == "" {
		return "default"
	}
	return bus
}

func ebBusARN(r *Region, bus string) string {
	if strings.HasPrefix(bus, "arn:") {
		return bus
	}
	return r.arn("events", "event-bus/"+ebBusName(bus))
}

// ebRuleARN is a rule's ARN: rule/NAME on the default bus, rule/BUS/NAME on
// another ("Amazon EventBridge resource types", Service Authorization
// Reference).
func ebRuleARN(r *Region, bus, name string) string {
	if b := ebBusName(bus); b != "default" {
		return r.arn("events", "rule/"+b+"/"+name)
	}
	return r.arn("events", "rule/"+name)
}

// ebPatternKeys are the events:source and events:detail-type keys of a
// PutRule: the values the event pattern matches.
func ebPatternKeys(pattern string) map[string][]string {
	var p map[string]json.RawMessage
	if json.Unmarshal([]byte(pattern), &p) != nil {
		return nil
	}
	keys := map[string][]string{}
	for field, key := range map[string]string{"source": "events:source", "detail-type": "events:detail-type"} {
		var vals []string
		if json.Unmarshal(p[field], &vals) == nil && len(vals) > 0 {
			keys[key] = vals
		}
	}
	if len(keys) == 0 {
		return nil
	}
	return keys
}

// schedARN is a schedule's ARN, schedule/GROUP/NAME.
func schedARN(r *Region, group, name *string) string {
	g := aws.ToString(group)
	if g == "" {
		g = "default"
	}
	return r.arn("scheduler", "schedule/"+g+"/"+aws.ToString(name))
}

// ssmParameterARN is a parameter's ARN: a hierarchical name keeps its
// leading slash as the path separator ("Working with parameter
// hierarchies", AWS Systems Manager User Guide).
func ssmParameterARN(r *Region, name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	return r.arn("ssm", "parameter/"+strings.TrimPrefix(name, "/"))
}

// s3BucketOp maps a bucket-configuration operation: one action on the
// bucket ARN.
func s3BucketOp[T any](action string, bucket func(*T) *string) iamMapper {
	return on(func(r *Region, in *T) []iamCheck {
		return one(action, s3BucketARN(aws.ToString(bucket(in))))
	})
}

// ddbPerTable is one check of action per table, in name order.
func ddbPerTable(r *Region, action string, tables []string) []iamCheck {
	out := make([]iamCheck, 0, len(tables))
	for _, t := range tables {
		out = append(out, iamCheck{action: action, resource: ddbARN(r, t)})
	}
	return out
}

// ddbDedup drops repeated checks, keeping the first of each, so a
// transaction of many items on one table is evaluated once per action (and
// a role passed twice once).
func ddbDedup(in []iamCheck) []iamCheck {
	seen := map[string]bool{}
	out := in[:0]
	for _, c := range in {
		k := c.action + " " + c.resource
		if !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}
