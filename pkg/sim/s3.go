package sim

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3ServiceID is the SDK's ServiceID for S3, used in every OperationError.
const s3ServiceID = "S3"

// S3 is one region's simulated Amazon S3: buckets, versions, replication
// and event notifications.
//
// Replication is modelled per object version: a put to a bucket with a
// matching replication rule is PENDING, and after a lag (S3ReplicationLag)
// the replica appears in the destination bucket with the same key and
// version ID, status REPLICA, and the source turns COMPLETED. The copy is
// made on the world's clock (one AfterFunc drains every replication due at
// an instant), never by a real-time goroutine.
// While the source or the destination region is down the version stays
// PENDING, as S3 keeps a temporary outage's objects PENDING (docs/aws-facts.md
// "S3 replication"), and replicates as soon as both regions are up again.
type S3 struct {
	r *Region

	mu      sync.Mutex
	buckets map[string]*s3Bucket
	seq     uint64 // version IDs and sequencers
	lag     func(key string, rtc bool) time.Duration
	fail    func(key string) bool // replications to fail, for drills

	queue     s3ReplQueue // replications by due time
	replSeq   uint64      // orders replications due at the same time
	parked    []s3Repl    // replications waiting for a region to come back
	timerAt   time.Time
	stopTimer func() bool // non-nil while a drain timer is armed

	// metricsOn is set once the replication metrics publisher runs
	// (s3_metrics.go).
	metricsOn bool
}

// s3Bucket is one bucket's state. Guarded by S3.mu.
type s3Bucket struct {
	name          string
	created       time.Time
	versioning    s3types.BucketVersioningStatus
	replication   *s3types.ReplicationConfiguration
	replicationAt time.Time // when the replication configuration was put
	notification  *s3types.NotificationConfiguration
	conf          s3BucketConf            // settings of s3_config.go
	objects       map[string][]*s3Version // key → versions, oldest first
	sorted        []string                // keys in order; nil when stale
}

// keysLocked returns the bucket's keys in lexicographic order, cached until a
// key is added or removed.
func (b *s3Bucket) keysLocked() []string {
	if b.sorted == nil {
		b.sorted = make([]string, 0, len(b.objects))
		for k := range b.objects {
			b.sorted = append(b.sorted, k)
		}
		sort.Strings(b.sorted)
	}
	return b.sorted
}

// s3Version is one object version or delete marker. Its body is never
// mutated after creation, so it may be shared with readers.
type s3Version struct {
	key          string
	versionID    string
	deleteMarker bool
	content      unique.Handle[string] // the body, shared (s3SharedBody); zero when empty
	etag         string                // quoted, as S3 returns it
	modified     int64                 // LastModified, unix nanoseconds
	contentType  string
	metadata     s3Meta
	replication  s3types.ReplicationStatus
	sequencer    string
}

// data is the version's body, read-only: it is shared (s3SharedBody).
func (v *s3Version) data() []byte {
	if v.content == (unique.Handle[string]{}) {
		return nil
	}
	s := v.content.Value()
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// lastModified is when the version was written.
func (v *s3Version) lastModified() time.Time { return time.Unix(0, v.modified).UTC() }

// s3SharedBody returns the handle of body's content, the one copy of it
// every object version of the process shares: a copy-back's object in P,
// its replica back in B and B's original are the same bytes, stored once.
// The handle keeps the content canonical while a version holds it; data
// views the canonical string's bytes, which must never be written to (no
// code of the simulator writes to a stored body; readers get a
// bytes.Reader). An empty body has the zero handle.
func s3SharedBody(body []byte) unique.Handle[string] {
	if len(body) == 0 {
		return unique.Handle[string]{}
	}
	return unique.Make(string(body))
}

// S3 returns the region's S3 service.
func (r *Region) S3() *S3 {
	return r.service("s3", func() any {
		c := &S3{r: r, buckets: make(map[string]*s3Bucket), lag: DefaultReplicationLag}
		r.world.onRegionChange(c.settle)
		return c
	}).(*S3)
}

// DefaultReplicationLag is the lag SetReplicationLag(nil) restores, the
// default: it models replication lag: with Replication Time Control most
// objects replicate in seconds (SLA: 99.99% within 15 minutes); without it
// there is no SLA and minutes are common (docs/aws-facts.md "S3 replication"). The lag is a
// deterministic function of the key so runs are reproducible.
func DefaultReplicationLag(key string, rtc bool) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(key))
	n := time.Duration(h.Sum32() % 1000)
	if rtc {
		return 2*time.Second + n*8*time.Millisecond // 2–10 s
	}
	return 30*time.Second + n*270*time.Millisecond // 30 s – 5 min
}

// SetReplicationLag sets how long replication of an object put to this
// region's buckets takes; rtc reports whether the rule has Replication Time
// Control. Drills use it to model slow replication or a lag distribution.
func (c *S3) SetReplicationLag(lag func(key string, rtc bool) time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if lag == nil {
		lag = DefaultReplicationLag
	}
	c.lag = lag
}

// SetReplicationFailure makes the replication of matching keys put to this
// region's buckets end FAILED (nil: none fail), as a replication blocked by
// permissions or KMS would. S3 does not retry FAILED objects (docs/aws-facts.md
// "S3 replication");
// S3 Batch Replication, outside this simulator, re-drives them.
func (c *S3) SetReplicationFailure(fail func(key string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = fail
}

// CountByReplicationStatus counts the object versions (delete markers
// excluded) in bucket by replication status; versions that are not
// replicated count under "". It is for the drill's accounting.
func (c *S3) CountByReplicationStatus(bucket string) map[s3types.ReplicationStatus]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[s3types.ReplicationStatus]int)
	b := c.buckets[bucket]
	if b == nil {
		return out
	}
	for _, vs := range b.objects {
		for _, v := range vs {
			if !v.deleteMarker {
				out[v.replication]++
			}
		}
	}
	return out
}

func (c *S3) now() time.Time { return c.r.world.Clock.Now().UTC() }

// bucketLocked returns a bucket of this region. A bucket of another region
// is PermanentRedirect, as S3 answers a request sent to the wrong regional
// endpoint; an unknown one is NoSuchBucket.
func (c *S3) bucketLocked(name string) (*s3Bucket, error) {
	b := c.buckets[name]
	if b == nil {
		if rn, ok := s3Buckets.Load(s3BucketKey{c.r.world, name}); ok && rn.(string) != c.r.Name {
			return nil, apiErr("PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint. (bucket %s is in %s)", name, rn)
		}
		return nil, &s3types.NoSuchBucket{Message: aws.String("The specified bucket does not exist")}
	}
	return b, nil
}

