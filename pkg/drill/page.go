package drill

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pendulum-dr/pendulum/pkg/reportpage"
)

// WriteHTML writes the report as one self-contained HTML page
// (pkg/reportpage): the verdict and figures, a timeline of both regions
// and every DR workflow's steps, the accounting per store and the checks.
func WriteHTML(w io.Writer, rep *Report) error {
	return reportpage.Write(w, Page(rep))
}

// PageSteps are the steps of a workflow the page draws: every top-level
// state, and the states inside a parallel block that took a second or
// more (the instant ones are in the JSON report), as WriteText lists them.
func PageSteps(w *Workflow) []int {
	var idx []int
	for i, s := range w.Steps {
		if strings.Contains(s.Name, " › ") && s.Seconds < 1 {
			continue
		}
		idx = append(idx, i)
	}
	return idx
}

// pageWorkflows are the workflows the timeline draws, in the order the
// text report lists them, then the console's other executions.
func pageWorkflows(rep *Report) []struct {
	name string
	w    *Workflow
} {
	list := []struct {
		name string
		w    *Workflow
	}{{"failover", rep.Failover}, {"restore retry", rep.RestoreRetry}, {"failback", rep.Failback}, {"nightly batch", rep.NightlyBatch}, {"isolated drill", rep.IsolatedDrill}}
	seen := map[string]bool{}
	var out []struct {
		name string
		w    *Workflow
	}
	for _, e := range list {
		if e.w != nil {
			seen[e.w.Execution] = true
			out = append(out, e)
		}
	}
	for i, w := range rep.Console {
		if w != nil && !seen[w.Execution] {
			seen[w.Execution] = true
			out = append(out, struct {
				name string
				w    *Workflow
			}{fmt.Sprintf("console run %d", i+1), w})
		}
	}
	return out
}

