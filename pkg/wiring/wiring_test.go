package wiring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/readiness"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/batch"
	"github.com/pendulum-dr/pendulum/pkg/wiring/monitor"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
	"github.com/pendulum-dr/pendulum/pkg/wiring/simclients"
	"github.com/pendulum-dr/pendulum/pkg/wiring/workload"
)

const (
	regionP = "us-east-1"
	regionB = "us-east-2"
	global  = "us-west-2"
)

// drEnv is the common DR environment, complete.
var drEnv = map[string]string{
	"PRIMARY_REGION": regionP, "BACKUP_REGION": regionB, "GLOBAL_REGION": global, "NAME_PREFIX": "pendulum",
	"CONTROL_TABLE": "pendulum-control", "AGGREGATES_TABLE": "pendulum-aggregates", "GLUE_DATABASE": "pendulum",
	"PRIMARY_RAW_BUCKET": "raw-p", "PRIMARY_CURATED_BUCKET": "curated-p", "BACKUP_RAW_BUCKET": "raw-b",
	"BACKUP_CURATED_BUCKET": "curated-b", "ACCELERATOR_ARN": "arn:aws:globalaccelerator::111111111111:accelerator/a",
	"PRIMARY_ENDPOINT_GROUP_ARN": "arn:aws:globalaccelerator::111111111111:accelerator/a/listener/l/endpoint-group/p",
	"BACKUP_ENDPOINT_GROUP_ARN":  "arn:aws:globalaccelerator::111111111111:accelerator/a/listener/l/endpoint-group/b",
	"LOAD_BALANCER_NAME":         "pendulum-ingest", "TOPIC_ARN": "arn:aws:sns:us-east-2:111111111111:pendulum-dr",
	"AWS_REGION": regionB,
}

// function is one function of functions/ with a complete environment.
type function struct {
	name        string
	constructor func(wiring.Runtime) (lambda.Handler, error)
	env         map[string]string
	// optional are the variables with a default.
	optional []string
}

func functions() []function {
	fs := []function{
		{"ingest", workload.Ingest, map[string]string{"STREAM_NAME": "pendulum-records", "IDEMPOTENCY_TABLE": "pendulum-ingest-ids", "AWS_REGION": regionP}, nil},
		{"partitions", workload.Partitions, map[string]string{"GLUE_DATABASE": "pendulum", "AWS_REGION": regionP,
			"TABLES": `[{"table":"raw","bucket":"raw-p","prefix":"","layout":"hive"}]`}, nil},
		{"aggregate", workload.Aggregate, map[string]string{"TABLE_NAME": "pendulum-aggregates", "AWS_REGION": regionP, "MARKER_TTL_DAYS": "7"},
			[]string{"MARKER_TTL_DAYS"}},
		{"compact", batch.Compact, map[string]string{"RAW_BUCKET": "raw-p", "CURATED_BUCKET": "curated-p", "AWS_REGION": regionP}, nil},
		{"compact-plan", batch.CompactPlan, map[string]string{"RAW_BUCKET": "raw-p", "AWS_REGION": regionP}, nil},
		{"health", monitor.Health, map[string]string{"AWS_REGION": regionB, "PROBE_TIMEOUT_MS": "3000",
			"TARGETS":        `[{"name":"primary-regional","url":"http://alb.example/"}]`,
			"PIPELINE_TABLE": "pendulum-aggregates", "PIPELINE_REGION": regionP, "PIPELINE_TARGET": "primary-regional", "PIPELINE_MAX_LAG_SECONDS": "180"},
			[]string{"PROBE_TIMEOUT_MS", "PIPELINE_MAX_LAG_SECONDS"}},
	}
	for name, c := range map[string]func(wiring.Runtime) (lambda.Handler, error){
		"dr-control": recovery.DRControl, "dr-drain": recovery.DRDrain,
		"dr-probe": recovery.DRProbe, "dr-reconcile": recovery.DRReconcile,
		"dr-report": recovery.DRReport, "dr-restore": recovery.DRRestore, "dr-stack": recovery.DRStack,
		"dr-traffic": recovery.DRTraffic, "dr-replay": recovery.DRReplay,
	} {
		fs = append(fs, function{name: name, constructor: c, env: drEnv})
	}
	// The failback passes' steps also read the failback settings.
	passEnv := map[string]string{"FAILBACK_BUCKET": "failback-b", "FAILBACK_BATCH_ITEMS": "1000", "FAILBACK_MAX_CONCURRENCY": "100"}
	for k, v := range drEnv {
		passEnv[k] = v
	}
	for name, c := range map[string]func(wiring.Runtime) (lambda.Handler, error){"dr-copyback": recovery.DRCopyBack, "dr-merge": recovery.DRMerge} {
		fs = append(fs, function{name: name, constructor: c, env: passEnv})
	}
	// dr-verify judges the newest backup copy as readiness does.
	recoveryPoint := map[string]string{readiness.EnvBackupVault: "pendulum-vault", readiness.EnvRecoveryPointMaxAge: "36h",
		readiness.EnvRecoveryPointResource: "arn:aws:dynamodb:us-east-1:111111111111:table/pendulum-aggregates"}
	fs = append(fs, function{name: "dr-verify", constructor: recovery.DRVerify, env: with(drEnv, recoveryPoint)})
	fs = append(fs, function{name: "readiness", constructor: recovery.Readiness, env: with(drEnv, recoveryPoint, map[string]string{
		readiness.EnvReplicationRules: `[{"source":"raw-p","destination":"raw-b","rule":"to-us-east-2"}]`,
		readiness.EnvStateMachines:    `[{"name":"failover","arn":"arn:aws:states:us-east-2:111111111111:stateMachine:pendulum-failover","sha256":"` + readiness.DefinitionDigest(nil) + `"}]`,
		readiness.EnvInterval:         "1h",
	})})
	return fs
}

