package local

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// bootstrapStack is the stack `cdk bootstrap` deploys in each region.
const bootstrapStack = "CDKToolkit"

// bootstrapTemplate is the part of the CDK's bootstrap template
// (aws-cdk's lib/api/bootstrap/bootstrap-template.yaml, pinned in
// tools/package.json) that the app's deployments depend on: the
// CdkBootstrapVersion parameter their BootstrapVersion parameter and
// CheckBootstrapVersion rule read, and the CloudFormation execution role
// `cdk deploy` passes for every stack of the region (the manifest's
// cloudFormationExecutionRoleArn), trusted by CloudFormation, with the
// bootstrap's default execution policy, AdministratorAccess (written out
// as its one statement: the simulator knows only the managed policies the
// app attaches). The asset bucket, ECR repository and deploy roles it also
// creates are not needed: the rehearsal deploys the templates directly and
// runs the functions' code in-process.
const bootstrapTemplate = `{
  "Description": "The CDK bootstrap stack's version parameter and execution role (rehearsed cdk bootstrap)",
  "Parameters": {"Qualifier": {"Type": "String", "Default": "hnb659fds"}},
  "Resources": {
    "CdkBootstrapVersion": {
      "Type": "AWS::SSM::Parameter",
      "Properties": {"Type": "String", "Name": {"Fn::Sub": "/cdk-bootstrap/${Qualifier}/version"}, "Value": "%s"}
    },
    "CloudFormationExecutionRole": {
      "Type": "AWS::IAM::Role",
      "Properties": {
        "RoleName": {"Fn::Sub": "cdk-${Qualifier}-cfn-exec-role-${AWS::AccountId}-${AWS::Region}"},
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
          {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "AdministratorAccess", "PolicyDocument": {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]
      }
    }
  },
  "Outputs": {"BootstrapVersion": {"Value": {"Fn::GetAtt": ["CdkBootstrapVersion", "Value"]}}}
}`

// bootstrapVersion is the bootstrap template's version of the pinned CDK
// CLI; the app's rule requires 6 or later.
const bootstrapVersion = "33"

// bootstrap rehearses `cdk bootstrap` of every region, as the CLI
// bootstraps several environments: their stacks deployed at once through
// the simulated CloudFormation, then awaited.
func (l *Local) bootstrap(ctx context.Context) error {
	return l.bootstrapRegions(ctx, l.World.Regions()...)
}

func (l *Local) bootstrapRegions(ctx context.Context, regions ...string) error {
	body := fmt.Sprintf(bootstrapTemplate, bootstrapVersion)
	for _, r := range regions {
		if _, err := l.World.Region(r).CloudFormation().CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(bootstrapStack),
			TemplateBody: aws.String(body)}); err != nil {
			return fmt.Errorf("bootstrap %s: %w", r, err)
		}
	}
	for _, r := range regions {
		st, err := l.waitStack(ctx, r, bootstrapStack)
		if err != nil {
			return fmt.Errorf("bootstrap %s: %w", r, err)
		}
		if st.StackStatus != cftypes.StackStatusCreateComplete {
			return fmt.Errorf("bootstrap %s: stack %s is %s: %s", r, bootstrapStack, st.StackStatus, aws.ToString(st.StackStatusReason))
		}
	}
	return nil
}

// Bootstrap rehearses `cdk bootstrap aws://ACCOUNT/REGION` of a region the
// installation does not use yet (a new backup region): the region joins
// the simulated world, up and empty, and gets the bootstrap stack. A region
// already bootstrapped is refused.
func (l *Local) Bootstrap(ctx context.Context, region string) error {
	for _, r := range l.World.Regions() {
		if r == region {
			if _, err := l.World.Region(r).CloudFormation().StackResources(bootstrapStack); err == nil {
				return fmt.Errorf("local: %s is bootstrapped already", region)
			}
		}
	}
	l.World.AddRegion(region)
	return l.bootstrapRegions(ctx, region)
}
