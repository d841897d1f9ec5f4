package local

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// Every way a DR workflow ends without success, run against the deployed
// assembly: what the operator is told (on the DR topic, once) and what the
// control record lets the next run do.

// endNotice is a message on the DR topic about how an execution ended:
// the deployed rules' JSON notice, or a Catch path's own message.
type endNotice struct {
	Subject string
	Notice  struct {
		Notice, StateMachine, Region, Execution, Status, WhatNext string
		Error, Cause                                              *string
	}
}

// endNotices returns the messages on B's DR topic about execution's end
// (approval requests, which also name it, are not ends), after letting
// EventBridge deliver.
func endNotices(t *testing.T, l *Local, execution string) []endNotice {
	t.Helper()
	if err := l.Sleep(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var out []endNotice
	for _, m := range l.World.Region(l.Regions.Backup).SNS().Published(l.Names.TopicARN(l.Regions.Backup)) {
		if strings.HasPrefix(m.Subject, "Pendulum: approve") || !strings.Contains(m.Message, execution) {
			continue
		}
		n := endNotice{Subject: m.Subject}
		if m.Subject == "" {
			if err := json.Unmarshal([]byte(m.Message), &n.Notice); err != nil {
				t.Fatalf("rule notice is not JSON: %v\n%s", err, m.Message)
			}
		}
		out = append(out, n)
	}
	return out
}

// mustOneRuleNotice checks that execution's end was notified exactly once,
// by the deployed rule, with its status and error.
func mustOneRuleNotice(t *testing.T, l *Local, machine, execution, status, errName string) endNotice {
	t.Helper()
	ns := endNotices(t, l, execution)
	if len(ns) != 1 || ns[0].Subject != "" {
		t.Fatalf("%s: %d end notices %+v, want one from the rule", execution, len(ns), ns)
	}
	n := ns[0].Notice
	if n.Execution != execution || n.Status != status || n.StateMachine != l.Names.StateMachineARN(l.Regions.Backup, machine) ||
		n.Notice != "Pendulum: "+machine+" execution "+status || (errName == "") != (n.Error == nil) || (n.Error != nil && *n.Error != errName) {
		t.Fatalf("notice %+v, want %s %s of %s", n, status, errName, execution)
	}
	return ns[0]
}

// begun reads what Begin said: whether the run resumed and its message.
func begun(t *testing.T, x *states.Execution) (resumed bool, output string) {
	t.Helper()
	for _, ev := range x.History() {
		if d := ev.StateExitedEventDetails; d != nil && d.Name == "Begin" {
			return strings.Contains(d.Output, `"resumed":true`), d.Output
		}
	}
	t.Fatalf("%s never left Begin", x.Name())
	return false, ""
}

// stoppedDuringApproval starts a failover that waits for approval and
// stops it there, as an operator would with StopExecution.
func stoppedDuringApproval(t *testing.T, l *Local, machine, input string) string {
	t.Helper()
	arn, err := l.StartExecution(context.Background(), machine, machine+"-stopped", input)
	if err != nil {
		t.Fatal(err)
	}
	awaitApproval(t, l, arn)
	x, _ := l.Engine.Execution(arn)
	x.Stop("Operator", "stopped during approval")
	waitStatus(t, l, arn, states.StatusAborted)
	return arn
}

// TestEndsNotifyAndLeaveTheLockRecoverable: each unsuccessful end of a
// failover is notified once, and the control record afterwards lets the
// right next run go: released ends a plain run; a failure its Catch
// recorded is resumed by a plain run; an end without the Catch path is
// refused until the operator chooses, naming the choices.
func TestEndsNotifyAndLeaveTheLockRecoverable(t *testing.T) {
	type check func(t *testing.T, l *Local, arn string)
	plainRunProceedsFresh := func(t *testing.T, l *Local, _ string) {
		if got := controlMode(t, l); got != "PRIMARY" || controlItem(t, l, "execution") != "" {
			t.Fatalf("mode %s, holder %q: want PRIMARY, released", got, controlItem(t, l, "execution"))
		}
		x, res := run(t, l, "failover", `{"approval":false}`)
		mustStatus(t, x, res, states.StatusSucceeded, "")
		if resumed, _ := begun(t, x); resumed {
			t.Fatal("the next failover resumed, want a fresh run")
		}
	}
	plainRunRefusedNamingChoices := func(t *testing.T, l *Local, arn string) {
		if got := controlMode(t, l); got != "FAILING_OVER" || controlItem(t, l, "execution") != arn {
			t.Fatalf("mode %s, holder %q: want FAILING_OVER held by %s", got, controlItem(t, l, "execution"), arn)
		}
		x, res := run(t, l, "failover", `{"approval":false}`)
		mustStatus(t, x, res, states.StatusFailed, "Refused")
		for _, want := range []string{arn, `{\"abandoned\":\"rollback\"}`, `{\"abandoned\":\"resume\"}`} {
			if !strings.Contains(res.Cause, want) {
				t.Errorf("refusal %q does not say %s", res.Cause, want)
			}
		}
		// The refusal itself is an end the operator hears of.
		mustOneRuleNotice(t, l, "failover", x.ARN(), "FAILED", "Refused")
		if got := controlItem(t, l, "execution"); got != arn {
			t.Fatalf("the refused run changed the holder to %q", got)
		}
	}
	for _, tc := range []struct {
		name   string
		opts   Options
		input  string
		start  func(t *testing.T, l *Local, input string) string // returns the ended execution
		status states.Status
		err    string
		next   check
	}{
		{name: "InvalidInput", input: `{"restoreSource":"tape"}`, status: states.StatusFailed, err: "InvalidInput", next: plainRunProceedsFresh},
		{name: "ApprovalTimedOut", opts: Options{EditTemplate: withFailoverApproval}, input: `{"approvalTimeoutSeconds":60}`,
			status: states.StatusFailed, err: "ApprovalTimedOut", next: plainRunProceedsFresh},
		{name: "ApprovalDenied", opts: Options{EditTemplate: withFailoverApproval}, input: `{}`,
			start: func(t *testing.T, l *Local, input string) string {
				arn, err := l.StartExecution(context.Background(), "failover", "", input)
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Deny(awaitApproval(t, l, arn).Token, "not now"); err != nil {
					t.Fatal(err)
				}
				return arn
			},
			status: states.StatusFailed, err: "ApprovalDenied", next: plainRunProceedsFresh},
		{name: "StopDuringApproval", input: `{"approval":true}`,
			start: func(t *testing.T, l *Local, input string) string {
				return stoppedDuringApproval(t, l, "failover", input)
			},
			status: states.StatusAborted, err: "Operator", next: plainRunRefusedNamingChoices},
		// An approval longer than the execution's own timeout (4 h): the
		// execution times out holding the lock.
		{name: "ExecutionTimedOut", input: `{"approval":true,"approvalTimeoutSeconds":86400}`, status: states.StatusTimedOut, err: "States.Timeout",
			next: plainRunRefusedNamingChoices},
		// A definition error the ASL engine reports as States.Runtime, after
		// Begin took the lock: an uncaught error.
		{name: "StatesRuntime", opts: Options{EditTemplate: func(_ string, b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(`$.begin.config.approval`), []byte(`$.begin.config.missing`))
		}}, input: `{}`, status: states.StatusFailed, err: "States.Runtime", next: plainRunRefusedNamingChoices},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.NoAutoFailover, opts.NoCanary = true, true
			l := newLocal(t, opts)
			var arn string
			if tc.start != nil {
				arn = tc.start(t, l, tc.input)
			} else {
				var err error
				if arn, err = l.StartExecution(context.Background(), "failover", "", tc.input); err != nil {
					t.Fatal(err)
				}
			}
			res := waitStatus(t, l, arn, tc.status)
			if res.Error != tc.err {
				t.Fatalf("error %s (%s), want %s", res.Error, res.Cause, tc.err)
			}
			mustOneRuleNotice(t, l, "failover", arn, string(tc.status), tc.err)
			if l.RegionStats(l.Regions.Backup).Serving {
				t.Fatal("B was activated by a run that ended before changing anything")
			}
			tc.next(t, l, arn)
			if d := l.Denied(); len(d) != 0 {
				t.Fatalf("denied calls: %+v", d)
			}
		})
	}
}

