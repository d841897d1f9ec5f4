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
	if rep.Expect != "" {
		fmt.Fprintf(&b, "  expected: %s\n", rep.Expect)
	}
	fmt.Fprintf(&b, "  virtual time %s (the predicted AWS timeline), wall time %.2fs\n", secs(rep.VirtualSeconds), rep.WallSeconds)
	if rep.IngestRTOSeconds > 0 {
		if rep.AlarmSeconds > 0 {
			fmt.Fprintf(&b, "  alarm → failover started   %s after the outage\n", secs(rep.AlarmSeconds))
		}
		fmt.Fprintf(&b, "  ingest RTO                 %s (outage → first record acknowledged after it, here by %s)\n", secs(rep.IngestRTOSeconds), rep.IngestRegion)
		fmt.Fprintf(&b, "  full RTO                   %s (outage → that region's aggregates count the records it acknowledged)\n", secs(rep.FullRTOSeconds))
	} else {
		b.WriteString("  no outage in this scenario: no RTO\n")
	}
	if rep.FaultSeconds > 0 {
		fmt.Fprintf(&b, "  consumer fault             %s behind a healthy front door\n", secs(rep.FaultSeconds))
		if rep.DetectionSeconds > 0 {
			fmt.Fprintf(&b, "  fault → pipeline alarm     %s (detection)\n", secs(rep.DetectionSeconds))
		} else {
			b.WriteString("  fault → pipeline alarm     never: the fault went undetected\n")
		}
		if rep.CatchUpSeconds > 0 {
			fmt.Fprintf(&b, "  fault cleared → caught up  %s (every record acknowledged before counted)\n", secs(rep.CatchUpSeconds))
		} else {
			b.WriteString("  fault cleared → caught up  not within the wait\n")
		}
	}
	for _, wf := range []struct {
		name string
		w    *Workflow
	}{{"failover", rep.Failover}, {"restore retry", rep.RestoreRetry}, {"failback", rep.Failback}, {"nightly batch", rep.NightlyBatch}, {"isolated drill", rep.IsolatedDrill}} {
		if wf.w == nil {
			if wf.name != "restore retry" {
				fmt.Fprintf(&b, "\n  %s: not run\n", wf.name)
			}
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %s in %s", wf.name, status(wf.w), secs(wf.w.Seconds))
		if (wf.name == "failover" || wf.name == "restore retry") && succeeded(wf.w) && rep.RestoreSource != "" {
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
	if np := rep.NewPrimary; np != nil {
		writeNewPrimary(&b, np)
	}
	r := rep.Records
	fmt.Fprintf(&b, "\n  records: produced %d, acknowledged %d (%d by the backup region), conflicts %d\n", r.Produced, r.Acknowledged, r.AckedByBackup, r.Conflicts)
	fmt.Fprintf(&b, "    acknowledged, then counted with other content under their id: %d (%d without a conflict item); conflict items %d\n", r.DroppedAfterAck, r.Unrecorded, r.ConflictItems)
	if at := rep.RPO.AtOutage; at != nil {
		fmt.Fprintf(&b, "    RPO at the outage: %d records at risk (in none of the backup region's stores), the oldest acknowledged %s before\n", r.AtRisk, secs(at[StoreBackupRegion].RPOSeconds))
		fmt.Fprintf(&b, "      %-11s %6d records (oldest %s): still in the primary's stream or delivery buffer\n", StoreStream, at[StoreStream].Records, secs(at[StoreStream].RPOSeconds))
		fmt.Fprintf(&b, "      %-11s %6d records (oldest %s) in %d objects not yet replicated (replication lag %s)\n", StoreS3, at[StoreS3].Records, secs(at[StoreS3].RPOSeconds), at[StoreS3].Objects, secs(at[StoreS3].ReplicationLagSeconds))
		fmt.Fprintf(&b, "      %-11s %6d partitions of the primary's catalog missing in the backup's\n", StoreCatalog, at[StoreCatalog].Partitions)
	}
	if df := rep.RPO.DuringFailover; df != nil {
		fmt.Fprintf(&b, "    during failover the backup region served without (of the records acknowledged before the outage):\n")
		fmt.Fprintf(&b, "      %-11s %6d records (oldest %s)\n", StoreS3, df[StoreS3].Records, secs(df[StoreS3].RPOSeconds))
		ag := df[StoreAggregates]
		fmt.Fprintf(&b, "      %-11s %6d records (oldest %s); restored to a point %s before the outage\n", StoreAggregates, ag.Records, secs(ag.RPOSeconds), secs(ag.RestorePointAgeSeconds))
		fmt.Fprintf(&b, "      %-11s %6d partitions missing\n", StoreCatalog, df[StoreCatalog].Partitions)
	}
	for _, name := range []string{StoreS3, StoreCatalog, StoreAggregates} {
		st, ok := rep.Stores[name]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "    final %-11s in %s: %d of %d acknowledged records, lost %d, double-counted %d", name, st.Region, st.Present, st.Expected, st.Lost, st.DoubleCounted)
		if st.Uncounted > 0 {
			fmt.Fprintf(&b, ", uncounted %d", st.Uncounted)
		}
		if st.ExpiredMarkers > 0 {
			fmt.Fprintf(&b, " (%d counted by their windows: markers expired)", st.ExpiredMarkers)
		}
		if name == StoreCatalog {
			fmt.Fprintf(&b, " (partitions %d, missing %d)", st.Partitions, st.MissingPartitions)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "    objects copied back %d, items merged %d\n", r.ObjectsCopiedBack, r.ItemsMerged)
	if sc := rep.Scale; sc != nil {
		fmt.Fprintf(&b, "    scale: %d synthetic records in %d objects delivered by B's Firehose during the failover (not through producers and B's stream)\n", sc.Records, sc.Objects)
		fmt.Fprintf(&b, "      failback %s of virtual time: the predicted AWS duration at the deployed concurrency\n", secs(sc.FailbackSeconds))
		fmt.Fprintf(&b, "      executions %d, Distributed Map child executions %d; longest history %d events (%s), a child's %d\n",
			sc.Executions, sc.ChildExecutions, sc.MaxHistoryEvents, sc.MaxHistoryExecution, sc.MaxChildHistoryEvents)
		fmt.Fprintf(&b, "      wall time %.1fs, peak resident memory %.0f MiB\n", rep.WallSeconds, float64(sc.PeakRSSBytes)/(1<<20))
	}
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

// Figures is a scenario's headline in one line: RTOs, the records at risk
// at the outage, and what was lost or counted twice in the end.
func Figures(rep *Report) string {
	var parts []string
	if rep.IngestRTOSeconds > 0 {
		parts = append(parts, fmt.Sprintf("ingest RTO %s, full RTO %s", secs(rep.IngestRTOSeconds), secs(rep.FullRTOSeconds)))
	}
	if rep.RPO.AtOutage != nil {
		at := rep.RPO.AtOutage[StoreBackupRegion]
		parts = append(parts, fmt.Sprintf("at risk %d (RPO %s)", at.Records, secs(at.RPOSeconds)))
	}
	lost, double := 0, 0
	for _, st := range rep.Stores {
		lost += st.Lost
		double += st.DoubleCounted
	}
	parts = append(parts, fmt.Sprintf("lost %d, double-counted %d", lost, double))
	return strings.Join(parts, "; ")
}

// writeNewPrimary writes the new-primary scenario's redeployment.
func writeNewPrimary(b *strings.Builder, np *NewPrimary) {
	fmt.Fprintf(b, "\n  new primary %s, protected by %s (%s):\n", np.Primary, np.Backup, np.Assembly)
	for _, s := range np.Steps {
		fmt.Fprintf(b, "    %-38s %9s  %s", s.Name, secs(s.Seconds), s.Detail)
		if s.Error != "" {
			fmt.Fprintf(b, "  ! %s", s.Error)
		}
		b.WriteString("\n")
	}
	for _, c := range np.Stacks {
		fmt.Fprintf(b, "      %-34s %-7s %9s\n", c.Stack, c.Action, secs(c.Seconds))
	}
	in := np.Ingest
	fmt.Fprintf(b, "    ingest during the redeployment (%s): %d records acknowledged, %d by %s, %d failed requests, longest gap %s (%s before it)\n",
		secs(in.WindowSeconds), in.Acknowledged, in.ByPrimary, np.Primary, in.Failures, secs(in.LongestGapSeconds), secs(in.SteadyGapSeconds))
	t := np.Table
	fmt.Fprintf(b, "    %s imported as %s: %d items before, %d after, %d missing\n", t.Name, t.LogicalID, t.ItemsBefore, t.ItemsAfter, t.Missing)
	for _, d := range t.Drift {
		fmt.Fprintf(b, "      drift %s\n", d)
	}
	if len(t.NotCompared) > 0 {
		fmt.Fprintf(b, "      not compared (not simulated): %s\n", strings.Join(t.NotCompared, ", "))
	}
	for _, s := range np.OldStacks {
		fmt.Fprintf(b, "    %s (%s): %s\n", s.Stack, s.Region, s.Outcome)
	}
	if np.BackupCopy != "" {
		fmt.Fprintf(b, "    first copy of %s's table in %s's vault at +%s: %s\n", np.Primary, np.Backup, secs(np.BackupCopyAtS), np.BackupCopy)
	}
}
