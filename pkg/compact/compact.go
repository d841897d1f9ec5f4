// Package compact turns one hour of raw records into one curated Parquet file.
//
// The raw bucket holds what Firehose writes: gzip-compressed NDJSON objects,
// one record.Record per line, under dt=YYYY-MM-DD/hr=HH/. The curated bucket
// gets exactly one file per hour, under the deterministic key
// dt=YYYY-MM-DD/hr=HH/part-00000.parquet, so a re-run overwrites rather than
// adds, and a re-run over the same input writes byte-identical output.
//
// Duplicates (the same record id delivered more than once: producer retries,
// Kinesis and Firehose redelivery, failback copies) are dropped, and so are
// canary records, which travel the pipeline but never reach analytics.
//
// Memory stays bounded however large the hour: records are hash-partitioned by
// id into spill files in a temporary directory (same id, same spill file), and
// each spill file is then deduplicated and sorted in memory on its own and
// streamed to the Parquet writer. The spill file count grows with the hour's
// size, so each stays near spillTarget bytes and peak heap does not depend on
// the hour's size. Local disk needed is about the hour's uncompressed size
// plus the Parquet file: size the Lambda's ephemeral storage for it.
//
// # Parquet schema
//
//	id        BYTE_ARRAY (STRING)                      the record id
//	ts        INT64 (TIMESTAMP(MILLIS, UTC))           event time
//	received  INT64 (TIMESTAMP(MILLIS, UTC))           when ingest accepted it
//	region    BYTE_ARRAY (STRING), dictionary-encoded  the region whose ingest accepted it
//	producer  BYTE_ARRAY (STRING), dictionary-encoded  the sender, "" when unknown
//	data      BYTE_ARRAY (STRING)                      the producer's JSON object, verbatim
//
// Rows are ordered by hash(id) spill file, then by id: deterministic, not
// globally sorted. Snappy compression; row groups of at most RowGroupRows rows.
//
// An hour with no rows (no objects, only marker files, only canaries) writes
// no file and reports rows 0 and key "": an empty Parquet file would only
// add a partition with nothing in it.
//
// The compactor runs on one goroutine: the work is deterministic by
// construction, and the same code runs inside the local drill, whose virtual
// clock must see every goroutine it waits for.
package compact

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/compact/plan"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

// ObjectLister lists a bucket's keys, as *s3.Client does.
type ObjectLister interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// ObjectGetter reads an object, as *s3.Client does. A missing key is
// reported as the SDK reports it (NoSuchKey).
type ObjectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// ObjectPutter writes an object, as *s3.Client does. PutObject replaces any
// object under the same key, which is what makes a re-run overwrite.
type ObjectPutter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// RawReader is what the compactor needs from the raw bucket.
type RawReader interface {
	ObjectLister
	ObjectGetter
}

// RowGroupRows caps the rows per Parquet row group: the writer holds one row
// group in memory, so this bounds its share of the heap.
const RowGroupRows = 100_000

// maxLineBytes bounds one NDJSON line: a record is at most
// record.MaxRecordBytes once encoded by ingest, plus its envelope. A longer
// line is corrupt, not a record.
const maxLineBytes = 2*record.MaxRecordBytes + 4096

// ErrCorrupt is in the chain of every error about unreadable raw data (a line
// that is not a record, a broken gzip stream). Such an error fails the hour:
// see Compactor.Compact.
var ErrCorrupt = errors.New("corrupt raw data")

// Input names the hour partition to compact: a plan.Partition, as the
// nightly batch's Map hands it over.
type Input = plan.Partition

// TableRaw is the only table the compactor knows.
const TableRaw = plan.TableRaw

// Key returns the curated object key of a partition's one Parquet file. It
// depends on the partition alone, so a re-run overwrites.
func Key(in Input) string { return in.Prefix() + "part-00000.parquet" }

