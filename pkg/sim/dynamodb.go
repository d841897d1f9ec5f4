package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"math/big"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ddbServiceID is the SDK's ServiceID for DynamoDB.
const ddbServiceID = "DynamoDB"

// ddbMaxConcurrentRestores is DynamoDB's limit on restores in flight per
// account and region (docs/aws-facts.md "DynamoDB PITR").
const ddbMaxConcurrentRestores = 50

// ddbPageBytes is the 1 MB a Query or Scan page reads at most.
const ddbPageBytes = 1 << 20

// DynamoDB is one region's simulated Amazon DynamoDB: tables, items,
// expressions, queries, transactions, point-in-time recovery and restores.
//
// Every table keeps a time-ordered log of its item changes, so a restore can
// rebuild the table as of any instant in the PITR window. Table status is
// derived from the clock (CREATING until a modelled instant, then ACTIVE), so
// no goroutine is needed to advance it.
type DynamoDB struct {
	r *Region

	mu            sync.Mutex
	tables        map[string]*ddbTable
	createDelay   time.Duration
	restoreDelay  time.Duration
	latestLag     time.Duration
	tableSequence int
	ttl           ddbTTL // the TTL background process (dynamodb_ttl.go)
}

// ddbTable is one table. Guarded by DynamoDB.mu.
type ddbTable struct {
	ddbSchema
	name, arn, id      string
	created, activeAt  time.Time
	indexes            []*ddbIndex
	keySchema          []ddbtypes.KeySchemaElement
	attrDefs           []ddbtypes.AttributeDefinition
	billing            ddbtypes.BillingMode
	rcu, wcu           int64 // provisioned capacity, as given; described as 0 on demand
	stream             *ddbtypes.StreamSpecification
	deletionProtection bool
	tags               []ddbtypes.Tag
	ttl                *ddbtypes.TimeToLiveDescription
	pitr               bool
	pitrSince          time.Time
	pitrDays           int32
	restore            *ddbtypes.RestoreSummary

	// parts holds each partition of one item, by its partition key (an
	// 8-byte slot), multi each partition of more: most partitions of a
	// table of markers have one item, and so cost one slot and no slice.
	// A restored table has neither until a read or write needs
	// them (partsLocked): a table restored to be scanned, as a drill
	// verifies a restore, has its scan order only.
	parts *ddbParts
	multi map[string]*ddbPartition
	count int          // items
	order []*ddbStored // scan order, rebuilt when nil
	// log is every change, oldest first, at the one-second granularity of
	// point-in-time restores: a key's changes within one second are its
	// last one (logLocked). It is kept while PITR is on only, from the
	// items the table held when PITR was turned on (pitrOnLocked): no
	// restore reads a table as of a time before that.
	log ddbLog
	// recent is the index in log of each key's change in second
	// recentSec, the latest second a change was logged in.
	recent    map[string]int32
	recentSec int64
	bytes     int64 // sum of item sizes
}

// ddbLog is a change log, oldest first. Past its first ddbLogChunk
// changes it grows a chunk at a time, so appending to a log of millions
// never copies it.
type ddbLog struct {
	chunks [][]ddbChange // all full but the last
	n      int
}

const ddbLogChunk = 1 << 12

func (l *ddbLog) len() int { return l.n }

// at is the i-th change.
func (l *ddbLog) at(i int) *ddbChange { return &l.chunks[i/ddbLogChunk][i%ddbLogChunk] }

// add appends ch and returns its index.
func (l *ddbLog) add(ch ddbChange) int {
	if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == ddbLogChunk {
		capacity := ddbLogChunk
		if len(l.chunks) == 0 {
			capacity = 0 // the first grows as a slice does: most logs are short
		}
		l.chunks = append(l.chunks, make([]ddbChange, 0, capacity))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, ch)
	l.n++
	return l.n - 1
}

// logLocked records, while PITR is on, that t stored s under key (of
// partition key hashEnc), or deleted key when s is nil. A restore reads a
// table as of a whole second (the API takes a date and time to the
// second), so a change in the same second as the key's latest replaces
// it: a key updated many times a second (a window summary) keeps one
// entry a second, not one per write.
func (t *ddbTable) logLocked(at time.Time, key, hashEnc string, s *ddbStored) {
	if !t.pitr {
		return
	}
	if s == nil {
		s = &ddbStored{key: key, hashLen: int32(len(hashEnc))} // a delete: the key alone
	}
	ns := at.UnixNano()
	if sec := ns / int64(time.Second); sec != t.recentSec {
		clear(t.recent)
		t.recentSec = sec
	} else if i, ok := t.recent[key]; ok {
		e := t.log.at(int(i))
		e.at, e.s = ns, s
		return
	}
	if t.recent == nil {
		t.recent = make(map[string]int32)
	}
	t.recent[key] = int32(t.log.add(ddbChange{at: ns, s: s}))
}

// ddbSchema names the key attributes of a table or index and their types
// ("S", "N" or "B"); rangeKey is empty without a sort key.
type ddbSchema struct {
	hashKey, hashType, rangeKey, rngType string
}

// ddbStored is a stored item, packed (dynamodb_pack.go): the change log
// shares the packed string, and readers get their own copy (item). It is
// never changed once stored — a write stores a new one in its place — so
// a table restored from another shares the items they have in common, and
// a reader holding one holds the item as it was.
type ddbStored struct {
	key     string   // encoded primary key: the partition key's (hashLen bytes), then "\x00" and the sort key's
	rngNum  *big.Rat // parsed sort key when it is a number
	packed  string
	size    int32 // ddbItemSize of the item (at most 400 KB)
	hashLen int32
}

// hash is the item's encoded partition key (a prefix of key).
func (s *ddbStored) hash() string { return s.key[:s.hashLen] }

// rangeEnc is the item's encoded sort key ("" without one): its type
// letter and, for a string or binary, its bytes, which order as DynamoDB
// orders them (byte by byte, unsigned).
func (s *ddbStored) rangeEnc() string {
	if len(s.key) <= int(s.hashLen) {
		return ""
	}
	return s.key[s.hashLen+1:]
}

// ddbPartition is a partition of more than one item.
type ddbPartition struct {
	items []*ddbStored // ordered by sort key
	// byKey finds an item of a large partition by its primary key (nil for
	// a partition of at most ddbPartScan items, searched in order).
	byKey map[string]*ddbStored
}

const ddbPartScan = 16

// ddbParts is a set of stored items by their encoded partition key, for a
// table's partitions of one item: a table of open addressing (linear
// probing) whose slots are the items themselves, 8 bytes a slot at most
// three quarters full, where a map[string]*ddbStored costs about 50 bytes
// an entry — a table of a million markers has as many partitions.
type ddbParts struct {
	slots []*ddbStored // a power of two long
	n     int
}

var ddbPartsSeed = maphash.MakeSeed()

// newDDBParts returns a set sized for n items.
func newDDBParts(n int) *ddbParts {
	size := 8
	for 3*size < 4*n {
		size *= 2
	}
	return &ddbParts{slots: make([]*ddbStored, size)}
}

func (p *ddbParts) home(h string) int {
	return int(maphash.String(ddbPartsSeed, h) & uint64(len(p.slots)-1))
}

// get returns the item of partition key h, or nil.
func (p *ddbParts) get(h string) *ddbStored {
	mask := len(p.slots) - 1
	for i := p.home(h); ; i = (i + 1) & mask {
		s := p.slots[i]
		if s == nil || s.hash() == h {
			return s
		}
	}
}

// put stores s, in place of the item of its partition key if there is one.
func (p *ddbParts) put(s *ddbStored) {
	if 4*(p.n+1) > 3*len(p.slots) {
		old := p.slots
		p.slots, p.n = make([]*ddbStored, 2*len(old)), 0
		for _, x := range old {
			if x != nil {
				p.put(x)
			}
		}
	}
	h, mask := s.hash(), len(p.slots)-1
	for i := p.home(h); ; i = (i + 1) & mask {
		switch cur := p.slots[i]; {
		case cur == nil:
			p.slots[i] = s
			p.n++
			return
		case cur.hash() == h:
			p.slots[i] = s
			return
		}
	}
}

// delete removes the item of partition key h, if there is one, and moves
// back the items after it that probed past its slot.
func (p *ddbParts) delete(h string) {
	mask := len(p.slots) - 1
	i := p.home(h)
	for ; p.slots[i] != nil && p.slots[i].hash() != h; i = (i + 1) & mask {
	}
	if p.slots[i] == nil {
		return
	}
	p.slots[i] = nil
	p.n--
	for j := (i + 1) & mask; p.slots[j] != nil; j = (j + 1) & mask {
		// The item at j stays if its home slot is cyclically in (i, j].
		k := p.home(p.slots[j].hash())
		if i <= j && i < k && k <= j || i > j && (i < k || k <= j) {
			continue
		}
		p.slots[i], p.slots[j] = p.slots[j], nil
		i = j
	}
}

// each calls f with every item, in no particular order.
func (p *ddbParts) each(f func(*ddbStored)) {
	for _, s := range p.slots {
		if s != nil {
			f(s)
		}
	}
}

// partsLocked builds parts and multi from the scan order, for a table
// restored without them.
func (t *ddbTable) partsLocked() {
	if t.parts != nil {
		return
	}
	t.parts = newDDBParts(len(t.order))
	for i, order := 0, t.order; i < len(order); {
		h := order[i].hash()
		j := i + 1
		for j < len(order) && order[j].hash() == h {
			j++
		}
		if j == i+1 {
			t.parts.put(order[i])
			i = j
			continue
		}
		pt := &ddbPartition{items: slices.Clone(order[i:j])}
		if len(pt.items) > ddbPartScan {
			pt.indexByKey()
		}
		t.addMultiLocked(pt)
		i = j
	}
}

// partLocked returns the items of partition hashEnc, ordered by sort key.
func (t *ddbTable) partLocked(hashEnc string) []*ddbStored {
	t.partsLocked()
	if s := t.parts.get(hashEnc); s != nil {
		return []*ddbStored{s}
	}
	if pt := t.multi[hashEnc]; pt != nil {
		return pt.items
	}
	return nil
}