// Page is the report as a reportpage.Page.
func Page(rep *Report) reportpage.Page {
	verdict := "PASSED"
	if !rep.Passed {
		verdict = "FAILED"
	}
	d := reportpage.Duration
	p := reportpage.Page{Title: "Drill " + rep.Scenario, Verdict: verdict, Passed: rep.Passed}
	if rep.Expect != "" {
		p.Lines = append(p.Lines, "expected: "+rep.Expect)
	}
	p.Lines = append(p.Lines, fmt.Sprintf("virtual time %s (the predicted AWS timeline), wall time %.2fs; assembly %s, endpoint %s", d(rep.VirtualSeconds), rep.WallSeconds, rep.Assembly, rep.Endpoint))
	p.Lines = append(p.Lines, Figures(rep))

	// Figures.
	if rep.IngestRTOSeconds > 0 {
		if rep.AlarmSeconds > 0 {
			p.Figures = append(p.Figures, reportpage.Figure{Label: "alarm → failover", Value: d(rep.AlarmSeconds), Detail: "after the outage"})
		}
		p.Figures = append(p.Figures,
			reportpage.Figure{Label: "ingest RTO", Value: d(rep.IngestRTOSeconds), Detail: "outage → first record acknowledged after it, by " + rep.IngestRegion},
			reportpage.Figure{Label: "full RTO", Value: d(rep.FullRTOSeconds), Detail: "outage → that region's aggregates count it"})
	}
	if at := rep.RPO.AtOutage; at != nil {
		br := at[StoreBackupRegion]
		p.Figures = append(p.Figures, reportpage.Figure{Label: "RPO at the outage", Value: fmt.Sprintf("%d records", rep.Records.AtRisk),
			Detail: fmt.Sprintf("at risk (in none of the backup region's stores), the oldest acknowledged %s before", d(br.RPOSeconds))})
	}
	if rep.RestoreSource != "" {
		p.Figures = append(p.Figures, reportpage.Figure{Label: "restore point", Value: d(rep.RestorePointAgeSeconds), Detail: "older than the outage (from " + rep.RestoreSource + ")"})
	}
	if rep.FaultSeconds > 0 {
		det := "never"
		if rep.DetectionSeconds > 0 {
			det = d(rep.DetectionSeconds)
		}
		p.Figures = append(p.Figures, reportpage.Figure{Label: "consumer fault", Value: d(rep.FaultSeconds), Detail: "detected by the pipeline alarm after " + det})
	}
	for _, e := range pageWorkflows(rep) {
		p.Figures = append(p.Figures, reportpage.Figure{Label: e.name, Value: d(e.w.Seconds), Detail: status(e.w)})
	}
	r := rep.Records
	p.Figures = append(p.Figures, reportpage.Figure{Label: "records acknowledged", Value: fmt.Sprint(r.Acknowledged),
		Detail: fmt.Sprintf("of %d produced, %d by the backup region, %d conflicts", r.Produced, r.AckedByBackup, r.Conflicts)})

	// Timeline.
	t := &reportpage.Timeline{Seconds: rep.VirtualSeconds, Start: rep.Start,
		Caption: fmt.Sprintf("virtual time from %s; bars run from a step's first entry to its last exit, labelled with its time summed over its entries; acknowledgements are counted by each record's last acknowledgement", rep.Start.UTC().Format("2006-01-02 15:04 MST"))}
	primary := reportpage.Region{Name: rep.PrimaryRegion, Role: "primary (P)", AcksPerMinute: rep.AcksPerMinute[rep.PrimaryRegion]}
	for _, o := range rep.PrimaryDown {
		end := o.EndSeconds
		if end == 0 {
			end = rep.VirtualSeconds
		}
		primary.Down = append(primary.Down, reportpage.Span{From: o.StartSeconds, To: end, Label: "down"})
		t.Markers = append(t.Markers, reportpage.Marker{At: o.StartSeconds, Label: "P down", Kind: reportpage.MarkerOutage})
		if o.EndSeconds > 0 {
			t.Markers = append(t.Markers, reportpage.Marker{At: o.EndSeconds, Label: "P back", Kind: reportpage.MarkerOther})
		}
	}
	if f := rep.ConsumerFault; f != nil {
		end := f.EndSeconds
		if end == 0 {
			end = rep.VirtualSeconds
		}
		primary.Down = append(primary.Down, reportpage.Span{From: f.StartSeconds, To: end, Label: "consumer failing"})
	}
	t.Regions = []reportpage.Region{primary, {Name: rep.BackupRegion, Role: "backup (B)", AcksPerMinute: rep.AcksPerMinute[rep.BackupRegion]}}
	if rep.AlarmSeconds > 0 && len(rep.PrimaryDown) > 0 {
		t.Markers = append(t.Markers, reportpage.Marker{At: rep.PrimaryDown[0].StartSeconds + rep.AlarmSeconds, Label: "alarm → failover", Kind: reportpage.MarkerAlarm})
	}
	for _, s := range rep.TrafficSwitches {
		t.Markers = append(t.Markers, reportpage.Marker{At: s.AtSeconds, Label: "traffic → " + s.To, Kind: reportpage.MarkerTraffic})
	}
	sort.SliceStable(t.Markers, func(i, j int) bool { return t.Markers[i].At < t.Markers[j].At })
	for _, e := range pageWorkflows(rep) {
		wf := reportpage.Workflow{Name: e.name, Status: status(e.w), Seconds: e.w.Seconds}
		for _, i := range PageSteps(e.w) {
			s := e.w.Steps[i]
			depth := 0
			if strings.Contains(s.Name, " › ") {
				depth = 1
			}
			wf.Steps = append(wf.Steps, reportpage.Step{Name: s.Name, Depth: depth, From: e.w.StartSeconds + s.StartSeconds, To: e.w.StartSeconds + s.EndSeconds, Seconds: s.Seconds, Visits: s.Entries})
		}
		t.Workflows = append(t.Workflows, wf)
	}
	p.Timeline = t

	// Tables.
	stores := reportpage.Table{Title: "Final accounting per store", Columns: []string{"store", "region", "expected", "present", "lost", "double-counted", "uncounted", "markers expired"}}
	for _, name := range []string{StoreS3, StoreCatalog, StoreAggregates} {
		st, ok := rep.Stores[name]
		if !ok {
			continue
		}
		stores.Rows = append(stores.Rows, []string{name, st.Region, fmt.Sprint(st.Expected), fmt.Sprint(st.Present), fmt.Sprint(st.Lost), fmt.Sprint(st.DoubleCounted), fmt.Sprint(st.Uncounted), fmt.Sprint(st.ExpiredMarkers)})
	}
	p.Tables = append(p.Tables, stores)
	if at := rep.RPO.AtOutage; at != nil {
		rpo := reportpage.Table{Title: "RPO at the outage", Columns: []string{"store", "records", "oldest acknowledged before the outage", "detail"}}
		rpo.Rows = append(rpo.Rows,
			[]string{StoreStream, fmt.Sprint(at[StoreStream].Records), d(at[StoreStream].RPOSeconds), "still in the primary's stream or delivery buffer"},
			[]string{StoreS3, fmt.Sprint(at[StoreS3].Records), d(at[StoreS3].RPOSeconds), fmt.Sprintf("in %d objects not yet replicated (replication lag %s)", at[StoreS3].Objects, d(at[StoreS3].ReplicationLagSeconds))},
			[]string{StoreCatalog, fmt.Sprint(at[StoreCatalog].Partitions) + " partitions", "", "of the primary's catalog missing in the backup's"},
			[]string{StoreBackupRegion, fmt.Sprint(at[StoreBackupRegion].Records), d(at[StoreBackupRegion].RPOSeconds), "at risk: in none of the backup region's stores"})
		p.Tables = append(p.Tables, rpo)
	}
	if df := rep.RPO.DuringFailover; df != nil {
		during := reportpage.Table{Title: "What the backup region served without during failover", Columns: []string{"store", "records", "oldest", "detail"}}
		ag := df[StoreAggregates]
		during.Rows = append(during.Rows,
			[]string{StoreS3, fmt.Sprint(df[StoreS3].Records), d(df[StoreS3].RPOSeconds), ""},
			[]string{StoreAggregates, fmt.Sprint(ag.Records), d(ag.RPOSeconds), "restored to a point " + d(ag.RestorePointAgeSeconds) + " before the outage"},
			[]string{StoreCatalog, fmt.Sprint(df[StoreCatalog].Partitions) + " partitions", "", "missing"})
		p.Tables = append(p.Tables, during)
	}
	recs := reportpage.Table{Title: "Records", Columns: []string{"produced", "acknowledged", "by the backup region", "conflicts", "dropped after acknowledgement", "without a conflict item", "conflict items", "objects copied back", "items merged"}}
	recs.Rows = [][]string{{fmt.Sprint(r.Produced), fmt.Sprint(r.Acknowledged), fmt.Sprint(r.AckedByBackup), fmt.Sprint(r.Conflicts), fmt.Sprint(r.DroppedAfterAck), fmt.Sprint(r.Unrecorded), fmt.Sprint(r.ConflictItems), fmt.Sprint(r.ObjectsCopiedBack), fmt.Sprint(r.ItemsMerged)}}
	p.Tables = append(p.Tables, recs)

	for _, c := range rep.Checks {
		p.Checks = append(p.Checks, reportpage.Check{Name: c.Name, Passed: c.Passed, Detail: c.Detail})
	}
	p.Lists = append(p.Lists, reportpage.List{Title: fmt.Sprintf("Notifications (%d)", len(rep.Notifications)), Items: rep.Notifications})
	var denied []string
	for _, dn := range rep.Denied {
		via := ""
		if dn.Via != "" {
			via = " via " + dn.Via
		}
		denied = append(denied, fmt.Sprintf("%s%s: %s on %s (%s)", dn.Role, via, dn.Action, dn.Resource, dn.Region))
	}
	if len(denied) > 0 {
		p.Lists = append(p.Lists, reportpage.List{Title: fmt.Sprintf("Denied by IAM (%d)", len(denied)), Items: denied})
	}
	var settings []string
	for _, k := range sortedKeys(rep.Settings) {
		settings = append(settings, k+": "+rep.Settings[k])
	}
	p.Lists = append(p.Lists, reportpage.List{Title: "Deployment settings", Items: settings})
	return p
}
