// Package simclients is wiring.Clients over the simulator: a function's
// client of a service is the simulated region's (pkg/sim), so the local
// runner and the tests run the functions exactly as wiring builds them. It
// is not imported by any function's bootstrap.
package simclients

import (
	"fmt"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
)

// Clients serves the clients of World's regions.
type Clients struct {
	World *sim.World
	// SFN is the Step Functions client of every region (pkg/states'
	// engine, which is not part of World), for dr-control and dr-report;
	// nil leaves them without one.
	SFN any
}

var _ wiring.Clients = Clients{}

// Client returns the simulated service s of region.
func (c Clients) Client(s wiring.Service, region string) any {
	if client, ok := c.Lookup(s.Name, region); ok {
		return client
	}
	panic(fmt.Sprintf("simclients: no simulated service %q", s.Name))
}

// Lookup returns region's simulated service by its SDK service name
// ("dynamodb", "s3", …: the names of wiring.Service and of the aws-sdk
// Step Functions integrations alike), or false for a service the
// simulator does not have.
func (c Clients) Lookup(name, region string) (any, bool) {
	if name == "sfn" {
		return c.SFN, c.SFN != nil
	}
	r := c.World.Region(region)
	switch name {
	case "backup":
		return r.Backup(), true
	case "cloudformation":
		return r.CloudFormation(), true
	case "cloudwatch":
		return r.CloudWatch(), true
	case "dynamodb":
		return r.DynamoDB(), true
	case "firehose":
		return r.Firehose(), true
	case "globalaccelerator":
		return r.GlobalAccelerator(), true
	case "glue":
		return r.Glue(), true
	case "kinesis":
		return r.Kinesis(), true
	case "s3":
		return r.S3(), true
	case "sns":
		return r.SNS(), true
	case "sqs":
		return r.SQS(), true
	}
	return nil, false
}
