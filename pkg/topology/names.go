// Package topology names the parts of a Pendulum installation: every physical
// resource name and ARN, derived from (prefix, account, region) alone, and the
// DefinitionSubstitutions the state machines are deployed with.
//
// The CDK app (infra/) and the local runner (pkg/local) both build from it,
// so a state machine addresses the very same names in the cloud and in a
// drill, and a stack in one region can address another region's resources
// without a cross-region reference.
package topology

import (
	"fmt"
	"strings"
)

// Names derives every physical name of an installation. Because each name is
// a pure function of (prefix, account, region), the DR state machines can
// address B's restored table by the very name P's table had.
type Names struct {
	Prefix, Account string
}

// Stack is the CloudFormation stack name of kind (data, workload, global,
// recovery) in region.
func (n Names) Stack(kind, region string) string {
	if kind == "global" {
		return n.Prefix + "-global"
	}
	return fmt.Sprintf("%s-%s-%s", n.Prefix, kind, region)
}

// Bucket is a bucket name; account and region keep it globally unique.
func (n Names) Bucket(kind, region string) string {
	return fmt.Sprintf("%s-%s-%s-%s", n.Prefix, kind, n.Account, region)
}

// BucketARN is the ARN of Bucket(kind, region).
func (n Names) BucketARN(kind, region string) string {
	return "arn:aws:s3:::" + n.Bucket(kind, region)
}

// FailbackBucket is the bucket in B where failback's Distributed Maps
// write their results (pkg/dr "pass.go"): a bucket of B's Data stack.
func (n Names) FailbackBucket(region string) string { return n.Bucket("failback", region) }

// GlueDatabase is the catalog database, the same name in both regions.
func (n Names) GlueDatabase() string { return strings.ReplaceAll(n.Prefix, "-", "_") + "_analytics" }

// AggregatesTable is the DynamoDB aggregates table: created in P, restored
// under the same name in B by failover.
func (n Names) AggregatesTable() string { return n.Prefix + "-aggregates" }

// IdempotencyTable is ingest's table of accepted record ids and content
// hashes: one in each workload region, the same name in both, each holding
// only what its own region's ingest accepted.
func (n Names) IdempotencyTable() string { return n.Prefix + "-ingest-ids" }

// ControlTable is the DR control table in B.
func (n Names) ControlTable() string { return n.Prefix + "-dr-control" }

// TableARN is the ARN of table in region.
func (n Names) TableARN(region, table string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, n.Account, table)
}

// Stream is the Kinesis stream of each region.
func (n Names) Stream() string { return n.Prefix + "-records" }

// StreamARN is the ARN of Stream in region.
func (n Names) StreamARN(region string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", region, n.Account, n.Stream())
}

// DeliveryStream is the Firehose stream that lands the raw data.
func (n Names) DeliveryStream() string { return n.Prefix + "-raw" }

// Function is the physical name of Lambda function name.
func (n Names) Function(name string) string { return n.Prefix + "-" + name }

// FunctionARN is the ARN of Function(name) in region.
func (n Names) FunctionARN(region, name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, n.Account, n.Function(name))
}

// StateMachine is the physical name of state machine name.
func (n Names) StateMachine(name string) string { return n.Prefix + "-" + name }

// StateMachineARN is the ARN of StateMachine(name) in region.
func (n Names) StateMachineARN(region, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", region, n.Account, n.StateMachine(name))
}

// LoadBalancer is the ALB name (at most 32 characters: the prefix is at
// most 16).
func (n Names) LoadBalancer() string { return n.Prefix + "-ingest" }

// Accelerator is the Global Accelerator name.
func (n Names) Accelerator() string { return n.Prefix }

// BackupVault is the AWS Backup vault name, the same in both regions.
func (n Names) BackupVault() string { return n.Prefix + "-vault" }

// BackupVaultARN is the ARN of BackupVault in region.
func (n Names) BackupVaultARN(region string) string {
	return fmt.Sprintf("arn:aws:backup:%s:%s:backup-vault:%s", region, n.Account, n.BackupVault())
}

// BatchReplicationRole is the name of the role S3 Batch Operations runs
// the primary region's Batch Replication jobs as: replicating to B what
// live replication never will (objects older than the replication rule,
// replicas of another source, FAILED replications).
func (n Names) BatchReplicationRole(region string) string {
	return n.Prefix + "-batch-replication-" + region
}

// RoleARN is the ARN of the IAM role name (IAM is global: no region).
func (n Names) RoleARN(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", n.Account, name)
}

// Topic is the DR notification topic in B.
func (n Names) Topic() string { return n.Prefix + "-dr" }

// TopicARN is the ARN of Topic in region.
func (n Names) TopicARN(region string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, n.Account, n.Topic())
}

// AlarmName is the CloudWatch alarm in B that starts failover.
func (n Names) AlarmName() string { return n.Prefix + "-primary-unhealthy" }

// PipelineAlarmName is the CloudWatch alarm in B on the primary's pipeline
// freshness: it notifies the DR topic and starts nothing.
func (n Names) PipelineAlarmName() string { return n.Prefix + "-primary-pipeline-stalled" }

// Parameter is an SSM parameter name under the prefix. AWS picks some
// identifiers at creation (ALB and accelerator ARNs, DNS names); their
// stacks publish them under these fixed names so readers elsewhere find
// them without a cross-region stack reference.
func (n Names) Parameter(path string) string { return "/" + n.Prefix + "/" + path }

// ParameterARN is the ARN of Parameter(path) in region.
func (n Names) ParameterARN(region, path string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", region, n.Account, n.Parameter(path))
}

// LogGroupARN is the ARN of log group name in region, with the ":*" suffix
// IAM needs for its log streams.
func (n Names) LogGroupARN(region, name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", region, n.Account, name)
}

// Regions of an installation.
type Regions struct {
	// Primary (P) serves traffic normally; Backup (B) holds the dormant copy
	// and runs the DR state machines.
	Primary, Backup string
}

// GlobalRegion is where Global Accelerator's control plane and CloudFormation
// resources live: us-west-2 only.
const GlobalRegion = "us-west-2"

// Workload stack parameters the DR state machines flip.
const (
	// ActiveParameter is "true" when the region's workload stack includes its
	// costly resources (ALB, stream, Firehose…); B's is "false" until failover.
	ActiveParameter = "Active"
	// ConsumerParameter enables the aggregate consumer's event-source mapping.
	// Failover activates B with the consumer off (Kinesis keeps the backlog)
	// and enables it once the aggregates table has been restored.
	ConsumerParameter = "ConsumerEnabled"
	// CertificateParameter is the ACM certificate ARN of the region's ingest
	// ALB, chosen at deploy time (`cdk deploy --parameters
	// <workload stack>:CertificateArn=…`; cdk.json's certificate keys are
	// its defaults): set, the ALB listens with HTTPS on 443 and so does the
	// accelerator; empty, HTTP on 80.
	CertificateParameter = "CertificateArn"
)

// AcceleratorURLOutput is the global stack's output holding the
// accelerator's URL (scheme://DNS name), the producers' endpoint.
const AcceleratorURLOutput = "AcceleratorUrl"
