package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/ingest"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

var t0 = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// mode is the state of the fake region behind the endpoint.
type mode int

const (
	up         mode = iota
	refused         // connections fail, as an unreachable endpoint's do
	streamGone      // ingest answers 503: its stream does not exist (dormant region)
	lostAck         // ingest writes the records but the answer never arrives
)

// region is a fake ingest region: the real ingest handler, reached through
// ingest.RoundTripper, writing to a fake Kinesis stream that keeps every
// record it was given (duplicates included, as Kinesis would).
type region struct {
	mu       sync.Mutex
	mode     mode
	written  []record.Record
	attempts []time.Time
	clk      clock.Clock
	handler  *ingest.Handler
	// script, if set, answers request n instead of the handler.
	script func(n int, req *http.Request) (*http.Response, error)
}

func newRegion(clk clock.Clock) *region {
	r := &region{clk: clk}
	r.handler = &ingest.Handler{Config: ingest.Config{StreamName: "pendulum-ingest", IdempotencyTable: idsTable, Region: "eu-west-1"},
		Kinesis: r, Idempotency: unmetered{newIdempotencyTable(clk)}, Clock: clk, Jitter: func() float64 { return 0.5 }}
	return r
}

// idsTable is the fake regions' idempotency table.
const idsTable = "pendulum-ingest-ids"

// unmetered calls the simulated table with sim.Unmetered: its writes take
// no virtual time, so the fake regions' timing is the test's own.
type unmetered struct{ db *sim.DynamoDB }

func (u unmetered) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return u.db.PutItem(sim.Unmetered(ctx), in, opts...)
}

// newIdempotencyTable is a simulated region's DynamoDB holding ingest's
// idempotency table, one per fake region: in backup-and-restore each
// region has its own.
func newIdempotencyTable(clk clock.Clock) *sim.DynamoDB {
	db := sim.NewWorld(clk, "123456789012", "eu-west-1").Region("eu-west-1").DynamoDB()
	db.SetCreateDelay(0)
	if _, err := db.CreateTable(sim.Unmetered(context.Background()), &dynamodb.CreateTableInput{
		TableName:            aws.String(idsTable),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(ingest.IdempotencyKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(ingest.IdempotencyKey), KeyType: ddbtypes.KeyTypeHash}},
	}); err != nil {
		panic(err)
	}
	return db
}

func (r *region) set(m mode) {
	r.mu.Lock()
	r.mode = m
	r.mu.Unlock()
}

func (r *region) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mode == streamGone {
		return nil, &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: &types.ResourceNotFoundException{Message: aws.String("Stream pendulum-ingest not found.")}}
	}
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}
	for _, e := range in.Records {
		rec, err := record.Decode(e.Data)
		if err != nil {
			return nil, err
		}
		r.written = append(r.written, rec)
		out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: aws.String("1"), ShardId: aws.String("shardId-0")})
	}
	return out, nil
}

func (r *region) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	n := len(r.attempts)
	r.attempts = append(r.attempts, r.clk.Now())
	m, script := r.mode, r.script
	r.mu.Unlock()
	if script != nil {
		return script(n, req)
	}
	if m == refused {
		return nil, errors.New("dial tcp 198.51.100.7:443: connect: connection refused")
	}
	resp, err := ingest.RoundTripper(r.handler.Handle).RoundTrip(req)
	if m == lostAck && err == nil {
		resp.Body.Close()
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return resp, err
}

func (r *region) writtenIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, len(r.written))
	for i, w := range r.written {
		ids[i] = w.ID
	}
	return ids
}

func (r *region) attemptTimes() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.attempts...)
}

func testConfig(dir string, clk clock.Clock, rt http.RoundTripper) Config {
	return Config{
		Dir:        dir,
		Endpoint:   "https://ingest.pendulum.example/",
		Client:     &http.Client{Transport: rt},
		Clock:      clk,
		Name:       "sensor-17",
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: 10 * time.Second,
		NoSync:     true,
		Jitter:     func() float64 { return 0.5 },
		Rand:       bytes.NewReader(bytes.Repeat([]byte{0xab}, 64)),
	}
}

