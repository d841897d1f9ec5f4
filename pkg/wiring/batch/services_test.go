package batch

import (
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// The SDK's client and the simulator's satisfy these functions' view of
// S3.
var (
	_ S3API = (*s3.Client)(nil)
	_ S3API = (*sim.S3)(nil)
)
