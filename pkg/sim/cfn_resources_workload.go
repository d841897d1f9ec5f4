package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	firehosetypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// The providers of the workload, global and recovery stacks' resource
// types that map onto simulated services: streams, delivery streams,
// alarms, topics, keys, the network records of the VPC, and the
// accelerator.

// Modelled operation times (docs/aws-facts.md, "CloudFormation resource
// times"): an on-demand stream is ACTIVE in under a minute, a delivery
// stream in about a minute; VPC records take seconds.
const (
	cfnStream   = 45 * time.Second
	cfnFirehose = 60 * time.Second
	cfnNetwork  = 5 * time.Second
	cfnGA       = 30 * time.Second
)

// cfnRecord is a provider for resources the simulator keeps as records
// only (network plumbing with no behaviour a rehearsal observes). Each
// accepts exactly the listed properties; Ref returns a generated ID with
// the given prefix and attrs adds the listed attributes.
func cfnRecord(prefix string, props []string, attrs ...string) *cfnProvider {
	return &cfnProvider{
		properties: props,
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			id := fmt.Sprintf("%s-%017x", prefix, fnvString(op.stack.id+"/"+r.id))[:len(prefix)+18]
			r.physicalID, r.ref = id, id
			r.attrs = map[string]any{}
			for _, a := range attrs {
				r.attrs[a] = id
			}
			return nil
		},
		update:     func(context.Context, *cfnOp, *cfnLive, *cfnLive) error { return nil },
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnNetwork, updateTime: cfnNetwork, deleteTime: cfnNetwork,
	}
}