// TestFailedInCatchNotifiedOnceAndResumes: a failover step that fails is
// caught; the Catch path's own message is the only notice (the rule leaves
// FailoverFailed out), the lock records the failure, and a plain re-run
// resumes and finishes.
func TestFailedInCatchNotifiedOnceAndResumes(t *testing.T) {
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	l.World.Inject(&sim.Fault{Region: l.Regions.Backup, Service: "CloudFormation", Operation: "UpdateStack", Times: 1,
		Err: &smithy.GenericAPIError{Code: "InsufficientCapabilitiesException", Message: "Requires capabilities : [CAPABILITY_NAMED_IAM]"}})
	x, res := run(t, l, "failover", `{"approval":false}`)
	mustStatus(t, x, res, states.StatusFailed, "FailoverFailed")
	ns := endNotices(t, l, x.ARN())
	if len(ns) != 1 || ns[0].Subject != "Pendulum: failover to "+l.Regions.Backup+" FAILED" {
		t.Fatalf("end notices %+v, want only the Catch path's", ns)
	}
	if got := controlMode(t, l); got != "FAILING_OVER" || controlItem(t, l, "lastError") == "" {
		t.Fatalf("mode %s, lastError %q: want FAILING_OVER with the failure noted", got, controlItem(t, l, "lastError"))
	}
	x2, res := run(t, l, "failover", `{}`)
	mustStatus(t, x2, res, states.StatusSucceeded, "")
	if resumed, _ := begun(t, x2); !resumed {
		t.Fatal("the plain re-run did not resume the failed failover")
	}
	if got := controlMode(t, l); got != "FAILED_OVER" {
		t.Fatalf("mode %s, want FAILED_OVER", got)
	}
}

