package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Scope is where a DR state machine's or Lambda's permissions may reach:
// resource ARN patterns per IAM service prefix, all built from deterministic
// names (plus the accelerator ARN read at deploy time). A key naming a
// whole action ("dynamodb:DeleteTable") overrides its service's entry for
// that action, so a destructive action can be confined to fewer resources
// than the reads of the same service.
type Scope map[string][]string

// resources is where scope lets action reach, and whether it says at all.
func (s Scope) resources(action string) ([]string, bool) {
	if r, ok := s[action]; ok {
		return r, true
	}
	svc, _, _ := strings.Cut(action, ":")
	r, ok := s[svc]
	return r, ok
}

// UnscopedActions are the IAM actions whose APIs support no resource-level
// permissions: only they may be granted on Resource "*". The IAM test
// allows "*" for these and nothing else.
var UnscopedActions = map[string]bool{
	"cloudwatch:PutMetricData":                   true,
	"cloudwatch:GetMetricData":                   true,
	"cloudwatch:GetMetricStatistics":             true,
	"cloudwatch:ListMetrics":                     true,
	"elasticloadbalancing:DescribeLoadBalancers": true,
	"elasticloadbalancing:DescribeTargetGroups":  true,
	"elasticloadbalancing:DescribeTargetHealth":  true,
	"elasticloadbalancing:DescribeListeners":     true,
	"backup:DescribeRestoreJob":                  true,
	"backup:ListRestoreJobs":                     true,
	"backup:ListBackupJobs":                      true,
	"backup:DescribeCopyJob":                     true,
	"dynamodb:ListTables":                        true,
	"dynamodb:ListBackups":                       true,
	"dynamodb:DescribeLimits":                    true,
	"lambda:ListEventSourceMappings":             true,
	"lambda:GetEventSourceMapping":               true,
	"globalaccelerator:ListAccelerators":         true,
	"cloudformation:ListStacks":                  true,
	"s3:ListAllMyBuckets":                        true,
	"states:ListStateMachines":                   true,
	"xray:PutTraceSegments":                      true,
	"xray:PutTelemetryRecords":                   true,
	"xray:GetSamplingRules":                      true,
	"xray:GetSamplingTargets":                    true,
	"logs:CreateLogDelivery":                     true,
	"logs:GetLogDelivery":                        true,
	"logs:UpdateLogDelivery":                     true,
	"logs:DeleteLogDelivery":                     true,
	"logs:ListLogDeliveries":                     true,
	"logs:PutResourcePolicy":                     true,
	"logs:DescribeResourcePolicies":              true,
	"logs:DescribeLogGroups":                     true,
	"ssm:DescribeParameters":                     true,
	// The reads and the consumer mapping of the workload execution role
	// (infra/execrole.go): no resource type in the Service Authorization
	// Reference; CreateEventSourceMapping is narrowed by lambda:FunctionArn.
	"ec2:DescribeAccountAttributes":                       true,
	"ec2:DescribeInternetGateways":                        true,
	"ec2:DescribeNetworkInterfaces":                       true,
	"ec2:DescribeSecurityGroups":                          true,
	"ec2:DescribeSubnets":                                 true,
	"ec2:DescribeVpcs":                                    true,
	"elasticloadbalancing:DescribeLoadBalancerAttributes": true,
	"elasticloadbalancing:DescribeRules":                  true,
	"elasticloadbalancing:DescribeTags":                   true,
	"elasticloadbalancing:DescribeTargetGroupAttributes":  true,
	"lambda:CreateEventSourceMapping":                     true,
}

// sdkServices maps a Step Functions aws-sdk service name to its IAM prefix
// where the two differ.
var sdkServices = map[string]string{
	"sfn":                    "states",
	"elasticloadbalancingv2": "elasticloadbalancing",
	"eventbridge":            "events",
	"cloudwatchevents":       "events",
}

// companions are the extra permissions some APIs need beyond their own
// action (per the service authorization reference).
var companions = map[string][]string{
	// A restore writes the new table.
	"dynamodb:RestoreTableToPointInTime": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"},
	"dynamodb:RestoreTableFromBackup":    {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"},
	// Adding endpoints updates the endpoint group.
	"globalaccelerator:AddEndpoints": {"globalaccelerator:UpdateEndpointGroup"},
}

// passesRole are the APIs that hand a role to a service, by the service
// principal it is passed to: the caller needs iam:PassRole on that role
// (the Scope's "iam" entry), granted only with iam:PassedToService naming
// that service, so the role cannot be handed to anything else.
var passesRole = map[string]string{
	// A restore job runs as the restore role.
	"backup:StartRestoreJob": "backup.amazonaws.com",
}

// Permission is one derived grant: actions on resources, under Conditions
// (operator → key → values) when set.
type Permission struct {
	Actions    []string
	Resources  []string
	Conditions map[string]map[string][]string
}

// passRole is the grant to pass the scope's roles to service.
func passRole(scope Scope, service string) Permission {
	return Permission{
		Actions:    []string{"iam:PassRole"},
		Resources:  scope["iam"],
		Conditions: map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {service}}},
	}
}