func init() {
	registerCFN("AWS::EC2::VPC", cfnRecord("vpc", []string{"CidrBlock", "EnableDnsHostnames", "EnableDnsSupport", "InstanceTenancy", "Tags"}, "VpcId", "CidrBlock", "DefaultSecurityGroup"))
	registerCFN("AWS::EC2::Subnet", cfnRecord("subnet", []string{"AvailabilityZone", "CidrBlock", "MapPublicIpOnLaunch", "Tags", "VpcId"}, "SubnetId"))
	registerCFN("AWS::EC2::RouteTable", cfnRecord("rtb", []string{"Tags", "VpcId"}, "RouteTableId"))
	registerCFN("AWS::EC2::SubnetRouteTableAssociation", cfnRecord("rtbassoc", []string{"RouteTableId", "SubnetId"}, "Id"))
	registerCFN("AWS::EC2::Route", cfnRecord("r", []string{"DestinationCidrBlock", "GatewayId", "RouteTableId"}))
	registerCFN("AWS::EC2::InternetGateway", cfnRecord("igw", []string{"Tags"}, "InternetGatewayId"))
	registerCFN("AWS::EC2::VPCGatewayAttachment", cfnRecord("igw-attach", []string{"InternetGatewayId", "VpcId", "VpnGatewayId"}))
	registerCFN("AWS::EC2::SecurityGroup", cfnRecord("sg", []string{"GroupDescription", "GroupName", "SecurityGroupEgress", "SecurityGroupIngress", "Tags", "VpcId"}, "GroupId", "VpcId"))
	// A rule of its own, as the CDK renders a rule whose port is a
	// deploy-time value.
	registerCFN("AWS::EC2::SecurityGroupIngress", cfnRecord("sgr", []string{"CidrIp", "CidrIpv6", "Description", "FromPort", "GroupId", "IpProtocol",
		"SourcePrefixListId", "SourceSecurityGroupId", "ToPort"}, "Id"))
	registerCFN("AWS::EC2::FlowLog", cfnRecord("fl", []string{"DeliverLogsPermissionArn", "LogDestinationType", "LogGroupName", "ResourceId", "ResourceType", "Tags", "TrafficType"}, "Id"))

	registerCFN("AWS::KMS::Key", &cfnProvider{
		properties: []string{"Description", "EnableKeyRotation", "KeyPolicy", "Tags", "KeySpec", "KeyUsage", "PendingWindowInDays", "Enabled"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			doc, err := json.Marshal(r.props["KeyPolicy"])
			if err != nil {
				return err
			}
			p, err := ParseResourcePolicy(doc)
			if err != nil {
				return fmt.Errorf("key policy: %w", err)
			}
			h := fmt.Sprintf("%032x", fnvString(op.stack.id+"/"+r.id))
			id := fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
			r.physicalID, r.ref = id, id
			arn := op.arn("kms", "key/"+id)
			r.attrs = map[string]any{"Arn": arn, "KeyId": id}
			// The key policy decides what services may do with the key
			// (iam_resource.go).
			op.r.world.setResourcePolicy(arn, p)
			return nil
		},
		update: func(_ context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			doc, err := json.Marshal(r.props["KeyPolicy"])
			if err != nil {
				return err
			}
			p, err := ParseResourcePolicy(doc)
			if err != nil {
				return fmt.Errorf("key policy: %w", err)
			}
			op.r.world.setResourcePolicy(op.arn("kms", "key/"+r.physicalID), p)
			return nil
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})

	registerCFN("AWS::SNS::Topic", &cfnProvider{
		properties: []string{"TopicName", "DisplayName", "KmsMasterKeyId", "Tags", "Subscription", "FifoTopic"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "TopicName")
			if name == "" {
				name = op.physicalName(r.id, 256)
			}
			attrs := map[string]string{}
			for _, k := range []string{"DisplayName", "KmsMasterKeyId"} {
				if v := cfnString(r.props, k); v != "" {
					attrs[k] = v
				}
			}
			out, err := op.r.SNS().CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
			if err != nil {
				return err
			}
			arn := aws.ToString(out.TopicArn)
			for _, s := range cfnAnyList(r.props["Subscription"]) {
				m, _ := s.(map[string]any)
				if _, err := op.r.SNS().Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String(cfnScalarString(m["Protocol"])),
					Endpoint: aws.String(cfnScalarString(m["Endpoint"]))}); err != nil {
					return err
				}
			}
			r.physicalID, r.ref = arn, arn
			r.attrs = map[string]any{"TopicArn": arn, "TopicName": name}
			return nil
		},
		nameProperty: "TopicName",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.SNS().DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::SNS::TopicPolicy", &cfnProvider{
		properties: []string{"PolicyDocument", "Topics"},
		required:   []string{"PolicyDocument", "Topics"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			if err := cfnSetTopicPolicy(op, nil, r); err != nil {
				return err
			}
			r.physicalID = op.physicalName(r.id, 128)
			r.ref = r.physicalID
			return nil
		},
		update: func(_ context.Context, op *cfnOp, old, r *cfnLive) error { return cfnSetTopicPolicy(op, old, r) },
		delete: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			for _, t := range cfnAnyList(r.props["Topics"]) {
				op.r.world.setResourcePolicy(cfnScalarString(t), nil) // the topic's default policy again
			}
			return nil
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::SNS::Subscription", &cfnProvider{
		properties: []string{"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy", "Region"},
		required:   []string{"TopicArn", "Protocol"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			out, err := op.r.SNS().Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(cfnString(r.props, "TopicArn")),
				Protocol: aws.String(cfnString(r.props, "Protocol")), Endpoint: aws.String(cfnString(r.props, "Endpoint"))})
			if err != nil {
				return err
			}
			r.physicalID, r.ref = aws.ToString(out.SubscriptionArn), aws.ToString(out.SubscriptionArn)
			return nil
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnQuick, deleteTime: cfnQuick,
	})

	registerCFN("AWS::CloudWatch::Alarm", &cfnProvider{
		properties: []string{"AlarmName", "AlarmDescription", "AlarmActions", "OKActions", "InsufficientDataActions", "ActionsEnabled", "ComparisonOperator",
			"DatapointsToAlarm", "Dimensions", "EvaluationPeriods", "MetricName", "Namespace", "Period", "Statistic", "ExtendedStatistic", "Threshold",
			"TreatMissingData", "Unit", "Tags"},
		required: []string{"ComparisonOperator", "EvaluationPeriods"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "AlarmName")
			if name == "" {
				name = op.physicalName(r.id, 255)
			}
			if err := cfnPutAlarm(ctx, op, name, r.props); err != nil {
				return err
			}
			op.r.CloudWatch().EvaluateContinuously()
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": op.arn("cloudwatch", "alarm:"+name)}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			return cfnPutAlarm(ctx, op, r.physicalID, r.props)
		},
		replaceOn:    []string{"AlarmName"},
		nameProperty: "AlarmName",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.CloudWatch().DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{r.physicalID}})
			if isAPICode(err, "ResourceNotFound") {
				return nil
			}
			return err
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})

	registerCFN("AWS::CloudWatch::Dashboard", &cfnProvider{
		properties: []string{"DashboardName", "DashboardBody", "Tags"},
		required:   []string{"DashboardBody"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "DashboardName")
			if name == "" {
				name = op.physicalName(r.id, 255)
			}
			if _, err := op.r.CloudWatch().PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String(name),
				DashboardBody: aws.String(cfnString(r.props, "DashboardBody"))}); err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			_, err := op.r.CloudWatch().PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String(r.physicalID),
				DashboardBody: aws.String(cfnString(r.props, "DashboardBody"))})
			return err
		},
		replaceOn: []string{"DashboardName"},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.CloudWatch().DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{r.physicalID}})
			return err
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})

	registerCFN("AWS::Kinesis::Stream", &cfnProvider{
		properties: []string{"Name", "RetentionPeriodHours", "StreamEncryption", "StreamModeDetails", "ShardCount", "Tags"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "Name")
			if name == "" {
				name = op.physicalName(r.id, 128)
			}
			in := &kinesis.CreateStreamInput{StreamName: aws.String(name)}
			if m, ok := r.props["StreamModeDetails"].(map[string]any); ok {
				in.StreamModeDetails = &kinesistypes.StreamModeDetails{StreamMode: kinesistypes.StreamMode(cfnScalarString(m["StreamMode"]))}
			}
			if n, ok := cfnInt(r.props["ShardCount"]); ok {
				in.ShardCount = aws.Int32(int32(n))
			}
			if e, ok := r.props["StreamEncryption"].(map[string]any); ok && cfnScalarString(e["EncryptionType"]) != "KMS" {
				return fmt.Errorf("stream encryption %s is %w", cfnScalarString(e["EncryptionType"]), errNotModelled)
			}
			k := op.r.Kinesis()
			if _, err := k.CreateStream(ctx, in); err != nil {
				return err
			}
			if h, ok := cfnInt(r.props["RetentionPeriodHours"]); ok && h != 24 {
				// The stream must be ACTIVE first, as CloudFormation waits.
				if err := op.world().Clock.Sleep(ctx, k.CreateDelay); err != nil {
					return err
				}
				if _, err := k.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String(name), RetentionPeriodHours: aws.Int32(int32(h))}); err != nil {
					return err
				}
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": k.StreamARN(name)}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, old *cfnLive, r *cfnLive) error {
			h, ok := cfnInt(r.props["RetentionPeriodHours"])
			if !ok {
				h = 24
			}
			was, ok := cfnInt(old.props["RetentionPeriodHours"])
			if !ok {
				was = 24
			}
			k := op.r.Kinesis()
			var err error
			switch {
			case h > was:
				_, err = k.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String(r.physicalID), RetentionPeriodHours: aws.Int32(int32(h))})
			case h < was:
				_, err = k.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: aws.String(r.physicalID), RetentionPeriodHours: aws.Int32(int32(h))})
			}
			return err
		},
		replaceOn:    []string{"Name", "StreamModeDetails", "ShardCount", "StreamEncryption"},
		nameProperty: "Name",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Kinesis().DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(r.physicalID), EnforceConsumerDeletion: aws.Bool(true)})
			return err
		},
		createTime: cfnStream - 30*time.Second, updateTime: cfnQuick, deleteTime: 10 * time.Second, // plus the stream's own CREATING time
	})

	registerCFN("AWS::KinesisFirehose::DeliveryStream", &cfnProvider{
		properties: []string{"DeliveryStreamName", "DeliveryStreamType", "ExtendedS3DestinationConfiguration", "KinesisStreamSourceConfiguration", "Tags"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "DeliveryStreamName")
			if name == "" {
				name = op.physicalName(r.id, 64)
			}
			in := &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String(name),
				DeliveryStreamType: firehosetypes.DeliveryStreamType(cfnString(r.props, "DeliveryStreamType"))}
			if v, ok := r.props["KinesisStreamSourceConfiguration"]; ok {
				in.KinesisStreamSourceConfiguration = &firehosetypes.KinesisStreamSourceConfiguration{}
				if err := cfnInto(v, in.KinesisStreamSourceConfiguration); err != nil {
					return err
				}
			}
			if v, ok := r.props["ExtendedS3DestinationConfiguration"]; ok {
				in.ExtendedS3DestinationConfiguration = &firehosetypes.ExtendedS3DestinationConfiguration{}
				if err := cfnInto(v, in.ExtendedS3DestinationConfiguration); err != nil {
					return err
				}
			}
			out, err := op.r.Firehose().CreateDeliveryStream(ctx, in)
			if err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": aws.ToString(out.DeliveryStreamARN)}
			return nil
		},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Firehose().DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnFirehose, deleteTime: 30 * time.Second,
	})

	registerCFN("AWS::GlobalAccelerator::Accelerator", &cfnProvider{
		properties: []string{"Name", "Enabled", "IpAddressType", "IpAddresses", "Tags"},
		required:   []string{"Name"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			in := &globalaccelerator.CreateAcceleratorInput{Name: aws.String(cfnString(r.props, "Name")), IdempotencyToken: aws.String(op.stack.id + "/" + r.id),
				Enabled: aws.Bool(true)}
			if v, ok := r.props["Enabled"]; ok {
				in.Enabled = aws.Bool(cfnTruthy(v))
			}
			if t := cfnString(r.props, "IpAddressType"); t != "" {
				in.IpAddressType = gatypes.IpAddressType(t)
			}
			out, err := op.r.GlobalAccelerator().CreateAccelerator(ctx, in)
			if err != nil {
				return err
			}
			arn := aws.ToString(out.Accelerator.AcceleratorArn)
			r.physicalID, r.ref = arn, arn
			r.attrs = map[string]any{"AcceleratorArn": arn, "DnsName": aws.ToString(out.Accelerator.DnsName)}
			return nil
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnGA, deleteTime: cfnGA,
	})
	registerCFN("AWS::GlobalAccelerator::Listener", &cfnProvider{
		properties: []string{"AcceleratorArn", "ClientAffinity", "PortRanges", "Protocol"},
		required:   []string{"AcceleratorArn", "PortRanges", "Protocol"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			in := &globalaccelerator.CreateListenerInput{AcceleratorArn: aws.String(cfnString(r.props, "AcceleratorArn")),
				Protocol: gatypes.Protocol(cfnString(r.props, "Protocol")), ClientAffinity: gatypes.ClientAffinity(cfnString(r.props, "ClientAffinity")),
				IdempotencyToken: aws.String(op.stack.id + "/" + r.id)}
			if err := cfnInto(r.props["PortRanges"], &in.PortRanges); err != nil {
				return err
			}
			out, err := op.r.GlobalAccelerator().CreateListener(ctx, in)
			if err != nil {
				return err
			}
			arn := aws.ToString(out.Listener.ListenerArn)
			r.physicalID, r.ref = arn, arn
			r.attrs = map[string]any{"ListenerArn": arn}
			return nil
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::GlobalAccelerator::EndpointGroup", &cfnProvider{
		properties: []string{"ListenerArn", "EndpointGroupRegion", "EndpointConfigurations", "HealthCheckIntervalSeconds", "HealthCheckPath",
			"HealthCheckPort", "HealthCheckProtocol", "ThresholdCount", "TrafficDialPercentage", "PortOverrides"},
		required: []string{"ListenerArn", "EndpointGroupRegion"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			in := &globalaccelerator.CreateEndpointGroupInput{}
			fields := map[string]any{}
			for k, v := range r.props {
				fields[k] = v
			}
			if err := cfnInto(fields, in); err != nil {
				return err
			}
			in.IdempotencyToken = aws.String(op.stack.id + "/" + r.id)
			out, err := op.r.GlobalAccelerator().CreateEndpointGroup(ctx, in)
			if err != nil {
				return err
			}
			arn := aws.ToString(out.EndpointGroup.EndpointGroupArn)
			r.physicalID, r.ref = arn, arn
			r.attrs = map[string]any{"EndpointGroupArn": arn}
			return nil
		},
		// An update sets the group's settings and its whole endpoint list
		// to the template's (an endpoint added outside the template, as
		// failover adds B's load balancer, is dropped unless the template
		// lists it); the listener and the region replace the group.
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			in := &globalaccelerator.UpdateEndpointGroupInput{}
			fields := map[string]any{}
			for k, v := range r.props {
				if k != "ListenerArn" && k != "EndpointGroupRegion" {
					fields[k] = v
				}
			}
			if err := cfnInto(fields, in); err != nil {
				return err
			}
			if in.EndpointConfigurations == nil {
				in.EndpointConfigurations = []gatypes.EndpointConfiguration{}
			}
			in.EndpointGroupArn = aws.String(r.physicalID)
			_, err := op.r.GlobalAccelerator().UpdateEndpointGroup(ctx, in)
			return err
		},
		replaceOn: []string{"ListenerArn", "EndpointGroupRegion"},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.GlobalAccelerator().DeleteEndpointGroup(ctx, &globalaccelerator.DeleteEndpointGroupInput{EndpointGroupArn: aws.String(r.physicalID)})
			if isAPICode(err, "EndpointGroupNotFoundException") {
				return nil
			}
			return err
		},
		createTime: cfnGA, updateTime: cfnGA, deleteTime: cfnGA,
	})
}

