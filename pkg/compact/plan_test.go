package compact

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
)

func dayBucket() *memBucket {
	objs := map[string][]byte{
		"dt=2026-11-24/hr=00/a.gz":       nil,
		"dt=2026-11-24/hr=00/b.gz":       nil,
		"dt=2026-11-24/hr=07/a.gz":       nil,
		"dt=2026-11-24/hr=23/a.gz":       nil,
		"dt=2026-11-24/hr=24/a.gz":       nil, // not an hour
		"dt=2026-11-24/hr=7/a.gz":        nil, // not an hour
		"dt=2026-11-24/notes/a.txt":      nil, // not a partition
		"dt=2026-11-24/stray.gz":         nil, // no hour
		"dt=2026-11-23/hr=12/a.gz":       nil, // the day before
		"dt=2026-11-25/hr=01/a.gz":       nil, // the day after
		"dt=2026-11-24-extra/hr=05/a.gz": nil, // another "day"
	}
	m := newMemBucket(rawBucket, objs)
	m.pageSize = 2 // CommonPrefixes over several pages
	return m
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name  string
		in    PlanInput
		clock clock.Clock
		want  Plan
	}{
		{"GivenDate", PlanInput{Date: "2026-11-24", Now: "2030-01-01T00:00:00Z"}, nil,
			Plan{Date: "2026-11-24", Partitions: []Input{{"raw", "2026-11-24", "00"}, {"raw", "2026-11-24", "07"}, {"raw", "2026-11-24", "23"}}}},
		{"YesterdayOfNow", PlanInput{Now: "2026-11-25T02:00:00.123Z"}, nil,
			Plan{Date: "2026-11-24", Partitions: []Input{{"raw", "2026-11-24", "00"}, {"raw", "2026-11-24", "07"}, {"raw", "2026-11-24", "23"}}}},
		{"NowWithOffsetIsUTC", PlanInput{Now: "2026-11-25T23:30:00-02:00"}, nil, // 01:30 UTC on the 26th
			Plan{Date: "2026-11-25", Partitions: []Input{{"raw", "2026-11-25", "01"}}}},
		{"YesterdayOfClock", PlanInput{}, clock.NewVirtual(time.Date(2026, 11, 24, 0, 0, 1, 0, time.UTC)),
			Plan{Date: "2026-11-23", Partitions: []Input{{"raw", "2026-11-23", "12"}}}},
		{"EmptyDay", PlanInput{Date: "2026-11-20"}, nil, Plan{Date: "2026-11-20", Partitions: []Input{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Planner{Raw: dayBucket().fake(), RawBucket: rawBucket, Clock: tt.clock}
			got, err := p.Plan(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tt.want)
			if string(gb) != string(wb) {
				t.Fatalf("plan = %s\nwant   %s", gb, wb)
			}
		})
	}
}

func TestPlanBadInput(t *testing.T) {
	for name, in := range map[string]PlanInput{
		"BadDate":     {Date: "24/11/2026"},
		"NoSuchDay":   {Date: "2026-02-29"},
		"BadNow":      {Now: "yesterday"},
		"NowNoOffset": {Now: "2026-11-25T02:00:00"},
	} {
		t.Run(name, func(t *testing.T) {
			p := &Planner{Raw: &fakeS3{}, RawBucket: rawBucket}
			_, err := p.Plan(context.Background(), in)
			var ie *fault.InvalidInputError
			if !errors.As(err, &ie) {
				t.Fatalf("error = %v, want an InvalidInputError", err)
			}
		})
	}
}

func TestPlanListError(t *testing.T) {
	f := dayBucket().fake()
	f.ListObjectsV2Fn = func(context.Context, *s3ListInput) (*s3ListOutput, error) { return nil, errThrottled }
	p := &Planner{Raw: f, RawBucket: rawBucket}
	if _, err := p.Plan(context.Background(), PlanInput{Date: "2026-11-24"}); fault.Classify(err) != fault.Transient {
		t.Fatalf("kind of %v = %v, want transient", err, fault.Classify(err))
	}
}

// TestPlanGolden checks the plan's JSON, which the nightly-batch state
// machine's Map iterates over and hands item by item to compact.
func TestPlanGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "plan-input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pin PlanInput
	if err := json.Unmarshal(in, &pin); err != nil {
		t.Fatal(err)
	}
	p := &Planner{Raw: dayBucket().fake(), RawBucket: rawBucket}
	plan, err := p.Plan(context.Background(), pin)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "plan-output.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Fatalf("plan =\n%s\nwant\n%s", got, want)
	}
	// every partition is a valid compact input
	for _, part := range plan.Partitions {
		if err := part.Validate(); err != nil {
			t.Fatalf("partition %+v: %v", part, err)
		}
	}
}
