package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// customResourceProvider is the construct id CDK gives the singleton Lambda
// behind every AwsCustomResource of a stack.
const customResourceProvider = "AWS679f53fac002430cb0da5b7982bd2287"

// ReadParameter returns a deploy-time token for the SSM parameter path
// published in region (possibly another region than scope's stack). AWS
// picks some identifiers at creation (ALB and accelerator ARNs and DNS
// names); their stacks publish them under fixed names (Names.Parameter)
// and readers fetch them at deploy time with ssm:GetParameter on that one
// parameter. The call runs when the reader is created or its call changes
// (not on every deploy), so deploy the publisher's stack first.
func ReadParameter(scope constructs.Construct, id string, cfg Config, region, path string) *string {
	n := NamesFor(cfg)
	call := &customresources.AwsSdkCall{
		Service:            jsii.String("SSM"),
		Action:             jsii.String("getParameter"),
		Parameters:         map[string]interface{}{"Name": n.Parameter(path)},
		Region:             jsii.String(region),
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String(region + ":" + n.Parameter(path))),
		OutputPaths:        jsii.Strings("Parameter.Value"),
	}
	cr := customresources.NewAwsCustomResource(scope, jsii.String(id), &customresources.AwsCustomResourceProps{
		OnCreate: call,
		OnUpdate: call,
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("ssm:GetParameter"),
				Resources: jsii.Strings(n.ParameterARN(region, path)),
			}),
		}),
		InstallLatestAwsSdk: jsii.Bool(false),
	})
	stack := awscdk.Stack_Of(scope)
	if p := stack.Node().TryFindChild(jsii.String(customResourceProvider)); p != nil {
		suppress(p, map[string]string{
			"IAM4": "CDK's AwsCustomResource provider uses AWSLambdaBasicExecutionRole for its own logs; its only other permission is ssm:GetParameter on named parameters.",
			"L1":   "CDK's AwsCustomResource provider pins the Node.js runtime this CDK version was tested with.",
		})
	}
	return cr.GetResponseField(jsii.String("Parameter.Value"))
}
