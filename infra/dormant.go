package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// CostlyTypes are resource types that cost money by existing (hourly or
// per-shard/stream charges, public IPv4 addresses) or that consume from one.
// In a dormant stack every resource of these types, wherever it sits in the
// construct tree, is created only when Active=true.
var CostlyTypes = map[string]bool{
	"AWS::ElasticLoadBalancingV2::LoadBalancer": true,
	"AWS::ElasticLoadBalancingV2::Listener":     true,
	"AWS::ElasticLoadBalancingV2::ListenerRule": true,
	"AWS::ElasticLoadBalancingV2::TargetGroup":  true,
	"AWS::Kinesis::Stream":                      true,
	"AWS::KinesisFirehose::DeliveryStream":      true,
	"AWS::EC2::NatGateway":                      true,
	"AWS::EC2::EIP":                             true,
	"AWS::EC2::VPCEndpoint":                     true,
	"AWS::Lambda::EventSourceMapping":           true,
	"AWS::Scheduler::Schedule":                  true,
}

// IngressScopeID is the construct ID of the scope that holds a workload
// stack's ingress and pipeline (ALB, listener, stream, delivery stream,
// consumer, schedule, published ALB parameters), the same in every workload
// stack: in P it is a grouping, in a dormant stack it is Dormancy.Scope. The
// scope's ID is part of each resource's logical ID, so the same ID keeps the
// logical IDs of a dormant stack's conditional resources the primary's:
// the backup region re-synthesized as the primary (a new primary after the
// primary is lost for good, docs/dr.md) is one in-place update of its
// stack, not a replacement of its named ALB, stream and delivery stream
// (CloudFormation cannot replace a custom-named resource, docs/aws-facts.md
// "CloudFormation updates and imports"). "Always" is the ID P has been
// deployed with.
const IngressScopeID = "Always"

// Dormancy is the Active switch of a dormant stack: the Active parameter,
// its condition, and the construct scope whose resources all follow it.
type Dormancy struct {
	Active   awscdk.CfnParameter
	IsActive awscdk.CfnCondition
	// Scope groups what exists only while active (with whatever depends on
	// it: permissions naming the target group, published ALB parameters).
	Scope constructs.Construct
}

// ActiveParameter is the dormant stack's switch; failover and failback
// flip it with one UpdateStack (UsePreviousTemplate, Active=true|false).
const ActiveParameter = topology.ActiveParameter

// NewDormancy adds the Active parameter and condition to stack and an Aspect
// that applies the condition across the construct tree: to every resource
// of a CostlyTypes type and to every resource under the returned Scope.
func NewDormancy(stack awscdk.Stack) *Dormancy {
	p := awscdk.NewCfnParameter(stack, jsii.String(ActiveParameter), &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		AllowedValues: jsii.Strings("true", "false"),
		Default:       jsii.String("false"),
		Description:   jsii.String("true creates the costly workload (ALB, Kinesis, Firehose, consumers, schedules); false keeps the stack dormant."),
	})
	c := awscdk.NewCfnCondition(stack, jsii.String("IsActive"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(p.ValueAsString(), jsii.String("true")),
	})
	d := &Dormancy{Active: p, IsActive: c, Scope: constructs.NewConstruct(stack, jsii.String(IngressScopeID))}
	awscdk.Aspects_Of(stack).Add(&dormantAspect{cond: c, scope: *d.Scope.Node().Path() + "/"}, nil)
	return d
}

// dormantAspect sets the condition on every costly resource.
type dormantAspect struct {
	cond  awscdk.CfnCondition
	scope string
}

// Visit implements awscdk.IAspect.
func (a *dormantAspect) Visit(node constructs.IConstruct) {
	if !*awscdk.CfnResource_IsCfnResource(node) {
		return
	}
	r := node.(awscdk.CfnResource)
	if CostlyTypes[*r.CfnResourceType()] || strings.HasPrefix(*node.Node().Path()+"/", a.scope) {
		r.CfnOptions().SetCondition(a.cond)
	}
}
