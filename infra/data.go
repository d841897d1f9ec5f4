package main

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/partition"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// DataStack holds what must survive a regional outage: the raw and curated
// buckets (replicated P → B), the Glue catalog, the partitions Lambda that
// keeps the catalog current from S3 events, the aggregates table (in P) and
// the AWS Backup vaults and plan.
type DataStack struct {
	awscdk.Stack
	Raw, Curated awss3.Bucket
	// Failback (in B only) holds failback's Distributed Map results.
	Failback   awss3.Bucket
	Aggregates awsdynamodb.Table // nil in B: failover restores it there
	Queue      awssqs.Queue
}

// dataKinds are the replicated data buckets.
var dataKinds = []string{"raw", "curated"}

// NewDataStack builds the Data stack of region.
func NewDataStack(scope constructs.Construct, cfg Config, region string) *DataStack {
	n := NamesFor(cfg)
	primary := region == cfg.PrimaryRegion
	stack := awscdk.NewStack(scope, jsii.String(n.Stack("data", region)), &awscdk.StackProps{
		StackName:   jsii.String(n.Stack("data", region)),
		Env:         env(cfg, region),
		Description: jsii.String(fmt.Sprintf("Pendulum data (%s): buckets, catalog, partitions Lambda, backups", role(cfg, region))),
	})
	s := &DataStack{Stack: stack}

	logs := newLogBucket(stack, "AccessLogs", n.Bucket("logs", region), cfg)
	buckets := map[string]awss3.Bucket{}
	for _, kind := range dataKinds {
		buckets[kind] = newDataBucket(stack, topology.Camel(kind), n.Bucket(kind, region), cfg, logs)
	}
	s.Raw, s.Curated = buckets["raw"], buckets["curated"]

	if primary {
		replicate(stack, cfg, buckets)
		batchReplicationRole(stack, cfg)
	} else {
		s.Failback = newFailbackBucket(stack, cfg, logs)
	}
	newCatalog(stack, cfg, region)
	s.Queue = newPartitions(stack, cfg, region, buckets)

	vault := awsbackup.NewBackupVault(stack, jsii.String("Vault"), &awsbackup.BackupVaultProps{
		BackupVaultName: jsii.String(n.BackupVault()),
		RemovalPolicy:   awscdk.RemovalPolicy_RETAIN,
	})
	if primary {
		s.Aggregates = newAggregatesTable(stack, cfg)
		newBackupPlan(stack, cfg, vault, s.Aggregates)
		// B's alarms are the Recovery stack's, next to the topic.
		addPrimaryAlarms(stack, cfg, "data")
	}
	return s
}

// env pins a stack to the account and region, so synth needs no credentials
// and no lookups.
func env(cfg Config, region string) *awscdk.Environment {
	return &awscdk.Environment{Account: jsii.String(cfg.Account), Region: jsii.String(region)}
}

func role(cfg Config, region string) string {
	if region == cfg.PrimaryRegion {
		return "primary"
	}
	return "backup"
}

// newLogBucket is the server-access-log target of the region's buckets.
func newLogBucket(scope constructs.Construct, id, name string, cfg Config) awss3.Bucket {
	b := awss3.NewBucket(scope, jsii.String(id), &awss3.BucketProps{
		BucketName:        jsii.String(name),
		Versioned:         jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED, // log delivery requires SSE-S3
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("expire-logs"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(float64(cfg.LogRetentionDays))),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(float64(cfg.NoncurrentVersionDays))),
		}},
	})
	suppress(b, map[string]string{
		"S1": "This is the access-log bucket itself; logging it into itself would loop.",
	})
	return b
}

// newDataBucket is a raw or curated bucket: versioned (replication needs
// it), SSE-S3, TLS-only, private, access-logged, noncurrent versions expire.
func newDataBucket(scope constructs.Construct, id, name string, cfg Config, logs awss3.Bucket) awss3.Bucket {
	return newPrivateBucket(scope, id, name, cfg, logs, &awss3.LifecycleRule{Id: jsii.String("expire-noncurrent")})
}

