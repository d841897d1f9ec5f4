package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/drill"
	"github.com/pendulum-dr/pendulum/pkg/reportpage"
	"github.com/pendulum-dr/pendulum/pkg/reportpage/pagetest"
)

// TestDrillHTMLInChromium runs the short drill with --json and --html, and
// renders the page in headless Chromium: what a person sees holds the
// verdict, the figures the JSON report has, a bar for every step the text
// report lists, the checks, and the screenshot is not blank.
func TestDrillHTMLInChromium(t *testing.T) {
	chromium := pagetest.Chromium(t)
	file := filepath.Join(t.TempDir(), "drill.html")
	var out, errb bytes.Buffer
	if code := drillMain(append([]string{"--json", "--html", file}, shortDrill...), &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	var rep drill.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "wrote "+file) {
		t.Fatalf("stderr does not say the page was written:\n%s", errb.String())
	}
	html, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<link", "src=", "url("} {
		if bytes.Contains(html, []byte(bad)) {
			t.Fatalf("the page holds %q: it must be self-contained", bad)
		}
	}
	dom := pagetest.DumpDOM(t, chromium, file)
	secs := reportpage.Duration
	for _, want := range []string{
		`id="verdict">PASSED<`, "Drill regional-outage",
		secs(rep.IngestRTOSeconds), secs(rep.FullRTOSeconds), secs(rep.AlarmSeconds), // the RTO figures
		"traffic → " + rep.BackupRegion, "traffic → " + rep.PrimaryRegion, "P down",
		"failover — SUCCEEDED in", "failback — SUCCEEDED in",
		"Final accounting per store", "RPO at the outage",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	for _, c := range rep.Checks {
		if !strings.Contains(dom, "<b>"+c.Name+"</b>") {
			t.Errorf("the rendered page lacks check %s", c.Name)
		}
	}
	bars := 0
	for _, w := range []*drill.Workflow{rep.Failover, rep.Failback, rep.NightlyBatch, rep.IsolatedDrill} {
		bars += len(drill.PageSteps(w))
	}
	if got := strings.Count(dom, `class="step"`); got != bars || bars < 20 {
		t.Errorf("the rendered SVG has %d step bars, want %d (every step the text report lists)", got, bars)
	}
	if got := strings.Count(dom, `class="acks"`); got < 20 {
		t.Errorf("the rendered SVG has %d minutes of acknowledgements, want the run's", got)
	}
	img := pagetest.Screenshot(t, chromium, file, 1280, 1400)
	mean, variance := pagetest.Luminance(img)
	if variance < 100 || pagetest.DistinctColors(img, 64) < 16 {
		t.Errorf("the screenshot looks blank: luminance mean %.0f, variance %.0f, %d colours", mean, variance, pagetest.DistinctColors(img, 64))
	}
}

// TestDrillHTMLOneScenario: --html with --scenario all is refused before
// anything runs.
func TestDrillHTMLOneScenario(t *testing.T) {
	var out, errb bytes.Buffer
	if code := drillMain([]string{"--scenario", "all", "--html", "x.html"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--html writes one scenario's page") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
