package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglobalaccelerator"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// GlobalStack is the accelerator: a static entry point for producers whose
// traffic goes to P's ALB (weight 100) and, after failover, to B's. It is
// in us-west-2 because CloudFormation supports Global Accelerator there only.
type GlobalStack struct {
	awscdk.Stack
}

// AcceleratorURLOutput is the global stack's output producers' endpoint is
// read from.
const AcceleratorURLOutput = topology.AcceleratorURLOutput

// EndpointGroupLogicalID is the logical ID of region's endpoint group in
// the global stack (and, with "Parameter", of the parameter publishing its
// ARN): by region, so a change of roles keeps every group that stays.
func EndpointGroupLogicalID(region string) string { return "EndpointGroup" + topology.Camel(region) }

// NewGlobalStack builds the Global stack.
func NewGlobalStack(scope constructs.Construct, cfg Config) *GlobalStack {
	n := NamesFor(cfg)
	stack := awscdk.NewStack(scope, jsii.String(n.Stack("global", GlobalRegion)), &awscdk.StackProps{
		StackName:   jsii.String(n.Stack("global", GlobalRegion)),
		Env:         env(cfg, GlobalRegion),
		Description: jsii.String("Pendulum Global Accelerator (us-west-2: the only region CloudFormation supports for it)"),
	})
	// The accelerator listens on P's listener port, with its scheme: what
	// P's workload stack decided at deploy time (its CertificateArn).
	port := awscdk.Token_AsNumber(ReadParameter(stack, "PrimaryListenerPort", cfg, cfg.PrimaryRegion, paramListenerPort))
	scheme := awscdk.Fn_Select(jsii.Number(0), awscdk.Fn_Split(jsii.String("://"), ReadParameter(stack, "PrimaryAlbUrl", cfg, cfg.PrimaryRegion, paramALBURL), nil))
	acc := awsglobalaccelerator.NewCfnAccelerator(stack, jsii.String("Accelerator"), &awsglobalaccelerator.CfnAcceleratorProps{
		Name:          jsii.String(n.Accelerator()),
		Enabled:       jsii.Bool(true),
		IpAddressType: jsii.String("IPV4"),
	})
	listener := awsglobalaccelerator.NewCfnListener(stack, jsii.String("Listener"), &awsglobalaccelerator.CfnListenerProps{
		AcceleratorArn: acc.AttrAcceleratorArn(),
		Protocol:       jsii.String("TCP"),
		PortRanges:     &[]interface{}{&awsglobalaccelerator.CfnListener_PortRangeProperty{FromPort: port, ToPort: port}},
		ClientAffinity: jsii.String("NONE"),
	})
	primaryALB := ReadParameter(stack, "PrimaryAlbArn", cfg, cfg.PrimaryRegion, paramALBARN)
	groups := map[string]awsglobalaccelerator.CfnEndpointGroup{}
	for _, region := range cfg.Regions() {
		// An ALB endpoint is health-checked by the ALB itself, not with
		// the group's check settings (docs/aws-facts.md "Global
		// Accelerator"): no check protocol or path is set.
		props := &awsglobalaccelerator.CfnEndpointGroupProps{
			ListenerArn:                listener.AttrListenerArn(),
			EndpointGroupRegion:        jsii.String(region),
			TrafficDialPercentage:      jsii.Number(100),
			HealthCheckPort:            port,
			HealthCheckIntervalSeconds: jsii.Number(10),
			ThresholdCount:             jsii.Number(3),
		}
		if region == cfg.PrimaryRegion {
			props.EndpointConfigurations = &[]interface{}{&awsglobalaccelerator.CfnEndpointGroup_EndpointConfigurationProperty{
				EndpointId:                  primaryALB,
				Weight:                      jsii.Number(100),
				ClientIpPreservationEnabled: jsii.Bool(true),
			}}
		}
		// B's group starts empty: failover adds B's ALB once it exists (the
		// workload there is dormant until then) and fences P with weight 0.
		// Each group's logical ID names its region, not its role: a new
		// primary (B, protected by a new backup region) keeps B's group and
		// its ALB in place, while a role-named group would have to move
		// region, a replacement Global Accelerator refuses while the other
		// group of that region exists (one group per region per listener).
		groups[region] = awsglobalaccelerator.NewCfnEndpointGroup(stack, jsii.String(EndpointGroupLogicalID(region)), props)
	}

	publish := func(id, path string, value *string, what string) {
		awsssm.NewStringParameter(stack, jsii.String(id), &awsssm.StringParameterProps{
			ParameterName: jsii.String(n.Parameter(path)),
			StringValue:   value,
			Description:   jsii.String(what),
		})
	}
	publish("AcceleratorArnParameter", paramAcceleratorARN, acc.AttrAcceleratorArn(), "ARN of the Pendulum accelerator")
	publish("AcceleratorDnsParameter", paramAcceleratorDNS, acc.AttrDnsName(), "DNS name of the Pendulum accelerator")
	url := awscdk.Fn_Join(jsii.String(""), &[]*string{scheme, jsii.String("://"), acc.AttrDnsName()})
	publish("AcceleratorUrlParameter", paramAcceleratorURL, url, "URL of the Pendulum accelerator (its listener's scheme and DNS name)")
	for _, region := range cfg.Regions() {
		publish(EndpointGroupLogicalID(region)+"Parameter", paramEndpointGroupARN(region), groups[region].AttrEndpointGroupArn(),
			fmt.Sprintf("ARN of the accelerator's %s endpoint group", region))
	}
	awscdk.NewCfnOutput(stack, jsii.String("AcceleratorDnsName"), &awscdk.CfnOutputProps{Value: acc.AttrDnsName()})
	awscdk.NewCfnOutput(stack, jsii.String(AcceleratorURLOutput), &awscdk.CfnOutputProps{Value: url,
		Description: jsii.String("How producers reach the accelerator: the listener's scheme and the DNS name")})
	return &GlobalStack{Stack: stack}
}
