package sim

import (
	"container/heap"
	"hash/fnv"
	"math/big"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Time to Live (docs/aws-facts.md "DynamoDB TTL").
//
// With TTL enabled on an attribute, an item whose attribute is a Number of
// epoch seconds earlier than now has expired; the service deletes it later,
// in the background, "typically within two days". Until then the item is
// read, queried and scanned like any other. The simulator deletes each
// expired item at a deterministic instant within DefaultTTLDeletionWindow
// after its expiry: a hash of the table's id and the item's key spreads the
// deletions evenly over the window, rounded up to a whole minute (the sweep).
// So a run is reproducible, the items of one table are deleted in an order
// that is not their expiry order, and the same item in two tables (a
// restored copy, say) is deleted at two different instants — as nothing in
// AWS's documentation promises otherwise.
//
// The deletion is the service's own: no caller, no IAM check, no fault
// injection, not in World.Calls. It is in the table's change log (a
// point-in-time restore to before it has the item) and in the CloudWatch
// metric AWS/DynamoDB TimeToLiveDeletedItemCount (dimension TableName).
// DynamoDB Streams are not modelled; there the record of a TTL deletion
// carries userIdentity type "Service", principalId "dynamodb.amazonaws.com".
//
// One timer of the world's clock is armed, at the earliest instant a
// deletion is due, and only while some item with a TTL value waits: a table
// with no such item keeps the clock idle. While the region is down nothing
// is deleted; what fell due is deleted as soon as it is back.

// DefaultTTLDeletionWindow is how long after its expiry an item may stay
// before the simulator deletes it: the two days of the UpdateTimeToLive API
// reference ("typically within two days of expiration").
const DefaultTTLDeletionWindow = 48 * time.Hour

// ddbTTLSweep is the granularity of deletions: due instants are rounded up
// to it, so items due within the same minute cost one timer.
const ddbTTLSweep = time.Minute

// ddbTTLMaxAge is how far in the past a TTL value may be and still expire
// the item: DynamoDB ignores values more than five years old.
const ddbTTLMaxAge = 5 * 365 * 24 * time.Hour

// ddbTTLEntry is a deletion that may be due: an item of a table, and the
// item's expiry when it was queued (unix nanoseconds). Entries are checked
// when they fall due, against the table as it is then: the item may have
// been rewritten (in place: the same stored item, another expiry),
// deleted, or TTL turned off.
type ddbTTLEntry struct {
	exp int64
	t   *ddbTable
	s   *ddbStored
}

// ddbTTLQueue holds the queued deletions by the sweep minute they fall due
// in (unix minutes), each minute's in the order they were queued: a queue
// of millions of markers costs 24 bytes an entry, a push appends to its
// minute, and no array of them all is ever grown or sifted.
type ddbTTLQueue struct {
	byMinute map[int64][]ddbTTLEntry
	minutes  ddbMinutes // byMinute's keys, a heap
	n        int
}

// ddbMinutes is a min-heap of minutes (container/heap): one push a minute
// that has deletions, not one a deletion.
type ddbMinutes []int64

func (h ddbMinutes) Len() int           { return len(h) }
func (h ddbMinutes) Less(i, j int) bool { return h[i] < h[j] }
func (h ddbMinutes) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ddbMinutes) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *ddbMinutes) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (q *ddbTTLQueue) len() int { return q.n }

// push queues e to fall due in minute.
func (q *ddbTTLQueue) push(minute int64, e ddbTTLEntry) {
	if q.byMinute == nil {
		q.byMinute = make(map[int64][]ddbTTLEntry)
	}
	es, ok := q.byMinute[minute]
	if !ok {
		heap.Push(&q.minutes, minute)
	}
	q.byMinute[minute] = append(es, e)
	q.n++
}

// first is the earliest minute with a deletion queued.
func (q *ddbTTLQueue) first() (int64, bool) {
	if len(q.minutes) == 0 {
		return 0, false
	}
	return q.minutes[0], true
}

// take removes and returns the deletions of the earliest minute, in the
// order they were queued.
func (q *ddbTTLQueue) take() []ddbTTLEntry {
	if len(q.minutes) == 0 {
		return nil
	}
	minute := heap.Pop(&q.minutes).(int64)
	es := q.byMinute[minute]
	delete(q.byMinute, minute)
	q.n -= len(es)
	return es
}

