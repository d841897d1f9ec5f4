package sim

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	firehosetypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// firehoseObjectWriter is the S3 call Firehose makes to deliver; the
// region's S3 simulator satisfies it, as would the SDK client.
type firehoseObjectWriter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ firehoseObjectWriter = (*S3)(nil)

// Firehose is one region's simulated Amazon Data Firehose: delivery streams
// with a Kinesis stream or Direct PUT source and an extended S3 destination.
// Records are buffered until the buffering hints' size or interval is
// reached (docs/aws-facts.md "Amazon Data Firehose": interval 0–900 s), then written as one object whose
// key prefix expands !{timestamp:…} on the approximate arrival time of the
// oldest record in it, as Firehose does, optionally GZIP-compressed. A
// failed delivery is retried every 5 s for up to 24 h, as Firehose retries
// an S3 destination.
//
// Work happens on timers of the world's clock only while there is data to
// read or deliver, so an idle world leaves the clock still.
type Firehose struct {
	r *Region

	mu      sync.Mutex
	streams map[string]*firehoseStream
}

type firehoseStream struct {
	name, arn   string
	created     time.Time
	source      firehosetypes.DeliveryStreamType
	kinesisName string // Kinesis source stream, in this region
	sourceRole  string // role that reads the Kinesis source
	destRole    string // role that writes the S3 destination
	bucket      string
	prefix      []firehosePrefixPart
	gzip        bool
	delimiter   bool // AppendDelimiterToRecord processor
	sizeBytes   int
	interval    time.Duration
	deleted     bool

	buf      []firehoseRecord
	bufBytes int
	stopTick func() bool // the pending interval flush, nil if none

	reading bool // a Kinesis read is scheduled or running
	// running is set while the read runs (not while it is scheduled);
	// again when records are written meanwhile: the read may have passed
	// them, so another is scheduled when it ends.
	running, again bool
	checkpoints    map[string]string // shard id -> last sequence number read
	unsubscribe    func()

	objects, records int // delivered
	seq              int // objects named so far
	pending          int // objects awaiting a retried delivery
	dropped          int // objects given up on after 24 h of failed delivery
	droppedRecords   int // records in them
}

type firehoseRecord struct {
	data    []byte
	arrival time.Time
}

// firehosePrefixPart is a literal or a timestamp format (Go layout).
type firehosePrefixPart struct {
	literal string
	layout  string
}

// Firehose defaults and limits from the Firehose developer guide.
const (
	firehoseDefaultSizeMiB  = 5
	firehoseDefaultInterval = 300 * time.Second
	firehoseMaxBatch        = 500
	firehoseMaxRecord       = 1000 << 10
	firehoseMaxBatchBytes   = 4 << 20
	firehoseRetryEvery      = 5 * time.Second
	firehoseRetryFor        = 24 * time.Hour
	firehoseReadDelay       = time.Second // Firehose reads each shard about once a second
)

// Firehose returns the region's Firehose.
func (r *Region) Firehose() *Firehose {
	return r.service(firehose.ServiceID, func() any { return &Firehose{r: r, streams: make(map[string]*firehoseStream)} }).(*Firehose)
}