// newPrivateBucket is a bucket of the data stack: versioned, SSE-S3,
// TLS-only, private, retained, access-logged under its name; rule is its
// lifecycle rule, which also expires noncurrent versions and abandons
// incomplete multipart uploads after 7 days.
func newPrivateBucket(scope constructs.Construct, id, name string, cfg Config, logs awss3.Bucket, rule *awss3.LifecycleRule) awss3.Bucket {
	rule.NoncurrentVersionExpiration = awscdk.Duration_Days(jsii.Number(float64(cfg.NoncurrentVersionDays)))
	rule.AbortIncompleteMultipartUploadAfter = awscdk.Duration_Days(jsii.Number(7))
	return awss3.NewBucket(scope, jsii.String(id), &awss3.BucketProps{
		BucketName:             jsii.String(name),
		Versioned:              jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String(name + "/"),
		LifecycleRules:         &[]*awss3.LifecycleRule{rule},
	})
}

// newFailbackBucket is B's bucket for failback's Distributed Maps: the
// Map Runs' ResultWriter manifests and result files and the passes' done
// markers (pkg/dr "pass.go"), under failback/. They are the record of a
// failback's progress, read back by a re-run; they expire after the log
// retention. Not replicated: failback runs in B, and only while P is back.
func newFailbackBucket(scope constructs.Construct, cfg Config, logs awss3.Bucket) awss3.Bucket {
	return newPrivateBucket(scope, "Failback", NamesFor(cfg).FailbackBucket(cfg.BackupRegion), cfg, logs, &awss3.LifecycleRule{
		Id:         jsii.String("expire-results"),
		Expiration: awscdk.Duration_Days(jsii.Number(float64(cfg.LogRetentionDays))),
	})
}

// replicate adds P → B replication with Replication Time Control (15-minute
// SLA), replication metrics and delete-marker replication to each data
// bucket, with one role that can do exactly that and nothing else.
func replicate(stack awscdk.Stack, cfg Config, buckets map[string]awss3.Bucket) {
	n := NamesFor(cfg)
	r := awsiam.NewRole(stack, jsii.String("ReplicationRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("s3.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account}},
		}),
		Description: jsii.String("S3 replication of the Pendulum data buckets to the backup region"),
	})
	var srcBuckets, srcObjects, dstObjects []*string
	for _, kind := range dataKinds {
		srcBuckets = append(srcBuckets, jsii.String(n.BucketARN(kind, cfg.PrimaryRegion)))
		srcObjects = append(srcObjects, jsii.String(n.BucketARN(kind, cfg.PrimaryRegion)+"/*"))
		dstObjects = append(dstObjects, jsii.String(n.BucketARN(kind, cfg.BackupRegion)+"/*"))
	}
	r.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetReplicationConfiguration", "s3:ListBucket"),
		Resources: &srcBuckets,
	}))
	r.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"),
		Resources: &srcObjects,
	}))
	r.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"),
		Resources: &dstObjects,
	}))
	suppress(r, map[string]string{
		"IAM5": "Object-level actions on the named source and destination buckets (<bucket>/*): replication acts on every object version of those buckets only.",
	})
	for _, kind := range dataKinds {
		cfn := buckets[kind].Node().DefaultChild().(awss3.CfnBucket)
		cfn.SetReplicationConfiguration(&awss3.CfnBucket_ReplicationConfigurationProperty{
			Role: r.RoleArn(),
			Rules: &[]interface{}{&awss3.CfnBucket_ReplicationRuleProperty{
				Id:       jsii.String(replicationRuleID(cfg)),
				Status:   jsii.String("Enabled"),
				Priority: jsii.Number(1),
				Filter:   &awss3.CfnBucket_ReplicationRuleFilterProperty{Prefix: jsii.String("")},
				DeleteMarkerReplication: &awss3.CfnBucket_DeleteMarkerReplicationProperty{
					Status: jsii.String("Enabled"),
				},
				Destination: &awss3.CfnBucket_ReplicationDestinationProperty{
					Bucket:       jsii.String(n.BucketARN(kind, cfg.BackupRegion)),
					StorageClass: jsii.String("STANDARD"),
					ReplicationTime: &awss3.CfnBucket_ReplicationTimeProperty{
						Status: jsii.String("Enabled"),
						Time:   &awss3.CfnBucket_ReplicationTimeValueProperty{Minutes: jsii.Number(15)},
					},
					Metrics: &awss3.CfnBucket_MetricsProperty{
						Status:         jsii.String("Enabled"),
						EventThreshold: &awss3.CfnBucket_ReplicationTimeValueProperty{Minutes: jsii.Number(15)},
					},
				},
			}},
		})
	}
}

