package main

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesis"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/compact"
	"github.com/pendulum-dr/pendulum/pkg/compact/plan"
	"github.com/pendulum-dr/pendulum/pkg/ingest"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// WorkloadStack is the analytics workload of one region: ALB → ingest →
// Kinesis → Firehose (raw) and aggregate (DynamoDB), plus the nightly batch.
// In B it is dormant: Dormancy is non-nil there.
type WorkloadStack struct {
	awscdk.Stack
	Dormancy *Dormancy
}

// ConsumerParameter, in the dormant stack, enables the aggregate consumer
// independently of Active: failover activates ingest first (Kinesis keeps
// the backlog) and enables the consumer once the aggregates table has been
// restored, so no batch exhausts its retries against a missing table.
const ConsumerParameter = topology.ConsumerParameter

// FirehosePrefix is the raw bucket's Hive-style partition layout.
const FirehosePrefix = "dt=!{timestamp:yyyy-MM-dd}/hr=!{timestamp:HH}/"

// NewWorkloadStack builds the workload of region, dormant in B.
func NewWorkloadStack(scope constructs.Construct, cfg Config, region string) (*WorkloadStack, error) {
	n := NamesFor(cfg)
	dormant := region == cfg.BackupRegion
	stack := awscdk.NewStack(scope, jsii.String(n.Stack("workload", region)), &awscdk.StackProps{
		StackName:   jsii.String(n.Stack("workload", region)),
		Env:         env(cfg, region),
		Description: jsii.String(fmt.Sprintf("Pendulum workload (%s)", map[bool]string{true: "backup, dormant until Active=true", false: "primary"}[dormant])),
	})
	// The VPC's AZs are given explicitly; recording them as the stack's
	// known AZs keeps synth from looking them up (no credentials needed).
	stack.Node().SetContext(jsii.String(fmt.Sprintf("availability-zones:account=%s:region=%s", cfg.Account, region)), jsii.Strings(azs(region)...))
	w := &WorkloadStack{Stack: stack}
	// active is where resources that must follow Active live; in P it is
	// just a grouping, with the same ID (IngressScopeID).
	var active constructs.Construct
	var consumerOn awscdk.CfnCondition
	if !dormant {
		active = constructs.NewConstruct(stack, jsii.String(IngressScopeID))
	} else {
		w.Dormancy = NewDormancy(stack)
		active = w.Dormancy.Scope
		p := awscdk.NewCfnParameter(stack, jsii.String(ConsumerParameter), &awscdk.CfnParameterProps{
			Type:          jsii.String("String"),
			AllowedValues: jsii.Strings("true", "false"),
			Default:       jsii.String("false"),
			Description:   jsii.String("true enables the aggregate Lambda's Kinesis consumer (after the aggregates table is restored)."),
		})
		consumerOn = awscdk.NewCfnCondition(stack, jsii.String("IsConsumerEnabled"), &awscdk.CfnConditionProps{
			Expression: awscdk.Fn_ConditionEquals(p.ValueAsString(), jsii.String("true")),
		})
	}

	stream := newStream(active, cfg)
	alb := newIngress(stack, active, cfg, region)
	// dr-traffic reads the serving region's ALB from this output.
	out := awscdk.NewCfnOutput(stack, jsii.String("LoadBalancerArn"), &awscdk.CfnOutputProps{
		Value:       alb.LoadBalancerArn(),
		Description: jsii.String("ARN of the ingest ALB (the Global Accelerator endpoint of this region)"),
	})
	if dormant {
		out.SetCondition(w.Dormancy.IsActive)
	}
	newFirehose(stack, active, cfg, region, stream)
	newAggregate(stack, active, cfg, region, stream, consumerOn)
	if err := newNightlyBatch(stack, active, cfg, region); err != nil {
		return nil, err
	}
	return w, nil
}

// newStream is the on-demand Kinesis stream, encrypted with the AWS-managed
// key (producers and consumers need no KMS grants for it).
func newStream(active constructs.Construct, cfg Config) awskinesis.CfnStream {
	return awskinesis.NewCfnStream(active, jsii.String("Records"), &awskinesis.CfnStreamProps{
		Name:                 jsii.String(NamesFor(cfg).Stream()),
		StreamModeDetails:    &awskinesis.CfnStream_StreamModeDetailsProperty{StreamMode: jsii.String("ON_DEMAND")},
		RetentionPeriodHours: jsii.Number(float64(cfg.StreamRetentionHours)),
		StreamEncryption: &awskinesis.CfnStream_StreamEncryptionProperty{
			EncryptionType: jsii.String("KMS"),
			KeyId:          jsii.String("alias/aws/kinesis"),
		},
	})
}

