package dr

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/local/objectstore"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// failbackBucket is the test world's failback bucket in B.
const failbackBucket = "pendulum-failback-" + account + "-" + regionB

// testSettings are the failback settings of the tests: small batches, so
// a few objects make several child executions.
func testSettings(batch int) FailbackSettings {
	return FailbackSettings{Bucket: failbackBucket, BatchItems: batch, MaxConcurrency: 4}
}

// passMachine is one pass of failback.asl.json (statemachines/, or
// DR_ASL_DIR) on its own: its Plan, More?, Map and Sum states as the
// failback runs them, ending in Done instead of the next step and in Failed
// instead of RecordFailure.
func passMachine(t testing.TB, name string, subst map[string]string) *states.Machine {
	t.Helper()
	dir := os.Getenv("DR_ASL_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "statemachines")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "failback.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ States map[string]map[string]any }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	sts := map[string]any{"Done": map[string]any{"Type": "Succeed"}, "Failed": map[string]any{"Type": "Fail", "Error": "PassFailed", "CausePath": "$.error.Cause"}}
	for _, s := range []string{name + "Plan", name + "More?", name, name + "Sum"} {
		st, ok := doc.States[s]
		if !ok {
			t.Fatalf("failback.asl.json has no state %s", s)
		}
		sts[s] = st
	}
	sts[name+"More?"].(map[string]any)["Default"] = "Done"
	b, _ := json.Marshal(map[string]any{"StartAt": name + "Plan", "States": sts})
	def := strings.ReplaceAll(string(b), `"RecordFailure"`, `"Failed"`)
	for k, v := range subst {
		def = strings.ReplaceAll(def, "${"+k+"}", v)
	}
	if i := strings.Index(def, "${"); i >= 0 {
		t.Fatalf("%s: unsubstituted placeholder near %q", name, def[i:min(i+40, len(def))])
	}
	m, err := states.Parse([]byte(def))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// fnARN is the test world's ARN of a dr-* function.
func fnARN(name string) string {
	return "arn:aws:lambda:" + regionB + ":" + account + ":function:pendulum-" + name
}

// passRun runs one pass of a step (CopyBack or Merge, by its state name)
// on the engine with B's S3 as the Distributed Map's: the pass's state at
// the end, or the execution's failure.
type passRun struct {
	clk    clock.Clock
	b      *sim.S3
	handle states.LambdaHandler
	fn     string // dr-copyback or dr-merge
	prefix string // CopyBack or Merge
	state  string // copy or merge, the state's $. name without the pass
}

func (p passRun) run(t testing.TB, since string, pass int, listedFrom string) (json.RawMessage, states.Result) {
	t.Helper()
	eng := states.New(states.Options{Clock: p.clk, Registry: states.NewRegistry(), AccountID: account, Region: regionB, ObjectStore: objectstore.S3{S3: p.b}})
	eng.Registry().HandleLambda(fnARN(p.fn), p.handle)
	name := fmt.Sprintf("%s%d", p.prefix, pass)
	subst := map[string]string{"FailbackBucket": failbackBucket, "DrCopybackFunctionArn": fnARN("dr-copyback"), "DrMergeFunctionArn": fnARN("dr-merge")}
	m := passMachine(t, name, subst)
	eng.Register("pendulum-pass", m)
	in, _ := json.Marshal(map[string]any{"begin": map[string]string{"since": since},
		p.state + "1": map[string]string{"listedFrom": listedFrom}})
	x, err := eng.Start(context.Background(), m, fmt.Sprintf("pass-%d-%d", pass, time.Now().UnixNano()), in)
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != states.StatusSucceeded {
		return nil, res
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatal(err)
	}
	return out[fmt.Sprintf("%s%d", p.state, pass)], res
}

// copyPass runs a copy-back pass and returns its totals and how many
// batches (child executions) it ran.
func copyPass(t testing.TB, cw *copyWorld, c *CopyBack, since string, pass int, listedFrom string) (PassState[CopyTotals], states.Result) {
	t.Helper()
	pr := passRun{clk: cw.clk, b: cw.b, handle: lambdaOf("dr-copyback", c.Handle), fn: "dr-copyback", prefix: "CopyBack", state: "copy"}
	raw, res := pr.run(t, since, pass, listedFrom)
	var st PassState[CopyTotals]
	if raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
	}
	return st, res
}