// getLocked returns the stored item of primary key key in partition
// hashEnc (keyOf's two results), or nil.
func (t *ddbTable) getLocked(key, hashEnc string) *ddbStored {
	t.partsLocked()
	if s := t.parts.get(hashEnc); s != nil {
		if s.key == key {
			return s
		}
		return nil
	}
	pt := t.multi[hashEnc]
	switch {
	case pt == nil:
		return nil
	case pt.byKey != nil:
		return pt.byKey[key]
	}
	for _, s := range pt.items {
		if s.key == key {
			return s
		}
	}
	return nil
}

// eachLocked calls f with every stored item, in no particular order.
func (t *ddbTable) eachLocked(f func(*ddbStored)) {
	t.partsLocked()
	t.parts.each(f)
	for _, pt := range t.multi {
		for _, s := range pt.items {
			f(s)
		}
	}
}

// ddbScanCmp orders stored items as a scan reads them: by encoded
// partition key, then by sort key.
func ddbScanCmp(a, b *ddbStored) int {
	if c := strings.Compare(a.hash(), b.hash()); c != 0 {
		return c
	}
	return ddbRangeCmp(a, b)
}

// item returns a fresh copy of the stored item.
func (s *ddbStored) item() ddbItem { return ddbUnpack(s.packed) }

// ddbChange is one entry of a table's change log: the stored item
// written, or for a delete one of the key alone, packed "" (stored items
// never change, so the log holds them as they were).
type ddbChange struct {
	at int64 // unix nanoseconds
	s  *ddbStored
}

// DynamoDB returns the region's DynamoDB service.
func (r *Region) DynamoDB() *DynamoDB {
	return r.service("dynamodb", func() any {
		c := &DynamoDB{r: r, tables: make(map[string]*ddbTable), createDelay: 5 * time.Second,
			restoreDelay: 20 * time.Minute, latestLag: 5 * time.Minute, ttl: ddbTTL{window: DefaultTTLDeletionWindow}}
		r.world.onRegionChange(c.ttlSettle)
		return c
	}).(*DynamoDB)
}

// SetCreateDelay sets how long a new table stays CREATING (default 5 s).
func (c *DynamoDB) SetCreateDelay(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.createDelay = d
}

// SetRestoreDuration sets how long a restored table stays CREATING. The
// default, 20 minutes, is the field-reported floor for a PITR restore
// regardless of size (docs/aws-facts.md "DynamoDB PITR").
func (c *DynamoDB) SetRestoreDuration(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.restoreDelay = d
}

func (c *DynamoDB) now() time.Time { return c.r.world.Clock.Now().UTC() }

func (t *ddbTable) status(now time.Time) ddbtypes.TableStatus {
	if now.Before(t.activeAt) {
		return ddbtypes.TableStatusCreating
	}
	return ddbtypes.TableStatusActive
}

// describe renders the table. Callers hold the lock.
func (c *DynamoDB) describe(t *ddbTable) *ddbtypes.TableDescription {
	now := c.now()
	d := &ddbtypes.TableDescription{
		TableName: aws.String(t.name), TableArn: aws.String(t.arn), TableId: aws.String(t.id),
		TableStatus: t.status(now), CreationDateTime: aws.Time(t.created),
		KeySchema: t.keySchema, AttributeDefinitions: t.attrDefs,
		ItemCount: aws.Int64(int64(t.count)), TableSizeBytes: aws.Int64(t.bytes),
		DeletionProtectionEnabled: aws.Bool(t.deletionProtection),
		BillingModeSummary:        &ddbtypes.BillingModeSummary{BillingMode: t.billing},
		ProvisionedThroughput:     ddbThroughput(t.billing, t.rcu, t.wcu),
		StreamSpecification:       t.stream,
	}
	if t.stream != nil && aws.ToBool(t.stream.StreamEnabled) {
		label := t.created.Format("2006-01-02T15:04:05.000")
		d.LatestStreamLabel = aws.String(label)
		d.LatestStreamArn = aws.String(t.arn + "/stream/" + label)
	}
	c.describeIndexes(t, d)
	if t.restore != nil {
		rs := *t.restore
		rs.RestoreInProgress = aws.Bool(now.Before(t.activeAt))
		d.RestoreSummary = &rs
	}
	return d
}

// ddbThroughput describes provisioned capacity. DynamoDB describes an
// on-demand table, and its global indexes, with ReadCapacityUnits and
// WriteCapacityUnits 0, never without the field; capacity is never
// decreased here, so NumberOfDecreasesToday is 0.
func ddbThroughput(billing ddbtypes.BillingMode, rcu, wcu int64) *ddbtypes.ProvisionedThroughputDescription {
	if billing == ddbtypes.BillingModePayPerRequest {
		rcu, wcu = 0, 0
	}
	return &ddbtypes.ProvisionedThroughputDescription{ReadCapacityUnits: aws.Int64(rcu), WriteCapacityUnits: aws.Int64(wcu), NumberOfDecreasesToday: aws.Int64(0)}
}

// ddbTableName accepts a table name or a table ARN of this region.
func (c *DynamoDB) ddbTableName(name string) string {
	prefix := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/", c.r.Name, c.r.world.Account)
	return strings.TrimPrefix(name, prefix)
}

// activeLocked returns a table for a data-plane call: a missing or CREATING
// table is ResourceNotFoundException, as DynamoDB answers.
func (c *DynamoDB) activeLocked(name string) (*ddbTable, error) {
	t := c.tables[c.ddbTableName(name)]
	if t == nil || t.status(c.now()) != ddbtypes.TableStatusActive {
		return nil, &ddbtypes.ResourceNotFoundException{Message: aws.String("Requested resource not found")}
	}
	return t, nil
}

func (c *DynamoDB) anyLocked(name string) (*ddbTable, error) {
	n := c.ddbTableName(name)
	t := c.tables[n]
	if t == nil {
		return nil, &ddbtypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Requested resource not found: Table: %s not found", n))}
	}
	return t, nil
}

// --- control plane ---

// CreateTable creates a table; it is CREATING for the create delay.
func (c *DynamoDB) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	const op = "CreateTable"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.TableName)
	if len(name) < 3 || len(name) > 255 {
		return nil, opErr(ddbServiceID, op, ddbValidation("TableName must be at least 3 characters long and at most 255 characters long"))
	}
	t, err := ddbNewTable(name, in.KeySchema, in.AttributeDefinitions)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	if err := t.addIndexes(in.GlobalSecondaryIndexes, in.LocalSecondaryIndexes); err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	t.billing = in.BillingMode
	if t.billing == "" {
		t.billing = ddbtypes.BillingModeProvisioned
	}
	if pt := in.ProvisionedThroughput; pt != nil {
		t.rcu, t.wcu = aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits)
	}
	t.stream = in.StreamSpecification
	t.deletionProtection = aws.ToBool(in.DeletionProtectionEnabled)
	t.tags = append([]ddbtypes.Tag(nil), in.Tags...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tables[name] != nil {
		return nil, opErr(ddbServiceID, op, &ddbtypes.ResourceInUseException{Message: aws.String("Table already exists: " + name)})
	}
	c.initTableLocked(t, c.createDelay)
	return &dynamodb.CreateTableOutput{TableDescription: c.describe(t)}, nil
}

func (c *DynamoDB) initTableLocked(t *ddbTable, delay time.Duration) {
	now := c.now()
	c.tableSequence++
	t.arn = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", c.r.Name, c.r.world.Account, t.name)
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%d", c.r.Name, t.name, c.tableSequence)
	t.id = fmt.Sprintf("%016x-0000-4000-8000-%012x", h.Sum64(), c.tableSequence)
	t.created, t.activeAt = now, now.Add(delay)
	c.tables[t.name] = t
}

// ddbNewTable validates a key schema and returns an empty table.
func ddbNewTable(name string, ks []ddbtypes.KeySchemaElement, defs []ddbtypes.AttributeDefinition) (*ddbTable, error) {
	t := &ddbTable{name: name, parts: newDDBParts(0), pitrDays: 35,
		keySchema: append([]ddbtypes.KeySchemaElement(nil), ks...), attrDefs: append([]ddbtypes.AttributeDefinition(nil), defs...)}
	types := map[string]string{}
	for _, d := range defs {
		types[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	for _, k := range ks {
		n := aws.ToString(k.AttributeName)
		typ, ok := types[n]
		if !ok {
			return nil, ddbValidation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]", n, strings.Join(ddbKeys(types), ", "))
		}
		switch k.KeyType {
		case ddbtypes.KeyTypeHash:
			if t.hashKey != "" {
				return nil, ddbValidation("Invalid KeySchema: Some index key attribute have no definition")
			}
			t.hashKey, t.hashType = n, typ
		case ddbtypes.KeyTypeRange:
			t.rangeKey, t.rngType = n, typ
		}
	}
	if t.hashKey == "" || len(ks) > 2 {
		return nil, ddbValidation("1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must have a HASH key")
	}
	return t, nil
}

func ddbKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DescribeTable describes a table.
func (c *DynamoDB) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	const op = "DescribeTable"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.anyLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	return &dynamodb.DescribeTableOutput{Table: c.describe(t)}, nil
}

// ListTables lists table names in order, with pagination.
func (c *DynamoDB) ListTables(ctx context.Context, in *dynamodb.ListTablesInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error) {
	const op = "ListTables"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	c.mu.Lock()
	names := ddbKeys(c.tables)
	c.mu.Unlock()
	out := &dynamodb.ListTablesOutput{}
	for _, n := range names {
		if n <= aws.ToString(in.ExclusiveStartTableName) {
			continue
		}
		if len(out.TableNames) == limit {
			out.LastEvaluatedTableName = aws.String(out.TableNames[limit-1])
			break
		}
		out.TableNames = append(out.TableNames, n)
	}
	return out, nil
}

