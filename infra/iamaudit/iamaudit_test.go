package iamaudit

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
)

// The snapshots `make snapshot` keeps of the synthesized templates: the
// policies these tests read are exactly the ones `cdk deploy` would create,
// in both configurations: cdk.json's, and the backup region made the
// primary with a new backup region (cdk.out.new-primary).
const snapshot = "../../pkg/assembly/testdata/cdk.out"

// installation is a snapshot and its regions. A role belongs to the region
// of the stack that defines it: every role of the Recovery stack is B's
// (the DR machinery runs in B), the Data and Workload stacks' roles their
// region's, and the Global stack's (us-west-2) belong to neither, so both
// P and B are "other" regions to them.
type installation struct {
	dir             string
	primary, backup string
}

var installations = []installation{
	{snapshot, "us-east-1", "us-east-2"},
	{snapshot + assembly.NewPrimarySuffix, "us-east-2", "us-west-1"},
}

// cdk.json's regions (the checks of hand-made grants use them).
const (
	primary = "us-east-1"
	backup  = "us-east-2"
)

// onlyStar are the actions that support no resource-level permissions, the
// only ones a policy may grant on Resource "*". Each is listed with no
// resource type in the Service Authorization Reference
// (https://docs.aws.amazon.com/service-authorization/latest/reference/):
var onlyStar = map[string]bool{
	// list_amazoncloudwatch.html: metric data and statistics have no
	// resource type; PutMetricData is narrowed by cloudwatch:namespace.
	"cloudwatch:PutMetricData":       true,
	"cloudwatch:GetMetricStatistics": true,
	"cloudwatch:GetMetricData":       true,
	// list_awsx-ray.html: trace and telemetry uploads, sampling reads.
	"xray:PutTraceSegments":    true,
	"xray:PutTelemetryRecords": true,
	"xray:GetSamplingRules":    true,
	"xray:GetSamplingTargets":  true,
	// list_amazoncloudwatchlogs.html: the vended-log delivery actions
	// Step Functions logging needs, which the Step Functions Developer Guide
	// (cw-logs.html, "IAM policies for logging to CloudWatch Logs") grants
	// on "*" because they support no resource-level permissions.
	"logs:CreateLogDelivery":        true,
	"logs:GetLogDelivery":           true,
	"logs:UpdateLogDelivery":        true,
	"logs:DeleteLogDelivery":        true,
	"logs:ListLogDeliveries":        true,
	"logs:PutResourcePolicy":        true,
	"logs:DescribeResourcePolicies": true,
	"logs:DescribeLogGroups":        true,
	// list_awsbackup.html: DescribeRestoreJob has no resource type.
	"backup:DescribeRestoreJob": true,
	// list_amazonec2.html: the Describe* actions have no resource type.
	"ec2:DescribeSecurityGroups":    true,
	"ec2:DescribeSubnets":           true,
	"ec2:DescribeVpcs":              true,
	"ec2:DescribeAccountAttributes": true,
	"ec2:DescribeInternetGateways":  true,
	"ec2:DescribeNetworkInterfaces": true,
	// list_elasticloadbalancingv2.html: the Describe* actions have no
	// resource type.
	"elasticloadbalancing:DescribeLoadBalancers":          true,
	"elasticloadbalancing:DescribeLoadBalancerAttributes": true,
	"elasticloadbalancing:DescribeListeners":              true,
	"elasticloadbalancing:DescribeTargetGroups":           true,
	"elasticloadbalancing:DescribeTargetGroupAttributes":  true,
	"elasticloadbalancing:DescribeTargetHealth":           true,
	"elasticloadbalancing:DescribeRules":                  true,
	"elasticloadbalancing:DescribeTags":                   true,
	// list_awslambda.html: CreateEventSourceMapping and
	// ListEventSourceMappings have no resource type (the former is
	// narrowed by lambda:FunctionArn).
	"lambda:CreateEventSourceMapping": true,
	"lambda:ListEventSourceMappings":  true,
}

