package aggregate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

// Handler is the aggregate Lambda, fed by a Kinesis event-source mapping
// with ReportBatchItemFailures.
type Handler struct {
	agg     *Aggregator
	log     *slog.Logger
	beats   HeartbeatDB // nil: canaries are only skipped (WithHeartbeat)
	metrics io.Writer   // nil: no metrics (WithMetrics)
}

// WithMetrics makes h write one CloudWatch Embedded Metric Format line to w
// (stdout in the Lambda) for each batch holding conflicts: MetricConflicts
// in MetricNamespace, by region.
func (h *Handler) WithMetrics(w io.Writer) *Handler {
	h.metrics = w
	return h
}

// The consumer's metric of records not counted because their id was
// counted with other content (Outcome Conflict).
const (
	MetricNamespace = "Pendulum/Aggregate"
	MetricConflicts = "RecordConflicts"
)

// NewHandler returns a Handler applying records through agg.
func NewHandler(agg *Aggregator, log *slog.Logger) *Handler {
	return &Handler{agg: agg, log: log}
}

// Handle applies a batch of stream records. Each record's data is
// json(record.Record) followed by a newline.
//
// Canary records are not counted. With WithHeartbeat, the newest canary of
// the batch that the consumer got past — every record before it in the
// batch applied, dropped as a duplicate or skipped as invalid — raises the
// table's heartbeat (heartbeat.go); a canary after the record the batch
// stopped at is left for the retry, which reaches it once that record is
// applied. A heartbeat that cannot be written is logged and does not fail
// the batch: the records are counted, and the next canary writes it again.
//
// A record that cannot be decoded, or whose id
// is empty or longer than record.MaxIDBytes, can never be counted: retrying
// it would only stall the shard, so it is skipped and logged at error level
// with its sequence number (the raw bucket keeps it, through Firehose). So is
// a record DynamoDB rejects as invalid (fault.Invalid): every retry would be
// rejected too, and once the mapping's retries ran out every record after it
// would be dropped from the aggregates. When a record cannot be applied for
// any other reason, the response names it as the batch item failure and no
// later record is attempted: Lambda then retries from that record, and
// records after it that were already applied are dropped by their markers.
func (h *Handler) Handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
	entries := make([]Entry, 0, len(ev.Records))
	from := make([]int, 0, len(ev.Records)) // entry → index in ev.Records
	var canaries, bad int
	type canary struct {
		at int // index in ev.Records
		hb Heartbeat
	}
	var seen []canary
	for i, r := range ev.Records {
		rec, err := record.Decode(r.Kinesis.Data)
		switch {
		case err != nil:
		case rec.ID == "":
			err = ErrNoID
		case len(rec.ID) > record.MaxIDBytes:
			err = fmt.Errorf("id of %d bytes: %w", len(rec.ID), ErrLongID)
		}
		if err != nil {
			bad++
			h.log.ErrorContext(ctx, "skip undecodable record", "sequenceNumber", r.Kinesis.SequenceNumber,
				"eventSourceArn", r.EventSourceArn, "partitionKey", r.Kinesis.PartitionKey, "error", err)
			continue
		}
		if rec.Canary {
			canaries++
			received := rec.Received
			if received.IsZero() {
				received = r.Kinesis.ApproximateArrivalTimestamp.UTC()
			}
			seen = append(seen, canary{at: i, hb: Heartbeat{ID: rec.ID, Received: received, Region: rec.Region}})
			continue
		}
		e := EntryOf(rec)
		if rec.TS.IsZero() && rec.Received.IsZero() {
			// Not written by ingest, which always sets both; the stream's
			// arrival time is the best event time left.
			e.Window = r.Kinesis.ApproximateArrivalTimestamp.UTC().Truncate(time.Minute)
		}
		entries = append(entries, e)
		from = append(from, i)
	}
	results := h.agg.applyAll(ctx, entries, true)
	var counted, dups, invalid, conflicts int
	var firstErr error
	stoppedAt := len(ev.Records) // index in ev.Records of the record to retry from
	for i, res := range results {
		r := ev.Records[from[i]]
		switch {
		case res.Outcome == Counted:
			counted++
		case res.Outcome == Duplicate:
			dups++
		case res.Outcome == Conflict:
			// Not counted, and not silently: a conflict item records it.
			conflicts++
			h.log.ErrorContext(ctx, "record not counted: its id was counted with other content", "id", entries[i].ID,
				"sequenceNumber", r.Kinesis.SequenceNumber, "eventSourceArn", r.EventSourceArn, "hash", entries[i].Hash, "countedHash", res.Kept,
				"conflictItem", ConflictPrefix+entries[i].ID)
		case fault.Classify(res.Err) == fault.Invalid:
			invalid++
			h.log.ErrorContext(ctx, "skip invalid record", "sequenceNumber", r.Kinesis.SequenceNumber,
				"eventSourceArn", r.EventSourceArn, "partitionKey", r.Kinesis.PartitionKey, "id", entries[i].ID, "error", res.Err)
		case firstErr == nil:
			firstErr = res.Err
			stoppedAt = from[i]
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
		}
	}
	attrs := []any{"records", len(ev.Records), "counted", counted, "duplicates", dups, "conflicts", conflicts, "canaries", canaries, "undecodable", bad, "invalid", invalid}
	if conflicts > 0 && h.metrics != nil {
		fmt.Fprintf(h.metrics, `{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":%q,"Dimensions":[["Region"]],"Metrics":[{"Name":%q,"Unit":"Count"}]}]},"Region":%q,%q:%d}`+"\n",
			h.agg.opt.Clock.Now().UnixMilli(), MetricNamespace, MetricConflicts, h.agg.opt.Region, MetricConflicts, conflicts)
	}
	if h.beats != nil {
		var newest *Heartbeat
		for k := range seen {
			if c := &seen[k]; c.at < stoppedAt && (newest == nil || c.hb.Received.After(newest.Received)) {
				newest = &c.hb
			}
		}
		if newest != nil {
			newest.At = h.agg.opt.Clock.Now()
			if moved, err := h.beat(ctx, *newest); err != nil {
				h.log.WarnContext(ctx, "canary heartbeat not recorded", "id", newest.ID, "error", err)
			} else if moved {
				attrs = append(attrs, "heartbeat", newest.ID)
			}
		}
	}
	if firstErr != nil {
		h.log.ErrorContext(ctx, "aggregate batch failed", append(attrs, "failedSequenceNumber", resp.BatchItemFailures[0].ItemIdentifier, "error", firstErr)...)
	} else {
		h.log.InfoContext(ctx, "aggregate batch", attrs...)
	}
	return resp, nil
}

