package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// WorkloadExecRoleProps configures a WorkloadExecRole.
type WorkloadExecRoleProps struct {
	// Names is the installation's naming scheme.
	Names Names
	// Region is the dormant workload stack's region (B).
	Region string
}

// WorkloadExecRoleName is the execution role's name in region.
func WorkloadExecRoleName(n Names, region string) string {
	return n.Prefix + "-workload-exec-" + region
}

// NewWorkloadExecRole is the CloudFormation execution role dr-stack passes
// when it activates or deactivates the dormant workload stack: it may do
// exactly what flipping Active and ConsumerEnabled does (create and delete
// the ALB, its listener, target group and security group, the ingest
// permission for the ALB, the Kinesis stream, the Firehose delivery
// stream, the nightly schedule, the published ALB parameters; enable and
// disable the aggregate consumer) on those resources in that region, and
// pass the two roles the conditional resources run as. It has no IAM write
// access: a template submitted under it cannot create a role.
func NewWorkloadExecRole(scope constructs.Construct, id string, p WorkloadExecRoleProps) awsiam.Role {
	n, r, acct := p.Names, p.Region, p.Names.Account
	arn := func(svc, res string) string { return fmt.Sprintf("arn:aws:%s:%s:%s:%s", svc, r, acct, res) }
	role := awsiam.NewRole(scope, jsii.String(id), &awsiam.RoleProps{
		RoleName:    jsii.String(WorkloadExecRoleName(n, r)),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("cloudformation.amazonaws.com"), nil),
		Description: jsii.String("CloudFormation execution role of " + n.Stack("workload", r) + "'s activation and deactivation"),
	})
	add := func(actions []string, resources []string, cond map[string]interface{}) {
		props := &awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...)}
		if cond != nil {
			props.Conditions = &cond
		}
		role.AddToPolicy(awsiam.NewPolicyStatement(props))
	}
	inRegion := map[string]interface{}{"StringEquals": map[string]interface{}{"aws:RequestedRegion": r}}
	// Reads the handlers make; these EC2 and ELB describe calls and
	// ListEventSourceMappings support no resource-level permissions.
	add([]string{
		"ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeAccountAttributes",
		"ec2:DescribeInternetGateways", "ec2:DescribeNetworkInterfaces",
		"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
		"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetGroups",
		"elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
		"elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags",
		"lambda:ListEventSourceMappings",
	}, []string{"*"}, inRegion)
	// The ALB's security group, in the stack's VPC.
	add([]string{
		"ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
		"ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
		"ec2:CreateTags", "ec2:DeleteTags",
	}, []string{arn("ec2", "security-group/*"), arn("ec2", "vpc/*"), arn("ec2", "security-group-rule/*")}, nil)
	// The ALB, its listener and target group.
	add([]string{
		"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer",
		"elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups",
		"elasticloadbalancing:SetSubnets", "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
		"elasticloadbalancing:ModifyListener", "elasticloadbalancing:CreateTargetGroup",
		"elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyTargetGroup",
		"elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:RegisterTargets",
		"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
	}, []string{
		arn("elasticloadbalancing", "loadbalancer/app/"+n.LoadBalancer()+"/*"),
		arn("elasticloadbalancing", "listener/app/"+n.LoadBalancer()+"/*"),
		arn("elasticloadbalancing", "targetgroup/*"),
	}, nil)
	// The ALB's network interfaces are made by ELB's service-linked role,
	// created on the account's first load balancer.
	add([]string{"iam:CreateServiceLinkedRole"},
		[]string{fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing", acct)},
		map[string]interface{}{"StringEquals": map[string]interface{}{"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}})
	// The ALB's permission to invoke ingest, and the aggregate consumer.
	ingest := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", r, acct, n.Function("ingest"))
	aggregate := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", r, acct, n.Function("aggregate"))
	add([]string{"lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy", "lambda:GetFunction"},
		[]string{ingest, aggregate}, nil)
	// CreateEventSourceMapping has no resource; lambda:FunctionArn names
	// the one function it may map.
	add([]string{"lambda:CreateEventSourceMapping"}, []string{"*"},
		map[string]interface{}{"StringEquals": map[string]interface{}{"lambda:FunctionArn": aggregate, "aws:RequestedRegion": r}})
	add([]string{"lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:TagResource", "lambda:UntagResource"},
		[]string{arn("lambda", "event-source-mapping:*")}, nil)
	// The stream, the delivery stream, the schedule, the ALB parameters.
	add([]string{
		"kinesis:CreateStream", "kinesis:DeleteStream", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
		"kinesis:AddTagsToStream", "kinesis:RemoveTagsFromStream", "kinesis:ListTagsForStream",
		"kinesis:IncreaseStreamRetentionPeriod", "kinesis:DecreaseStreamRetentionPeriod",
		"kinesis:StartStreamEncryption", "kinesis:UpdateStreamMode",
	}, []string{n.StreamARN(r)}, nil)
	add([]string{
		"firehose:CreateDeliveryStream", "firehose:DeleteDeliveryStream", "firehose:DescribeDeliveryStream",
		"firehose:UpdateDestination", "firehose:TagDeliveryStream", "firehose:UntagDeliveryStream",
		"firehose:ListTagsForDeliveryStream",
	}, []string{arn("firehose", "deliverystream/"+n.DeliveryStream())}, nil)
	add([]string{"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule"},
		[]string{arn("scheduler", "schedule/default/"+n.Prefix+"-nightly-batch")}, nil)
	add([]string{"ssm:PutParameter", "ssm:DeleteParameter", "ssm:GetParameter", "ssm:GetParameters",
		"ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource"},
		publishedParameterARNs(n, arn), nil)
	// The roles Firehose and the schedule run as: each passed only to its
	// service.
	for _, pass := range []struct{ role, service string }{
		{FirehoseRoleName(n, r), "firehose.amazonaws.com"},
		{NightlyScheduleRoleName(n, r), "scheduler.amazonaws.com"},
	} {
		add([]string{"iam:PassRole"}, []string{fmt.Sprintf("arn:aws:iam::%s:role/%s", acct, pass.role)},
			map[string]interface{}{"StringEquals": map[string]interface{}{"iam:PassedToService": pass.service}})
	}
	suppress(role, map[string]string{
		"IAM5": "Resources CloudFormation names at creation, in the stack's region only: security groups and rules (security-group/*, security-group-rule/*) in the stack's VPC (vpc/*), the named ALB's and listener's IDs (loadbalancer/app/<name>/*, listener/app/<name>/*), target groups (targetgroup/*, named by CloudFormation), event-source mappings (event-source-mapping:*, UUIDs); the EC2/ELB describe calls, ListEventSourceMappings and CreateEventSourceMapping (narrowed by lambda:FunctionArn) support no resource-level permissions (\"*\", with aws:RequestedRegion).",
	})
	return role
}

// FirehoseRoleName is the role of region's Firehose delivery stream, named
// so the execution role can pass exactly it.
func FirehoseRoleName(n Names, region string) string { return n.Prefix + "-firehose-" + region }

// NightlyScheduleRoleName is the role of region's nightly schedule.
func NightlyScheduleRoleName(n Names, region string) string {
	return n.Prefix + "-nightly-schedule-" + region
}

// publishedParameterARNs are the ARNs of the parameters the workload stack
// publishes from its active part (paramsPublishedByIngress), by arn(service,
// resource) in the stack's region.
func publishedParameterARNs(n Names, arn func(svc, res string) string) []string {
	out := make([]string, 0, len(paramsPublishedByIngress))
	for _, p := range paramsPublishedByIngress {
		out = append(out, arn("ssm", "parameter"+n.Parameter(p)))
	}
	return out
}