func firehoseInvalid(format string, args ...any) error {
	return &firehosetypes.InvalidArgumentException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func firehoseNotFound(name string, account string) error {
	return &firehosetypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Firehose %s under account %s not found.", name, account))}
}

// firehoseParsePrefix parses an S3 prefix with Firehose expressions. It
// supports the !{timestamp:<pattern>} namespace, the pattern in Java
// DateTimeFormatter letters (yyyy, yy, MM, dd, HH, mm, ss; 'quoted' text).
// It reports whether the prefix uses expressions.
func firehoseParsePrefix(prefix string) (parts []firehosePrefixPart, expressions bool, err error) {
	for prefix != "" {
		i := strings.Index(prefix, "!{")
		if i < 0 {
			parts = append(parts, firehosePrefixPart{literal: prefix})
			break
		}
		if i > 0 {
			parts = append(parts, firehosePrefixPart{literal: prefix[:i]})
		}
		j := strings.IndexByte(prefix[i:], '}')
		if j < 0 {
			return nil, false, fmt.Errorf("unterminated expression in prefix at offset %d", i)
		}
		expr := prefix[i+2 : i+j]
		ns, arg, ok := strings.Cut(expr, ":")
		if !ok || ns != "timestamp" {
			return nil, false, fmt.Errorf("unsupported expression !{%s}: only !{timestamp:…} without dynamic partitioning", expr)
		}
		layout, err := firehoseLayout(arg)
		if err != nil {
			return nil, false, err
		}
		parts = append(parts, firehosePrefixPart{layout: layout})
		expressions = true
		prefix = prefix[i+j+1:]
	}
	return parts, expressions, nil
}

// firehoseLayout turns a DateTimeFormatter pattern into a Go time layout.
func firehoseLayout(pattern string) (string, error) {
	if pattern == "" {
		return "", errors.New("empty timestamp pattern")
	}
	var b strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		j := i
		for j < len(pattern) && pattern[j] == c {
			j++
		}
		run := pattern[i:j]
		switch {
		case c == '\'':
			end := strings.IndexByte(pattern[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated quote in timestamp pattern %q", pattern)
			}
			b.WriteString(pattern[i+1 : i+1+end])
			j = i + end + 2
		case run == "yyyy" || run == "uuuu":
			b.WriteString("2006")
		case run == "yy" || run == "uu":
			b.WriteString("06")
		case run == "MM":
			b.WriteString("01")
		case run == "dd":
			b.WriteString("02")
		case run == "HH":
			b.WriteString("15")
		case run == "mm":
			b.WriteString("04")
		case run == "ss":
			b.WriteString("05")
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			return "", fmt.Errorf("unsupported timestamp pattern letters %q in %q", run, pattern)
		default:
			// Go layouts treat digits as fields; none of the literal characters
			// a prefix uses (- / _ = .) are.
			if strings.ContainsAny(run, "0123456789") {
				return "", fmt.Errorf("digits are not allowed unquoted in timestamp pattern %q", pattern)
			}
			b.WriteString(run)
		}
		i = j
	}
	return b.String(), nil
}

func firehoseExpand(parts []firehosePrefixPart, t time.Time) string {
	var b strings.Builder
	for _, p := range parts {
		if p.layout != "" {
			b.WriteString(t.UTC().Format(p.layout))
		} else {
			b.WriteString(p.literal)
		}
	}
	return b.String()
}

// CreateDeliveryStream creates a delivery stream (ACTIVE at once). A Kinesis
// source is read from the moment of creation, as Firehose starts at LATEST.
func (f *Firehose) CreateDeliveryStream(ctx context.Context, in *firehose.CreateDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.CreateDeliveryStreamOutput, error) {
	const op = "CreateDeliveryStream"
	if err := f.r.call(ctx, firehose.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.DeliveryStreamName)
	if name == "" || len(name) > 64 {
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("DeliveryStreamName must be 1 to 64 characters"))
	}
	d := in.ExtendedS3DestinationConfiguration
	if d == nil || !strings.HasPrefix(aws.ToString(d.BucketARN), "arn:aws:s3:::") {
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("ExtendedS3DestinationConfiguration with a BucketARN is required"))
	}
	parts, exprs, err := firehoseParsePrefix(aws.ToString(d.Prefix))
	if err != nil {
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("%v", err))
	}
	if exprs && aws.ToString(d.ErrorOutputPrefix) == "" {
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions."))
	}
	s := &firehoseStream{
		name: name, arn: fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s", f.r.Name, f.r.world.Account, name),
		created: f.r.world.Clock.Now(), source: in.DeliveryStreamType,
		bucket: strings.TrimPrefix(*d.BucketARN, "arn:aws:s3:::"), prefix: parts,
		sizeBytes: firehoseDefaultSizeMiB << 20, interval: firehoseDefaultInterval,
		checkpoints: make(map[string]string),
		destRole:    aws.ToString(d.RoleARN),
	}
	switch d.CompressionFormat {
	case "", firehosetypes.CompressionFormatUncompressed:
	case firehosetypes.CompressionFormatGzip:
		s.gzip = true
	default:
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("CompressionFormat %s is not supported by the simulator", d.CompressionFormat))
	}
	if h := d.BufferingHints; h != nil {
		if h.SizeInMBs != nil {
			if *h.SizeInMBs < 1 || *h.SizeInMBs > 128 {
				return nil, opErr(firehose.ServiceID, op, firehoseInvalid("BufferingHints.SizeInMBs must be between 1 and 128"))
			}
			s.sizeBytes = int(*h.SizeInMBs) << 20
		}
		if h.IntervalInSeconds != nil {
			if *h.IntervalInSeconds < 0 || *h.IntervalInSeconds > 900 {
				return nil, opErr(firehose.ServiceID, op, firehoseInvalid("BufferingHints.IntervalInSeconds must be between 0 and 900"))
			}
			s.interval = time.Duration(*h.IntervalInSeconds) * time.Second
		}
	}
	if pc := d.ProcessingConfiguration; pc != nil && aws.ToBool(pc.Enabled) {
		for _, p := range pc.Processors {
			if p.Type == firehosetypes.ProcessorTypeAppendDelimiterToRecord {
				s.delimiter = true
			}
		}
	}
	switch in.DeliveryStreamType {
	case "", firehosetypes.DeliveryStreamTypeDirectPut:
		s.source = firehosetypes.DeliveryStreamTypeDirectPut
	case firehosetypes.DeliveryStreamTypeKinesisStreamAsSource:
		var arn string
		if src := in.KinesisStreamSourceConfiguration; src != nil {
			arn = aws.ToString(src.KinesisStreamARN)
			s.sourceRole = aws.ToString(src.RoleARN)
		}
		if !strings.HasPrefix(arn, fmt.Sprintf("arn:aws:kinesis:%s:", f.r.Name)) {
			return nil, opErr(firehose.ServiceID, op, firehoseInvalid("KinesisStreamSourceConfiguration with a KinesisStreamARN in %s is required", f.r.Name))
		}
		s.kinesisName = arn[strings.LastIndexByte(arn, '/')+1:]
	default:
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("DeliveryStreamType %s is not supported by the simulator", in.DeliveryStreamType))
	}
	f.mu.Lock()
	if old, ok := f.streams[name]; ok && !old.deleted {
		f.mu.Unlock()
		return nil, opErr(firehose.ServiceID, op, &firehosetypes.ResourceInUseException{Message: aws.String(fmt.Sprintf("Firehose %s under accountId %s already exists", name, f.r.world.Account))})
	}
	f.streams[name] = s
	f.mu.Unlock()
	if s.kinesisName != "" {
		s.unsubscribe = f.r.Kinesis().listen(s.kinesisName, func() { f.kick(s, firehoseReadDelay) })
	}
	return &firehose.CreateDeliveryStreamOutput{DeliveryStreamARN: aws.String(s.arn)}, nil
}

