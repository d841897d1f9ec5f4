package topology

// The installation's own CloudWatch metrics: the namespace, and the health
// canary's metric that the alarm starting failover watches (and dr-probe
// reads). Spelled here once for the health Lambda, the DR steps and the CDK
// app.
const (
	// MetricNamespace is the namespace of every Pendulum metric.
	MetricNamespace = "Pendulum"
	// MetricEndpointHealthy is the canary's 1/0 health of an endpoint.
	MetricEndpointHealthy = "EndpointHealthy"
)

// The ingest Lambda's metrics (Embedded Metric Format, pkg/ingest), per
// invocation, dimension Region (the serving region): dr-drain reads
// RecordsAccepted to tell a region is drained, the CDK app's dashboard
// shows them all.
const (
	IngestMetricNamespace   = "Pendulum/Ingest"
	MetricRecordsAccepted   = "RecordsAccepted"
	MetricRecordsRejected   = "RecordsRejected"
	MetricRecordsFailed     = "RecordsFailed"
	MetricPutRecordsRetries = "PutRecordsRetries"
	// MetricRecordsConflicting counts records refused because their id
	// was accepted with other content; MetricIdempotencyRetries the
	// retried writes to the idempotency table.
	MetricRecordsConflicting = "RecordsConflicting"
	MetricIdempotencyRetries = "IdempotencyRetries"
	IngestDimensionRegion    = "Region"
)

// The readiness check's metrics (pkg/readiness publishes them in B, in
// MetricNamespace): Ready (1 ready, 0 not), ReadinessCheck (1/0 per check,
// dimension Check) and DRMode. The CDK app's alarm and dashboard and
// `pendulum status` read them by these names.
const (
	MetricReady             = "Ready"
	MetricReadinessCheck    = "ReadinessCheck"
	ReadinessDimensionCheck = "Check"
	MetricDRMode            = "DRMode"
)

// The S3 replication metrics (namespace AWS/S3, published per rule in the
// destination bucket's region, dimensions SourceBucket, DestinationBucket,
// RuleId): the readiness check, the CDK app's alarms and dashboard, and
// `pendulum status` read them by these names.
const (
	S3MetricNamespace              = "AWS/S3"
	S3ReplicationLatency           = "ReplicationLatency"
	S3OperationsPendingReplication = "OperationsPendingReplication"
	S3BytesPendingReplication      = "BytesPendingReplication"
	S3DimensionSourceBucket        = "SourceBucket"
	S3DimensionDestinationBucket   = "DestinationBucket"
	S3DimensionRuleID              = "RuleId"
)