// Result reports what a compaction did. Every field is always present, so a
// state machine can select any of them.
type Result struct {
	Table string `json:"table"`
	DT    string `json:"dt"`
	HR    string `json:"hr"`
	// Objects is the number of raw objects read.
	Objects int `json:"objects"`
	// Records is the number of records read, canaries and duplicates included.
	Records int64 `json:"records"`
	// Duplicates is the number of records dropped because their id was seen.
	Duplicates int64 `json:"duplicates"`
	// Canaries is the number of canary records dropped.
	Canaries int64 `json:"canaries"`
	// Rows is the number of rows written: Records - Duplicates - Canaries.
	Rows int64 `json:"rows"`
	// Key is the curated object written, "" when the hour had no rows (then
	// no file is written).
	Key string `json:"key"`
	// Bytes is the size of the Parquet file written.
	Bytes int64 `json:"bytes"`
}

// Compactor compacts hour partitions from the raw to the curated bucket.
type Compactor struct {
	Raw           RawReader
	Curated       ObjectPutter
	RawBucket     string
	CuratedBucket string
	// TempDir holds the spill files and the Parquet file while they are
	// written; "" means os.TempDir() (/tmp on Lambda).
	TempDir string
}

// Compact compacts one hour partition and writes its Parquet file.
//
// A corrupt line fails the hour (an InvalidInputError naming the object and
// line, with ErrCorrupt in its chain) rather than being skipped: raw is the
// only copy of the data, ingest validated every record, so a line that does
// not decode means damage or a bug upstream. Skipping it would publish a
// curated hour silently short of rows; failing it leaves the curated hour as it
// was, names the damage, and the nightly batch reports the hour as failed
// while the others go on. A re-run after repair is idempotent.
func (c *Compactor) Compact(ctx context.Context, in Input) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Table: in.Table, DT: in.DT, HR: in.HR}

	objects, total, err := c.list(ctx, in.Prefix())
	if err != nil {
		return res, err
	}
	res.Objects = len(objects)
	if len(objects) == 0 {
		return res, nil
	}

	dir, err := os.MkdirTemp(c.TempDir, "compact-")
	if err != nil {
		return res, fmt.Errorf("create spill directory: %w", err)
	}
	defer os.RemoveAll(dir)

	sp, err := newSpiller(dir, bucketsFor(total))
	if err != nil {
		return res, err
	}
	defer sp.close()
	var rd objectReaders
	for _, key := range objects {
		if err := c.readObject(ctx, key, sp, &res, &rd); err != nil {
			return res, err
		}
	}
	if err := sp.finish(); err != nil {
		return res, err
	}
	if res.Records == res.Canaries {
		return res, nil
	}

	out, err := os.Create(path.Join(dir, "part.parquet"))
	if err != nil {
		return res, fmt.Errorf("create parquet file: %w", err)
	}
	defer out.Close()
	rows, dups, err := writeParquet(ctx, out, sp)
	if err != nil {
		return res, err
	}
	res.Rows, res.Duplicates = rows, dups
	if rows == 0 {
		return res, nil
	}
	size, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return res, fmt.Errorf("size parquet file: %w", err)
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return res, fmt.Errorf("rewind parquet file: %w", err)
	}
	// One PutObject of a seekable file: the SDK streams it from disk (and
	// can compute its checksum by seeking), the file is far below
	// PutObject's 5 GiB limit, and there is no multipart upload to abort
	// when a run dies half-way.
	key := Key(in)
	if _, err := c.Curated.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(c.CuratedBucket),
		Key:           aws.String(key),
		Body:          out,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("application/vnd.apache.parquet"),
	}); err != nil {
		return res, fmt.Errorf("put s3://%s/%s: %w", c.CuratedBucket, key, err)
	}
	res.Key, res.Bytes = key, size
	return res, nil
}

