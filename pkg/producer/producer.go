// Package producer is the Go client producers use to send records to ingest
// without losing any across a regional failover.
//
// Produce spools a record to local disk and gives it a stable id before it
// returns; Send (or Run) posts spooled records to ingest in NDJSON batches and
// counts a record as delivered only when ingest answered 200 for the batch
// holding it. Anything else — a connection error, 502, 503 with Retry-After
// while the backup region takes over, a crash of this process — leaves the
// record spooled, and it is sent again. Resends are safe because ingest and
// everything after it are idempotent on the record id, so the outcome is zero
// acknowledged records lost and none double-counted.
//
// All waiting goes through a clock.Clock, so the local drill runs producers
// on virtual time.
package producer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/ingest"
)

// Defaults for Config's zero fields.
const (
	DefaultMaxBatchRecords = ingest.MaxRecords
	// DefaultMaxBatchBytes keeps a request under the ALB's "1 MB" Lambda
	// body limit whichever megabyte it means (ingest itself takes 1 MiB).
	DefaultMaxBatchBytes = 900_000
	DefaultMinBackoff    = 200 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultSegmentBytes  = 8 << 20
	// MaxRetryAfter caps the wait a Retry-After header can impose, so a
	// wrong header cannot park the producer for hours.
	MaxRetryAfter = 5 * time.Minute
	// MaxNameBytes bounds the producer name, which prefixes generated ids
	// (ids are at most 128 bytes).
	MaxNameBytes = 64
)

// ErrConcurrentSend is returned by Send when another Send (or Run) is active:
// one sender keeps batches in order and the accounting simple.
var ErrConcurrentSend = errors.New("producer: another Send is in progress")

// Config configures a Producer.
type Config struct {
	// Dir is the spool directory, created if absent. One Producer at a time
	// may use it.
	Dir string
	// Endpoint is ingest's base URL (the accelerator's DNS name in
	// production); records go to Endpoint + "/records".
	Endpoint string
	// Client sends the requests; nil uses http.DefaultClient. Set its
	// Timeout: an attempt that hangs is an attempt that never retries.
	Client *http.Client
	// Clock is the time source for backoff; nil uses clock.Real.
	Clock clock.Clock
	// Name identifies the producer: the X-Pendulum-Producer header and the
	// prefix of generated ids. Required, at most MaxNameBytes.
	Name string
	// MaxBatchRecords and MaxBatchBytes bound one request; zero means
	// ingest's limits.
	MaxBatchRecords int
	MaxBatchBytes   int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// attempts (full jitter); zero means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// SegmentBytes is the spool segment size; zero means DefaultSegmentBytes.
	SegmentBytes int64
	// NoSync skips fsync of the spool: faster, but a machine crash (not a
	// process crash) may lose records Produce accepted. For tests and drills.
	NoSync bool
	// OnAck, if set, is called with the ids of each acknowledged batch, in
	// order, and records[i], the JSON object sent as ids[i] (not to be
	// modified), from the sending goroutine.
	OnAck func(ids []string, records [][]byte)
	// Jitter returns a number in [0, 1); nil uses math/rand.
	Jitter func() float64
	// Rand seeds generated ids (8 bytes per Open); nil uses crypto/rand.
	Rand io.Reader
}

// Stats are the producer's counters. Recovered + Produced = Acknowledged +
// Rejected + Pending + Quarantined at every moment.
type Stats struct {
	Recovered    int64 // unacknowledged records found in the spool at Open, quarantined ones included
	Produced     int64 // records spooled by Produce since Open
	Acknowledged int64 // records ingest acknowledged since Open
	Rejected     int64 // records ingest refused as invalid or conflicting (kept in rejected.ndjson)
	Pending      int64 // records spooled and not yet acknowledged
	// Quarantined counts spooled lines found unreadable at Open (corrupted
	// on disk): not sent, kept with segment, line and reason in
	// quarantine.ndjson in the spool directory for an operator.
	Quarantined int64
	Attempts    int64 // HTTP requests made
	Failures    int64 // attempts that failed and are retried (connection errors, 5xx, 413, …)
	// Conflicts counts the Rejected records ingest refused as conflicts:
	// their id was held with different content by an earlier record of the
	// same request, or by a record the region accepted in an earlier
	// request. Like invalid ones they are kept, with "status":"conflict",
	// and not resent: a resend cannot succeed.
	Conflicts int64
}