// drop removes the deletions of table t, keeping the others' order.
func (q *ddbTTLQueue) drop(t *ddbTable) {
	q.minutes = q.minutes[:0]
	for minute, es := range q.byMinute {
		kept := es[:0]
		for _, e := range es {
			if e.t != t {
				kept = append(kept, e)
			}
		}
		clear(es[len(kept):]) // no stale references past the end
		q.n -= len(es) - len(kept)
		if len(kept) == 0 {
			delete(q.byMinute, minute)
			continue
		}
		q.byMinute[minute] = kept
		q.minutes = append(q.minutes, minute)
	}
	heap.Init(&q.minutes)
}

// ddbTTL is one region's TTL background process. Guarded by DynamoDB.mu.
type ddbTTL struct {
	queue  ddbTTLQueue
	window time.Duration
	// timerAt and stop are the armed sweep; gen tells a sweep that fires
	// after being replaced from the current one.
	timerAt time.Time
	stop    func() bool
	gen     uint64
	// parked is set by a sweep that found the region down.
	parked bool
}

// SetTTLDeletionWindow sets how long after expiry the simulator may take to
// delete an expired item (DefaultTTLDeletionWindow); 0 deletes every
// expired item at the first whole minute after its expiry. It applies to
// deletions scheduled from now on.
func (c *DynamoDB) SetTTLDeletionWindow(d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ttl.window = d
}

// ttlOn reports whether TTL is enabled on t, and on which attribute.
func (t *ddbTable) ttlOn() (string, bool) {
	if t.ttl == nil || t.ttl.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled {
		return "", false
	}
	return aws.ToString(t.ttl.AttributeName), true
}

// ddbTTLExpiry is the instant item expires on attribute attr: a top-level
// Number of epoch seconds. ok is false for an item TTL ignores (no such
// attribute, another type, not a number).
func ddbTTLExpiry(item ddbItem, attr string) (time.Time, bool) {
	n, isNum := item[attr].(*ddbtypes.AttributeValueMemberN)
	if !isNum {
		return time.Time{}, false
	}
	return ddbTTLValue(n.Value)
}

// ddbTTLValue is the instant a TTL attribute's number value expires at.
func ddbTTLValue(v string) (time.Time, bool) {
	// Whole epoch seconds, what TTL values nearly always are.
	if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
		if sec > 1<<40 || sec < -(1<<40) {
			return time.Time{}, false
		}
		return time.Unix(sec, 0).UTC(), true
	}
	r, ok := ddbNum(v)
	if !ok {
		return time.Time{}, false
	}
	// Whole seconds and the nanoseconds of a fraction; a value beyond what
	// a time can hold is never reached.
	sec := new(big.Int).Quo(r.Num(), r.Denom())
	if !sec.IsInt64() || sec.Int64() > 1<<40 || sec.Int64() < -(1<<40) {
		return time.Time{}, false
	}
	frac := new(big.Rat).Sub(r, new(big.Rat).SetInt(sec))
	ns, _ := new(big.Rat).Mul(frac, big.NewRat(int64(time.Second), 1)).Float64()
	return time.Unix(sec.Int64(), int64(ns)).UTC(), true
}

// ttlDueLocked is when the simulator deletes the item under key of t that
// expires at exp: after the expiry instant (DynamoDB compares "less than
// the current time"), a hashed share of the window later, on a sweep
// minute.
func (c *DynamoDB) ttlDueLocked(t *ddbTable, key string, exp time.Time) time.Time {
	var spread time.Duration
	if w := c.ttl.window; w >= time.Second {
		h := fnv.New64a()
		h.Write([]byte(t.id))
		h.Write([]byte{0})
		h.Write([]byte(key))
		spread = time.Duration(h.Sum64()%uint64(w/time.Second)) * time.Second
	}
	due := exp.Add(spread + time.Nanosecond)
	if r := due.Truncate(ddbTTLSweep); r.Before(due) {
		due = r.Add(ddbTTLSweep)
	}
	return due
}

