package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The providers of the data stacks' resource types: buckets, queues, the
// catalog, the aggregates table, backup vaults and plans, IAM roles and
// policies, log groups, and the records CloudFormation keeps for the CDK.
// Each accepts exactly the properties it models; the property reference of
// each type is its page under
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html

// cfnInto converts resolved properties into an SDK shape through JSON,
// rejecting a member the shape does not have (so a property the simulator
// would drop is an error). Member names match case-insensitively, as
// CloudFormation's "Id" matches the API's "ID".
func cfnInto(props any, dst any) error {
	raw, err := json.Marshal(cfnCoerce(props, reflect.TypeOf(dst)))
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		return fmt.Errorf("%T: %w", dst, err)
	}
	return nil
}

// cfnString reads a string property ("" when absent).
func cfnString(props map[string]any, key string) string {
	v, ok := props[key]
	if !ok {
		return ""
	}
	return cfnScalarString(v)
}

// cfnTags are tags given as a list of {Key, Value}.
func cfnTags(v any) map[string]string {
	out := map[string]string{}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			m, _ := e.(map[string]any)
			out[cfnScalarString(m["Key"])] = cfnScalarString(m["Value"])
		}
	case map[string]any:
		for k, val := range t {
			out[k] = cfnScalarString(val)
		}
	}
	return out
}

// Typical durations of resource operations, from CloudFormation stack
// events of the same types (docs/aws-facts.md, "CloudFormation resource
// times"); the ALB, stream and table figures are the ones the recovery
// timeline is sensitive to.
const (
	cfnQuick   = 2 * time.Second  // records: policies, log groups, metadata
	cfnIAMRole = 10 * time.Second // IAM roles: created, then propagated
	cfnBucket  = 5 * time.Second
	cfnTable   = 15 * time.Second
)

