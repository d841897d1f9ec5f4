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