// DeleteDeliveryStream deletes a delivery stream; data still buffered is
// lost, as in Firehose.
func (f *Firehose) DeleteDeliveryStream(ctx context.Context, in *firehose.DeleteDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.DeleteDeliveryStreamOutput, error) {
	const op = "DeleteDeliveryStream"
	if err := f.r.call(ctx, firehose.ServiceID, op, in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	s, ok := f.streams[aws.ToString(in.DeliveryStreamName)]
	if !ok || s.deleted {
		f.mu.Unlock()
		return nil, opErr(firehose.ServiceID, op, firehoseNotFound(aws.ToString(in.DeliveryStreamName), f.r.world.Account))
	}
	s.deleted = true
	delete(f.streams, s.name)
	if s.stopTick != nil {
		s.stopTick()
	}
	s.buf, s.bufBytes = nil, 0
	unsub := s.unsubscribe
	f.mu.Unlock()
	if unsub != nil {
		unsub()
	}
	return &firehose.DeleteDeliveryStreamOutput{}, nil
}

// DescribeDeliveryStream describes a delivery stream.
func (f *Firehose) DescribeDeliveryStream(ctx context.Context, in *firehose.DescribeDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.DescribeDeliveryStreamOutput, error) {
	const op = "DescribeDeliveryStream"
	if err := f.r.call(ctx, firehose.ServiceID, op, in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.streams[aws.ToString(in.DeliveryStreamName)]
	if !ok {
		return nil, opErr(firehose.ServiceID, op, firehoseNotFound(aws.ToString(in.DeliveryStreamName), f.r.world.Account))
	}
	created := s.created
	return &firehose.DescribeDeliveryStreamOutput{DeliveryStreamDescription: &firehosetypes.DeliveryStreamDescription{
		DeliveryStreamName: aws.String(s.name), DeliveryStreamARN: aws.String(s.arn),
		DeliveryStreamStatus: firehosetypes.DeliveryStreamStatusActive, DeliveryStreamType: s.source,
		VersionId: aws.String("1"), CreateTimestamp: &created, HasMoreDestinations: aws.Bool(false),
	}}, nil
}

// PutRecordBatch writes up to 500 records to a Direct PUT delivery stream.
func (f *Firehose) PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	return f.putRecords(ctx, "PutRecordBatch", aws.ToString(in.DeliveryStreamName), in.Records, in)
}

// putRecords is PutRecordBatch and PutRecord, counted as op; in is the
// caller's input, for authorization.
func (f *Firehose) putRecords(ctx context.Context, op, name string, records []firehosetypes.Record, in any) (*firehose.PutRecordBatchOutput, error) {
	if err := f.r.call(ctx, firehose.ServiceID, op, in); err != nil {
		return nil, err
	}
	if n := len(records); n == 0 || n > firehoseMaxBatch {
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("Records must contain between 1 and %d records", firehoseMaxBatch))
	}
	total := 0
	for _, r := range records {
		if len(r.Data) > firehoseMaxRecord {
			return nil, opErr(firehose.ServiceID, op, firehoseInvalid("Record size exceeds %d bytes", firehoseMaxRecord))
		}
		total += len(r.Data)
	}
	if total > firehoseMaxBatchBytes {
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("Batch size exceeds 4 MiB"))
	}
	f.mu.Lock()
	s, ok := f.streams[name]
	if !ok {
		f.mu.Unlock()
		return nil, opErr(firehose.ServiceID, op, firehoseNotFound(name, f.r.world.Account))
	}
	if s.source != firehosetypes.DeliveryStreamTypeDirectPut {
		f.mu.Unlock()
		return nil, opErr(firehose.ServiceID, op, firehoseInvalid("This operation is not permitted on KinesisStreamAsSource delivery stream type."))
	}
	now := f.r.world.Clock.Now()
	out := &firehose.PutRecordBatchOutput{FailedPutCount: aws.Int32(0), Encrypted: aws.Bool(false)}
	for i := range records {
		out.RequestResponses = append(out.RequestResponses, firehosetypes.PutRecordBatchResponseEntry{
			RecordId: aws.String(fmt.Sprintf("%s-%d-%d", s.name, now.UnixNano(), i)),
		})
	}
	var flushes [][]firehoseRecord
	for _, r := range records {
		if b := f.addLocked(s, r.Data, now); b != nil {
			flushes = append(flushes, b)
		}
	}
	f.mu.Unlock()
	for _, b := range flushes {
		f.deliver(s, b)
	}
	return out, nil
}

