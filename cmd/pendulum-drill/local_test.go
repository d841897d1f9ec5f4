package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/operator"
)

const snapshotDir = "../../pkg/assembly/testdata/cdk.out"

// TestLocal runs operator commands against one local installation: the
// status of the fresh deployment, an isolated drill started and followed,
// then the status again, which finds that drill and its verdict.
func TestLocal(t *testing.T) {
	var out, errb bytes.Buffer
	code := drillMain([]string{"local", "status", "--json", "--assembly", snapshotDir, "--",
		"drill", "start", "--name", "local-1", "--assembly", snapshotDir, "--",
		"status", "--json", "--assembly", snapshotDir}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	parts := strings.Split(out.String(), "\n$ pendulum ")
	if len(parts) != 4 {
		t.Fatalf("want three commands' outputs:\n%s", out.String())
	}
	var before, after operator.Status
	if err := json.Unmarshal([]byte(parts[1][strings.IndexByte(parts[1], '\n'):]), &before); err != nil {
		t.Fatalf("first status: %v\n%s", err, parts[1])
	}
	if err := json.Unmarshal([]byte(parts[3][strings.IndexByte(parts[3], '\n'):]), &after); err != nil {
		t.Fatalf("second status: %v\n%s", err, parts[3])
	}
	if before.Mode.Mode != "PRIMARY" || before.LastDrill.Execution != "" || !strings.Contains(before.Installation.Where, "local installation") {
		t.Fatalf("first status %+v", before)
	}
	if !strings.Contains(parts[2], "drill local-1 SUCCEEDED") || !strings.Contains(parts[2], "drill PASSED") {
		t.Fatalf("drill start:\n%s", parts[2])
	}
	if !strings.HasSuffix(after.LastDrill.Execution, ":local-1") || after.LastDrill.Passed == nil || !*after.LastDrill.Passed || !after.At.After(before.At) {
		t.Fatalf("second status: last drill %+v at %v (first at %v)", after.LastDrill, after.At, before.At)
	}
}

// TestLocalUsage: an unknown command, a missing one, and --profile with a
// local installation exit 2; a failing command stops the ones after it.
func TestLocalUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"local"}, "a command is missing"},
		{[]string{"local", "reboot"}, `unknown command "reboot"`},
		{[]string{"local", "status", "--"}, "a command is missing"},
		{[]string{"local", "status", "--profile", "prod", "--assembly", snapshotDir}, "a local installation needs none"},
		{[]string{"local", "--warmup", "-1m", "status"}, "want a duration >= 0"},
	} {
		var out, errb bytes.Buffer
		if code := drillMain(tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
	var out, errb bytes.Buffer
	code := drillMain([]string{"local", "--warmup", "0s", "report", "--assembly", snapshotDir, "nothing", "--", "status", "--assembly", snapshotDir}, &out, &errb)
	if code != 2 || strings.Contains(out.String(), "DR mode") || !strings.Contains(errb.String(), "the commands after it did not run") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}