func init() {
	registerCFN("AWS::CDK::Metadata", &cfnProvider{
		properties: []string{"Analytics"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			r.physicalID = op.stack.id + "/" + r.id
			r.ref = r.physicalID
			return nil
		},
		update:     func(context.Context, *cfnOp, *cfnLive, *cfnLive) error { return nil },
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::S3::Bucket", cfnBucketProvider())
	registerCFN("AWS::S3::BucketPolicy", &cfnProvider{
		properties: []string{"Bucket", "PolicyDocument"},
		required:   []string{"Bucket", "PolicyDocument"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			bucket := cfnString(r.props, "Bucket")
			doc, err := json.Marshal(r.props["PolicyDocument"])
			if err != nil {
				return err
			}
			if _, err := ParseResourcePolicy(doc); err != nil {
				return fmt.Errorf("bucket policy of %s: %w", bucket, err)
			}
			if _, err := op.r.S3().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(doc))}); err != nil {
				return err
			}
			r.physicalID, r.ref = bucket, bucket
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			doc, _ := json.Marshal(r.props["PolicyDocument"])
			_, err := op.r.S3().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(cfnString(r.props, "Bucket")), Policy: aws.String(string(doc))})
			return err
		},
		replaceOn: []string{"Bucket"},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.S3().DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(r.physicalID)})
			if isAPICode(err, "NoSuchBucket") {
				return nil
			}
			return err
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::SQS::Queue", cfnQueueProvider())
	registerCFN("AWS::SQS::QueuePolicy", &cfnProvider{
		properties: []string{"PolicyDocument", "Queues"},
		required:   []string{"PolicyDocument", "Queues"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			doc, err := json.Marshal(r.props["PolicyDocument"])
			if err != nil {
				return err
			}
			if _, err := ParseResourcePolicy(doc); err != nil {
				return fmt.Errorf("queue policy: %w", err)
			}
			queues, _ := r.props["Queues"].([]any)
			for _, q := range queues {
				if _, err := op.r.SQS().SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(cfnScalarString(q)),
					Attributes: map[string]string{"Policy": string(doc)}}); err != nil {
					return err
				}
			}
			r.physicalID = op.physicalName(r.id, 128)
			r.ref = r.physicalID
			return nil
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::Glue::Database", &cfnProvider{
		properties: []string{"CatalogId", "DatabaseInput"},
		required:   []string{"CatalogId", "DatabaseInput"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			var in gluetypes.DatabaseInput
			if err := cfnInto(r.props["DatabaseInput"], &in); err != nil {
				return err
			}
			if _, err := op.r.Glue().CreateDatabase(ctx, &glue.CreateDatabaseInput{CatalogId: aws.String(cfnString(r.props, "CatalogId")), DatabaseInput: &in}); err != nil {
				return err
			}
			r.physicalID, r.ref = aws.ToString(in.Name), aws.ToString(in.Name)
			return nil
		},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Glue().DeleteDatabase(ctx, &glue.DeleteDatabaseInput{Name: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::Glue::Table", &cfnProvider{
		properties: []string{"CatalogId", "DatabaseName", "TableInput"},
		required:   []string{"CatalogId", "DatabaseName", "TableInput"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			var in gluetypes.TableInput
			if err := cfnInto(r.props["TableInput"], &in); err != nil {
				return err
			}
			db := cfnString(r.props, "DatabaseName")
			if _, err := op.r.Glue().CreateTable(ctx, &glue.CreateTableInput{CatalogId: aws.String(cfnString(r.props, "CatalogId")), DatabaseName: aws.String(db), TableInput: &in}); err != nil {
				return err
			}
			r.physicalID, r.ref = aws.ToString(in.Name), aws.ToString(in.Name)
			return nil
		},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Glue().DeleteTable(ctx, &glue.DeleteTableInput{DatabaseName: aws.String(cfnString(r.props, "DatabaseName")), Name: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::DynamoDB::Table", cfnTableProvider())
	registerCFN("AWS::Backup::BackupVault", &cfnProvider{
		properties: []string{"BackupVaultName", "BackupVaultTags", "EncryptionKeyArn"},
		required:   []string{"BackupVaultName"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "BackupVaultName")
			in := &backup.CreateBackupVaultInput{BackupVaultName: aws.String(name), BackupVaultTags: cfnTags(r.props["BackupVaultTags"])}
			if k := cfnString(r.props, "EncryptionKeyArn"); k != "" {
				in.EncryptionKeyArn = aws.String(k)
			}
			out, err := op.r.Backup().CreateBackupVault(ctx, in)
			if err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"BackupVaultName": name, "BackupVaultArn": aws.ToString(out.BackupVaultArn)}
			return nil
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil }, // a vault with recovery points cannot be deleted; the templates retain it
		createTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::Logs::LogGroup", &cfnProvider{
		properties: []string{"LogGroupName", "RetentionInDays", "KmsKeyId", "Tags", "LogGroupClass"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "LogGroupName")
			if name == "" {
				name = op.physicalName(r.id, 512)
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": op.arn("logs", "log-group:"+name+":*")}
			return nil
		},
		update:       func(context.Context, *cfnOp, *cfnLive, *cfnLive) error { return nil },
		replaceOn:    []string{"LogGroupName"},
		nameProperty: "LogGroupName",
		delete:       func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime:   cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::Logs::LogStream", &cfnProvider{
		properties: []string{"LogGroupName", "LogStreamName"},
		required:   []string{"LogGroupName"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "LogStreamName")
			if name == "" {
				name = op.physicalName(r.id, 512)
			}
			r.physicalID, r.ref = name, name
			return nil
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::IAM::Role", &cfnProvider{
		properties: []string{"AssumeRolePolicyDocument", "Description", "Tags", "ManagedPolicyArns", "Policies", "RoleName", "Path", "MaxSessionDuration", "PermissionsBoundary"},
		required:   []string{"AssumeRolePolicyDocument"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "RoleName")
			if name == "" {
				name = op.physicalName(r.id, 64)
			}
			if b := cfnString(r.props, "PermissionsBoundary"); b != "" {
				return fmt.Errorf("role %s: permissions boundaries are %w", name, errNotModelled)
			}
			path := cfnString(r.props, "Path")
			if path == "" {
				path = "/"
			}
			arn := fmt.Sprintf("arn:aws:iam::%s:role%s%s", op.world().Account, path, name)
			trust, err := json.Marshal(r.props["AssumeRolePolicyDocument"])
			if err != nil {
				return err
			}
			if err := op.world().CreateRole(arn, trust); err != nil {
				return err
			}
			if err := cfnRolePolicies(op, arn, nil, r.props); err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": arn, "RoleId": fmt.Sprintf("AROA%016X", fnvString(arn))}
			return nil
		},
		update: func(_ context.Context, op *cfnOp, old, r *cfnLive) error {
			return cfnRolePolicies(op, cfnScalarString(r.attrs["Arn"]), old.props, r.props)
		},
		replaceOn:    []string{"RoleName", "Path"},
		nameProperty: "RoleName",
		delete: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			op.world().DeleteRole(cfnScalarString(r.attrs["Arn"]))
			return nil
		},
		createTime: cfnIAMRole, updateTime: cfnIAMRole, deleteTime: cfnQuick,
	})
	registerCFN("AWS::IAM::Policy", &cfnProvider{
		properties: []string{"PolicyDocument", "PolicyName", "Roles", "Users", "Groups"},
		required:   []string{"PolicyDocument", "PolicyName"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			if err := cfnPutPolicy(op, r.props, nil); err != nil {
				return err
			}
			r.physicalID = op.physicalName(r.id, 128)
			r.ref = r.physicalID
			return nil
		},
		update: func(_ context.Context, op *cfnOp, old, r *cfnLive) error {
			return cfnPutPolicy(op, r.props, old.props)
		},
		delete: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "PolicyName")
			for _, role := range cfnRoleARNs(op, r.props["Roles"]) {
				_ = op.world().DeleteRolePolicy(role, name)
			}
			return nil
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})
}

