package states

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// conformanceCase is one file of testdata/conformance: a definition, its
// input, the behaviour of the tasks it calls, and what must come out.
type conformanceCase struct {
	Comment    string                                           `json:"comment"`
	Source     string                                           `json:"source"`
	Definition json.RawMessage                                  `json:"definition"`
	Input      json.RawMessage                                  `json:"input"`
	Stubs      map[string][]response                            `json:"stubs"`    // by state name
	Lambdas    map[string][]response                            `json:"lambdas"`  // by function name
	SDK        map[string][]response                            `json:"sdk"`      // "service:action"
	Machines   map[string]json.RawMessage                       `json:"machines"` // nested machines by name
	S3         map[string]json.RawMessage                       `json:"s3"`       // objects by "bucket/key": a string is the body, anything else its JSON
	Expect     expectation                                      `json:"expect"`
	Stop       *struct{ AfterSeconds int }                      `json:"stop,omitempty"`
	Options    *struct{ MaxPayloadBytes, MaxHistoryEvents int } `json:"options,omitempty"`
}

// response is one answer of a stubbed task, Lambda function or SDK action;
// successive invocations take successive answers, the last one repeating.
type response struct {
	Result       json.RawMessage `json:"result,omitempty"`
	Echo         bool            `json:"echo,omitempty"`
	Error        string          `json:"error,omitempty"`
	Cause        string          `json:"cause,omitempty"`
	SleepSeconds int             `json:"sleepSeconds,omitempty"`
	// Callback answers a .waitForTaskToken task through the engine after
	// AfterSeconds, sending heartbeats at the given offsets first.
	Callback *struct {
		AfterSeconds int             `json:"afterSeconds"`
		Heartbeats   []int           `json:"heartbeats"`
		Success      json.RawMessage `json:"success"`
		Error        string          `json:"error"`
		Cause        string          `json:"cause"`
	} `json:"callback,omitempty"`
}

type expectation struct {
	Problems      []string                     `json:"problems"`
	Status        Status                       `json:"status"`
	Output        json.RawMessage              `json:"output"`
	Error         string                       `json:"error"`
	Cause         *string                      `json:"cause"`
	CauseContains string                       `json:"causeContains"`
	Events        []string                     `json:"events"`
	EventsContain []string                     `json:"eventsContain"`
	EventCounts   map[string]int               `json:"eventCounts"`
	Elapsed       *float64                     `json:"elapsedSeconds"`
	Calls         map[string]int               `json:"calls"`
	Inputs        map[string][]json.RawMessage `json:"inputs"`
	// S3 is what objects must hold after the run, by "bucket/key" (JSON
	// compared as values); S3Keys every key the store holds then, sorted.
	S3     map[string]json.RawMessage `json:"s3"`
	S3Keys []string                   `json:"s3Keys"`
}

var conformanceStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// answerer serves responses in order and records the inputs it got.
type answerer struct {
	mu     sync.Mutex
	rs     []response
	n      int
	inputs []json.RawMessage
}

func (a *answerer) next(in json.RawMessage) response {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inputs = append(a.inputs, append(json.RawMessage(nil), in...))
	r := a.rs[min(a.n, len(a.rs)-1)]
	a.n++
	return r
}

func (a *answerer) answer(ctx context.Context, e *Engine, t *Task, in json.RawMessage) (json.RawMessage, error) {
	r := a.next(in)
	clk := e.Clock()
	if r.SleepSeconds > 0 {
		if err := clk.Sleep(ctx, time.Duration(r.SleepSeconds)*time.Second); err != nil {
			return nil, err
		}
	}
	if cb := r.Callback; cb != nil {
		// A Lambda function gets the token in its payload, a stub in Task.
		var token string
		if t != nil {
			token = t.Token
		} else {
			var p struct{ Token string }
			_ = json.Unmarshal(in, &p)
			token = p.Token
		}
		clk.Go(func() {
			waited := 0
			for _, hb := range cb.Heartbeats {
				_ = clk.Sleep(context.Background(), time.Duration(hb-waited)*time.Second)
				waited = hb
				_ = e.SendTaskHeartbeat(token)
			}
			_ = clk.Sleep(context.Background(), time.Duration(cb.AfterSeconds-waited)*time.Second)
			if cb.Error != "" {
				_ = e.SendTaskFailure(token, cb.Error, cb.Cause)
			} else {
				_ = e.SendTaskSuccess(token, cb.Success)
			}
		})
		return json.RawMessage(`{}`), nil
	}
	if r.Error != "" {
		return nil, &Error{Name: r.Error, Cause: r.Cause}
	}
	if r.Echo {
		return in, nil
	}
	return r.Result, nil
}