// The variables Config is read from.
const (
	// EnvTableName names the variable holding the aggregates DynamoDB
	// table (Config.Table); infra sets it on the aggregate function.
	EnvTableName = "TABLE_NAME"
	// EnvMarkerTTLDays names the optional variable holding how many days
	// markers are kept (Config.MarkerTTL; DefaultMarkerTTL when unset).
	EnvMarkerTTLDays = "MARKER_TTL_DAYS"
)

// Config is the aggregate function's configuration, read from the
// environment at start.
type Config struct {
	// Table is the aggregates table (TABLE_NAME).
	Table string
	// Region is the AWS region (AWS_REGION).
	Region string
	// MarkerTTL is how long markers are kept (MARKER_TTL_DAYS, default 7).
	MarkerTTL time.Duration
}

// ConfigFromEnv reads and validates the configuration through getenv
// (os.Getenv in the function). Errors name the variable at fault.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{Table: getenv(EnvTableName), Region: getenv("AWS_REGION")}
	var errs []error
	if c.Table == "" {
		errs = append(errs, errors.New(EnvTableName+" is required: the aggregates DynamoDB table"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("AWS_REGION is required"))
	}
	ttl, err := MarkerTTLFromEnv(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	c.MarkerTTL = ttl
	return c, errors.Join(errs...)
}

// MarkerTTLFromEnv reads how long markers are kept from EnvMarkerTTLDays
// through getenv: DefaultMarkerTTL when it is unset. Ingest keeps the ids
// it accepted (its idempotency table) for the same time, from the same
// variable, so that an id is refused other content for as long as a marker
// would drop it.
func MarkerTTLFromEnv(getenv func(string) string) (time.Duration, error) {
	s := getenv(EnvMarkerTTLDays)
	if s == "" {
		return DefaultMarkerTTL, nil
	}
	days, err := strconv.Atoi(s)
	if err != nil || days < 1 || days > 365 {
		return DefaultMarkerTTL, fmt.Errorf(EnvMarkerTTLDays+" %q: want whole days from 1 to 365, more than the stream retention and the longest failover", s)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}