// cfnRoleARNs turns the role names of an AWS::IAM::Policy into ARNs.
func cfnRoleARNs(op *cfnOp, v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, n := range list {
		name := cfnScalarString(n)
		if strings.HasPrefix(name, "arn:") {
			out = append(out, name)
			continue
		}
		out = append(out, fmt.Sprintf("arn:aws:iam::%s:role/%s", op.world().Account, name))
	}
	return out
}

// cfnPutPolicy attaches an AWS::IAM::Policy's document to its roles,
// detaching it from roles no longer listed.
func cfnPutPolicy(op *cfnOp, props, old map[string]any) error {
	if len(cfnAnyList(props["Users"])) > 0 || len(cfnAnyList(props["Groups"])) > 0 {
		return fmt.Errorf("policies on IAM users and groups are %w", errNotModelled)
	}
	doc, err := json.Marshal(props["PolicyDocument"])
	if err != nil {
		return err
	}
	if _, err := ParsePolicy(doc); err != nil {
		return fmt.Errorf("policy %s: %w", cfnString(props, "PolicyName"), err)
	}
	name := cfnString(props, "PolicyName")
	keep := map[string]bool{}
	for _, role := range cfnRoleARNs(op, props["Roles"]) {
		if err := op.world().PutRolePolicy(role, name, doc); err != nil {
			return err
		}
		keep[role] = true
	}
	if old != nil {
		for _, role := range cfnRoleARNs(op, old["Roles"]) {
			if !keep[role] || cfnString(old, "PolicyName") != name {
				_ = op.world().DeleteRolePolicy(role, cfnString(old, "PolicyName"))
			}
		}
	}
	return nil
}

// cfnRolePolicies applies a role's inline Policies and ManagedPolicyArns.
func cfnRolePolicies(op *cfnOp, roleARN string, old, props map[string]any) error {
	w := op.world()
	for _, p := range cfnAnyList(props["Policies"]) {
		m, _ := p.(map[string]any)
		doc, err := json.Marshal(m["PolicyDocument"])
		if err != nil {
			return err
		}
		if err := w.PutRolePolicy(roleARN, cfnScalarString(m["PolicyName"]), doc); err != nil {
			return err
		}
	}
	managed := map[string]bool{}
	for _, a := range cfnAnyList(props["ManagedPolicyArns"]) {
		arn := cfnScalarString(a)
		managed[arn] = true
		if err := w.AttachRolePolicy(roleARN, arn); err != nil {
			return fmt.Errorf("attach %s: %w", arn, err)
		}
	}
	if old != nil {
		for _, a := range cfnAnyList(old["ManagedPolicyArns"]) {
			if arn := cfnScalarString(a); !managed[arn] {
				_ = w.DetachRolePolicy(roleARN, arn)
			}
		}
		for _, p := range cfnAnyList(old["Policies"]) {
			m, _ := p.(map[string]any)
			name := cfnScalarString(m["PolicyName"])
			still := false
			for _, q := range cfnAnyList(props["Policies"]) {
				if qm, _ := q.(map[string]any); cfnScalarString(qm["PolicyName"]) == name {
					still = true
				}
			}
			if !still {
				_ = w.DeleteRolePolicy(roleARN, name)
			}
		}
	}
	return nil
}

