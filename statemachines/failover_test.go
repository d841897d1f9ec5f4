package statemachines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// failoverRun is one failover execution on the local engine, with handlers
// standing in for the dr-* functions and the aws-sdk integrations (their
// documents' shapes, their error names). Each step's behaviour is a field.
type failoverRun struct {
	retry       bool                                    // begin's config.retryRestore
	pitr        func() (json.RawMessage, error)         // restoreTableToPointInTime
	latestPoint func() (json.RawMessage, error)         // dr-restore
	replay      func(call int) (json.RawMessage, error) // dr-replay
	// tableExists: B's aggregates table is there before the run (otherwise
	// it appears once a restore starts).
	tableExists bool
	mu          sync.Mutex
	calls       []string            // "<function>:<op>" and "sdk:<service>:<action>", in order
	params      map[string][]string // each call's parameters, by the same name
}

const testRegionB = "us-east-2"

func (f *failoverRun) note(name string, p json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	if f.params == nil {
		f.params = map[string][]string{}
	}
	f.params[name] = append(f.params[name], string(p))
}

func (f *failoverRun) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.params[name])
}

func (f *failoverRun) run(t *testing.T) states.Result {
	t.Helper()
	keys, err := Placeholders("failover")
	if err != nil {
		t.Fatal(err)
	}
	subs := map[string]string{}
	for _, k := range keys {
		subs[k] = "x-" + k
		if name, ok := strings.CutSuffix(k, "FunctionArn"); ok {
			subs[k] = "arn:aws:lambda:" + testRegionB + ":111111111111:function:pendulum-" + name
		}
	}
	subs["BackupRegion"], subs["PrimaryRegion"], subs["FailoverApproval"] = testRegionB, "us-east-1", "false"
	subs["ActiveParameter"], subs["ConsumerParameter"] = "Active", "ConsumerEnabled"
	def, err := Render("failover", subs)
	if err != nil {
		t.Fatal(err)
	}
	m, err := states.Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	reg := states.NewRegistry()
	lambda := func(name string, h func(op string, p json.RawMessage) (any, error)) {
		reg.HandleLambda(subs[name+"FunctionArn"], func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
			var in struct{ Op string }
			_ = json.Unmarshal(p, &in)
			f.note(name+":"+in.Op, p)
			out, err := h(in.Op, p)
			if err != nil {
				return nil, err
			}
			return json.Marshal(out)
		})
	}
	lambda("DrControl", func(op string, p json.RawMessage) (any, error) {
		switch op {
		case "begin":
			return map[string]any{"proceed": true, "resumed": false, "since": "2026-11-25T03:15:00Z", "config": map[string]any{
				"trigger": "alarm", "reason": "test", "approval": false, "approvalTimeoutSeconds": 3600, "restoreSource": "auto", "retryRestore": f.retry}}, nil
		case "degrade":
			return map[string]any{"mode": "FAILED_OVER", "reason": "no recovery point of the aggregates table", "message": `degraded; retry with {"retryRestore":true}`}, nil
		}
		return map[string]any{"mode": "FAILED_OVER"}, nil
	})
	lambda("DrTraffic", func(string, json.RawMessage) (any, error) { return map[string]any{}, nil })
	lambda("DrStack", func(string, json.RawMessage) (any, error) { return map[string]any{"done": true, "failed": false}, nil })
	lambda("DrProbe", func(string, json.RawMessage) (any, error) {
		return map[string]any{"ok": true, "region": testRegionB}, nil
	})
	lambda("DrReconcile", func(string, json.RawMessage) (any, error) { return map[string]any{"tables": []any{}}, nil })
	lambda("DrReport", func(string, json.RawMessage) (any, error) { return map[string]any{"passed": false}, nil })
	lambda("DrRestore", func(string, json.RawMessage) (any, error) { return f.latestPoint() })
	replays := 0
	lambda("DrReplay", func(string, json.RawMessage) (any, error) { replays++; return f.replay(replays) })
	sdk := func(service, action string, h func(p json.RawMessage) (json.RawMessage, error)) {
		reg.HandleSDK(service, action, func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
			f.note("sdk:"+service+":"+action, p)
			return h(p)
		})
	}
	ok := func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }
	restoring := f.tableExists
	sdk("dynamodb", "restoreTableToPointInTime", func(json.RawMessage) (json.RawMessage, error) {
		out, err := f.pitr()
		restoring = restoring || err == nil
		return out, err
	})
	sdk("dynamodb", "describeTable", func(json.RawMessage) (json.RawMessage, error) {
		if !restoring {
			return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Requested resource not found: Table: pendulum-aggregates not found"}
		}
		return json.RawMessage(`{"Table":{"TableStatus":"ACTIVE","TableArn":"arn:aws:dynamodb:us-east-2:111111111111:table/pendulum-aggregates"}}`), nil
	})
	for _, a := range []string{"updateContinuousBackups", "updateTable", "updateTimeToLive", "tagResource"} {
		sdk("dynamodb", a, ok)
	}
	sdk("backup", "startRestoreJob", func(json.RawMessage) (json.RawMessage, error) {
		restoring = true
		return json.RawMessage(`{"RestoreJobId":"job-1"}`), nil
	})
	sdk("backup", "describeRestoreJob", func(json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"RestoreJobId":"job-1","Status":"COMPLETED"}`), nil
	})
	sdk("sns", "publish", func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{"MessageId":"m"}`), nil })
	e := states.New(states.Options{Clock: clock.NewVirtual(time.Date(2026, 11, 25, 3, 15, 0, 0, time.UTC)), Registry: reg, Random: func() float64 { return 1 }})
	e.Register("failover", m)
	x, err := e.Start(context.Background(), m, "f", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	pitrUnavailable = func() (json.RawMessage, error) {
		return nil, &smithy.GenericAPIError{Code: "PointInTimeRecoveryUnavailableException", Message: "PITR is unavailable"}
	}
	pitrRestored = func() (json.RawMessage, error) {
		return json.RawMessage(`{"TableDescription":{"RestoreSummary":{"RestoreDateTime":"2026-11-25T03:10:00Z"}}}`), nil
	}
	noPoint = func() (json.RawMessage, error) {
		return nil, &fault.NotFoundError{Err: errors.New("no COMPLETED recovery point")}
	}
	replayedOnce = func(int) (json.RawMessage, error) {
		return json.RawMessage(`{"cursor":null,"totals":{"applied":7,"highWaterMark":"2026-11-25T03:14:00Z"}}`), nil
	}
)

