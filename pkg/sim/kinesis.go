package sim

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"math/big"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// Kinesis is one region's simulated Kinesis Data Streams: on-demand streams
// of 4 shards, records routed by the MD5 of their partition key, sequence
// numbers increasing per shard, 24 h retention, shard iterators that expire
// after 5 minutes.
type Kinesis struct {
	r *Region

	// CreateDelay is how long a new stream stays CREATING: an on-demand
	// stream is usually ACTIVE in under a minute (docs/aws-facts.md
	// "Kinesis Data Streams", a field figure).
	CreateDelay time.Duration
	// DeleteDelay is how long a deleted stream stays DELETING.
	DeleteDelay time.Duration

	mu       sync.Mutex
	epochs   int
	streams  map[string]*kinesisStream
	throttle map[string]int // stream name -> records still to throttle
	// listeners are told when records are written to a stream: Firehose
	// reads on that cue instead of polling forever, so an idle world has
	// no timers and a virtual clock can stand still.
	listeners map[string]map[int]func()
	written   map[string]uint64 // notifications by stream, for writes
	nextID    int
}

type kinesisStream struct {
	name, arn string
	created   time.Time
	activeAt  time.Time
	deletedAt time.Time // zero unless DELETING
	goneAt    time.Time
	epoch     int // distinguishes a re-created stream's iterators
	shards    []*kinesisShard
	retention time.Duration // 0: the default 24 h
}

// retentionOf is how long the stream keeps records.
func (s *kinesisStream) retentionOf() time.Duration {
	if s.retention == 0 {
		return kinesisRetention
	}
	return s.retention
}

type kinesisShard struct {
	id      string
	lo, hi  string // hash key range, decimal
	records []kinesisRecord
	next    uint64 // sequence counter of the next record
}

type kinesisRecord struct {
	n       uint64
	key     string
	data    []byte
	arrival time.Time
}

// Kinesis figures from the Kinesis developer guide.
const (
	kinesisOnDemandShards = 4 // an on-demand stream starts with 4 shards
	kinesisRetention      = 24 * time.Hour
	kinesisIteratorTTL    = 5 * time.Minute
	kinesisMaxPutRecords  = 500
	kinesisMaxRecordBytes = 1 << 20
	kinesisMaxGetRecords  = 10000
)

// Kinesis returns the region's Kinesis Data Streams.
func (r *Region) Kinesis() *Kinesis {
	return r.service(kinesis.ServiceID, func() any {
		return &Kinesis{r: r, CreateDelay: 30 * time.Second, DeleteDelay: 10 * time.Second,
			streams: make(map[string]*kinesisStream), throttle: make(map[string]int), listeners: make(map[string]map[int]func()), written: make(map[string]uint64)}
	}).(*Kinesis)
}

// StreamARN returns the ARN a stream of that name has in the region.
func (k *Kinesis) StreamARN(name string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", k.r.Name, k.r.world.Account, name)
}

// listen calls fn (outside any lock) after records are written to stream,
// until the returned cancel is called.
// writes is how many times records were written to stream (notify).
func (k *Kinesis) writes(stream string) uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.written[stream]
}

func (k *Kinesis) listen(stream string, fn func()) (cancel func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.nextID++
	id := k.nextID
	if k.listeners[stream] == nil {
		k.listeners[stream] = make(map[int]func())
	}
	k.listeners[stream][id] = fn
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		delete(k.listeners[stream], id)
	}
}

// notify tells the stream's listeners that records were written; it must be
// called without k.mu held.
func (k *Kinesis) notify(stream string) {
	k.mu.Lock()
	k.written[stream]++
	fns := make([]func(), 0, len(k.listeners[stream]))
	for _, fn := range k.listeners[stream] {
		fns = append(fns, fn)
	}
	k.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// ThrottleRecords makes the next n records put to the stream fail with
// ProvisionedThroughputExceededException: per record in PutRecords (the
// call itself succeeds with FailedRecordCount), as the whole call in
// PutRecord. It models a hot shard or an on-demand stream scaling up.
func (k *Kinesis) ThrottleRecords(stream string, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.throttle[stream] = n
}

func kinesisNotFound(name string, account string) error {
	return &kinesistypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Stream %s under account %s not found.", name, account))}
}

func kinesisInvalid(format string, args ...any) error {
	return &kinesistypes.InvalidArgumentException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func kinesisStreamName(name, arn *string) string {
	if n := aws.ToString(name); n != "" {
		return n
	}
	a := aws.ToString(arn)
	return a[strings.LastIndexByte(a, '/')+1:]
}

// stream finds a stream, trimming expired records; k.mu must be held.
// With active, a stream that is not ACTIVE is not found, as data-plane calls
// to a CREATING or DELETING stream fail.
func (k *Kinesis) stream(name string, active bool) (*kinesisStream, error) {
	now := k.r.world.Clock.Now()
	s, ok := k.streams[name]
	if ok && !s.goneAt.IsZero() && !now.Before(s.goneAt) {
		delete(k.streams, name)
		ok = false
	}
	if !ok || (active && (now.Before(s.activeAt) || !s.deletedAt.IsZero())) {
		return nil, kinesisNotFound(name, k.r.world.Account)
	}
	cut := now.Add(-s.retentionOf())
	for _, sh := range s.shards {
		i := 0
		for i < len(sh.records) && sh.records[i].arrival.Before(cut) {
			i++
		}
		if i > 0 {
			sh.records = append(sh.records[:0], sh.records[i:]...)
		}
	}
	return s, nil
}

func (s *kinesisStream) status(now time.Time) kinesistypes.StreamStatus {
	switch {
	case !s.deletedAt.IsZero():
		return kinesistypes.StreamStatusDeleting
	case now.Before(s.activeAt):
		return kinesistypes.StreamStatusCreating
	}
	return kinesistypes.StreamStatusActive
}

// CreateStream creates a stream, CREATING for CreateDelay, then ACTIVE. It
// is on-demand with 4 shards unless PROVISIONED with a ShardCount.
func (k *Kinesis) CreateStream(ctx context.Context, in *kinesis.CreateStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error) {
	const op = "CreateStream"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.StreamName)
	if name == "" || len(name) > 128 {
		return nil, opErr(kinesis.ServiceID, op, &kinesistypes.ValidationException{Message: aws.String("1 validation error detected: Value at 'streamName' failed to satisfy constraint: Member must have length between 1 and 128")})
	}
	n := kinesisOnDemandShards
	if in.StreamModeDetails != nil && in.StreamModeDetails.StreamMode == kinesistypes.StreamModeProvisioned {
		if in.ShardCount == nil || *in.ShardCount < 1 {
			return nil, opErr(kinesis.ServiceID, op, kinesisInvalid("ShardCount is required for a PROVISIONED stream"))
		}
		n = int(*in.ShardCount)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := k.stream(name, false); err == nil {
		return nil, opErr(kinesis.ServiceID, op, &kinesistypes.ResourceInUseException{Message: aws.String(fmt.Sprintf("Stream %s under account %s already exists.", name, k.r.world.Account))})
	}
	now := k.r.world.Clock.Now()
	s := &kinesisStream{name: name, arn: k.StreamARN(name), created: now, activeAt: now.Add(k.CreateDelay), epoch: k.epochs}
	k.epochs++
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	for i := 0; i < n; i++ {
		lo := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(int64(n)))
		hi := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i+1))), big.NewInt(int64(n)))
		hi.Sub(hi, big.NewInt(1))
		s.shards = append(s.shards, &kinesisShard{id: fmt.Sprintf("shardId-%012d", i), lo: lo.String(), hi: hi.String(), next: 1})
	}
	k.streams[name] = s
	return &kinesis.CreateStreamOutput{}, nil
}