// s3BucketKey names a bucket in a world: bucket names are global in AWS, so
// the world keeps one registry of which region holds which bucket.
type s3BucketKey struct {
	w    *World
	name string
}

// s3Buckets maps s3BucketKey → region name. It is read without any S3 lock
// held, so looking up another region's bucket never nests S3 locks.
var s3Buckets sync.Map

// s3FindBucket returns the region holding the named bucket, or nil.
func (w *World) s3FindBucket(name string) *Region {
	if rn, ok := s3Buckets.Load(s3BucketKey{w, name}); ok {
		return w.Region(rn.(string))
	}
	return nil
}

// CreateBucket creates a bucket in this region.
func (c *S3) CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error) {
	const op = "CreateBucket"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Bucket)
	if err := s3ValidBucketName(name); err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	if in.CreateBucketConfiguration != nil {
		if lc := string(in.CreateBucketConfiguration.LocationConstraint); lc != "" && lc != c.r.Name {
			return nil, opErr(s3ServiceID, op, apiErr("IllegalLocationConstraintException",
				"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", lc))
		}
	}
	if _, taken := s3Buckets.LoadOrStore(s3BucketKey{c.r.world, name}, c.r.Name); taken {
		return nil, opErr(s3ServiceID, op, &s3types.BucketAlreadyOwnedByYou{Message: aws.String("Your previous request to create the named bucket succeeded and you already own it.")})
	}
	c.mu.Lock()
	c.buckets[name] = &s3Bucket{name: name, created: c.now(), objects: make(map[string][]*s3Version)}
	c.mu.Unlock()
	return &s3.CreateBucketOutput{Location: aws.String("/" + name)}, nil
}

// s3ValidBucketName applies S3's bucket naming rules (3–63 characters of
// lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit).
func s3ValidBucketName(name string) error {
	ok := len(name) >= 3 && len(name) <= 63
	for i := 0; ok && i < len(name); i++ {
		ch := name[i]
		alnum := ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9'
		if !alnum && ch != '.' && ch != '-' || (i == 0 || i == len(name)-1) && !alnum {
			ok = false
		}
	}
	if !ok {
		return apiErr("InvalidBucketName", "The specified bucket is not valid.")
	}
	return nil
}

// HeadBucket reports whether the bucket exists in this region. A bucket of
// another region is MovedPermanently, as the SDK reports S3's bodiless 301.
func (c *S3) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	const op = "HeadBucket"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.bucketLocked(aws.ToString(in.Bucket)); err != nil {
		// HEAD responses have no body: a missing bucket is a bare NotFound,
		// another region's a 301.
		return nil, opErr(s3ServiceID, op, s3HeadErr(err))
	}
	return &s3.HeadBucketOutput{BucketRegion: aws.String(c.r.Name)}, nil
}

// GetBucketLocation returns the bucket's region (empty for us-east-1, as S3 does).
func (c *S3) GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error) {
	const op = "GetBucketLocation"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.bucketLocked(aws.ToString(in.Bucket)); err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	lc := s3types.BucketLocationConstraint(c.r.Name)
	if c.r.Name == "us-east-1" {
		lc = ""
	}
	return &s3.GetBucketLocationOutput{LocationConstraint: lc}, nil
}

