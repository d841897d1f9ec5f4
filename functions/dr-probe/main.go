// Command dr-probe checks that the accelerator routes to the expected
// region (GET /health and a canary POST /records answered with that region
// in X-Pendulum-Region), and that a region's health canary reported healthy
// for a whole window. The logic lives in pkg/dr (Probe).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-probe: configuration: %v\n", err)
		os.Exit(2)
	}
	// The canary runs in B and publishes its metrics there.
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.BackupRegion))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-probe: aws configuration: %v\n", err)
		os.Exit(2)
	}
	p := &dr.Probe{
		// A short timeout per request: the state machine retries a probe
		// while GA moves traffic, so a slow answer is a retry, not a hang.
		HTTP:          &http.Client{Timeout: 10 * time.Second},
		Metrics:       cloudwatch.NewFromConfig(awsCfg),
		VantageRegion: cfg.BackupRegion,
		Clock:         clock.Real{},
	}
	lambda.StartHandlerFunc(dr.Edge("dr-probe", log, p.Handle))
}
