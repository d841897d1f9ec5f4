package plan

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
)

const rawBucket = "raw-bucket"

// listerFunc is an ObjectLister made of a function.
type listerFunc func(ctx context.Context, in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error)

func (f listerFunc) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return f(ctx, in)
}

var _ ObjectLister = (*s3.Client)(nil)

// dayLister lists a raw bucket's keys as S3 does with a Delimiter: sorted,
// folded into CommonPrefixes, two entries a page so pagination is exercised.
func dayLister() ObjectLister {
	keys := []string{
		"dt=2026-11-23/hr=12/a.gz",       // the day before
		"dt=2026-11-24-extra/hr=05/a.gz", // another "day"
		"dt=2026-11-24/hr=00/a.gz",
		"dt=2026-11-24/hr=00/b.gz",
		"dt=2026-11-24/hr=07/a.gz",
		"dt=2026-11-24/hr=23/a.gz",
		"dt=2026-11-24/hr=24/a.gz",  // not an hour
		"dt=2026-11-24/hr=7/a.gz",   // not an hour
		"dt=2026-11-24/notes/a.txt", // not a partition
		"dt=2026-11-24/stray.gz",    // no hour
		"dt=2026-11-25/hr=01/a.gz",  // the day after
	}
	sort.Strings(keys)
	const pageSize = 2
	return listerFunc(func(_ context.Context, in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
		if aws.ToString(in.Bucket) != rawBucket {
			return nil, errors.New("wrong bucket")
		}
		prefix, delim, after := aws.ToString(in.Prefix), aws.ToString(in.Delimiter), aws.ToString(in.ContinuationToken)
		out := &s3.ListObjectsV2Output{}
		n := 0
		for _, k := range keys {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			entry := k
			if i := strings.Index(k[len(prefix):], delim); delim != "" && i >= 0 {
				entry = k[:len(prefix)+i+len(delim)]
			}
			if entry <= after {
				continue
			}
			if n == pageSize {
				out.IsTruncated, out.NextContinuationToken = aws.Bool(true), aws.String(after)
				break
			}
			after = entry
			n++
			if entry != k {
				out.CommonPrefixes = append(out.CommonPrefixes, types.CommonPrefix{Prefix: aws.String(entry)})
			} else {
				out.Contents = append(out.Contents, types.Object{Key: aws.String(k)})
			}
		}
		return out, nil
	})
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name  string
		in    Input
		clock clock.Clock
		want  Plan
	}{
		{"GivenDate", Input{Date: "2026-11-24", Now: "2030-01-01T00:00:00Z"}, nil,
			Plan{Date: "2026-11-24", Partitions: []Partition{{"raw", "2026-11-24", "00"}, {"raw", "2026-11-24", "07"}, {"raw", "2026-11-24", "23"}}}},
		{"YesterdayOfNow", Input{Now: "2026-11-25T02:00:00.123Z"}, nil,
			Plan{Date: "2026-11-24", Partitions: []Partition{{"raw", "2026-11-24", "00"}, {"raw", "2026-11-24", "07"}, {"raw", "2026-11-24", "23"}}}},
		{"NowWithOffsetIsUTC", Input{Now: "2026-11-25T23:30:00-02:00"}, nil, // 01:30 UTC on the 26th
			Plan{Date: "2026-11-25", Partitions: []Partition{{"raw", "2026-11-25", "01"}}}},
		{"YesterdayOfClock", Input{}, clock.NewVirtual(time.Date(2026, 11, 24, 0, 0, 1, 0, time.UTC)),
			Plan{Date: "2026-11-23", Partitions: []Partition{{"raw", "2026-11-23", "12"}}}},
		{"EmptyDay", Input{Date: "2026-11-20"}, nil, Plan{Date: "2026-11-20", Partitions: []Partition{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Planner{Raw: dayLister(), RawBucket: rawBucket, Clock: tt.clock}
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
	for name, in := range map[string]Input{
		"BadDate":     {Date: "24/11/2026"},
		"NoSuchDay":   {Date: "2026-02-29"},
		"BadNow":      {Now: "yesterday"},
		"NowNoOffset": {Now: "2026-11-25T02:00:00"},
	} {
		t.Run(name, func(t *testing.T) {
			p := &Planner{Raw: listerFunc(func(context.Context, *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
				t.Fatal("listed with bad input")
				return nil, nil
			}), RawBucket: rawBucket}
			_, err := p.Plan(context.Background(), in)
			var ie *fault.InvalidInputError
			if !errors.As(err, &ie) {
				t.Fatalf("error = %v, want an InvalidInputError", err)
			}
		})
	}
}

func TestPlanListError(t *testing.T) {
	p := &Planner{Raw: listerFunc(func(context.Context, *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
		return nil, &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate.", Fault: smithy.FaultServer}
	}), RawBucket: rawBucket}
	if _, err := p.Plan(context.Background(), Input{Date: "2026-11-24"}); fault.Classify(err) != fault.Transient {
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
	var pin Input
	if err := json.Unmarshal(in, &pin); err != nil {
		t.Fatal(err)
	}
	p := &Planner{Raw: dayLister(), RawBucket: rawBucket}
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

func TestConfigFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"OK", map[string]string{"RAW_BUCKET": "raw", "AWS_REGION": "eu-west-1"}, nil},
		{"NothingSet", map[string]string{}, []string{"RAW_BUCKET", "AWS_REGION"}},
		{"URLNotName", map[string]string{"RAW_BUCKET": "s3://raw", "AWS_REGION": "eu-west-1"}, []string{"RAW_BUCKET", "not a bucket name"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr == nil {
				if err != nil || c.RawBucket != "raw" || c.Region != "eu-west-1" {
					t.Fatalf("ConfigFromEnv = %+v, %v", c, err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error = %v, want ErrConfig", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}