// cfnPutAlarm creates or replaces a metric alarm from an
// AWS::CloudWatch::Alarm's properties.
func cfnPutAlarm(ctx context.Context, op *cfnOp, name string, props map[string]any) error {
	in := &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name)}
	for k, v := range props {
		switch k {
		case "AlarmName", "Tags":
		case "AlarmDescription":
			in.AlarmDescription = aws.String(cfnScalarString(v))
		case "AlarmActions", "OKActions", "InsufficientDataActions":
			var list []string
			for _, a := range cfnAnyList(v) {
				list = append(list, cfnScalarString(a))
			}
			switch k {
			case "AlarmActions":
				in.AlarmActions = list
			case "OKActions":
				in.OKActions = list
			default:
				in.InsufficientDataActions = list
			}
		case "ActionsEnabled":
			in.ActionsEnabled = aws.Bool(cfnTruthy(v))
		case "ComparisonOperator":
			in.ComparisonOperator = cwtypes.ComparisonOperator(cfnScalarString(v))
		case "DatapointsToAlarm", "EvaluationPeriods", "Period":
			n, ok := cfnInt(v)
			if !ok {
				return fmt.Errorf("alarm %s: %s must be an integer", name, k)
			}
			switch k {
			case "DatapointsToAlarm":
				in.DatapointsToAlarm = aws.Int32(int32(n))
			case "EvaluationPeriods":
				in.EvaluationPeriods = aws.Int32(int32(n))
			default:
				in.Period = aws.Int32(int32(n))
			}
		case "Dimensions":
			if err := cfnInto(v, &in.Dimensions); err != nil {
				return err
			}
		case "MetricName":
			in.MetricName = aws.String(cfnScalarString(v))
		case "Namespace":
			in.Namespace = aws.String(cfnScalarString(v))
		case "Statistic":
			in.Statistic = cwtypes.Statistic(cfnScalarString(v))
		case "ExtendedStatistic":
			in.ExtendedStatistic = aws.String(cfnScalarString(v))
		case "Threshold":
			f, ok := cfnFloat(v)
			if !ok {
				return fmt.Errorf("alarm %s: Threshold must be a number", name)
			}
			in.Threshold = aws.Float64(f)
		case "TreatMissingData":
			in.TreatMissingData = aws.String(cfnScalarString(v))
		case "Unit":
			in.Unit = cwtypes.StandardUnit(cfnScalarString(v))
		default:
			return fmt.Errorf("alarm property %s is %w", k, errNotModelled)
		}
	}
	_, err := op.r.CloudWatch().PutMetricAlarm(ctx, in)
	return err
}

// cfnRegionOf returns the region an ARN names ("" for global ARNs).
func cfnRegionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
}

// cfnSetTopicPolicy attaches a TopicPolicy's document to each of its
// topics (the policies EventBridge's deliveries are authorized by); topics
// the old properties listed and the new ones do not get their default
// policy back.
func cfnSetTopicPolicy(op *cfnOp, old, r *cfnLive) error {
	doc, err := json.Marshal(r.props["PolicyDocument"])
	if err != nil {
		return err
	}
	p, err := ParseResourcePolicy(doc)
	if err != nil {
		return fmt.Errorf("topic policy: %w", err)
	}
	keep := map[string]bool{}
	for _, t := range cfnAnyList(r.props["Topics"]) {
		arn := cfnScalarString(t)
		if !strings.HasPrefix(arn, "arn:aws:sns:") {
			return fmt.Errorf("topic policy: Topics member %q is not a topic ARN", arn)
		}
		keep[arn] = true
		op.r.world.setResourcePolicy(arn, p)
	}
	if old != nil {
		for _, t := range cfnAnyList(old.props["Topics"]) {
			if arn := cfnScalarString(t); !keep[arn] {
				op.r.world.setResourcePolicy(arn, nil)
			}
		}
	}
	return nil
}