// PutRecord writes one record to a Direct PUT delivery stream.
func (f *Firehose) PutRecord(ctx context.Context, in *firehose.PutRecordInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordOutput, error) {
	var recs []firehosetypes.Record
	if in.Record != nil {
		recs = append(recs, *in.Record)
	}
	out, err := f.putRecords(ctx, "PutRecord", aws.ToString(in.DeliveryStreamName), recs, in)
	if err != nil {
		return nil, err
	}
	return &firehose.PutRecordOutput{RecordId: out.RequestResponses[0].RecordId, Encrypted: out.Encrypted}, nil
}

// addLocked adds one record to the stream's buffer. It returns a batch to
// deliver now when the size hint is reached; otherwise it makes sure an
// interval flush is scheduled. f.mu must be held.
func (f *Firehose) addLocked(s *firehoseStream, data []byte, arrival time.Time) []firehoseRecord {
	if s.delimiter {
		data = append(append([]byte(nil), data...), '\n')
	}
	s.buf = append(s.buf, firehoseRecord{data: data, arrival: arrival})
	s.bufBytes += len(data)
	if s.bufBytes >= s.sizeBytes {
		if s.stopTick != nil {
			s.stopTick()
			s.stopTick = nil
		}
		batch := s.buf
		s.buf, s.bufBytes = nil, 0
		return batch
	}
	if s.stopTick == nil {
		s.stopTick = f.r.world.Clock.AfterFunc(s.interval, func() {
			f.mu.Lock()
			s.stopTick = nil
			batch, deleted := s.buf, s.deleted
			s.buf, s.bufBytes = nil, 0
			f.mu.Unlock()
			if len(batch) > 0 && !deleted {
				f.deliver(s, batch)
			}
		})
	}
	return nil
}

