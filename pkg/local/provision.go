package local

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// DataKinds are the data buckets (and Glue tables) of each region.
var DataKinds = []string{"raw", "curated"}

// FirehosePrefix is the raw bucket's Hive-style layout, as infra's
// workload stack configures the delivery stream.
const FirehosePrefix = "dt=!{timestamp:yyyy-MM-dd}/hr=!{timestamp:HH}/"

// PartitionsQueue is the name of each region's ObjectCreated queue.
func (l *Local) PartitionsQueue() string { return l.Names.Prefix + "-partitions" }

// provision creates what the CDK app deploys, in dependency order.
func (l *Local) provision(ctx context.Context) error {
	P, B := l.Regions.Primary, l.Regions.Backup
	n := l.Names
	for _, region := range []string{P, B} {
		l.regions[region] = &regionRuntime{name: region}
	}
	// Data stacks: queues, buckets, catalog, vaults.
	for _, region := range []string{P, B} {
		r := l.World.Region(region)
		q := r.SQS()
		if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(l.PartitionsQueue()),
			Attributes: map[string]string{"VisibilityTimeout": "360"}}); err != nil {
			return fmt.Errorf("create queue in %s: %w", region, err)
		}
		for _, kind := range DataKinds {
			bucket := n.Bucket(kind, region)
			in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
			if region != "us-east-1" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
			}
			if _, err := r.S3().CreateBucket(ctx, in); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucket, err)
			}
			if _, err := r.S3().PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
				return fmt.Errorf("versioning %s: %w", bucket, err)
			}
			if _, err := r.S3().PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(bucket),
				NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
					Id: aws.String("partitions"), QueueArn: aws.String(q.QueueARN(l.PartitionsQueue())), Events: []s3types.Event{"s3:ObjectCreated:*"},
				}}}}); err != nil {
				return fmt.Errorf("notifications of %s: %w", bucket, err)
			}
		}
		if err := l.createCatalog(ctx, region); err != nil {
			return err
		}
		if _, err := r.Backup().CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String(n.BackupVault())}); err != nil {
			return fmt.Errorf("create vault in %s: %w", region, err)
		}
	}
	// P's buckets replicate to B's with Replication Time Control.
	if l.opts.ReplicationLag != nil {
		l.World.Region(P).S3().SetReplicationLag(l.opts.ReplicationLag)
	}
	for _, kind := range DataKinds {
		if _, err := l.World.Region(P).S3().PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(n.Bucket(kind, P)),
			ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s-replication", n.Account, n.Prefix)),
				Rules: []s3types.ReplicationRule{{ID: aws.String("to-" + B), Status: s3types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
					Filter: &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
					Destination: &s3types.Destination{Bucket: aws.String(n.BucketARN(kind, B)), StorageClass: s3types.StorageClassStandard,
						ReplicationTime: &s3types.ReplicationTime{Status: s3types.ReplicationTimeStatusEnabled, Time: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}},
						Metrics:         &s3types.Metrics{Status: s3types.MetricsStatusEnabled, EventThreshold: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}}},
					DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled}}}}}); err != nil {
			return fmt.Errorf("replication of %s: %w", kind, err)
		}
	}
	// The aggregates table in P; the control table in B.
	dp := l.World.Region(P).DynamoDB()
	dp.SetCreateDelay(0)
	if _, err := dp.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:                 aws.String(n.AggregatesTable()),
		BillingMode:               ddbtypes.BillingModePayPerRequest,
		DeletionProtectionEnabled: aws.Bool(true),
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
	}); err != nil {
		return fmt.Errorf("create aggregates table: %w", err)
	}
	if _, err := dp.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(n.AggregatesTable()),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		return fmt.Errorf("enable PITR: %w", err)
	}
	if _, err := dp.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(n.AggregatesTable()),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)}}); err != nil {
		return fmt.Errorf("enable TTL: %w", err)
	}
	db := l.World.Region(B).DynamoDB()
	db.SetCreateDelay(0)
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:                 aws.String(n.ControlTable()),
		BillingMode:               ddbtypes.BillingModePayPerRequest,
		DeletionProtectionEnabled: aws.Bool(true),
		KeySchema:                 []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions:      []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
	}); err != nil {
		return fmt.Errorf("create control table: %w", err)
	}
	// The DR topic in B.
	if _, err := l.World.Region(B).SNS().CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(n.Topic())}); err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	// The accelerator (us-west-2 control plane).
	if err := l.createAccelerator(ctx); err != nil {
		return err
	}
	// Workload stacks: P active, B dormant. Hooks first, so creation runs them.
	for _, region := range []string{P, B} {
		cf := l.World.Region(region).CloudFormation()
		stack := n.Stack("workload", region)
		rt := l.regions[region]
		rt.stack = stack
		rt.albARN = cf.LoadBalancerARN(stack)
		rt.albDNS = cf.LoadBalancerDNSName(stack)
		l.ga().SetEndpointServing(rt.albARN, false) // no ALB until the stack is active
		cf.OnActivate(stack, func(ctx context.Context, active bool) error { return l.activate(ctx, region, active) })
		active := region == P
		if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{
			StackName:    aws.String(stack),
			TemplateBody: aws.String(`{"Description":"Pendulum workload (simulated)"}`),
			Parameters: []cftypes.Parameter{
				{ParameterKey: aws.String(topology.ActiveParameter), ParameterValue: aws.String(fmt.Sprint(active))},
				{ParameterKey: aws.String(topology.ConsumerParameter), ParameterValue: aws.String(fmt.Sprint(active))},
			},
		}); err != nil {
			return fmt.Errorf("create stack %s: %w", stack, err)
		}
	}
	// P's ALB is in P's endpoint group from the start (the global stack
	// reads its ARN from P's parameter); B's group starts empty.
	if _, err := l.ga().AddEndpoints(ctx, &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(l.PrimaryGroupARN),
		EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(l.regions[P].albARN), Weight: aws.Int32(100), ClientIPPreservationEnabled: aws.Bool(true)}}}); err != nil {
		return fmt.Errorf("add P's endpoint: %w", err)
	}
	// The health alarm in B, as the Recovery stack defines it.
	if _, err := l.World.Region(B).CloudWatch().PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(n.AlarmName()),
		AlarmDescription:   aws.String("P's regional ingest endpoint fails the canary; ALARM starts failover."),
		Namespace:          aws.String("Pendulum"),
		MetricName:         aws.String("EndpointHealthy"),
		Dimensions:         []cwtypes.Dimension{{Name: aws.String("Endpoint"), Value: aws.String(HealthTargetPrimary)}, {Name: aws.String("Region"), Value: aws.String(B)}},
		Statistic:          cwtypes.StatisticAverage,
		Period:             aws.Int32(60),
		Threshold:          aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
		EvaluationPeriods:  aws.Int32(AlarmEvaluationPeriods),
		DatapointsToAlarm:  aws.Int32(AlarmDatapointsToAlarm),
		TreatMissingData:   aws.String("notBreaching"),
		AlarmActions:       []string{n.TopicARN(B)},
		OKActions:          []string{n.TopicARN(B)},
	}); err != nil {
		return fmt.Errorf("put alarm: %w", err)
	}
	// Wait, in virtual time, for both stacks.
	for _, region := range []string{P, B} {
		if err := l.waitStack(ctx, region); err != nil {
			return err
		}
	}
	return nil
}

