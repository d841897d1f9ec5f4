package sim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// The latency model: how long AWS takes to answer an API call. Every call
// that reaches a service (Region.call) advances the caller's virtual time
// by its operation's figure in apiLatencies before the service acts on it;
// a Lambda invocation adds the service's own overhead and, when it needs a
// new execution environment, a cold start (lambdaInvokeOverhead,
// lambdaColdStart). docs/aws-facts.md "API call latencies" is this table,
// rendered by latencyTableMarkdown (TestLatencyTableDocumented keeps the
// two the same), with where each figure comes from.
//
// Figures are fixed, not drawn from a distribution, so a rehearsal's
// timeline is reproducible; they stand for a median, same-region call.
// Not modelled: the round trip between regions when a caller in one
// region calls another region's endpoint, payload transfer time (the
// workload's objects and items are small), throttling delays, and the
// time a call to a region that is down takes to fail.

// latencyRow is the latency of some operations of one service: base per
// call, plus perItem for each item the request carries (latencyItems).
type latencyRow struct {
	service string
	// ops are the operations the row covers; nil: every operation of the
	// service no other row names.
	ops     []string
	base    time.Duration
	perItem time.Duration
	unit    string // what perItem counts, for the documentation
	basis   string // where the figure comes from (Markdown)
}

// Where the figures come from. An "assumption" is our modelling choice
// where AWS publishes no figure; the basis says why that value.
const (
	basisDynamoDB = `AWS: the developer guide promises responses in single-digit milliseconds whatever the table's size ` +
		`(<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Introduction.html>)`
	basisDynamoDBMulti = `assumption: a request of many items is served in parallel inside DynamoDB, ` +
		`so it costs a single-item call and a little per item`
	basisDynamoDBTxn = `assumption: a transaction runs in two phases (DynamoDB charges two writes per item, ` +
		`<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html>), so twice a single write and a little per action`
	basisDynamoDBPage = `assumption: a page reads up to 1 MB, several single-digit-millisecond reads`
	basisS3           = `AWS: for small requests (under 512 KB) S3's median latency is typically tens of milliseconds ` +
		`(<https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html>)`
	basisS3List   = `assumption: a listing page (up to 1,000 keys) is a larger answer than an object request`
	basisS3Config = `assumption: no AWS figure; a bucket's configuration is read or changed on the bucket's ` +
		`control plane, slower than object requests`
	basisCatalogWrite = `assumption: no AWS figure; a write to the Data Catalog, slower than a read`
	basisSQS          = `AWS: the SQS guide's example of a same-Region request latency is 20 ms, and a batch ` +
		`spreads one request's latency over its messages ` +
		`(<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-throughput-horizontal-scaling-and-batching.html>)`
	basisData     = `assumption: no AWS figure; a same-Region data-plane request, as SQS's 20 ms example`
	basisBatch    = `assumption: no AWS figure; a data-plane request, plus a little per record it carries`
	basisDescribe = `assumption: no AWS figure; a read of a resource's configuration`
	basisControl  = `assumption: no AWS figure; a control-plane change is validated and recorded before ` +
		`the call returns (the resource's own progress, such as a table turning ACTIVE, is modelled apart)`
	basisStack = `assumption: no AWS figure; CreateStack, UpdateStack and DeleteStack validate the ` +
		`template and start the operation (each resource's creation time is modelled apart, ` +
		`"CloudFormation resource times"), CreateChangeSet and ExecuteChangeSet likewise for a change set`
	basisBatchJob = `assumption: no AWS figure; creating a Batch Operations job records it (its manifest and ` +
		`tasks are modelled apart, "S3 Batch Replication")`
	basisJob = `assumption: no AWS figure; starting a job records it and checks the source and vault (the job's ` +
		`duration is modelled apart, "AWS Backup cross-Region copy")`
	basisGA = `assumption: no AWS figure; the Global Accelerator API is served only from us-west-2 ` +
		`("Global Accelerator"), a continent away from the US East Regions`
	basisLambdaInvoke = `assumption: no AWS figure; the request to Lambda's endpoint, the invocation's own ` +
		`overhead and cold start being the next rows`
)