// DeleteTable deletes a table. With deletion protection on, DynamoDB refuses
// with a ValidationException; a CREATING table is ResourceInUseException.
func (c *DynamoDB) DeleteTable(ctx context.Context, in *dynamodb.DeleteTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error) {
	const op = "DeleteTable"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.anyLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	if t.deletionProtection {
		return nil, opErr(ddbServiceID, op, ddbValidation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first."))
	}
	if t.status(c.now()) != ddbtypes.TableStatusActive {
		return nil, opErr(ddbServiceID, op, &ddbtypes.ResourceInUseException{Message: aws.String("Attempt to change a resource which is still in use: Table is being created: " + t.name)})
	}
	d := c.describe(t)
	d.TableStatus = ddbtypes.TableStatusDeleting
	delete(c.tables, t.name)
	c.ttlForgetLocked(t)
	return &dynamodb.DeleteTableOutput{TableDescription: d}, nil
}

// UpdateTable changes deletion protection, billing mode or streams.
func (c *DynamoDB) UpdateTable(ctx context.Context, in *dynamodb.UpdateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error) {
	const op = "UpdateTable"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.anyLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	if t.status(c.now()) != ddbtypes.TableStatusActive {
		return nil, opErr(ddbServiceID, op, &ddbtypes.ResourceInUseException{Message: aws.String("Attempt to change a resource which is still in use: Table is being created: " + t.name)})
	}
	if in.DeletionProtectionEnabled != nil {
		t.deletionProtection = *in.DeletionProtectionEnabled
	}
	if in.BillingMode != "" {
		t.billing = in.BillingMode
	}
	if pt := in.ProvisionedThroughput; pt != nil {
		t.rcu, t.wcu = aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits)
	}
	if in.StreamSpecification != nil {
		t.stream = in.StreamSpecification
	}
	return &dynamodb.UpdateTableOutput{TableDescription: c.describe(t)}, nil
}

func (c *DynamoDB) tableByARNLocked(arn string) (*ddbTable, error) {
	for _, t := range c.tables {
		if t.arn == arn {
			return t, nil
		}
	}
	return nil, &ddbtypes.ResourceNotFoundException{Message: aws.String("Requested resource not found: ResourceArn: " + arn + " not found")}
}

// TagResource adds or replaces tags on a table.
func (c *DynamoDB) TagResource(ctx context.Context, in *dynamodb.TagResourceInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TagResourceOutput, error) {
	const op = "TagResource"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.tableByARNLocked(aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	for _, tag := range in.Tags {
		replaced := false
		for i := range t.tags {
			if aws.ToString(t.tags[i].Key) == aws.ToString(tag.Key) {
				t.tags[i].Value, replaced = tag.Value, true
			}
		}
		if !replaced {
			t.tags = append(t.tags, tag)
		}
	}
	return &dynamodb.TagResourceOutput{}, nil
}

// UntagResource removes tags from a table.
func (c *DynamoDB) UntagResource(ctx context.Context, in *dynamodb.UntagResourceInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UntagResourceOutput, error) {
	const op = "UntagResource"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.tableByARNLocked(aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	kept := t.tags[:0]
	for _, tag := range t.tags {
		drop := false
		for _, k := range in.TagKeys {
			drop = drop || k == aws.ToString(tag.Key)
		}
		if !drop {
			kept = append(kept, tag)
		}
	}
	t.tags = kept
	return &dynamodb.UntagResourceOutput{}, nil
}

// ListTagsOfResource lists a table's tags.
func (c *DynamoDB) ListTagsOfResource(ctx context.Context, in *dynamodb.ListTagsOfResourceInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error) {
	const op = "ListTagsOfResource"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.tableByARNLocked(aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	return &dynamodb.ListTagsOfResourceOutput{Tags: append([]ddbtypes.Tag(nil), t.tags...)}, nil
}

// UpdateTimeToLive enables or disables TTL on a table.
func (c *DynamoDB) UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	const op = "UpdateTimeToLive"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	spec := in.TimeToLiveSpecification
	if spec == nil || aws.ToString(spec.AttributeName) == "" {
		return nil, opErr(ddbServiceID, op, ddbValidation("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.anyLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	on := aws.ToBool(spec.Enabled)
	wasOn := t.ttl != nil && t.ttl.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled
	switch {
	case on && wasOn:
		return nil, opErr(ddbServiceID, op, ddbValidation("TimeToLive is already enabled"))
	case !on && !wasOn:
		return nil, opErr(ddbServiceID, op, ddbValidation("TimeToLive is already disabled"))
	}
	st := ddbtypes.TimeToLiveStatusDisabled
	if on {
		st = ddbtypes.TimeToLiveStatusEnabled
	}
	t.ttl = &ddbtypes.TimeToLiveDescription{AttributeName: spec.AttributeName, TimeToLiveStatus: st}
	if on {
		c.ttlTrackAllLocked(t) // items written before may have expired already
	}
	cp := *spec
	return &dynamodb.UpdateTimeToLiveOutput{TimeToLiveSpecification: &cp}, nil
}

// DescribeTimeToLive describes a table's TTL setting.
func (c *DynamoDB) DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	const op = "DescribeTimeToLive"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.anyLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	d := &ddbtypes.TimeToLiveDescription{TimeToLiveStatus: ddbtypes.TimeToLiveStatusDisabled}
	if t.ttl != nil {
		cp := *t.ttl
		d = &cp
	}
	return &dynamodb.DescribeTimeToLiveOutput{TimeToLiveDescription: d}, nil
}

// --- items ---

// ddbKeyEnc encodes a key attribute value as a map key.
func ddbKeyEnc(v ddbAV) string {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return "S" + v.Value
	case *ddbtypes.AttributeValueMemberN:
		return "N" + ddbCanonNum(v.Value)
	case *ddbtypes.AttributeValueMemberB:
		return "B" + string(v.Value)
	}
	return "?"
}

// keyOf validates the key attributes in item (a full item or a Key) and
// returns the encoded primary key.
func (t *ddbTable) keyOf(item ddbItem, exact bool) (key, hashEnc string, err error) {
	if exact {
		want := 1
		if t.rangeKey != "" {
			want = 2
		}
		if len(item) != want {
			return "", "", ddbValidation("The provided key element does not match the schema")
		}
	}
	check := func(name, typ string) (string, error) {
		v, ok := item[name]
		if !ok {
			if exact {
				return "", ddbValidation("The provided key element does not match the schema")
			}
			return "", ddbValidation("One or more parameter values were invalid: Missing the key %s in the item", name)
		}
		if got := ddbTypeName(v); got != typ {
			if exact {
				return "", ddbValidation("The provided key element does not match the schema")
			}
			return "", ddbValidation("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", name, typ, got)
		}
		enc := ddbKeyEnc(v)
		if len(enc) == 1 {
			return "", ddbValidation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s", map[string]string{"S": "string", "B": "binary", "N": "number"}[typ], name)
		}
		return enc, nil
	}
	h, err := check(t.hashKey, t.hashType)
	if err != nil {
		return "", "", err
	}
	if t.rangeKey == "" {
		return h, h, nil
	}
	r, err := check(t.rangeKey, t.rngType)
	if err != nil {
		return "", "", err
	}
	return h + "\x00" + r, h, nil
}

func (t *ddbTable) keyAttrs(item ddbItem) ddbItem {
	out := ddbItem{t.hashKey: ddbCopyAV(item[t.hashKey])}
	if t.rangeKey != "" {
		out[t.rangeKey] = ddbCopyAV(item[t.rangeKey])
	}
	return out
}

// ddbValidateItem checks values DynamoDB rejects and normalises numbers, in
// place (the item is already the simulator's own copy).
func ddbValidateItem(item ddbItem) error {
	for _, v := range item {
		if err := ddbValidateAV(v); err != nil {
			return err
		}
	}
	if ddbItemSize(item) > 400*1024 {
		return ddbValidation("Item size has exceeded the maximum allowed size")
	}
	return nil
}

func ddbValidateAV(v ddbAV) error {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberN:
		if _, ok := ddbSmallInt(v.Value); ok {
			break // already canonical
		}
		r, ok := ddbNum(v.Value)
		if !ok {
			return ddbValidation("A value provided cannot be converted into a number")
		}
		v.Value = ddbFormatNum(r)
	case *ddbtypes.AttributeValueMemberNS:
		if len(v.Value) == 0 {
			return ddbValidation("One or more parameter values were invalid: An number set  may not be empty")
		}
		seen := map[string]bool{}
		for i, n := range v.Value {
			r, ok := ddbNum(n)
			if !ok {
				return ddbValidation("A value provided cannot be converted into a number")
			}
			v.Value[i] = ddbFormatNum(r)
			if seen[v.Value[i]] {
				return ddbValidation("One or more parameter values were invalid: Input collection %v contains duplicates.", v.Value)
			}
			seen[v.Value[i]] = true
		}
	case *ddbtypes.AttributeValueMemberSS:
		if len(v.Value) == 0 {
			return ddbValidation("One or more parameter values were invalid: An string set  may not be empty")
		}
		seen := map[string]bool{}
		for _, s := range v.Value {
			if seen[s] {
				return ddbValidation("One or more parameter values were invalid: Input collection %v contains duplicates.", v.Value)
			}
			seen[s] = true
		}
	case *ddbtypes.AttributeValueMemberBS:
		if len(v.Value) == 0 {
			return ddbValidation("One or more parameter values were invalid: An binary set  may not be empty")
		}
	case *ddbtypes.AttributeValueMemberL:
		for _, e := range v.Value {
			if err := ddbValidateAV(e); err != nil {
				return err
			}
		}
	case *ddbtypes.AttributeValueMemberM:
		for _, e := range v.Value {
			if err := ddbValidateAV(e); err != nil {
				return err
			}
		}
	case nil:
		return ddbValidation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	return nil
}

// ddbItemSize approximates DynamoDB's item size: names plus values.
func ddbItemSize(item ddbItem) int {
	n := 0
	for k, v := range item {
		n += len(k) + ddbAVSize(v)
	}
	return n
}

func ddbAVSize(v ddbAV) int {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		return len(v.Value)/2 + 1
	case *ddbtypes.AttributeValueMemberB:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *ddbtypes.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += len(s)/2 + 1
		}
		return n
	case *ddbtypes.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *ddbtypes.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + ddbAVSize(e)
		}
		return n
	case *ddbtypes.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + ddbAVSize(e)
		}
		return n
	}
	return 1
}

// ddbRangeCmp orders two stored items of one partition by sort key.
func ddbRangeCmp(a, b *ddbStored) int {
	if a.rngNum != nil && b.rngNum != nil {
		return a.rngNum.Cmp(b.rngNum)
	}
	return strings.Compare(a.rangeEnc(), b.rangeEnc())
}