// dataStores are the services whose Delete*, Update*, Put* and Restore*
// actions destroy or rewrite data (CloudFormation included: a stack update
// can replace or delete the tables, streams and buckets it holds).
var dataStores = map[string]bool{
	"dynamodb": true, "s3": true, "glue": true, "kinesis": true, "firehose": true,
	"backup": true, "sqs": true, "ssm": true, "cloudformation": true,
}

// crossRegion are the destructive grants to another region's data that the
// design needs, each with why: failback's purpose is to bring B's data back
// to P. The key is role logical ID, action, resource, with {P} for the
// primary region.
var crossRegion = map[string]string{
	// dr-merge counts in P's table the records B acknowledged while failed
	// over (conditional TransactWriteItems: PutItem and UpdateItem on the
	// one table, per the DynamoDB API reference's TransactWriteItems page).
	"DrMergeRole dynamodb:PutItem arn:aws:dynamodb:{P}:111111111111:table/pendulum-aggregates":    "failback counts B's records in P's table",
	"DrMergeRole dynamodb:UpdateItem arn:aws:dynamodb:{P}:111111111111:table/pendulum-aggregates": "failback counts B's records in P's table",
	// dr-copyback writes to P the objects B's buckets gained since failover.
	"DrCopybackRole s3:PutObject arn:aws:s3:::pendulum-raw-111111111111-{P}/*":            "failback copies B's new raw objects to P",
	"DrCopybackRole s3:PutObject arn:aws:s3:::pendulum-curated-111111111111-{P}/*":        "failback copies B's new curated objects to P",
	"DrCopybackRole s3:PutObjectTagging arn:aws:s3:::pendulum-raw-111111111111-{P}/*":     "the copies keep their tags",
	"DrCopybackRole s3:PutObjectTagging arn:aws:s3:::pendulum-curated-111111111111-{P}/*": "the copies keep their tags",
	// A point-in-time restore is authorized on its source table (DynamoDB
	// Developer Guide, "Using IAM with point-in-time recovery"); it reads
	// P's table and creates a new table in B, leaving the source unchanged.
	"FailoverRole dynamodb:RestoreTableToPointInTime arn:aws:dynamodb:{P}:111111111111:table/pendulum-aggregates": "restores P's table into B (the source is only read)",
	"DrillRole dynamodb:RestoreTableToPointInTime arn:aws:dynamodb:{P}:111111111111:table/pendulum-aggregates":    "restores P's table into a drill table in B (the source is only read)",
}

// knownFindings are violations the templates still have, each accepted
// with its reason; the test requires the findings to be exactly these, so
// a fixed one must be removed and a new one fails.
var knownFindings = []string{}

// TestPoliciesAreLeastPrivilege reads every synthesized policy and fails on
// PassRole beyond the roles this app passes, destructive grants that reach
// the other region, "*" resources on actions that support resource-level
// permissions, and missing conditions AWS offers for the granted actions.
func TestPoliciesAreLeastPrivilege(t *testing.T) {
	for _, in := range installations {
		t.Run(in.dir[strings.LastIndex(in.dir, "/")+1:], func(t *testing.T) { checkLeastPrivilege(t, in) })
	}
}

func checkLeastPrivilege(t *testing.T, in installation) {
	audit := read(t, in.dir)
	got := FindingsIn(audit, in.primary, in.backup)
	for _, f := range got {
		t.Log(f)
	}
	want := slices.Clone(knownFindings)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		var added, fixed []string
		for _, f := range got {
			if !slices.Contains(want, f) {
				added = append(added, f)
			}
		}
		for _, f := range want {
			if !slices.Contains(got, f) {
				fixed = append(fixed, f)
			}
		}
		t.Errorf("IAM findings differ from knownFindings:\nnew (%d):\n  %s\nno longer found (remove from knownFindings) (%d):\n  %s",
			len(added), strings.Join(added, "\n  "), len(fixed), strings.Join(fixed, "\n  "))
	}
}