// DeliverBuffer writes one object of the named delivery stream, as
// Firehose delivers a full buffer, from records that did not come through
// its source: each record (with the stream's delimiter processor, a new
// line) in an object named by arrival, the oldest record's arrival time,
// gzip-compressed when the stream compresses, written as the destination
// role with its IAM checks and retried as any delivery. A drill writes
// volumes with it that would take too long to produce record by record
// (pkg/drill "scale"); the stream's delivered counts include them.
func (f *Firehose) DeliverBuffer(stream string, arrival time.Time, records [][]byte) error {
	f.mu.Lock()
	var s *firehoseStream
	for _, st := range f.streams {
		if st.name == stream && !st.deleted {
			s = st
		}
	}
	if s == nil {
		f.mu.Unlock()
		return fmt.Errorf("firehose %s: no delivery stream %q", f.r.Name, stream)
	}
	batch := make([]firehoseRecord, len(records))
	for i, data := range records {
		if s.delimiter {
			data = append(append([]byte(nil), data...), '\n')
		}
		batch[i] = firehoseRecord{data: data, arrival: arrival}
	}
	f.mu.Unlock()
	if len(batch) > 0 {
		f.deliver(s, batch)
	}
	return nil
}

// gzipWriters are the gzip writers of deliveries, reused.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// deliver writes one object for batch.
func (f *Firehose) deliver(s *firehoseStream, batch []firehoseRecord) {
	oldest := batch[0].arrival
	for _, r := range batch {
		if r.arrival.Before(oldest) {
			oldest = r.arrival
		}
	}
	f.mu.Lock()
	s.seq++
	seq := s.seq
	f.mu.Unlock()
	var body bytes.Buffer
	if s.gzip {
		// A gzip writer holds some 800 KB of compressor state: reused, a
		// run of many deliveries does not allocate it for each object.
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&body)
		for _, r := range batch {
			_, _ = zw.Write(r.data)
		}
		_ = zw.Close()
		gzipWriters.Put(zw)
	} else {
		for _, r := range batch {
			body.Write(r.data)
		}
	}
	f.put(s, f.objectKey(s, oldest, seq), body.Bytes(), len(batch), 0)
}