// TestStoppedFailoverRecovery: the operator's recovery of a failover
// stopped during approval. A plain run and a game day are refused naming
// the choices; the isolated drill is not blocked; rollback returns the
// mode to PRIMARY and a later failover runs normally. Resume, the other
// choice, carries the failover through.
func TestStoppedFailoverRecovery(t *testing.T) {
	t.Run("Rollback", func(t *testing.T) {
		l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
		arn := stoppedDuringApproval(t, l, "failover", `{"approval":true}`)
		x, res := run(t, l, "drill", `{"mode":"gameday"}`)
		mustStatus(t, x, res, states.StatusFailed, "Refused")
		if !strings.Contains(res.Cause, arn) || !strings.Contains(res.Cause, `rollback`) {
			t.Fatalf("game-day refusal %q does not name the lock and the recovery", res.Cause)
		}
		mustOneRuleNotice(t, l, "drill", x.ARN(), "FAILED", "Refused")
		x, res = run(t, l, "failover", `{"abandoned":"rollback"}`)
		mustStatus(t, x, res, states.StatusSucceeded, "")
		if !strings.Contains(string(res.Output), `"status":"noop"`) || !strings.Contains(string(res.Output), "rolled back") {
			t.Fatalf("rollback output %s", res.Output)
		}
		if got := controlMode(t, l); got != "PRIMARY" || controlItem(t, l, "execution") != "" {
			t.Fatalf("mode %s, holder %q after rollback: want PRIMARY, released", got, controlItem(t, l, "execution"))
		}
		if l.RegionStats(l.Regions.Backup).Serving || servedBy(t, l) != l.Regions.Primary {
			t.Fatal("rollback changed where traffic goes")
		}
		if ns := endNotices(t, l, x.ARN()); len(ns) != 0 {
			t.Fatalf("the rollback, a success, was notified: %+v", ns)
		}
		x, res = run(t, l, "failover", `{"approval":false}`)
		mustStatus(t, x, res, states.StatusSucceeded, "")
		if resumed, _ := begun(t, x); resumed {
			t.Fatal("the failover after the rollback resumed, want a fresh run")
		}
		if got := controlMode(t, l); got != "FAILED_OVER" {
			t.Fatalf("mode %s, want FAILED_OVER", got)
		}
	})
	t.Run("Resume", func(t *testing.T) {
		l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
		stoppedDuringApproval(t, l, "failover", `{"approval":true}`)
		x, res := run(t, l, "failover", `{"abandoned":"resume","approval":false}`)
		mustStatus(t, x, res, states.StatusSucceeded, "")
		if resumed, _ := begun(t, x); !resumed {
			t.Fatal("the run did not report resuming")
		}
		if got := controlMode(t, l); got != "FAILED_OVER" || servedBy(t, l) != l.Regions.Backup {
			t.Fatalf("mode %s, served by %s: want FAILED_OVER, served by B", got, servedBy(t, l))
		}
	})
	t.Run("IsolatedDrillNotBlocked", func(t *testing.T) {
		// Before the daily backup: its copy is in B's vault for the drill.
		l := newLocal(t, Options{NoAutoFailover: true, Start: beforeDailyBackup})
		produce(t, l, "sensor-1", 10)
		arn := stoppedDuringApproval(t, l, "failover", `{"approval":true}`)
		if err := l.Sleep(context.Background(), 30*time.Minute); err != nil { // replicas and partitions settled
			t.Fatal(err)
		}
		x, res := run(t, l, "drill", `{"mode":"isolated"}`)
		mustStatus(t, x, res, states.StatusSucceeded, "")
		if _, out := begun(t, x); !strings.Contains(out, arn) {
			t.Fatalf("the drill's Begin does not name the stale lock: %s", out)
		}
		if got := controlMode(t, l); got != "FAILING_OVER" || controlItem(t, l, "execution") != arn {
			t.Fatalf("mode %s holder %q: the drill must leave the lock to the operator", got, controlItem(t, l, "execution"))
		}
	})
	t.Run("RollbackRefusedAfterChanges", func(t *testing.T) {
		ctx := context.Background()
		l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
		arn, err := l.StartExecution(ctx, "failover", "mid-way", `{"approval":false}`)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Sleep(ctx, 90*time.Second); err != nil { // inside Recover: activation and restore under way
			t.Fatal(err)
		}
		x, _ := l.Engine.Execution(arn)
		x.Stop("Operator", "stopped mid-way")
		waitStatus(t, l, arn, states.StatusAborted)
		mustOneRuleNotice(t, l, "failover", arn, "ABORTED", "Operator")
		x2, res := run(t, l, "failover", `{"abandoned":"rollback"}`)
		mustStatus(t, x2, res, states.StatusFailed, "Refused")
		if !strings.Contains(res.Cause, "rollback refused") || !strings.Contains(res.Cause, `{\"abandoned\":\"resume\"}`) {
			t.Fatalf("cause %q, want a refused rollback pointing at resume", res.Cause)
		}
		if got := controlMode(t, l); got != "FAILING_OVER" || controlItem(t, l, "execution") != arn {
			t.Fatalf("mode %s holder %q, want the lock untouched", got, controlItem(t, l, "execution"))
		}
	})
}