func cfnAnyList(v any) []any {
	l, _ := v.([]any)
	return l
}

// isAPICode reports whether err carries the AWS error code.
func isAPICode(err error, code string) bool {
	return err != nil && errorCode(err) == code
}

// cfnBucketProvider is AWS::S3::Bucket.
func cfnBucketProvider() *cfnProvider {
	apply := func(ctx context.Context, op *cfnOp, r *cfnLive, name string) error {
		s := op.r.S3()
		b := aws.String(name)
		if v, ok := r.props["VersioningConfiguration"].(map[string]any); ok {
			if _, err := s.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatus(cfnScalarString(v["Status"]))}}); err != nil {
				return err
			}
		}
		if v, ok := r.props["BucketEncryption"].(map[string]any); ok {
			var rules []s3types.ServerSideEncryptionRule
			for _, e := range cfnAnyList(v["ServerSideEncryptionConfiguration"]) {
				m, _ := e.(map[string]any)
				rule := s3types.ServerSideEncryptionRule{}
				if d, ok := m["ServerSideEncryptionByDefault"].(map[string]any); ok {
					rule.ApplyServerSideEncryptionByDefault = &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(cfnScalarString(d["SSEAlgorithm"]))}
					if k := cfnScalarString(d["KMSMasterKeyID"]); k != "" {
						rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID = aws.String(k)
					}
				}
				if bk, ok := m["BucketKeyEnabled"]; ok {
					rule.BucketKeyEnabled = aws.Bool(cfnTruthy(bk))
				}
				rules = append(rules, rule)
			}
			if _, err := s.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: rules}}); err != nil {
				return err
			}
		}
		if v, ok := r.props["PublicAccessBlockConfiguration"].(map[string]any); ok {
			var pab s3types.PublicAccessBlockConfiguration
			if err := cfnInto(v, &pab); err != nil {
				return err
			}
			if _, err := s.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &pab}); err != nil {
				return err
			}
		}
		if v, ok := r.props["OwnershipControls"].(map[string]any); ok {
			var oc s3types.OwnershipControls
			if err := cfnInto(v, &oc); err != nil {
				return err
			}
			if _, err := s.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: &oc}); err != nil {
				return err
			}
		}
		if v, ok := r.props["LifecycleConfiguration"].(map[string]any); ok {
			lc, err := cfnLifecycle(v)
			if err != nil {
				return err
			}
			if _, err := s.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: lc}); err != nil {
				return err
			}
		}
		if v, ok := r.props["LoggingConfiguration"].(map[string]any); ok {
			le := &s3types.LoggingEnabled{TargetBucket: aws.String(cfnScalarString(v["DestinationBucketName"])), TargetPrefix: aws.String(cfnScalarString(v["LogFilePrefix"]))}
			if _, err := s.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: b, BucketLoggingStatus: &s3types.BucketLoggingStatus{LoggingEnabled: le}}); err != nil {
				return err
			}
		}
		if v, ok := r.props["NotificationConfiguration"].(map[string]any); ok {
			nc, err := cfnNotifications(v)
			if err != nil {
				return err
			}
			if _, err := s.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b, NotificationConfiguration: nc}); err != nil {
				return err
			}
		}
		if v, ok := r.props["ReplicationConfiguration"].(map[string]any); ok {
			var rc s3types.ReplicationConfiguration
			if err := cfnInto(v, &rc); err != nil {
				return err
			}
			if _, err := s.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: b, ReplicationConfiguration: &rc}); err != nil {
				return err
			}
		}
		return nil
	}
	return &cfnProvider{
		properties: []string{"BucketName", "VersioningConfiguration", "BucketEncryption", "PublicAccessBlockConfiguration", "OwnershipControls",
			"LifecycleConfiguration", "LoggingConfiguration", "NotificationConfiguration", "ReplicationConfiguration", "Tags"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "BucketName")
			if name == "" {
				name = strings.ToLower(op.physicalName(r.id, 63))
			}
			in := &s3.CreateBucketInput{Bucket: aws.String(name)}
			if op.r.Name != "us-east-1" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(op.r.Name)}
			}
			if _, err := op.r.S3().CreateBucket(ctx, in); err != nil {
				return err
			}
			if err := apply(ctx, op, r, name); err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": "arn:aws:s3:::" + name, "DomainName": name + ".s3.amazonaws.com",
				"RegionalDomainName":  fmt.Sprintf("%s.s3.%s.amazonaws.com", name, op.r.Name),
				"DualStackDomainName": fmt.Sprintf("%s.s3.dualstack.%s.amazonaws.com", name, op.r.Name),
				"WebsiteURL":          fmt.Sprintf("http://%s.s3-website-%s.amazonaws.com", name, op.r.Name)}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			return apply(ctx, op, r, r.physicalID)
		},
		replaceOn:    []string{"BucketName"},
		nameProperty: "BucketName",
		importID:     "BucketName",
		adopt: func(ctx context.Context, op *cfnOp, r *cfnLive, name string) error {
			if _, err := op.r.S3().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": "arn:aws:s3:::" + name, "DomainName": name + ".s3.amazonaws.com",
				"RegionalDomainName":  fmt.Sprintf("%s.s3.%s.amazonaws.com", name, op.r.Name),
				"DualStackDomainName": fmt.Sprintf("%s.s3.dualstack.%s.amazonaws.com", name, op.r.Name),
				"WebsiteURL":          fmt.Sprintf("http://%s.s3-website-%s.amazonaws.com", name, op.r.Name)}
			return nil
		},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.S3().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnBucket, updateTime: cfnBucket, deleteTime: cfnBucket,
	}
}