// with is the union of envs.
func with(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		for k, v := range e {
			out[k] = v
		}
	}
	return out
}

// runtime is a Runtime on simulated clients with env.
func runtime(env map[string]string, log *bytes.Buffer) wiring.Runtime {
	clk := clock.NewVirtual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	return wiring.Runtime{
		Getenv:  func(k string) string { return env[k] },
		Clients: simclients.Clients{World: sim.NewWorld(clk, "111111111111", regionP, regionB, global), SFN: states.SFN{}},
		Clock:   clk,
		HTTP:    &http.Client{},
		Stdout:  &bytes.Buffer{},
		Log:     slog.New(slog.NewJSONHandler(log, nil)),
	}
}

// TestEveryFunctionBuilds builds each function of functions/ from a
// complete environment on simulated clients: every client it asks for
// exists in the simulation with the methods it uses.
func TestEveryFunctionBuilds(t *testing.T) {
	fs := functions()
	mains, err := filepath.Glob(filepath.Join("..", "..", "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, f := range fs {
		tested[f.name] = true
	}
	for _, m := range mains {
		if name := filepath.Base(filepath.Dir(m)); !tested[name] {
			t.Errorf("functions/%s is not under test", name)
		}
	}
	if len(fs) != len(mains) {
		t.Fatalf("%d functions under test, want the %d of functions/", len(fs), len(mains))
	}
	for _, f := range fs {
		h, err := f.constructor(runtime(f.env, &bytes.Buffer{}))
		if err != nil || h == nil {
			t.Errorf("%s: %v", f.name, err)
		}
	}
}

// TestMissingVariableIsNamed removes each required variable in turn: the
// constructor fails, naming it.
func TestMissingVariableIsNamed(t *testing.T) {
	for _, f := range functions() {
		for name := range f.env {
			if contains(f.optional, name) {
				continue
			}
			env := map[string]string{}
			for k, v := range f.env {
				if k != name {
					env[k] = v
				}
			}
			_, err := f.constructor(runtime(env, &bytes.Buffer{}))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s without %s: err = %v, want one naming it", f.name, name, err)
			}
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestEdgeNamesErrors checks the one edge: errors come out as the
// pkg/fault type whose name the state machines match, a payload that is
// not the function's input as an InvalidInputError, each logged once.
func TestEdgeNamesErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		err     error
		want    string
	}{
		{"Invalid", `1`, fault.InvalidErr(errors.New("bad")), "*fault.InvalidInputError"},
		{"Throttled", `1`, &fault.TransientError{Err: errors.New("later")}, "*fault.TransientError"},
		{"Other", `1`, errors.New("other"), "*fault.InternalError"},
		{"NotTheInput", `{"not":"an int"}`, nil, "*fault.InvalidInputError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			h := wiring.Step("test", slog.New(slog.NewJSONHandler(&log, nil)), func(ctx context.Context, in int) (int, error) {
				return 0, tc.err
			})
			_, err := h.Invoke(context.Background(), []byte(tc.payload))
			if got := reflect.TypeOf(err).String(); got != tc.want {
				t.Fatalf("error %v is a %s, want %s", err, got, tc.want)
			}
			if n := strings.Count(log.String(), `"level":"ERROR"`); n != 1 {
				t.Fatalf("%d error lines, want 1:\n%s", n, log.String())
			}
			if !strings.Contains(log.String(), `"function":"test"`) || !strings.Contains(log.String(), `"errorType":"`+tc.want+`"`) {
				t.Fatalf("the error line names neither the function nor the type:\n%s", log.String())
			}
		})
	}
	var log bytes.Buffer
	h := wiring.Step("test", slog.New(slog.NewJSONHandler(&log, nil)), func(ctx context.Context, in int) (int, error) { return in + 1, nil })
	out, err := h.Invoke(context.Background(), []byte(`1`))
	if err != nil || string(out) != "2" {
		t.Fatalf("success = %s, %v", out, err)
	}
	if !strings.Contains(log.String(), `"output":2`) {
		t.Fatalf("the result is not logged:\n%s", log.String())
	}
}

