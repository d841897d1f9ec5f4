package dr

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// fakeSFN answers DescribeExecution from a map of statuses; an unknown ARN
// does not exist.
type fakeSFN struct {
	status map[string]sfntypes.ExecutionStatus
	calls  int
}

func (f *fakeSFN) DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.calls++
	st, ok := f.status[aws.ToString(in.ExecutionArn)]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist")}
	}
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: st}, nil
}

func execARN(machine, name string) string {
	return "arn:aws:states:" + regionB + ":" + account + ":execution:pendulum-" + machine + ":" + name
}

func newControl(t *testing.T) (*Control, *fakeSFN, *sim.World) {
	t.Helper()
	w, clk := newWorld(t)
	db := w.Region(regionB).DynamoDB()
	createTable(t, db, "pendulum-dr-control", false)
	f := &fakeSFN{status: map[string]sfntypes.ExecutionStatus{}}
	return &Control{DB: db, SFN: f, Table: "pendulum-dr-control", AggregatesTable: "pendulum-aggregates", Clock: clk}, f, w
}

func begin(workflow, exec, input string) ControlInput {
	in := ControlInput{Op: "begin", Workflow: workflow, Execution: exec, StartTime: "2026-11-25T10:00:00.123Z", Input: json.RawMessage(input)}
	in.Defaults.Approval = "false"
	return in
}

func mustMode(t *testing.T, c *Control, want string) ControlRecord {
	t.Helper()
	r, _, err := c.Read(context.Background())
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if r.Mode != want {
		t.Fatalf("mode = %s, want %s (record %+v)", r.Mode, want, r)
	}
	return r
}

func TestControlFailoverLifecycle(t *testing.T) {
	ctx := context.Background()
	c, f, _ := newControl(t)
	a := execARN("failover", "a")

	out, err := c.Handle(ctx, begin("failover", a, `{}`))
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if !*out.Proceed || *out.Resumed {
		t.Fatalf("begin = %+v, want proceed, not resumed", out)
	}
	if got, want := out.Since, "2026-11-25T10:00:00Z"; got != want {
		t.Fatalf("since = %s, want %s", got, want)
	}
	if got, want := out.Config.RestoreSource, "auto"; got != want {
		t.Fatalf("restoreSource = %s, want %s", got, want)
	}
	rec := mustMode(t, c, ModeFailingOver)
	if rec.Execution != a || rec.Version != 1 {
		t.Fatalf("record = %+v, want holder %s version 1", rec, a)
	}

	// A retried Begin of the same execution is harmless.
	if out, err = c.Handle(ctx, begin("failover", a, `{}`)); err != nil || !*out.Proceed {
		t.Fatalf("retried begin = %+v, %v", out, err)
	}
	if got := mustMode(t, c, ModeFailingOver).Version; got != 1 {
		t.Fatalf("retried begin wrote: version %d", got)
	}

	done, err := c.Handle(ctx, ControlInput{Op: "complete", Workflow: "failover", Execution: a, Facts: json.RawMessage(`{"restore":{"source":"pitr"}}`)})
	if err != nil || done.Mode != ModeFailedOver {
		t.Fatalf("complete = %+v, %v", done, err)
	}
	rec = mustMode(t, c, ModeFailedOver)
	if got, want := string(rec.FailoverFacts), `{"outcome":"complete","restore":{"source":"pitr"}}`; got != want {
		t.Fatalf("facts = %s, want %s", got, want)
	}
	// A retried complete answers the same.
	if done, err = c.Handle(ctx, ControlInput{Op: "complete", Workflow: "failover", Execution: a}); err != nil || done.Mode != ModeFailedOver {
		t.Fatalf("retried complete = %+v, %v", done, err)
	}

	// Re-running a finished failover is a no-op that says so.
	out, err = c.Handle(ctx, begin("failover", execARN("failover", "b"), `{}`))
	if err != nil || *out.Proceed || !strings.Contains(out.Message, "already failed over") {
		t.Fatalf("re-run = %+v, %v; want proceed=false, already failed over", out, err)
	}

	// Failback takes the lock and keeps the failover's since.
	fb := execARN("failback", "c")
	out, err = c.Handle(ctx, begin("failback", fb, `{"minHealthyMinutes":5}`))
	if err != nil || !*out.Proceed || out.Since != "2026-11-25T10:00:00Z" || *out.Config.MinHealthyMinutes != 5 {
		t.Fatalf("failback begin = %+v, %v", out, err)
	}
	mustMode(t, c, ModeFailingBack)
	// A failover while failback runs is refused.
	f.status[fb] = sfntypes.ExecutionStatusRunning
	if _, err := c.Handle(ctx, begin("failover", execARN("failover", "d"), `{}`)); kindOf(err) != "conflict" {
		t.Fatalf("failover during failback: %v, want conflict", err)
	}
	if done, err = c.Handle(ctx, ControlInput{Op: "complete", Workflow: "failback", Execution: fb}); err != nil || done.Mode != ModePrimary {
		t.Fatalf("failback complete = %+v, %v", done, err)
	}
	out, err = c.Handle(ctx, begin("failback", execARN("failback", "e"), `{}`))
	if err != nil || *out.Proceed || !strings.Contains(out.Message, "already primary") {
		t.Fatalf("failback when primary = %+v, %v", out, err)
	}
}