// cfnLifecycle converts AWS::S3::Bucket LifecycleConfiguration (whose rule
// members differ from the API's) into the API shape.
func cfnLifecycle(v map[string]any) (*s3types.BucketLifecycleConfiguration, error) {
	out := &s3types.BucketLifecycleConfiguration{}
	for _, e := range cfnAnyList(v["Rules"]) {
		m, _ := e.(map[string]any)
		rule := s3types.LifecycleRule{ID: aws.String(cfnScalarString(m["Id"])), Status: s3types.ExpirationStatus(cfnScalarString(m["Status"])),
			Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(cfnScalarString(m["Prefix"]))}}
		for k, val := range m {
			vm, _ := val.(map[string]any)
			switch k {
			case "Id", "Status", "Prefix":
			case "AbortIncompleteMultipartUpload":
				n, _ := cfnInt(vm["DaysAfterInitiation"])
				rule.AbortIncompleteMultipartUpload = &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(int32(n))}
			case "NoncurrentVersionExpiration":
				n, _ := cfnInt(vm["NoncurrentDays"])
				rule.NoncurrentVersionExpiration = &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(int32(n))}
			case "NoncurrentVersionExpirationInDays":
				n, _ := cfnInt(val)
				rule.NoncurrentVersionExpiration = &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(int32(n))}
			case "ExpirationInDays":
				n, _ := cfnInt(val)
				rule.Expiration = &s3types.LifecycleExpiration{Days: aws.Int32(int32(n))}
			default:
				return nil, fmt.Errorf("lifecycle rule member %s is %w", k, errNotModelled)
			}
		}
		out.Rules = append(out.Rules, rule)
	}
	return out, nil
}