// PutBucketVersioning enables or suspends versioning.
func (c *S3) PutBucketVersioning(ctx context.Context, in *s3.PutBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.PutBucketVersioningOutput, error) {
	const op = "PutBucketVersioning"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.VersioningConfiguration == nil {
		return nil, opErr(s3ServiceID, op, apiErr("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
	}
	st := in.VersioningConfiguration.Status
	if st != s3types.BucketVersioningStatusEnabled && st != s3types.BucketVersioningStatusSuspended {
		return nil, opErr(s3ServiceID, op, apiErr("IllegalVersioningConfigurationException", "The Versioning element must be specified"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	if st == s3types.BucketVersioningStatusSuspended && b.replication != nil {
		return nil, opErr(s3ServiceID, op, apiErr("InvalidBucketState", "Replication configuration is present on this bucket, so you cannot change the versioning state. To change the versioning state, first delete the replication configuration."))
	}
	b.versioning = st
	return &s3.PutBucketVersioningOutput{}, nil
}

// GetBucketVersioning returns the versioning status ("" if never set).
func (c *S3) GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error) {
	const op = "GetBucketVersioning"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	return &s3.GetBucketVersioningOutput{Status: b.versioning}, nil
}

// PutBucketReplication sets the bucket's replication configuration. As S3
// requires, the source bucket must have versioning enabled. The destination
// is checked when an object replicates: a missing or unversioned
// destination turns the object FAILED.
func (c *S3) PutBucketReplication(ctx context.Context, in *s3.PutBucketReplicationInput, optFns ...func(*s3.Options)) (*s3.PutBucketReplicationOutput, error) {
	const op = "PutBucketReplication"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	cfg := in.ReplicationConfiguration
	if cfg == nil || len(cfg.Rules) == 0 {
		return nil, opErr(s3ServiceID, op, apiErr("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
	}
	for _, rule := range cfg.Rules {
		if rule.Destination == nil || !strings.HasPrefix(aws.ToString(rule.Destination.Bucket), "arn:aws:s3:::") {
			return nil, opErr(s3ServiceID, op, apiErr("InvalidArgument", "Invalid destination bucket ARN: %q", aws.ToString(rule.Destination.Bucket)))
		}
		if rt := rule.Destination.ReplicationTime; rt != nil && rt.Status == s3types.ReplicationTimeStatusEnabled {
			if m := rule.Destination.Metrics; m == nil || m.Status != s3types.MetricsStatusEnabled {
				return nil, opErr(s3ServiceID, op, apiErr("InvalidRequest", "Replication Time Control requires Metrics to be enabled"))
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	if b.versioning != s3types.BucketVersioningStatusEnabled {
		return nil, opErr(s3ServiceID, op, apiErr("InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a replication configuration"))
	}
	cp := *cfg
	cp.Rules = append([]s3types.ReplicationRule(nil), cfg.Rules...)
	b.replication, b.replicationAt = &cp, c.now()
	c.startMetricsLocked(&cp)
	return &s3.PutBucketReplicationOutput{}, nil
}

// GetBucketReplication returns the replication configuration.
func (c *S3) GetBucketReplication(ctx context.Context, in *s3.GetBucketReplicationInput, optFns ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error) {
	const op = "GetBucketReplication"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	if b.replication == nil {
		return nil, opErr(s3ServiceID, op, apiErr("ReplicationConfigurationNotFoundError", "The replication configuration was not found"))
	}
	cp := *b.replication
	return &s3.GetBucketReplicationOutput{ReplicationConfiguration: &cp}, nil
}

// DeleteBucketReplication removes the replication configuration.
func (c *S3) DeleteBucketReplication(ctx context.Context, in *s3.DeleteBucketReplicationInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketReplicationOutput, error) {
	const op = "DeleteBucketReplication"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	b.replication = nil
	return &s3.DeleteBucketReplicationOutput{}, nil
}

// PutBucketNotificationConfiguration sets the bucket's event notifications.
// Queue and topic configurations are delivered through the world's sinks.
func (c *S3) PutBucketNotificationConfiguration(ctx context.Context, in *s3.PutBucketNotificationConfigurationInput, optFns ...func(*s3.Options)) (*s3.PutBucketNotificationConfigurationOutput, error) {
	const op = "PutBucketNotificationConfiguration"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.NotificationConfiguration == nil {
		return nil, opErr(s3ServiceID, op, apiErr("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
	}
	for _, q := range in.NotificationConfiguration.QueueConfigurations {
		if len(strings.Split(aws.ToString(q.QueueArn), ":")) != 6 {
			return nil, opErr(s3ServiceID, op, apiErr("InvalidArgument", "Unable to validate the following destination configurations"))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	cp := *in.NotificationConfiguration
	b.notification = &cp
	return &s3.PutBucketNotificationConfigurationOutput{}, nil
}

// GetBucketNotificationConfiguration returns the notification configuration.
func (c *S3) GetBucketNotificationConfiguration(ctx context.Context, in *s3.GetBucketNotificationConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetBucketNotificationConfigurationOutput, error) {
	const op = "GetBucketNotificationConfiguration"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	out := &s3.GetBucketNotificationConfigurationOutput{}
	if b.notification != nil {
		out.QueueConfigurations = b.notification.QueueConfigurations
		out.TopicConfigurations = b.notification.TopicConfigurations
		out.LambdaFunctionConfigurations = b.notification.LambdaFunctionConfigurations
	}
	return out, nil
}

// s3NextVersionIDLocked returns a fresh version ID: 32 URL-safe characters,
// unique in the world (the region name is folded in) and deterministic.
func (c *S3) s3NextVersionIDLocked() (versionID, sequencer string) {
	c.seq++
	h := fnv.New64a()
	h.Write([]byte(c.r.Name))
	var raw [24]byte
	for i := 0; i < 8; i++ {
		raw[i] = byte(h.Sum64() >> (8 * i))
		raw[8+i] = byte(c.seq >> (8 * (7 - i)))
	}
	copy(raw[16:], "pendulum")
	return base64.RawURLEncoding.EncodeToString(raw[:]), fmt.Sprintf("%016X", uint64(c.now().UnixNano())/1000+c.seq)
}

// s3Event is one pending notification, delivered after the lock is released.
type s3Event struct {
	region, arn, body string
}

// s3Write is what a put or copy stores.
type s3Write struct {
	key         string
	body        []byte
	contentType string
	metadata    s3Meta
	versionID   string // set for replicas: the source's version ID
	etag        string // set for replicas and copies: the source's ETag
	replica     bool
	eventName   string // "ObjectCreated:Put" or "ObjectCreated:Copy"
}

// putLocked stores a new version and returns it with the notifications and
// replication it triggers.
func (c *S3) putLocked(b *s3Bucket, w s3Write) (*s3Version, []s3Event, *s3types.ReplicationRule) {
	etag := w.etag
	if etag == "" {
		sum := md5.Sum(w.body)
		etag = `"` + hex.EncodeToString(sum[:]) + `"`
	}
	vid, seq := c.s3NextVersionIDLocked()
	if w.versionID != "" {
		vid = w.versionID
	}
	if b.versioning != s3types.BucketVersioningStatusEnabled {
		vid = "null"
	}
	key := w.key
	if vs := b.objects[key]; len(vs) > 0 {
		key = vs[0].key // one string for every version of a key
	}
	content := s3SharedBody(w.body)
	v := &s3Version{
		key: key, versionID: vid, content: content, etag: etag,
		modified: c.now().UnixNano(), contentType: w.contentType, metadata: w.metadata, sequencer: seq,
	}
	if v.contentType == "" {
		v.contentType = "binary/octet-stream"
	}
	var rule *s3types.ReplicationRule
	if w.replica {
		v.replication = s3types.ReplicationStatusReplica
	}
	if !w.replica || s3ReplicaModificationsOn(b) {
		if rule = s3MatchRule(b, w.key); rule != nil {
			v.replication = s3types.ReplicationStatusPending
		}
	}
	c.addVersionLocked(b, v)
	return v, c.eventsLocked(b, v, w.eventName), rule
}

// addVersionLocked appends v; an unversioned (or suspended) bucket keeps a
// single "null" version per key, which a new write replaces.
func (c *S3) addVersionLocked(b *s3Bucket, v *s3Version) {
	vs := b.objects[v.key]
	if len(vs) == 0 {
		b.sorted = nil
	}
	if v.versionID == "null" {
		kept := vs[:0]
		for _, old := range vs {
			if old.versionID != "null" {
				kept = append(kept, old)
			}
		}
		vs = kept
	}
	b.objects[v.key] = append(vs, v)
}

func s3ReplicaModificationsOn(b *s3Bucket) bool {
	if b.replication == nil {
		return false
	}
	for _, r := range b.replication.Rules {
		if ssc := r.SourceSelectionCriteria; ssc != nil && ssc.ReplicaModifications != nil &&
			ssc.ReplicaModifications.Status == s3types.ReplicaModificationsStatusEnabled {
			return true
		}
	}
	return false
}

// s3MatchRule returns the enabled rule with the highest priority whose
// prefix filter matches key, or nil.
func s3MatchRule(b *s3Bucket, key string) *s3types.ReplicationRule {
	if b.replication == nil {
		return nil
	}
	var best *s3types.ReplicationRule
	for i := range b.replication.Rules {
		r := &b.replication.Rules[i]
		if r.Status != s3types.ReplicationRuleStatusEnabled {
			continue
		}
		prefix := aws.ToString(r.Prefix)
		if r.Filter != nil {
			prefix = aws.ToString(r.Filter.Prefix)
			if r.Filter.And != nil {
				prefix = aws.ToString(r.Filter.And.Prefix)
			}
		}
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		if best == nil || aws.ToInt32(r.Priority) > aws.ToInt32(best.Priority) {
			best = r
		}
	}
	return best
}

// eventsLocked builds the notifications v triggers in bucket b.
func (c *S3) eventsLocked(b *s3Bucket, v *s3Version, eventName string) []s3Event {
	if b.notification == nil || eventName == "" {
		return nil
	}
	type target struct {
		id, arn string
		events  []s3types.Event
		filter  *s3types.NotificationConfigurationFilter
	}
	var ts []target
	for _, q := range b.notification.QueueConfigurations {
		ts = append(ts, target{aws.ToString(q.Id), aws.ToString(q.QueueArn), q.Events, q.Filter})
	}
	for _, t := range b.notification.TopicConfigurations {
		ts = append(ts, target{aws.ToString(t.Id), aws.ToString(t.TopicArn), t.Events, t.Filter})
	}
	var out []s3Event
	for _, t := range ts {
		if !s3EventMatches(t.events, eventName) || !s3FilterMatches(t.filter, v.key) {
			continue
		}
		parts := strings.Split(t.arn, ":")
		if len(parts) != 6 {
			continue
		}
		out = append(out, s3Event{region: parts[3], arn: t.arn, body: c.eventBody(b, v, eventName, t.id)})
	}
	return out
}

func s3EventMatches(events []s3types.Event, name string) bool {
	for _, e := range events {
		pattern := strings.TrimPrefix(string(e), "s3:")
		if pattern == name || strings.HasSuffix(pattern, ":*") && strings.HasPrefix(name, strings.TrimSuffix(pattern, "*")) {
			return true
		}
	}
	return false
}

func s3FilterMatches(f *s3types.NotificationConfigurationFilter, key string) bool {
	if f == nil || f.Key == nil {
		return true
	}
	for _, r := range f.Key.FilterRules {
		switch strings.ToLower(string(r.Name)) {
		case "prefix":
			if !strings.HasPrefix(key, aws.ToString(r.Value)) {
				return false
			}
		case "suffix":
			if !strings.HasSuffix(key, aws.ToString(r.Value)) {
				return false
			}
		}
	}
	return true
}

// S3EventNotification is the body S3 sends to a queue or topic, in AWS's
// event message structure (version 2.1).
type S3EventNotification struct {
	Records []S3EventRecord `json:"Records"`
}

// S3EventRecord is one record of an S3EventNotification.
type S3EventRecord struct {
	EventVersion      string           `json:"eventVersion"`
	EventSource       string           `json:"eventSource"`
	AWSRegion         string           `json:"awsRegion"`
	EventTime         string           `json:"eventTime"`
	EventName         string           `json:"eventName"`
	UserIdentity      S3EventPrincipal `json:"userIdentity"`
	RequestParameters S3EventRequest   `json:"requestParameters"`
	ResponseElements  S3EventResponse  `json:"responseElements"`
	S3                S3EventEntity    `json:"s3"`
}

// S3EventPrincipal is an identity of an S3EventRecord: the requester
// (userIdentity) or the bucket's owner (ownerIdentity).
type S3EventPrincipal struct {
	PrincipalID string `json:"principalId"`
}

// S3EventRequest is the requestParameters member of an S3EventRecord.
type S3EventRequest struct {
	SourceIPAddress string `json:"sourceIPAddress"`
}

// S3EventResponse is the responseElements member of an S3EventRecord: the
// request IDs of the call that caused the event.
type S3EventResponse struct {
	RequestID string `json:"x-amz-request-id"`
	HostID    string `json:"x-amz-id-2"`
}

// S3EventEntity is the s3 member of an S3EventRecord.
type S3EventEntity struct {
	SchemaVersion   string        `json:"s3SchemaVersion"`
	ConfigurationID string        `json:"configurationId"`
	Bucket          S3EventBucket `json:"bucket"`
	Object          S3EventObject `json:"object"`
}

// S3EventBucket names the bucket of an S3EventRecord.
type S3EventBucket struct {
	Name          string           `json:"name"`
	OwnerIdentity S3EventPrincipal `json:"ownerIdentity"`
	ARN           string           `json:"arn"`
}

// S3EventObject describes the object of an S3EventRecord. Key is URL-encoded
// as S3 encodes it (space as '+').
type S3EventObject struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	Sequencer string `json:"sequencer"`
}

// S3EventKey encodes an object key as S3 event notifications carry it:
// form-encoded (space as '+', '=' as %3D) with '/' kept.
func S3EventKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.QueryEscape(s)
	}
	return strings.Join(segs, "/")
}

func (c *S3) eventBody(b *s3Bucket, v *s3Version, eventName, configID string) string {
	principal := "AWS:" + c.r.world.Account
	rec := S3EventRecord{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: c.r.Name,
		EventTime:         v.lastModified().Format("2006-01-02T15:04:05.000Z"),
		EventName:         eventName,
		UserIdentity:      S3EventPrincipal{PrincipalID: principal},
		RequestParameters: S3EventRequest{SourceIPAddress: "127.0.0.1"},
		ResponseElements:  S3EventResponse{RequestID: v.sequencer, HostID: base64.StdEncoding.EncodeToString([]byte(c.r.Name + "/" + v.sequencer))},
		S3: S3EventEntity{
			SchemaVersion: "1.0", ConfigurationID: configID,
			Bucket: S3EventBucket{Name: b.name, OwnerIdentity: S3EventPrincipal{PrincipalID: c.r.world.Account}, ARN: "arn:aws:s3:::" + b.name},
			Object: S3EventObject{Key: S3EventKey(v.key), Size: int64(len(v.data())), ETag: strings.Trim(v.etag, `"`), Sequencer: v.sequencer},
		},
	}
	if v.versionID != "null" {
		rec.S3.Object.VersionID = v.versionID
	}
	body, _ := json.Marshal(S3EventNotification{Records: []S3EventRecord{rec}})
	return string(body)
}

// s3Deliver hands out notifications; called without locks held because a
// sink may call back into the world.
func (w *World) s3Deliver(evs []s3Event) {
	regions := w.Regions()
	for _, e := range evs {
		i := sort.SearchStrings(regions, e.region)
		if i < len(regions) && regions[i] == e.region {
			w.deliver(e.region, e.arn, e.body)
		}
	}
}

// PutObject stores an object. The body is read fully.
func (c *S3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	const op = "PutObject"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	key := aws.ToString(in.Key)
	if key == "" || len(key) > 1024 {
		return nil, opErr(s3ServiceID, op, apiErr("KeyTooLongError", "Your key is too long"))
	}
	var body []byte
	if in.Body != nil {
		var err error
		if body, err = io.ReadAll(in.Body); err != nil {
			return nil, opErr(s3ServiceID, op, fmt.Errorf("read body: %w", err))
		}
	}
	c.mu.Lock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		c.mu.Unlock()
		return nil, opErr(s3ServiceID, op, err)
	}
	if aws.ToString(in.IfNoneMatch) == "*" {
		if cur := s3Latest(b, key); cur != nil && !cur.deleteMarker {
			c.mu.Unlock()
			return nil, opErr(s3ServiceID, op, apiErr("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
		}
	}
	v, evs, rule := c.putLocked(b, s3Write{key: key, body: body, contentType: aws.ToString(in.ContentType), metadata: s3LowerMeta(in.Metadata), eventName: "ObjectCreated:Put"})
	c.scheduleLocked(b.name, v, rule)
	c.mu.Unlock()
	c.r.world.s3Deliver(evs)
	out := &s3.PutObjectOutput{ETag: aws.String(v.etag), Size: aws.Int64(int64(len(body)))}
	if v.versionID != "null" {
		out.VersionId = aws.String(v.versionID)
	}
	return out, nil
}

// s3Meta is an object version's user metadata: names (lower case, as S3
// keeps them) and values, alternating, ordered by name. It is never
// changed once made, so versions share it (a copy, a replica); a few
// pairs in one slice cost a fraction of a map, for every version of
// millions.
type s3Meta []string

// s3LowerMeta is the metadata of a request's x-amz-meta- headers.
func s3LowerMeta(m map[string]string) s3Meta {
	if len(m) == 0 {
		return nil
	}
	names := make([]string, 0, len(m))
	lower := make(map[string]string, len(m))
	for k, v := range m {
		l := strings.ToLower(k)
		if _, dup := lower[l]; !dup {
			names = append(names, l)
		}
		lower[l] = v
	}
	sort.Strings(names)
	out := make(s3Meta, 0, 2*len(names))
	for _, n := range names {
		out = append(out, n, lower[n])
	}
	return out
}

// s3CopyMeta returns m as the SDK's map, the caller's own.
func s3CopyMeta(m s3Meta) map[string]string {
	out := make(map[string]string, len(m)/2)
	for i := 0; i+1 < len(m); i += 2 {
		out[m[i]] = m[i+1]
	}
	return out
}

func s3Latest(b *s3Bucket, key string) *s3Version {
	vs := b.objects[key]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// lookupLocked finds the version a Get/Head/Copy reads.
func (c *S3) lookupLocked(bucket, key, versionID string) (*s3Version, error) {
	b, err := c.bucketLocked(bucket)
	if err != nil {
		return nil, err
	}
	if versionID == "" {
		v := s3Latest(b, key)
		if v == nil || v.deleteMarker {
			return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
		}
		return v, nil
	}
	for _, v := range b.objects[key] {
		if v.versionID == versionID {
			if v.deleteMarker {
				return nil, apiErr("MethodNotAllowed", "The specified method is not allowed against this resource.")
			}
			return v, nil
		}
	}
	return nil, apiErr("NoSuchVersion", "The specified version does not exist.")
}

// GetObject returns an object (the latest version, or the one named).
func (c *S3) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	const op = "GetObject"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, err := c.lookupLocked(aws.ToString(in.Bucket), aws.ToString(in.Key), aws.ToString(in.VersionId))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	out := &s3.GetObjectOutput{
		Body: io.NopCloser(bytes.NewReader(v.data())), ContentLength: aws.Int64(int64(len(v.data()))),
		ETag: aws.String(v.etag), LastModified: aws.Time(v.lastModified()), ContentType: aws.String(v.contentType),
		Metadata: s3CopyMeta(v.metadata), ReplicationStatus: v.replication,
	}
	if v.versionID != "null" {
		out.VersionId = aws.String(v.versionID)
	}
	return out, nil
}

// HeadObject returns an object's metadata. Its errors are what the SDK
// makes of a bodiless HEAD response (see s3HeadErr): a missing bucket, key
// or version is NotFound, never NoSuchKey or NoSuchBucket.
func (c *S3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	const op = "HeadObject"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, err := c.lookupLocked(aws.ToString(in.Bucket), aws.ToString(in.Key), aws.ToString(in.VersionId))
	if err != nil {
		return nil, opErr(s3ServiceID, op, s3HeadErr(err))
	}
	out := &s3.HeadObjectOutput{
		ContentLength: aws.Int64(int64(len(v.data()))), ETag: aws.String(v.etag), LastModified: aws.Time(v.lastModified()),
		ContentType: aws.String(v.contentType), Metadata: s3CopyMeta(v.metadata), ReplicationStatus: v.replication,
	}
	if v.versionID != "null" {
		out.VersionId = aws.String(v.versionID)
	}
	return out, nil
}

// s3HeadErr turns the error a GET would get into the one the SDK reports
// for a HEAD request. S3 answers HEAD with a status and no body, so the
// SDK's deserializer has no error code to read and derives one from the
// status text: 404 is the modelled *types.NotFound, 301 (another region's
// bucket) "MovedPermanently", 405 (a delete marker's version)
// "MethodNotAllowed".
func s3HeadErr(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode() {
	case "NoSuchKey", "NoSuchBucket", "NoSuchVersion":
		return &s3types.NotFound{Message: aws.String(http.StatusText(http.StatusNotFound))}
	case "PermanentRedirect":
		return &smithy.GenericAPIError{Code: "MovedPermanently", Message: http.StatusText(http.StatusMovedPermanently)}
	case "MethodNotAllowed":
		return &smithy.GenericAPIError{Code: "MethodNotAllowed", Message: http.StatusText(http.StatusMethodNotAllowed)}
	}
	return err
}

// deleteLocked deletes key (or one version of it) and returns the result
// with the notifications and replication it triggers.
func (c *S3) deleteLocked(b *s3Bucket, key, versionID string) (s3types.DeletedObject, []s3Event, *s3Version, *s3types.ReplicationRule) {
	res := s3types.DeletedObject{Key: aws.String(key)}
	if versionID != "" {
		vs := b.objects[key]
		for i, v := range vs {
			if v.versionID == versionID {
				b.objects[key] = append(vs[:i:i], vs[i+1:]...)
				if len(b.objects[key]) == 0 {
					delete(b.objects, key)
					b.sorted = nil
				}
				res.VersionId = aws.String(versionID)
				if v.deleteMarker {
					res.DeleteMarker = aws.Bool(true)
					res.DeleteMarkerVersionId = aws.String(versionID)
				}
				return res, c.eventsLocked(b, v, "ObjectRemoved:Delete"), nil, nil
			}
		}
		res.VersionId = aws.String(versionID)
		return res, nil, nil, nil // deleting a missing version succeeds, as in S3
	}
	if b.versioning == "" {
		old := s3Latest(b, key)
		delete(b.objects, key)
		b.sorted = nil
		if old == nil {
			return res, nil, nil, nil
		}
		return res, c.eventsLocked(b, old, "ObjectRemoved:Delete"), nil, nil
	}
	vid, seq := c.s3NextVersionIDLocked()
	if b.versioning != s3types.BucketVersioningStatusEnabled {
		vid = "null"
	}
	m := &s3Version{key: key, versionID: vid, deleteMarker: true, modified: c.now().UnixNano(), sequencer: seq}
	c.addVersionLocked(b, m)
	res.DeleteMarker = aws.Bool(true)
	res.DeleteMarkerVersionId = aws.String(vid)
	var rule *s3types.ReplicationRule
	if r := s3MatchRule(b, key); r != nil && r.DeleteMarkerReplication != nil && r.DeleteMarkerReplication.Status == s3types.DeleteMarkerReplicationStatusEnabled {
		rule = r
	}
	return res, c.eventsLocked(b, m, "ObjectRemoved:DeleteMarkerCreated"), m, rule
}

// DeleteObject deletes an object: in a versioned bucket without a VersionId
// it adds a delete marker; with a VersionId it removes that version.
func (c *S3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	const op = "DeleteObject"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		c.mu.Unlock()
		return nil, opErr(s3ServiceID, op, err)
	}
	res, evs, marker, rule := c.deleteLocked(b, aws.ToString(in.Key), aws.ToString(in.VersionId))
	if marker != nil {
		c.scheduleLocked(b.name, marker, rule)
	}
	c.mu.Unlock()
	c.r.world.s3Deliver(evs)
	out := &s3.DeleteObjectOutput{DeleteMarker: res.DeleteMarker, VersionId: res.VersionId}
	if res.DeleteMarkerVersionId != nil {
		out.VersionId = res.DeleteMarkerVersionId
	}
	return out, nil
}

// DeleteObjects deletes up to 1,000 objects.
func (c *S3) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	const op = "DeleteObjects"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.Delete == nil || len(in.Delete.Objects) == 0 || len(in.Delete.Objects) > 1000 {
		return nil, opErr(s3ServiceID, op, apiErr("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
	}
	c.mu.Lock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		c.mu.Unlock()
		return nil, opErr(s3ServiceID, op, err)
	}
	out := &s3.DeleteObjectsOutput{}
	var all []s3Event
	for _, o := range in.Delete.Objects {
		res, evs, marker, rule := c.deleteLocked(b, aws.ToString(o.Key), aws.ToString(o.VersionId))
		if marker != nil {
			c.scheduleLocked(b.name, marker, rule)
		}
		all = append(all, evs...)
		if !aws.ToBool(in.Delete.Quiet) {
			out.Deleted = append(out.Deleted, res)
		}
	}
	c.mu.Unlock()
	c.r.world.s3Deliver(all)
	return out, nil
}

// s3ParseCopySource splits "bucket/key?versionId=v" (URL-encoded, optional
// leading slash).
func s3ParseCopySource(src string) (bucket, key, versionID string, err error) {
	src = strings.TrimPrefix(src, "/")
	if i := strings.Index(src, "?"); i >= 0 {
		q, perr := url.ParseQuery(src[i+1:])
		if perr != nil {
			return "", "", "", perr
		}
		versionID = q.Get("versionId")
		src = src[:i]
	}
	i := strings.Index(src, "/")
	if i <= 0 || i == len(src)-1 {
		return "", "", "", fmt.Errorf("copy source %q has no key", src)
	}
	key, err = url.PathUnescape(src[i+1:])
	return src[:i], key, versionID, err
}

// CopyObject copies an object, possibly from a bucket in another region (the
// source region must then be up).
func (c *S3) CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	const op = "CopyObject"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	sb, sk, svid, err := s3ParseCopySource(aws.ToString(in.CopySource))
	if err != nil {
		return nil, opErr(s3ServiceID, op, apiErr("InvalidArgument", "Invalid copy source: %v", err))
	}
	srcRegion := c.r.world.s3FindBucket(sb)
	if srcRegion == nil {
		return nil, opErr(s3ServiceID, op, &s3types.NoSuchBucket{Message: aws.String("The specified bucket does not exist")})
	}
	if srcRegion != c.r && c.r.world.Down(srcRegion.Name) {
		return nil, opErr(s3ServiceID, op, &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "Please reduce your request rate.", Fault: smithy.FaultServer})
	}
	src := srcRegion.S3()
	src.mu.Lock()
	sv, err := src.lookupLocked(sb, sk, svid)
	src.mu.Unlock()
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	meta, ctype := sv.metadata, sv.contentType
	if in.MetadataDirective == s3types.MetadataDirectiveReplace {
		meta, ctype = s3LowerMeta(in.Metadata), aws.ToString(in.ContentType)
	} else if sb == aws.ToString(in.Bucket) && sk == aws.ToString(in.Key) {
		return nil, opErr(s3ServiceID, op, apiErr("InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."))
	}
	c.mu.Lock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		c.mu.Unlock()
		return nil, opErr(s3ServiceID, op, err)
	}
	v, evs, rule := c.putLocked(b, s3Write{key: aws.ToString(in.Key), body: sv.data(), etag: sv.etag, contentType: ctype, metadata: meta, eventName: "ObjectCreated:Copy"})
	c.scheduleLocked(b.name, v, rule)
	c.mu.Unlock()
	c.r.world.s3Deliver(evs)
	out := &s3.CopyObjectOutput{CopyObjectResult: &s3types.CopyObjectResult{ETag: aws.String(v.etag), LastModified: aws.Time(v.lastModified())}}
	if v.versionID != "null" {
		out.VersionId = aws.String(v.versionID)
	}
	if sv.versionID != "null" {
		out.CopySourceVersionId = aws.String(sv.versionID)
	}
	return out, nil
}

// s3EncodeToken makes an opaque continuation token from the key to resume after.
func s3EncodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after))
}

// ListObjectsV2 lists current objects in key order, with prefix, delimiter,
// MaxKeys (default and cap 1,000), ContinuationToken and StartAfter.
func (c *S3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	const op = "ListObjectsV2"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	maxKeys := int(aws.ToInt32(in.MaxKeys))
	if in.MaxKeys == nil || maxKeys > 1000 {
		maxKeys = 1000
	}
	if maxKeys < 0 {
		return nil, opErr(s3ServiceID, op, apiErr("InvalidArgument", "maxKeys should be non-negative"))
	}
	after := aws.ToString(in.StartAfter)
	if tok := aws.ToString(in.ContinuationToken); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, opErr(s3ServiceID, op, apiErr("InvalidArgument", "The continuation token provided is incorrect"))
		}
		after = string(raw)
	}
	prefix, delim := aws.ToString(in.Prefix), aws.ToString(in.Delimiter)
	c.mu.Lock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		c.mu.Unlock()
		return nil, opErr(s3ServiceID, op, err)
	}
	defer c.mu.Unlock()
	out := &s3.ListObjectsV2Output{
		Name: in.Bucket, Prefix: in.Prefix, Delimiter: in.Delimiter, MaxKeys: aws.Int32(int32(maxKeys)),
		ContinuationToken: in.ContinuationToken, StartAfter: in.StartAfter, IsTruncated: aws.Bool(false),
	}
	keys := b.keysLocked()
	n, lastCP, resume := 0, "", ""
	for i := sort.SearchStrings(keys, max(prefix, after)); i < len(keys); i++ {
		k := keys[i]
		if !strings.HasPrefix(k, prefix) {
			break
		}
		v := s3Latest(b, k)
		if k <= after || v.deleteMarker {
			continue
		}
		item, isCP := k, false
		if delim != "" {
			if j := strings.Index(k[len(prefix):], delim); j >= 0 {
				item, isCP = k[:len(prefix)+j+len(delim)], true
				if item == lastCP {
					continue
				}
			}
		}
		if n == maxKeys {
			if maxKeys > 0 {
				out.IsTruncated, out.NextContinuationToken = aws.Bool(true), aws.String(s3EncodeToken(resume))
			}
			break
		}
		n++
		if isCP {
			lastCP = item
			resume = item + "\xff" // past every key under the common prefix
			out.CommonPrefixes = append(out.CommonPrefixes, s3types.CommonPrefix{Prefix: aws.String(item)})
			continue
		}
		resume = k
		out.Contents = append(out.Contents, s3types.Object{
			Key: aws.String(k), ETag: aws.String(v.etag), LastModified: aws.Time(v.lastModified()),
			Size: aws.Int64(int64(len(v.data()))), StorageClass: s3types.ObjectStorageClassStandard,
		})
	}
	out.KeyCount = aws.Int32(int32(n))
	return out, nil
}

// ListObjectVersions lists every version and delete marker, keys in order and
// versions newest first, with KeyMarker/VersionIdMarker pagination.
func (c *S3) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	const op = "ListObjectVersions"
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return nil, err
	}
	maxKeys := int(aws.ToInt32(in.MaxKeys))
	if in.MaxKeys == nil || maxKeys > 1000 {
		maxKeys = 1000
	}
	prefix, keyMarker, vidMarker := aws.ToString(in.Prefix), aws.ToString(in.KeyMarker), aws.ToString(in.VersionIdMarker)
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(aws.ToString(in.Bucket))
	if err != nil {
		return nil, opErr(s3ServiceID, op, err)
	}
	all := b.keysLocked()
	var keys []string
	for i := sort.SearchStrings(all, max(prefix, keyMarker)); i < len(all) && strings.HasPrefix(all[i], prefix); i++ {
		keys = append(keys, all[i])
	}
	out := &s3.ListObjectVersionsOutput{Name: in.Bucket, Prefix: in.Prefix, KeyMarker: in.KeyMarker, VersionIdMarker: in.VersionIdMarker,
		MaxKeys: aws.Int32(int32(maxKeys)), IsTruncated: aws.Bool(false)}
	n := 0
	for _, k := range keys {
		vs := b.objects[k]
		skipping := k == keyMarker
		if skipping && vidMarker == "" {
			continue // KeyMarker alone resumes after the key
		}
		for i := len(vs) - 1; i >= 0; i-- {
			v := vs[i]
			if skipping {
				if v.versionID == vidMarker {
					skipping = false
				}
				continue
			}
			if n == maxKeys {
				out.IsTruncated = aws.Bool(true)
				return out, nil
			}
			latest := i == len(vs)-1
			if v.deleteMarker {
				out.DeleteMarkers = append(out.DeleteMarkers, s3types.DeleteMarkerEntry{Key: aws.String(k), VersionId: aws.String(v.versionID),
					IsLatest: aws.Bool(latest), LastModified: aws.Time(v.lastModified())})
			} else {
				out.Versions = append(out.Versions, s3types.ObjectVersion{Key: aws.String(k), VersionId: aws.String(v.versionID),
					IsLatest: aws.Bool(latest), LastModified: aws.Time(v.lastModified()), ETag: aws.String(v.etag),
					Size: aws.Int64(int64(len(v.data()))), StorageClass: s3types.ObjectVersionStorageClassStandard})
			}
			out.NextKeyMarker, out.NextVersionIdMarker = aws.String(k), aws.String(v.versionID)
			n++
		}
	}
	out.NextKeyMarker, out.NextVersionIdMarker = nil, nil
	return out, nil
}

