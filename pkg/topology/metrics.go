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
