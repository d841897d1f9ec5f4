package local

import (
	"context"
	"fmt"
)

// bootstrapStack is the stack `cdk bootstrap` deploys in each region.
const bootstrapStack = "CDKToolkit"

// bootstrapTemplate is the part of the CDK's bootstrap template
// (aws-cdk's lib/api/bootstrap/bootstrap-template.yaml, pinned in
// tools/package.json) that the app's templates depend on: the
// CdkBootstrapVersion parameter their BootstrapVersion parameter and
// CheckBootstrapVersion rule read. The asset bucket, ECR repository and
// deploy roles it also creates are not needed: the rehearsal deploys the
// templates directly and runs the functions' code in-process.
const bootstrapTemplate = `{
  "Description": "The CDK bootstrap stack's version parameter (rehearsed cdk bootstrap)",
  "Parameters": {"Qualifier": {"Type": "String", "Default": "hnb659fds"}},
  "Resources": {
    "CdkBootstrapVersion": {
      "Type": "AWS::SSM::Parameter",
      "Properties": {"Type": "String", "Name": {"Fn::Sub": "/cdk-bootstrap/${Qualifier}/version"}, "Value": "%s"}
    }
  },
  "Outputs": {"BootstrapVersion": {"Value": {"Fn::GetAtt": ["CdkBootstrapVersion", "Value"]}}}
}`

// bootstrapVersion is the bootstrap template's version of the pinned CDK
// CLI; the app's rule requires 6 or later.
const bootstrapVersion = "33"

// bootstrap rehearses `cdk bootstrap` in every region: its stack deployed
// through the simulated CloudFormation, as the CLI deploys it.
func (l *Local) bootstrap(ctx context.Context) error {
	body := []byte(fmt.Sprintf(bootstrapTemplate, bootstrapVersion))
	for _, r := range l.World.Regions() {
		if err := l.createStack(ctx, r, bootstrapStack, body); err != nil {
			return fmt.Errorf("bootstrap %s: %w", r, err)
		}
	}
	return nil
}