// ttlTrackLocked queues the deletion of item, just written to t (stored as
// s), if TTL is on and the item carries a TTL value that can expire it.
func (c *DynamoDB) ttlTrackLocked(t *ddbTable, s *ddbStored, item ddbItem) {
	attr, on := t.ttlOn()
	if !on || item == nil {
		return
	}
	exp, ok := ddbTTLExpiry(item, attr)
	if !ok || exp.Before(c.now().Add(-ddbTTLMaxAge)) {
		return
	}
	c.ttl.queue.push(c.ttlDueLocked(t, s.key, exp).Unix()/60, ddbTTLEntry{exp: exp.UnixNano(), t: t, s: s})
	c.ttlArmLocked()
}

// ttlTrackAllLocked queues every item of t: TTL was just enabled.
func (c *DynamoDB) ttlTrackAllLocked(t *ddbTable) {
	for _, s := range t.byKeyLocked() {
		c.ttlTrackLocked(t, s, s.item())
	}
}

// ttlForgetLocked drops the queued deletions of t, a deleted table: a sweep
// would skip them, but until then they would keep the whole table in memory
// (a drill's restored table of a million markers, for days of virtual time).
func (c *DynamoDB) ttlForgetLocked(t *ddbTable) {
	c.ttl.queue.drop(t)
	if c.ttl.queue.len() == 0 && c.ttl.stop != nil {
		c.ttl.stop() // nothing left to delete: no sweep
		c.ttl.stop = nil
	}
}

// ttlArmLocked makes sure one sweep is armed for the earliest due entry.
func (c *DynamoDB) ttlArmLocked() {
	q := &c.ttl
	minute, ok := q.queue.first()
	if !ok || q.parked {
		return
	}
	head := time.Unix(minute*60, 0).UTC()
	if q.stop != nil && !head.Before(q.timerAt) {
		return
	}
	if q.stop != nil {
		q.stop()
	}
	q.gen++
	gen := q.gen
	q.timerAt = head
	q.stop = c.r.world.Clock.AfterFunc(head.Sub(c.now()), func() { c.ttlSweep(gen) })
}

// ttlSweep deletes every expired item that is due, as the service, and
// arms the next sweep.
func (c *DynamoDB) ttlSweep(gen uint64) {
	c.mu.Lock()
	q := &c.ttl
	if gen == q.gen {
		q.stop = nil
	}
	if c.r.world.Down(c.r.Name) {
		q.parked = true
		if q.stop != nil {
			q.stop()
			q.stop = nil
		}
		c.mu.Unlock()
		return
	}
	now := c.now()
	deleted := map[string]int{}
	for minute, ok := q.queue.first(); ok && minute*60 <= now.Unix(); minute, ok = q.queue.first() {
		for _, e := range q.queue.take() {
			t, s := e.t, e.s
			attr, on := t.ttlOn()
			if c.tables[t.name] != t || !on || t.getLocked(s.key, s.hash()) != s {
				continue // deleted (a later item of its key has its own entry), or TTL off
			}
			var exp time.Time
			v, ok := ddbUnpackAttr(s.packed, attr)
			if n, isNum := v.(*ddbtypes.AttributeValueMemberN); ok && isNum {
				exp, ok = ddbTTLValue(n.Value)
			} else {
				ok = false
			}
			if !ok || exp.UnixNano() != e.exp || exp.Before(now.Add(-ddbTTLMaxAge)) {
				continue // rewritten with another expiry (its own entry is queued) or none
			}
			c.writeLocked(t, s.key, s.hash(), nil)
			deleted[t.name]++
		}
	}
	c.ttlArmLocked()
	c.mu.Unlock()
	cw := c.r.CloudWatch()
	for _, name := range ddbKeys(deleted) {
		cw.publishServiceMetric("AWS/DynamoDB", "TimeToLiveDeletedItemCount",
			[]cwtypes.Dimension{{Name: aws.String("TableName"), Value: aws.String(name)}}, now, float64(deleted[name]))
	}
}

// ttlSettle runs around every SetDown: a sweep parked by an outage of this
// region runs once the region is back.
func (c *DynamoDB) ttlSettle() {
	if c.r.world.Down(c.r.Name) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ttl.parked {
		c.ttl.parked = false
		c.ttlArmLocked()
	}
}