// TestStoppedFailbackRollsBack: a failback stopped during approval rolls
// back to FAILED_OVER on the operator's choice; B keeps serving.
func TestStoppedFailbackRollsBack(t *testing.T) {
	l := failedOver(t, Options{NoCanary: true})
	arn := stoppedDuringApproval(t, l, "failback", `{"approval":true,"minHealthyMinutes":0}`)
	mustOneRuleNotice(t, l, "failback", arn, "ABORTED", "Operator")
	x, res := run(t, l, "failback", `{"minHealthyMinutes":0}`)
	mustStatus(t, x, res, states.StatusFailed, "Refused")
	x, res = run(t, l, "failback", `{"abandoned":"rollback"}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	if got := controlMode(t, l); got != "FAILED_OVER" || servedBy(t, l) != l.Regions.Backup {
		t.Fatalf("mode %s, served by %s: want FAILED_OVER, served by B", got, servedBy(t, l))
	}
}

// TestNightlyBatchInPrimaryNotifiesBackup: the nightly batch runs in P; its
// failure travels to B's bus (P's forwarding rule, as its role) and
// reaches the DR topic in B.
func TestNightlyBatchInPrimaryNotifiesBackup(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	x, res, err := l.RunIn(ctx, l.Regions.Primary, "nightly-batch", `{"date":7}`)
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, x, res, states.StatusFailed, "InvalidInput")
	ns := endNotices(t, l, x.ARN())
	if len(ns) != 1 || ns[0].Notice.Region != l.Regions.Primary || ns[0].Notice.StateMachine != l.Names.StateMachineARN(l.Regions.Primary, "nightly-batch") {
		t.Fatalf("end notices %+v, want one naming P's nightly batch", ns)
	}
	if d := l.Denied(); len(d) != 0 {
		t.Fatalf("denied calls: %+v", d)
	}
}

// TestHealthCanaryFailureKept: an asynchronous invocation of the deployed
// health canary that fails is not retried and its record reaches the
// canary's failure queue, sent as the canary's role.
func TestHealthCanaryFailureKept(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	B := l.Regions.Backup
	if _, err := l.World.Region(B).Lambda().Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(l.Names.Function("health")),
		InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`"not an event"`)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Sleep(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	q := l.World.Region(B).SQS()
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.QueueURL(l.Names.Prefix + "-health-failures")), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || !strings.Contains(aws.ToString(out.Messages[0].Body), `"condition":"RetriesExhausted"`) ||
		!strings.Contains(aws.ToString(out.Messages[0].Body), `"approximateInvokeCount":1`) {
		t.Fatalf("failure queue holds %+v, want one record of a single attempt", out.Messages)
	}
	if d := l.Denied(); len(d) != 0 {
		t.Fatalf("denied calls: %+v", d)
	}
}
