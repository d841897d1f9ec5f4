package partition

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

// Handler is the partitions Lambda: it turns S3 object events into
// registered partitions.
type Handler struct {
	tables []Table
	reg    *Registrar
	log    *slog.Logger
}

// NewHandler returns a Handler for the given tables (normalized, as
// Config.Tables are) registering through reg and logging to log.
func NewHandler(tables []Table, reg *Registrar, log *slog.Logger) *Handler {
	return &Handler{tables: tables, reg: reg, log: log}
}

// message is one unit that succeeds or fails as a whole: an SQS message, or
// the whole event when it came straight from S3 or EventBridge.
type message struct {
	id  string
	err error // first failure
}

func (m *message) fail(err error) {
	if m.err == nil {
		m.err = err
	}
}

// pending collects, per table, the partitions of a batch and the messages
// that announced each.
type pending struct {
	order []Partition
	from  map[Partition][]int
}

// Handle processes one invocation. For an SQS event it returns the
// messages that failed as batch item failures and never fails the whole
// batch: an unparsable body fails its own message (SQS then moves it to the
// dead-letter queue), so does a data key that breaks its table's layout
// (ErrBadKey: an operator must look, retrying cannot help), and a partition
// that could not be registered fails exactly the messages that announced it.
// Keys of no configured table and keys that are not data are skipped with a
// debug log. For a direct S3 or EventBridge event
// it returns an error (of a pkg/fault type) if anything failed, so Lambda's
// asynchronous retries take over; the function's edge logs it (package
// wiring).
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (events.SQSEventResponse, error) {
	// One decode serves both shapes: SQS messages carry messageId and body;
	// a direct S3 event's records are re-read by ParseObjects.
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
			MessageID   string `json:"messageId"`
			Body        string `json:"body"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return events.SQSEventResponse{}, fault.InvalidErr(fmt.Errorf("partitions event: %w: %v", ErrBadEvent, err))
	}
	if len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
		ids := make([]string, len(probe.Records))
		bodies := make([][]byte, len(probe.Records))
		for i, r := range probe.Records {
			ids[i], bodies[i] = r.MessageID, []byte(r.Body)
		}
		return h.handleMessages(ctx, ids, bodies), nil
	}
	msgs := []message{{id: "event"}}
	h.process(ctx, msgs, [][]byte{payload})
	if err := msgs[0].err; err != nil {
		return events.SQSEventResponse{}, fault.Edge(err)
	}
	return events.SQSEventResponse{}, nil
}

// HandleSQS processes an SQS event already decoded, with the partial batch
// response Handle gives for one: the signature of an SQS event-source
// mapping's handler, which the local simulator's poller calls.
func (h *Handler) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	ids := make([]string, len(ev.Records))
	bodies := make([][]byte, len(ev.Records))
	for i, r := range ev.Records {
		ids[i], bodies[i] = r.MessageId, []byte(r.Body)
	}
	return h.handleMessages(ctx, ids, bodies), nil
}

// handleMessages processes SQS messages and reports the failed ones.
func (h *Handler) handleMessages(ctx context.Context, ids []string, bodies [][]byte) events.SQSEventResponse {
	msgs := make([]message, len(ids))
	for i, id := range ids {
		msgs[i].id = id
	}
	h.process(ctx, msgs, bodies)
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, m := range msgs {
		if m.err != nil {
			h.log.ErrorContext(ctx, "message failed", "messageId", m.id, "error", m.err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.id})
		}
	}
	return resp
}

// process parses every body, registers the partitions they name and records
// each message's first failure in msgs.
func (h *Handler) process(ctx context.Context, msgs []message, bodies [][]byte) {
	byTable := make(map[string]*pending)
	var objects, skipped int
	for i, body := range bodies {
		objs, err := ParseObjects(body)
		if err != nil {
			msgs[i].fail(fault.InvalidErr(fmt.Errorf("message %s: %w", msgs[i].id, err)))
			continue
		}
		for _, o := range objs {
			objects++
			t, ok := h.table(o)
			if !ok {
				skipped++
				h.log.DebugContext(ctx, "skip object", "bucket", o.Bucket, "key", o.Key, "reason", "no table for this bucket and prefix")
				continue
			}
			p, ok, err := ParseKey(t, o.Key)
			if err != nil {
				msgs[i].fail(fault.InvalidErr(fmt.Errorf("message %s: table %s: %w", msgs[i].id, t.Name, err)))
				continue
			}
			if !ok {
				skipped++
				h.log.DebugContext(ctx, "skip object", "bucket", o.Bucket, "key", o.Key, "reason", "not a data object")
				continue
			}
			pd := byTable[t.Name]
			if pd == nil {
				pd = &pending{from: make(map[Partition][]int)}
				byTable[t.Name] = pd
			}
			if _, seen := pd.from[p]; !seen {
				pd.order = append(pd.order, p)
			}
			pd.from[p] = append(pd.from[p], i)
		}
	}
	var partitions, failedPartitions, created, calls int
	for _, t := range h.tables {
		pd := byTable[t.Name]
		if pd == nil {
			continue
		}
		partitions += len(pd.order)
		st, err := h.reg.Register(ctx, t, pd.order)
		created += st.Created
		calls += st.Calls
		if err == nil {
			continue
		}
		var re *RegisterError
		if !errors.As(err, &re) {
			for _, idx := range pd.from {
				for _, i := range idx {
					msgs[i].fail(err)
				}
			}
			failedPartitions += len(pd.order)
			continue
		}
		for p, perr := range re.Failed {
			failedPartitions++
			for _, i := range pd.from[p] {
				msgs[i].fail(perr)
			}
		}
	}
	failed := 0
	for _, m := range msgs {
		if m.err != nil {
			failed++
		}
	}
	h.log.InfoContext(ctx, "partitions batch", "messages", len(msgs), "objects", objects, "skipped", skipped,
		"partitions", partitions, "created", created, "glueCalls", calls, "failedPartitions", failedPartitions, "failedMessages", failed)
}

// table returns the configured table whose bucket holds o under the
// longest matching prefix.
func (h *Handler) table(o Object) (Table, bool) {
	best, found := Table{}, false
	for _, t := range h.tables {
		if t.Bucket == o.Bucket && strings.HasPrefix(o.Key, t.Prefix) && (!found || len(t.Prefix) > len(best.Prefix)) {
			best, found = t, true
		}
	}
	return best, found
}