// s3Repl is one replication waiting in the queue.
type s3Repl struct {
	due    time.Time
	bucket string
	v      *s3Version
	dest   string
	rule   string // the ID of the rule that replicates it
	// keepReplica leaves a replica's status REPLICA once it is replicated
	// on (a Batch Replication of a replica); done, when set, is told how
	// the replication ended (a Batch Replication job's task).
	keepReplica bool
	done        func(s3types.ReplicationStatus)
	seq         uint64 // the order it was queued in
}

// s3ReplQueue is a min-heap of replications by due time, then by the
// order they were queued in.
type s3ReplQueue []s3Repl

func (q s3ReplQueue) Len() int { return len(q) }
func (q s3ReplQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q s3ReplQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *s3ReplQueue) Push(x any)   { *q = append(*q, x.(s3Repl)) }
func (q *s3ReplQueue) Pop() any {
	old := *q
	r := old[len(old)-1]
	old[len(old)-1] = s3Repl{} // no stale reference past the end
	*q = old[:len(old)-1]
	return r
}

// settle runs around every SetDown: parked replications whose regions are
// both up again are due at once. No timer runs while a region is down, so an
// outage costs nothing until it ends.
func (c *S3) settle() {
	w := c.r.world
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.parked) == 0 || w.Down(c.r.Name) {
		return
	}
	now := c.now()
	kept := c.parked[:0]
	for _, r := range c.parked {
		if dr := w.s3FindBucket(r.dest); dr != nil && w.Down(dr.Name) {
			kept = append(kept, r)
			continue
		}
		r.due = now
		c.enqueueLocked(r)
	}
	c.parked = kept
}