// writeLocked stores item (nil: delete) under key, logs the change and,
// with TTL on, queues the item's expiry.
func (c *DynamoDB) writeLocked(t *ddbTable, key, hashEnc string, item ddbItem) {
	packed := ""
	if item != nil {
		packed = ddbPack(item, t.hashKey)
	}
	size, rng := 0, ddbAV(nil)
	if item != nil {
		size = ddbItemSize(item)
		if t.rangeKey != "" {
			rng = item[t.rangeKey]
		}
	}
	s := t.applyLocked(key, hashEnc, packed, size, rng)
	t.logLocked(c.now(), key, hashEnc, s)
	if s != nil {
		c.ttlTrackLocked(t, s, item)
	}
}

// applyLocked stores an item (packed, of ddbItemSize size and sort key
// value rng) or deletes it (packed "") without logging, and returns it
// stored (nil after a delete).
func (t *ddbTable) applyLocked(key, hashEnc, packed string, size int, rng ddbAV) *ddbStored {
	old := t.getLocked(key, hashEnc)
	if packed == "" {
		if old != nil {
			t.removeLocked(old)
		}
		return nil
	}
	if old != nil {
		s := &ddbStored{key: old.key, rngNum: old.rngNum, packed: packed, size: int32(size), hashLen: old.hashLen}
		t.replaceLocked(old, s)
		return s
	}
	s := &ddbStored{key: key, hashLen: int32(len(hashEnc)), packed: packed, size: int32(size)}
	if n, ok := rng.(*ddbtypes.AttributeValueMemberN); ok {
		s.rngNum, _ = ddbNum(n.Value)
	}
	t.insertLocked(s)
	return s
}

// insertLocked adds s, whose key t does not hold.
func (t *ddbTable) insertLocked(s *ddbStored) {
	t.partsLocked()
	t.count++
	t.bytes += int64(s.size)
	t.order = nil
	h := s.hash() // a prefix of s.key: one string for both
	pt := t.multi[h]
	if pt == nil {
		head := t.parts.get(h)
		if head == nil {
			t.parts.put(s)
			return
		}
		t.parts.delete(h)
		pt = &ddbPartition{items: []*ddbStored{head}}
		t.addMultiLocked(pt)
	}
	i := sort.Search(len(pt.items), func(i int) bool { return ddbRangeCmp(pt.items[i], s) >= 0 })
	pt.items = slices.Insert(pt.items, i, s)
	if pt.byKey != nil {
		pt.byKey[s.key] = s
	} else if len(pt.items) > ddbPartScan {
		pt.indexByKey()
	}
}

// addMultiLocked adds pt, a partition of more than one item, to multi.
func (t *ddbTable) addMultiLocked(pt *ddbPartition) {
	if t.multi == nil {
		t.multi = make(map[string]*ddbPartition)
	}
	t.multi[pt.items[0].hash()] = pt
}

// indexByKey makes the partition's byKey, for a partition grown past
// ddbPartScan items.
func (pt *ddbPartition) indexByKey() {
	pt.byKey = make(map[string]*ddbStored, len(pt.items))
	for _, x := range pt.items {
		pt.byKey[x.key] = x
	}
}

// removeLocked deletes old, which t holds.
func (t *ddbTable) removeLocked(old *ddbStored) {
	t.count--
	t.bytes -= int64(old.size)
	t.order = nil
	h := old.hash()
	if t.parts.get(h) == old {
		t.parts.delete(h)
		return
	}
	pt := t.multi[h]
	i := sort.Search(len(pt.items), func(i int) bool { return ddbRangeCmp(pt.items[i], old) >= 0 })
	if i < len(pt.items) && pt.items[i] == old {
		pt.items = slices.Delete(pt.items, i, i+1)
	}
	if pt.byKey != nil {
		delete(pt.byKey, old.key)
	}
	if len(pt.items) == 1 { // one item: no partition
		delete(t.multi, h)
		t.parts.put(pt.items[0])
	}
}

// replaceLocked puts s, of the same key, in old's place, in the scan
// order too.
func (t *ddbTable) replaceLocked(old, s *ddbStored) {
	t.bytes += int64(s.size) - int64(old.size)
	h := old.hash()
	if t.parts.get(h) == old {
		t.parts.put(s)
	} else {
		pt := t.multi[h]
		i := sort.Search(len(pt.items), func(i int) bool { return ddbRangeCmp(pt.items[i], old) >= 0 })
		pt.items[i] = s
		if pt.byKey != nil {
			pt.byKey[s.key] = s
		}
	}
	if t.order != nil {
		i := sort.Search(len(t.order), func(i int) bool { return ddbScanCmp(t.order[i], old) >= 0 })
		if i < len(t.order) && t.order[i] == old {
			t.order[i] = s
		} else {
			t.order = nil
		}
	}
}

// returnValues picks the attributes ReturnValues asks for.
func ddbReturnValues(rv ddbtypes.ReturnValue, old, new ddbItem, touched []string) ddbItem {
	pick := func(item ddbItem) ddbItem {
		if item == nil {
			return nil
		}
		out := ddbItem{}
		for _, n := range touched {
			if v, ok := item[n]; ok {
				out[n] = ddbCopyAV(v)
			}
		}
		return out
	}
	switch rv {
	case ddbtypes.ReturnValueAllOld:
		return ddbCopyItem(old)
	case ddbtypes.ReturnValueAllNew:
		return ddbCopyItem(new)
	case ddbtypes.ReturnValueUpdatedOld:
		return pick(old)
	case ddbtypes.ReturnValueUpdatedNew:
		return pick(new)
	}
	return nil
}

// ddbCheckRVOnFailure rejects a ReturnValuesOnConditionCheckFailure other
// than ALL_OLD or NONE, as DynamoDB's input validation does.
func ddbCheckRVOnFailure(rv ddbtypes.ReturnValuesOnConditionCheckFailure) error {
	switch rv {
	case "", ddbtypes.ReturnValuesOnConditionCheckFailureAllOld, ddbtypes.ReturnValuesOnConditionCheckFailureNone:
		return nil
	}
	return ddbValidation("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", rv)
}

// ddbCondFailed is the ConditionalCheckFailedException of a failed
// condition: carrying the item as it was (none if it did not exist) when
// the request asked for ALL_OLD.
func ddbCondFailed(old ddbItem, rv ddbtypes.ReturnValuesOnConditionCheckFailure) error {
	e := &ddbtypes.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	if rv == ddbtypes.ReturnValuesOnConditionCheckFailureAllOld && old != nil {
		e.Item = ddbCopyItem(old)
	}
	return e
}

// ddbParseOptCond parses an optional condition expression.
func ddbParseOptCond(kind string, src *string, ctx *ddbExprCtx) (any, error) {
	if src == nil {
		return nil, nil
	}
	return ddbParseCondition(kind, *src, ctx)
}

func ddbOld(s *ddbStored) ddbItem {
	if s == nil {
		return nil
	}
	return s.item()
}