// Producer spools and sends records. Produce is safe for concurrent use;
// Send and Run must not run concurrently with each other.
type Producer struct {
	cfg      Config
	clk      clock.Clock
	url      string
	runID    string
	sending  atomic.Bool
	attempts atomic.Int64
	failures atomic.Int64

	// batchBytes is the request size limit in force: MaxBatchBytes, halved
	// each time something in front of ingest answers 413. Sender only.
	batchBytes int

	mu        sync.Mutex
	spool     *spool
	pending   []entry // in produce order; the sender takes from the front
	seq       uint64
	wake      *clock.Signal // fired by Produce; set while Run waits
	stats     Stats
	ackedIDs  []string
	closed    bool
	validator ingest.Parser
}

// Open opens the spool in cfg.Dir; records left unacknowledged by a previous
// run are queued to be sent first.
func Open(cfg Config) (*Producer, error) {
	switch {
	case cfg.Dir == "":
		return nil, errors.New("producer: Config.Dir (the spool directory) is required")
	case cfg.Endpoint == "":
		return nil, errors.New("producer: Config.Endpoint (ingest's base URL) is required")
	case cfg.Name == "" || len(cfg.Name) > MaxNameBytes:
		return nil, fmt.Errorf("producer: Config.Name must be 1-%d bytes, got %d", MaxNameBytes, len(cfg.Name))
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.MaxBatchRecords <= 0 || cfg.MaxBatchRecords > ingest.MaxRecords {
		cfg.MaxBatchRecords = DefaultMaxBatchRecords
	}
	if cfg.MaxBatchBytes <= 0 || cfg.MaxBatchBytes > ingest.MaxBodyBytes {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = DefaultSegmentBytes
	}
	if cfg.Jitter == nil {
		cfg.Jitter = mrand.Float64
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	var seed [8]byte
	if _, err := io.ReadFull(cfg.Rand, seed[:]); err != nil {
		return nil, fmt.Errorf("producer: seed ids: %w", err)
	}
	sp, pending, err := openSpool(cfg.Dir, cfg.SegmentBytes, cfg.NoSync)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	p := &Producer{
		cfg:     cfg,
		clk:     cfg.Clock,
		url:     strings.TrimRight(cfg.Endpoint, "/") + "/records",
		runID:   hex.EncodeToString(seed[:]),
		spool:   sp,
		pending: pending,
	}
	p.batchBytes = cfg.MaxBatchBytes
	p.stats.Quarantined = int64(sp.quarantined)
	p.stats.Recovered = int64(len(pending)) + p.stats.Quarantined
	return p, nil
}

// Produce spools one record — a JSON object — and returns its id. A record
// without an "id" gets one (name-run-sequence) and one without a "ts" gets
// the current time, so a resent copy is the same record to every stage. The
// record is validated by ingest's own rules first: an invalid one is an
// error and nothing is spooled. Once Produce returns, the record survives a
// crash of this process and will be delivered.
func (p *Producer) Produce(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return "", fmt.Errorf("produce: record is not JSON: %w", err)
	}
	var head struct {
		ID json.RawMessage `json:"id"`
		TS json.RawMessage `json:"ts"`
	}
	if err := json.Unmarshal(compact.Bytes(), &head); err != nil {
		return "", fmt.Errorf("produce: record is not a JSON object: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return "", errors.New("produce: producer is closed")
	}
	if string(head.ID) == "null" {
		// Ingest would read null as "no id" and derive one from the bytes;
		// a producer means to have one generated, so say so.
		return "", errors.New(`produce: "id" is null: omit it to have one generated`)
	}
	var prefix []byte
	if len(head.ID) == 0 {
		id := p.cfg.Name + "-" + p.runID + "-" + strconv.FormatUint(p.seq+1, 10)
		q, _ := json.Marshal(id)
		prefix = append(append(append(prefix, `"id":`...), q...), ',')
	}
	if len(head.TS) == 0 { // null is left for ingest: arrival time
		prefix = append(prefix, `"ts":"`...)
		prefix = p.clk.Now().UTC().AppendFormat(prefix, time.RFC3339Nano)
		prefix = append(prefix, `",`...)
	}
	rec := compact.Bytes()
	if len(prefix) > 0 {
		body := rec[1:]
		if len(bytes.TrimSpace(body)) == 1 { // "{}": no member to follow
			prefix = prefix[:len(prefix)-1]
		}
		rec = append(append([]byte{'{'}, prefix...), body...)
	}
	// Ingest's own validation, with a long region so the size check errs
	// on the safe side.
	parsed, problems := p.validator.Parse(rec, ingest.Meta{Received: p.clk.Now().UTC(), Region: strings.Repeat("r", 32), Producer: p.cfg.Name})
	if problems != nil {
		reasons := make([]string, len(problems))
		for i, pr := range problems {
			reasons[i] = pr.Reason
		}
		return "", fmt.Errorf("produce: invalid record: %s", strings.Join(reasons, "; "))
	}
	e := entry{id: parsed.Records[0].ID, data: bytes.Clone(rec)}
	batch := []entry{e}
	if err := p.spool.append(batch); err != nil {
		return "", fmt.Errorf("produce: spool: %w", err)
	}
	p.seq++
	p.pending = append(p.pending, batch[0])
	p.stats.Produced++
	if p.wake != nil {
		p.wake.Fire()
		p.wake = nil
	}
	return e.id, nil
}

// Stats returns the counters.
func (p *Producer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Pending = int64(len(p.pending))
	s.Attempts = p.attempts.Load()
	s.Failures = p.failures.Load()
	return s
}

// AckedIDs returns the ids acknowledged since Open, in acknowledgement order.
func (p *Producer) AckedIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ackedIDs...)
}