func TestListingPrefixes(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, start, end string
		want             []string
	}{
		{"OneHour", "2026-11-25T03:15:00Z", "2026-11-25T03:59:00Z", []string{"dt=2026-11-25/hr=03/"}},
		{"HoursThenTen", "2026-11-25T07:00:00Z", "2026-11-25T19:30:00Z",
			[]string{"dt=2026-11-25/hr=07/", "dt=2026-11-25/hr=08/", "dt=2026-11-25/hr=09/", "dt=2026-11-25/hr=1"}},
		{"EveningIntoNextDay", "2026-11-25T20:00:00Z", "2026-11-26T01:10:00Z",
			[]string{"dt=2026-11-25/hr=2", "dt=2026-11-26/hr=00/", "dt=2026-11-26/hr=01/"}},
		// Eight days from the 25th: the rest of the 25th, the days to the
		// 29th, the 30th (a decade of its own), then the 1st to the 3rd.
		{"EightDays", "2026-11-25T03:00:00Z", "2026-12-03T23:00:00Z", []string{
			"dt=2026-11-25/hr=03/", "dt=2026-11-25/hr=04/", "dt=2026-11-25/hr=05/", "dt=2026-11-25/hr=06/", "dt=2026-11-25/hr=07/",
			"dt=2026-11-25/hr=08/", "dt=2026-11-25/hr=09/", "dt=2026-11-25/hr=1", "dt=2026-11-25/hr=2",
			"dt=2026-11-26/", "dt=2026-11-27/", "dt=2026-11-28/", "dt=2026-11-29/", "dt=2026-11-3",
			"dt=2026-12-01/", "dt=2026-12-02/", "dt=2026-12-03/"}},
		{"MonthsAndYear", "2026-09-30T00:00:00Z", "2028-02-01T05:00:00Z", []string{
			"dt=2026-09-3", "dt=2026-1", "dt=2027-", "dt=2028-01-", "dt=2028-02-01/hr=00/", "dt=2028-02-01/hr=01/",
			"dt=2028-02-01/hr=02/", "dt=2028-02-01/hr=03/", "dt=2028-02-01/hr=04/", "dt=2028-02-01/hr=05/"}},
		// February's last decade is its 20th to 28th day.
		{"February", "2027-02-20T00:00:00Z", "2027-03-01T00:00:00Z", []string{"dt=2027-02-2", "dt=2027-03-01/hr=00/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ListingPrefixes(at(tt.start), at(tt.end))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("ListingPrefixes(%s, %s)\n got %q\nwant %q", tt.start, tt.end, got, tt.want)
			}
			// Every hour folder of the range, and none before it, is under
			// exactly one prefix.
			for h := at(tt.start).Truncate(time.Hour).Add(-3 * time.Hour); !h.After(at(tt.end)); h = h.Add(time.Hour) {
				folder := h.Format("dt=2006-01-02/hr=15/")
				n := 0
				for _, p := range got {
					if strings.HasPrefix(folder, p) {
						n++
					}
				}
				if inRange := !h.Before(at(tt.start).Truncate(time.Hour)); (n == 1) != inRange || n > 1 {
					t.Fatalf("folder %s is under %d prefixes (in range: %v)", folder, n, inRange)
				}
			}
		})
	}
}

func TestOlderThan(t *testing.T) {
	from := time.Date(2026, 11, 25, 3, 0, 10, 500_000_000, time.UTC)
	for _, tt := range []struct {
		s    int64
		want bool
	}{{from.Unix() - 1, true}, {from.Unix(), false}, {from.Unix() + 1, false}} {
		if got := (ListedObject{Key: "k", LastModified: tt.s}).olderThan(from); got != tt.want {
			t.Errorf("second %d, from %s: older %v, want %v", tt.s, from, got, tt.want)
		}
	}
}

func TestFailbackSettingsFromEnv(t *testing.T) {
	env := map[string]string{EnvFailbackBucket: "b", EnvFailbackBatchItems: "500", EnvFailbackMaxConcurrency: "100"}
	s, err := FailbackSettingsFromEnv(func(k string) string { return env[k] })
	if err != nil || s != (FailbackSettings{Bucket: "b", BatchItems: 500, MaxConcurrency: 100}) {
		t.Fatalf("%+v %v", s, err)
	}
	env = map[string]string{EnvFailbackBatchItems: "0", EnvFailbackMaxConcurrency: "x"}
	_, err = FailbackSettingsFromEnv(func(k string) string { return env[k] })
	for _, want := range []string{EnvFailbackBucket, EnvFailbackBatchItems + `="0"`, EnvFailbackMaxConcurrency + `="x"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to name %s", err, want)
		}
	}
}