// group turns actions into permissions on scope: one per distinct resource
// set, in the order the sets first appear, and one on "*" for the
// UnscopedActions. A service the scope does not cover fails, naming it.
func group(actions []string, scope Scope) ([]Permission, error) {
	var out []Permission
	index := map[string]int{}
	var unscoped []string
	for _, a := range actions {
		if UnscopedActions[a] {
			unscoped = append(unscoped, a)
			continue
		}
		res, ok := scope.resources(a)
		if !ok {
			svc, _, _ := strings.Cut(a, ":")
			return nil, fmt.Errorf("action %s: service %q has no resource scope in infra (add it to the Recovery stack's scope)", a, svc)
		}
		key := strings.Join(res, "\n")
		i, seen := index[key]
		if !seen {
			i = len(out)
			index[key] = i
			out = append(out, Permission{Resources: res})
		}
		out[i].Actions = append(out[i].Actions, a)
	}
	if len(unscoped) > 0 {
		out = append(out, Permission{Actions: unscoped, Resources: []string{"*"}})
	}
	return out, nil
}

// The S3 actions of a Distributed Map's ItemReader and ResultWriter, which
// Step Functions calls as the state machine's role (docs/aws-facts.md
// "Step Functions Distributed Map"): listObjectsV2 lists the bucket,
// getObject reads the dataset, and the ResultWriter writes the manifest and
// result files (in parts when they are large).
var (
	itemReaderActions = map[string]string{
		"arn:aws:states:::s3:listObjectsV2": "s3:ListBucket",
		"arn:aws:states:::s3:getObject":     "s3:GetObject",
	}
	resultWriterActions = []string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
)