// scheduleLocked arranges the replication of v under rule (nil: none).
func (c *S3) scheduleLocked(bucket string, v *s3Version, rule *s3types.ReplicationRule) {
	if rule == nil {
		return
	}
	rtc := rule.Destination.ReplicationTime != nil && rule.Destination.ReplicationTime.Status == s3types.ReplicationTimeStatusEnabled
	dest := strings.TrimPrefix(aws.ToString(rule.Destination.Bucket), "arn:aws:s3:::")
	c.enqueueLocked(s3Repl{due: c.now().Add(c.lag(v.key, rtc)), bucket: bucket, v: v, dest: dest, rule: aws.ToString(rule.ID)})
}

// enqueueLocked adds r to the due-ordered queue and makes sure one timer is
// armed for the earliest entry. A single timer drains every due entry, so a
// large backlog costs one goroutine per instant, not one per object.
func (c *S3) enqueueLocked(r s3Repl) {
	c.replSeq++
	r.seq = c.replSeq
	heap.Push(&c.queue, r)
	c.armLocked()
}

func (c *S3) armLocked() {
	if len(c.queue) == 0 {
		return
	}
	head := c.queue[0].due
	if c.stopTimer != nil && !head.Before(c.timerAt) {
		return
	}
	if c.stopTimer != nil {
		c.stopTimer()
	}
	c.timerAt = head
	c.stopTimer = c.r.world.Clock.AfterFunc(head.Sub(c.now()), c.drain)
}

