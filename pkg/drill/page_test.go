package drill

import (
	"context"
	"strings"
	"testing"
)

// TestDrillTimeline runs the short scenario and checks the report's
// timeline against the run: one outage from the end of the warm-up, two
// traffic switches (to B during it, back to P after), acknowledgements per
// minute that add up to the accounting's and stop in P while it is down;
// then that the page draws every step the text report lists, once each.
func TestDrillTimeline(t *testing.T) {
	cfg := shortConfig(t)
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed {
		t.Fatalf("the short drill failed: %s", Figures(rep))
	}
	P, B := rep.PrimaryRegion, rep.BackupRegion
	if len(rep.PrimaryDown) != 1 {
		t.Fatalf("primary down = %+v, want one outage", rep.PrimaryDown)
	}
	down := rep.PrimaryDown[0]
	// The drill watches in 15 s steps: the primary returns at the first
	// step at or after the outage's length.
	if d := down.EndSeconds - down.StartSeconds; down.StartSeconds != cfg.Warmup.Seconds() || d < cfg.Outage.Seconds() || d > cfg.Outage.Seconds()+15 {
		t.Fatalf("outage %+v, want %v from %v", down, cfg.Outage, cfg.Warmup)
	}
	if len(rep.TrafficSwitches) != 2 || rep.TrafficSwitches[0].To != B || rep.TrafficSwitches[1].To != P {
		t.Fatalf("traffic switches = %+v, want to %s then to %s", rep.TrafficSwitches, B, P)
	}
	toB, toP := rep.TrafficSwitches[0], rep.TrafficSwitches[1]
	if toB.AtSeconds < down.StartSeconds+rep.AlarmSeconds || toB.AtSeconds > down.EndSeconds || toP.AtSeconds < down.EndSeconds ||
		toB.Execution != rep.Failover.Execution || toP.Execution != rep.Failback.Execution {
		t.Fatalf("switches %+v outside the workflows that made them (outage %+v, alarm +%.0fs)", rep.TrafficSwitches, down, rep.AlarmSeconds)
	}
	sum := func(counts []int, from, to int) int {
		n := 0
		for m := from; m < to && m < len(counts); m++ {
			n += counts[m]
		}
		return n
	}
	byP, byB := rep.AcksPerMinute[P], rep.AcksPerMinute[B]
	if got := sum(byB, 0, len(byB)); got != int(rep.Records.AckedByBackup) || got == 0 {
		t.Fatalf("B's acknowledgements per minute add up to %d, the accounting says %d", got, rep.Records.AckedByBackup)
	}
	if total := sum(byP, 0, len(byP)) + sum(byB, 0, len(byB)); total == 0 || int64(total) > rep.Records.Acknowledged {
		t.Fatalf("acknowledgements per minute add up to %d, more than the %d acknowledged", total, rep.Records.Acknowledged)
	}
	// P acknowledges nothing in a whole minute of its outage; B nothing
	// before traffic first moved to it.
	first, last := int(down.StartSeconds/60)+1, int(down.EndSeconds/60)
	if n := sum(byP, first, last); n != 0 {
		t.Fatalf("P acknowledged %d records while down", n)
	}
	if n := sum(byB, 0, int(toB.AtSeconds/60)); n != 0 {
		t.Fatalf("B acknowledged %d records before traffic moved to it", n)
	}

	p := Page(rep)
	want := 0
	for _, w := range []*Workflow{rep.Failover, rep.Failback, rep.NightlyBatch, rep.IsolatedDrill} {
		if w == nil {
			t.Fatal("a workflow of the short scenario did not run")
		}
		for _, s := range w.Steps {
			if !strings.Contains(s.Name, " › ") || s.Seconds >= 1 {
				want++
			}
		}
	}
	if got := p.StepBars(); got != want || want < 20 {
		t.Fatalf("page step bars = %d, want %d (every step the text lists)", got, want)
	}
	var b strings.Builder
	if err := WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if got := strings.Count(html, `class="step"`); got != want {
		t.Fatalf("the page draws %d step bars, want %d", got, want)
	}
	for _, s := range []string{`id="verdict">PASSED<`, "traffic → " + B, "traffic → " + P, "P down", "alarm → failover", "lost:s3", "Final accounting per store"} {
		if !strings.Contains(html, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
}