// DeleteStream deletes a stream: DELETING for DeleteDelay, then gone, its
// records with it.
func (k *Kinesis) DeleteStream(ctx context.Context, in *kinesis.DeleteStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.DeleteStreamOutput, error) {
	const op = "DeleteStream"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(kinesisStreamName(in.StreamName, in.StreamARN), false)
	if err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	if s.deletedAt.IsZero() {
		now := k.r.world.Clock.Now()
		s.deletedAt, s.goneAt = now, now.Add(k.DeleteDelay)
	}
	return &kinesis.DeleteStreamOutput{}, nil
}

// DescribeStreamSummary describes a stream, with its status at the current
// virtual time.
func (k *Kinesis) DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	const op = "DescribeStreamSummary"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(kinesisStreamName(in.StreamName, in.StreamARN), false)
	if err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	created := s.created
	return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: &kinesistypes.StreamDescriptionSummary{
		StreamName: aws.String(s.name), StreamARN: aws.String(s.arn), StreamStatus: s.status(k.r.world.Clock.Now()),
		StreamCreationTimestamp: &created, RetentionPeriodHours: aws.Int32(int32(s.retentionOf() / time.Hour)),
		OpenShardCount: aws.Int32(int32(len(s.shards))), EncryptionType: kinesistypes.EncryptionTypeKms,
		StreamModeDetails: &kinesistypes.StreamModeDetails{StreamMode: kinesistypes.StreamModeOnDemand},
	}}, nil
}

// ListShards lists a stream's shards (no resharding in the simulator).
func (k *Kinesis) ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	const op = "ListShards"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(kinesisStreamName(in.StreamName, in.StreamARN), true)
	if err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	out := &kinesis.ListShardsOutput{}
	after := aws.ToString(in.ExclusiveStartShardId)
	for _, sh := range s.shards {
		if after != "" && sh.id <= after {
			continue
		}
		out.Shards = append(out.Shards, kinesistypes.Shard{
			ShardId:             aws.String(sh.id),
			HashKeyRange:        &kinesistypes.HashKeyRange{StartingHashKey: aws.String(sh.lo), EndingHashKey: aws.String(sh.hi)},
			SequenceNumberRange: &kinesistypes.SequenceNumberRange{StartingSequenceNumber: aws.String(kinesisSeq(kinesisShardIndex(sh.id), 1))},
		})
	}
	return out, nil
}

// kinesisSeq renders a sequence number: 56 decimal digits like Kinesis's,
// fixed width so numeric and lexical order agree; the shard index is
// embedded so a number from another shard is recognised.
func kinesisSeq(shard int, n uint64) string {
	return fmt.Sprintf("49%04d%050d", shard, n)
}

func kinesisParseSeq(s string) (shard int, n uint64, err error) {
	if len(s) != 56 || !strings.HasPrefix(s, "49") {
		return 0, 0, fmt.Errorf("invalid sequence number %q", s)
	}
	sh, err1 := strconv.Atoi(s[2:6])
	n, err2 := strconv.ParseUint(s[6:], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("invalid sequence number %q", s)
	}
	return sh, n, nil
}

func kinesisShardIndex(id string) int {
	i, _ := strconv.Atoi(strings.TrimPrefix(id, "shardId-"))
	return i
}

// shardFor picks the shard whose hash key range holds the MD5 of the
// partition key (or the explicit hash key). An explicit hash key must have
// passed kinesisCheckHashKey.
func (s *kinesisStream) shardFor(key string, explicit *string) int {
	n := uint64(len(s.shards))
	if explicit != nil {
		h, _ := new(big.Int).SetString(*explicit, 10)
		return int(new(big.Int).Rsh(h.Mul(h, new(big.Int).SetUint64(n)), 128).Int64())
	}
	sum := md5.Sum([]byte(key))
	// floor(h*n/2^128) from the top 64 bits: exact for the on-demand 4 shards.
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(sum[:8]), n)
	return int(hi)
}

