package compact

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

// PlanInput asks for the hour partitions of one day. Both fields are
// optional: Date defaults to the UTC day before Now, and Now (the state
// machine passes $$.Execution.StartTime, RFC 3339) defaults to the planner's
// clock.
type PlanInput struct {
	Date string `json:"date,omitempty"`
	Now  string `json:"now,omitempty"`
}

// Plan lists the hour partitions to compact.
type Plan struct {
	Date       string  `json:"date"`
	Partitions []Input `json:"partitions"`
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
func (p *Planner) Plan(ctx context.Context, in PlanInput) (Plan, error) {
	date, err := p.date(in)
	if err != nil {
		return Plan{}, fault.InvalidErr(err)
	}
	plan := Plan{Date: date, Partitions: []Input{}}
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
			if !ok || checkHour(hr) != nil || seen[hr] {
				continue
			}
			seen[hr] = true
			plan.Partitions = append(plan.Partitions, Input{Table: TableRaw, DT: date, HR: hr})
		}
	}
	slices.SortFunc(plan.Partitions, func(a, b Input) int { return strings.Compare(a.HR, b.HR) })
	return plan, nil
}

// date resolves the day to plan.
func (p *Planner) date(in PlanInput) (string, error) {
	if in.Date != "" {
		if err := checkDate(in.Date); err != nil {
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