// batchReplicationRole is the role S3 Batch Operations runs a Batch
// Replication job of P's data buckets as: live replication copies only
// objects written after the rule exists, never a replica of another source
// and never a FAILED object again, so a new primary (the old backup region,
// whose buckets hold P's replicas and what it wrote itself) replicates its
// existing objects to its new backup region with such a job, and a FAILED
// replication is re-driven the same way (docs/dr.md "When the primary is
// lost for good"). Its permissions are the documented ones for a job whose
// manifest S3 generates and does not store, with no completion report
// (Amazon S3 User Guide, "Configuring an IAM role for S3 Batch
// Replication"): initiate replication of the buckets' objects, read their
// replication configuration, generate the manifest (an inventory
// configuration). The objects are then replicated as the replication role.
func batchReplicationRole(stack awscdk.Stack, cfg Config) {
	n := NamesFor(cfg)
	r := awsiam.NewRole(stack, jsii.String("BatchReplicationRole"), &awsiam.RoleProps{
		RoleName: jsii.String(n.BatchReplicationRole(cfg.PrimaryRegion)),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("batchoperations.s3.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account}},
		}),
		Description: jsii.String("S3 Batch Replication of the Pendulum data buckets to the backup region (existing objects, replicas, FAILED replications)"),
	})
	var bucketARNs, objectARNs []*string
	for _, kind := range dataKinds {
		bucketARNs = append(bucketARNs, jsii.String(n.BucketARN(kind, cfg.PrimaryRegion)))
		objectARNs = append(objectARNs, jsii.String(n.BucketARN(kind, cfg.PrimaryRegion)+"/*"))
	}
	r.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:InitiateReplication"),
		Resources: &objectARNs,
	}))
	r.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"),
		Resources: &bucketARNs,
	}))
	suppress(r, map[string]string{
		"IAM5": "s3:InitiateReplication on the objects of the two named data buckets (<bucket>/*): a Batch Replication job replicates every eligible object of those buckets only.",
	})
}

// glueColumn is one catalog column.
type glueColumn struct{ Name, Type string }

// rawColumns mirror pkg/record.Record as Firehose writes it (NDJSON): ts
// and received are RFC 3339 strings there.
var (
	rawColumns = []glueColumn{
		{"id", "string"}, {"ts", "string"}, {"received", "string"}, {"region", "string"},
		{"producer", "string"}, {"canary", "boolean"}, {"data", "string"},
	}
	// curatedColumns match pkg/compact's Parquet row (canaries never
	// reach curated).
	curatedColumns = []glueColumn{
		{"id", "string"}, {"ts", "timestamp"}, {"received", "timestamp"}, {"region", "string"},
		{"producer", "string"}, {"data", "string"},
	}
	partitionKeys = []glueColumn{{"dt", "string"}, {"hr", "string"}}
)

func columns(cs []glueColumn) *[]interface{} {
	out := []interface{}{}
	for _, c := range cs {
		out = append(out, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(c.Name), Type: jsii.String(c.Type)})
	}
	return &out
}

