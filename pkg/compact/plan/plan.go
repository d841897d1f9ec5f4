// Package plan names the nightly batch's unit of work, one hour partition of
// the raw bucket, and finds the hour partitions of a day.
//
// It is apart from package compact so the compact-plan Lambda does not link
// the Parquet library (about 7 MB of the compact bootstrap).
package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
)

// ObjectLister lists a bucket's keys, as *s3.Client does.
type ObjectLister interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// TableRaw is the only table the nightly batch compacts: the raw bucket's
// records, under dt=YYYY-MM-DD/hr=HH/ (the Firehose prefix).
const TableRaw = "raw"

// Partition is one hour partition: a Map item of the nightly batch and the
// compact function's input.
type Partition struct {
	// Table is the table; "" means TableRaw.
	Table string `json:"table"`
	// DT is the partition's date, YYYY-MM-DD (UTC).
	DT string `json:"dt"`
	// HR is the partition's hour, 00–23 (UTC).
	HR string `json:"hr"`
}

// Validate checks the partition and fills in defaults. A problem is an
// InvalidInputError naming the field.
func (p *Partition) Validate() error {
	if p.Table == "" {
		p.Table = TableRaw
	}
	if p.Table != TableRaw {
		return fault.InvalidErr(fmt.Errorf("table %q: unknown table (want %q)", p.Table, TableRaw))
	}
	if err := CheckDate(p.DT); err != nil {
		return fault.InvalidErr(fmt.Errorf("dt: %w", err))
	}
	if err := CheckHour(p.HR); err != nil {
		return fault.InvalidErr(fmt.Errorf("hr: %w", err))
	}
	return nil
}

// Prefix returns the partition's key prefix, the same in the raw and the
// curated bucket: dt=YYYY-MM-DD/hr=HH/.
func (p Partition) Prefix() string { return "dt=" + p.DT + "/hr=" + p.HR + "/" }

// CheckDate accepts exactly YYYY-MM-DD naming a real calendar day.
func CheckDate(s string) error {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return fmt.Errorf("%q is not a date in the form YYYY-MM-DD", s)
	}
	return nil
}

// CheckHour accepts exactly two digits 00–23.
func CheckHour(s string) error {
	if len(s) != 2 || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' || (s[0] == '2' && s[1] > '3') {
		return fmt.Errorf("%q is not an hour 00-23", s)
	}
	return nil
}

// Input asks for the hour partitions of one day. Both fields are optional:
// Date defaults to the UTC day before Now, and Now (the state machine
// passes $$.Execution.StartTime, RFC 3339) defaults to the planner's clock.
type Input struct {
	Date string `json:"date,omitempty"`
	Now  string `json:"now,omitempty"`
}

// Plan lists the hour partitions to compact.
type Plan struct {
	Date       string      `json:"date"`
	Partitions []Partition `json:"partitions"`
}

// Planner finds the hour partitions of a day in the raw bucket.
type Planner struct {
	Raw       ObjectLister
	RawBucket string
	// Clock supplies "now" when the input has none; nil means clock.Real.
	Clock clock.Clock
}

// Plan returns the day's hour partitions that exist in the raw bucket, in
// hour order; an empty list when the day has none. A bad date or now is an
// InvalidInputError.
func (p *Planner) Plan(ctx context.Context, in Input) (Plan, error) {
	date, err := p.date(in)
	if err != nil {
		return Plan{}, fault.InvalidErr(err)
	}
	plan := Plan{Date: date, Partitions: []Partition{}}
	prefix := "dt=" + date + "/"
	pg := s3.NewListObjectsV2Paginator(p.Raw, &s3.ListObjectsV2Input{
		Bucket:    aws.String(p.RawBucket),
		Prefix:    aws.String(prefix),
		Delimiter: aws.String("/"),
	})
	seen := map[string]bool{}
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return Plan{}, fmt.Errorf("list s3://%s/%s: %w", p.RawBucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			// "dt=2026-11-24/hr=07/" → "07"; anything else under the day
			// is not an hour partition.
			rest := strings.TrimPrefix(aws.ToString(cp.Prefix), prefix)
			hr, ok := strings.CutPrefix(strings.TrimSuffix(rest, "/"), "hr=")
			if !ok || CheckHour(hr) != nil || seen[hr] {
				continue
			}
			seen[hr] = true
			plan.Partitions = append(plan.Partitions, Partition{Table: TableRaw, DT: date, HR: hr})
		}
	}
	slices.SortFunc(plan.Partitions, func(a, b Partition) int { return strings.Compare(a.HR, b.HR) })
	return plan, nil
}

// date resolves the day to plan.
func (p *Planner) date(in Input) (string, error) {
	if in.Date != "" {
		if err := CheckDate(in.Date); err != nil {
			return "", fmt.Errorf("date: %w", err)
		}
		return in.Date, nil
	}
	var now time.Time
	if in.Now != "" {
		t, err := time.Parse(time.RFC3339Nano, in.Now)
		if err != nil {
			return "", fmt.Errorf("now: %q is not an RFC 3339 time", in.Now)
		}
		now = t
	} else {
		clk := p.Clock
		if clk == nil {
			clk = clock.Real{}
		}
		now = clk.Now()
	}
	if now.IsZero() {
		return "", errors.New("now: zero time")
	}
	return now.UTC().AddDate(0, 0, -1).Format(time.DateOnly), nil
}

// EnvRawBucket names the variable holding the raw bucket, Firehose's gzip
// NDJSON (Config.RawBucket); infra sets it on the compact-plan and compact
// functions.
const EnvRawBucket = "RAW_BUCKET"

// Config is the compact-plan function's configuration, read from the
// environment at start.
type Config struct {
	// RawBucket (RAW_BUCKET, required) holds Firehose's gzip NDJSON.
	RawBucket string
	// Region (AWS_REGION, required; Lambda always sets it).
	Region string
}

// ErrConfig is in the chain of every configuration error.
var ErrConfig = errors.New("invalid configuration")

// ConfigFromEnv reads the configuration through getenv (os.Getenv). The
// error names every missing or invalid variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{RawBucket: strings.TrimSpace(getenv(EnvRawBucket)), Region: strings.TrimSpace(getenv("AWS_REGION"))}
	var problems []string
	if p := CheckBucketVar(EnvRawBucket, c.RawBucket); p != "" {
		problems = append(problems, p)
	}
	if c.Region == "" {
		problems = append(problems, "AWS_REGION is not set")
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return c, nil
}

// CheckBucketVar describes what is wrong with a required bucket-name
// variable, or returns "".
func CheckBucketVar(name, v string) string {
	switch {
	case v == "":
		return name + " is not set"
	case strings.ContainsAny(v, "/ ") || strings.HasPrefix(v, "s3:"):
		return fmt.Sprintf("%s=%q is not a bucket name", name, v)
	}
	return ""
}