// drain replicates every queued entry that is due.
func (c *S3) drain() {
	c.mu.Lock()
	c.stopTimer = nil
	now := c.now()
	var batch []s3Repl
	for len(c.queue) > 0 && !c.queue[0].due.After(now) {
		batch = append(batch, heap.Pop(&c.queue).(s3Repl))
	}
	c.armLocked()
	c.mu.Unlock()
	for _, r := range batch {
		c.replicate(r)
	}
}

// ReplicationBacklog returns the object versions of bucket still PENDING and
// their bytes: what S3 publishes as OperationsPendingReplication and
// BytesPendingReplication when replication metrics are on (docs/aws-facts.md
// "S3 replication").
func (c *S3) ReplicationBacklog(bucket string) (ops int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.buckets[bucket]; b != nil {
		for _, vs := range b.objects {
			for _, v := range vs {
				if !v.deleteMarker && v.replication == s3types.ReplicationStatusPending {
					ops++
					bytes += int64(len(v.data()))
				}
			}
		}
	}
	return ops, bytes
}

// PendingReplication returns how many replications are queued (waiting for
// their lag or for a region to come back).
func (c *S3) PendingReplication() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) + len(c.parked)
}

// replicate copies r.v to the destination bucket, or leaves it PENDING and
// retries later when either region is down, or marks it FAILED when the
// destination cannot take it or IAM denies the replication role.
func (c *S3) replicate(r s3Repl) {
	w := c.r.world
	v, dest := r.v, r.dest
	dr := w.s3FindBucket(dest)
	if w.Down(c.r.Name) || dr != nil && w.Down(dr.Name) {
		// A down source keeps the object stuck there (the RPO); a down
		// destination leaves it PENDING, as S3 does for a temporary outage.
		c.mu.Lock()
		c.parked = append(c.parked, r)
		c.mu.Unlock()
		// The region may have come back between the check above and the
		// parking: settle again so the entry cannot miss its wake-up.
		c.settle()
		return
	}
	status := s3types.ReplicationStatusCompleted
	var evs []s3Event
	c.mu.Lock()
	injected := c.fail != nil && c.fail(v.key)
	var role string
	if b := c.buckets[r.bucket]; b != nil && b.replication != nil {
		role = aws.ToString(b.replication.Role)
	}
	c.mu.Unlock()
	// S3 replicates as the configuration's role; a denied replication is
	// FAILED, and S3 does not retry a FAILED replication.
	denied := w.serviceAuthorize(serviceCall{Region: c.r.Name, Role: role, Via: "s3.amazonaws.com", Service: s3ServiceID, Operation: s3ReplicationOp(v)},
		s3ReplicationChecks(r.bucket, dest, v)...) != nil
	if dr == nil || injected || denied {
		status = s3types.ReplicationStatusFailed
	} else {
		ds := dr.S3()
		ds.mu.Lock()
		db := ds.buckets[dest]
		switch {
		case db == nil || db.versioning != s3types.BucketVersioningStatusEnabled:
			status = s3types.ReplicationStatusFailed
		case v.deleteMarker:
			if !s3HasVersion(db, v.key, v.versionID) {
				m := &s3Version{key: v.key, versionID: v.versionID, deleteMarker: true, modified: ds.now().UnixNano(), sequencer: v.sequencer}
				ds.addVersionLocked(db, m)
			}
		default:
			if !s3HasVersion(db, v.key, v.versionID) {
				var rv *s3Version
				var rule *s3types.ReplicationRule
				rv, evs, rule = ds.putLocked(db, s3Write{key: v.key, body: v.data(), contentType: v.contentType, metadata: v.metadata,
					versionID: v.versionID, etag: v.etag, replica: true, eventName: "ObjectCreated:Put"})
				ds.scheduleLocked(db.name, rv, rule)
			}
		}
		ds.mu.Unlock()
	}
	c.mu.Lock()
	if !v.deleteMarker && !r.keepReplica {
		v.replication = status
	}
	c.mu.Unlock()
	w.s3Deliver(evs)
	if r.done != nil {
		r.done(status)
	}
}

