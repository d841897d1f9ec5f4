// Package record defines a producer record as it travels past ingest: as the
// data of a Kinesis record, as one line of the gzip NDJSON objects Firehose
// writes to the raw bucket, and as the source of a curated Parquet row.
//
// Every stage downstream of ingest is idempotent on ID: retries, replays and
// failback copies never double-count.
package record

import (
	"encoding/json"
	"time"
)

// Record is one accepted producer record.
type Record struct {
	// ID is the producer's id, or one derived deterministically from the
	// record's bytes when the producer sent none. At most MaxIDBytes.
	ID string `json:"id"`
	// TS is the event time: the producer's ts (RFC 3339 or epoch millis) or,
	// when absent, the arrival time. UTC.
	TS time.Time `json:"ts"`
	// Received is when ingest accepted the record. UTC.
	Received time.Time `json:"received"`
	// Region is the AWS region whose ingest accepted the record.
	Region string `json:"region"`
	// Producer identifies the sender: the record's "producer" field, else the
	// request's X-Pendulum-Producer header, else empty.
	Producer string `json:"producer,omitempty"`
	// Canary marks health-canary records (a record sent with "canary": true):
	// they travel the whole pipeline but never reach analytics results.
	Canary bool `json:"canary,omitempty"`
	// Data is the record exactly as the producer sent it: a JSON object.
	Data json.RawMessage `json:"data"`
}

// Limits on producer input, enforced by ingest.
const (
	MaxIDBytes     = 128      // an id longer than this is rejected
	MaxRecordBytes = 64 << 10 // a record larger than this once encoded is rejected
)