// consumerStarts counts dr-stack calls that switch the consumer on.
func (f *failoverRun) consumerStarts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.params["DrStack:"] {
		if strings.Contains(p, `"ConsumerEnabled":"true"`) {
			n++
		}
	}
	return n
}

// TestFailoverDegradesWhenRestoreFails: PITR unavailable and no recovery
// point: traffic still moves (promote, probe), the consumer is never
// switched on, the control record is degraded at stage restore, the
// notification's subject says DEGRADED and why, and the execution fails
// RestoreDegraded, not FailoverFailed.
func TestFailoverDegradesWhenRestoreFails(t *testing.T) {
	f := &failoverRun{pitr: pitrUnavailable, latestPoint: noPoint, replay: replayedOnce}
	r := f.run(t)
	if r.Status != states.StatusFailed || r.Error != "RestoreDegraded" || !strings.Contains(r.Cause, "retryRestore") {
		t.Fatalf("result %s %s (%s), want FAILED RestoreDegraded", r.Status, r.Error, r.Cause)
	}
	if f.count("DrTraffic:promote") != 1 || f.count("DrProbe:probe") != 1 {
		t.Fatalf("calls %v: traffic was not moved to B", f.calls)
	}
	if n := f.consumerStarts(); n != 0 || f.count("DrReplay:") != 0 {
		t.Fatalf("consumer started %d times, replay called %d times on a table that does not exist", n, f.count("DrReplay:"))
	}
	if f.count("DrControl:degrade") != 1 || f.count("DrControl:fail") != 0 || f.count("DrControl:complete") != 0 {
		t.Fatalf("control calls %v, want one degrade and no fail or complete", f.calls)
	}
	var deg struct {
		Stage string
		Error struct{ Error string }
	}
	json.Unmarshal([]byte(f.params["DrControl:degrade"][0]), &deg)
	if deg.Stage != "restore" || deg.Error.Error != "NotFoundError" {
		t.Fatalf("degrade input %s, want stage restore with dr-restore's NotFoundError", f.params["DrControl:degrade"][0])
	}
	pubs := f.params["sdk:sns:publish"]
	if len(pubs) != 1 || !strings.Contains(pubs[0], `"Subject":"Pendulum: failover to us-east-2 DEGRADED: no recovery point of the aggregates table"`) {
		t.Fatalf("notifications %v, want one degraded one", pubs)
	}
}

// TestFailoverDegradesWhenReplayFails: a restored table whose replay fails
// after its retries is not handed to the consumer either.
func TestFailoverDegradesWhenReplayFails(t *testing.T) {
	f := &failoverRun{pitr: pitrRestored, latestPoint: noPoint, replay: func(int) (json.RawMessage, error) {
		return nil, &fault.InternalError{Err: errors.New("boom")}
	}}
	r := f.run(t)
	if r.Status != states.StatusFailed || r.Error != "RestoreDegraded" {
		t.Fatalf("result %s %s (%s), want FAILED RestoreDegraded", r.Status, r.Error, r.Cause)
	}
	if f.consumerStarts() != 0 || !strings.Contains(f.params["DrControl:degrade"][0], `"stage":"replay"`) {
		t.Fatalf("consumer started %d times; degrade %v", f.consumerStarts(), f.params["DrControl:degrade"])
	}
}