// Run sends records as they are produced until ctx is done, then returns
// ctx's error. Start it with clock.Go on a virtual clock.
func (p *Producer) Run(ctx context.Context) error {
	for {
		if err := p.Send(ctx); err != nil {
			return err
		}
		p.mu.Lock()
		if len(p.pending) > 0 {
			p.mu.Unlock()
			continue
		}
		s := p.clk.NewSignal()
		p.wake = s
		p.mu.Unlock()
		if err := p.clk.Await(ctx, s, 0); err != nil {
			return err
		}
	}
}

// Send delivers every pending record, including any produced meanwhile, and
// returns nil when none is left. It retries with capped exponential backoff
// and full jitter, waiting at least as long as a Retry-After asks, until ctx
// is done (then it returns ctx's error; the records stay spooled).
func (p *Producer) Send(ctx context.Context) error {
	if !p.sending.CompareAndSwap(false, true) {
		return ErrConcurrentSend
	}
	defer p.sending.Store(false)
	failed := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, body := p.nextBatch()
		if len(batch) == 0 {
			return nil
		}
		res := p.post(ctx, batch, body)
		switch {
		case res.delivered:
			failed = 0
			if err := p.acknowledge(batch); err != nil {
				return err
			}
			continue
		case res.status == http.StatusRequestEntityTooLarge && len(batch) > 1:
			// A proxy in front of ingest takes less than we thought:
			// send smaller requests from now on.
			p.batchBytes = max(len(body)/2, 1)
			p.failures.Add(1)
			continue
		case res.rejected != nil:
			failed = 0
			if err := p.reject(batch, res.rejected); err != nil {
				return err
			}
			continue
		}
		p.failures.Add(1)
		failed++
		wait := p.backoff(failed)
		if res.retryAfter > wait {
			wait = res.retryAfter
		}
		slog.DebugContext(ctx, "producer: batch not delivered; retrying", "records", len(batch), "status", res.status, "err", res.err, "wait", wait)
		if err := p.clk.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// nextBatch returns the oldest pending records that fit one request, and
// the request body.
func (p *Producer) nextBatch() ([]entry, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var body []byte
	n := 0
	for _, e := range p.pending {
		if n == p.cfg.MaxBatchRecords || (n > 0 && len(body)+len(e.data)+1 > p.batchBytes) {
			break
		}
		body = append(append(body, e.data...), '\n')
		n++
	}
	return p.pending[:n:n], body
}

// refusal is why ingest refused a record: its reason and, for a conflict,
// ingest.StatusConflict.
type refusal struct{ reason, status string }

// postResult is the outcome of one attempt.
type postResult struct {
	delivered  bool
	rejected   map[int]refusal // batch position → why, for a 400
	retryAfter time.Duration
	status     int
	err        error
}

func (p *Producer) post(ctx context.Context, batch []entry, body []byte) postResult {
	p.attempts.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return postResult{err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set(ingest.ProducerHeader, p.cfg.Name)
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return postResult{err: fmt.Errorf("post records: %w", err)}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return postResult{status: resp.StatusCode, err: fmt.Errorf("read answer: %w", err)}
	}
	res := postResult{status: resp.StatusCode, retryAfter: retryAfter(resp.Header.Get("Retry-After"), p.clk.Now())}
	switch resp.StatusCode {
	case http.StatusOK:
		var ok struct {
			Accepted *int `json:"accepted"`
		}
		if json.Unmarshal(answer, &ok) != nil || ok.Accepted == nil || *ok.Accepted != len(batch) {
			// Not the answer ingest gives: assume nothing was delivered.
			res.err = fmt.Errorf("unexpected 200 answer %.200q for %d records", answer, len(batch))
			return res
		}
		res.delivered = true
	case http.StatusRequestEntityTooLarge:
		if len(batch) == 1 {
			res.rejected = map[int]refusal{0: {reason: "the record alone is too large for the endpoint (413)"}}
		}
		res.err = fmt.Errorf("ingest answered %s", resp.Status)
	case http.StatusBadRequest:
		var bad struct {
			Problems []ingest.Problem `json:"problems"`
		}
		if json.Unmarshal(answer, &bad) != nil || len(bad.Problems) == 0 {
			res.err = fmt.Errorf("400 without problems: %.200q", answer)
			return res
		}
		res.rejected = make(map[int]refusal)
		for _, pr := range bad.Problems {
			if pr.Index != nil && *pr.Index >= 0 && *pr.Index < len(batch) {
				res.rejected[*pr.Index] = refusal{reason: pr.Reason, status: pr.Status}
				continue
			}
			// A problem with the request as a whole: every record goes.
			for i := range batch {
				if _, ok := res.rejected[i]; !ok {
					res.rejected[i] = refusal{reason: pr.Reason, status: pr.Status}
				}
			}
		}
	default:
		res.err = fmt.Errorf("ingest answered %s", resp.Status)
	}
	return res
}

// retryAfter parses a Retry-After header, seconds or an HTTP date, into a
// wait of at most MaxRetryAfter; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s >= int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}

// backoff returns the wait before retry n (1-based): full jitter over a
// window doubling from MinBackoff up to MaxBackoff, never below MinBackoff/2.
func (p *Producer) backoff(n int) time.Duration {
	d := p.cfg.MinBackoff << min(n-1, 30)
	if d <= 0 || d > p.cfg.MaxBackoff {
		d = p.cfg.MaxBackoff
	}
	floor := p.cfg.MinBackoff / 2
	return floor + time.Duration(p.cfg.Jitter()*float64(d-floor))
}

// acknowledge records batch, the front of the queue, as delivered.
func (p *Producer) acknowledge(batch []entry) error {
	p.mu.Lock()
	if err := p.spool.ack(batch); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("producer: %w", err)
	}
	ids := make([]string, len(batch))
	var records [][]byte
	if p.cfg.OnAck != nil {
		records = make([][]byte, len(batch))
	}
	for i, e := range batch {
		ids[i] = e.id
		if records != nil {
			records[i] = e.data
		}
	}
	p.pending = p.pending[len(batch):]
	p.stats.Acknowledged += int64(len(batch))
	p.ackedIDs = append(p.ackedIDs, ids...)
	p.mu.Unlock()
	if p.cfg.OnAck != nil {
		p.cfg.OnAck(ids, records)
	}
	return nil
}

// reject sets aside the records ingest refused; the rest of the batch stays
// at the front of the queue and goes in the next request.
func (p *Producer) reject(batch []entry, rejected map[int]refusal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out, keep []entry
	var why []refusal
	conflicts := 0
	for i, e := range batch {
		if r, ok := rejected[i]; ok {
			out = append(out, e)
			why = append(why, r)
			if r.status == ingest.StatusConflict {
				conflicts++
			}
			continue
		}
		keep = append(keep, e)
	}
	if err := p.spool.reject(out, why); err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	slog.Warn("producer: ingest rejected records", "records", len(out), "conflicts", conflicts, "firstReason", why[0].reason)
	rest := p.pending[len(batch):]
	p.pending = append(keep, rest...)
	p.stats.Rejected += int64(len(out))
	p.stats.Conflicts += int64(conflicts)
	return nil
}

// Close closes the spool. Unsent records stay in it for the next Open.
func (p *Producer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.spool.close()
}