// PutItem writes an item, optionally under a condition.
func (c *DynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	const op = "PutItem"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	if in.ReturnValues != "" && in.ReturnValues != ddbtypes.ReturnValueNone && in.ReturnValues != ddbtypes.ReturnValueAllOld {
		return nil, opErr(ddbServiceID, op, ddbValidation("ReturnValues can only be ALL_OLD or NONE"))
	}
	if err := ddbCheckRVOnFailure(in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	if in.Expected != nil {
		return nil, opErr(ddbServiceID, op, ddbValidation("the legacy parameter Expected is not supported; use ConditionExpression"))
	}
	ectx := ddbNewExprCtx(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	cond, err := ddbParseOptCond("ConditionExpression", in.ConditionExpression, ectx)
	if err == nil {
		err = ectx.checkUnused()
	}
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	// The item is read, not kept: what is stored is its packed copy.
	item := in.Item
	if err := ddbValidateItem(item); err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.activeLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	key, hashEnc, err := t.keyOf(item, false)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	old := ddbOld(t.getLocked(key, hashEnc))
	if cond != nil && !ddbEval(old, cond) {
		return nil, opErr(ddbServiceID, op, ddbCondFailed(old, in.ReturnValuesOnConditionCheckFailure))
	}
	c.writeLocked(t, key, hashEnc, item)
	return &dynamodb.PutItemOutput{Attributes: ddbReturnValues(in.ReturnValues, old, item, nil)}, nil
}

// GetItem reads an item.
func (c *DynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	const op = "GetItem"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	ectx := ddbNewExprCtx(in.ExpressionAttributeNames, nil)
	proj, err := ddbParseOptProjection(in.ProjectionExpression, in.AttributesToGet, ectx)
	if err == nil {
		err = ectx.checkUnused()
	}
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.activeLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	key, hashEnc, err := t.keyOf(in.Key, true)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	out := &dynamodb.GetItemOutput{}
	if s := t.getLocked(key, hashEnc); s != nil {
		out.Item = ddbProjectOwn(s.item(), proj)
	}
	return out, nil
}

func ddbParseOptProjection(src *string, attrs []string, ctx *ddbExprCtx) ([]*ddbPath, error) {
	if src != nil {
		return ddbParseProjection(*src, ctx)
	}
	if len(attrs) > 0 {
		var out []*ddbPath
		for _, a := range attrs {
			out = append(out, &ddbPath{elems: []ddbPathElem{{name: a, index: -1}}})
		}
		return out, nil
	}
	return nil, nil
}

// UpdateItem updates (or creates) an item with an update expression.
func (c *DynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	const op = "UpdateItem"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	if in.AttributeUpdates != nil || in.Expected != nil {
		return nil, opErr(ddbServiceID, op, ddbValidation("the legacy parameters AttributeUpdates and Expected are not supported; use UpdateExpression and ConditionExpression"))
	}
	if err := ddbCheckRVOnFailure(in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	ectx := ddbNewExprCtx(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	upd, cond, err := ddbParseUpdateReq(in.UpdateExpression, in.ConditionExpression, ectx)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.activeLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	old, newItem, key, hashEnc, touched, err := c.prepareUpdateLocked(t, in.Key, upd, cond, in.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	c.writeLocked(t, key, hashEnc, newItem)
	return &dynamodb.UpdateItemOutput{Attributes: ddbReturnValues(in.ReturnValues, old, newItem, touched)}, nil
}

func ddbParseUpdateReq(updSrc, condSrc *string, ectx *ddbExprCtx) (*ddbUpdate, any, error) {
	var upd *ddbUpdate
	if updSrc != nil {
		var err error
		if upd, err = ddbParseUpdate(*updSrc, ectx); err != nil {
			return nil, nil, err
		}
	}
	cond, err := ddbParseOptCond("ConditionExpression", condSrc, ectx)
	if err != nil {
		return nil, nil, err
	}
	return upd, cond, ectx.checkUnused()
}

// prepareUpdateLocked computes an update's result without storing it.
func (c *DynamoDB) prepareUpdateLocked(t *ddbTable, keyIn ddbItem, upd *ddbUpdate, cond any, rvf ddbtypes.ReturnValuesOnConditionCheckFailure) (old, newItem ddbItem, key, hashEnc string, touched []string, err error) {
	keyItem := ddbCopyItem(keyIn)
	if err = ddbValidateItem(keyItem); err != nil {
		return
	}
	if key, hashEnc, err = t.keyOf(keyItem, true); err != nil {
		return
	}
	old = ddbOld(t.getLocked(key, hashEnc))
	if cond != nil && !ddbEval(old, cond) {
		err = ddbCondFailed(old, rvf)
		return
	}
	newItem = ddbCopyItem(old)
	if newItem == nil {
		newItem = keyItem
	}
	if upd != nil {
		if touched, err = ddbApplyUpdate(newItem, upd); err != nil {
			return
		}
	}
	for _, n := range touched {
		if n == t.hashKey || n == t.rangeKey {
			err = ddbValidation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", n)
			return
		}
	}
	err = ddbValidateItem(newItem)
	return
}

// DeleteItem deletes an item, optionally under a condition.
func (c *DynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	const op = "DeleteItem"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	if in.ReturnValues != "" && in.ReturnValues != ddbtypes.ReturnValueNone && in.ReturnValues != ddbtypes.ReturnValueAllOld {
		return nil, opErr(ddbServiceID, op, ddbValidation("ReturnValues can only be ALL_OLD or NONE"))
	}
	if err := ddbCheckRVOnFailure(in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	ectx := ddbNewExprCtx(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	cond, err := ddbParseOptCond("ConditionExpression", in.ConditionExpression, ectx)
	if err == nil {
		err = ectx.checkUnused()
	}
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.activeLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	key, hashEnc, err := t.keyOf(in.Key, true)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	old := ddbOld(t.getLocked(key, hashEnc))
	if cond != nil && !ddbEval(old, cond) {
		return nil, opErr(ddbServiceID, op, ddbCondFailed(old, in.ReturnValuesOnConditionCheckFailure))
	}
	if old != nil {
		c.writeLocked(t, key, hashEnc, nil)
	}
	return &dynamodb.DeleteItemOutput{Attributes: ddbReturnValues(in.ReturnValues, old, nil, nil)}, nil
}

// ddbKeyCond is an analysed key condition.
type ddbKeyCond struct {
	hashEnc string
	rng     any // condition on the sort key, or nil
}

// keyCondition checks a parsed KeyConditionExpression against the schema.
func (t *ddbSchema) keyCondition(c any) (*ddbKeyCond, error) {
	var conds []any
	var flatten func(c any) error
	flatten = func(c any) error {
		switch c := c.(type) {
		case *ddbAnd:
			if err := flatten(c.l); err != nil {
				return err
			}
			return flatten(c.r)
		case *ddbOr:
			return ddbValidation("Invalid operator used in KeyConditionExpression: OR")
		case *ddbNot:
			return ddbValidation("Invalid operator used in KeyConditionExpression: NOT")
		}
		conds = append(conds, c)
		return nil
	}
	if err := flatten(c); err != nil {
		return nil, err
	}
	if len(conds) > 2 {
		return nil, ddbValidation("Conditions can be of length 1 or 2 only")
	}
	keyName := func(o any) string {
		if p, ok := o.(*ddbPath); ok && len(p.elems) == 1 {
			return p.elems[0].name
		}
		return ""
	}
	checkType := func(o any, typ string) error {
		v, ok := o.(*ddbValRef)
		if !ok {
			return ddbValidation("Invalid KeyConditionExpression: key conditions compare a key attribute with a value")
		}
		if ddbTypeName(v.av) != typ {
			return ddbValidation("One or more parameter values were invalid: Condition parameter type does not match schema type")
		}
		return nil
	}
	kc := &ddbKeyCond{}
	for _, c := range conds {
		var name string
		var vals []any
		switch c := c.(type) {
		case *ddbCmp:
			if c.op == "<>" {
				return nil, ddbValidation("Unsupported operator on KeyConditionExpression: operator: <>")
			}
			name, vals = keyName(c.l), []any{c.r}
		case *ddbBetween:
			name, vals = keyName(c.v), []any{c.lo, c.hi}
		case *ddbFunc:
			if c.name != "begins_with" {
				return nil, ddbValidation("Invalid operator used in KeyConditionExpression: %s", c.name)
			}
			name, vals = keyName(c.args[0]), []any{c.args[1]}
		default:
			return nil, ddbValidation("Invalid KeyConditionExpression: unsupported condition")
		}
		switch name {
		case t.hashKey:
			cmp, ok := c.(*ddbCmp)
			if !ok || cmp.op != "=" || kc.hashEnc != "" {
				return nil, ddbValidation("Query key condition not supported")
			}
			if err := checkType(vals[0], t.hashType); err != nil {
				return nil, err
			}
			kc.hashEnc = ddbKeyEnc(vals[0].(*ddbValRef).av)
		case t.rangeKey:
			if t.rangeKey == "" || kc.rng != nil {
				return nil, ddbValidation("Query key condition not supported")
			}
			for _, v := range vals {
				if err := checkType(v, t.rngType); err != nil {
					return nil, err
				}
			}
			kc.rng = c
		default:
			if name == "" {
				return nil, ddbValidation("Invalid KeyConditionExpression: key conditions must name a key attribute directly")
			}
			return nil, ddbValidation("Query condition missed key schema element: %s", t.hashKey)
		}
	}
	if kc.hashEnc == "" {
		return nil, ddbValidation("Query condition missed key schema element: %s", t.hashKey)
	}
	return kc, nil
}

// ddbPage collects one Query or Scan page.
type ddbPage struct {
	limit    int
	filter   any
	proj     []*ddbPath
	count    bool
	items    []ddbItem
	scanned  int
	bytes    int
	last     *ddbStored
	stopped  bool
	selected int
	view     func(ddbItem) ddbItem // an index's projection, or nil
	// picked are the packed forms of the items pick took, for read.
	picked []string
	// only, when set, is every attribute a read of an item needs (its
	// projection's and its filter's, all top-level names): read unpacks
	// those alone. own is set when they are the projection's alone, so
	// the unpacked item is the projected one.
	only map[string]bool
	own  bool
}

// pick takes one stored item into the page, but leaves reading it
// (unpacking, filter, projection) to read, which needs no lock: a packed
// form never changes. It reports false when the page is full.
func (p *ddbPage) pick(s *ddbStored) bool {
	if p.stopped {
		return false
	}
	p.scanned++
	p.bytes += int(s.size)
	p.last = s
	p.picked = append(p.picked, s.packed)
	if p.limit > 0 && p.scanned >= p.limit || p.bytes >= ddbPageBytes {
		p.stopped = true
	}
	return !p.stopped
}

// read evaluates the items pick took.
func (p *ddbPage) read() {
	only := p.only
	if p.view != nil {
		only = nil // an index's view reads the whole item
	}
	for _, packed := range p.picked {
		item := ddbUnpackOnly(packed, only)
		if p.view != nil {
			item = p.view(item)
		}
		if p.filter == nil || ddbEval(item, p.filter) {
			p.selected++
			switch {
			case p.count:
			case only != nil && p.own:
				p.items = append(p.items, item)
			case only != nil:
				// Fresh values, the item's alone: moved, not copied.
				out := make(ddbItem, len(p.proj))
				for _, path := range p.proj {
					if v, ok := item[path.elems[0].name]; ok {
						out[path.elems[0].name] = v
					}
				}
				p.items = append(p.items, out)
			default:
				p.items = append(p.items, ddbProjectOwn(item, p.proj))
			}
		}
	}
	p.picked = nil
}

// readNames sets the page's only and own for its projection and filter:
// when every projected path is a top-level attribute and every node of
// the filter is known, a read needs those attributes alone.
func (p *ddbPage) readNames() {
	if len(p.proj) == 0 {
		return
	}
	only := make(map[string]bool, len(p.proj))
	for _, path := range p.proj {
		if len(path.elems) != 1 {
			return
		}
		only[path.elems[0].name] = true
	}
	n := len(only)
	if !ddbTopNames(p.filter, only) {
		return
	}
	p.only, p.own = only, len(only) == n
}

// add takes one stored item into the page and evaluates it at once (for
// reads that hold the lock throughout); it reports false when the page is
// full.
func (p *ddbPage) add(s *ddbStored) bool {
	more := p.pick(s)
	p.read()
	return more
}

func ddbReadOpts(names map[string]string, values map[string]ddbAV, filterSrc, projSrc *string, sel ddbtypes.Select, limit *int32) (*ddbPage, *ddbExprCtx, error) {
	ectx := ddbNewExprCtx(names, values)
	filter, err := ddbParseOptCond("FilterExpression", filterSrc, ectx)
	if err != nil {
		return nil, nil, err
	}
	proj, err := ddbParseOptProjection(projSrc, nil, ectx)
	if err != nil {
		return nil, nil, err
	}
	if limit != nil && *limit < 1 {
		return nil, nil, ddbValidation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *limit)
	}
	page := &ddbPage{limit: int(aws.ToInt32(limit)), filter: filter, proj: proj, count: sel == ddbtypes.SelectCount}
	page.readNames()
	return page, ectx, nil
}

// Query reads a partition in sort-key order.
func (c *DynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	const op = "Query"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	if in.KeyConditionExpression == nil {
		return nil, opErr(ddbServiceID, op, ddbValidation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."))
	}
	page, ectx, err := ddbReadOpts(in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.FilterExpression, in.ProjectionExpression, in.Select, in.Limit)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	kcExpr, err := ddbParseCondition("KeyConditionExpression", *in.KeyConditionExpression, ectx)
	if err == nil {
		err = ectx.checkUnused()
	}
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.activeLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	if in.IndexName != nil {
		ix, err := t.index(aws.ToString(in.IndexName))
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		kc, err := ix.keyCondition(kcExpr)
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		out, err := t.queryIndexLocked(ix, kc, in.ExclusiveStartKey, in.ScanIndexForward == nil || *in.ScanIndexForward, page)
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		return out, nil
	}
	kc, err := t.keyCondition(kcExpr)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	var items []*ddbStored
	items = t.partLocked(kc.hashEnc)
	start, end, step := 0, len(items), 1
	if !forward {
		start, end, step = len(items)-1, -1, -1
	}
	if in.ExclusiveStartKey != nil {
		esk := ddbCopyItem(in.ExclusiveStartKey)
		if err := ddbValidateItem(esk); err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		key, hashEnc, err := t.keyOf(esk, true)
		if err != nil || hashEnc != kc.hashEnc {
			return nil, opErr(ddbServiceID, op, ddbValidation("The provided starting key is invalid: The provided key element does not match the schema"))
		}
		probe := &ddbStored{key: key, hashLen: int32(len(hashEnc))}
		if n, ok := esk[t.rangeKey].(*ddbtypes.AttributeValueMemberN); ok {
			probe.rngNum, _ = ddbNum(n.Value)
		}
		i := sort.Search(len(items), func(i int) bool { return ddbRangeCmp(items[i], probe) > 0 })
		if forward {
			start = i
		} else {
			j := sort.Search(len(items), func(i int) bool { return ddbRangeCmp(items[i], probe) >= 0 })
			start = j - 1
		}
	}
	for i := start; i != end; i += step {
		s := items[i]
		if kc.rng != nil && !ddbEval(s.item(), kc.rng) {
			continue
		}
		if !page.add(s) {
			break
		}
	}
	out := &dynamodb.QueryOutput{Items: page.items, Count: int32(page.selected), ScannedCount: int32(page.scanned)}
	if page.stopped && page.last != nil {
		out.LastEvaluatedKey = t.keyAttrs(page.last.item())
	}
	return out, nil
}

// scanOrderLocked returns every item in scan order (partition, then sort key).
func (t *ddbTable) scanOrderLocked() []*ddbStored {
	if t.order != nil {
		return t.order
	}
	t.partsLocked()
	order := make([]*ddbStored, 0, t.count)
	t.parts.each(func(s *ddbStored) { order = append(order, s) })
	for _, pt := range t.multi {
		order = append(order, pt.items...)
	}
	slices.SortFunc(order, ddbScanCmp)
	t.order = order
	return order
}

// Scan reads the whole table, optionally one segment of a parallel scan.
func (c *DynamoDB) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	const op = "Scan"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	seg, total := int(aws.ToInt32(in.Segment)), int(aws.ToInt32(in.TotalSegments))
	if (in.Segment == nil) != (in.TotalSegments == nil) || in.TotalSegments != nil && (total < 1 || total > 1000000 || seg < 0 || seg >= total) {
		return nil, opErr(ddbServiceID, op, ddbValidation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present"))
	}
	page, ectx, err := ddbReadOpts(in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.FilterExpression, in.ProjectionExpression, in.Select, in.Limit)
	if err == nil {
		err = ectx.checkUnused()
	}
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	// The page's items are chosen under the lock and read after it, so
	// parallel scans (and other requests) do not wait on each other's
	// unpacking and filtering.
	lastKey, err := c.scanPick(in, page, seg, total)
	if err != nil {
		return nil, err
	}
	page.read()
	return &dynamodb.ScanOutput{Items: page.items, Count: int32(page.selected), ScannedCount: int32(page.scanned), LastEvaluatedKey: lastKey}, nil
}

// scanPick picks Scan's page of the table's items (page.read reads them),
// or evaluates an index scan's page, under the lock, and returns the
// page's LastEvaluatedKey.
func (c *DynamoDB) scanPick(in *dynamodb.ScanInput, page *ddbPage, seg, total int) (map[string]ddbAV, error) {
	const op = "Scan"
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.activeLocked(aws.ToString(in.TableName))
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	if in.IndexName != nil {
		ix, err := t.index(aws.ToString(in.IndexName))
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		out, err := t.scanIndexLocked(ix, in.ExclusiveStartKey, seg, total, page)
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		page.items, page.selected, page.scanned = out.Items, int(out.Count), int(out.ScannedCount)
		return out.LastEvaluatedKey, nil
	}
	order := t.scanOrderLocked()
	start := 0
	if in.ExclusiveStartKey != nil {
		esk := ddbCopyItem(in.ExclusiveStartKey)
		if err := ddbValidateItem(esk); err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		key, hashEnc, err := t.keyOf(esk, true)
		if err != nil {
			return nil, opErr(ddbServiceID, op, ddbValidation("The provided starting key is invalid: The provided key element does not match the schema"))
		}
		probe := &ddbStored{key: key, hashLen: int32(len(hashEnc))}
		if n, ok := esk[t.rangeKey].(*ddbtypes.AttributeValueMemberN); ok {
			probe.rngNum, _ = ddbNum(n.Value)
		}
		start = sort.Search(len(order), func(i int) bool {
			s := order[i]
			if s.hash() != probe.hash() {
				return s.hash() > probe.hash()
			}
			return t.rangeKey != "" && ddbRangeCmp(s, probe) > 0
		})
	}
	for _, s := range order[start:] {
		if total > 0 && int(ddbSegmentOf(s.hash(), total)) != seg {
			continue
		}
		if !page.pick(s) {
			break
		}
	}
	if page.stopped && page.last != nil {
		return t.keyAttrs(page.last.item()), nil
	}
	return nil, nil
}

func ddbSegmentOf(hashEnc string, total int) uint32 {
	h := fnv.New32a()
	h.Write([]byte(hashEnc))
	return h.Sum32() % uint32(total)
}

// BatchWriteItem puts and deletes up to 25 items across tables. Every
// request is processed (UnprocessedItems is always empty).
func (c *DynamoDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	const op = "BatchWriteItem"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	n := 0
	for _, reqs := range in.RequestItems {
		n += len(reqs)
	}
	if n == 0 || n > 25 {
		return nil, opErr(ddbServiceID, op, ddbValidation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	type write struct {
		t            *ddbTable
		key, hashEnc string
		item         ddbItem
	}
	var writes []write
	seen := map[string]bool{}
	for _, name := range ddbKeys(in.RequestItems) {
		t, err := c.activeLocked(name)
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		for _, req := range in.RequestItems[name] {
			var w write
			var err error
			switch {
			case req.PutRequest != nil:
				w.item = req.PutRequest.Item // read, not kept: stored packed
				if err = ddbValidateItem(w.item); err == nil {
					w.key, w.hashEnc, err = t.keyOf(w.item, false)
				}
			case req.DeleteRequest != nil:
				k := ddbCopyItem(req.DeleteRequest.Key)
				if err = ddbValidateItem(k); err == nil {
					w.key, w.hashEnc, err = t.keyOf(k, true)
				}
			default:
				err = ddbValidation("Supplied WriteRequest is empty, must contain exactly one of PutRequest or DeleteRequest")
			}
			if err != nil {
				return nil, opErr(ddbServiceID, op, err)
			}
			if seen[name+"\x01"+w.key] {
				return nil, opErr(ddbServiceID, op, ddbValidation("Provided list of item keys contains duplicates"))
			}
			seen[name+"\x01"+w.key] = true
			w.t = t
			writes = append(writes, w)
		}
	}
	for _, w := range writes {
		c.writeLocked(w.t, w.key, w.hashEnc, w.item)
	}
	return &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]ddbtypes.WriteRequest{}}, nil
}

// BatchGetItem reads up to 100 items across tables.
func (c *DynamoDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	const op = "BatchGetItem"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	n := 0
	for _, ka := range in.RequestItems {
		n += len(ka.Keys)
	}
	if n == 0 || n > 100 {
		return nil, opErr(ddbServiceID, op, ddbValidation("Too many items requested for the BatchGetItem call"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]ddbAV{}, UnprocessedKeys: map[string]ddbtypes.KeysAndAttributes{}}
	for _, name := range ddbKeys(in.RequestItems) {
		ka := in.RequestItems[name]
		t, err := c.activeLocked(name)
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		ectx := ddbNewExprCtx(ka.ExpressionAttributeNames, nil)
		proj, err := ddbParseOptProjection(ka.ProjectionExpression, ka.AttributesToGet, ectx)
		if err == nil {
			err = ectx.checkUnused()
		}
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		seen := map[string]bool{}
		resp := []map[string]ddbAV{}
		for _, k := range ka.Keys {
			kc := ddbCopyItem(k)
			if err := ddbValidateItem(kc); err != nil {
				return nil, opErr(ddbServiceID, op, err)
			}
			key, hashEnc, err := t.keyOf(kc, true)
			if err != nil {
				return nil, opErr(ddbServiceID, op, err)
			}
			if seen[key] {
				return nil, opErr(ddbServiceID, op, ddbValidation("Provided list of item keys contains duplicates"))
			}
			seen[key] = true
			if s := t.getLocked(key, hashEnc); s != nil {
				resp = append(resp, ddbProjectOwn(s.item(), proj))
			}
		}
		out.Responses[name] = resp
	}
	return out, nil
}

// TransactWriteItems applies up to 100 actions atomically: if any condition
// fails, nothing is written and TransactionCanceledException lists a reason
// per action (ConditionalCheckFailed or None), in request order.
func (c *DynamoDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	const op = "TransactWriteItems"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return nil, opErr(ddbServiceID, op, ddbValidation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100, Member must have length greater than or equal to 1"))
	}
	type action struct {
		table      string
		keyIn      ddbItem
		item       ddbItem // Put
		upd        *ddbUpdate
		cond       any
		del, check bool
		rvf        ddbtypes.ReturnValuesOnConditionCheckFailure
	}
	acts := make([]action, len(in.TransactItems))
	for i, ti := range in.TransactItems {
		var a action
		var names map[string]string
		var values map[string]ddbAV
		var condSrc, updSrc *string
		n := 0
		if p := ti.Put; p != nil {
			n++
			a.table, a.item, names, values, condSrc, a.rvf = aws.ToString(p.TableName), p.Item, p.ExpressionAttributeNames, p.ExpressionAttributeValues, p.ConditionExpression, p.ReturnValuesOnConditionCheckFailure
		}
		if u := ti.Update; u != nil {
			n++
			a.table, a.keyIn, names, values, condSrc, updSrc, a.rvf = aws.ToString(u.TableName), u.Key, u.ExpressionAttributeNames, u.ExpressionAttributeValues, u.ConditionExpression, u.UpdateExpression, u.ReturnValuesOnConditionCheckFailure
			if updSrc == nil {
				return nil, opErr(ddbServiceID, op, ddbValidation("1 validation error detected: Value null at 'transactItems.%d.member.update.updateExpression' failed to satisfy constraint: Member must not be null", i+1))
			}
		}
		if d := ti.Delete; d != nil {
			n++
			a.table, a.keyIn, names, values, condSrc, a.del, a.rvf = aws.ToString(d.TableName), d.Key, d.ExpressionAttributeNames, d.ExpressionAttributeValues, d.ConditionExpression, true, d.ReturnValuesOnConditionCheckFailure
		}
		if cc := ti.ConditionCheck; cc != nil {
			n++
			a.table, a.keyIn, names, values, condSrc, a.check, a.rvf = aws.ToString(cc.TableName), cc.Key, cc.ExpressionAttributeNames, cc.ExpressionAttributeValues, cc.ConditionExpression, true, cc.ReturnValuesOnConditionCheckFailure
			if condSrc == nil {
				return nil, opErr(ddbServiceID, op, ddbValidation("1 validation error detected: Value null at 'transactItems.%d.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null", i+1))
			}
		}
		if n != 1 {
			return nil, opErr(ddbServiceID, op, ddbValidation("TransactItems can only contain one of Check, Put, Update or Delete"))
		}
		ectx := ddbNewExprCtx(names, values)
		upd, cond, err := ddbParseUpdateReq(updSrc, condSrc, ectx)
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		a.upd, a.cond = upd, cond
		acts[i] = a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	type result struct {
		t            *ddbTable
		key, hashEnc string
		item         ddbItem
		write        bool
	}
	results := make([]result, len(acts))
	reasons := make([]ddbtypes.CancellationReason, len(acts))
	seen := map[string]bool{}
	failed := false
	for i, a := range acts {
		t, err := c.activeLocked(a.table)
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		res := result{t: t}
		var old ddbItem
		switch {
		case a.item != nil:
			if err = ddbValidateItem(a.item); err == nil {
				res.key, res.hashEnc, err = t.keyOf(a.item, false)
			}
			if err == nil {
				old = ddbOld(t.getLocked(res.key, res.hashEnc))
				res.item, res.write = a.item, true
			}
		case a.upd != nil:
			old, res.item, res.key, res.hashEnc, _, err = c.prepareUpdateLocked(t, a.keyIn, a.upd, nil, "")
			res.write = true
		default:
			k := ddbCopyItem(a.keyIn)
			if err = ddbValidateItem(k); err == nil {
				res.key, res.hashEnc, err = t.keyOf(k, true)
			}
			if err == nil {
				old = ddbOld(t.getLocked(res.key, res.hashEnc))
				res.write = a.del
			}
		}
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		if seen[a.table+"\x01"+res.key] {
			return nil, opErr(ddbServiceID, op, ddbValidation("Transaction request cannot include multiple operations on one item"))
		}
		seen[a.table+"\x01"+res.key] = true
		reasons[i] = ddbtypes.CancellationReason{Code: aws.String("None")}
		if a.cond != nil && !ddbEval(old, a.cond) {
			failed = true
			reasons[i] = ddbtypes.CancellationReason{Code: aws.String("ConditionalCheckFailed"), Message: aws.String("The conditional request failed")}
			if a.rvf == ddbtypes.ReturnValuesOnConditionCheckFailureAllOld && old != nil {
				reasons[i].Item = ddbCopyItem(old)
			}
		}
		results[i] = res
	}
	if failed {
		codes := make([]string, len(reasons))
		for i, r := range reasons {
			codes[i] = aws.ToString(r.Code)
		}
		return nil, opErr(ddbServiceID, op, &ddbtypes.TransactionCanceledException{
			Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"),
			CancellationReasons: reasons,
		})
	}
	for _, r := range results {
		if r.write {
			c.writeLocked(r.t, r.key, r.hashEnc, r.item)
		}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

// --- point-in-time recovery ---

// UpdateContinuousBackups turns point-in-time recovery on or off. Turning it
// on starts the recovery window now.
func (c *DynamoDB) UpdateContinuousBackups(ctx context.Context, in *dynamodb.UpdateContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error) {
	const op = "UpdateContinuousBackups"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	spec := in.PointInTimeRecoverySpecification
	if spec == nil || spec.PointInTimeRecoveryEnabled == nil {
		return nil, opErr(ddbServiceID, op, ddbValidation("1 validation error detected: Value null at 'pointInTimeRecoverySpecification' failed to satisfy constraint: Member must not be null"))
	}
	days := aws.ToInt32(spec.RecoveryPeriodInDays)
	if spec.RecoveryPeriodInDays != nil && (days < 1 || days > 35) {
		return nil, opErr(ddbServiceID, op, ddbValidation("RecoveryPeriodInDays must be between 1 and 35"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tables[c.ddbTableName(aws.ToString(in.TableName))]
	if t == nil {
		return nil, opErr(ddbServiceID, op, &ddbtypes.TableNotFoundException{Message: aws.String("Table not found: " + aws.ToString(in.TableName))})
	}
	on := *spec.PointInTimeRecoveryEnabled
	switch {
	case on && !t.pitr:
		t.pitrSince = c.now()
		t.pitrOnLocked(t.pitrSince)
	case !on && t.pitr:
		t.pitrOffLocked()
	}
	if days > 0 {
		t.pitrDays = days
	}
	return &dynamodb.UpdateContinuousBackupsOutput{ContinuousBackupsDescription: c.continuousLocked(t)}, nil
}

// pitrOnLocked turns PITR on at now: the change log starts with the items
// the table holds.
func (t *ddbTable) pitrOnLocked(now time.Time) {
	t.pitr = true
	t.log, t.recent = ddbLog{}, nil
	for _, s := range t.byKeyLocked() {
		t.log.add(ddbChange{at: now.UnixNano(), s: s})
	}
}

// byKeyLocked returns t's stored items ordered by primary key.
func (t *ddbTable) byKeyLocked() []*ddbStored {
	all := make([]*ddbStored, 0, t.count)
	t.eachLocked(func(s *ddbStored) { all = append(all, s) })
	slices.SortFunc(all, func(a, b *ddbStored) int { return strings.Compare(a.key, b.key) })
	return all
}

// pitrOffLocked turns PITR off: the table's history is gone, and turning
// it on again starts a new one.
func (t *ddbTable) pitrOffLocked() {
	t.pitr = false
	t.log, t.recent = ddbLog{}, nil
}

// pitrWindowLocked returns the restorable window: earliest is when PITR was
// turned on (at most RecoveryPeriodInDays back), latest about five minutes
// before now (docs/aws-facts.md "DynamoDB PITR"), never before earliest.
func (c *DynamoDB) pitrWindowLocked(t *ddbTable) (earliest, latest time.Time) {
	now := c.now()
	earliest = t.pitrSince
	if floor := now.AddDate(0, 0, -int(t.pitrDays)); earliest.Before(floor) {
		earliest = floor
	}
	latest = now.Add(-c.latestLag)
	if latest.Before(earliest) {
		latest = earliest
	}
	return earliest, latest
}

func (c *DynamoDB) continuousLocked(t *ddbTable) *ddbtypes.ContinuousBackupsDescription {
	d := &ddbtypes.ContinuousBackupsDescription{ContinuousBackupsStatus: ddbtypes.ContinuousBackupsStatusEnabled,
		PointInTimeRecoveryDescription: &ddbtypes.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: ddbtypes.PointInTimeRecoveryStatusDisabled}}
	if t.pitr {
		e, l := c.pitrWindowLocked(t)
		d.PointInTimeRecoveryDescription = &ddbtypes.PointInTimeRecoveryDescription{
			PointInTimeRecoveryStatus:  ddbtypes.PointInTimeRecoveryStatusEnabled,
			EarliestRestorableDateTime: aws.Time(e), LatestRestorableDateTime: aws.Time(l),
			RecoveryPeriodInDays: aws.Int32(t.pitrDays),
		}
	}
	return d
}

// DescribeContinuousBackups describes a table's point-in-time recovery.
func (c *DynamoDB) DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	const op = "DescribeContinuousBackups"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tables[c.ddbTableName(aws.ToString(in.TableName))]
	if t == nil {
		return nil, opErr(ddbServiceID, op, &ddbtypes.TableNotFoundException{Message: aws.String("Table not found: " + aws.ToString(in.TableName))})
	}
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: c.continuousLocked(t)}, nil
}

// ddbSnapshot is a table's schema and items at one instant: what a restore
// or a backup recovery point holds.
type ddbSnapshot struct {
	tableArn  string
	at        time.Time
	keySchema []ddbtypes.KeySchemaElement
	attrDefs  []ddbtypes.AttributeDefinition
	billing   ddbtypes.BillingMode
	rcu, wcu  int64
	indexes   []*ddbIndex
	// items are the table's stored items then, by primary key: stored
	// items never change, so a snapshot holds them as they were, and a
	// restore shares them.
	items []*ddbStored
	bytes int64
}

// snapshotLocked rebuilds t as of at from its change log: its state at
// the end of at's second, restores being to the second (logLocked). A
// table without PITR has no log: it is snapshotted as it is now, which is
// the only time an on-demand backup reads it at.
//
// Most of a table is as it was then: only the keys changed since (the
// log's tail from the end of that second) differ, so the snapshot is the
// current items but for those, whose state then is read back from the log
// before the tail. A table of millions of items costs no map of them all.
func (t *ddbTable) snapshotLocked(at time.Time) *ddbSnapshot {
	if !t.pitr {
		return t.currentSnapshotLocked(at)
	}
	end := at.Truncate(time.Second).Add(time.Second).UnixNano()
	// The log is in order of seconds (a change replaces its key's entry
	// only within the same second), so its tail starts at the first change
	// at or after end.
	tail := sort.Search(t.log.len(), func(i int) bool { return t.log.at(i).at >= end })
	if tail == t.log.len() {
		return t.currentSnapshotLocked(at)
	}
	// then holds each key changed in the tail: its stored item at the end
	// of at's second (nil for none), found by reading the log back from
	// the tail; found counts the keys whose state is known.
	then := make(map[string]*ddbStored)
	for i := tail; i < t.log.len(); i++ {
		then[t.log.at(i).s.key] = nil
	}
	known := make(map[string]bool, len(then))
	for i := tail - 1; i >= 0 && len(known) < len(then); i-- {
		ch := t.log.at(i)
		if _, changed := then[ch.s.key]; changed && !known[ch.s.key] {
			known[ch.s.key] = true
			if ch.s.packed != "" {
				then[ch.s.key] = ch.s
			}
		}
	}
	changed := ddbKeys(then)
	cur := t.byKeyLocked()
	s := t.emptySnapshot(at)
	n := len(cur) + len(changed)
	s.items = make([]*ddbStored, 0, n)
	add := func(st *ddbStored) {
		s.items = append(s.items, st)
		s.bytes += int64(st.size)
	}
	// Merge the current items, less the changed keys, with the changed
	// keys' states then, in key order.
	j := 0
	for _, st := range cur {
		for ; j < len(changed) && changed[j] < st.key; j++ {
			if was := then[changed[j]]; was != nil {
				add(was)
			}
		}
		if j < len(changed) && changed[j] == st.key {
			continue // its state then is added with the changed keys
		}
		add(st)
	}
	for ; j < len(changed); j++ {
		if was := then[changed[j]]; was != nil {
			add(was)
		}
	}
	return s
}

func (t *ddbTable) emptySnapshot(at time.Time) *ddbSnapshot {
	return &ddbSnapshot{tableArn: t.arn, at: at, keySchema: t.keySchema, attrDefs: t.attrDefs, billing: t.billing, rcu: t.rcu, wcu: t.wcu, indexes: t.indexes}
}

// currentSnapshotLocked snapshots t's items as they are, at at.
func (t *ddbTable) currentSnapshotLocked(at time.Time) *ddbSnapshot {
	s := t.emptySnapshot(at)
	s.items = t.byKeyLocked()
	for _, st := range s.items {
		s.bytes += int64(st.size)
	}
	return s
}

// ddbSnapshotOf snapshots the named table now (for AWS Backup).
func (c *DynamoDB) ddbSnapshotOf(arnOrName string) (*ddbSnapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := c.ddbTableName(arnOrName)
	t := c.tables[name]
	if t == nil {
		return nil, fmt.Errorf("table %s not found", name)
	}
	return t.snapshotLocked(c.now()), nil
}

// restoreLocked creates target from snap; it is CREATING for d. The new
// table has no PITR, tags, TTL, stream or deletion protection
// (docs/aws-facts.md "DynamoDB PITR").
func (c *DynamoDB) restoreLocked(target string, snap *ddbSnapshot, summary *ddbtypes.RestoreSummary, d time.Duration) (*ddbTable, error) {
	if c.tables[target] != nil {
		return nil, &ddbtypes.TableAlreadyExistsException{Message: aws.String("Table already exists: " + target)}
	}
	if c.restoresInFlightLocked() >= ddbMaxConcurrentRestores {
		return nil, &ddbtypes.LimitExceededException{Message: aws.String(fmt.Sprintf("There is a limit of %d concurrent restores per account and region", ddbMaxConcurrentRestores))}
	}
	t, err := ddbNewTable(target, snap.keySchema, snap.attrDefs)
	if err != nil {
		return nil, err
	}
	t.billing, t.rcu, t.wcu = snap.billing, snap.rcu, snap.wcu
	t.indexes = snap.indexes // secondary indexes are restored; they are immutable
	t.restore = summary
	c.initTableLocked(t, d)
	// The snapshot's items are the source's stored items, of the same key
	// schema, which never change: the restored table shares them. It has
	// no PITR, so no change log, and its scan order only: its partitions
	// are mapped when a read or write first needs them. A backup's
	// snapshot may be restored again: the order is the table's own.
	order := slices.Clone(snap.items)
	slices.SortFunc(order, ddbScanCmp)
	t.parts, t.order, t.count, t.bytes = nil, order, len(order), snap.bytes
	return t, nil
}

func (c *DynamoDB) restoresInFlightLocked() int {
	n, now := 0, c.now()
	for _, t := range c.tables {
		if t.restore != nil && now.Before(t.activeAt) {
			n++
		}
	}
	return n
}

// ddbUnreachable is the error for a source table in a region that is down:
// the restore cannot reach it, as a call to that region could not.
func ddbUnreachable(op, region string) error {
	return opErr(ddbServiceID, op, &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: fmt.Errorf("connect to DynamoDB endpoint in %s: %w", region, ErrUnreachable)}})
}

// RestoreTableToPointInTime creates a new table in this region with the
// source table's items as of a point in time. SourceTableArn may name a table
// in another region, which must be up.
func (c *DynamoDB) RestoreTableToPointInTime(ctx context.Context, in *dynamodb.RestoreTableToPointInTimeInput, optFns ...func(*dynamodb.Options)) (*dynamodb.RestoreTableToPointInTimeOutput, error) {
	const op = "RestoreTableToPointInTime"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	target := aws.ToString(in.TargetTableName)
	if len(target) < 3 {
		return nil, opErr(ddbServiceID, op, ddbValidation("TargetTableName must be at least 3 characters long"))
	}
	if (in.SourceTableName == nil) == (in.SourceTableArn == nil) {
		return nil, opErr(ddbServiceID, op, ddbValidation("Exactly one of SourceTableName or SourceTableArn must be provided"))
	}
	if aws.ToBool(in.UseLatestRestorableTime) == (in.RestoreDateTime != nil) {
		return nil, opErr(ddbServiceID, op, ddbValidation("Exactly one of RestoreDateTime or UseLatestRestorableTime must be provided"))
	}
	src, srcName := c, aws.ToString(in.SourceTableName)
	if arn := aws.ToString(in.SourceTableArn); arn != "" {
		parts := strings.SplitN(arn, ":", 6)
		if len(parts) != 6 || parts[2] != "dynamodb" || !strings.HasPrefix(parts[5], "table/") {
			return nil, opErr(ddbServiceID, op, ddbValidation("Invalid SourceTableArn: %s", arn))
		}
		region, known := parts[3], false
		for _, r := range c.r.world.Regions() {
			known = known || r == region
		}
		if !known || parts[4] != c.r.world.Account {
			return nil, opErr(ddbServiceID, op, &ddbtypes.TableNotFoundException{Message: aws.String("Table not found: " + arn)})
		}
		if region != c.r.Name {
			if c.r.world.Down(region) {
				return nil, ddbUnreachable(op, region)
			}
			src = c.r.world.Region(region).DynamoDB()
		}
		srcName = strings.TrimPrefix(parts[5], "table/")
	}
	// Snapshot the source under its own lock, then create the target under
	// ours: never both at once.
	src.mu.Lock()
	st := src.tables[srcName]
	if st == nil {
		src.mu.Unlock()
		return nil, opErr(ddbServiceID, op, &ddbtypes.TableNotFoundException{Message: aws.String("Table not found: " + srcName)})
	}
	if !st.pitr {
		src.mu.Unlock()
		return nil, opErr(ddbServiceID, op, &ddbtypes.PointInTimeRecoveryUnavailableException{Message: aws.String("Point in time recovery is not enabled for table '" + srcName + "'")})
	}
	earliest, latest := src.pitrWindowLocked(st)
	at := latest
	if in.RestoreDateTime != nil {
		at = in.RestoreDateTime.UTC()
		if at.Before(earliest) || at.After(latest) {
			src.mu.Unlock()
			return nil, opErr(ddbServiceID, op, &ddbtypes.InvalidRestoreTimeException{Message: aws.String(fmt.Sprintf(
				"Restore time %s is outside the restorable window [%s, %s]", at.Format(time.RFC3339), earliest.Format(time.RFC3339), latest.Format(time.RFC3339)))})
		}
	}
	snap := st.snapshotLocked(at)
	src.mu.Unlock()

	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.restoreLocked(target, snap, &ddbtypes.RestoreSummary{SourceTableArn: aws.String(snap.tableArn), RestoreDateTime: aws.Time(at)}, c.restoreDelay)
	if err != nil {
		return nil, opErr(ddbServiceID, op, err)
	}
	if in.BillingModeOverride != "" {
		t.billing = in.BillingModeOverride
	}
	if pt := in.ProvisionedThroughputOverride; pt != nil {
		t.rcu, t.wcu = aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits)
	}
	return &dynamodb.RestoreTableToPointInTimeOutput{TableDescription: c.describe(t)}, nil
}

// TransactGetItems reads up to 100 items atomically; Responses follow the
// request order, with an empty ItemResponse for a missing item.
func (c *DynamoDB) TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error) {
	const op = "TransactGetItems"
	if err := c.r.call(ctx, ddbServiceID, op, in); err != nil {
		return nil, err
	}
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return nil, opErr(ddbServiceID, op, ddbValidation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100, Member must have length greater than or equal to 1"))
	}
	projs := make([][]*ddbPath, len(in.TransactItems))
	for i, ti := range in.TransactItems {
		if ti.Get == nil {
			return nil, opErr(ddbServiceID, op, ddbValidation("TransactItems can only contain Get"))
		}
		ectx := ddbNewExprCtx(ti.Get.ExpressionAttributeNames, nil)
		proj, err := ddbParseOptProjection(ti.Get.ProjectionExpression, nil, ectx)
		if err == nil {
			err = ectx.checkUnused()
		}
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		projs[i] = proj
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &dynamodb.TransactGetItemsOutput{Responses: make([]ddbtypes.ItemResponse, len(in.TransactItems))}
	seen := map[string]bool{}
	for i, ti := range in.TransactItems {
		t, err := c.activeLocked(aws.ToString(ti.Get.TableName))
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		k := ddbCopyItem(ti.Get.Key)
		if err := ddbValidateItem(k); err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		key, hashEnc, err := t.keyOf(k, true)
		if err != nil {
			return nil, opErr(ddbServiceID, op, err)
		}
		if seen[t.name+"\x01"+key] {
			return nil, opErr(ddbServiceID, op, ddbValidation("Transaction request cannot include multiple operations on one item"))
		}
		seen[t.name+"\x01"+key] = true
		if s := t.getLocked(key, hashEnc); s != nil {
			out.Responses[i].Item = ddbProjectOwn(s.item(), projs[i])
		}
	}
	return out, nil
}