// TestFailoverReplaysBeforeConsumer: the replay loops on its cursor, runs
// after the restore and before the consumer starts, and its last totals are
// the facts' replay.
func TestFailoverReplaysBeforeConsumer(t *testing.T) {
	f := &failoverRun{pitr: pitrRestored, latestPoint: noPoint, replay: func(call int) (json.RawMessage, error) {
		if call == 1 {
			return json.RawMessage(`{"cursor":"c1","totals":{"applied":3}}`), nil
		}
		return json.RawMessage(fmt.Sprintf(`{"cursor":null,"totals":{"applied":%d}}`, 3+4)), nil
	}}
	r := f.run(t)
	if r.Status != states.StatusSucceeded || !strings.Contains(string(r.Output), `"outcome":"complete"`) {
		t.Fatalf("result %s %s (%s) %s", r.Status, r.Error, r.Cause, r.Output)
	}
	replay := f.params["DrReplay:"]
	if len(replay) != 2 || !strings.Contains(replay[1], `"cursor":"c1"`) || !strings.Contains(replay[1], `"applied":3`) {
		t.Fatalf("replay calls %v, want two, the second with the first's cursor and totals", replay)
	}
	order := strings.Join(f.calls, " ")
	iTag, iReplay, iConsumer := strings.Index(order, "sdk:dynamodb:tagResource"), strings.Index(order, "DrReplay:"), strings.LastIndex(order, "DrStack:")
	if iTag < 0 || iReplay < iTag || iConsumer < iReplay || f.consumerStarts() != 1 {
		t.Fatalf("calls %v: want restore, then replay, then the consumer", f.calls)
	}
	if c := f.params["DrControl:complete"]; len(c) != 1 || !strings.Contains(c[0], `"replay":{"applied":7}`) || !strings.Contains(c[0], `"source":"pitr"`) {
		t.Fatalf("complete %v, want the replay's totals and the restore in the facts", c)
	}
}

// TestFailoverRetryRestoreAlone: with retryRestore the fence, activation,
// traffic switch, probe and reconcile are not run; restore, replay and the
// consumer are.
func TestFailoverRetryRestoreAlone(t *testing.T) {
	f := &failoverRun{retry: true, pitr: pitrRestored, latestPoint: noPoint, replay: replayedOnce}
	r := f.run(t)
	if r.Status != states.StatusSucceeded {
		t.Fatalf("result %s %s (%s)", r.Status, r.Error, r.Cause)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "DrTraffic:") || strings.HasPrefix(c, "DrProbe:") || strings.HasPrefix(c, "DrReconcile:") {
			t.Fatalf("a restore retry called %s (calls %v)", c, f.calls)
		}
	}
	if f.count("DrStack:") != 1 || f.consumerStarts() != 1 || f.count("DrReplay:") != 1 || f.count("sdk:dynamodb:restoreTableToPointInTime") != 1 {
		t.Fatalf("calls %v, want one restore, one replay and the consumer started (no activation)", f.calls)
	}
}

// TestFailoverAggregatesBranchCannotFail: every way out of the
// aggregates branch is an End (a Pass), never a Fail, and every Task in it
// catches States.ALL: so no restore problem can fail the Parallel and
// cancel the traffic switch beside it.
func TestFailoverAggregatesBranchCannotFail(t *testing.T) {
	def, err := Definition("failover")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		States map[string]struct {
			Branches []struct {
				StartAt string
				States  map[string]map[string]any
			}
		}
	}
	if err := json.Unmarshal(def, &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range doc.States["Recover"].Branches {
		if _, ok := b.States["Replay"]; !ok {
			continue
		}
		found = true
		for name, st := range b.States {
			switch st["Type"] {
			case "Fail":
				t.Errorf("aggregates branch state %s is a Fail: it would cancel the traffic switch", name)
			case "Task":
				all := false
				for _, c := range asSlice(st["Catch"]) {
					for _, e := range asSlice(c.(map[string]any)["ErrorEquals"]) {
						all = all || e == "States.ALL"
					}
				}
				if !all {
					t.Errorf("aggregates branch task %s does not catch States.ALL", name)
				}
			case "Choice":
				if st["Default"] == nil {
					t.Errorf("aggregates branch choice %s has no Default (States.NoChoiceMatched would fail the branch)", name)
				}
			}
		}
	}
	if !found {
		t.Fatal("no Recover branch with the Replay state")
	}
}

// TestFailoverKeepsAnExistingTable: B's aggregates table is already there
// (a failover after a failback that stopped before retiring it, or a
// resumed restore): no restore is started over it, the facts say
// "existing", the replay still runs before the consumer starts.
func TestFailoverKeepsAnExistingTable(t *testing.T) {
	f := &failoverRun{tableExists: true, pitr: pitrRestored, latestPoint: noPoint, replay: replayedOnce}
	r := f.run(t)
	if r.Status != states.StatusSucceeded {
		t.Fatalf("result %s %s (%s), want SUCCEEDED", r.Status, r.Error, r.Cause)
	}
	if n := f.count("sdk:dynamodb:restoreTableToPointInTime") + f.count("sdk:backup:startRestoreJob"); n != 0 {
		t.Fatalf("%d restores started over an existing table", n)
	}
	if f.count("DrReplay:") != 1 || f.consumerStarts() != 1 {
		t.Fatalf("calls %v, want one replay and the consumer started", f.calls)
	}
	if c := f.params["DrControl:complete"]; len(c) != 1 || !strings.Contains(c[0], `"restore":{"source":"existing"}`) {
		t.Fatalf("complete %v, want the restore source existing", c)
	}
}
