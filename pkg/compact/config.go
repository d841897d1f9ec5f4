package compact

import (
	"errors"
	"fmt"
	"strings"
)

// Config is the compact and compact-plan functions' configuration, read
// from the environment at start.
type Config struct {
	// RawBucket (RAW_BUCKET, required) holds Firehose's gzip NDJSON.
	RawBucket string
	// CuratedBucket (CURATED_BUCKET, required by compact only) receives
	// the Parquet files.
	CuratedBucket string
	// Region (AWS_REGION, required; Lambda always sets it) is where the
	// buckets are.
	Region string
}

// ErrConfig is in the chain of every configuration error.
var ErrConfig = errors.New("invalid configuration")

// ConfigFromEnv reads the configuration through getenv (os.Getenv).
// needCurated says whether CURATED_BUCKET is required (compact) or ignored
// (compact-plan). The error names every missing or invalid variable.
func ConfigFromEnv(getenv func(string) string, needCurated bool) (Config, error) {
	c := Config{
		RawBucket:     strings.TrimSpace(getenv("RAW_BUCKET")),
		CuratedBucket: strings.TrimSpace(getenv("CURATED_BUCKET")),
		Region:        strings.TrimSpace(getenv("AWS_REGION")),
	}
	var problems []string
	check := func(name, v string, required bool) {
		switch {
		case v == "" && required:
			problems = append(problems, name+" is not set")
		case strings.ContainsAny(v, "/ ") || strings.HasPrefix(v, "s3:"):
			problems = append(problems, fmt.Sprintf("%s=%q is not a bucket name", name, v))
		}
	}
	check("RAW_BUCKET", c.RawBucket, true)
	if needCurated {
		check("CURATED_BUCKET", c.CuratedBucket, true)
	}
	if c.Region == "" {
		problems = append(problems, "AWS_REGION is not set")
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return c, nil
}