func loadCases(t testing.TB) map[string]conformanceCase {
	t.Helper()
	files, err := filepath.Glob("testdata/conformance/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no conformance cases")
	}
	out := map[string]conformanceCase{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c conformanceCase
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[camelCase(strings.TrimSuffix(filepath.Base(f), ".json"))] = c
	}
	return out
}

func TestConformance(t *testing.T) {
	for name, c := range loadCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, c)
		})
	}
}

func runCase(t *testing.T, c conformanceCase) {
	if len(c.Expect.Problems) > 0 {
		problems := Validate(c.Definition)
		if len(problems) == 0 {
			t.Fatalf("definition validated; want problems %q", c.Expect.Problems)
		}
		var all []string
		for _, p := range problems {
			all = append(all, p.String())
		}
		joined := strings.Join(all, "\n")
		for _, want := range c.Expect.Problems {
			if !strings.Contains(joined, want) {
				t.Errorf("problems lack %q; got:\n%s", want, joined)
			}
		}
		return
	}
	m, err := Parse(c.Definition)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	clk := clock.NewVirtual(conformanceStart)
	reg := NewRegistry()
	store := newMemStore(t, c.S3)
	opts := Options{Clock: clk, Registry: reg, UUID: counterUUID(), Random: func() float64 { return 0.5 }, ObjectStore: store}
	if c.Options != nil {
		opts.MaxPayloadBytes = c.Options.MaxPayloadBytes
		opts.MaxHistoryEvents = c.Options.MaxHistoryEvents
	}
	e := New(opts)
	answerers := map[string]*answerer{}
	for state, rs := range c.Stubs {
		a := &answerer{rs: rs}
		answerers[state] = a
		reg.HandleState(state, TaskHandlerFunc(func(ctx context.Context, task *Task) (json.RawMessage, error) {
			return a.answer(ctx, e, task, task.Input)
		}))
	}
	for fn, rs := range c.Lambdas {
		a := &answerer{rs: rs}
		answerers[fn] = a
		reg.HandleLambda(fn, func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
			return a.answer(ctx, e, nil, payload)
		})
	}
	for key, rs := range c.SDK {
		a := &answerer{rs: rs}
		answerers[key] = a
		svc, action, _ := strings.Cut(key, ":")
		reg.HandleSDK(svc, action, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
			return a.answer(ctx, e, nil, params)
		})
	}
	// Lambda handlers that answer with callbacks need the task token: it is
	// passed in the payload, so route through a state stub instead.
	for name, def := range c.Machines {
		cm, err := Parse(def)
		if err != nil {
			t.Fatalf("nested machine %s: %v", name, err)
		}
		e.Register(name, cm)
	}
	e.Register("Main", m)
	ctx := context.Background()
	x, err := e.Start(ctx, m, "test", c.Input)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if c.Stop != nil {
		clk.Go(func() {
			_ = clk.Sleep(ctx, time.Duration(c.Stop.AfterSeconds)*time.Second)
			x.Stop("Stopped", "stopped by the test")
		})
	}
	res, err := x.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	hist := x.History()
	defer func() {
		if t.Failed() {
			b, _ := json.MarshalIndent(hist, "", "  ")
			t.Logf("history:\n%s", b)
		}
	}()
	ex := c.Expect
	want := ex.Status
	if want == "" {
		want = StatusSucceeded
	}
	if got := res.Status; got != want {
		t.Fatalf("status = %s (error %q, cause %q), want %s", got, res.Error, res.Cause, want)
	}
	if ex.Output != nil && !jsonEqual(res.Output, ex.Output) {
		t.Errorf("output = %s, want %s", res.Output, ex.Output)
	}
	if ex.Error != "" && res.Error != ex.Error {
		t.Errorf("error = %q, want %q (cause %q)", res.Error, ex.Error, res.Cause)
	}
	if ex.Cause != nil && res.Cause != *ex.Cause {
		t.Errorf("cause = %q, want %q", res.Cause, *ex.Cause)
	}
	if ex.CauseContains != "" && !strings.Contains(res.Cause, ex.CauseContains) {
		t.Errorf("cause = %q, want it to contain %q", res.Cause, ex.CauseContains)
	}
	var types []string
	counts := map[string]int{}
	for _, ev := range hist {
		types = append(types, ev.Type)
		counts[ev.Type]++
	}
	if ex.Events != nil && !reflect.DeepEqual(types, ex.Events) {
		t.Errorf("events =\n  %s\nwant\n  %s", strings.Join(types, " "), strings.Join(ex.Events, " "))
	}
	for _, ev := range ex.EventsContain {
		if counts[ev] == 0 {
			t.Errorf("no %s event in %s", ev, strings.Join(types, " "))
		}
	}
	for ev, n := range ex.EventCounts {
		if counts[ev] != n {
			t.Errorf("%d %s events, want %d", counts[ev], ev, n)
		}
	}
	if ex.Elapsed != nil {
		got := res.StopDate.Sub(res.StartDate).Seconds()
		if got != *ex.Elapsed {
			t.Errorf("elapsed = %vs of virtual time, want %vs", got, *ex.Elapsed)
		}
	}
	for k, n := range ex.Calls {
		a := answerers[k]
		if a == nil {
			t.Fatalf("calls: no stub %q", k)
		}
		if got := len(a.inputs); got != n {
			t.Errorf("%s called %d times, want %d", k, got, n)
		}
	}
	for k, ins := range ex.Inputs {
		a := answerers[k]
		if a == nil {
			t.Fatalf("inputs: no stub %q", k)
		}
		if len(a.inputs) != len(ins) {
			t.Errorf("%s got %d inputs, want %d: %s", k, len(a.inputs), len(ins), a.inputs)
			continue
		}
		for i := range ins {
			if !jsonEqual(a.inputs[i], ins[i]) {
				t.Errorf("%s input %d = %s, want %s", k, i, a.inputs[i], ins[i])
			}
		}
	}
	for key, want := range ex.S3 {
		got, ok := store.object(key)
		if !ok {
			t.Errorf("s3 %s: no such object; the store holds %q", key, store.keys())
			continue
		}
		if !jsonEqual(got, want) {
			t.Errorf("s3 %s = %s, want %s", key, got, want)
		}
	}
	if ex.S3Keys != nil && !reflect.DeepEqual(store.keys(), ex.S3Keys) {
		t.Errorf("s3 keys = %q, want %q", store.keys(), ex.S3Keys)
	}
	checkHistoryShape(t, hist)
}

