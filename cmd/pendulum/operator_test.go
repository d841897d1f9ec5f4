package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/local"
	"github.com/pendulum-dr/pendulum/pkg/operator"
	"github.com/pendulum-dr/pendulum/pkg/operator/oplocal"
	"github.com/pendulum-dr/pendulum/pkg/reportpage/pagetest"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// snapshot is the synthesized installation go test deploys (no Node).
const snapshot = "../../pkg/assembly/testdata/cdk.out"

// useLocal deploys the snapshot into simulated regions and points the
// operator commands at it, as --local does in pendulum-drill; the
// installation runs 20 minutes of virtual time first (the replication
// metrics' first quarter of an hour).
func useLocal(t *testing.T) *local.Local {
	t.Helper()
	a, err := assembly.Read(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := local.New(ctx, local.Options{Assembly: a, Start: local.BeforeBackup})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	if err := l.Sleep(ctx, 20*time.Minute); err != nil {
		t.Fatal(err)
	}
	s := oplocal.Session(l, "test installation")
	old := connect
	connect = func(_ context.Context, c operator.Connection) (*operator.Session, error) {
		if c.Assembly != snapshot {
			return nil, operator.Usagef("the test deployed %s, not %s", snapshot, c.Assembly)
		}
		return s, nil
	}
	t.Cleanup(func() { connect = old })
	return l
}

// pendulum runs the CLI with args (and --assembly snapshot after the
// command's name) and returns its exit status and outputs.
func pendulum(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	n := 1
	if len(args) > 1 && args[0] == "drill" && args[1] == "start" {
		n = 2
	}
	full := append(append(append([]string{}, args[:n]...), "--assembly", snapshot), args[n:]...)
	var out, errb bytes.Buffer
	code := run(full, &out, &errb)
	return code, out.String(), errb.String()
}

func status(t *testing.T) operator.Status {
	t.Helper()
	code, out, errs := pendulum(t, "status", "--json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s\n%s", code, out, errs)
	}
	var st operator.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

// TestOperatorFailoverAndFailback drives status, failover, failback and
// report against the local installation: the status before, after the
// failover and after the failback tells the mode, the traffic and B's
// stack as the workflows left them.
func TestOperatorFailoverAndFailback(t *testing.T) {
	l := useLocal(t)
	P, B := l.Regions.Primary, l.Regions.Backup

	st := status(t)
	if st.Mode.Mode != "PRIMARY" || st.Mode.Exists || strings.Join(st.Traffic.Active, ",") != P || st.BackupStack.Active != "false" || st.BackupStack.Parity != "ok" {
		t.Fatalf("status before failover: mode %+v traffic %+v stack %+v", st.Mode, st.Traffic, st.BackupStack)
	}
	alarms := map[string]bool{}
	for _, a := range st.Alarms.Alarms {
		alarms[a.Name] = true
	}
	// Deployed at local.BeforeBackup, 20 minutes on: the first copy is in
	// B's vault; the hourly readiness check has not run yet.
	if st.Readiness.State != operator.ReadinessNoResult || !alarms["pendulum-primary-unhealthy"] || !alarms["pendulum-not-ready"] || st.LastDrill.Execution != "" || st.RecoveryPoint.ARN == "" || len(st.Errors) != 0 {
		t.Fatalf("status before failover: readiness %+v alarms %+v drill %+v recovery point %+v errors %v", st.Readiness, st.Alarms, st.LastDrill, st.RecoveryPoint, st.Errors)
	}
	if len(st.Replication.Rules) != 2 {
		t.Fatalf("replication rules = %+v, want P's raw and curated buckets'", st.Replication)
	}
	for _, r := range st.Replication.Rules {
		if r.LatencySeconds == nil || r.PendingOperations == nil || !strings.HasSuffix(r.DestinationBucket, "-"+B) {
			t.Fatalf("replication rule %+v", r)
		}
	}
	// The readiness function's run, as make verify-deploy invokes it: status
	// reads its verdict.
	if _, err := l.World.Region(B).Lambda().Invoke(sim.Unmetered(context.Background()), &lambda.InvokeInput{
		FunctionName: aws.String(l.Names.FunctionARN(B, "readiness")), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if st := status(t); st.Readiness.State != operator.ReadinessReady {
		t.Fatalf("status after a readiness run: %+v", st.Readiness)
	}
	code, text, _ := pendulum(t, "status")
	for _, want := range []string{"DR mode", "PRIMARY, no lock held", "traffic            to " + P, "readiness          ready", "ok: Active=false"} {
		if code != 0 || !strings.Contains(text, want) {
			t.Fatalf("status (exit %d) lacks %q:\n%s", code, want, text)
		}
	}

	code, out, errs := pendulum(t, "failover", "--reason", "operator test")
	if code != 0 {
		t.Fatalf("failover: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{`started failover execution`, `with {"reason":"operator test"}`, "→ Begin", "✓ Begin", "→ Recover", "  → ActivateBackup", "↻ WaitTable", "✓ Complete", "SUCCEEDED in", "FAILED_OVER, complete"} {
		if !strings.Contains(out, want) {
			t.Fatalf("failover's step view lacks %q:\n%s", want, out)
		}
	}
	arn := regexp.MustCompile(`arn:aws:states:\S+:execution:pendulum-failover:\S+`).FindString(out)
	st = status(t)
	if st.Mode.Mode != "FAILED_OVER" || strings.Join(st.Traffic.Active, ",") != B || st.BackupStack.Active != "true" || st.BackupStack.Parity != "ok" || st.Mode.Since == "" {
		t.Fatalf("status after failover: mode %+v traffic %+v stack %+v", st.Mode, st.Traffic, st.BackupStack)
	}

	// The failover's report, by name and by ARN; --json; --html.
	code, text, errs = pendulum(t, "report", arn[strings.LastIndexByte(arn, ':')+1:])
	for _, want := range []string{"failover report", "PASSED", "Recover", "facts (from the report)", "recorded.restore.source", "pitr"} {
		if code != 0 || !strings.Contains(text, want) {
			t.Fatalf("report (exit %d) lacks %q:\n%s\n%s", code, want, text, errs)
		}
	}
	html := filepath.Join(t.TempDir(), "failover.html")
	code, out, errs = pendulum(t, "report", "--json", "--html", html, arn)
	var rep operator.ExecutionReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Passed || rep.Status != "SUCCEEDED" || rep.FactsFrom != "report" || len(rep.Steps) < 8 {
		t.Fatalf("report --json: exit %d %+v\n%s", code, rep, errs)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(page), `class="step"`); got != len(rep.Steps) {
		t.Fatalf("report page: %d step bars, want one per step (%d)", got, len(rep.Steps))
	}

	code, out, errs = pendulum(t, "failback", "--min-healthy", "0", "--reason", "operator test")
	if code != 0 || !strings.Contains(out, "SUCCEEDED in") || !strings.Contains(out, "✓ DeactivateBackup") {
		t.Fatalf("failback: exit %d\n%s\n%s", code, out, errs)
	}
	st = status(t)
	if st.Mode.Mode != "PRIMARY" || strings.Join(st.Traffic.Active, ",") != P || st.BackupStack.Active != "false" || st.BackupStack.Parity != "ok" {
		t.Fatalf("status after failback: mode %+v traffic %+v stack %+v", st.Mode, st.Traffic, st.BackupStack)
	}

	// A second failback finds the installation primary: it succeeds at
	// once and says so.
	code, out, _ = pendulum(t, "failback", "--min-healthy", "0", "--json")
	var o operator.Outcome
	if code != 0 || json.Unmarshal([]byte(out), &o) != nil || o.Status != "SUCCEEDED" || !strings.Contains(string(o.Output), "noop") {
		t.Fatalf("failback when primary: exit %d %s", code, out)
	}
}

// TestOperatorApproveDeny: a failover started with approval waits until
// `pendulum approve` answers; a failback started with approval ends
// ApprovalDenied after `pendulum deny`, and its command exits 1.
func TestOperatorApproveDeny(t *testing.T) {
	l := useLocal(t)
	ctx := context.Background()
	if code, _, errs := pendulum(t, "approve"); code != 1 || !strings.Contains(errs, "no running failover or failback in "+l.Regions.Backup+" waits for approval") {
		t.Fatalf("approve with nothing waiting: exit %d %s", code, errs)
	}
	code, out, errs := pendulum(t, "failover", "--approval", "--approval-timeout", "10m", "--no-follow")
	if code != 0 {
		t.Fatalf("failover --no-follow: exit %d %s %s", code, out, errs)
	}
	arn := regexp.MustCompile(`arn:aws:states:\S+:execution:\S+`).FindString(out)
	if err := l.Sleep(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := pendulum(t, "approve", "--execution", arn+"-not-this-one"); code == 0 {
		t.Fatalf("approve of an unknown execution: exit 0 %s", errs)
	}
	code, out, errs = pendulum(t, "approve")
	if code != 0 || !strings.Contains(out, "approved") || !strings.Contains(out, "Approval") || !strings.Contains(out, arn) {
		t.Fatalf("approve: exit %d\n%s\n%s", code, out, errs)
	}
	x, ok := l.Engine.Execution(arn)
	if !ok {
		t.Fatalf("no execution %s", arn)
	}
	res, err := x.Wait(ctx)
	if err != nil || res.Status != "SUCCEEDED" {
		t.Fatalf("approved failover: %+v %v", res, err)
	}

	// The failback follows in its own goroutine on the clock, as a second
	// operator's terminal would, while this one denies it.
	var fbCode int
	var fbOut string
	done := l.Clock.Go(func() {
		fbCode, fbOut, _ = pendulum(t, "failback", "--approval", "--min-healthy", "0")
	})
	if err := l.Sleep(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	code, out, errs = pendulum(t, "deny", "--cause", "not now")
	if code != 0 || !strings.Contains(out, "denied") {
		t.Fatalf("deny: exit %d\n%s\n%s", code, out, errs)
	}
	if err := l.Clock.Await(ctx, done, 0); err != nil {
		t.Fatal(err)
	}
	if fbCode != 1 || !strings.Contains(fbOut, "FAILED") || !strings.Contains(fbOut, "ApprovalDenied") {
		t.Fatalf("denied failback: exit %d\n%s", fbCode, fbOut)
	}
	if st := status(t); st.Mode.Mode != "FAILED_OVER" {
		t.Fatalf("after the denial the mode is %+v, want FAILED_OVER as before", st.Mode)
	}
}

var replicationChecked = regexp.MustCompile(`<b>replication</b> [1-9][0-9]* primary objects older than 15m0s checked, 0 without a replica in the backup region`)

// TestOperatorReportPageInChromium renders a report page in headless
// Chromium: the verdict, the workflow's block and one bar per step.
func TestOperatorReportPageInChromium(t *testing.T) {
	chromium := pagetest.Chromium(t)
	useLocal(t)
	code, out, errs := pendulum(t, "drill", "start", "--json")
	var o operator.Outcome
	if code != 0 || json.Unmarshal([]byte(out), &o) != nil || o.Status != "SUCCEEDED" {
		t.Fatalf("drill start: exit %d\n%s\n%s", code, out, errs)
	}
	if st := status(t); st.LastDrill.Execution != o.Execution || st.LastDrill.Passed == nil || !*st.LastDrill.Passed || st.LastDrill.Mode != "isolated" {
		t.Fatalf("status after the drill: %+v", st.LastDrill)
	}
	html := filepath.Join(t.TempDir(), "drill.html")
	if code, _, errs := pendulum(t, "report", "--html", html, o.Execution); code != 0 {
		t.Fatalf("report --html: exit %d %s", code, errs)
	}
	dom := pagetest.DumpDOM(t, chromium, html)
	for _, want := range []string{`id="verdict">PASSED<`, "drill — SUCCEEDED in", "Verify"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered report lacks %q", want)
		}
	}
	// How many of P's objects are old enough to check depends on how the
	// canary's records and Firehose's flushes fell at the same instants.
	if !replicationChecked.MatchString(dom) {
		t.Errorf("the rendered report lacks a passed replication check of P's objects (%s)", replicationChecked)
	}
	if got := strings.Count(dom, `class="step"`); got != len(o.Steps) {
		t.Errorf("rendered step bars = %d, want %d", got, len(o.Steps))
	}
	if _, v := pagetest.Luminance(pagetest.Screenshot(t, chromium, html, 1280, 900)); v < 100 {
		t.Errorf("the report's screenshot looks blank (luminance variance %.0f)", v)
	}
}

// TestOperatorUsage: bad arguments, unknown flags and bad inputs exit 2
// with a message naming the problem, before anything is started.
func TestOperatorUsage(t *testing.T) {
	useLocal(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"failover", "--restore-source", "tape"}, `restoreSource: "tape" is not one of auto, pitr, backup`},
		{[]string{"failover", "--approval-timeout", "10s"}, "approvalTimeoutSeconds: 10 is outside 60…86400"},
		{[]string{"failover", "--approval-timeout", "90.5s"}, "want a duration in whole seconds"},
		{[]string{"failover", "--approval=maybe"}, "want true or false"},
		{[]string{"failover", "--abandoned", "forget"}, `abandoned: "forget" is not one of resume, rollback`},
		{[]string{"failback", "--min-healthy", "soon"}, "want a whole number of minutes"},
		{[]string{"failback", "--min-healthy", "2000"}, "minHealthyMinutes: 2000 is outside 0…1440"},
		{[]string{"failback", "--restore-source", "pitr"}, "flag provided but not defined: -restore-source"},
		{[]string{"drill", "start", "--mode", "chaos"}, `mode: "chaos" is not one of isolated, gameday`},
		{[]string{"report"}, "want one EXECUTION"},
		{[]string{"report", "no-such-execution"}, `no failover, failback or drill execution named "no-such-execution"`},
		{[]string{"approve", "--execution", "not-an-arn"}, "want an execution ARN"},
		{[]string{"deny", "extra"}, `unexpected argument "extra"`},
	} {
		code, _, errs := pendulum(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("pendulum %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, errs, tc.want)
		}
	}
	// Nothing was started by any of them.
	if st := status(t); st.Mode.Exists {
		t.Fatalf("a refused command wrote the control record: %+v", st.Mode)
	}
}

// TestOperatorHelp: every operator command has --help (exit 0, its flags
// and exit statuses on stderr).
func TestOperatorHelp(t *testing.T) {
	for _, c := range operator.Commands() {
		args := append(strings.Fields(c.Name), "--help")
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage: pendulum "+c.Name) || !strings.Contains(errb.String(), "-assembly") || !strings.Contains(errb.String(), "exit status") {
			t.Errorf("pendulum %s --help: exit %d\n%s", c.Name, code, errb.String())
		}
	}
}

// TestOperatorCredentials: without a region, without credentials, with a
// profile that does not exist, or without the assembly, the SDK's default
// chain is not enough: exit 2 with what to set.
func TestOperatorCredentials(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"NoRegion", []string{"status"}, []string{"no AWS region", "--region", "AWS_PROFILE", "--profile"}},
		{"NoCredentials", []string{"status", "--region", "us-east-2"}, []string{"no AWS credentials", "AWS_PROFILE", "--profile", "aws sso login"}},
		{"NoSuchProfile", []string{"failover", "--profile", "on-call"}, []string{"AWS configuration could not be loaded", "on-call", "--profile or AWS_PROFILE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := pendulum(t, tc.args...)
			for _, want := range tc.want {
				if code != 2 || !strings.Contains(errs, want) {
					t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, want)
				}
			}
		})
	}
	t.Run("NoAssembly", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run([]string{"status", "--assembly", filepath.Join(dir, "cdk.out")}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "make synth") {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
	})
}

// TestOperatorLocalRunsTheDrillProgram: --local hands the command to
// pendulum-drill local, without --local, and exits with its status.
func TestOperatorLocalRunsTheDrillProgram(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in drill program is a shell script")
	}
	dir := t.TempDir()
	fakeDrill(t, dir, "fake")
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--local", "--json"}, "fake args:local status --json\n"},
		{[]string{"drill", "start", "--mode", "gameday", "--local"}, "fake args:local drill start --mode gameday\n"},
	} {
		var out, errb bytes.Buffer
		// The fake exits with its first argument: "local" is not a number,
		// so it exits 2, as the shell's exit does with a bad status.
		code := run(tc.args, &out, &errb)
		if !strings.HasPrefix(out.String(), tc.want) || code == 0 {
			t.Errorf("pendulum %s: exit %d, stdout %q; want %q", strings.Join(tc.args, " "), code, out.String(), tc.want)
		}
	}
}