// TestChecksCatchEscalation feeds the checks the grants the security
// review found, so the checks themselves cannot silently stop failing.
func TestChecksCatchEscalation(t *testing.T) {
	b := &Role{Stack: "pendulum-recovery-us-east-2", Region: backup, LogicalID: "DrStackRole", ARN: "arn:aws:iam::111111111111:role/x"}
	restore := &Role{Stack: "pendulum-recovery-us-east-2", Region: backup, LogicalID: "BackupRestoreRole",
		ARN: "arn:aws:iam::111111111111:role/pendulum-backup-restore-us-east-2", TrustedServices: []string{"backup.amazonaws.com"}}
	cases := map[string]Grant{
		"passrole-cdk": {Role: b, Effect: "Allow", Actions: []string{"iam:PassRole"},
			Resources: []string{"arn:aws:iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-us-east-2"}},
		"passrole-no-condition": {Role: b, Effect: "Allow", Actions: []string{"iam:PassRole"}, Resources: []string{restore.ARN}},
		"passrole-wrong-service": {Role: b, Effect: "Allow", Actions: []string{"iam:PassRole"}, Resources: []string{restore.ARN},
			Conditions: map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"lambda.amazonaws.com"}}}},
		"passrole-star": {Role: b, Effect: "Allow", Actions: []string{"iam:*"}, Resources: []string{"*"}},
		"delete-p-table": {Role: b, Effect: "Allow", Actions: []string{"dynamodb:DeleteTable"},
			Resources: []string{"arn:aws:dynamodb:*:111111111111:table/pendulum-*"}},
		"update-p-bucket": {Role: b, Effect: "Allow", Actions: []string{"s3:PutBucketPolicy"},
			Resources: []string{"arn:aws:s3:::pendulum-raw-111111111111-us-east-1"}},
		"star":                {Role: b, Effect: "Allow", Actions: []string{"dynamodb:GetItem"}, Resources: []string{"*"}},
		"metric-no-namespace": {Role: b, Effect: "Allow", Actions: []string{"cloudwatch:PutMetricData"}, Resources: []string{"*"}},
		"update-stack-no-role": {Role: b, Effect: "Allow", Actions: []string{"cloudformation:UpdateStack"},
			Resources: []string{"arn:aws:cloudformation:us-east-2:111111111111:stack/pendulum-workload-us-east-2/*"}},
	}
	for name, g := range cases {
		if f := Findings(&Audit{Roles: []*Role{b, restore}, Grants: []Grant{g}}); len(f) == 0 {
			t.Errorf("%s: no finding for %+v", name, g)
		}
	}
	ok := Grant{Role: b, Effect: "Allow", Actions: []string{"iam:PassRole"}, Resources: []string{restore.ARN},
		Conditions: map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"backup.amazonaws.com"}}}}
	if f := Findings(&Audit{Roles: []*Role{b, restore}, Grants: []Grant{ok}}); len(f) != 0 {
		t.Errorf("PassRole of the restore role to AWS Backup: %v", f)
	}
}

func read(t *testing.T, dir string) *Audit {
	t.Helper()
	a, err := assembly.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := Read(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit.Grants) == 0 {
		t.Fatal("no policy statements read")
	}
	return audit
}

// Findings checks every Allow statement of an installation in cdk.json's
// regions; the result is sorted.
func Findings(a *Audit) []string { return FindingsIn(a, primary, backup) }