// waitStack waits until the region's workload stack is no longer in progress.
func (l *Local) waitStack(ctx context.Context, region string) error {
	cf := l.World.Region(region).CloudFormation()
	stack := l.regions[region].stack
	for range 200 {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
		if err != nil {
			return fmt.Errorf("describe %s: %w", stack, err)
		}
		switch st := out.Stacks[0].StackStatus; st {
		case cftypes.StackStatusCreateComplete, cftypes.StackStatusUpdateComplete:
			return nil
		case cftypes.StackStatusCreateInProgress, cftypes.StackStatusUpdateInProgress:
		default:
			return fmt.Errorf("stack %s is %s: %s", stack, st, aws.ToString(out.Stacks[0].StackStatusReason))
		}
		if err := l.Clock.Sleep(ctx, 15*time.Second); err != nil {
			return err
		}
	}
	return fmt.Errorf("stack %s did not complete", stack)
}

// createCatalog creates the Glue database and the raw and curated tables
// (partitioned by dt, hr) pointing at the region's own buckets.
func (l *Local) createCatalog(ctx context.Context, region string) error {
	g := l.World.Region(region).Glue()
	dbName := l.Names.GlueDatabase()
	if _, err := g.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String(dbName)}}); err != nil {
		return fmt.Errorf("create database in %s: %w", region, err)
	}
	for _, kind := range DataKinds {
		_, err := g.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String(dbName), TableInput: &gluetypes.TableInput{
			Name:          aws.String(kind),
			TableType:     aws.String("EXTERNAL_TABLE"),
			PartitionKeys: []gluetypes.Column{{Name: aws.String("dt"), Type: aws.String("string")}, {Name: aws.String("hr"), Type: aws.String("string")}},
			StorageDescriptor: &gluetypes.StorageDescriptor{
				Location: aws.String("s3://" + l.Names.Bucket(kind, region) + "/"),
				Columns:  []gluetypes.Column{{Name: aws.String("id"), Type: aws.String("string")}},
			},
		}})
		if err != nil {
			return fmt.Errorf("create table %s in %s: %w", kind, region, err)
		}
	}
	return nil
}

