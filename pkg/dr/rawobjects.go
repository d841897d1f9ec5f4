package dr

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/partition"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

// rawObjectCounts are the counts of the listed keys a pass did not read:
// a pass's totals carry them (MergeTotals, ReplayTotals).
type rawObjectCounts struct {
	skipped, badObjects *int64
	badKeys             *[]string
}

// bad counts key as an object that is not a Firehose file.
func (c rawObjectCounts) bad(key string) {
	*c.badObjects++
	if len(*c.badKeys) < MaxBadKeys {
		*c.badKeys = append(*c.badKeys, key)
	}
}

// headRawObject heads a listed key of bucket, a raw bucket of table's
// layout. It returns nil, having counted why, for a key under dt= but not
// in the layout (not Firehose's: bad), a folder marker or temporary file
// (no records: skipped) and an object deleted since the listing (nothing
// to read: skipped).
func headRawObject(ctx context.Context, src ObjectSource, table partition.Table, bucket, key string, c rawObjectCounts) (*s3.HeadObjectOutput, error) {
	if _, ok, err := partition.ParseKey(table, key); err != nil {
		c.bad(key)
		return nil, nil
	} else if !ok {
		*c.skipped++
		return nil, nil
	}
	head, err := src.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nf *s3types.NotFound
	if errors.As(err, &nf) {
		*c.skipped++
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("head s3://%s/%s: %w", bucket, key, err)
	}
	return head, nil
}

// rawRecords is what one raw object holds for the aggregates: the entries
// of its records (canaries and bad lines aside, counted), and the newest
// time ingest received one of them.
type rawRecords struct {
	entries              []aggregate.Entry
	newest               time.Time
	badRecords, canaries int64
}

// readRawObject reads a raw object of bucket as Firehose writes it (NDJSON
// records, gzip-compressed or not) into the entries the aggregate consumer
// would apply: aggregate.EntryOf each record, and for a record with
// neither ts nor received (not written by ingest) the window of the
// object's modified time, the nearest left to the stream arrival the
// consumer would use. ok is false for an object that is not such a file
// (a body that does not decompress, a line over 4 MiB): the caller counts
// it, it holds no record ingest wrote.
func readRawObject(ctx context.Context, src ObjectSource, bucket, key string, modified time.Time) (r rawRecords, ok bool, err error) {
	obj, err := src.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return rawRecords{}, false, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	body, err := readBody(obj.Body, aws.ToInt64(obj.ContentLength))
	obj.Body.Close()
	if err != nil {
		return rawRecords{}, false, transientf("read s3://%s/%s: %v", bucket, key, err)
	}
	// Whole in memory, a body that does not decompress is the object's
	// fault, not the network's.
	if bytes.HasPrefix(body, gzipMagic) {
		if body, err = gunzip(body); err != nil {
			return rawRecords{}, false, nil
		}
	}
	// One entry a line, at most: the entries are made at once.
	r.entries = make([]aggregate.Entry, 0, bytes.Count(body, []byte{'\n'})+1)
	for rest := body; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if len(line) > maxRawLine {
			return rawRecords{}, false, nil // no record ingest writes
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		rec, err := record.Decode(line)
		switch {
		case err != nil, rec.ID == "", len(rec.ID) > record.MaxIDBytes:
			r.badRecords++
			continue
		case rec.Canary:
			r.canaries++
			continue
		}
		e := aggregate.EntryOf(rec)
		if rec.TS.IsZero() && rec.Received.IsZero() {
			e.Window = modified.UTC().Truncate(time.Minute)
		}
		r.entries = append(r.entries, e)
		if rec.Received.After(r.newest) {
			r.newest = rec.Received
		}
	}
	return r, true, nil
}

// rawListStart is the key a listing of a raw bucket starts after to find
// every object written since from: the hour folder lookback before from,
// as keys sort by their dt=/hr= prefix and Firehose names an object by the
// arrival of its oldest record (docs/aws-facts.md "Amazon Data Firehose").
func rawListStart(from time.Time, lookback time.Duration) string {
	l := from.Add(-lookback).UTC()
	return partition.Partition{DT: l.Format("2006-01-02"), HR: l.Format("15")}.String()
}

// maxRawLine is the longest line readRawObject takes for a record's: 4 MiB,
// far beyond any record ingest accepts.
const maxRawLine = 4 << 20

// maxRawObject bounds the buffer readBody makes from a Content-Length:
// 128 MiB, the largest object Firehose writes (its buffer size is at most
// 128 MiB).
const maxRawObject = 128 << 20

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// gzipReaders are reused: a gzip reader allocates some 40 KB of
// decompressor state, more than a raw object's records, and a batch reads
// a thousand objects.
var gzipReaders sync.Pool

// gunzip decompresses a whole gzip body.
// readBody reads an object's body of length n (its Content-Length; 0 or
// less when unknown): when n is known, into one buffer of n bytes and one
// more, so the read that finds the end needs no larger one.
func readBody(body io.Reader, n int64) ([]byte, error) {
	if n <= 0 || n > maxRawObject {
		return io.ReadAll(body)
	}
	buf := make([]byte, 0, n+1)
	for {
		if len(buf) == cap(buf) { // longer than its length: read it all the same
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func gunzip(body []byte) ([]byte, error) {
	var zr *gzip.Reader
	var err error
	if v := gzipReaders.Get(); v != nil {
		zr = v.(*gzip.Reader)
		err = zr.Reset(bytes.NewReader(body))
	} else {
		zr, err = gzip.NewReader(bytes.NewReader(body))
	}
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, 4*len(body)))
	_, err = io.Copy(out, zr)
	gzipReaders.Put(zr)
	return out.Bytes(), err
}