// FindingsIn checks every Allow statement of an installation whose
// primary and backup regions are P and B; the result is sorted.
func FindingsIn(a *Audit, P, B string) []string {
	roles := map[string]*Role{}
	for _, r := range a.Roles {
		roles[r.ARN] = r
	}
	var out []string
	add := func(g Grant, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s/%s: %s", g.Role.Stack, g.Role.LogicalID, fmt.Sprintf(format, args...)))
	}
	for _, g := range a.Grants {
		if g.Effect != "Allow" {
			continue
		}
		if g.NotAction || g.NotResource {
			add(g, "NotAction/NotResource statement in %s", g.Policy)
			continue
		}
		for _, act := range g.Actions {
			if matches(act, "iam:PassRole") {
				passed := g.Conditions["StringEquals"]["iam:PassedToService"]
				if len(passed) == 0 {
					add(g, "iam:PassRole without an iam:PassedToService condition")
				}
				for _, res := range g.Resources {
					r, ours := roles[res]
					switch {
					case !ours:
						add(g, "iam:PassRole on %s, not a role this app creates", res)
					case len(passed) > 0:
						for _, svc := range passed {
							if !slices.Contains(r.TrustedServices, svc) {
								add(g, "iam:PassRole of %s to %s, which the role does not trust", res, svc)
							}
						}
					}
				}
			}
			for _, res := range g.Resources {
				if res == "*" && !onlyStar[act] {
					add(g, "%s on \"*\" (it supports resource-level permissions)", act)
				}
			}
			if matches(act, "cloudwatch:PutMetricData") && len(g.Conditions["StringEquals"]["cloudwatch:namespace"]) == 0 {
				add(g, "cloudwatch:PutMetricData without a cloudwatch:namespace condition")
			}
			if matches(act, "cloudformation:UpdateStack") || matches(act, "cloudformation:CreateStack") {
				// Without it CloudFormation runs the update as the role
				// the stack last had (the CDK's admin execution role)
				// whatever iam:PassRole allows.
				arns := g.Conditions["StringEquals"]["cloudformation:RoleArn"]
				if len(arns) == 0 {
					add(g, "%s without a cloudformation:RoleArn condition", act)
				}
				for _, arn := range arns {
					if _, ours := roles[arn]; !ours {
						add(g, "%s with execution role %s, not a role this app creates", act, arn)
					}
				}
			}
			if !destructive(act) {
				continue
			}
			for _, res := range g.Resources {
				for _, other := range []string{P, B} {
					if other == g.Role.Region || !covers(g, res, other, P, B) {
						continue
					}
					if _, ok := crossRegion[strings.ReplaceAll(baseID(g.Role.LogicalID)+" "+act+" "+res, P, "{P}")]; ok && other == P {
						continue
					}
					add(g, "%s on %s reaches %s, not the role's region %s", act, res, other, g.Role.Region)
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// baseID strips the 8-hex-digit hash the CDK appends to logical IDs
// (DrMergeRole8928E6CF → DrMergeRole).
func baseID(id string) string {
	if len(id) > 8 {
		tail := id[len(id)-8:]
		if strings.IndexFunc(tail, func(r rune) bool { return !isUpperHex(r) }) < 0 {
			return id[:len(id)-8]
		}
	}
	return id
}

func isUpperHex(r rune) bool { return r >= '0' && r <= '9' || r >= 'A' && r <= 'F' }

// matches reports whether a policy action pattern covers action.
func matches(pattern, action string) bool {
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(action))
	return err == nil && ok
}

// destructive is a data-store action that deletes, rewrites or restores.
func destructive(act string) bool {
	svc, name, _ := strings.Cut(act, ":")
	if act == "*" {
		return true
	}
	if !dataStores[svc] {
		return false
	}
	// A pattern ("Put*", "*Item") is destructive if it covers such an action.
	for _, verb := range []string{"Delete", "Update", "Put", "Restore"} {
		for _, noun := range []string{"", "Item", "Object", "Table", "Stack"} {
			if matches(name, verb+noun) || strings.HasPrefix(name, verb) {
				return true
			}
		}
	}
	return false
}

// covers reports whether resource may name something in region: by the
// ARN's region field (a wildcard covers every region), for S3 by the region
// in the bucket name (a bucket pattern or a name without a region covers
// every region), placeholders of the role's own template by the stack's
// region. A StringEquals aws:RequestedRegion condition narrows all of it.
func covers(g Grant, res, region, P, B string) bool {
	if rr := g.Conditions["StringEquals"]["aws:RequestedRegion"]; len(rr) > 0 && !slices.Contains(rr, region) {
		return false
	}
	if strings.HasPrefix(res, "{") {
		return region == g.Role.Region
	}
	parts := strings.SplitN(res, ":", 6)
	if len(parts) < 6 {
		return true
	}
	if parts[2] == "s3" {
		bucket, _, _ := strings.Cut(parts[5], "/")
		if strings.Contains(bucket, "*") || strings.Contains(bucket, "?") {
			return true
		}
		return strings.Contains(bucket, region) || !strings.Contains(bucket, P) && !strings.Contains(bucket, B)
	}
	if parts[3] == "" {
		return true
	}
	return matches(parts[3], region)
}