// TaskPermissions derives the IAM permissions a state machine's Task states
// need from its ASL document: aws-sdk integrations map to their IAM actions
// on the resources scope allows for that service; Lambda, SNS, DynamoDB and
// nested-execution integrations map to invoke/publish/item/start actions.
// A Distributed Map needs, as the machine's role, states:StartExecution on
// the machine itself (machineARN: its Map Runs start their child workflow
// executions), states:DescribeExecution and StopExecution on those
// children (a Map Run's abort and redrive), and the S3 actions of its
// ItemReader and ResultWriter on scope's resources for them.
// lambdaARNs are the functions the machine may invoke. An integration or
// service it does not know fails, naming it, so a new Task never deploys
// without its permission.
func TaskPermissions(def []byte, scope Scope, lambdaARNs []string, machineARN string) ([]Permission, error) {
	var doc map[string]any
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, fmt.Errorf("parse ASL: %w", err)
	}
	var resources []string
	collectResources(doc, &resources)
	actions := map[string]bool{}
	var maps []distributedMap
	collectDistributedMaps(doc, &maps)
	for _, m := range maps {
		for _, r := range m.readers {
			a, ok := itemReaderActions[r]
			if !ok {
				return nil, fmt.Errorf("Distributed Map %s: ItemReader resource %q has no permission mapping in infra/aslperms.go", m.name, r)
			}
			actions[a] = true
		}
		if m.writer {
			for _, a := range resultWriterActions {
				actions[a] = true
			}
		}
	}
	lambda := false
	for _, res := range resources {
		switch {
		case strings.HasPrefix(res, "arn:aws:lambda:") || strings.HasPrefix(res, "${") ||
			strings.HasPrefix(res, "arn:aws:states:::lambda:invoke"):
			lambda = true
		case strings.HasPrefix(res, "arn:aws:states:::aws-sdk:"):
			rest := strings.TrimPrefix(res, "arn:aws:states:::aws-sdk:")
			rest, _, _ = strings.Cut(rest, ".") // .waitForTaskToken
			svc, action, ok := strings.Cut(rest, ":")
			if !ok || action == "" {
				return nil, fmt.Errorf("task resource %q: want arn:aws:states:::aws-sdk:<service>:<action>", res)
			}
			if p, ok := sdkServices[svc]; ok {
				svc = p
			}
			actions[svc+":"+strings.ToUpper(action[:1])+action[1:]] = true
		case strings.HasPrefix(res, "arn:aws:states:::sns:publish"):
			actions["sns:Publish"] = true
		case strings.HasPrefix(res, "arn:aws:states:::dynamodb:"):
			a := strings.TrimPrefix(res, "arn:aws:states:::dynamodb:")
			actions["dynamodb:"+strings.ToUpper(a[:1])+a[1:]] = true
		case strings.HasPrefix(res, "arn:aws:states:::states:startExecution"):
			actions["states:StartExecution"] = true
			if strings.Contains(res, ".sync") {
				actions["states:DescribeExecution"] = true
				actions["states:StopExecution"] = true
				actions["events:PutTargets"] = true
				actions["events:PutRule"] = true
				actions["events:DescribeRule"] = true
			}
		default:
			return nil, fmt.Errorf("task resource %q: no permission mapping in infra/aslperms.go", res)
		}
	}
	for a := range actions {
		for _, c := range companions[a] {
			actions[c] = true
		}
	}
	sorted := make([]string, 0, len(actions))
	for a := range actions {
		sorted = append(sorted, a)
	}
	sort.Strings(sorted)
	out, err := group(sorted, scope)
	if err != nil {
		return nil, err
	}
	for _, a := range sorted {
		if svc, ok := passesRole[a]; ok {
			out = append(out, passRole(scope, svc))
		}
	}
	if len(maps) > 0 {
		if machineARN == "" {
			return nil, fmt.Errorf("the definition has Distributed Map states (%s) but no state machine ARN was given for their child executions", maps[0].name)
		}
		arn, _, _ := strings.Cut(machineARN, ":stateMachine:")
		name := machineARN[len(arn)+len(":stateMachine:"):]
		var children []string
		for _, m := range maps {
			children = append(children, arn+":execution:"+name+"/"+m.label+":*")
		}
		sort.Strings(children)
		out = append(out,
			Permission{Actions: []string{"states:StartExecution"}, Resources: []string{machineARN}},
			Permission{Actions: []string{"states:DescribeExecution", "states:StopExecution"}, Resources: children})
	}
	if lambda && len(lambdaARNs) > 0 {
		var res []string
		for _, a := range lambdaARNs {
			res = append(res, a, a+":*")
		}
		out = append(out, Permission{Actions: []string{"lambda:InvokeFunction"}, Resources: res})
	}
	return out, nil
}

// distributedMap is a Distributed Map state as its permissions need it.
type distributedMap struct {
	name    string
	label   string   // the Label, or "*" when Step Functions makes one up
	readers []string // the ItemReader's Resource, if any
	writer  bool     // it has a ResultWriter
}

// collectDistributedMaps gathers every Map state whose ItemProcessor runs
// in DISTRIBUTED mode, at any depth.
func collectDistributedMaps(v any, out *[]distributedMap) {
	switch x := v.(type) {
	case map[string]any:
		if states, ok := x["States"].(map[string]any); ok {
			for name, sv := range states {
				st, _ := sv.(map[string]any)
				if st == nil || st["Type"] != "Map" {
					continue
				}
				proc, _ := st["ItemProcessor"].(map[string]any)
				cfg, _ := proc["ProcessorConfig"].(map[string]any)
				if cfg["Mode"] != "DISTRIBUTED" {
					continue
				}
				m := distributedMap{name: name, label: "*"}
				if l, ok := st["Label"].(string); ok && l != "" {
					m.label = l
				}
				if r, ok := st["ItemReader"].(map[string]any); ok {
					res, _ := r["Resource"].(string)
					m.readers = append(m.readers, res)
				}
				_, m.writer = st["ResultWriter"].(map[string]any)
				*out = append(*out, m)
			}
		}
		for k, child := range x {
			if k == "Parameters" || k == "Arguments" || k == "ItemSelector" || k == "Result" {
				continue
			}
			collectDistributedMaps(child, out)
		}
	case []any:
		for _, child := range x {
			collectDistributedMaps(child, out)
		}
	}
}

// collectResources gathers every Task Resource in states, Parallel branches
// and Map iterators.
func collectResources(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		if t, _ := x["Type"].(string); t == "Task" {
			if r, ok := x["Resource"].(string); ok {
				*out = append(*out, r)
			}
		}
		for k, child := range x {
			// Parameters/Arguments hold data, not states.
			if k == "Parameters" || k == "Arguments" || k == "ItemSelector" || k == "Result" {
				continue
			}
			collectResources(child, out)
		}
	case []any:
		for _, child := range x {
			collectResources(child, out)
		}
	}
}