func TestControlConcurrentAndResume(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		holder     sfntypes.ExecutionStatus // "" = does not exist
		noteFailed bool                     // the holder ran its Catch path (op fail)
		committed  bool                     // the holder passed its Commit state
		input      string                   // the second run's input
		wantKind   string
		wantResume bool
		wantCause  []string // substrings of the refusal
	}{
		{name: "HolderRunningRefused", holder: sfntypes.ExecutionStatusRunning, input: `{}`, wantKind: "conflict", wantCause: []string{"RUNNING"}},
		{name: "HolderRunningRefusedEvenWithChoice", holder: sfntypes.ExecutionStatusRunning, input: `{"abandoned":"resume"}`, wantKind: "conflict", wantCause: []string{"RUNNING"}},
		// An execution that ended without its Catch path: a plain run does
		// not silently resume; the refusal names the choices.
		{name: "HolderAbortedPlainRefused", holder: sfntypes.ExecutionStatusAborted, input: `{}`, wantKind: "conflict",
			wantCause: []string{"ABORTED", `{"abandoned":"rollback"}`, `{"abandoned":"resume"}`, "before changing anything"}},
		{name: "HolderAbortedAfterCommitPlainRefused", holder: sfntypes.ExecutionStatusAborted, committed: true, input: `{}`, wantKind: "conflict",
			wantCause: []string{"ABORTED", `{"abandoned":"resume"}`, "then run failback", "rollback is not possible"}},
		{name: "HolderTimedOutPlainRefused", holder: sfntypes.ExecutionStatusTimedOut, input: `{"abandoned":null}`, wantKind: "conflict", wantCause: []string{"TIMED_OUT"}},
		{name: "HolderFailedUncaughtPlainRefused", holder: sfntypes.ExecutionStatusFailed, input: `{}`, wantKind: "conflict", wantCause: []string{"FAILED"}},
		{name: "HolderGonePlainRefused", input: `{}`, wantKind: "conflict", wantCause: []string{"no longer exists"}},
		{name: "HolderAbortedResumes", holder: sfntypes.ExecutionStatusAborted, input: `{"abandoned":"resume"}`, wantKind: "nil", wantResume: true},
		{name: "HolderAbortedAfterCommitResumes", holder: sfntypes.ExecutionStatusAborted, committed: true, input: `{"abandoned":"resume"}`, wantKind: "nil", wantResume: true},
		{name: "HolderTimedOutResumes", holder: sfntypes.ExecutionStatusTimedOut, input: `{"abandoned":"resume"}`, wantKind: "nil", wantResume: true},
		{name: "HolderGoneResumes", input: `{"abandoned":"resume"}`, wantKind: "nil", wantResume: true},
		// A holder that ran its Catch path told the operator a re-run
		// resumes: a plain run does, even while that execution still runs.
		{name: "HolderNotedFailureResumesWhileRunning", holder: sfntypes.ExecutionStatusRunning, noteFailed: true, committed: true, input: `{}`, wantKind: "nil", wantResume: true},
		{name: "HolderNotedFailureRollbackRefused", holder: sfntypes.ExecutionStatusFailed, noteFailed: true, committed: true, input: `{"abandoned":"rollback"}`, wantKind: "conflict",
			wantCause: []string{"rollback refused", `{"abandoned":"resume"}`}},
		{name: "HolderAbortedAfterCommitRollbackRefused", holder: sfntypes.ExecutionStatusAborted, committed: true, input: `{"abandoned":"rollback"}`, wantKind: "conflict",
			wantCause: []string{"rollback refused", "already started changing", `{"abandoned":"resume"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, f, _ := newControl(t)
			a, b := execARN("failover", "a"), execARN("failover", "b")
			first := begin("failover", a, `{}`)
			if _, err := c.Handle(ctx, first); err != nil {
				t.Fatal(err)
			}
			if tc.committed {
				if _, err := c.Handle(ctx, ControlInput{Op: "commit", Workflow: "failover", Execution: a}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.holder != "" {
				f.status[a] = tc.holder
			}
			if tc.noteFailed {
				if _, err := c.Handle(ctx, ControlInput{Op: "fail", Workflow: "failover", Execution: a, Error: json.RawMessage(`{"Error":"States.TaskFailed","Cause":"boom"}`)}); err != nil {
					t.Fatal(err)
				}
				if r := mustMode(t, c, ModeFailingOver); !r.Failed || r.LastError != "States.TaskFailed: boom" {
					t.Fatalf("fail did not note: %+v", r)
				}
			}
			before := mustMode(t, c, ModeFailingOver)
			second := begin("failover", b, tc.input)
			second.StartTime = "2026-11-25T11:00:00Z"
			out, err := c.Handle(ctx, second)
			if got := kindOf(err); got != tc.wantKind {
				t.Fatalf("second begin error kind = %s (%v), want %s", got, err, tc.wantKind)
			}
			if err != nil {
				for _, want := range append([]string{a}, tc.wantCause...) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("refusal %q does not say %q", err, want)
					}
				}
				if r := mustMode(t, c, ModeFailingOver); r.Execution != a || r.Version != before.Version {
					t.Fatalf("record after refusal = %+v, want it unchanged (%+v)", r, before)
				}
				return
			}
			if *out.Resumed != tc.wantResume || !*out.Proceed {
				t.Fatalf("second begin = %+v", out)
			}
			// The resume keeps the original start time and what the run
			// it took over had done.
			if got, want := out.Since, "2026-11-25T10:00:00Z"; got != want {
				t.Fatalf("since = %s, want %s", got, want)
			}
			if r := mustMode(t, c, ModeFailingOver); r.Execution != b || r.Failed || r.Committed != tc.committed {
				t.Fatalf("record after resume = %+v (committed want %v)", r, tc.committed)
			}
			// The old holder can no longer complete.
			if _, err := c.Handle(ctx, ControlInput{Op: "complete", Workflow: "failover", Execution: a}); kindOf(err) != "conflict" {
				t.Fatalf("old holder complete: %v, want conflict", err)
			}
		})
	}
}

// TestControlRollback: a failover stopped before it changed anything is
// rolled back to PRIMARY on the operator's choice, and the next plain
// failover starts afresh; with nothing to roll back the choice is a no-op,
// and resume with nothing to resume is refused.
func TestControlRollback(t *testing.T) {
	ctx := context.Background()
	c, f, _ := newControl(t)
	a, b, d := execARN("failover", "a"), execARN("failover", "b"), execARN("failover", "d")
	if _, err := c.Handle(ctx, begin("failover", a, `{"approval":true}`)); err != nil {
		t.Fatal(err)
	}
	f.status[a] = sfntypes.ExecutionStatusAborted
	out, err := c.Handle(ctx, begin("failover", b, `{"abandoned":"rollback"}`))
	if err != nil || *out.Proceed || !strings.Contains(out.Message, "rolled back") || !strings.Contains(out.Message, a) {
		t.Fatalf("rollback = %+v, %v; want proceed=false, a message naming %s", out, err, a)
	}
	r := mustMode(t, c, ModePrimary)
	if r.Execution != "" || r.Committed || !strings.Contains(r.LastError, "rolled back by "+b) {
		t.Fatalf("record after rollback = %+v", r)
	}
	// Retried (or repeated) rollback: nothing to do, nothing written.
	out, err = c.Handle(ctx, begin("failover", b, `{"abandoned":"rollback"}`))
	if err != nil || *out.Proceed || !strings.Contains(out.Message, "nothing to roll back") {
		t.Fatalf("second rollback = %+v, %v", out, err)
	}
	if got := mustMode(t, c, ModePrimary).Version; got != r.Version {
		t.Fatalf("second rollback wrote: version %d → %d", r.Version, got)
	}
	if _, err := c.Handle(ctx, begin("failover", b, `{"abandoned":"resume"}`)); kindOf(err) != "conflict" || !strings.Contains(err.Error(), "no abandoned failover") {
		t.Fatalf("resume with nothing to resume: %v, want conflict", err)
	}
	// A later plain failover takes the lock as a new run.
	next := begin("failover", d, `{}`)
	next.StartTime = "2026-11-25T12:00:00Z"
	out, err = c.Handle(ctx, next)
	if err != nil || !*out.Proceed || *out.Resumed || out.Since != "2026-11-25T12:00:00Z" {
		t.Fatalf("failover after rollback = %+v, %v; want a fresh run since 12:00", out, err)
	}
	if r := mustMode(t, c, ModeFailingOver); r.Execution != d || r.Committed {
		t.Fatalf("record = %+v", r)
	}
}

// TestControlFailbackRollback: a failback stopped during approval rolls
// back to FAILED_OVER with the failover's start time kept; after its Commit
// only resume is offered.
func TestControlFailbackRollback(t *testing.T) {
	ctx := context.Background()
	for _, committed := range []bool{false, true} {
		c, f, _ := newControl(t)
		fo, fb := execARN("failover", "a"), execARN("failback", "b")
		for _, in := range []ControlInput{begin("failover", fo, `{}`), {Op: "commit", Workflow: "failover", Execution: fo},
			{Op: "complete", Workflow: "failover", Execution: fo}, begin("failback", fb, `{}`)} {
			if _, err := c.Handle(ctx, in); err != nil {
				t.Fatalf("%s %s: %v", in.Op, in.Workflow, err)
			}
		}
		if committed {
			if _, err := c.Handle(ctx, ControlInput{Op: "commit", Workflow: "failback", Execution: fb}); err != nil {
				t.Fatal(err)
			}
		}
		f.status[fb] = sfntypes.ExecutionStatusAborted
		_, err := c.Handle(ctx, begin("failback", execARN("failback", "c"), `{}`))
		if kindOf(err) != "conflict" || !strings.Contains(err.Error(), `{"abandoned":"resume"}`) {
			t.Fatalf("committed=%v plain failback: %v, want a refusal naming resume", committed, err)
		}
		if got := strings.Contains(err.Error(), `{"abandoned":"rollback"}`); got == committed {
			t.Fatalf("committed=%v: refusal %q offers rollback = %v", committed, err, got)
		}
		out, err := c.Handle(ctx, begin("failback", execARN("failback", "c"), `{"abandoned":"rollback"}`))
		if committed {
			if kindOf(err) != "conflict" {
				t.Fatalf("rollback after commit: %v, want conflict", err)
			}
			mustMode(t, c, ModeFailingBack)
			continue
		}
		if err != nil || *out.Proceed {
			t.Fatalf("rollback = %+v, %v", out, err)
		}
		if r := mustMode(t, c, ModeFailedOver); r.Since != "2026-11-25T10:00:00Z" || r.Execution != "" {
			t.Fatalf("record after failback rollback = %+v", r)
		}
	}
}

// TestControlCommit: only the holder commits; a retried commit writes
// nothing; abort and complete clear the mark.
func TestControlCommit(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newControl(t)
	a := execARN("failover", "a")
	if _, err := c.Handle(ctx, ControlInput{Op: "commit", Workflow: "failover", Execution: a}); kindOf(err) != "conflict" {
		t.Fatalf("commit without the lock: %v, want conflict", err)
	}
	if _, err := c.Handle(ctx, begin("failover", a, `{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "commit", Workflow: "failover", Execution: execARN("failover", "x")}); kindOf(err) != "conflict" {
		t.Fatalf("commit by another execution: %v, want conflict", err)
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "commit", Workflow: "failback", Execution: a}); kindOf(err) != "conflict" {
		t.Fatalf("commit of the other workflow: %v, want conflict", err)
	}
	out, err := c.Handle(ctx, ControlInput{Op: "commit", Workflow: "failover", Execution: a})
	if err != nil || out.Mode != ModeFailingOver {
		t.Fatalf("commit = %+v, %v", out, err)
	}
	r := mustMode(t, c, ModeFailingOver)
	if !r.Committed {
		t.Fatalf("record after commit = %+v", r)
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "commit", Workflow: "failover", Execution: a}); err != nil {
		t.Fatal(err)
	}
	if got := mustMode(t, c, ModeFailingOver).Version; got != r.Version {
		t.Fatalf("retried commit wrote: version %d → %d", r.Version, got)
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "complete", Workflow: "failover", Execution: a}); err != nil {
		t.Fatal(err)
	}
	if r := mustMode(t, c, ModeFailedOver); r.Committed {
		t.Fatalf("record after complete = %+v, want the commit mark cleared", r)
	}
}

