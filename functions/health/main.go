// Command health is the scheduled canary Lambda (every minute, in the backup
// region): it probes the configured endpoints and emits CloudWatch Embedded
// Metric Format lines (see pkg/health).
//
// Environment: TARGETS (required, JSON array of {"name","url"}),
// PROBE_TIMEOUT_MS (default 5000), AWS_REGION (required).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pendulum-dr/pendulum/pkg/health"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg, err := health.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "health:", err)
		os.Exit(1)
	}
	p := &health.Prober{
		// No client-wide timeout: each probe carries its own deadline.
		Client:  &http.Client{},
		Targets: cfg.Targets,
		Timeout: cfg.Timeout,
		Region:  cfg.Region,
		Metrics: os.Stdout,
	}
	lambda.StartHandlerFunc(func(ctx context.Context, ev health.Event) (health.Summary, error) {
		s, err := p.Handle(ctx, ev)
		if err != nil {
			slog.ErrorContext(ctx, "probe round failed", "err", err)
			return s, err
		}
		slog.InfoContext(ctx, "probed", "healthy", s.Healthy, "unhealthy", s.Unhealthy, "canaryId", s.CanaryID)
		return s, nil
	})
}