// newIngress is the VPC, the ALB and the ingest Lambda behind it.
func newIngress(stack awscdk.Stack, active constructs.Construct, cfg Config, region string) awselasticloadbalancingv2.ApplicationLoadBalancer {
	n := NamesFor(cfg)
	// Public subnets only, no NAT: nothing in the VPC needs outbound
	// internet (the Lambdas run outside it); the ALB needs two AZs. The AZ
	// names are given so synth makes no availability-zone lookup.
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		AvailabilityZones:            jsii.Strings(azs(region)...),
		NatGateways:                  jsii.Number(0),
		RestrictDefaultSecurityGroup: jsii.Bool(false),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24),
		}},
	})
	flowLogs := awslogs.NewLogGroup(stack, jsii.String("FlowLogs"), &awslogs.LogGroupProps{RemovalPolicy: awscdk.RemovalPolicy_RETAIN})
	flowLogs.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(float64(cfg.LogRetentionDays)))
	vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
		TrafficType: awsec2.FlowLogTrafficType_REJECT,
	})
	suppress(vpc, map[string]string{
		"IAM5": "The VPC flow-log role writes log streams of its own log group (<log group ARN>:*).",
	})

	newIdempotencyTable(stack, cfg)
	fn := NewFunction(stack, cfg, region, FunctionSpec{
		Name:           "ingest",
		Env:            map[string]string{ingest.EnvStreamName: n.Stream(), ingest.EnvIdempotencyTable: n.IdempotencyTable()},
		TimeoutSeconds: 15,
	})
	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kinesis:PutRecords", "kinesis:PutRecord"),
		Resources: jsii.Strings(n.StreamARN(region)),
	}))
	// The conditional write of each accepted id, on this region's table
	// only (by name: the same in both regions, each its own).
	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:PutItem"),
		Resources: jsii.Strings(n.TableARN(region, n.IdempotencyTable())),
	}))

	albLogs := newLogBucket(stack, "AlbLogs", n.Bucket("alb-logs", region), cfg)
	l := newListenerChoice(stack, cfg, region)
	sg := awsec2.NewSecurityGroup(active, jsii.String("AlbSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Pendulum ingest ALB: the listener port (443 with a certificate, else 80)"),
		AllowAllOutbound: jsii.Bool(false),
	})
	sg.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(l.port), jsii.String("producers via Global Accelerator (client IPs preserved); the allow-list is enforced by listener rules"), nil)
	suppress(sg, map[string]string{
		"EC23": "Open on the listener port on purpose: Global Accelerator preserves client IPs, the health canary runs from Lambda addresses, and the producer allow-list is enforced per request by source-ip listener rules (everything else gets 403).",
	})
	alb := awselasticloadbalancingv2.NewApplicationLoadBalancer(active, jsii.String("Alb"), &awselasticloadbalancingv2.ApplicationLoadBalancerProps{
		LoadBalancerName:        jsii.String(n.LoadBalancer()),
		Vpc:                     vpc,
		InternetFacing:          jsii.Bool(true),
		SecurityGroup:           sg,
		DropInvalidHeaderFields: jsii.Bool(true),
		// No deletion protection: deactivating the backup region deletes it.
		DeletionProtection: jsii.Bool(false),
	})
	alb.LogAccessLogs(albLogs, jsii.String("alb"))

	// The permission names the target group by its deterministic name, so
	// the target group can depend on it without a cycle.
	tgName := n.Prefix + "-ingest"
	perm := awslambda.NewCfnPermission(active, jsii.String("AlbInvoke"), &awslambda.CfnPermissionProps{
		Action:       jsii.String("lambda:InvokeFunction"),
		FunctionName: fn.Fn.FunctionArn(),
		Principal:    jsii.String("elasticloadbalancing.amazonaws.com"),
		SourceArn:    jsii.String(fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/*", region, cfg.Account, tgName)),
	})
	tg := awselasticloadbalancingv2.NewCfnTargetGroup(active, jsii.String("IngestTarget"), &awselasticloadbalancingv2.CfnTargetGroupProps{
		Name:                       jsii.String(tgName),
		TargetType:                 jsii.String("lambda"),
		Targets:                    &[]interface{}{&awselasticloadbalancingv2.CfnTargetGroup_TargetDescriptionProperty{Id: fn.Fn.FunctionArn()}},
		HealthCheckEnabled:         jsii.Bool(true),
		HealthCheckPath:            jsii.String("/health"),
		HealthCheckIntervalSeconds: jsii.Number(30),
		HealthCheckTimeoutSeconds:  jsii.Number(10),
		HealthyThresholdCount:      jsii.Number(2),
		UnhealthyThresholdCount:    jsii.Number(2),
		Matcher:                    &awselasticloadbalancingv2.CfnTargetGroup_MatcherProperty{HttpCode: jsii.String("200")},
	})
	tg.AddResourceDependency(perm, jsii.String("the ALB must be allowed to invoke the target when it registers it"))

	forward := &[]interface{}{&awselasticloadbalancingv2.CfnListener_ActionProperty{Type: jsii.String("forward"), TargetGroupArn: tg.Ref()}}
	anyProducer := false
	for _, c := range cfg.ProducerCIDRs {
		if c == "0.0.0.0/0" {
			anyProducer = true
		}
	}
	defaultAction := forward
	if !anyProducer {
		defaultAction = &[]interface{}{&awselasticloadbalancingv2.CfnListener_ActionProperty{
			Type: jsii.String("fixed-response"),
			FixedResponseConfig: &awselasticloadbalancingv2.CfnListener_FixedResponseConfigProperty{
				StatusCode:  jsii.String("403"),
				ContentType: jsii.String("application/json"),
				MessageBody: jsii.String(`{"error":"source address not in the producer allow-list"}`),
			},
		}}
	}
	// One listener, HTTPS on 443 with the certificate or HTTP on 80: no
	// HTTP listener redirects to HTTPS, since the accelerator listens on
	// the one port and producers come through it.
	listener := awselasticloadbalancingv2.NewCfnListener(active, jsii.String("Listener"), &awselasticloadbalancingv2.CfnListenerProps{
		LoadBalancerArn: alb.LoadBalancerArn(),
		Port:            l.port,
		Protocol:        l.protocol,
		DefaultActions:  defaultAction,
	})
	listener.AddPropertyOverride(jsii.String("SslPolicy"), awscdk.Fn_ConditionIf(l.https.LogicalId(), jsii.String(listenerSSLPolicy), awscdk.Aws_NO_VALUE()))
	listener.AddPropertyOverride(jsii.String("Certificates"), awscdk.Fn_ConditionIf(l.https.LogicalId(),
		[]map[string]interface{}{{"CertificateArn": l.certificate}}, awscdk.Aws_NO_VALUE()))
	if !anyProducer {
		awscdk.Annotations_Of(listener).AddWarningV2(jsii.String("pendulum:canary-allow-list"), jsii.String(
			"producerCidrs does not admit every source: the health canary's POST /records from B's Lambda must come from an allowed address, or P's EndpointHealthy stays 0 and failover starts (see docs/deploy.md)."))
		rule := func(id string, priority int, cond *awselasticloadbalancingv2.CfnListenerRule_RuleConditionProperty) {
			awselasticloadbalancingv2.NewCfnListenerRule(active, jsii.String(id), &awselasticloadbalancingv2.CfnListenerRuleProps{
				ListenerArn: listener.Ref(),
				Priority:    jsii.Number(float64(priority)),
				Conditions:  &[]interface{}{cond},
				Actions:     &[]interface{}{&awselasticloadbalancingv2.CfnListenerRule_ActionProperty{Type: jsii.String("forward"), TargetGroupArn: tg.Ref()}},
			})
		}
		// Health checks (GA, the canary) come from anywhere; /health
		// reveals nothing and writes nothing.
		rule("HealthRule", 1, &awselasticloadbalancingv2.CfnListenerRule_RuleConditionProperty{
			Field:  jsii.String("path-pattern"),
			Values: jsii.Strings("/health"),
		})
		// A rule holds at most five condition values.
		for i := 0; i < len(cfg.ProducerCIDRs); i += 5 {
			end := min(i+5, len(cfg.ProducerCIDRs))
			rule(fmt.Sprintf("Producers%d", i/5), 10+i/5, &awselasticloadbalancingv2.CfnListenerRule_RuleConditionProperty{
				Field:          jsii.String("source-ip"),
				SourceIpConfig: &awselasticloadbalancingv2.CfnListenerRule_SourceIpConfigProperty{Values: jsii.Strings(cfg.ProducerCIDRs[i:end]...)},
			})
		}
	}

	// Published under fixed names for the Global and Recovery stacks.
	awsssm.NewStringParameter(active, jsii.String("AlbArnParameter"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(n.Parameter(paramALBARN)),
		StringValue:   alb.LoadBalancerArn(),
		Description:   jsii.String("ARN of the ingest ALB (Global Accelerator endpoint)"),
	})
	awsssm.NewStringParameter(active, jsii.String("AlbDnsParameter"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(n.Parameter(paramALBDNS)),
		StringValue:   alb.LoadBalancerDnsName(),
		Description:   jsii.String("DNS name of the ingest ALB"),
	})
	awsssm.NewStringParameter(active, jsii.String("AlbUrlParameter"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(n.Parameter(paramALBURL)),
		StringValue:   awscdk.Fn_Join(jsii.String(""), &[]*string{l.scheme, jsii.String("://"), alb.LoadBalancerDnsName()}),
		Description:   jsii.String("URL of the ingest ALB, with its listener's scheme (regional health probe; the accelerator's scheme)"),
	})
	awsssm.NewStringParameter(active, jsii.String("ListenerPortParameter"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(n.Parameter(paramListenerPort)),
		StringValue:   l.portText,
		Description:   jsii.String("Port of the ingest ALB's listener (the accelerator listens on the same)"),
	})
	return alb
}

// listenerSSLPolicy is the TLS policy of an HTTPS listener.
const listenerSSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// listenerChoice is the ingest listener as the stack's CertificateArn
// parameter decides it at deploy time: https holds when a certificate is
// given; protocol, scheme and port follow it.
type listenerChoice struct {
	certificate      *string
	https            awscdk.CfnCondition
	protocol, scheme *string
	port             *float64
	portText         *string
}

// newListenerChoice declares the stack's CertificateArn parameter (its
// default is cdk.json's certificate of the region) and the condition the
// listener follows.
func newListenerChoice(stack awscdk.Stack, cfg Config, region string) listenerChoice {
	p := awscdk.NewCfnParameter(stack, jsii.String(topology.CertificateParameter), &awscdk.CfnParameterProps{
		Type:    jsii.String("String"),
		Default: jsii.String(cfg.CertificateARN(region)),
		// ACM certificates are regional: the ALB's must be of its region.
		AllowedPattern:        jsii.String(fmt.Sprintf(`^(arn:aws[a-z-]*:acm:%s:%s:certificate/[0-9a-f-]+)?$`, region, cfg.Account)),
		ConstraintDescription: jsii.String(fmt.Sprintf("empty (HTTP on port 80) or the ARN of an ACM certificate in %s of account %s", region, cfg.Account)),
		Description:           jsii.String("ACM certificate of the ingest ALB: set, the ALB and the accelerator listen with HTTPS on 443; empty, HTTP on 80. Set it in both workload stacks, or in neither."),
	})
	https := awscdk.NewCfnCondition(stack, jsii.String("IsHttps"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(p.ValueAsString(), jsii.String(""))),
	})
	pick := func(yes, no interface{}) awscdk.ICfnRuleConditionExpression {
		return awscdk.Fn_ConditionIf(https.LogicalId(), yes, no)
	}
	return listenerChoice{
		certificate: p.ValueAsString(),
		https:       https,
		protocol:    pick("HTTPS", "HTTP").ToString(),
		scheme:      pick("https", "http").ToString(),
		port:        awscdk.Token_AsNumber(pick(443, 80)),
		portText:    pick("443", "80").ToString(),
	}
}

// newIdempotencyTable is ingest's table of accepted ids (pkg/ingest): key
// the record id, TTL on the expiry ingest writes, on demand, encrypted with
// the AWS-managed key (ingest needs no KMS grant for it).
//
// It is in the stack itself, not under the dormant stack's Active scope:
// an on-demand table costs only its requests and storage, so B's exists
// from the first deploy, ready when B serves, and flipping Active neither
// creates nor deletes it (the activation's execution role needs no
// DynamoDB permissions, and deletion protection cannot stall a
// deactivation). It is deletion-protected and retained like the app's
// other tables. No PITR: it is no restore source (B never reads P's), its
// items live only the markers' TTL, and a restore would roll it back to
// fewer ids than ingest accepted; losing it weakens conflict detection to
// what the consumer catches downstream (docs/ingest.md), loses no record.
func newIdempotencyTable(stack awscdk.Stack, cfg Config) awsdynamodb.Table {
	n := NamesFor(cfg)
	t := awsdynamodb.NewTable(stack, jsii.String("IngestIds"), &awsdynamodb.TableProps{
		TableName:           jsii.String(n.IdempotencyTable()),
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(ingest.IdempotencyKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection:  jsii.Bool(true),
		TimeToLiveAttribute: jsii.String(ingest.IdempotencyExpires),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
	})
	suppress(t, map[string]string{
		"DDB3": "Ingest's idempotency table is a cache of ids accepted within the markers' TTL, regional and never a restore source; a point-in-time restore would only roll it back to fewer ids. Its loss weakens conflict detection to the consumer's (docs/ingest.md) and loses no record.",
	})
	return t
}

// newFirehose lands the stream in the raw bucket, GZIP NDJSON, under the
// dt=/hr= prefix the partitions Lambda and the Glue tables expect.
func newFirehose(stack awscdk.Stack, active constructs.Construct, cfg Config, region string, stream awskinesis.CfnStream) {
	n := NamesFor(cfg)
	raw := n.BucketARN("raw", region)
	logGroupName := "/aws/kinesisfirehose/" + n.DeliveryStream()
	lg := awslogs.NewLogGroup(stack, jsii.String("FirehoseLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(logGroupName),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	lg.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(float64(cfg.LogRetentionDays)))
	awslogs.NewLogStream(stack, jsii.String("FirehoseLogStream"), &awslogs.LogStreamProps{
		LogGroup: lg, LogStreamName: jsii.String("S3Delivery"), RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	// The role and its policy exist whether or not the stack is active
	// (roles cost nothing), so activation creates no IAM resource and its
	// execution role needs no IAM write access, only to pass this role.
	r := awsiam.NewRole(stack, jsii.String("FirehoseRole"), &awsiam.RoleProps{
		RoleName: jsii.String(FirehoseRoleName(n, region)),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("firehose.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account}},
		}),
	})
	policy := awsiam.NewPolicy(stack, jsii.String("FirehosePolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{r},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"),
				Resources: jsii.Strings(n.StreamARN(region)),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"),
				Resources: jsii.Strings(raw),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"),
				Resources: jsii.Strings(raw + "/*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("logs:PutLogEvents"),
				Resources: jsii.Strings(n.LogGroupARN(region, logGroupName)),
			}),
		},
	})
	suppress(r, map[string]string{"IAM5": "Objects of the named raw bucket (<bucket>/*) and log streams of Firehose's own log group (:*)."})
	suppress(policy, map[string]string{"IAM5": "Objects of the named raw bucket (<bucket>/*) and log streams of Firehose's own log group (:*)."})

	ds := awskinesisfirehose.NewCfnDeliveryStream(active, jsii.String("RawDelivery"), &awskinesisfirehose.CfnDeliveryStreamProps{
		DeliveryStreamName: jsii.String(n.DeliveryStream()),
		DeliveryStreamType: jsii.String("KinesisStreamAsSource"),
		KinesisStreamSourceConfiguration: &awskinesisfirehose.CfnDeliveryStream_KinesisStreamSourceConfigurationProperty{
			KinesisStreamArn: jsii.String(n.StreamARN(region)),
			RoleArn:          r.RoleArn(),
		},
		ExtendedS3DestinationConfiguration: &awskinesisfirehose.CfnDeliveryStream_ExtendedS3DestinationConfigurationProperty{
			BucketArn:         jsii.String(raw),
			RoleArn:           r.RoleArn(),
			Prefix:            jsii.String(FirehosePrefix),
			ErrorOutputPrefix: jsii.String("errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"),
			CompressionFormat: jsii.String("GZIP"),
			BufferingHints: &awskinesisfirehose.CfnDeliveryStream_BufferingHintsProperty{
				IntervalInSeconds: jsii.Number(60),
				SizeInMBs:         jsii.Number(64),
			},
			CloudWatchLoggingOptions: &awskinesisfirehose.CfnDeliveryStream_CloudWatchLoggingOptionsProperty{
				Enabled:       jsii.Bool(true),
				LogGroupName:  jsii.String(logGroupName),
				LogStreamName: jsii.String("S3Delivery"),
			},
		},
	})
	// Firehose checks its role and source when it is created.
	ds.Node().AddDependency(policy, stream)
	suppress(ds, map[string]string{
		"KDF1": "A stream with a Kinesis source cannot set DeliveryStreamEncryptionConfiguration; the source stream is KMS-encrypted and the raw bucket encrypts at rest (SSE-S3).",
	})
}

// newAggregate is the aggregate Lambda and its Kinesis event-source
// mapping: partial batch failures, bisect on error, retries until a record
// is as old as the stream keeps records, and an SQS on-failure destination
// for what is older.
func newAggregate(stack awscdk.Stack, active constructs.Construct, cfg Config, region string, stream awskinesis.CfnStream, consumerOn awscdk.CfnCondition) {
	n := NamesFor(cfg)
	fn := NewFunction(stack, cfg, region, FunctionSpec{
		Name:           "aggregate",
		Env:            map[string]string{aggregate.EnvTableName: n.AggregatesTable()},
		TimeoutSeconds: 60,
	})
	// The table's ARN by name: in B it is the table failover restores.
	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		// TransactWriteItems is authorized per item action.
		Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"),
		Resources: jsii.Strings(n.TableARN(region, n.AggregatesTable())),
	}))
	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard"),
		Resources: jsii.Strings(n.StreamARN(region)),
	}))
	dlq := awssqs.NewQueue(stack, jsii.String("AggregateDLQ"), &awssqs.QueueProps{
		QueueName:       jsii.String(queueName(n, aggregateDLQ)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(dlq, map[string]string{"SQS3": "This queue is the on-failure destination (dead letters) of the Kinesis consumer."})

	esm := awslambda.NewEventSourceMapping(active, jsii.String("AggregateConsumer"), &awslambda.EventSourceMappingProps{
		Target:             fn.Fn,
		EventSourceArn:     jsii.String(n.StreamARN(region)),
		StartingPosition:   awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:          jsii.Number(500),
		MaxBatchingWindow:  awscdk.Duration_Seconds(jsii.Number(5)),
		BisectBatchOnError: jsii.Bool(true),
		// No retry count (RetryAttempts unset: MaximumRetryAttempts takes
		// Lambda's default, -1, retry until the record expires). The
		// handler skips what can never be counted (undecodable, invalid),
		// so what fails is a write that can succeed later — the table
		// throttled, erroring, or not yet restored — and a count of retries
		// would give acknowledged records up to the on-failure queue, which
		// keeps only their sequence numbers, after seconds of such an
		// outage (docs/aws-facts.md "Lambda stream event-source mappings").
		// Records are given up only by age: up to the stream's retention,
		// at most the 7 days Lambda allows.
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(float64(min(cfg.StreamRetentionHours, 7*24)))),
		ReportBatchItemFailures: jsii.Bool(true),
		ParallelizationFactor:   jsii.Number(2),
		OnFailure:               awslambdaeventsources.NewSqsDlq(dlq),
	})
	cfn := esm.Node().DefaultChild().(awslambda.CfnEventSourceMapping)
	cfn.AddResourceDependency(stream, jsii.String("the consumer needs its stream"))
	if consumerOn != nil {
		cfn.AddPropertyOverride(jsii.String("Enabled"), awscdk.Fn_ConditionIf(consumerOn.LogicalId(), true, false))
	}
}

// newNightlyBatch is the nightly-batch state machine, its compact and
// compact-plan Lambdas, and the EventBridge Scheduler schedule.
func newNightlyBatch(stack awscdk.Stack, active constructs.Construct, cfg Config, region string) error {
	n := NamesFor(cfg)
	raw, curated := n.Bucket("raw", region), n.Bucket("curated", region)
	compactFn := NewFunction(stack, cfg, region, FunctionSpec{
		Name:           "compact",
		Env:            map[string]string{compact.EnvRawBucket: raw, compact.EnvCuratedBucket: curated},
		Wildcards:      "Objects of the named raw and curated buckets (<bucket>/*).",
		TimeoutSeconds: 900,
		MemoryMB:       1024,
	})
	planFn := NewFunction(stack, cfg, region, FunctionSpec{
		Name:           "compact-plan",
		Env:            map[string]string{plan.EnvRawBucket: raw},
		TimeoutSeconds: 60,
	})
	compactFn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("s3:ListBucket"), Resources: jsii.Strings(n.BucketARN("raw", region)),
	}))
	compactFn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("s3:GetObject"), Resources: jsii.Strings(n.BucketARN("raw", region) + "/*"),
	}))
	compactFn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("s3:PutObject", "s3:AbortMultipartUpload"), Resources: jsii.Strings(n.BucketARN("curated", region) + "/*"),
	}))
	planFn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("s3:ListBucket"), Resources: jsii.Strings(n.BucketARN("raw", region)),
	}))

	known := map[string]string{
		"CompactFunctionArn":     n.FunctionARN(region, "compact"),
		"CompactPlanFunctionArn": n.FunctionARN(region, "compact-plan"),
		"RawBucket":              raw,
		"CuratedBucket":          curated,
		"GlueDatabase":           n.GlueDatabase(),
	}
	sm, err := newStateMachine(stack, cfg, region, NightlyBatch, known, "")
	if err != nil {
		return err
	}
	compactFn.Fn.GrantInvoke(sm.Role())
	planFn.Fn.GrantInvoke(sm.Role())
	if region != cfg.BackupRegion {
		// The DR topic is in B: this region's unsuccessful ends and its
		// alarms' changes go there.
		role := addNightlyForward(stack, cfg, region)
		addPrimaryAlarms(stack, cfg, "workload")
		addAlarmForward(stack, cfg, role)
	}

	schedRole := awsiam.NewRole(stack, jsii.String("NightlyScheduleRole"), &awsiam.RoleProps{
		// Named so the dormant stack's execution role can pass exactly it.
		RoleName: jsii.String(NightlyScheduleRoleName(n, region)),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": cfg.Account}},
		}),
	})
	schedRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("states:StartExecution"), Resources: jsii.Strings(*sm.StateMachineArn()),
	}))
	awsscheduler.NewCfnSchedule(active, jsii.String("NightlySchedule"), &awsscheduler.CfnScheduleProps{
		Name:                       jsii.String(n.Prefix + "-nightly-batch"),
		ScheduleExpression:         jsii.String(cfg.NightlyBatchSchedule),
		ScheduleExpressionTimezone: jsii.String("UTC"),
		FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     sm.StateMachineArn(),
			RoleArn: schedRole.RoleArn(),
			Input:   jsii.String("{}"),
		},
	})
	return nil
}

// newStateMachine deploys an embedded state machine with its
// DefinitionSubstitutions, logging every event (without execution data)
// and tracing with X-Ray.
// wildcards, when set, says why the role's other wildcard resources are
// needed (the reason of its cdk-nag IAM5 suppression).
func newStateMachine(stack awscdk.Stack, cfg Config, region, name string, known map[string]string, wildcards string) (awsstepfunctions.StateMachine, error) {
	n := NamesFor(cfg)
	def, subs, err := Definition(cfg.Machines, name, known)
	if err != nil {
		return nil, err
	}
	js := map[string]*string{}
	keys := make([]string, 0, len(subs))
	for k := range subs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		js[k] = jsii.String(subs[k])
	}
	id := topology.Camel(name)
	lg := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + n.StateMachine(name)),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	lg.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(float64(cfg.LogRetentionDays)))
	sm := awsstepfunctions.NewStateMachine(stack, jsii.String(id), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(n.StateMachine(name)),
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(def)),
		DefinitionSubstitutions: &js,
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		TracingEnabled:          jsii.Bool(true),
		// Every event is logged, without execution data: inputs, outputs
		// and task parameters — an approval's task token among them — stay
		// in the execution history (states:GetExecutionHistory, IAM
		// scoped) and are never written to the log group (docs/dr.md
		// "Logs").
		Logs: &awsstepfunctions.LogOptions{
			Destination:          lg,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	reason := "CloudWatch Logs vended-delivery and X-Ray actions support no resource-level permissions (Resource \"*\" is required); Lambda invoke grants cover the named functions' versions (<arn>:*)."
	if wildcards != "" {
		reason += " " + wildcards
	}
	suppress(sm, map[string]string{"IAM5": reason})
	return sm, nil
}

// azs are the two availability zones the workload uses in region.
func azs(region string) []string { return []string{region + "a", region + "b"} }