// TestControlDrillWithStaleLock: an abandoned failover that changed nothing
// does not block the isolated drill (production is as it was); one that
// changed things, or a game day, is refused with the recovery to run.
func TestControlDrillWithStaleLock(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, mode string
		committed  bool
		running    bool
		wantErr    []string // nil: the drill runs
	}{
		{name: "IsolatedRunsBesideUncommitted", mode: "isolated"},
		{name: "GameDayRefused", mode: "gameday", wantErr: []string{`{"abandoned":"rollback"}`, `{"abandoned":"resume"}`}},
		{name: "IsolatedRefusedAfterCommit", mode: "isolated", committed: true, wantErr: []string{`{"abandoned":"resume"}`, "changing the installation"}},
		{name: "RefusedWhileRunning", mode: "isolated", running: true, wantErr: []string{"RUNNING"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f, _ := newControl(t)
			a := execARN("failover", "a")
			if _, err := c.Handle(ctx, begin("failover", a, `{}`)); err != nil {
				t.Fatal(err)
			}
			if tc.committed {
				if _, err := c.Handle(ctx, ControlInput{Op: "commit", Workflow: "failover", Execution: a}); err != nil {
					t.Fatal(err)
				}
			}
			f.status[a] = sfntypes.ExecutionStatusAborted
			if tc.running {
				f.status[a] = sfntypes.ExecutionStatusRunning
			}
			d := execARN("drill", "nightly")
			out, err := c.Handle(ctx, ControlInput{Op: "drill", Execution: d, Input: json.RawMessage(`{"mode":"` + tc.mode + `"}`)})
			if tc.wantErr == nil {
				if err != nil || out.DrillTable == "" || !strings.Contains(out.Message, a) {
					t.Fatalf("drill = %+v, %v; want it to run and name the stale lock", out, err)
				}
				return
			}
			if kindOf(err) != "conflict" {
				t.Fatalf("drill: %v, want conflict", err)
			}
			for _, want := range append(tc.wantErr, a) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestControlAbort(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newControl(t)
	a := execARN("failover", "a")
	if _, err := c.Handle(ctx, begin("failover", a, `{"approval":true}`)); err != nil {
		t.Fatal(err)
	}
	other := ControlInput{Op: "abort", Workflow: "failover", Execution: execARN("failover", "x"), Error: json.RawMessage(`{"Error":"States.Timeout"}`)}
	if _, err := c.Handle(ctx, other); kindOf(err) != "conflict" {
		t.Fatalf("abort by non-holder: %v, want conflict", err)
	}
	ab := ControlInput{Op: "abort", Workflow: "failover", Execution: a, Error: json.RawMessage(`{"Error":"States.Timeout","Cause":"no answer"}`)}
	out, err := c.Handle(ctx, ab)
	if err != nil || out.Mode != ModePrimary {
		t.Fatalf("abort = %+v, %v", out, err)
	}
	r := mustMode(t, c, ModePrimary)
	if r.Execution != "" || !strings.Contains(r.LastError, "States.Timeout") {
		t.Fatalf("record after abort = %+v", r)
	}
	// Retried abort: no error, no write.
	if out, err = c.Handle(ctx, ab); err != nil || out.Mode != ModePrimary {
		t.Fatalf("retried abort = %+v, %v", out, err)
	}
	if got := mustMode(t, c, ModePrimary).Version; got != r.Version {
		t.Fatalf("retried abort wrote: version %d → %d", r.Version, got)
	}
	// A new failover can start.
	if out, err := c.Handle(ctx, begin("failover", execARN("failover", "b"), `{}`)); err != nil || !*out.Proceed {
		t.Fatalf("begin after abort = %+v, %v", out, err)
	}
}

func TestControlFailbackAbortRestoresFailedOver(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newControl(t)
	a, fb := execARN("failover", "a"), execARN("failback", "b")
	for _, in := range []ControlInput{begin("failover", a, `{}`), {Op: "complete", Workflow: "failover", Execution: a}, begin("failback", fb, `{}`),
		{Op: "abort", Workflow: "failback", Execution: fb, Error: json.RawMessage(`{"Error":"PrimaryUnhealthy"}`)}} {
		if _, err := c.Handle(ctx, in); err != nil {
			t.Fatalf("%s %s: %v", in.Op, in.Workflow, err)
		}
	}
	if r := mustMode(t, c, ModeFailedOver); r.Since != "2026-11-25T10:00:00Z" {
		t.Fatalf("since lost: %+v", r)
	}
}

func TestControlFailOnlyByHolder(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newControl(t)
	if _, err := c.Handle(ctx, ControlInput{Op: "fail", Workflow: "failover", Execution: execARN("failover", "a")}); kindOf(err) != "conflict" {
		t.Fatalf("fail without lock: %v, want conflict", err)
	}
}

func TestControlInvalidInput(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newControl(t)
	_, err := c.Handle(ctx, begin("failover", execARN("failover", "a"), `{"approval":"yes","restoreSource":"tape","colour":"red","approvalTimeoutSeconds":5}`))
	var ie *fault.InvalidInputError
	if !errorsAs(err, &ie) {
		t.Fatalf("err = %T %v, want InvalidInputError", err, err)
	}
	for _, want := range []string{"approval", "restoreSource", `"colour"`, "approvalTimeoutSeconds"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	// Nothing was written.
	if r, exists, _ := c.Read(ctx); exists {
		t.Fatalf("invalid input wrote the record: %+v", r)
	}
	for _, in := range []ControlInput{
		{Op: "dance", Execution: execARN("failover", "a")},
		{Op: "begin", Workflow: "sideways", Execution: execARN("failover", "a"), StartTime: "2026-11-25T10:00:00Z"},
		{Op: "begin", Workflow: "failover", Execution: "not-an-arn"},
		{Op: "begin", Workflow: "failover", Execution: execARN("failover", "a"), StartTime: "yesterday"},
	} {
		if _, err := c.Handle(ctx, in); kindOf(err) != "invalid" {
			t.Errorf("%+v: %v, want invalid", in, err)
		}
	}
}

func TestControlDrill(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newControl(t)
	d := execARN("drill", "nightly-2026-11-25")
	out, err := c.Handle(ctx, ControlInput{Op: "drill", Execution: d, Input: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Config.Mode != "isolated" || *out.Config.MinHealthyMinutes != 30 {
		t.Fatalf("config = %+v", out.Config)
	}
	if !strings.HasPrefix(out.DrillTable, "pendulum-aggregates-drill-") || out.DrillTable != DrillTable("pendulum-aggregates", d) {
		t.Fatalf("drill table = %s", out.DrillTable)
	}
	if DrillTable("pendulum-aggregates", execARN("drill", "other")) == out.DrillTable {
		t.Fatal("two executions share a drill table")
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "drill", Execution: d, Input: json.RawMessage(`{"mode":"chaos"}`)}); kindOf(err) != "invalid" {
		t.Fatalf("bad mode: %v", err)
	}
	if _, err := c.Handle(ctx, begin("failover", execARN("failover", "a"), `{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "drill", Execution: d, Input: json.RawMessage(`{"mode":"gameday"}`)}); kindOf(err) != "conflict" {
		t.Fatalf("drill during failover: %v, want conflict", err)
	}
}

func TestControlTransientWhenTableUnreachable(t *testing.T) {
	c, _, w := newControl(t)
	w.SetDown(regionB, true)
	if _, err := c.Handle(context.Background(), begin("failover", execARN("failover", "a"), `{}`)); kindOf(err) != "transient" {
		t.Fatalf("err = %v, want transient", err)
	}
}

// racingDB lets another execution take the lock between this call's read
// and its conditional write, once.
type racingDB struct {
	ControlDB
	race func()
}

func (r *racingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opt ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if r.race != nil {
		race := r.race
		r.race = nil
		race()
	}
	return r.ControlDB.PutItem(ctx, in, opt...)
}

func TestControlLostRaceRereads(t *testing.T) {
	ctx := context.Background()
	c, f, _ := newControl(t)
	other := *c
	winner := execARN("failover", "winner")
	f.status[winner] = sfntypes.ExecutionStatusRunning
	c.DB = &racingDB{ControlDB: c.DB, race: func() {
		if _, err := other.Handle(ctx, begin("failover", winner, `{}`)); err != nil {
			t.Errorf("winner: %v", err)
		}
	}}
	_, err := c.Handle(ctx, begin("failover", execARN("failover", "loser"), `{}`))
	if kindOf(err) != "conflict" || !strings.Contains(err.Error(), winner) {
		t.Fatalf("loser: %v, want conflict naming the winner", err)
	}
	if r := mustMode(t, c, ModeFailingOver); r.Execution != winner || r.Version != 1 {
		t.Fatalf("record = %+v", r)
	}
}

// TestControlDegradedAndRetry: a failover whose restore failed ends
// FAILED_OVER with the restore pending; a plain re-run is a no-op that
// says how to retry, failback is refused saying why, retryRestore takes the
// lock, an aborted retry goes back to degraded, a completed one clears it
// and keeps the first run's facts beside the retry's restore and replay.
func TestControlDegradedAndRetry(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newControl(t)
	a := execARN("failover", "a")
	if _, err := c.Handle(ctx, begin("failover", a, `{}`)); err != nil {
		t.Fatal(err)
	}
	noPoint := json.RawMessage(`{"Error":"NotFoundError","Cause":"no COMPLETED recovery point of arn:…table/pendulum-aggregates in vault pendulum"}`)
	deg := ControlInput{Op: "degrade", Workflow: "failover", Execution: a, Stage: StageRestore, Error: noPoint,
		Facts: json.RawMessage(`{"fence":{"fenced":false},"probe":{"region":"us-east-2"},"reconcile":{"tables":[]}}`)}
	out, err := c.Handle(ctx, deg)
	if err != nil || out.Mode != ModeFailedOver || out.Reason != "no recovery point of the aggregates table" {
		t.Fatalf("degrade = %+v, %v", out, err)
	}
	if !strings.Contains(out.Message, `{"retryRestore":true}`) || !strings.Contains(out.Message, "NotFoundError") {
		t.Fatalf("degrade message %q does not say what failed and how to retry", out.Message)
	}
	rec := mustMode(t, c, ModeFailedOver)
	if !rec.RestorePending || rec.DegradedReason != out.Reason || rec.Execution != a {
		t.Fatalf("record after degrade = %+v", rec)
	}
	var facts map[string]json.RawMessage
	if err := json.Unmarshal(rec.FailoverFacts, &facts); err != nil {
		t.Fatal(err)
	}
	if string(facts["outcome"]) != `"degraded"` || string(facts["restorePending"]) != "true" || !strings.Contains(string(facts["degraded"]), `"stage":"restore"`) || string(facts["probe"]) != `{"region":"us-east-2"}` {
		t.Fatalf("degraded facts %s", rec.FailoverFacts)
	}
	// A retried degrade is harmless.
	if again, err := c.Handle(ctx, deg); err != nil || again.Reason != out.Reason || mustMode(t, c, ModeFailedOver).Version != rec.Version {
		t.Fatalf("retried degrade = %+v, %v", again, err)
	}
	// A degrade by a non-holder is refused.
	if _, err := c.Handle(ctx, ControlInput{Op: "degrade", Workflow: "failover", Execution: execARN("failover", "x"), Stage: StageReplay}); kindOf(err) != "conflict" {
		t.Fatalf("degrade by a non-holder: %v", err)
	}
	// A plain failover is a no-op that says the restore is pending.
	out, err = c.Handle(ctx, begin("failover", execARN("failover", "alarm-again"), `{"trigger":"alarm"}`))
	if err != nil || *out.Proceed || !strings.Contains(out.Message, "degraded") || !strings.Contains(out.Message, "retryRestore") {
		t.Fatalf("plain re-run while degraded = %+v, %v", out, err)
	}
	// Failback is refused, saying why and what to do.
	_, err = c.Handle(ctx, begin("failback", execARN("failback", "f"), `{}`))
	if kindOf(err) != "conflict" || !strings.Contains(err.Error(), "degraded") || !strings.Contains(err.Error(), "retryRestore") {
		t.Fatalf("failback while degraded: %v, want a refusal naming the degraded failover and the retry", err)
	}
	// A retry takes the lock from FAILED_OVER; an abort (approval denied)
	// goes back to degraded FAILED_OVER, not PRIMARY.
	r1 := execARN("failover", "retry-1")
	out, err = c.Handle(ctx, begin("failover", r1, `{"retryRestore":true}`))
	if err != nil || !*out.Proceed || !*out.Config.RetryRestore || out.Since != "2026-11-25T10:00:00Z" {
		t.Fatalf("retry begin = %+v, %v", out, err)
	}
	if r := mustMode(t, c, ModeFailingOver); r.Execution != r1 || !r.RestorePending {
		t.Fatalf("record during the retry = %+v", r)
	}
	if ab, err := c.Handle(ctx, ControlInput{Op: "abort", Workflow: "failover", Execution: r1, Error: json.RawMessage(`{"Error":"ApprovalDenied"}`)}); err != nil || ab.Mode != ModeFailedOver {
		t.Fatalf("abort of the retry = %+v, %v", ab, err)
	}
	if r := mustMode(t, c, ModeFailedOver); !r.RestorePending {
		t.Fatalf("record after the aborted retry = %+v", r)
	}
	// A second retry completes: the restore is no longer pending and the
	// facts keep the first run's probe with the retry's restore and replay.
	r2 := execARN("failover", "retry-2")
	if _, err := c.Handle(ctx, begin("failover", r2, `{"retryRestore":true}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "complete", Workflow: "failover", Execution: r2,
		Facts: json.RawMessage(`{"restore":{"source":"pitr"},"replay":{"applied":5},"fence":{"skipped":true},"probe":{},"reconcile":{"skipped":true}}`)}); err != nil {
		t.Fatal(err)
	}
	rec = mustMode(t, c, ModeFailedOver)
	if rec.RestorePending || rec.DegradedReason != "" {
		t.Fatalf("record after the completed retry = %+v", rec)
	}
	facts = nil
	if err := json.Unmarshal(rec.FailoverFacts, &facts); err != nil {
		t.Fatal(err)
	}
	if string(facts["outcome"]) != `"complete"` || facts["restorePending"] != nil || facts["degraded"] != nil || string(facts["probe"]) != `{"region":"us-east-2"}` ||
		string(facts["restore"]) != `{"source":"pitr"}` || string(facts["replay"]) != `{"applied":5}` || string(facts["restoreRetriedBy"]) != `"`+r2+`"` {
		t.Fatalf("facts after the retry %s", rec.FailoverFacts)
	}
	// Now failback may start, and a retry has nothing to do.
	out, err = c.Handle(ctx, begin("failover", execARN("failover", "retry-3"), `{"retryRestore":true}`))
	if err != nil || *out.Proceed || !strings.Contains(out.Message, "no restore to retry") {
		t.Fatalf("retry after completion = %+v, %v", out, err)
	}
	if out, err := c.Handle(ctx, begin("failback", execARN("failback", "g"), `{}`)); err != nil || !*out.Proceed {
		t.Fatalf("failback after the retry = %+v, %v", out, err)
	}
}

// TestControlRetryRestoreRefused: retryRestore applies only to a degraded
// failover: from PRIMARY, or to resume a failover that ended before it
// moved traffic, it is refused.
func TestControlRetryRestoreRefused(t *testing.T) {
	ctx := context.Background()
	c, f, _ := newControl(t)
	_, err := c.Handle(ctx, begin("failover", execARN("failover", "a"), `{"retryRestore":true}`))
	if kindOf(err) != "conflict" || !strings.Contains(err.Error(), "PRIMARY") {
		t.Fatalf("retry from PRIMARY: %v, want a refusal", err)
	}
	mustMode(t, c, ModePrimary)
	b := execARN("failover", "b")
	if _, err := c.Handle(ctx, begin("failover", b, `{}`)); err != nil {
		t.Fatal(err)
	}
	f.status[b] = sfntypes.ExecutionStatusFailed
	_, err = c.Handle(ctx, begin("failover", execARN("failover", "c"), `{"retryRestore":true}`))
	if kindOf(err) != "conflict" || !strings.Contains(err.Error(), "without retryRestore") {
		t.Fatalf("retry of an interrupted failover: %v, want a refusal saying to resume it", err)
	}
	if r := mustMode(t, c, ModeFailingOver); r.Execution != b {
		t.Fatalf("record after the refused retry = %+v", r)
	}
	// Degrade names each stage in the reason; the reason fits a subject.
	for _, tc := range []struct{ stage, err, want string }{
		{StageRestore, `{"Error":"DynamoDb.PointInTimeRecoveryUnavailableException"}`, "aggregates restore failed: DynamoDb.PointInTime..."},
		{StageTable, `{"Error":"States.Timeout"}`, "restored table setup failed: States.Timeout"},
		{StageReplay, `{"Error":"TransientError"}`, "aggregates replay failed: TransientError"},
	} {
		if got := degradedReason(tc.stage, json.RawMessage(tc.err)); got != tc.want || len(got) > MaxDegradedReasonChars {
			t.Errorf("reason(%s, %s) = %q, want %q", tc.stage, tc.err, got, tc.want)
		}
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "degrade", Workflow: "failover", Execution: b, Stage: "somewhere"}); kindOf(err) != "invalid" {
		t.Fatalf("degrade with an unknown stage: %v", err)
	}
}

// TestControlFailoverAfterFailedFailback: the primary fails again during
// failback. While that failback runs, failover is refused (it says to stop
// it); once it has ended, failover takes the lock back, keeps the first
// failover's start, and completes to FAILED_OVER; a later failback then
// runs from there.
func TestControlFailoverAfterFailedFailback(t *testing.T) {
	ctx := context.Background()
	c, f, _ := newControl(t)
	a, fb, b := execARN("failover", "a"), execARN("failback", "fb"), execARN("failover", "b")
	for _, in := range []ControlInput{begin("failover", a, `{}`), {Op: "complete", Workflow: "failover", Execution: a}, begin("failback", fb, `{}`)} {
		if _, err := c.Handle(ctx, in); err != nil {
			t.Fatalf("%s %s: %v", in.Op, in.Workflow, err)
		}
	}
	f.status[fb] = sfntypes.ExecutionStatusRunning
	_, err := c.Handle(ctx, begin("failover", b, `{}`))
	if fault.Classify(err) != fault.Conflict || !strings.Contains(err.Error(), "stop that failback") {
		t.Fatalf("failover while the failback runs: %v, want a conflict saying to stop it", err)
	}
	mustMode(t, c, ModeFailingBack)
	if _, err := c.Handle(ctx, ControlInput{Op: "fail", Workflow: "failback", Execution: fb, Error: json.RawMessage(`{"Error":"States.TaskFailed"}`)}); err != nil {
		t.Fatal(err)
	}
	f.status[fb] = sfntypes.ExecutionStatusFailed
	out, err := c.Handle(ctx, begin("failover", b, `{}`))
	if err != nil || out.Proceed == nil || !*out.Proceed || !strings.Contains(out.Message, "back to the backup region") {
		t.Fatalf("failover after the failed failback: %+v, %v", out, err)
	}
	if r := mustMode(t, c, ModeFailingOver); r.Since != "2026-11-25T10:00:00Z" || r.Execution != b {
		t.Fatalf("the first failover's start or the holder lost: %+v", r)
	}
	if _, err := c.Handle(ctx, ControlInput{Op: "complete", Workflow: "failover", Execution: b}); err != nil {
		t.Fatal(err)
	}
	mustMode(t, c, ModeFailedOver)
	fb2 := execARN("failback", "fb2")
	if out, err := c.Handle(ctx, begin("failback", fb2, `{}`)); err != nil || !*out.Proceed {
		t.Fatalf("failback after the second failover: %+v, %v", out, err)
	}
}