// kinesisDecimal reports whether s matches the API reference's pattern
// 0|([1-9]\d{0,max}), the form of hash keys and sequence numbers.
func kinesisDecimal(s string, max int) bool {
	if s == "0" {
		return true
	}
	if len(s) == 0 || len(s) > max+1 || s[0] < '1' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// kinesisPatternErr is the ValidationException the service's request
// validation answers for a member that fails its documented pattern.
func kinesisPatternErr(member, value, pattern string) error {
	return &kinesistypes.ValidationException{Message: aws.String(fmt.Sprintf(
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", value, member, pattern))}
}

const (
	kinesisHashKeyPattern = `0|([1-9]\d{0,38})`
	kinesisSeqPattern     = `0|([1-9]\d{0,128})`
)

// kinesisCheckHashKey validates an ExplicitHashKey (member names it in the
// request): a value off the pattern is a ValidationException, one that fits
// the pattern's 39 digits but not 128 bits an InvalidArgumentException, as
// the service checks the range only after validating the request.
func kinesisCheckHashKey(member string, explicit *string) (validation, invalid error) {
	if explicit == nil {
		return nil, nil
	}
	if !kinesisDecimal(*explicit, 38) {
		return kinesisPatternErr(member, *explicit, kinesisHashKeyPattern), nil
	}
	if h, _ := new(big.Int).SetString(*explicit, 10); h.BitLen() > 128 {
		return nil, kinesisInvalid("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", *explicit)
	}
	return nil, nil
}

func kinesisCheckEntry(data []byte, key string) error {
	if key == "" || len(key) > 256 {
		return &kinesistypes.ValidationException{Message: aws.String("1 validation error detected: Value at 'partitionKey' failed to satisfy constraint: Member must have length between 1 and 256")}
	}
	if len(data)+len(key) > kinesisMaxRecordBytes {
		return &kinesistypes.ValidationException{Message: aws.String("1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576")}
	}
	return nil
}

// appendLocked stores a record; k.mu must be held.
func (s *kinesisStream) appendLocked(shard int, key string, data []byte, now time.Time) string {
	sh := s.shards[shard]
	n := sh.next
	sh.next++
	sh.records = append(sh.records, kinesisRecord{n: n, key: key, data: append([]byte(nil), data...), arrival: now})
	return kinesisSeq(shard, n)
}

// throttledLocked consumes one record of injected throttling; k.mu held.
func (k *Kinesis) throttledLocked(stream string) bool {
	if k.throttle[stream] > 0 {
		k.throttle[stream]--
		return true
	}
	return false
}

// PutRecord writes one record.
func (k *Kinesis) PutRecord(ctx context.Context, in *kinesis.PutRecordInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error) {
	const op = "PutRecord"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	key := aws.ToString(in.PartitionKey)
	if err := kinesisCheckEntry(in.Data, key); err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	badKey, keyRange := kinesisCheckHashKey("explicitHashKey", in.ExplicitHashKey)
	if badKey != nil {
		return nil, opErr(kinesis.ServiceID, op, badKey)
	}
	if o := in.SequenceNumberForOrdering; o != nil && !kinesisDecimal(*o, 128) {
		return nil, opErr(kinesis.ServiceID, op, kinesisPatternErr("sequenceNumberForOrdering", *o, kinesisSeqPattern))
	}
	name := kinesisStreamName(in.StreamName, in.StreamARN)
	written := false
	defer func() {
		if written {
			k.notify(name)
		}
	}()
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(name, true)
	if err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	if keyRange != nil {
		return nil, opErr(kinesis.ServiceID, op, keyRange)
	}
	shard := s.shardFor(key, in.ExplicitHashKey)
	if k.throttledLocked(s.name) {
		return nil, opErr(kinesis.ServiceID, op, &kinesistypes.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded for shard " + s.shards[shard].id)})
	}
	seq := s.appendLocked(shard, key, in.Data, k.r.world.Clock.Now())
	written = true
	return &kinesis.PutRecordOutput{SequenceNumber: aws.String(seq), ShardId: aws.String(s.shards[shard].id), EncryptionType: kinesistypes.EncryptionTypeKms}, nil
}

// PutRecords writes up to 500 records. Records that fail (injected
// throttling) carry ErrorCode/ErrorMessage; the others are written, in
// order per shard, and FailedRecordCount counts the failures: the caller
// retries just those, as with the real service.
func (k *Kinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	const op = "PutRecords"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	if n := len(in.Records); n == 0 || n > kinesisMaxPutRecords {
		return nil, opErr(kinesis.ServiceID, op, &kinesistypes.ValidationException{Message: aws.String(fmt.Sprintf(
			"1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length between 1 and %d", kinesisMaxPutRecords))})
	}
	total := 0
	var keyRange error // the first out-of-range hash key, reported once the stream is found
	for i, e := range in.Records {
		if err := kinesisCheckEntry(e.Data, aws.ToString(e.PartitionKey)); err != nil {
			return nil, opErr(kinesis.ServiceID, op, err)
		}
		badKey, badRange := kinesisCheckHashKey(fmt.Sprintf("records.%d.member.explicitHashKey", i+1), e.ExplicitHashKey)
		if badKey != nil {
			return nil, opErr(kinesis.ServiceID, op, badKey)
		}
		if keyRange == nil {
			keyRange = badRange
		}
		total += len(e.Data) + len(aws.ToString(e.PartitionKey))
	}
	if total > 5<<20 {
		return nil, opErr(kinesis.ServiceID, op, kinesisInvalid("Records size exceeds 5 MB limit"))
	}
	name := kinesisStreamName(in.StreamName, in.StreamARN)
	written := false
	defer func() {
		if written {
			k.notify(name)
		}
	}()
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(name, true)
	if err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	if keyRange != nil {
		// Before any record is written: the call fails whole.
		return nil, opErr(kinesis.ServiceID, op, keyRange)
	}
	now := k.r.world.Clock.Now()
	out := &kinesis.PutRecordsOutput{Records: make([]kinesistypes.PutRecordsResultEntry, len(in.Records)), EncryptionType: kinesistypes.EncryptionTypeKms}
	failed := int32(0)
	for i, e := range in.Records {
		key := aws.ToString(e.PartitionKey)
		shard := s.shardFor(key, e.ExplicitHashKey)
		if k.throttledLocked(s.name) {
			failed++
			out.Records[i] = kinesistypes.PutRecordsResultEntry{
				ErrorCode:    aws.String("ProvisionedThroughputExceededException"),
				ErrorMessage: aws.String(fmt.Sprintf("Rate exceeded for shard %s in stream %s under account %s.", s.shards[shard].id, s.name, k.r.world.Account)),
			}
			continue
		}
		seq := s.appendLocked(shard, key, e.Data, now)
		written = true
		out.Records[i] = kinesistypes.PutRecordsResultEntry{SequenceNumber: aws.String(seq), ShardId: aws.String(s.shards[shard].id)}
	}
	out.FailedRecordCount = aws.Int32(failed)
	return out, nil
}

// kinesisIterator is the decoded content of a shard iterator.
type kinesisIterator struct {
	stream string
	epoch  int
	shard  int
	next   uint64 // the sequence counter of the next record to return
	issued time.Time
}

func (it kinesisIterator) encode() string {
	raw := fmt.Sprintf("%s|%d|%d|%d|%d", it.stream, it.epoch, it.shard, it.next, it.issued.UnixNano())
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func kinesisDecodeIterator(s string) (kinesisIterator, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return kinesisIterator{}, err
	}
	f := strings.Split(string(raw), "|")
	if len(f) != 5 {
		return kinesisIterator{}, errors.New("bad iterator")
	}
	// strconv, not fmt.Sscanf: every poll of every shard decodes one, and
	// a scan of four numbers cost more than the rest of GetRecords.
	it := kinesisIterator{stream: f[0]}
	var ns int64
	var errs [4]error
	it.epoch, errs[0] = strconv.Atoi(f[1])
	it.shard, errs[1] = strconv.Atoi(f[2])
	it.next, errs[2] = strconv.ParseUint(f[3], 10, 64)
	ns, errs[3] = strconv.ParseInt(f[4], 10, 64)
	if err := errors.Join(errs[:]...); err != nil {
		return kinesisIterator{}, err
	}
	it.issued = time.Unix(0, ns).UTC()
	return it, nil
}

// GetShardIterator returns an iterator of type TRIM_HORIZON, LATEST,
// AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP. It expires 5
// minutes after it is issued.
func (k *Kinesis) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	const op = "GetShardIterator"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	if seq := in.StartingSequenceNumber; seq != nil && !kinesisDecimal(*seq, 128) {
		return nil, opErr(kinesis.ServiceID, op, kinesisPatternErr("startingSequenceNumber", *seq, kinesisSeqPattern))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(kinesisStreamName(in.StreamName, in.StreamARN), true)
	if err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	idx := -1
	for i, sh := range s.shards {
		if sh.id == aws.ToString(in.ShardId) {
			idx = i
		}
	}
	if idx < 0 {
		return nil, opErr(kinesis.ServiceID, op, &kinesistypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Shard %s in stream %s under account %s does not exist", aws.ToString(in.ShardId), s.name, k.r.world.Account))})
	}
	sh := s.shards[idx]
	now := k.r.world.Clock.Now()
	it := kinesisIterator{stream: s.name, epoch: s.epoch, shard: idx, issued: now}
	if t := in.ShardIteratorType; in.StartingSequenceNumber != nil && (t == kinesistypes.ShardIteratorTypeTrimHorizon || t == kinesistypes.ShardIteratorTypeLatest) {
		return nil, opErr(kinesis.ServiceID, op, kinesisInvalid("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and also a StartingSequenceNumber.", t))
	}
	switch in.ShardIteratorType {
	case kinesistypes.ShardIteratorTypeTrimHorizon:
		it.next = sh.next
		if len(sh.records) > 0 {
			it.next = sh.records[0].n
		}
	case kinesistypes.ShardIteratorTypeLatest:
		it.next = sh.next
	case kinesistypes.ShardIteratorTypeAtSequenceNumber, kinesistypes.ShardIteratorTypeAfterSequenceNumber:
		shIdx, n, err := kinesisParseSeq(aws.ToString(in.StartingSequenceNumber))
		if err != nil || shIdx != idx || n == 0 || n >= sh.next {
			return nil, opErr(kinesis.ServiceID, op, kinesisInvalid("StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.",
				aws.ToString(in.StartingSequenceNumber), sh.id, s.name, k.r.world.Account))
		}
		it.next = n
		if in.ShardIteratorType == kinesistypes.ShardIteratorTypeAfterSequenceNumber {
			it.next = n + 1
		}
	case kinesistypes.ShardIteratorTypeAtTimestamp:
		if in.Timestamp == nil {
			return nil, opErr(kinesis.ServiceID, op, kinesisInvalid("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter."))
		}
		if in.Timestamp.After(now) {
			// Kinesis refuses a position it cannot have reached yet.
			return nil, opErr(kinesis.ServiceID, op, kinesisInvalid("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d",
				in.Timestamp.UnixMilli(), now.UnixMilli()))
		}
		it.next = sh.next
		for _, r := range sh.records {
			if !r.arrival.Before(*in.Timestamp) {
				it.next = r.n
				break
			}
		}
	default:
		return nil, opErr(kinesis.ServiceID, op, &kinesistypes.ValidationException{Message: aws.String(fmt.Sprintf("1 validation error detected: Value '%s' at 'shardIteratorType' failed to satisfy enum value set", in.ShardIteratorType))})
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(it.encode())}, nil
}

// GetRecords returns up to Limit records from the iterator's position, each
// with its ApproximateArrivalTimestamp, the next iterator, and how far the
// position is behind the tip (MillisBehindLatest).
func (k *Kinesis) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	const op = "GetRecords"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	limit := kinesisMaxGetRecords
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > kinesisMaxGetRecords {
			return nil, opErr(kinesis.ServiceID, op, &kinesistypes.ValidationException{Message: aws.String("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000")})
		}
		limit = int(*in.Limit)
	}
	it, err := kinesisDecodeIterator(aws.ToString(in.ShardIterator))
	if err != nil {
		return nil, opErr(kinesis.ServiceID, op, kinesisInvalid("Invalid ShardIterator."))
	}
	now := k.r.world.Clock.Now()
	// Every successful call publishes the stream's
	// GetRecords.IteratorAgeMilliseconds (after k.mu is released).
	var iteratorAge float64
	published := false
	defer func() {
		if published {
			k.r.CloudWatch().publishServiceMetric("AWS/Kinesis", KinesisIteratorAgeMetric,
				[]cwtypes.Dimension{{Name: aws.String("StreamName"), Value: aws.String(it.stream)}}, now, iteratorAge)
		}
	}()
	if now.Sub(it.issued) > kinesisIteratorTTL {
		return nil, opErr(kinesis.ServiceID, op, &kinesistypes.ExpiredIteratorException{Message: aws.String(fmt.Sprintf("Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of 300000 milliseconds.",
			it.issued.Format(time.RFC1123), now.Format(time.RFC1123)))})
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(it.stream, true)
	if err != nil || s.epoch != it.epoch || it.shard >= len(s.shards) {
		return nil, opErr(kinesis.ServiceID, op, kinesisNotFound(it.stream, k.r.world.Account))
	}
	sh := s.shards[it.shard]
	out := &kinesis.GetRecordsOutput{}
	// Records are ordered by n; find the first at or after the position (a
	// trimmed position resumes at the oldest retained record).
	i := sort.Search(len(sh.records), func(i int) bool { return sh.records[i].n >= it.next })
	size := 0
	for ; i < len(sh.records) && len(out.Records) < limit && size < 10<<20; i++ {
		r := sh.records[i]
		arrival := r.arrival
		out.Records = append(out.Records, kinesistypes.Record{
			Data: r.data, SequenceNumber: aws.String(kinesisSeq(it.shard, r.n)), PartitionKey: aws.String(r.key),
			ApproximateArrivalTimestamp: &arrival, EncryptionType: kinesistypes.EncryptionTypeKms,
		})
		size += len(r.data)
		it.next = r.n + 1
	}
	behind := int64(0)
	if i < len(sh.records) {
		behind = now.Sub(sh.records[i].arrival).Milliseconds()
	}
	out.MillisBehindLatest = aws.Int64(behind)
	it.issued = now
	out.NextShardIterator = aws.String(it.encode())
	// The age of the last record returned; zero when the call returned
	// none, its iterator at the tip of the shard.
	if n := len(out.Records); n > 0 {
		iteratorAge = float64(max(now.Sub(*out.Records[n-1].ApproximateArrivalTimestamp), 0).Milliseconds())
	}
	published = true
	return out, nil
}

// KinesisIteratorAgeMetric is the stream-level metric every GetRecords
// call publishes (namespace AWS/Kinesis, dimension StreamName): the age of
// the last record the call returned, zero when it returned none
// (docs/aws-facts.md "Kinesis Data Streams").
const KinesisIteratorAgeMetric = "GetRecords.IteratorAgeMilliseconds"

// RecordCount returns how many records a stream holds (within retention),
// without counting an API call: the drill's accounting reads it.
func (k *Kinesis) RecordCount(stream string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(stream, false)
	if err != nil {
		return 0
	}
	n := 0
	for _, sh := range s.shards {
		n += len(sh.records)
	}
	return n
}

// KinesisHandler is a Lambda function handler for Kinesis events with
// partial batch responses (ReportBatchItemFailures).
type KinesisHandler func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error)

// KinesisESMConfig configures an emulated Kinesis event-source mapping.
type KinesisESMConfig struct {
	// Stream is the stream name.
	Stream string
	// BatchSize is the most records per invocation (Lambda default 100).
	BatchSize int
	// StartingPosition is TRIM_HORIZON (default) or LATEST.
	StartingPosition kinesistypes.ShardIteratorType
	// PollInterval is how often each shard is polled when it has nothing
	// new (Lambda polls each shard about once a second).
	PollInterval time.Duration
	// RetryInterval is the wait before retrying a failed batch or an API
	// error (a region down, a throttle, the stream not yet there).
	RetryInterval time.Duration
	// FunctionARN is reported as the invoke identity; optional.
	FunctionARN string

	// The error handling of the deployed mapping. The zero values retry a
	// failing batch until its records expire, as the Lambda defaults do.

	// MaximumRetryAttempts is how often a failed batch (a function error or
	// batch item failures) is retried before its records are discarded
	// and reported to OnFailure. 0 retries until the records expire (the
	// SDK's -1); Lambda's own 0, discard at the first failure, has no
	// equivalent here.
	MaximumRetryAttempts int
	// MaximumRecordAge discards, unprocessed, records older than this when
	// they are read, first attempt or retry (MaximumRecordAgeInSeconds:
	// the oldest record Lambda sends to the function). 0 keeps records
	// until the stream's retention drops them (the SDK's -1).
	MaximumRecordAge time.Duration
	// BisectBatchOnFunctionError splits a batch that fails with a function
	// error in two and retries each half on its own, down to single
	// records; a split does not count as a retry. Batch item failures are
	// not split: they already name where to resume.
	BisectBatchOnFunctionError bool
	// OnFailure receives each batch of discarded records (the on-failure
	// destination's metadata). It runs on the mapping's goroutine, so it
	// must follow the clock's rules; nil discards silently.
	OnFailure func(ctx context.Context, f KinesisESMFailure)
}

// The reasons a mapping discards records, as Lambda's on-failure record
// names them (requestContext.condition).
const (
	KinesisESMRetryAttemptsExhausted = "RetryAttemptsExhausted"
	KinesisESMRecordAgeExceeded      = "RecordAgeExceeded"
)

// KinesisESMFailure describes records a mapping discarded: what Lambda
// sends to an on-failure destination (KinesisBatchInfo).
type KinesisESMFailure struct {
	StreamARN           string
	ShardID             string
	StartSequenceNumber string // the first record discarded
	EndSequenceNumber   string // the last record discarded
	BatchSize           int    // records discarded
	// ApproximateArrivalOfFirstRecord and ApproximateArrivalOfLastRecord
	// are the discarded records' arrival times.
	ApproximateArrivalOfFirstRecord time.Time
	ApproximateArrivalOfLastRecord  time.Time
	// Reason is KinesisESMRetryAttemptsExhausted or
	// KinesisESMRecordAgeExceeded.
	Reason string
	// InvokeCount is how often the function was invoked with the records
	// (0 when they were too old to be sent).
	InvokeCount int
	// Err is the last function error; nil after batch item failures or
	// for records too old.
	Err error
}

// KinesisESMStats counts what an event-source mapping did.
type KinesisESMStats struct {
	Invocations int // handler calls
	Records     int // records handed to the handler (retries included)
	Failures    int // invocations that failed or reported item failures
	APIErrors   int // Kinesis calls that failed
	Discarded   int // records skipped: retries exhausted or too old (see OnFailure)
}

// KinesisESM is a running emulated event-source mapping.
type KinesisESM struct {
	k   *Kinesis
	cfg KinesisESMConfig
	h   KinesisHandler

	mu    sync.Mutex
	stats KinesisESMStats

	// beforeIdle, when set, runs after a round found every shard empty
	// and before the mapping waits for a write: a test writes there, in
	// the gap between the last poll and the wait.
	beforeIdle func()
}

// Stats returns the mapping's counters so far.
func (m *KinesisESM) Stats() KinesisESMStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// kinesisShardCursor is one shard's position in a mapping: an iterator when
// the mapping has one, and the checkpoint to re-acquire one from.
type kinesisShardCursor struct {
	id       string
	iterator string
	resume   string // sequence number to resume AT; "" when after checkpoint or fresh
	done     string // last sequence number processed; "" if none
	attempts int    // failed invocations of the batch at the checkpoint
	empty    bool   // the last poll returned no record
	limits   []int  // sizes of the pending halves of a bisected batch, next first
}

// limit is how many records the next batch may hold.
func (c *kinesisShardCursor) limit(batchSize int) int {
	if len(c.limits) > 0 {
		return c.limits[0]
	}
	return batchSize
}

// consumed records that n records at the head of the current batch are
// done with (processed or discarded): a bisected half shrinks, and is
// finished when empty.
func (c *kinesisShardCursor) consumed(n int) {
	if len(c.limits) == 0 {
		return
	}
	if c.limits[0] -= n; c.limits[0] <= 0 {
		c.limits = c.limits[1:]
	}
}

// NewEventSourceMapping returns a Kinesis event-source mapping emulator;
// Run drives it.
func (k *Kinesis) NewEventSourceMapping(cfg KinesisESMConfig, handler KinesisHandler) *KinesisESM {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.StartingPosition == "" {
		cfg.StartingPosition = kinesistypes.ShardIteratorTypeTrimHorizon
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = time.Second
	}
	if cfg.FunctionARN == "" {
		cfg.FunctionARN = fmt.Sprintf("arn:aws:lambda:%s:%s:function:esm", k.r.Name, k.r.world.Account)
	}
	return &KinesisESM{k: k, cfg: cfg, h: handler}
}

// Run polls the stream's shards until ctx is done, invoking the handler with
// batches in the aws-lambda-go shape, in order per shard, as Lambda does
// with ParallelizationFactor 1. A handler error retries the same batch; batch
// item failures resume the shard at the lowest failed sequence number, so
// the records after it are delivered again too (handlers must be idempotent).
// By default a failing batch is retried until its records expire; the
// config's MaximumRetryAttempts, MaximumRecordAge and
// BisectBatchOnFunctionError bound that as the deployed mapping does,
// discarding records to OnFailure and reading on. API errors (stream
// missing, region down) back off and retry. Shards are polled in turn in
// one goroutine, so runs are deterministic, each round PollInterval after
// the previous one began (Lambda polls each shard about once a second,
// https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html): the
// time the round's invocations take does not stretch the interval. Start
// it with the world clock's Go. It returns ctx's error.
func (m *KinesisESM) Run(ctx context.Context) error {
	clk := m.k.r.world.Clock
	var cursors []*kinesisShardCursor
	for ctx.Err() == nil {
		// since is the world and the stream as the round's polls find
		// them: a wait that follows compares with it, so a write or a
		// change between a poll and the wait is not missed.
		since := m.mark()
		if cursors == nil {
			// The poller's own calls are timed by its polling, unmetered;
			// the handler's calls are its own.
			out, err := m.k.ListShards(Unmetered(ctx), &kinesis.ListShardsInput{StreamName: aws.String(m.cfg.Stream)})
			if err != nil {
				m.apiError()
				wait := clk.Sleep
				if errors.Is(err, ErrUnreachable) {
					wait = m.untilChanged(false, since)
				}
				if err := wait(ctx, m.cfg.RetryInterval); err != nil {
					return err
				}
				continue
			}
			for _, sh := range out.Shards {
				cursors = append(cursors, &kinesisShardCursor{id: aws.ToString(sh.ShardId)})
			}
		}
		busy, failed, empty, unreachable := false, false, true, true
		round := clk.Now()
		for _, c := range cursors {
			more, err := m.pollShard(ctx, c)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var nf *kinesistypes.ResourceNotFoundException
				if errors.As(err, &nf) {
					cursors = nil // deleted or re-created: list shards again
					failed, unreachable = true, false
					break
				}
				failed = true
				unreachable = unreachable && errors.Is(err, ErrUnreachable)
				continue
			}
			busy = busy || more
			empty = empty && c.empty
		}
		// A poll takes its modelled time: the next starts one interval
		// after this one started.
		wait := max(m.cfg.PollInterval-clk.Now().Sub(round), 0)
		var err error
		switch {
		case failed && unreachable:
			// The region is down: every poll fails alike until it is back.
			err = m.untilChanged(false, since)(ctx, m.cfg.RetryInterval)
		case failed:
			err = clk.Sleep(ctx, m.cfg.RetryInterval)
		case busy:
			continue
		case empty:
			// Nothing new on any shard: the next poll that can find
			// something follows a write to the stream.
			if m.beforeIdle != nil {
				m.beforeIdle()
			}
			err = m.untilChanged(true, since)(ctx, m.cfg.PollInterval)
		default:
			err = clk.Sleep(ctx, wait)
		}
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// esmIdleRefresh bounds untilChanged's wait: a mapping with nothing to
// read still polls every 4 minutes, so its shard iterators, which expire 5
// minutes after they are issued, never go stale.
const esmIdleRefresh = 4 * time.Minute

// esmMark is how many times the world changed and the mapping's stream
// was written to, when a round of polls began.
type esmMark struct{ world, stream uint64 }

func (m *KinesisESM) mark() esmMark {
	return esmMark{world: m.k.r.world.changes(), stream: m.k.writes(m.cfg.Stream)}
}

// untilChanged returns a wait that stands for polling every interval
// while every poll would come back as the last did (nothing new, or the
// region unreachable): it sleeps until the first instant on the mapping's
// grid of polls (every interval since the wait began) after a change that
// could make a poll come back otherwise — records written to the stream
// (with stream), a change of the world (a region down or back, a fault, an
// IAM policy) — or esmIdleRefresh. A change since the round's polls began
// (since), before the wait was listening, counts too: the next poll of the
// grid finds it. The polls it saves would have returned nothing, so the
// mapping hands over every record when polling would have, without a
// timer a second: an idle world keeps the clock idle.
func (m *KinesisESM) untilChanged(stream bool, since esmMark) func(ctx context.Context, interval time.Duration) error {
	return func(ctx context.Context, interval time.Duration) error {
		w := m.k.r.world
		clk := w.Clock
		start := clk.Now()
		cue := clk.NewSignal()
		stopW := w.watch(cue.Fire)
		stopK := func() {}
		if stream {
			stopK = m.k.listen(m.cfg.Stream, cue.Fire)
		}
		// Listening now: anything later fires cue; anything since the
		// polls began is in the counts.
		if now := m.mark(); now.world != since.world || stream && now.stream != since.stream {
			cue.Fire()
		}
		err := clk.Await(ctx, cue, esmIdleRefresh)
		stopK()
		stopW()
		if err != nil && !errors.Is(err, clock.ErrTimeout) {
			return err
		}
		elapsed := clk.Now().Sub(start)
		next := max(interval, (elapsed+interval-1)/interval*interval)
		return clk.Sleep(ctx, next-elapsed)
	}
}

func (m *KinesisESM) apiError() {
	m.mu.Lock()
	m.stats.APIErrors++
	m.mu.Unlock()
}

// pollShard reads one batch from a shard and invokes the handler with it. It
// reports whether the batch was full (more records are likely waiting).
func (m *KinesisESM) pollShard(ctx context.Context, c *kinesisShardCursor) (bool, error) {
	if c.iterator == "" {
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(m.cfg.Stream), ShardId: aws.String(c.id), ShardIteratorType: m.cfg.StartingPosition}
		switch {
		case c.resume != "":
			in.ShardIteratorType, in.StartingSequenceNumber = kinesistypes.ShardIteratorTypeAtSequenceNumber, aws.String(c.resume)
		case c.done != "":
			in.ShardIteratorType, in.StartingSequenceNumber = kinesistypes.ShardIteratorTypeAfterSequenceNumber, aws.String(c.done)
		}
		out, err := m.k.GetShardIterator(Unmetered(ctx), in)
		if err != nil {
			m.apiError()
			return false, err
		}
		c.iterator = aws.ToString(out.ShardIterator)
	}
	limit := c.limit(m.cfg.BatchSize)
	out, err := m.k.GetRecords(Unmetered(ctx), &kinesis.GetRecordsInput{ShardIterator: aws.String(c.iterator), Limit: aws.Int32(int32(limit))})
	if err != nil {
		m.apiError()
		c.iterator = "" // re-acquire from the checkpoint (expired, region back…)
		return false, err
	}
	c.empty = len(out.Records) == 0
	if c.empty {
		c.iterator = aws.ToString(out.NextShardIterator)
		return false, nil
	}
	if m.cfg.MaximumRecordAge > 0 {
		// Records arrive in order, so the too old ones lead the batch.
		now := m.k.r.world.Clock.Now()
		old := 0
		for old < len(out.Records) && now.Sub(aws.ToTime(out.Records[old].ApproximateArrivalTimestamp)) > m.cfg.MaximumRecordAge {
			old++
		}
		if old > 0 {
			m.discard(ctx, c, out.Records[:old], KinesisESMRecordAgeExceeded, 0, nil)
			c.consumed(old)
			c.iterator = "" // read on after the discarded records
			return true, nil
		}
	}
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(out.Records))}
	for i, r := range out.Records {
		seq := aws.ToString(r.SequenceNumber)
		ev.Records[i] = events.KinesisEventRecord{
			AwsRegion: m.k.r.Name, EventID: c.id + ":" + seq, EventName: "aws:kinesis:record",
			EventSource: "aws:kinesis", EventSourceArn: m.k.StreamARN(m.cfg.Stream), EventVersion: "1.0",
			InvokeIdentityArn: m.cfg.FunctionARN,
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: aws.ToTime(r.ApproximateArrivalTimestamp)},
				Data:                        r.Data, PartitionKey: aws.ToString(r.PartitionKey), SequenceNumber: seq,
				KinesisSchemaVersion: "1.0", EncryptionType: string(r.EncryptionType),
			},
		}
	}
	m.publishIteratorAge(out.Records)
	resp, herr := m.h(ctx, ev)
	m.mu.Lock()
	m.stats.Invocations++
	m.stats.Records += len(ev.Records)
	m.mu.Unlock()
	if herr == nil && len(resp.BatchItemFailures) > 0 {
		// Resume at the lowest failed sequence number in the batch; an
		// identifier that is not in the batch fails the whole batch.
		lowest := ""
		for _, f := range resp.BatchItemFailures {
			found := false
			for _, r := range ev.Records {
				found = found || r.Kinesis.SequenceNumber == f.ItemIdentifier
			}
			if !found {
				herr = fmt.Errorf("batch item failure names unknown sequence number %q", f.ItemIdentifier)
				break
			}
			if lowest == "" || f.ItemIdentifier < lowest {
				lowest = f.ItemIdentifier
			}
		}
		if herr == nil {
			m.countFailure()
			first := 0 // index of the lowest failed record
			for i, r := range ev.Records {
				if r.Kinesis.SequenceNumber < lowest {
					c.done = r.Kinesis.SequenceNumber // checkpoint what precedes the failure
					first = i + 1
				}
			}
			c.consumed(first)
			if c.attempts++; m.cfg.MaximumRetryAttempts > 0 && c.attempts > m.cfg.MaximumRetryAttempts {
				// Retries exhausted: discard from the failed record to the
				// end of the batch and read on.
				m.discard(ctx, c, out.Records[first:], KinesisESMRetryAttemptsExhausted, c.attempts, nil)
				c.consumed(len(out.Records) - first)
				c.iterator = aws.ToString(out.NextShardIterator)
				return false, nil
			}
			c.iterator, c.resume = "", lowest
			return false, fmt.Errorf("retry from %s: %w", lowest, errKinesisItemFailures)
		}
	}
	if herr != nil {
		m.countFailure()
		if m.cfg.BisectBatchOnFunctionError && len(out.Records) > 1 {
			// Split in two: each half is a new batch with its own retries.
			half := len(out.Records) / 2
			rest := c.limits
			if len(rest) > 0 {
				rest = rest[1:]
			}
			c.limits = append([]int{half, len(out.Records) - half}, rest...)
			c.attempts = 0
		} else if c.attempts++; m.cfg.MaximumRetryAttempts > 0 && c.attempts > m.cfg.MaximumRetryAttempts {
			m.discard(ctx, c, out.Records, KinesisESMRetryAttemptsExhausted, c.attempts, herr)
			c.consumed(len(out.Records))
			c.iterator = aws.ToString(out.NextShardIterator)
			return false, nil
		}
		// Retry the same batch: re-read from the checkpoint.
		c.iterator, c.resume = "", aws.ToString(out.Records[0].SequenceNumber)
		return false, herr
	}
	c.attempts = 0
	c.consumed(len(out.Records))
	c.resume, c.done = "", aws.ToString(out.Records[len(out.Records)-1].SequenceNumber)
	c.iterator = aws.ToString(out.NextShardIterator)
	return len(out.Records) >= limit, nil
}