// cfnNotifications converts AWS::S3::Bucket NotificationConfiguration
// ({Event, Queue, Filter} per entry) into the API shape.
func cfnNotifications(v map[string]any) (*s3types.NotificationConfiguration, error) {
	out := &s3types.NotificationConfiguration{}
	for k, val := range v {
		switch k {
		case "QueueConfigurations":
			for i, e := range cfnAnyList(val) {
				m, _ := e.(map[string]any)
				qc := s3types.QueueConfiguration{Id: aws.String(fmt.Sprintf("queue-%d", i)), QueueArn: aws.String(cfnScalarString(m["Queue"])),
					Events: []s3types.Event{s3types.Event(cfnScalarString(m["Event"]))}}
				if f, ok := m["Filter"].(map[string]any); ok {
					var nf s3types.NotificationConfigurationFilter
					if err := cfnInto(map[string]any{"Key": map[string]any{"FilterRules": cfnAnyList(f["S3Key"].(map[string]any)["Rules"])}}, &nf); err != nil {
						return nil, err
					}
					qc.Filter = &nf
				}
				for mk := range m {
					if mk != "Queue" && mk != "Event" && mk != "Filter" {
						return nil, fmt.Errorf("queue notification member %s is %w", mk, errNotModelled)
					}
				}
				out.QueueConfigurations = append(out.QueueConfigurations, qc)
			}
		default:
			return nil, fmt.Errorf("notification configuration %s is %w", k, errNotModelled)
		}
	}
	return out, nil
}

// cfnQueueProvider is AWS::SQS::Queue.
func cfnQueueProvider() *cfnProvider {
	attrs := func(props map[string]any) (map[string]string, error) {
		out := map[string]string{}
		for k, v := range props {
			switch k {
			case "QueueName", "Tags":
			case "RedrivePolicy", "RedriveAllowPolicy":
				b, err := json.Marshal(v)
				if err != nil {
					return nil, err
				}
				out[k] = string(b)
			case "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize", "ReceiveMessageWaitTimeSeconds",
				"SqsManagedSseEnabled", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "FifoQueue", "ContentBasedDeduplication":
				out[k] = cfnScalarString(v)
			default:
				return nil, fmt.Errorf("queue property %s is %w", k, errNotModelled)
			}
		}
		return out, nil
	}
	return &cfnProvider{
		properties: []string{"QueueName", "RedrivePolicy", "RedriveAllowPolicy", "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
			"MaximumMessageSize", "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
			"FifoQueue", "ContentBasedDeduplication", "Tags"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "QueueName")
			if name == "" {
				name = op.physicalName(r.id, 80)
			}
			a, err := attrs(r.props)
			if err != nil {
				return err
			}
			out, err := op.r.SQS().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: a, Tags: cfnTags(r.props["Tags"])})
			if err != nil {
				return err
			}
			url := aws.ToString(out.QueueUrl)
			r.physicalID, r.ref = url, url
			r.attrs = map[string]any{"Arn": op.r.SQS().QueueARN(name), "QueueName": name, "QueueUrl": url}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			a, err := attrs(r.props)
			if err != nil {
				return err
			}
			_, err = op.r.SQS().SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(r.physicalID), Attributes: a})
			return err
		},
		replaceOn:    []string{"QueueName", "FifoQueue"},
		nameProperty: "QueueName",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.SQS().DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	}
}