func produceN(t *testing.T, p *Producer, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		id, err := p.Produce(t.Context(), fmt.Appendf(nil, `{"seq":%d,"payload":"reading"}`, i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// checkDelivered fails unless every id was acknowledged exactly once and
// written to the stream at least once.
func checkDelivered(t *testing.T, p *Producer, reg *region, ids []string) {
	t.Helper()
	acked := p.AckedIDs()
	seen := make(map[string]int)
	for _, id := range acked {
		seen[id]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("id %s acknowledged %d times", id, n)
		}
	}
	written := make(map[string]bool)
	for _, id := range reg.writtenIDs() {
		written[id] = true
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("id %s not acknowledged", id)
		}
		if !written[id] {
			t.Fatalf("id %s acknowledged but never written to the stream", id)
		}
	}
	if got, want := len(acked), len(ids); got != want {
		t.Fatalf("%d acknowledged, want %d", got, want)
	}
}

func TestOutageThenRecovery(t *testing.T) {
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	reg.set(refused)
	var onAck []string
	cfg := testConfig(t.TempDir(), clk, reg)
	var onAckRecords [][]byte
	cfg.OnAck = func(ids []string, records [][]byte) {
		onAck = append(onAck, ids...)
		onAckRecords = append(onAckRecords, records...)
	}
	p, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ids := produceN(t, p, 1200)
	// The primary is unreachable for two minutes, then the backup answers
	// 503 while its stream is created, then it accepts.
	clk.AfterFunc(2*time.Minute, func() { reg.set(streamGone) })
	clk.AfterFunc(3*time.Minute, func() { reg.set(up) })
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := clock.Since(clk, t0); got < 3*time.Minute {
		t.Fatalf("delivered after %v, before the outage ended", got)
	}
	checkDelivered(t, p, reg, ids)
	if got, want := strings.Join(onAck, ","), strings.Join(p.AckedIDs(), ","); got != want {
		t.Fatalf("OnAck saw a different sequence from AckedIDs")
	}
	// Each id comes with the record sent under it, as the stream got it.
	sent := map[string]string{}
	reg.mu.Lock()
	for _, w := range reg.written {
		sent[w.ID] = string(w.Data)
	}
	reg.mu.Unlock()
	for i, id := range onAck {
		if got := string(onAckRecords[i]); got != sent[id] {
			t.Fatalf("OnAck gave %s for %s, the stream got %s", got, id, sent[id])
		}
	}
	s := p.Stats()
	if s.Produced != 1200 || s.Acknowledged != 1200 || s.Pending != 0 || s.Rejected != 0 {
		t.Fatalf("stats %+v", s)
	}
	if s.Failures == 0 || s.Attempts != s.Failures+3 {
		t.Fatalf("stats %+v: want failures during the outage and 3 delivering attempts", s)
	}
	if got, want := len(reg.writtenIDs()), 1200; got != want {
		t.Fatalf("%d records written, want %d (nothing written while the stream was missing)", got, want)
	}
	// The backoff is capped: no gap between attempts beyond MaxBackoff
	// plus the Retry-After ingest sends.
	times := reg.attemptTimes()
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap > cfg.MaxBackoff+ingest.RetryAfterUnavailable*time.Second {
			t.Fatalf("attempt %d came %v after the previous one", i, gap)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	reg.script = func(n int, req *http.Request) (*http.Response, error) {
		if n == 0 {
			return answer(req, 503, `{"error":"busy"}`, "Retry-After", "7"), nil
		}
		if n == 1 {
			return answer(req, 503, `{"error":"busy"}`, "Retry-After", t0.Add(time.Minute).Format(http.TimeFormat)), nil
		}
		return ingest.RoundTripper(reg.handler.Handle).RoundTrip(req)
	}
	p, err := Open(testConfig(t.TempDir(), clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ids := produceN(t, p, 3)
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	times := reg.attemptTimes()
	if got, want := len(times), 3; got != want {
		t.Fatalf("%d attempts, want %d", got, want)
	}
	if gap := times[1].Sub(times[0]); gap < 7*time.Second {
		t.Fatalf("second attempt %v after the first; Retry-After asked for 7s", gap)
	}
	if times[2].Before(t0.Add(time.Minute)) {
		t.Fatalf("third attempt at %v, before the Retry-After date %v", times[2], t0.Add(time.Minute))
	}
	checkDelivered(t, p, reg, ids)
}

func answer(req *http.Request, code int, body string, kv ...string) *http.Response {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &http.Response{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}
}

func TestRestartFromSpool(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	// The first request is delivered, then the region goes away.
	reg.script = func(n int, req *http.Request) (*http.Response, error) {
		if n == 0 {
			return ingest.RoundTripper(reg.handler.Handle).RoundTrip(req)
		}
		return nil, errors.New("connection refused")
	}
	cfg := testConfig(dir, clk, reg)
	cfg.MaxBatchRecords = 4
	p, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := produceN(t, p, 10)
	ctx, cancel := context.WithCancel(t.Context())
	clk.AfterFunc(time.Minute, cancel)
	if err := p.Send(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if s := p.Stats(); s.Acknowledged != 4 || s.Pending != 6 {
		t.Fatalf("before restart: stats %+v", s)
	}
	first := p.AckedIDs()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of a write leaves a torn last line.
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.ndjson"))
	if len(segs) == 0 {
		t.Fatal("no spool segment on disk")
	}
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":"torn","seq":`)
	f.Close()

	reg.script = nil
	p2, err := Open(testConfig(dir, clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if got, want := p2.Stats().Recovered, int64(6); got != want {
		t.Fatalf("recovered %d records, want %d", got, want)
	}
	if err := p2.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(append(first, p2.AckedIDs()...), ","), strings.Join(ids, ","); got != want {
		t.Fatalf("acknowledged across the restart:\n%s\nwant\n%s", got, want)
	}
	for _, id := range reg.writtenIDs() {
		if id == "torn" {
			t.Fatal("the torn record was sent")
		}
	}
	// Everything delivered: a third open finds nothing to send and new ids
	// do not collide with the old ones.
	p2.Close()
	cfg3 := testConfig(dir, clk, reg)
	cfg3.Rand = bytes.NewReader(bytes.Repeat([]byte{0xcd}, 8))
	p3, err := Open(cfg3)
	if err != nil {
		t.Fatal(err)
	}
	defer p3.Close()
	if got := p3.Stats().Recovered; got != 0 {
		t.Fatalf("recovered %d after full delivery, want 0", got)
	}
	id, err := p3.Produce(t.Context(), []byte(`{"v":1}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range ids {
		if id == old {
			t.Fatalf("new id %s reuses an old one", id)
		}
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.ndjson")); len(segs) != 1 {
		t.Fatalf("segments on disk %v, want only the active one", segs)
	}
}

func TestLostAckResendsSameIDs(t *testing.T) {
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	reg.set(lostAck)
	clk.AfterFunc(30*time.Second, func() { reg.set(up) })
	p, err := Open(testConfig(t.TempDir(), clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ids := produceN(t, p, 5)
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, p, reg, ids)
	written := reg.writtenIDs()
	if len(written) <= len(ids) || len(written)%len(ids) != 0 {
		t.Fatalf("%d records written for %d ids: want whole resends", len(written), len(ids))
	}
	for i, id := range written {
		if want := ids[i%len(ids)]; id != want {
			t.Fatalf("written[%d] = %s, want %s: a resend must carry the same id", i, id, want)
		}
	}
}

func TestRejectedRecordsSetAside(t *testing.T) {
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	reg.script = func(n int, req *http.Request) (*http.Response, error) {
		if n == 0 {
			return answer(req, 400, `{"error":"invalid request","problems":[{"index":1,"line":2,"reason":"ts is not RFC 3339"}]}`), nil
		}
		return ingest.RoundTripper(reg.handler.Handle).RoundTrip(req)
	}
	dir := t.TempDir()
	p, err := Open(testConfig(dir, clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ids := produceN(t, p, 3)
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.Rejected != 1 || s.Acknowledged != 2 || s.Pending != 0 {
		t.Fatalf("stats %+v", s)
	}
	if got, want := strings.Join(p.AckedIDs(), ","), ids[0]+","+ids[2]; got != want {
		t.Fatalf("acknowledged %s, want %s", got, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, rejectedName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), ids[1]) || !strings.Contains(string(b), "ts is not RFC 3339") {
		t.Fatalf("rejected.ndjson = %s, want record %s and its reason", b, ids[1])
	}
}

// TestConflictAcrossRequestsSetAside: a record reusing, in a later request,
// the id of one ingest acknowledged earlier with other content is answered
// as a conflict too (ingest's idempotency table holds the first content):
// set aside, counted, not resent, never written. The first content sent
// again is acknowledged again: a redelivery.
func TestConflictAcrossRequestsSetAside(t *testing.T) {
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	dir := t.TempDir()
	p, err := Open(testConfig(dir, clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(recs ...string) {
		t.Helper()
		for _, rec := range recs {
			if _, err := p.Produce(t.Context(), []byte(rec)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Send(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	const first = `{"id":"order-7","ts":"2026-11-25T03:00:00Z","qty":1}`
	send(first)
	send(`{"id":"order-7","ts":"2026-11-25T03:00:00Z","qty":2}`, `{"id":"order-8","ts":"2026-11-25T03:00:00Z","qty":1}`)
	s := p.Stats()
	if s.Acknowledged != 2 || s.Rejected != 1 || s.Conflicts != 1 || s.Pending != 0 {
		t.Fatalf("stats %+v: want order-7 and order-8 acknowledged, the second order-7 rejected as a conflict", s)
	}
	b, err := os.ReadFile(filepath.Join(dir, rejectedName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"status":"conflict"`) || !strings.Contains(string(b), `"qty":2`) || !strings.Contains(string(b), "accepted earlier") {
		t.Fatalf("rejected.ndjson = %s, want the qty 2 record as a conflict with an earlier request", b)
	}
	send(first)
	if s := p.Stats(); s.Acknowledged != 3 || s.Conflicts != 1 {
		t.Fatalf("stats %+v: the first content again is acknowledged", s)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for _, w := range reg.written {
		if w.ID == "order-7" && !strings.Contains(string(w.Data), `"qty":1`) {
			t.Fatalf("written %s: the conflicting content reached the stream", w.Data)
		}
	}
}

// TestConflictSetAside: the real ingest answers a record reusing an earlier
// record's id with other content as a conflict. The producer keeps it in
// rejected.ndjson with its status and reason, counts it, and does not resend
// it; the identical copy is acknowledged along with the rest.
func TestConflictSetAside(t *testing.T) {
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	dir := t.TempDir()
	p, err := Open(testConfig(dir, clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var ids []string
	for _, rec := range []string{`{"id":"order-7","qty":1}`, `{"seq":1}`, `{"id":"order-7","qty":2}`, `{"id":"order-7","qty":1}`} {
		id, err := p.Produce(t.Context(), []byte(rec))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.Acknowledged != 3 || s.Rejected != 1 || s.Conflicts != 1 || s.Pending != 0 || s.Attempts != 2 || s.Failures != 0 {
		t.Fatalf("stats %+v: want 3 acknowledged, 1 rejected as a conflict, in 2 attempts", s)
	}
	if got, want := strings.Join(p.AckedIDs(), ","), strings.Join([]string{ids[0], ids[1], ids[3]}, ","); got != want {
		t.Fatalf("acknowledged %s, want %s", got, want)
	}
	if got, want := strings.Join(reg.writtenIDs(), ","), "order-7,"+ids[1]; got != want {
		t.Fatalf("written %s, want %s (each id once)", got, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, rejectedName))
	if err != nil {
		t.Fatal(err)
	}
	var kept struct {
		Reason string          `json:"reason"`
		Status string          `json:"status"`
		Record json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(b, &kept); err != nil {
		t.Fatalf("rejected.ndjson %s: %v", b, err)
	}
	if kept.Status != ingest.StatusConflict || !strings.Contains(kept.Reason, `id "order-7"`) || !strings.Contains(string(kept.Record), `"qty":2`) {
		t.Fatalf("rejected.ndjson = %s, want the qty 2 record as a conflict naming order-7", b)
	}
	// Sending again finds nothing to send: the conflict is not retried.
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().Attempts; got != 2 {
		t.Fatalf("%d attempts, want 2", got)
	}
}

// TestProduceRejectsControlCharacterIDs: ingest's own rules apply at Produce.
func TestProduceRejectsControlCharacterIDs(t *testing.T) {
	clk := clock.NewVirtual(t0)
	p, err := Open(testConfig(t.TempDir(), clk, newRegion(clk)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Produce(t.Context(), []byte(`{"id":"a\u0000"}`)); err == nil || !strings.Contains(err.Error(), "control character U+0000") {
		t.Fatalf("Produce = %v, want the control character refused", err)
	}
}

func TestTooLargeSplitsBatches(t *testing.T) {
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	const limit = 4000 // what a proxy in front of ingest takes
	var sizes []int
	reg.script = func(n int, req *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(req.Body)
		sizes = append(sizes, len(b))
		if len(b) > limit {
			return answer(req, http.StatusRequestEntityTooLarge, `<html>413 Request Entity Too Large</html>`), nil
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		return ingest.RoundTripper(reg.handler.Handle).RoundTrip(req)
	}
	p, err := Open(testConfig(t.TempDir(), clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var ids []string
	for i := range 10 {
		id, err := p.Produce(t.Context(), fmt.Appendf(nil, `{"seq":%d,"pad":"%s"}`, i, strings.Repeat("x", 900)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, p, reg, ids)
	if sizes[0] <= limit {
		t.Fatalf("first request of %d bytes; the test wants it over the limit", sizes[0])
	}
	for i, n := range sizes[1:] {
		if n > limit && i > 3 {
			t.Fatalf("request %d of %d bytes: the producer did not settle under the limit", i+1, n)
		}
	}
	if got := clock.Since(clk, t0); got != 0 {
		t.Fatalf("splitting waited %v; a 413 needs no backoff", got)
	}
}

func TestProduce(t *testing.T) {
	clk := clock.NewVirtual(t0)
	p, err := Open(testConfig(t.TempDir(), clk, newRegion(clk)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	valid := []struct {
		name, in, wantID string
	}{
		{"Generated", `{"v": 1}`, "sensor-17-abababababababab-1"},
		{"Empty", `{}`, "sensor-17-abababababababab-2"},
		{"OwnID", `{"id":"mine-1","ts":1764032400000}`, "mine-1"},
		{"NullTS", `{"ts":null}`, "sensor-17-abababababababab-4"},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			id, err := p.Produce(t.Context(), []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := id, tt.wantID; got != want {
				t.Fatalf("id = %q, want %q", got, want)
			}
		})
	}
	p.mu.Lock()
	spooled := p.pending
	p.mu.Unlock()
	if got, want := string(spooled[0].data), `{"id":"sensor-17-abababababababab-1","ts":"2026-11-25T03:00:00Z","v":1}`; got != want {
		t.Fatalf("spooled %s, want %s", got, want)
	}
	if got, want := string(spooled[2].data), `{"id":"mine-1","ts":1764032400000}`; got != want {
		t.Fatalf("spooled %s, want the record as given", got)
	}
	invalid := []struct{ name, in, want string }{
		{"NotJSON", `{"v":`, "not JSON"},
		{"NullID", `{"id":null}`, "omit it"},
		{"NotObject", `[1]`, "not a JSON object"},
		{"LongID", `{"id":"` + strings.Repeat("x", 129) + `"}`, "id is 129 bytes"},
		{"BadTS", `{"ts":"tomorrow"}`, "not RFC 3339"},
		{"TooLarge", `{"pad":"` + strings.Repeat("p", record.MaxRecordBytes) + `"}`, "the limit is 65536"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			before := p.Stats().Produced
			_, err := p.Produce(t.Context(), []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Produce = %v, want an error containing %q", err, tt.want)
			}
			if got := p.Stats().Produced; got != before {
				t.Fatalf("an invalid record was spooled")
			}
		})
	}
}

func TestRunDeliversAsProduced(t *testing.T) {
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	p, err := Open(testConfig(t.TempDir(), clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var runErr error
	done := clk.Go(func() { runErr = p.Run(ctx) })
	var ids []string
	for i := range 20 {
		if i == 5 {
			reg.set(refused)
			clk.AfterFunc(time.Minute, func() { reg.set(up) })
		}
		ids = append(ids, produceN(t, p, 3)...)
		if err := clk.Sleep(t.Context(), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := clk.Sleep(t.Context(), time.Minute); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, p, reg, ids)
	cancel()
	if err := clk.Await(t.Context(), done, 0); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(runErr, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", runErr)
	}
	if err := p.Send(t.Context()); err != nil {
		t.Fatalf("Send after Run: %v", err)
	}
}

func TestConcurrentProduce(t *testing.T) {
	reg := newRegion(clock.Real{})
	p, err := Open(testConfig(t.TempDir(), clock.Real{}, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(t.Context())
	runDone := make(chan error, 1)
	go func() { runDone <- p.Run(ctx) }()
	var (
		mu  sync.Mutex
		ids []string
		wg  sync.WaitGroup
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				id, err := p.Produce(t.Context(), fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cancel()
	if err := <-runDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := len(ids), 1000; got != want {
		t.Fatalf("%d ids, want %d", got, want)
	}
	unique := make(map[string]bool)
	for _, id := range ids {
		unique[id] = true
	}
	if got, want := len(unique), 1000; got != want {
		t.Fatalf("%d distinct ids, want %d", got, want)
	}
	checkDelivered(t, p, reg, ids)
}

func TestOpenValidates(t *testing.T) {
	base := testConfig(t.TempDir(), clock.Real{}, http.DefaultTransport)
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"NoDir", func(c *Config) { c.Dir = "" }, "Dir"},
		{"NoEndpoint", func(c *Config) { c.Endpoint = "" }, "Endpoint"},
		{"NoName", func(c *Config) { c.Name = "" }, "Name"},
		{"LongName", func(c *Config) { c.Name = strings.Repeat("n", MaxNameBytes+1) }, "Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			_, err := Open(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestMain(m *testing.M) {
	// The ingest handler behind the fake region logs every refused request.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

func TestAckLogCompacted(t *testing.T) {
	defer func(n int) { compactAfter = n }(compactAfter)
	compactAfter = 10
	dir := t.TempDir()
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	cfg := testConfig(dir, clk, reg)
	cfg.SegmentBytes = 512 // a few records per segment
	cfg.MaxBatchRecords = 7
	p, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 20 {
		ids = append(ids, produceN(t, p, 5)...)
		if err := p.Send(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	checkDelivered(t, p, reg, ids)
	b, err := os.ReadFile(filepath.Join(dir, ackLogName))
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(b, []byte("\n")); lines >= 100 || lines > compactAfter+20 {
		t.Fatalf("acked.log holds %d lines after 100 deliveries; want it compacted", lines)
	}
	p.Close()
	p2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if got := p2.Stats().Recovered; got != 0 {
		t.Fatalf("recovered %d records after compaction, want 0", got)
	}
}

// TestCorruptLineQuarantined: a record whose line is corrupted on disk in
// the middle of a segment is neither sent nor silently dropped: it goes to
// quarantine.ndjson (once, however often the spool is reopened) and is
// counted, the records around it are delivered, and only then is the
// segment deleted.
func TestCorruptLineQuarantined(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewVirtual(t0)
	reg := newRegion(clk)
	p, err := Open(testConfig(dir, clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	ids := produceN(t, p, 5)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, segmentName(1))
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte{'\n'})
	if got, want := len(lines), 6; got != want { // 5 lines and "" after the last newline
		t.Fatalf("segment has %d parts, want %d", got, want)
	}
	corrupt := append(bytes.Repeat([]byte{0xff}, 7), lines[2][7:]...) // line 3, newline kept
	lines[2] = corrupt
	if err := os.WriteFile(seg, bytes.Join(lines, nil), 0o644); err != nil {
		t.Fatal(err)
	}

	// Reopened twice before sending (as after a crash between quarantining
	// and delivering): the line is quarantined once and counted each time.
	for range 2 {
		p, err = Open(testConfig(dir, clk, reg))
		if err != nil {
			t.Fatal(err)
		}
		s := p.Stats()
		if s.Quarantined != 1 || s.Recovered != 5 || s.Pending != 4 {
			t.Fatalf("after reopen: stats %+v, want 1 quarantined of 5 recovered, 4 pending", s)
		}
		if s.Recovered+s.Produced != s.Acknowledged+s.Rejected+s.Pending+s.Quarantined {
			t.Fatalf("stats %+v break Recovered + Produced = Acknowledged + Rejected + Pending + Quarantined", s)
		}
		if _, err := os.Stat(seg); err != nil {
			t.Fatalf("segment gone before its records were delivered: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	p, err = Open(testConfig(dir, clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := append(append([]string{}, ids[:2]...), ids[3:]...)
	checkDelivered(t, p, reg, want)
	for _, id := range reg.writtenIDs() {
		if id == ids[2] {
			t.Fatalf("the corrupted record %s was sent", id)
		}
	}
	s := p.Stats()
	if s.Quarantined != 1 || s.Acknowledged != 4 || s.Pending != 0 ||
		s.Recovered+s.Produced != s.Acknowledged+s.Rejected+s.Pending+s.Quarantined {
		t.Fatalf("after sending: stats %+v", s)
	}
	if _, err := os.Stat(seg); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("delivered segment still on disk (err %v)", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	q, err := os.ReadFile(filepath.Join(dir, quarantineName))
	if err != nil {
		t.Fatal(err)
	}
	qlines := strings.Split(strings.TrimSuffix(string(q), "\n"), "\n")
	if got, want := len(qlines), 1; got != want {
		t.Fatalf("quarantine.ndjson has %d lines, want %d:\n%s", got, want, q)
	}
	var entry quarantineEntry
	if err := json.Unmarshal([]byte(qlines[0]), &entry); err != nil {
		t.Fatal(err)
	}
	if got, want := entry.Segment, segmentName(1); got != want {
		t.Fatalf("segment = %q, want %q", got, want)
	}
	if got, want := entry.Line, 3; got != want {
		t.Fatalf("line = %d, want %d", got, want)
	}
	if !strings.Contains(entry.Reason, "invalid character") {
		t.Fatalf("reason = %q, want the JSON error", entry.Reason)
	}
	if got, want := string(entry.RawBase64), string(bytes.TrimSuffix(corrupt, []byte{'\n'})); got != want || entry.Raw != "" {
		t.Fatalf("quarantined bytes = %q (raw %q), want %q", got, entry.Raw, want)
	}

	// Nothing left: a fourth open recovers and quarantines nothing.
	p, err = Open(testConfig(dir, clk, reg))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if s := p.Stats(); s.Recovered != 0 || s.Quarantined != 0 {
		t.Fatalf("after full delivery: stats %+v", s)
	}
}
