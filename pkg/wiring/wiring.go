// Package wiring builds each Lambda of functions/ from its environment and
// its SDK clients: the one wiring its main.go and the local runner
// (pkg/local) share, so the function a drill rehearses is the function AWS
// runs.
//
// Each function has one constructor, named for it, that reads the
// function's environment through Runtime.Getenv, asks Runtime.Clients for
// the clients of the regions it works on, and returns its lambda.Handler
// behind the one error edge every function has (Step, Source). A
// constructor's error is a configuration error that names the variable at
// fault; Main turns it into ExitConfiguration.
//
// The constructors live by the SDK services they import, because the
// Lambda bootstrap size budget (the Makefile's MAX_BOOTSTRAP_BYTES) counts
// every package a bootstrap imports, used or not: importing an SDK service
// links its package initialization (schemas, endpoint tables), about
// 2.4 MB for the eight services compact does not use. So:
//
//   - wiring (this package): Runtime, Main and the edge;
//   - wiring/workload: Ingest, Partitions, Aggregate (Kinesis, Glue,
//     DynamoDB);
//   - wiring/monitor: Health (DynamoDB, for the pipeline check);
//   - wiring/batch: Compact, CompactPlan (S3);
//   - wiring/recovery: the dr-* functions (pkg/dr's services) and
//     readiness (pkg/readiness: the same services and SNS);
//   - wiring/simclients: Clients over the simulator, for pkg/local and the
//     tests.
//
// This package imports no SDK service, and nothing here makes a client
// before a constructor asks for it. Keep it so: no package-level table of
// constructors, no client made at init.
package wiring

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// Runtime is everything that differs between a function in AWS and the
// same function in the simulation.
type Runtime struct {
	// Getenv reads the function's environment, as its template sets it
	// (os.Getenv in Lambda).
	Getenv func(string) string
	// Clients makes the SDK clients of a region.
	Clients Clients
	// Clock is the time source (clock.Real in Lambda, the installation's
	// virtual clock locally).
	Clock clock.Clock
	// HTTP sends the HTTP requests of health and dr-probe.
	HTTP *http.Client
	// Stdout receives Embedded Metric Format lines (os.Stdout in Lambda,
	// whose log CloudWatch turns into metrics).
	Stdout io.Writer
	// Log is the function's logger.
	Log *slog.Logger
}

// Clients makes SDK clients: in Lambda from the AWS configuration, in the
// simulation the simulated region's (package simclients).
type Clients interface {
	// Client returns the client of service s for region.
	Client(s Service, region string) any
}

// Service is an AWS service as a constructor asks Clients for its client.
// A constructor's package defines one per service it uses, so that only it
// imports the service's SDK package.
type Service struct {
	// Name is the service's SDK package name ("dynamodb"), by which the
	// simulation picks its simulated service.
	Name string
	// FromConfig makes the SDK's client for region from the AWS
	// configuration.
	FromConfig func(cfg aws.Config, region string) any
}

// Client returns the client of s for region from rt.Clients as API, the
// union of the methods a constructor package's functions call on that
// service, with the SDK's signatures. A client that lacks one is a
// programming error, which the tests that build every function catch.
func Client[API any](rt Runtime, s Service, region string) API {
	c := rt.Clients.Client(s, region)
	api, ok := c.(API)
	if !ok {
		panic(fmt.Sprintf("wiring: the %s client %T does not implement %T", s.Name, c, (*API)(nil)))
	}
	return api
}