// newCatalog creates the Glue database and the raw (JSON) and curated
// (Parquet) tables, partitioned by dt/hr, pointing at this region's buckets:
// each region's catalog describes its own copy of the data.
func newCatalog(stack awscdk.Stack, cfg Config, region string) {
	n := NamesFor(cfg)
	db := awsglue.NewCfnDatabase(stack, jsii.String("Catalog"), &awsglue.CfnDatabaseProps{
		CatalogId: jsii.String(cfg.Account),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(n.GlueDatabase()),
			Description: jsii.String("Pendulum analytics (raw NDJSON, curated Parquet)"),
		},
	})
	tables := []struct {
		name, bucket          string
		cols                  []glueColumn
		serde, input, output  string
		classification, extra string
	}{
		{"raw", n.Bucket("raw", region), rawColumns,
			"org.openx.data.jsonserde.JsonSerDe",
			"org.apache.hadoop.mapred.TextInputFormat",
			"org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat", "json", "gzip"},
		{"curated", n.Bucket("curated", region), curatedColumns,
			"org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
			"org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
			"org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", "parquet", ""},
	}
	for _, t := range tables {
		params := map[string]*string{"classification": jsii.String(t.classification)}
		if t.extra != "" {
			params["compressionType"] = jsii.String(t.extra)
		}
		tbl := awsglue.NewCfnTable(stack, jsii.String(topology.Camel(t.name)+"Table"), &awsglue.CfnTableProps{
			CatalogId:    jsii.String(cfg.Account),
			DatabaseName: jsii.String(n.GlueDatabase()),
			TableInput: &awsglue.CfnTable_TableInputProperty{
				Name:          jsii.String(t.name),
				TableType:     jsii.String("EXTERNAL_TABLE"),
				Parameters:    params,
				PartitionKeys: columns(partitionKeys),
				StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
					Columns:      columns(t.cols),
					Location:     jsii.String("s3://" + t.bucket + "/"),
					InputFormat:  jsii.String(t.input),
					OutputFormat: jsii.String(t.output),
					Compressed:   jsii.Bool(t.extra != ""),
					SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
						SerializationLibrary: jsii.String(t.serde),
					},
				},
			},
		})
		tbl.AddResourceDependency(db, jsii.String("the table belongs to the database"))
	}
}

// partitionsTable is one entry of the partitions Lambda's TABLES variable
// (partition.EnvTables).
type partitionsTable struct {
	Table  string `json:"table"`
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
	Layout string `json:"layout"`
}

// newPartitions wires both data buckets' ObjectCreated notifications to an
// SQS queue (with a DLQ) consumed by the partitions Lambda. Replicated
// objects fire ObjectCreated in B too, which keeps B's catalog current.
func newPartitions(stack awscdk.Stack, cfg Config, region string, buckets map[string]awss3.Bucket) awssqs.Queue {
	n := NamesFor(cfg)
	dlq := awssqs.NewQueue(stack, jsii.String("PartitionsDLQ"), &awssqs.QueueProps{
		QueueName:       jsii.String(queueName(n, partitionsDLQ)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(dlq, map[string]string{"SQS3": "This queue is the dead-letter queue."})
	// SSE-SQS, not KMS: S3 event notifications cannot use the AWS-managed
	// SQS KMS key, and SSE-SQS needs no key policy.
	queue := awssqs.NewQueue(stack, jsii.String("PartitionsQueue"), &awssqs.QueueProps{
		QueueName:         jsii.String(n.Prefix + "-partitions"),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * 60)), // 6 × the Lambda timeout
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(5)},
	})
	var sources []*string
	for _, kind := range dataKinds {
		sources = append(sources, jsii.String(n.BucketARN(kind, region)))
	}
	queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("S3ObjectCreated"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("s3.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  jsii.Strings(*queue.QueueArn()),
		Conditions: &map[string]interface{}{
			"ArnLike":      map[string]interface{}{"aws:SourceArn": sources},
			"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account},
		},
	}))
	policy := queue.Node().FindChild(jsii.String("Policy"))
	for _, kind := range dataKinds {
		cfn := buckets[kind].Node().DefaultChild().(awss3.CfnBucket)
		cfn.SetNotificationConfiguration(&awss3.CfnBucket_NotificationConfigurationProperty{
			QueueConfigurations: &[]interface{}{&awss3.CfnBucket_QueueConfigurationProperty{
				Event: jsii.String("s3:ObjectCreated:*"),
				Queue: queue.QueueArn(),
			}},
		})
		// S3 checks it may send to the queue when the notification is set.
		cfn.Node().AddDependency(policy)
	}

	var tables []partitionsTable
	for _, kind := range dataKinds {
		tables = append(tables, partitionsTable{Table: kind, Bucket: n.Bucket(kind, region), Prefix: "", Layout: "hive"})
	}
	tablesJSON, _ := json.Marshal(tables)
	fn := NewFunction(stack, cfg, region, FunctionSpec{
		Name:           "partitions",
		Env:            map[string]string{partition.EnvGlueDatabase: n.GlueDatabase(), partition.EnvTables: string(tablesJSON)},
		TimeoutSeconds: 60,
	})
	glueARN := func(res string) *string {
		return jsii.String(fmt.Sprintf("arn:aws:glue:%s:%s:%s", region, cfg.Account, res))
	}
	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("glue:GetTable", "glue:BatchCreatePartition"),
		Resources: &[]*string{
			glueARN("catalog"),
			glueARN("database/" + n.GlueDatabase()),
			glueARN("table/" + n.GlueDatabase() + "/raw"),
			glueARN("table/" + n.GlueDatabase() + "/curated"),
		},
	}))
	fn.Fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(100),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(5)),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	return queue
}