// memStore is an ObjectStore in memory, for the cases' s3 objects. Its
// objects were last modified at conformanceStart.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte // by "bucket/key"
}

func newMemStore(t testing.TB, objects map[string]json.RawMessage) *memStore {
	m := &memStore{objs: map[string][]byte{}}
	for k, v := range objects {
		if !strings.Contains(k, "/") {
			t.Fatalf("s3 object %q: want bucket/key", k)
		}
		var str string
		if json.Unmarshal(v, &str) == nil {
			m.objs[k] = []byte(str)
		} else {
			m.objs[k] = []byte(v)
		}
	}
	return m
}

func (m *memStore) object(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	return b, ok
}

func (m *memStore) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []string{}
	for k := range m.objs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (m *memStore) ListObjects(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	for _, k := range m.keys() {
		b, key, _ := strings.Cut(k, "/")
		if b != bucket || !strings.HasPrefix(key, prefix) {
			continue
		}
		body, _ := m.object(k)
		sum := md5.Sum(body)
		out = append(out, ObjectInfo{Key: key, ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Size: int64(len(body)), LastModified: conformanceStart, StorageClass: "STANDARD"})
	}
	if out == nil && !m.hasBucket(bucket) {
		return nil, fmt.Errorf("NoSuchBucket: The specified bucket does not exist: %s", bucket)
	}
	return out, nil
}

func (m *memStore) hasBucket(bucket string) bool {
	for _, k := range m.keys() {
		if strings.HasPrefix(k, bucket+"/") {
			return true
		}
	}
	return false
}

func (m *memStore) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	b, ok := m.object(bucket + "/" + key)
	if !ok {
		return nil, fmt.Errorf("NoSuchKey: The specified key does not exist: s3://%s/%s", bucket, key)
	}
	return b, nil
}

func (m *memStore) PutObject(ctx context.Context, bucket, key string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[bucket+"/"+key] = append([]byte(nil), body...)
	return nil
}

// checkHistoryShape checks what every history must satisfy: ids 1…n,
// previous ids pointing backwards, timestamps never decreasing, one
// ExecutionStarted first and one closing event last.
func checkHistoryShape(t *testing.T, hist []HistoryEvent) {
	t.Helper()
	for i, ev := range hist {
		if ev.ID != int64(i+1) {
			t.Fatalf("event %d has id %d", i, ev.ID)
		}
		if ev.PreviousEventID >= ev.ID || ev.PreviousEventID < 0 {
			t.Fatalf("event %d (%s) has previousEventId %d", ev.ID, ev.Type, ev.PreviousEventID)
		}
		if i > 0 && ev.Timestamp.Before(hist[i-1].Timestamp) {
			t.Fatalf("event %d (%s) goes back in time", ev.ID, ev.Type)
		}
	}
	if len(hist) < 2 || hist[0].Type != "ExecutionStarted" {
		t.Fatalf("history does not start with ExecutionStarted")
	}
	switch last := hist[len(hist)-1].Type; last {
	case "ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted":
	default:
		t.Fatalf("history ends with %s", last)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func counterUUID() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
}

// camelCase turns a case file name ("retry-then-succeed") into a subtest
// name ("RetryThenSucceed").
func camelCase(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
