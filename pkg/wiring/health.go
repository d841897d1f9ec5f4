package wiring

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pendulum-dr/pendulum/pkg/health"
)

// Health builds health, the scheduled canary that probes the endpoints of
// TARGETS and writes Embedded Metric Format lines to Stdout
// (PROBE_TIMEOUT_MS, AWS_REGION; pkg/health). It uses no SDK client, so
// it lives here, beside no SDK service.
func Health(rt Runtime) (lambda.Handler, error) {
	cfg, err := health.ConfigFromEnv(rt.Getenv)
	if err != nil {
		return nil, err
	}
	p := &health.Prober{Client: rt.HTTP, Targets: cfg.Targets, Timeout: cfg.Timeout, Region: cfg.Region, Metrics: rt.Stdout, Clock: rt.Clock}
	return Step("health", rt.Log, p.Handle), nil
}