// cfnTableProvider is AWS::DynamoDB::Table.
func cfnTableProvider() *cfnProvider {
	settings := func(ctx context.Context, op *cfnOp, name string, props map[string]any) error {
		d := op.r.DynamoDB()
		if v, ok := props["PointInTimeRecoverySpecification"].(map[string]any); ok {
			spec := &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(cfnTruthy(v["PointInTimeRecoveryEnabled"]))}
			if n, ok := cfnInt(v["RecoveryPeriodInDays"]); ok {
				spec.RecoveryPeriodInDays = aws.Int32(int32(n))
			}
			if _, err := d.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(name), PointInTimeRecoverySpecification: spec}); err != nil {
				return err
			}
		}
		if v, ok := props["TimeToLiveSpecification"].(map[string]any); ok {
			if _, err := d.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(cfnScalarString(v["AttributeName"])), Enabled: aws.Bool(cfnTruthy(v["Enabled"]))}}); err != nil {
				return err
			}
		}
		return nil
	}
	return &cfnProvider{
		properties: []string{"TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "DeletionProtectionEnabled", "PointInTimeRecoverySpecification",
			"SSESpecification", "TimeToLiveSpecification", "Tags", "ProvisionedThroughput", "StreamSpecification", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "TableClass"},
		required: []string{"KeySchema"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "TableName")
			if name == "" {
				name = op.physicalName(r.id, 255)
			}
			in := &dynamodb.CreateTableInput{TableName: aws.String(name)}
			fields := map[string]any{}
			for _, k := range []string{"AttributeDefinitions", "KeySchema", "BillingMode", "DeletionProtectionEnabled", "ProvisionedThroughput",
				"StreamSpecification", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "TableClass"} {
				if v, ok := r.props[k]; ok {
					fields[k] = v
				}
			}
			if err := cfnInto(fields, in); err != nil {
				return err
			}
			in.TableName = aws.String(name)
			// CloudFormation's SSESpecification says SSEEnabled where the API
			// says Enabled.
			if sse, ok := r.props["SSESpecification"].(map[string]any); ok {
				in.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(cfnTruthy(sse["SSEEnabled"]))}
				for k, v := range sse {
					switch k {
					case "SSEEnabled":
					case "SSEType":
						in.SSESpecification.SSEType = ddbtypes.SSEType(cfnScalarString(v))
					case "KMSMasterKeyId":
						in.SSESpecification.KMSMasterKeyId = aws.String(cfnScalarString(v))
					default:
						return fmt.Errorf("SSESpecification member %s is %w", k, errNotModelled)
					}
				}
			}
			for k, v := range cfnTags(r.props["Tags"]) {
				in.Tags = append(in.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			out, err := op.r.DynamoDB().CreateTable(ctx, in)
			if err != nil {
				return err
			}
			if err := settings(ctx, op, name, r.props); err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": aws.ToString(out.TableDescription.TableArn)}
			if out.TableDescription.LatestStreamArn != nil {
				r.attrs["StreamArn"] = aws.ToString(out.TableDescription.LatestStreamArn)
			}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, old, r *cfnLive) error {
			in := &dynamodb.UpdateTableInput{TableName: aws.String(r.physicalID)}
			if v, ok := r.props["DeletionProtectionEnabled"]; ok {
				in.DeletionProtectionEnabled = aws.Bool(cfnTruthy(v))
			}
			if v, ok := r.props["BillingMode"]; ok {
				in.BillingMode = ddbtypes.BillingMode(cfnScalarString(v))
			}
			if _, err := op.r.DynamoDB().UpdateTable(ctx, in); err != nil && !isAPICode(err, "ValidationException") {
				return err
			}
			return settings(ctx, op, r.physicalID, r.props)
		},
		replaceOn:    []string{"TableName", "KeySchema"},
		nameProperty: "TableName",
		// A resource import adopts the table as it is: CloudFormation
		// reads it and changes nothing (PITR, TTL, deletion protection
		// stay as they are; the template's values are recorded).
		importID: "TableName",
		adopt: func(ctx context.Context, op *cfnOp, r *cfnLive, name string) error {
			out, err := op.r.DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": aws.ToString(out.Table.TableArn)}
			if out.Table.LatestStreamArn != nil {
				r.attrs["StreamArn"] = aws.ToString(out.Table.LatestStreamArn)
			}
			return nil
		},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.DynamoDB().DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnTable, updateTime: cfnTable, deleteTime: cfnTable,
	}
}

// errorCode returns the AWS error code in err's chain, or "".
func errorCode(err error) string {
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// cfnCoerce converts v's scalars to the types t has at the same place, as
// CloudFormation converts a property value to the type the resource
// declares: "443" (a parameter's or an attribute's string) where an integer
// is wanted, a number or boolean where a string is, "true" where a
// boolean is. What does not convert is left for the decoder to refuse.
func cfnCoerce(v any, t reflect.Type) any {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return v
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		if s, ok := v.(string); ok {
			if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return json.Number(strings.TrimSpace(s))
			}
		}
	case reflect.Bool:
		if s, ok := v.(string); ok {
			if b, err := strconv.ParseBool(s); err == nil {
				return b
			}
		}
	case reflect.String:
		switch x := v.(type) {
		case json.Number:
			return x.String()
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		}
	case reflect.Slice:
		if l, ok := v.([]any); ok {
			out := make([]any, len(l))
			for i, e := range l {
				out[i] = cfnCoerce(e, t.Elem())
			}
			return out
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, e := range m {
				out[k] = cfnCoerce(e, t.Elem())
			}
			return out
		}
	case reflect.Struct:
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, e := range m {
				// encoding/json matches field names without regard to case.
				f, found := t.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, k) })
				if found {
					e = cfnCoerce(e, f.Type)
				}
				out[k] = e
			}
			return out
		}
	}
	return v
}
