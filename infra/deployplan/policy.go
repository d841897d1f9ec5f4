package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
)

// The deployer's policy: what the identity running `make deploy`, `make
// diff` and `make verify-deploy` needs with its own credentials. The CDK
// CLI does the deployment as the bootstrap roles of each environment
// (docs/aws-facts.md "CDK bootstrap"): it assumes the deploy role for
// CloudFormation (which deploys as the CloudFormation execution role the
// deploy role passes), the file-publishing role to upload assets to the
// staging bucket, and the lookup role to read deployed templates for
// `cdk diff`. What it reads before it has a role (the bootstrap version
// parameter, a stack's status and template, the staging bucket's
// location) is read-only. `make bootstrap` is not covered: bootstrapping
// creates IAM roles and is an administrator's one-time task.

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Policy.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// DeployerActions are every action the deployer's policy may grant.
var DeployerActions = map[string]bool{
	"sts:AssumeRole":                     true,
	"ssm:GetParameter":                   true,
	"cloudformation:DescribeStacks":      true,
	"cloudformation:GetTemplate":         true,
	"s3:GetBucketLocation":               true,
	"s3:ListBucket":                      true,
	"lambda:InvokeFunction":              true,
	"cloudformation:DescribeStackEvents": true,
}

var (
	roleARNRE = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:iam::([0-9]{12}):role/cdk-([A-Za-z0-9_-]{1,10})-deploy-role-([0-9]{12})-([a-z0-9-]+)$`)
	paramRE   = regexp.MustCompile(`^/cdk-bootstrap/([A-Za-z0-9_-]{1,10})/version$`)
)

// bootstrapRoles are an environment's roles the CLI assumes, by the
// bootstrap template's naming (cdk-QUALIFIER-KIND-ACCOUNT-REGION), the
// deploy role's as the manifest names it.
func bootstrapRoles(s assembly.Stack) ([]string, string, error) {
	m := roleARNRE.FindStringSubmatch(s.DeployRoleARN)
	if m == nil || m[1] != s.Account || m[3] != s.Account || m[4] != s.Region {
		return nil, "", fmt.Errorf("stack %s: deploy role %q is not the default bootstrap's deploy role of aws://%s/%s", s.Name, s.DeployRoleARN, s.Account, s.Region)
	}
	q := m[2]
	var out []string
	for _, kind := range []string{"deploy-role", "file-publishing-role", "lookup-role"} {
		out = append(out, fmt.Sprintf("arn:aws:iam::%s:role/cdk-%s-%s-%s-%s", s.Account, q, kind, s.Account, s.Region))
	}
	if want := strings.ReplaceAll(s.LookupRoleARN, "${AWS::Partition}", "aws"); want != "" && want != out[2] {
		return nil, "", fmt.Errorf("stack %s: lookup role %q is not %s", s.Name, s.LookupRoleARN, out[2])
	}
	if p := paramRE.FindStringSubmatch(s.BootstrapVersionParameter); p == nil || p[1] != q {
		return nil, "", fmt.Errorf("stack %s: bootstrap version parameter %q is not qualifier %s's", s.Name, s.BootstrapVersionParameter, q)
	}
	return out, q, nil
}

// deployerPolicy is the policy of the identity that deploys a.
func deployerPolicy(a *assembly.Assembly) (Policy, error) {
	var roles, params, stacks, buckets, objects []string
	seen := map[string]bool{}
	add := func(list *[]string, v string) {
		if !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	for _, s := range a.Stacks {
		rs, q, err := bootstrapRoles(s)
		if err != nil {
			return Policy{}, err
		}
		for _, r := range rs {
			add(&roles, r)
		}
		add(&params, fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", s.Region, s.Account, s.BootstrapVersionParameter))
		add(&stacks, fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/*", s.Region, s.Account, s.Name))
		bucket := fmt.Sprintf("arn:aws:s3:::cdk-%s-assets-%s-%s", q, s.Account, s.Region)
		add(&buckets, bucket)
		_ = objects
	}
	fn, region, err := readinessFunction(a)
	if err != nil {
		return Policy{}, err
	}
	for _, l := range [][]string{roles, params, stacks, buckets} {
		sort.Strings(l)
	}
	return Policy{Version: "2012-10-17", Statement: []Statement{
		{Sid: "AssumeTheBootstrapRoles", Effect: "Allow", Action: []string{"sts:AssumeRole"}, Resource: roles},
		{Sid: "ReadTheBootstrapVersion", Effect: "Allow", Action: []string{"ssm:GetParameter"}, Resource: params},
		{Sid: "ReadTheAppsStacks", Effect: "Allow", Action: []string{"cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks", "cloudformation:GetTemplate"}, Resource: stacks},
		{Sid: "LocateTheStagingBuckets", Effect: "Allow", Action: []string{"s3:GetBucketLocation", "s3:ListBucket"}, Resource: buckets},
		{Sid: "VerifyTheDeployment", Effect: "Allow", Action: []string{"lambda:InvokeFunction"},
			Resource: []string{fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, a.Stacks[0].Account, fn)}},
	}}, nil
}
