package plan

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

var prefixShape = regexp.MustCompile(`^dt=\d{4}-\d{2}-\d{2}/hr=([01]\d|2[0-3])/$`)

// FuzzPartitionAndPlanInput feeds arbitrary JSON to the two inputs the
// nightly batch takes from outside (a Map item, the execution input): no
// panic; a partition is accepted only if its prefix has the exact Hive
// shape; a bad plan input is always an InvalidInputError and lists nothing.
func FuzzPartitionAndPlanInput(f *testing.F) {
	for _, s := range []string{
		`{"table":"raw","dt":"2026-11-24","hr":"07"}`,
		`{"dt":"2024-02-29","hr":"23"}`,
		`{"dt":"2026-02-30","hr":"00"}`,
		`{"dt":"2026-11-24","hr":"7"}`,
		`{"dt":"2026-11-24/../x","hr":"07"}`,
		`{"date":"2026-11-24"}`,
		`{"now":"2026-11-25T02:00:00.123Z"}`,
		`{"now":"2026-11-25T02:00:00+14:00"}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Partition
		if json.Unmarshal(b, &p) == nil && p.Validate() == nil {
			if !prefixShape.MatchString(p.Prefix()) {
				t.Fatalf("accepted %+v with prefix %q", p, p.Prefix())
			}
		}
		var in Input
		if json.Unmarshal(b, &in) != nil {
			return
		}
		listed := false
		pl := &Planner{Raw: listerFunc(func(context.Context, *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
			listed = true
			return &s3.ListObjectsV2Output{}, nil
		}), RawBucket: "raw"}
		out, err := pl.Plan(context.Background(), in)
		if err != nil {
			var ie *fault.InvalidInputError
			if !errors.As(err, &ie) || listed {
				t.Fatalf("bad input %q: error %v (listed %v), want an InvalidInputError before any listing", b, err, listed)
			}
			return
		}
		if CheckDate(out.Date) != nil {
			t.Fatalf("planned date %q is not a date", out.Date)
		}
	})
}