// list returns the data keys under prefix, in key order, and their total
// size. Folder markers and Hadoop-style marker files (_SUCCESS, .tmp…) are
// not data.
func (c *Compactor) list(ctx context.Context, prefix string) ([]string, int64, error) {
	var keys []string
	var total int64
	p := s3.NewListObjectsV2Paginator(c.Raw, &s3.ListObjectsV2Input{
		Bucket: aws.String(c.RawBucket),
		Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("list s3://%s/%s: %w", c.RawBucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if !isData(key) {
				continue
			}
			keys = append(keys, key)
			total += aws.ToInt64(o.Size)
		}
	}
	return keys, total, nil
}

func isData(key string) bool {
	if key == "" || strings.HasSuffix(key, "/") {
		return false
	}
	base := path.Base(key)
	return !strings.HasPrefix(base, "_") && !strings.HasPrefix(base, ".")
}

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// objectReaders are the buffers and decompressor readObject reads through,
// reused from one object to the next of a run: an hour holds thousands of
// small objects, and fresh 64 KiB buffers and a gzip reader's state for
// each would be most of what the compaction allocates.
type objectReaders struct {
	br *bufio.Reader
	zr *gzip.Reader
	lr *lineReader
}

// open returns the line reader of body, decompressed when it starts with
// the gzip magic.
func (o *objectReaders) open(body io.Reader) (*lineReader, error) {
	if o.br == nil {
		o.br = bufio.NewReaderSize(body, 64<<10)
	} else {
		o.br.Reset(body)
	}
	var r io.Reader = o.br
	if magic, _ := o.br.Peek(2); bytes.Equal(magic, gzipMagic) {
		var err error
		if o.zr == nil {
			o.zr, err = gzip.NewReader(o.br)
		} else {
			err = o.zr.Reset(o.br)
		}
		if err != nil {
			o.zr = nil
			return nil, err
		}
		r = o.zr
	}
	if o.lr == nil {
		o.lr = newLineReader(r)
	} else {
		o.lr.reset(r)
	}
	return o.lr, nil
}

// readObject streams one raw object into the spiller.
func (c *Compactor) readObject(ctx context.Context, key string, sp *spiller, res *Result, rd *objectReaders) error {
	obj, err := c.Raw.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.RawBucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", c.RawBucket, key, err)
	}
	defer obj.Body.Close()
	lr, err := rd.open(obj.Body)
	if err != nil {
		return fault.InvalidErr(fmt.Errorf("s3://%s/%s: gzip header: %w: %w", c.RawBucket, key, ErrCorrupt, err))
	}
	var (
		l    line
		slow record.Record
	)
	for n := 1; ; n++ {
		text, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) || isCorruptStream(err) {
				return fault.InvalidErr(fmt.Errorf("s3://%s/%s line %d: %w: %w", c.RawBucket, key, n, ErrCorrupt, err))
			}
			return fmt.Errorf("read s3://%s/%s line %d: %w", c.RawBucket, key, n, err)
		}
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("read s3://%s/%s: %w", c.RawBucket, key, err)
			}
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if err := decodeLine(text, &l, &slow); err != nil {
			return fault.InvalidErr(fmt.Errorf("s3://%s/%s line %d: %w: %w", c.RawBucket, key, n, ErrCorrupt, err))
		}
		if err := checkLine(&l); err != nil {
			return fault.InvalidErr(fmt.Errorf("s3://%s/%s line %d: %w: %w", c.RawBucket, key, n, ErrCorrupt, err))
		}
		res.Records++
		if l.canary {
			res.Canaries++
			continue
		}
		if err := sp.add(&l); err != nil {
			return err
		}
	}
}

// checkLine rejects a line that decoded as JSON but is no record.
func checkLine(l *line) error {
	switch {
	case len(l.id) == 0:
		return errors.New("record has no id")
	case len(l.id) > record.MaxIDBytes:
		return fmt.Errorf("record id is %d bytes, more than %d", len(l.id), record.MaxIDBytes)
	case len(l.data) == 0 || l.data[0] != '{':
		return errors.New("record data is not a JSON object")
	}
	return nil
}

// isCorruptStream reports whether a read error means the object's bytes are
// damaged (truncated or invalid gzip), as opposed to a failed transfer.
func isCorruptStream(err error) bool {
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.Is(err, io.ErrUnexpectedEOF) || isFlateError(err)
}

func isFlateError(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce)
}