// put writes an object; on failure it retries under the same key every 5 s
// for up to 24 h. A write the destination role is denied is a delivery
// error like any other.
func (f *Firehose) put(s *firehoseStream, key string, body []byte, records, attempt int) {
	var w firehoseObjectWriter = f.r.S3()
	err := f.r.world.serviceAuthorize(serviceCall{Region: f.r.Name, Role: s.destRole, Via: "firehose.amazonaws.com",
		Service: firehose.ServiceID, Operation: "DeliverToS3"}, firehoseS3Checks(s.bucket, key)...)
	if err == nil {
		// Delivery is timed by the buffer and the retry interval.
		_, err = w.PutObject(Unmetered(context.Background()), &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		s.objects++
		s.records += records
		if attempt > 0 {
			s.pending--
		}
		return
	}
	if attempt == 0 {
		s.pending++
	}
	if time.Duration(attempt+1)*firehoseRetryEvery > firehoseRetryFor || s.deleted {
		// Firehose gives up after 24 h and discards the data: an S3
		// destination has no backup, and the error output prefix is for
		// processing failures ("Troubleshoot errors in Amazon Data
		// Firehose", Amazon Data Firehose Developer Guide). Count the
		// loss so the drill's accounting sees it.
		s.pending--
		s.dropped++
		s.droppedRecords += records
		return
	}
	f.r.world.Clock.AfterFunc(firehoseRetryEvery, func() { f.put(s, key, body, records, attempt+1) })
}

// objectKey names an object as Firehose does:
// <prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<id>[.gz], the id a
// deterministic UUID-shaped hash so runs are reproducible.
func (f *Firehose) objectKey(s *firehoseStream, oldest time.Time, seq int) string {
	h := fnv.New128a()
	fmt.Fprintf(h, "%s/%s/%d", f.r.Name, s.name, seq)
	sum := h.Sum(nil)
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	key := fmt.Sprintf("%s%s-1-%s-%s", firehoseExpand(s.prefix, oldest), s.name, oldest.UTC().Format("2006-01-02-15-04-05"), id)
	if s.gzip {
		key += ".gz"
	}
	return key
}

// kick schedules a read of the Kinesis source after d, unless one is
// already scheduled or running.
func (f *Firehose) kick(s *firehoseStream, d time.Duration) {
	f.mu.Lock()
	if s.deleted {
		f.mu.Unlock()
		return
	}
	if s.reading {
		s.again = s.again || s.running
		f.mu.Unlock()
		return
	}
	s.reading = true
	f.mu.Unlock()
	f.r.world.Clock.AfterFunc(d, func() { f.read(s, 0) })
}

// firehoseAfterRead, when set (by a test), runs as a read has finished
// reading the source and before it ends: records written then are behind
// its last GetRecords.
var firehoseAfterRead func()

// read drains the Kinesis source into the buffer through the Kinesis API
// (counted, and failing while the region is down). On failure it retries
// every 5 s for up to 24 h (Kinesis keeps the records for 24 h).
func (f *Firehose) read(s *firehoseStream, failures int) {
	// Reading the source is timed by the buffer and the retry interval.
	ctx := Unmetered(context.Background())
	k := f.r.Kinesis()
	f.mu.Lock()
	s.running = true
	f.mu.Unlock()
	err := f.readOnce(ctx, k, s)
	if firehoseAfterRead != nil {
		firehoseAfterRead()
	}
	var gone *kinesistypes.ResourceNotFoundException
	if errors.As(err, &gone) {
		err = nil // the source stream was deleted: nothing more to read
	}
	f.mu.Lock()
	s.running = false
	if err != nil && !s.deleted && time.Duration(failures+1)*firehoseRetryEvery <= kinesisRetention {
		f.mu.Unlock()
		f.r.world.Clock.AfterFunc(firehoseRetryEvery, func() { f.read(s, failures+1) })
		return
	}
	if s.again && !s.deleted {
		// Records written while this read ran may be past its last
		// GetRecords: read again, as the write's own kick would have.
		s.again = false
		f.mu.Unlock()
		f.r.world.Clock.AfterFunc(firehoseReadDelay, func() { f.read(s, 0) })
		return
	}
	s.again, s.reading = false, false
	f.mu.Unlock()
}

// firehoseS3Checks are the permissions Firehose's destination role needs to
// deliver an object ("Grant Firehose access to an Amazon S3 destination",
// https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html),
// each on the resource type the Service Authorization Reference gives it.
func firehoseS3Checks(bucket, key string) []iamCheck {
	b, o := s3BucketARN(bucket), s3ObjectARN(bucket, key)
	return []iamCheck{
		{action: "s3:AbortMultipartUpload", resource: o},
		{action: "s3:GetBucketLocation", resource: b},
		{action: "s3:GetObject", resource: o},
		{action: "s3:ListBucket", resource: b},
		{action: "s3:ListBucketMultipartUploads", resource: b},
		{action: "s3:PutObject", resource: o},
	}
}

// firehoseKinesisChecks are the permissions Firehose's source role needs
// to read a Kinesis stream ("Grant Firehose access to your Kinesis data
// stream", same page).
func firehoseKinesisChecks(streamARN string) []iamCheck {
	return []iamCheck{
		{action: "kinesis:DescribeStream", resource: streamARN},
		{action: "kinesis:GetShardIterator", resource: streamARN},
		{action: "kinesis:GetRecords", resource: streamARN},
		{action: "kinesis:ListShards", resource: streamARN},
	}
}

func (f *Firehose) readOnce(ctx context.Context, k *Kinesis, s *firehoseStream) error {
	// Firehose reads as the source role; a denied read is retried as a
	// failed one is, and the records wait in the stream.
	if err := f.r.world.serviceAuthorize(serviceCall{Region: f.r.Name, Role: s.sourceRole, Via: "firehose.amazonaws.com",
		Service: firehose.ServiceID, Operation: "ReadFromKinesis"}, firehoseKinesisChecks(f.r.arn("kinesis", "stream/"+s.kinesisName))...); err != nil {
		return err
	}
	shards, err := k.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(s.kinesisName)})
	if err != nil {
		return err
	}
	for _, sh := range shards.Shards {
		id := aws.ToString(sh.ShardId)
		f.mu.Lock()
		cp := s.checkpoints[id]
		f.mu.Unlock()
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(s.kinesisName), ShardId: sh.ShardId,
			ShardIteratorType: kinesistypes.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(s.created)}
		if cp != "" {
			in.ShardIteratorType, in.StartingSequenceNumber, in.Timestamp = kinesistypes.ShardIteratorTypeAfterSequenceNumber, aws.String(cp), nil
		}
		it, err := k.GetShardIterator(ctx, in)
		if err != nil {
			return err
		}
		iter := it.ShardIterator
		for {
			out, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return err
			}
			if len(out.Records) == 0 {
				break
			}
			f.mu.Lock()
			var flushes [][]firehoseRecord
			if !s.deleted {
				for _, r := range out.Records {
					if b := f.addLocked(s, r.Data, aws.ToTime(r.ApproximateArrivalTimestamp)); b != nil {
						flushes = append(flushes, b)
					}
				}
				s.checkpoints[id] = aws.ToString(out.Records[len(out.Records)-1].SequenceNumber)
			}
			f.mu.Unlock()
			for _, b := range flushes {
				f.deliver(s, b)
			}
			iter = out.NextShardIterator
		}
	}
	return nil
}

// FirehoseStats counts what a delivery stream delivered.
type FirehoseStats struct {
	Objects  int // objects written to S3
	Records  int // records in them
	Buffered int // records waiting in the buffer
	Pending  int // objects whose delivery is being retried
	// Dropped counts objects given up on after 24 h of failed delivery (or
	// whose stream was deleted while retrying); DroppedRecords the records
	// in them. Firehose discards them; the destination never receives
	// them.
	Dropped        int
	DroppedRecords int
}

// Stats returns a delivery stream's counters, without counting an API call:
// the drill's accounting reads them.
func (f *Firehose) Stats(name string) FirehoseStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.streams[name]
	if !ok {
		return FirehoseStats{}
	}
	return FirehoseStats{Objects: s.objects, Records: s.records, Buffered: len(s.buf), Pending: s.pending, Dropped: s.dropped, DroppedRecords: s.droppedRecords}
}
