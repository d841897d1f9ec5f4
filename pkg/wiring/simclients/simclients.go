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
	if s.Name == "sfn" {
		return c.SFN
	}
	r := c.World.Region(region)
	switch s.Name {
	case "backup":
		return r.Backup()
	case "cloudformation":
		return r.CloudFormation()
	case "cloudwatch":
		return r.CloudWatch()
	case "dynamodb":
		return r.DynamoDB()
	case "firehose":
		return r.Firehose()
	case "globalaccelerator":
		return r.GlobalAccelerator()
	case "glue":
		return r.Glue()
	case "kinesis":
		return r.Kinesis()
	case "s3":
		return r.S3()
	case "sns":
		return r.SNS()
	case "sqs":
		return r.SQS()
	}
	panic(fmt.Sprintf("simclients: no simulated service %q", s.Name))
}