// apiLatencies is the table: every operation of every service resolves to
// a row (TestLatencyEveryOperationHasAFigure).
var apiLatencies = []latencyRow{
	{service: ddbServiceID, ops: []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem"}, base: 5 * time.Millisecond, basis: basisDynamoDB},
	{service: ddbServiceID, ops: []string{"BatchGetItem", "BatchWriteItem"}, base: 5 * time.Millisecond, perItem: 500 * time.Microsecond, unit: "item", basis: basisDynamoDBMulti},
	{service: ddbServiceID, ops: []string{"TransactWriteItems", "TransactGetItems"}, base: 10 * time.Millisecond, perItem: 500 * time.Microsecond, unit: "action", basis: basisDynamoDBTxn},
	{service: ddbServiceID, ops: []string{"Query"}, base: 10 * time.Millisecond, basis: basisDynamoDBPage},
	{service: ddbServiceID, ops: []string{"Scan"}, base: 20 * time.Millisecond, basis: basisDynamoDBPage},
	{service: ddbServiceID, ops: []string{"CreateTable", "DeleteTable", "UpdateTable", "RestoreTableToPointInTime", "UpdateContinuousBackups", "UpdateTimeToLive", "TagResource", "UntagResource"}, base: 100 * time.Millisecond, basis: basisControl},
	{service: ddbServiceID, base: 20 * time.Millisecond, basis: basisDescribe},

	{service: s3.ServiceID, ops: []string{"GetObject", "PutObject", "HeadObject", "DeleteObject", "CopyObject"}, base: 30 * time.Millisecond, basis: basisS3},
	{service: s3.ServiceID, ops: []string{"DeleteObjects"}, base: 30 * time.Millisecond, perItem: time.Millisecond, unit: "key", basis: basisS3},
	{service: s3.ServiceID, ops: []string{"ListObjectsV2", "ListObjectVersions"}, base: 50 * time.Millisecond, basis: basisS3List},
	{service: s3.ServiceID, base: 100 * time.Millisecond, basis: basisS3Config},

	{service: kinesis.ServiceID, ops: []string{"PutRecords"}, base: 20 * time.Millisecond, perItem: 50 * time.Microsecond, unit: "record", basis: basisBatch},
	{service: kinesis.ServiceID, ops: []string{"CreateStream", "DeleteStream", "IncreaseStreamRetentionPeriod", "DecreaseStreamRetentionPeriod"}, base: 100 * time.Millisecond, basis: basisControl},
	{service: kinesis.ServiceID, base: 20 * time.Millisecond, basis: basisData},

	{service: firehose.ServiceID, ops: []string{"PutRecordBatch"}, base: 20 * time.Millisecond, perItem: 50 * time.Microsecond, unit: "record", basis: basisBatch},
	{service: firehose.ServiceID, ops: []string{"CreateDeliveryStream", "DeleteDeliveryStream"}, base: 100 * time.Millisecond, basis: basisControl},
	{service: firehose.ServiceID, base: 20 * time.Millisecond, basis: basisData},

	{service: sqs.ServiceID, ops: []string{"CreateQueue", "DeleteQueue", "SetQueueAttributes"}, base: 100 * time.Millisecond, basis: basisControl},
	{service: sqs.ServiceID, base: 20 * time.Millisecond, basis: basisSQS},

	{service: sns.ServiceID, ops: []string{"CreateTopic", "Subscribe"}, base: 100 * time.Millisecond, basis: basisControl},
	{service: sns.ServiceID, base: 20 * time.Millisecond, basis: basisData},

	{service: lambda.ServiceID, ops: []string{"Invoke"}, base: 10 * time.Millisecond, basis: basisLambdaInvoke},
	{service: lambda.ServiceID, ops: []string{"GetFunction", "GetFunctionConfiguration", "GetEventSourceMapping"}, base: 20 * time.Millisecond, basis: basisDescribe},
	{service: lambda.ServiceID, base: 100 * time.Millisecond, basis: basisControl},

	{service: glue.ServiceID, ops: []string{"BatchCreatePartition"}, base: 50 * time.Millisecond, perItem: 2 * time.Millisecond, unit: "partition", basis: basisBatch},
	{service: glue.ServiceID, ops: []string{"BatchGetPartition"}, base: 30 * time.Millisecond, perItem: 500 * time.Microsecond, unit: "partition", basis: basisBatch},
	{service: glue.ServiceID, ops: []string{"GetDatabase", "GetTable", "GetTables", "GetPartition", "GetPartitions"}, base: 30 * time.Millisecond, basis: basisDescribe},
	{service: glue.ServiceID, ops: []string{"CreatePartition"}, base: 50 * time.Millisecond, basis: basisCatalogWrite},
	{service: glue.ServiceID, base: 100 * time.Millisecond, basis: basisControl},

	{service: cloudformation.ServiceID, ops: []string{"CreateStack", "UpdateStack", "DeleteStack", "CreateChangeSet", "ExecuteChangeSet"}, base: 500 * time.Millisecond, basis: basisStack},
	{service: cloudformation.ServiceID, base: 50 * time.Millisecond, basis: basisDescribe},

	{service: cloudwatch.ServiceID, ops: []string{"PutMetricData"}, base: 20 * time.Millisecond, basis: basisData},
	{service: cloudwatch.ServiceID, ops: []string{"GetMetricStatistics", "GetMetricData", "ListMetrics", "DescribeAlarms", "GetDashboard", "ListDashboards"}, base: 50 * time.Millisecond, basis: basisDescribe},
	{service: cloudwatch.ServiceID, base: 100 * time.Millisecond, basis: basisControl},

	{service: eventbridge.ServiceID, ops: []string{"PutEvents"}, base: 20 * time.Millisecond, basis: basisData},
	{service: eventbridge.ServiceID, ops: []string{"DescribeRule", "ListTargetsByRule"}, base: 20 * time.Millisecond, basis: basisDescribe},
	{service: eventbridge.ServiceID, base: 100 * time.Millisecond, basis: basisControl},

	{service: scheduler.ServiceID, ops: []string{"GetSchedule"}, base: 20 * time.Millisecond, basis: basisDescribe},
	{service: scheduler.ServiceID, base: 100 * time.Millisecond, basis: basisControl},

	{service: ssm.ServiceID, ops: []string{"GetParameter", "GetParameters"}, base: 20 * time.Millisecond, basis: basisData},
	{service: ssm.ServiceID, base: 100 * time.Millisecond, basis: basisControl},

	{service: backupServiceID, ops: []string{"StartBackupJob", "StartCopyJob", "StartRestoreJob"}, base: 300 * time.Millisecond, basis: basisJob},
	{service: backupServiceID, ops: []string{"CreateBackupVault", "CreateBackupPlan", "DeleteBackupPlan", "CreateBackupSelection", "DeleteBackupSelection"}, base: 100 * time.Millisecond, basis: basisControl},
	{service: backupServiceID, base: 50 * time.Millisecond, basis: basisDescribe},

	{service: acm.ServiceID, ops: []string{"DescribeCertificate"}, base: 20 * time.Millisecond, basis: basisDescribe},
	{service: acm.ServiceID, base: 100 * time.Millisecond, basis: basisControl},

	{service: s3control.ServiceID, ops: []string{"CreateJob"}, base: 100 * time.Millisecond, basis: basisBatchJob},
	{service: s3control.ServiceID, base: 50 * time.Millisecond, basis: basisDescribe},

	{service: globalaccelerator.ServiceID, ops: []string{"DescribeAccelerator", "DescribeEndpointGroup", "ListAccelerators", "ListEndpointGroups", "ListListeners"}, base: 100 * time.Millisecond, basis: basisGA},
	{service: globalaccelerator.ServiceID, base: 200 * time.Millisecond, basis: basisGA},
}

// The invocation's own time, on every path that runs a function (the
// Invoke API, asynchronous events, event-source mappings, a load
// balancer's target): Lambda's overhead to route the event to an
// execution environment, and a cold start when no warm environment is
// free. Lambda's fields InvokeLatency and ColdStart start from them.
const (
	lambdaInvokeOverhead = 10 * time.Millisecond
	lambdaColdStart      = 250 * time.Millisecond
)

// lambdaLatencies documents the two figures in the table's form.
var lambdaLatencies = []latencyRow{
	{service: "Lambda (every invocation)", ops: []string{"routing the event to an execution environment"}, base: lambdaInvokeOverhead,
		basis: `assumption: no AWS figure for the service's own overhead; with the Invoke request above a warm synchronous ` +
			`invocation costs 20 ms besides the handler`},
	{service: "Lambda (cold start)", ops: []string{"a new execution environment: the first invocation after a change, or all warm ones busy"}, base: lambdaColdStart,
		basis: `AWS: cold starts range from under 100 ms to more than a second ` +
			`(<https://docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html>); 250 ms is our choice for a small static Go binary ` +
			`on provided.al2023 with no VPC`},
}

type latencyKey struct{ service, operation string }

// latencyIndex finds an operation's row: latencyKey{service, op}, or
// latencyKey{service, ""} for the service's other operations.
var latencyIndex = func() map[latencyKey]*latencyRow {
	m := make(map[latencyKey]*latencyRow, 200)
	for i := range apiLatencies {
		row := &apiLatencies[i]
		if row.ops == nil {
			m[latencyKey{row.service, ""}] = row
		}
		for _, op := range row.ops {
			m[latencyKey{row.service, op}] = row
		}
	}
	return m
}()

// latencyRowOf returns the row of an operation, nil when the table has
// none for its service.
func latencyRowOf(service, operation string) *latencyRow {
	if row := latencyIndex[latencyKey{service, operation}]; row != nil {
		return row
	}
	return latencyIndex[latencyKey{service, ""}]
}

// CallLatency returns how long a call of the operation takes, with in its
// input (whose items a batch operation's figure counts), to the nearest
// millisecond (the resolution of the services' timestamps). It is the
// time a metered call advances its caller's clock by.
func CallLatency(service, operation string, in any) time.Duration {
	row := latencyRowOf(service, operation)
	if row == nil {
		return 0
	}
	d := row.base
	if row.perItem > 0 {
		d += time.Duration(latencyItems(in)) * row.perItem
	}
	return d.Round(time.Millisecond)
}

// latencyItems counts the items a batch request carries.
func latencyItems(in any) int {
	n := 0
	switch in := in.(type) {
	case *dynamodb.BatchWriteItemInput:
		for _, reqs := range in.RequestItems {
			n += len(reqs)
		}
	case *dynamodb.BatchGetItemInput:
		for _, ka := range in.RequestItems {
			n += len(ka.Keys)
		}
	case *dynamodb.TransactWriteItemsInput:
		n = len(in.TransactItems)
	case *dynamodb.TransactGetItemsInput:
		n = len(in.TransactItems)
	case *kinesis.PutRecordsInput:
		n = len(in.Records)
	case *firehose.PutRecordBatchInput:
		n = len(in.Records)
	case *glue.BatchCreatePartitionInput:
		n = len(in.PartitionInputList)
	case *glue.BatchGetPartitionInput:
		n = len(in.PartitionsToGet)
	case *s3.DeleteObjectsInput:
		if in.Delete != nil {
			n = len(in.Delete.Objects)
		}
	}
	return n
}

// unmeteredKey marks a context whose calls take no virtual time.
type unmeteredKey struct{}

// Unmetered returns ctx marked so that simulated API calls made with it
// take no virtual time. It is for calls that are not part of the timeline
// being rehearsed: an observer's reads (a drill's accounting, a test's
// assertions, an installation reading its own deployment), and the
// simulated services' own work whose timing they model themselves
// (CloudFormation's resource times, Firehose's buffering, replication
// lag, event-source mapping polls), which a second charge would count
// twice. A goroutine the clock does not account for must call with such a
// context: a metered call sleeps on the clock.
func Unmetered(ctx context.Context) context.Context {
	return context.WithValue(ctx, unmeteredKey{}, true)
}

// metered reports whether calls made with ctx take virtual time.
func metered(ctx context.Context) bool {
	off, _ := ctx.Value(unmeteredKey{}).(bool)
	return !off
}

// latencyTableMarkdown renders the table for docs/aws-facts.md.
func latencyTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| service | operations | latency | basis |\n")
	b.WriteString("| --- | --- | --- | --- |\n")
	for _, rows := range [][]latencyRow{apiLatencies, lambdaLatencies} {
		for _, row := range rows {
			ops := "every other operation"
			if row.ops != nil {
				ops = strings.Join(row.ops, ", ")
			}
			lat := millis(row.base)
			if row.perItem > 0 {
				lat += fmt.Sprintf(" + %s per %s", millis(row.perItem), row.unit)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.service, ops, lat, row.basis)
		}
	}
	return b.String()
}

// millis writes d in milliseconds: "5 ms", "0.05 ms".
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + " ms"
}
