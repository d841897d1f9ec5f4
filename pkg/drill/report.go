package drill

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteText writes the report for a person: RTO, each step's duration,
// the record accounting and every check.
func WriteText(w io.Writer, rep *Report) error {
	var b strings.Builder
	verdict := "PASSED"
	if !rep.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "\nDrill %s: %s\n", rep.Scenario, verdict)
	fmt.Fprintf(&b, "  virtual time %s (the predicted AWS timeline), wall time %.2fs\n", secs(rep.VirtualSeconds), rep.WallSeconds)
	fmt.Fprintf(&b, "  alarm → failover started   %s after the outage\n", secs(rep.AlarmSeconds))
	fmt.Fprintf(&b, "  ingest RTO                 %s (outage → first record acknowledged by the backup region)\n", secs(rep.IngestRTOSeconds))
	fmt.Fprintf(&b, "  full RTO                   %s (outage → the backup region's aggregates count its records)\n", secs(rep.FullRTOSeconds))
	for _, wf := range []struct {
		name string
		w    *Workflow
	}{{"failover", rep.Failover}, {"failback", rep.Failback}, {"nightly batch", rep.NightlyBatch}, {"isolated drill", rep.IsolatedDrill}} {
		if wf.w == nil {
			fmt.Fprintf(&b, "\n  %s: not run\n", wf.name)
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %s in %s", wf.name, status(wf.w), secs(wf.w.Seconds))
		if wf.name == "failover" && rep.RestoreSource != "" {
			fmt.Fprintf(&b, " (aggregates restored from %s, a point %s older than the outage)", rep.RestoreSource, secs(rep.RestorePointAgeSeconds))
		}
		b.WriteString("\n")
		for _, s := range wf.w.Steps {
			if strings.Contains(s.Name, " › ") && s.Seconds < 1 {
				continue // instant steps inside a parallel block: in --json only
			}
			fmt.Fprintf(&b, "    %-38s %9s", s.Name, secs(s.Seconds))
			if s.Entries > 1 {
				fmt.Fprintf(&b, "  (%d entries)", s.Entries)
			}
			b.WriteString("\n")
		}
		for _, f := range wf.w.Failures {
			fmt.Fprintf(&b, "    ! %s\n", f)
		}
	}
	r := rep.Records
	fmt.Fprintf(&b, "\n  records: produced %d, acknowledged %d (%d by the backup region)\n", r.Produced, r.Acknowledged, r.AckedByBackup)
	fmt.Fprintf(&b, "    in the primary's raw bucket %d, in its catalog's partitions %d, in its aggregates %d\n", r.LandedInS3, r.InCatalog, r.InAggregates)
	fmt.Fprintf(&b, "    lost: %d in S3, %d in aggregates; double-counted %d\n", r.LostS3, r.LostAggregates, r.DoubleCounted)
	fmt.Fprintf(&b, "    partitions %d (missing %d), objects copied back %d, items merged %d\n", r.Partitions, r.MissingPartitions, r.ObjectsCopiedBack, r.ItemsMerged)
	ops := make([]string, 0, len(rep.GlueCalls))
	total := 0
	for op, n := range rep.GlueCalls {
		ops = append(ops, fmt.Sprintf("%s %d", op, n))
		total += n
	}
	sort.Strings(ops)
	fmt.Fprintf(&b, "    Glue API calls %d (%s)\n", total, strings.Join(ops, ", "))
	fmt.Fprintf(&b, "    notifications %d: %s\n", len(rep.Notifications), strings.Join(rep.Notifications, "; "))
	if len(rep.Denied) > 0 {
		fmt.Fprintf(&b, "\n  denied by IAM (%d):\n", len(rep.Denied))
		for i, d := range rep.Denied {
			if i == 20 {
				fmt.Fprintf(&b, "    … %d more in --json\n", len(rep.Denied)-i)
				break
			}
			via := ""
			if d.Via != "" {
				via = " via " + d.Via
			}
			fmt.Fprintf(&b, "    %s%s: %s on %s (%s)\n", d.Role, via, d.Action, d.Resource, d.Region)
		}
	}
	var idle []string
	invoked := 0
	for fn, n := range rep.Invocations {
		if n == 0 {
			idle = append(idle, fn)
		} else {
			invoked++
		}
	}
	sort.Strings(idle)
	fmt.Fprintf(&b, "    functions invoked %d of %d", invoked, len(rep.Invocations))
	if len(idle) > 0 {
		fmt.Fprintf(&b, " (not in this scenario: %s)", strings.Join(idle, ", "))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "\n  assembly %s, endpoint %s:\n", rep.Assembly, rep.Endpoint)
	keys := make([]string, 0, len(rep.Settings))
	for k := range rep.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "    %s: %s\n", k, rep.Settings[k])
	}
	b.WriteString("\n  checks:\n")
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "    %s %-22s %s\n", mark, c.Name, c.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// secs writes a duration of s seconds: to the second from a minute up, to
// the hundredth below (steps made of API calls take fractions of a
// second).
func secs(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Minute {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
