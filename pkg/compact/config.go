package compact

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pendulum-dr/pendulum/pkg/compact/plan"
)

// The variables Config is read from; infra sets them on the compact function.
const (
	// EnvRawBucket names the variable holding the raw bucket the NDJSON is
	// read from (Config.RawBucket): compact-plan's variable, the same one.
	EnvRawBucket = plan.EnvRawBucket
	// EnvCuratedBucket names the variable holding the curated bucket the
	// Parquet files are written to (Config.CuratedBucket).
	EnvCuratedBucket = "CURATED_BUCKET"
)

// Config is the compact function's configuration, read from the
// environment at start.
type Config struct {
	// RawBucket (RAW_BUCKET, required) holds Firehose's gzip NDJSON.
	RawBucket string
	// CuratedBucket (CURATED_BUCKET, required) receives the Parquet files.
	CuratedBucket string
	// Region (AWS_REGION, required; Lambda always sets it) is where the
	// buckets are.
	Region string
}

// ErrConfig is in the chain of every configuration error.
var ErrConfig = errors.New("invalid configuration")

// ConfigFromEnv reads the configuration through getenv (os.Getenv). The
// error names every missing or invalid variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		RawBucket:     strings.TrimSpace(getenv(EnvRawBucket)),
		CuratedBucket: strings.TrimSpace(getenv(EnvCuratedBucket)),
		Region:        strings.TrimSpace(getenv("AWS_REGION")),
	}
	var problems []string
	for _, v := range [][2]string{{EnvRawBucket, c.RawBucket}, {EnvCuratedBucket, c.CuratedBucket}} {
		if p := plan.CheckBucketVar(v[0], v[1]); p != "" {
			problems = append(problems, p)
		}
	}
	if c.Region == "" {
		problems = append(problems, "AWS_REGION is not set")
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return c, nil
}