// TestSourceKeepsTheAnswer checks that an event-source function's answer
// (here aggregate's batch item failures) passes the edge unchanged and
// unlogged.
func TestSourceKeepsTheAnswer(t *testing.T) {
	var log bytes.Buffer
	f := functions()[2]
	h, err := f.constructor(runtime(f.env, &log))
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Invoke(context.Background(), []byte(`{"Records":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ BatchItemFailures []any }
	if err := json.Unmarshal(out, &resp); err != nil || resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("answer %s, %v: want no batch item failure", out, err)
	}
	if strings.Contains(log.String(), "invocation") {
		t.Fatalf("the edge logged a source function's answer:\n%s", log.String())
	}
}

// A function's response stays what it was after the next invocation: the
// local installation holds many at once (a Distributed Map's children).
func TestEdgeResponseIsTheCallers(t *testing.T) {
	h := wiring.Step("echo", slog.New(slog.DiscardHandler), func(_ context.Context, in struct{ N int }) (struct{ N int }, error) {
		return in, nil
	})
	ctx := context.Background()
	first, err := h.Invoke(ctx, []byte(`{"N":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Invoke(ctx, []byte(`{"N":2}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(first)), `{"N":1}`; got != want {
		t.Fatalf("the first response reads %s after a second invocation, want %s", got, want)
	}
}

// Invocations side by side each get their own response, whole.
func TestEdgeConcurrentResponses(t *testing.T) {
	h := wiring.Step("echo", slog.New(slog.DiscardHandler), func(_ context.Context, in struct{ S string }) (struct{ S string }, error) {
		return in, nil
	})
	ctx := context.Background()
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 300 {
				want := strings.Repeat(string(rune('a'+g)), 2000+i)
				in, _ := json.Marshal(struct{ S string }{want})
				out, err := h.Invoke(ctx, in)
				var got struct{ S string }
				if err == nil {
					err = json.Unmarshal(out, &got)
				}
				if err == nil && got.S != want {
					err = errors.New("a response holds another invocation's bytes")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestEdgeDecodesAsLambdaNewHandler compares the edge with aws-lambda-go's
// lambda.NewHandler, the handler the Lambda Go runtime's users wrap their
// functions in: for the same payload, the same response bytes, or the
// same error (the edge's names the function).
func TestEdgeDecodesAsLambdaNewHandler(t *testing.T) {
	type msg struct {
		N int               `json:"n"`
		S string            `json:"s,omitempty"`
		M map[string]string `json:"m,omitempty"`
	}
	fn := func(_ context.Context, in msg) (msg, error) {
		in.N++
		return in, nil
	}
	ours := wiring.Step("test", slog.New(slog.DiscardHandler), fn)
	theirs := lambda.NewHandler(fn)
	payloads := []string{
		`{"n":1}`, " \n{\"n\":2}\t ", `{"n":1,"s":"<a href=\"x\">&amp;</a>","m":{"é":"\u2028"}}`,
		`null`, `{}`, `{"n":1} {"n":2}`, `{"n":1} trailing`, `{"n":1`, ``, ` `, `[1]`, `{"n":"one"}`,
		`{"n":1.5}`, `{"n":1,"unknown":true}`, `"text"`, `{"s":"\ud800"}`,
	}
	// And a function that takes its event raw, as partitions does.
	raw := func(_ context.Context, in json.RawMessage) (any, error) {
		return map[string]any{"len": len(in), "doc": in}, nil // the bytes the function got, exactly
	}
	oursRaw, theirsRaw := wiring.Source("test", slog.New(slog.DiscardHandler), raw), lambda.NewHandler(raw)
	for i, p := range append(payloads, payloads...) {
		ours, theirs := ours, theirs
		if i >= len(payloads) {
			ours, theirs = oursRaw, theirsRaw
		}
		got, gotErr := ours.Invoke(context.Background(), []byte(p))
		want, wantErr := theirs.Invoke(context.Background(), []byte(p))
		switch {
		case (gotErr == nil) != (wantErr == nil):
			t.Errorf("payload %q: error %v, lambda.NewHandler's %v", p, gotErr, wantErr)
		case gotErr != nil && gotErr.Error() != "test payload: "+wantErr.Error():
			t.Errorf("payload %q: error %q, want lambda.NewHandler's %q", p, gotErr, wantErr)
		case gotErr == nil && string(got) != string(want):
			t.Errorf("payload %q (raw %t): response %s, lambda.NewHandler's %s", p, i >= len(payloads), got, want)
		}
	}
}