// createAccelerator creates the accelerator, its TCP listener and one
// endpoint group per region (P created first: the nearest for Route).
func (l *Local) createAccelerator(ctx context.Context) error {
	ga := l.ga()
	acc, err := ga.CreateAccelerator(ctx, &globalaccelerator.CreateAcceleratorInput{Name: aws.String(l.Names.Accelerator()),
		Enabled: aws.Bool(true), IdempotencyToken: aws.String("local")})
	if err != nil {
		return fmt.Errorf("create accelerator: %w", err)
	}
	if l.opts.Seed != 0 {
		ga.SetSeed(l.opts.Seed)
	}
	l.AcceleratorARN = aws.ToString(acc.Accelerator.AcceleratorArn)
	l.AcceleratorDNS = aws.ToString(acc.Accelerator.DnsName)
	lis, err := ga.CreateListener(ctx, &globalaccelerator.CreateListenerInput{AcceleratorArn: aws.String(l.AcceleratorARN),
		Protocol: gatypes.ProtocolTcp, PortRanges: []gatypes.PortRange{{FromPort: aws.Int32(80), ToPort: aws.Int32(80)}, {FromPort: aws.Int32(443), ToPort: aws.Int32(443)}},
		IdempotencyToken: aws.String("local")})
	if err != nil {
		return fmt.Errorf("create listener: %w", err)
	}
	for _, region := range []string{l.Regions.Primary, l.Regions.Backup} {
		grp, err := ga.CreateEndpointGroup(ctx, &globalaccelerator.CreateEndpointGroupInput{ListenerArn: lis.Listener.ListenerArn,
			EndpointGroupRegion: aws.String(region), HealthCheckPath: aws.String("/health"), HealthCheckProtocol: gatypes.HealthCheckProtocolHttp,
			HealthCheckIntervalSeconds: aws.Int32(30), ThresholdCount: aws.Int32(3), TrafficDialPercentage: aws.Float32(100),
			IdempotencyToken: aws.String("local-" + region)})
		if err != nil {
			return fmt.Errorf("create endpoint group %s: %w", region, err)
		}
		if region == l.Regions.Primary {
			l.PrimaryGroupARN = aws.ToString(grp.EndpointGroup.EndpointGroupArn)
		} else {
			l.BackupGroupARN = aws.ToString(grp.EndpointGroup.EndpointGroupArn)
		}
	}
	return nil
}
