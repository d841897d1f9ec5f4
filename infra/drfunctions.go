package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"

	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

// drContext is what DR function specs and the DR state machines' scope are
// computed from.
type drContext struct {
	cfg         Config
	names       Names
	accARN      string // deploy-time token: the accelerator ARN
	topic       awssns.ITopic
	key         awskms.IKey // nil for an existing topic without a customer managed key
	groups      map[string]*string
	restoreRole string
	// execRole is the CloudFormation execution role of B's workload stack,
	// the only role dr-stack may pass.
	execRole string
}

// scope is where DR state machines and Lambdas may reach, per IAM service:
// resources of this deployment only, by their deterministic names. Reads
// may reach both regions (failback compares and copies them); what
// deletes, reconfigures or restores reaches B only, since the DR machinery
// is B's: P's data is written only by the grants that exist to write it
// (dr-copyback's objects, dr-merge's aggregates) and restores only read
// P's table.
func (c drContext) scope() Scope {
	n, P, B, acct := c.names, c.cfg.PrimaryRegion, c.cfg.BackupRegion, c.cfg.Account
	both := []string{P, B}
	each := func(format string) []string {
		var out []string
		for _, r := range both {
			out = append(out, fmt.Sprintf(format, r))
		}
		return out
	}
	var s3, s3Primary []string
	for _, r := range both {
		for _, k := range dataKinds {
			s3 = append(s3, n.BucketARN(k, r), n.BucketARN(k, r)+"/*")
		}
	}
	for _, k := range dataKinds {
		s3Primary = append(s3Primary, n.BucketARN(k, P)+"/*")
	}
	var glue []string
	for _, r := range both {
		glue = append(glue,
			fmt.Sprintf("arn:aws:glue:%s:%s:catalog", r, acct),
			fmt.Sprintf("arn:aws:glue:%s:%s:database/%s", r, acct, n.GlueDatabase()),
			fmt.Sprintf("arn:aws:glue:%s:%s:table/%s/*", r, acct, n.GlueDatabase()))
	}
	s := Scope{
		// B's aggregates table, the one failover restores and failback
		// removes; machines narrow it further (drMachineScope).
		"dynamodb":       {n.TableARN(B, n.AggregatesTable())},
		"cloudformation": each("arn:aws:cloudformation:%s:" + acct + ":stack/" + n.Prefix + "-workload-%[1]s/*"),
		// Only B's workload stack is ever updated (activated, deactivated).
		"cloudformation:UpdateStack": {fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/*", B, acct, n.Stack("workload", B))},
		// Restores run in B from the copies in B's vault.
		"backup": {
			n.BackupVaultARN(B),
			fmt.Sprintf("arn:aws:backup:%s:%s:recovery-point:*", B, acct),
		},
		"globalaccelerator": {c.accARN, c.accARN + "/*"},
		"glue":              glue,
		"s3":                s3,
		// Objects are written only to P (failback's copy-back).
		"s3:PutObject":        s3Primary,
		"s3:PutObjectTagging": s3Primary,
		"sns":                 {*c.topic.TopicArn()},
		"lambda": append(each("arn:aws:lambda:%s:"+acct+":function:"+n.Prefix+"-*"),
			each("arn:aws:lambda:%s:"+acct+":event-source-mapping:*")...),
		"states": {
			fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s-*", B, acct, n.Prefix),
			fmt.Sprintf("arn:aws:states:%s:%s:execution:%s-*", B, acct, n.Prefix),
		},
		"events":     {fmt.Sprintf("arn:aws:events:%s:%s:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule", B, acct)},
		"cloudwatch": {fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s-*", B, acct, n.Prefix)},
		"kinesis":    each("arn:aws:kinesis:%s:" + acct + ":stream/" + n.Stream()),
		"ssm":        each("arn:aws:ssm:%s:" + acct + ":parameter/" + n.Prefix + "/*"),
		// The only role a DR state machine passes: restore jobs run as
		// the restore role (passed to AWS Backup only).
		"iam": {c.restoreRole},
	}
	// The topic's key, when it has a customer managed one.
	if c.key != nil {
		s["kms"] = []string{*c.key.KeyArn()}
	}
	return s
}

// failbackScope is the failback bucket in B and its failback/ folder,
// where failback's Map Runs write their results and its passes their done
// markers: [bucket ARN, folder objects ARN].
func (c drContext) failbackScope() []string {
	arn := "arn:aws:s3:::" + c.names.FailbackBucket(c.cfg.BackupRegion)
	return []string{arn, arn + "/" + dr.FailbackResultsFolder + "*"}
}

// failbackEnv is the failback pass steps' environment (dr-copyback,
// dr-merge): the failback bucket and the Distributed Maps' batching.
func failbackEnv(c drContext) map[string]string {
	return map[string]string{
		dr.EnvFailbackBucket:         c.names.FailbackBucket(c.cfg.BackupRegion),
		dr.EnvFailbackBatchItems:     strconv.Itoa(c.cfg.FailbackBatchItems),
		dr.EnvFailbackMaxConcurrency: strconv.Itoa(c.cfg.FailbackMaxConcurrency),
	}
}

// machineScope is the scope of the named DR state machine: the DR scope
// with DynamoDB confined to the tables that machine works on.
func (c drContext) machineScope(machine string) Scope {
	s := c.scope()
	n, P, B := c.names, c.cfg.PrimaryRegion, c.cfg.BackupRegion
	// A point-in-time restore is authorized on its source table (P's), which
	// it only reads; the restored table's writes are on the target (B's).
	source := []string{n.TableARN(P, n.AggregatesTable())}
	switch machine {
	case DrillMachine:
		// The isolated drill restores into, checks and deletes its own
		// drill tables, never the aggregates table B may be serving.
		s["dynamodb"] = []string{n.TableARN(B, n.AggregatesTable()+"-drill-*")}
		s["dynamodb:RestoreTableToPointInTime"] = source
	case FailoverMachine:
		s["dynamodb:RestoreTableToPointInTime"] = source
	case dr.WorkflowFailback:
		// The Distributed Maps' ItemReaders list B's raw and curated
		// buckets; their ResultWriters write the failback folder only.
		failback := c.failbackScope()
		s["s3:ListBucket"] = []string{n.BucketARN("raw", B), n.BucketARN("curated", B)}
		for _, a := range resultWriterActions {
			s[a] = []string{failback[1]}
		}
	}
	return s
}

// DRFunction is an entry of the DRFunctions table: how a functions/dr-*
// Lambda is configured and what it may do. Grants name services whose
// resources come from the DR scope, so a function reaches this
// deployment's resources only.
type DRFunction struct {
	// Services lists IAM actions by service prefix ("s3": {"s3:GetObject"}).
	// Each service's actions are granted on that service's DR scope; actions
	// in UnscopedActions on "*".
	Actions []string
	// Narrow, when set, replaces the DR scope of some services with fewer
	// resources (e.g. only the control table).
	Narrow func(c drContext) Scope
	// Conditions, when set, are the Condition blocks (operator → key →
	// values) of some actions' grants, by action.
	Conditions func(c drContext) map[string]map[string]map[string][]string
	// Publishes grants sns:Publish on the DR topic.
	Publishes bool
	// ExtraEnv adds variables to the common DR environment.
	ExtraEnv func(c drContext) map[string]string
	// TimeoutSeconds and MemoryMB size the function (defaults 30 s, 256 MB).
	TimeoutSeconds, MemoryMB float64
}

// DRFunctions is the table of known dr-* Lambdas. A functions/dr-* with no
// entry fails synth, naming it: a DR Lambda without its permissions would
// fail at the worst moment. Extend it when a DR Lambda is added.
var DRFunctions = map[string]DRFunction{
	// The DR lock: validates workflow input, keeps the control record
	// (conditional writes) and checks whether the lock holder still runs.
	"dr-control": {
		Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "states:DescribeExecution"},
		Narrow: func(c drContext) Scope {
			return Scope{
				"dynamodb": {c.names.TableARN(c.cfg.BackupRegion, c.names.ControlTable())},
				"states":   {fmt.Sprintf("arn:aws:states:%s:%s:execution:%s-*", c.cfg.BackupRegion, c.cfg.Account, c.names.Prefix)},
			}
		},
		TimeoutSeconds: 30,
	},
	// Reconciles a region's catalog against its buckets (ListObjectsV2,
	// then the partitions the catalog lacks), in either region.
	"dr-reconcile": {
		Actions:        []string{"s3:ListBucket", "glue:GetTable", "glue:BatchGetPartition", "glue:BatchCreatePartition"},
		TimeoutSeconds: 900, MemoryMB: 512,
	},
	// Copies back to P the objects B gained since failover (ListObjectsV2,
	// GetObject and HeadObject on both regions' buckets, PutObject with
	// tagging on P's), in the batches of failback's Distributed Maps; plans
	// and sums the passes in the failback bucket (its Map Runs' results,
	// the passes' done markers, under failback/).
	"dr-copyback": {
		Actions: []string{"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"},
		Narrow: func(c drContext) Scope {
			s := c.scope()
			failback := c.failbackScope()
			return Scope{
				"s3":                  append(append([]string(nil), s["s3"]...), failback...),
				"s3:PutObject":        append(append([]string(nil), s["s3:PutObject"]...), failback[1]),
				"s3:PutObjectTagging": s["s3:PutObjectTagging"],
			}
		},
		ExtraEnv:       failbackEnv,
		TimeoutSeconds: 900, MemoryMB: 1024,
	},
	// Counts in P's table the records B acknowledged: lists and reads B's
	// raw bucket (HeadObject is authorized by s3:GetObject) and applies
	// records with the aggregate Lambda's conditional TransactWriteItems (a
	// marker Put and a summary Update per record) — B's raw bucket and P's
	// table only; B's table is never read (its markers expire). A record
	// whose id P counted with other content is a conflict, recorded with
	// PutItem. Plans and sums the passes in the failback bucket, as
	// dr-copyback.
	"dr-merge": {
		Actions: []string{"s3:ListBucket", "s3:GetObject", "s3:PutObject", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		Narrow: func(c drContext) Scope {
			n, B := c.names, c.cfg.BackupRegion
			failback := c.failbackScope()
			return Scope{
				"s3":           append([]string{n.BucketARN("raw", B), n.BucketARN("raw", B) + "/*"}, failback...),
				"s3:PutObject": {failback[1]},
				"dynamodb":     {n.TableARN(c.cfg.PrimaryRegion, n.AggregatesTable())},
			}
		},
		ExtraEnv:       failbackEnv,
		TimeoutSeconds: 900, MemoryMB: 1024,
	},
	// Brings B's restored aggregates table current during failover: lists
	// and reads B's raw bucket (HeadObject is authorized by s3:GetObject),
	// reads the table's RestoreSummary and applies records with the
	// aggregate Lambda's conditional TransactWriteItems (a marker Put and a
	// summary Update per record) — B's raw bucket and B's table only.
	"dr-replay": {
		Actions: []string{"s3:ListBucket", "s3:GetObject", "dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		Narrow: func(c drContext) Scope {
			n, B := c.names, c.cfg.BackupRegion
			return Scope{
				"s3":       {n.BucketARN("raw", B), n.BucketARN("raw", B) + "/*"},
				"dynamodb": {n.TableARN(B, n.AggregatesTable())},
			}
		},
		TimeoutSeconds: 900, MemoryMB: 1024,
	},
	// Traffic switch through the accelerator's us-west-2 API; it reads the
	// serving region's ALB ARN from that workload stack's LoadBalancerArn
	// output. AddEndpoints is authorized by AddEndpoints and
	// UpdateEndpointGroup.
	"dr-traffic": {
		Actions: []string{
			"globalaccelerator:DescribeEndpointGroup", "globalaccelerator:UpdateEndpointGroup",
			"globalaccelerator:AddEndpoints", "cloudformation:DescribeStacks",
		},
		TimeoutSeconds: 120,
	},
	// Lists recovery points in B's vault (the restore fallback when a
	// cross-region PITR restore cannot run).
	"dr-restore": {
		Actions: []string{"backup:ListRecoveryPointsByBackupVault"},
		Narrow: func(c drContext) Scope {
			return Scope{"backup": {c.names.BackupVaultARN(c.cfg.BackupRegion)}}
		},
		TimeoutSeconds: 60,
	},
	// Activates or deactivates B's workload stack (UpdateStack with the
	// previous template and the Active/ConsumerEnabled parameters), and
	// reads either region's (DescribeStacks). The update runs as the
	// stack's own execution role, which dr-stack passes as RoleARN: the
	// cloudformation:RoleArn condition refuses an update without it, which
	// CloudFormation would run as the role the stack was last deployed
	// with (the CDK's admin execution role).
	"dr-stack": {
		Actions: []string{"cloudformation:DescribeStacks", "cloudformation:UpdateStack", "iam:PassRole", "ssm:GetParameters", "ssm:GetParameter"},
		Narrow: func(c drContext) Scope {
			return Scope{
				"iam": {c.execRole},
				// The caller of an update resolves the template's SSM
				// parameter types: the CDK's BootstrapVersion.
				"ssm": {fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/cdk-bootstrap/hnb659fds/version", c.cfg.BackupRegion, c.cfg.Account)},
			}
		},
		Conditions: func(c drContext) map[string]map[string]map[string][]string {
			return map[string]map[string]map[string][]string{
				"cloudformation:UpdateStack": {"StringEquals": {"cloudformation:RoleArn": {c.execRole}}},
				"iam:PassRole":               {"StringEquals": {"iam:PassedToService": {"cloudformation.amazonaws.com"}}},
			}
		},
		ExtraEnv: func(c drContext) map[string]string {
			return map[string]string{recovery.EnvBackupStackRoleARN: c.execRole}
		},
		TimeoutSeconds: 60,
	},
	// Probes an endpoint (through the accelerator) and reads the canary's
	// EndpointHealthy statistics (GetMetricStatistics has no resource-level
	// permissions).
	"dr-probe": {Actions: []string{"cloudwatch:GetMetricStatistics"}, TimeoutSeconds: 300},
	// Decides whether a region is drained from CloudWatch statistics
	// (ingest's accepted records, the consumer's iterator age) in that
	// region; GetMetricStatistics has no resource-level permissions.
	"dr-drain": {Actions: []string{"cloudwatch:GetMetricStatistics"}, TimeoutSeconds: 60},
	// The isolated drill's checks, read-only: the restored drill table in B
	// against P's table, replicas in B for P's objects, B's catalog.
	// It also judges the newest backup copy in B's vault as the readiness
	// check does (recoveryPointEnv).
	"dr-verify": {
		Actions: []string{"dynamodb:Scan", "dynamodb:GetItem", "s3:ListBucket", "glue:GetTable", "glue:BatchGetPartition", "backup:ListRecoveryPointsByBackupVault"},
		Narrow: func(c drContext) Scope {
			n := c.names
			return Scope{
				"dynamodb": {
					n.TableARN(c.cfg.PrimaryRegion, n.AggregatesTable()),
					n.TableARN(c.cfg.BackupRegion, n.AggregatesTable()+"-drill-*"),
				},
				"backup": {n.BackupVaultARN(c.cfg.BackupRegion)},
			}
		},
		ExtraEnv:       recoveryPointEnv,
		TimeoutSeconds: 900, MemoryMB: 512,
	},
	// Builds the DR report from the execution history, records it on the
	// control record and publishes its figures as CloudWatch metrics.
	"dr-report": {
		Actions: []string{"states:GetExecutionHistory", "dynamodb:GetItem", "dynamodb:PutItem", "cloudwatch:PutMetricData"},
		Narrow: func(c drContext) Scope {
			return Scope{
				"dynamodb": {c.names.TableARN(c.cfg.BackupRegion, c.names.ControlTable())},
				"states":   {fmt.Sprintf("arn:aws:states:%s:%s:execution:%s-*", c.cfg.BackupRegion, c.cfg.Account, c.names.Prefix)},
			}
		},
		// PutMetricData has no resource; the namespace (pkg/dr's
		// MetricNamespace) is what confines it.
		Conditions: func(drContext) map[string]map[string]map[string][]string {
			return map[string]map[string]map[string][]string{
				"cloudwatch:PutMetricData": {"StringEquals": {"cloudwatch:namespace": {MetricNamespace}}},
			}
		},
		TimeoutSeconds: 60,
	},
}

// env is the common DR environment plus the entry's extras.
func (d DRFunction) env(c drContext) map[string]string {
	n := c.names
	e := map[string]string{
		dr.EnvPrimaryRegion:           c.cfg.PrimaryRegion,
		dr.EnvBackupRegion:            c.cfg.BackupRegion,
		dr.EnvGlobalRegion:            GlobalRegion,
		dr.EnvNamePrefix:              n.Prefix,
		dr.EnvControlTable:            n.ControlTable(),
		dr.EnvAggregatesTable:         n.AggregatesTable(),
		dr.EnvGlueDatabase:            n.GlueDatabase(),
		dr.EnvPrimaryRawBucket:        n.Bucket("raw", c.cfg.PrimaryRegion),
		dr.EnvPrimaryCuratedBucket:    n.Bucket("curated", c.cfg.PrimaryRegion),
		dr.EnvBackupRawBucket:         n.Bucket("raw", c.cfg.BackupRegion),
		dr.EnvBackupCuratedBucket:     n.Bucket("curated", c.cfg.BackupRegion),
		dr.EnvAcceleratorARN:          c.accARN,
		dr.EnvPrimaryEndpointGroupARN: *c.groups[c.cfg.PrimaryRegion],
		dr.EnvBackupEndpointGroupARN:  *c.groups[c.cfg.BackupRegion],
		dr.EnvLoadBalancerName:        n.LoadBalancer(),
		dr.EnvTopicARN:                *c.topic.TopicArn(),
	}
	if d.ExtraEnv != nil {
		for k, v := range d.ExtraEnv(c) {
			e[k] = v
		}
	}
	return e
}

// grants turns the entry's actions into permissions on the DR scope, each
// action under its Conditions. An action that has conditions gets a grant
// of its own, so they narrow nothing else.
func (d DRFunction) grants(c drContext) []Permission {
	scope := c.scope()
	if d.Narrow != nil {
		narrow := d.Narrow(c)
		// A narrowed service drops the DR scope's per-action entries; the
		// narrowing's own per-action entries then apply.
		for svc, res := range narrow {
			if strings.Contains(svc, ":") {
				continue
			}
			scope[svc] = res
			for k := range scope {
				if strings.HasPrefix(k, svc+":") {
					delete(scope, k)
				}
			}
		}
		for k, res := range narrow {
			if strings.Contains(k, ":") {
				scope[k] = res
			}
		}
	}
	var conds map[string]map[string]map[string][]string
	if d.Conditions != nil {
		conds = d.Conditions(c)
	}
	var plain []string
	for _, a := range d.Actions {
		if _, ok := conds[a]; !ok {
			plain = append(plain, a)
		}
	}
	out, err := group(plain, scope)
	if err != nil {
		// A programming error in the table itself; tests catch it.
		panic(fmt.Sprintf("DRFunctions: %v", err))
	}
	for _, a := range d.Actions {
		cond, ok := conds[a]
		if !ok {
			continue
		}
		res := []string{"*"}
		if !UnscopedActions[a] {
			r, ok := scope.resources(a)
			if !ok {
				panic(fmt.Sprintf("DRFunctions: action %s has no DR scope", a))
			}
			res = r
		}
		out = append(out, Permission{Actions: []string{a}, Resources: res, Conditions: cond})
	}
	return out
}
