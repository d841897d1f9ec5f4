package reportpage

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/reportpage/pagetest"
)

// samplePage is a page with every part: two regions, one down for a
// while, acknowledgements, markers and two workflows.
func samplePage() Page {
	acks := func(n, from, to int) []int {
		a := make([]int, n)
		for i := from; i < to; i++ {
			a[i] = 100 + i%7
		}
		return a
	}
	return Page{
		Title: "Drill regional-outage", Verdict: "PASSED", Passed: true,
		Lines:   []string{"expected: failover and failback succeed", "assembly cdk.out"},
		Figures: []Figure{{Label: "ingest RTO", Value: "6m20s", Detail: "outage → first record acknowledged by us-east-2"}, {Label: "full RTO", Value: "23m20s"}},
		Timeline: &Timeline{Seconds: 3600, Start: time.Date(2026, 11, 25, 2, 55, 0, 0, time.UTC), Caption: "virtual time",
			Regions: []Region{
				{Name: "us-east-1", Role: "primary", Down: []Span{{From: 1200, To: 3000, Label: "down"}}, AcksPerMinute: acks(60, 0, 20)},
				{Name: "us-east-2", Role: "backup", AcksPerMinute: acks(60, 26, 55)},
			},
			Markers: []Marker{{At: 1200, Label: "outage", Kind: MarkerOutage}, {At: 1361, Label: "alarm", Kind: MarkerAlarm}, {At: 1580, Label: "traffic → us-east-2", Kind: MarkerTraffic}},
			Workflows: []Workflow{
				{Name: "failover", Status: "SUCCEEDED", Seconds: 1238, Steps: []Step{{Name: "Begin", From: 1361, To: 1362, Seconds: 1, Visits: 1}, {Name: "Recover", From: 1362, To: 2500, Seconds: 1138, Visits: 1},
					{Name: "Recover › ActivateBackup <&>", Depth: 1, From: 1362, To: 1500, Seconds: 120, Visits: 4}}},
				{Name: "failback", Status: "SUCCEEDED", Seconds: 400, Steps: []Step{{Name: "Begin", From: 3100, To: 3101, Seconds: 0.4, Visits: 1}, {Name: "Complete", From: 3400, To: 3500, Seconds: 100, Visits: 1}}},
			}},
		Tables: []Table{{Title: "Final accounting", Columns: []string{"store", "lost"}, Rows: [][]string{{"s3", "0"}, {"aggregates", "0"}}}},
		Checks: []Check{{Name: "noLoss", Passed: true, Detail: "0 lost"}, {Name: "noAccessDenied", Passed: true, Detail: "0 calls denied by IAM"}},
		Lists:  []List{{Title: "Notifications", Items: []string{"Pendulum: failed over to us-east-2"}}},
	}
}

// TestWriteSelfContained: one file with inline style and SVG, no script,
// nothing to fetch, text escaped, a bar per step.
func TestWriteSelfContained(t *testing.T) {
	p := samplePage()
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"<script", "<link", "<img", "@import", "url(", "src="} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q: it must need nothing but itself", bad)
		}
	}
	if refs := regexp.MustCompile(`https?://`).FindAllString(strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, ""), -1); len(refs) > 0 {
		t.Errorf("page refers to %d URLs", len(refs))
	}
	if got, want := strings.Count(html, `class="step"`), p.StepBars(); got != want || want != 5 {
		t.Errorf("step bars = %d, want %d", got, want)
	}
	if strings.Contains(html, "ActivateBackup <&>") || !strings.Contains(html, "ActivateBackup &lt;&amp;&gt;") {
		t.Error("a step name was not escaped")
	}
	if got := strings.Count(html, `class="down"`); got != 1 {
		t.Errorf("down periods = %d, want 1", got)
	}
	if got := strings.Count(html, `class="acks"`); got != 20+29 {
		t.Errorf("ack bars = %d, want 49 (one per minute with acknowledgements)", got)
	}
}

// TestPageInChromium renders the sample in headless Chromium and checks
// what a person sees: the verdict, the figures, the step bars, the checks,
// and a screenshot that is not blank.
func TestPageInChromium(t *testing.T) {
	chromium := pagetest.Chromium(t)
	p := samplePage()
	file := filepath.Join(t.TempDir(), "report.html")
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := pagetest.DumpDOM(t, chromium, file)
	for _, want := range []string{`id="verdict">PASSED<`, "6m20s", "23m20s", "noAccessDenied", "traffic → us-east-2 +26m20s", "failover — SUCCEEDED in 20m38s"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	if got := strings.Count(dom, `class="step"`); got != p.StepBars() {
		t.Errorf("rendered step bars = %d, want %d", got, p.StepBars())
	}
	img := pagetest.Screenshot(t, chromium, file, 1280, 1000)
	mean, variance := pagetest.Luminance(img)
	if variance < 100 || pagetest.DistinctColors(img, 64) < 16 {
		t.Errorf("screenshot looks blank: luminance mean %.0f variance %.0f, %d colours", mean, variance, pagetest.DistinctColors(img, 64))
	}
}