// discard skips records (a prefix of what remains of the current batch):
// the shard's checkpoint moves past them, they are counted, and OnFailure
// hears of them.
func (m *KinesisESM) discard(ctx context.Context, c *kinesisShardCursor, recs []kinesistypes.Record, reason string, invokes int, err error) {
	if len(recs) == 0 {
		return
	}
	first, last := recs[0], recs[len(recs)-1]
	c.resume, c.done, c.attempts = "", aws.ToString(last.SequenceNumber), 0
	m.mu.Lock()
	m.stats.Discarded += len(recs)
	m.mu.Unlock()
	if m.cfg.OnFailure != nil {
		m.cfg.OnFailure(ctx, KinesisESMFailure{
			StreamARN: m.k.StreamARN(m.cfg.Stream), ShardID: c.id,
			StartSequenceNumber: aws.ToString(first.SequenceNumber), EndSequenceNumber: aws.ToString(last.SequenceNumber),
			BatchSize:                       len(recs),
			ApproximateArrivalOfFirstRecord: aws.ToTime(first.ApproximateArrivalTimestamp),
			ApproximateArrivalOfLastRecord:  aws.ToTime(last.ApproximateArrivalTimestamp),
			Reason:                          reason, InvokeCount: invokes, Err: err,
		})
	}
}

// errKinesisItemFailures marks a batch the handler partly failed.
var errKinesisItemFailures = errors.New("batch item failures")

func (m *KinesisESM) countFailure() {
	m.mu.Lock()
	m.stats.Failures++
	m.mu.Unlock()
}

// publishIteratorAge records the metric Lambda publishes for a stream
// event-source mapping, in the region's CloudWatch: AWS/Lambda IteratorAge,
// dimension FunctionName, the age of the newest record of the batch handed
// to the function (dr-drain reads it to tell a consumer has caught up).
func (m *KinesisESM) publishIteratorAge(recs []kinesistypes.Record) {
	var newest time.Time
	for _, r := range recs {
		if at := aws.ToTime(r.ApproximateArrivalTimestamp); at.After(newest) {
			newest = at
		}
	}
	if newest.IsZero() {
		return
	}
	now := m.k.r.world.Clock.Now()
	fn := m.cfg.FunctionARN
	if i := strings.LastIndex(fn, ":function:"); i >= 0 {
		fn = fn[i+len(":function:"):]
	}
	m.k.r.CloudWatch().publishServiceMetric("AWS/Lambda", "IteratorAge",
		[]cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String(fn)}},
		now, float64(max(now.Sub(newest), 0).Milliseconds()))
}
