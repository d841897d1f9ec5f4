package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// ExitConfiguration is the exit status of every function that cannot
// start because its configuration is wrong: an environment variable missing
// or invalid, or an AWS configuration that does not load. Lambda reports it
// as the init failure's exit status; one value for every function means
// one alarm and one runbook entry.
const ExitConfiguration = 2

// Main is every function's main: it sets the JSON logger Lambda's
// advanced logging controls expect, builds the function with build (its
// constructor, e.g. Ingest) on the Lambda environment (os.Getenv, SDK
// clients of the default AWS configuration for AWS_REGION, the wall clock,
// stdout) and serves it with lambda.Start. A configuration error is printed
// to stderr as "<name>: configuration: <err>" and exits with
// ExitConfiguration before any Runtime API call, so the function fails at
// init instead of at its first event.
func Main(name string, build func(Runtime) (lambda.Handler, error)) {
	slog.SetDefault(lambdacontext.NewLogger())
	clients := &awsClients{region: os.Getenv("AWS_REGION")}
	h, err := build(Runtime{
		Getenv:  os.Getenv,
		Clients: clients,
		Clock:   clock.Real{},
		// No client-wide timeout: health gives each probe its own deadline
		// and dr-probe sets its own timeout.
		HTTP:   &http.Client{},
		Stdout: os.Stdout,
		Log:    slog.Default(),
	})
	if clients.err != nil {
		err = errors.Join(err, fmt.Errorf("load AWS configuration: %w", clients.err))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: configuration: %v\n", name, err)
		os.Exit(ExitConfiguration)
	}
	lambda.Start(h)
}

// awsClients makes SDK clients from the default AWS configuration, which
// it loads when the first client is made: a function that makes none (health
// without its pipeline check) then loads no AWS configuration. Every
// constructor makes its clients while it builds, so Main sees a loading
// error in err before the function starts.
type awsClients struct {
	region string

	once sync.Once
	cfg  aws.Config
	err  error
}

func (c *awsClients) config() aws.Config {
	c.once.Do(func() {
		c.cfg, c.err = config.LoadDefaultConfig(context.Background(), config.WithRegion(c.region))
	})
	return c.cfg
}

// Client makes s's client for region, its region set explicitly: a
// function reaches the other region's services (failback works on P from
// B) and Global Accelerator's control plane in us-west-2.
func (c *awsClients) Client(s Service, region string) any {
	return s.FromConfig(c.config(), region)
}