// s3ReplicationOp is what S3 is doing when it replicates v, as Denied
// records it.
func s3ReplicationOp(v *s3Version) string {
	if v.deleteMarker {
		return "ReplicateDelete"
	}
	return "ReplicateObject"
}

// s3ReplicationChecks are the permissions the replication role needs to
// replicate v ("Setting up permissions for live replication", Amazon S3
// User Guide,
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html):
// read the source bucket's replication configuration and list it, read
// the source version for replication with its ACL, and write it to the
// destination (s3:ReplicateDelete for a delete marker).
//
// s3:GetObjectVersionTagging and s3:ReplicateTags are not checked: they
// concern object tags, which the simulator does not keep, and without them
// S3 still replicates the object, only without its tags.
func s3ReplicationChecks(bucket, dest string, v *s3Version) []iamCheck {
	src := s3ObjectARN(bucket, v.key)
	write := "s3:ReplicateObject"
	if v.deleteMarker {
		write = "s3:ReplicateDelete"
	}
	return []iamCheck{
		{action: "s3:GetReplicationConfiguration", resource: s3BucketARN(bucket)},
		{action: "s3:ListBucket", resource: s3BucketARN(bucket)},
		{action: "s3:GetObjectVersionForReplication", resource: src},
		{action: "s3:GetObjectVersionAcl", resource: src},
		{action: write, resource: s3ObjectARN(dest, v.key)},
	}
}

func s3HasVersion(b *s3Bucket, key, versionID string) bool {
	for _, v := range b.objects[key] {
		if v.versionID == versionID {
			return true
		}
	}
	return false
}