// newAggregatesTable is P's aggregates table: PITR (the cross-region
// restore source), deletion protection, on-demand, encrypted, TTL on expires.
func newAggregatesTable(stack awscdk.Stack, cfg Config) awsdynamodb.Table {
	n := NamesFor(cfg)
	return awsdynamodb.NewTable(stack, jsii.String("Aggregates"), &awsdynamodb.TableProps{
		TableName:           jsii.String(n.AggregatesTable()),
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection:  jsii.Bool(true),
		TimeToLiveAttribute: jsii.String("expires"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// newBackupPlan backs the aggregates table up on cfg.BackupSchedule (daily
// by default) into P's vault and copies each recovery point to B's vault: the restore source when P's
// control plane is unreachable and a cross-region PITR restore cannot run.
func newBackupPlan(stack awscdk.Stack, cfg Config, vault awsbackup.BackupVault, table awsdynamodb.Table) {
	n := NamesFor(cfg)
	keep := awscdk.Duration_Days(jsii.Number(float64(cfg.BackupRetentionDays)))
	dest := awsbackup.BackupVault_FromBackupVaultArn(stack, jsii.String("BackupRegionVault"),
		jsii.String(n.BackupVaultARN(cfg.BackupRegion)))
	plan := awsbackup.NewBackupPlan(stack, jsii.String("BackupPlan"), &awsbackup.BackupPlanProps{
		BackupPlanName: jsii.String(n.Prefix + "-aggregates"),
		BackupPlanRules: &[]awsbackup.BackupPlanRule{awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
			RuleName:           jsii.String("daily-with-copy-to-" + cfg.BackupRegion),
			BackupVault:        vault,
			ScheduleExpression: awsevents.Schedule_Expression(jsii.String(cfg.BackupSchedule)),
			DeleteAfter:        keep,
			CopyActions: &[]*awsbackup.BackupPlanCopyActionProps{{
				DestinationBackupVault: dest,
				DeleteAfter:            keep,
			}},
		})},
	})
	sel := plan.AddSelection(jsii.String("Aggregates"), &awsbackup.BackupSelectionOptions{
		Resources: &[]awsbackup.BackupResource{awsbackup.BackupResource_FromDynamoDbTable(table)},
	})
	suppress(sel, map[string]string{
		"IAM4": "AWS Backup's own service-role policies (AWSBackupServiceRolePolicyForBackup/ForRestores) are the documented permissions for backup jobs; the selection limits them to the aggregates table.",
	})
}
