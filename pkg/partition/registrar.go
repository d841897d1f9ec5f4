package partition

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

// Catalog is the part of the Glue API a Registrar uses. *glue.Client and the
// simulator satisfy it.
type Catalog interface {
	GetTable(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
	BatchCreatePartition(ctx context.Context, in *glue.BatchCreatePartitionInput, optFns ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error)
}

// MaxBatch is the most partitions one BatchCreatePartition call accepts.
const MaxBatch = 100

// DefaultCacheSize is how many registered partitions a Registrar remembers:
// over a year of hours for a table, a few hundred KiB.
const DefaultCacheSize = 10000

// codeAlreadyExists is the Glue error code of a partition that exists: for
// us it is registered, whoever created it.
const codeAlreadyExists = "AlreadyExistsException"

// Registrar creates missing partitions in one Glue database. It is safe for
// concurrent use and meant to live as long as the container: its caches are
// what keeps the Glue call count at one GetTable per table plus one
// BatchCreatePartition per 100 new partitions.
type Registrar struct {
	catalog  Catalog
	database string

	mu    sync.Mutex
	sds   map[string]*types.StorageDescriptor // table name → descriptor
	known *lru                                // partitions registered by this container
}

// NewRegistrar returns a Registrar for database that remembers up to
// cacheSize registered partitions (DefaultCacheSize if cacheSize <= 0).
func NewRegistrar(catalog Catalog, database string, cacheSize int) *Registrar {
	if cacheSize <= 0 {
		cacheSize = DefaultCacheSize
	}
	return &Registrar{catalog: catalog, database: database, sds: make(map[string]*types.StorageDescriptor), known: newLRU(cacheSize)}
}

// RegisterError lists the partitions Register could not create, each with
// its reason. Partitions not listed were registered (or already existed).
type RegisterError struct {
	// Table is the Glue table name.
	Table string
	// Failed maps each failed partition to why it failed; the errors carry
	// the AWS error code (fault.Code) where Glue gave one.
	Failed map[Partition]error
}

// Error summarises the failures, naming the first few.
func (e *RegisterError) Error() string {
	ps := make([]Partition, 0, len(e.Failed))
	for p := range e.Failed {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].String() < ps[j].String() })
	var b strings.Builder
	fmt.Fprintf(&b, "register %d partitions of table %s", len(ps), e.Table)
	for i, p := range ps {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(ps)-3)
			break
		}
		fmt.Fprintf(&b, "; %s: %v", p, e.Failed[p])
	}
	return b.String()
}

// Unwrap returns the failures' errors, so errors.As and fault.Classify see
// their AWS error codes.
func (e *RegisterError) Unwrap() []error {
	errs := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		errs = append(errs, err)
	}
	return errs
}

// Stats count what one Register call did with its partitions.
type Stats struct {
	// Distinct is the number of distinct partitions asked for.
	Distinct int
	// Cached were known registered by this Registrar: no call made.
	Cached int
	// Created were created by this call.
	Created int
	// Existed were reported AlreadyExists by Glue.
	Existed int
	// Failed could not be registered (see the *RegisterError).
	Failed int
	// Calls is the number of Glue API calls made.
	Calls int
}

// Register makes sure every partition in ps exists in table t (normalized).
// Duplicates in ps and partitions this Registrar registered before cost no
// call; the table's StorageDescriptor is fetched on first use and kept; new
// partitions are created MaxBatch per BatchCreatePartition call, each with the
// table's descriptor and its own location. A partition that already exists
// counts as registered.
//
// It returns what it did, and a nil error when every partition is
// registered, else a *RegisterError naming exactly the partitions that are
// not (all of them when the table cannot be read).
func (r *Registrar) Register(ctx context.Context, t Table, ps []Partition) (Stats, error) {
	todo, distinct := r.unknown(t.Name, ps)
	st := Stats{Distinct: distinct, Cached: distinct - len(todo)}
	if len(todo) == 0 {
		return st, nil
	}
	failed := make(map[Partition]error)
	failAll := func(ps []Partition, err error) {
		for _, p := range ps {
			failed[p] = err
		}
	}
	sd, fetched, err := r.descriptor(ctx, t.Name)
	if fetched {
		st.Calls++
	}
	if err != nil {
		failAll(todo, err)
		st.Failed = len(failed)
		return st, &RegisterError{Table: t.Name, Failed: failed}
	}
	for start := 0; start < len(todo); start += MaxBatch {
		chunk := todo[start:min(start+MaxBatch, len(todo))]
		if err := ctx.Err(); err != nil {
			failAll(todo[start:], fmt.Errorf("register partitions: %w", err))
			break
		}
		in := &glue.BatchCreatePartitionInput{
			DatabaseName:       aws.String(r.database),
			TableName:          aws.String(t.Name),
			PartitionInputList: make([]types.PartitionInput, len(chunk)),
		}
		for i, p := range chunk {
			d := *sd // shallow copy: columns and serde are shared, read-only
			d.Location = aws.String(t.PartitionLocation(p))
			in.PartitionInputList[i] = types.PartitionInput{Values: p.Values(), StorageDescriptor: &d}
		}
		out, err := r.catalog.BatchCreatePartition(ctx, in)
		st.Calls++
		if err != nil {
			failAll(chunk, fmt.Errorf("batch create partitions in %s.%s: %w", r.database, t.Name, err))
			continue
		}
		created, existed, bad := r.settle(t.Name, chunk, out.Errors)
		st.Created += created
		st.Existed += existed
		maps.Copy(failed, bad)
	}
	st.Failed = len(failed)
	if len(failed) > 0 {
		return st, &RegisterError{Table: t.Name, Failed: failed}
	}
	return st, nil
}

// settle reads the per-partition errors of one BatchCreatePartition call
// for chunk: it remembers the partitions it can confirm registered and
// returns how many were created and how many existed, and the failed ones.
//
// A partition without an error was created, AlreadyExists counts as
// registered. An error whose PartitionValues name no partition of chunk
// (missing, not two values, or another partition) could be about any of
// them: then no partition without its own answer is confirmed, all of them
// fail with that error and are asked for again next time.
func (r *Registrar) settle(table string, chunk []Partition, errs []types.PartitionError) (created, existed int, bad map[Partition]error) {
	inChunk := make(map[Partition]bool, len(chunk))
	for _, p := range chunk {
		inChunk[p] = true
	}
	bad = make(map[Partition]error)
	exists := make(map[Partition]bool)
	var unmatched []error
	unmatchedExisted := 0
	for _, pe := range errs {
		code, msg := "InternalServiceException", "no error detail"
		if pe.ErrorDetail != nil {
			code, msg = aws.ToString(pe.ErrorDetail.ErrorCode), aws.ToString(pe.ErrorDetail.ErrorMessage)
		}
		apiErr := &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultUnknown}
		var p Partition
		matched := len(pe.PartitionValues) == 2
		if matched {
			p = Partition{DT: pe.PartitionValues[0], HR: pe.PartitionValues[1]}
			matched = inChunk[p]
		}
		switch {
		case code == codeAlreadyExists && matched:
			exists[p] = true
		case code == codeAlreadyExists:
			// Some partition of the call exists: registered either way.
			unmatchedExisted++
		case matched:
			bad[p] = fmt.Errorf("create partition %s of %s.%s: %w", p, r.database, table, apiErr)
		default:
			unmatched = append(unmatched, fmt.Errorf("partition values %q: %w", pe.PartitionValues, apiErr))
		}
	}
	var unconfirmed error
	if len(unmatched) > 0 {
		unconfirmed = errors.Join(unmatched...)
	}
	for _, p := range chunk {
		switch {
		case bad[p] != nil:
		case exists[p]:
			existed++
			r.remember(table, p)
		case unconfirmed != nil:
			bad[p] = fmt.Errorf("create partition %s of %s.%s: unconfirmed: %w", p, r.database, table, unconfirmed)
		default:
			created++
			r.remember(table, p)
		}
	}
	// An AlreadyExists that names no partition still stands for one of
	// those counted as created.
	n := min(unmatchedExisted, created)
	return created - n, existed + n, bad
}

// RegisterKeys registers the partitions of the given object keys (as
// listed from S3, not URL-encoded) of table t: the DR catalog reconcile
// lists a bucket and hands the keys here. Keys that are not data are
// ignored. Keys that break the layout or lie outside the prefix are
// reported in the returned error (joined with any *RegisterError), and do
// not stop the others from being registered.
func (r *Registrar) RegisterKeys(ctx context.Context, t Table, keys []string) (Stats, error) {
	var ps []Partition
	var bad []error
	for _, k := range keys {
		p, ok, err := ParseKey(t, k)
		switch {
		case err != nil:
			bad = append(bad, err)
		case ok:
			ps = append(ps, p)
		}
	}
	st, err := r.Register(ctx, t, ps)
	if len(bad) > 0 {
		err = errors.Join(append(bad, err)...)
	}
	return st, err
}

// unknown returns the distinct partitions of ps, in first-seen order, that
// this Registrar has not registered yet, and the number of distinct ones.
func (r *Registrar) unknown(table string, ps []Partition) ([]Partition, int) {
	seen := make(map[Partition]struct{}, len(ps))
	var out []Partition
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = struct{}{}
		if r.known.touch(cacheKey{table, p}) {
			continue
		}
		out = append(out, p)
	}
	return out, len(seen)
}

func (r *Registrar) remember(table string, p Partition) {
	r.mu.Lock()
	r.known.add(cacheKey{table, p})
	r.mu.Unlock()
}

// ErrNoDescriptor reports a table the catalog holds without the storage
// descriptor or partition keys partitions need.
var ErrNoDescriptor = errors.New("table has no usable storage descriptor")

// descriptor returns the table's StorageDescriptor, from the cache or from
// one GetTable call (fetched reports whether a call was made). Failures are
// not cached: the next batch asks again.
func (r *Registrar) descriptor(ctx context.Context, table string) (sd *types.StorageDescriptor, fetched bool, err error) {
	r.mu.Lock()
	sd, ok := r.sds[table]
	r.mu.Unlock()
	if ok {
		return sd, false, nil
	}
	out, err := r.catalog.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String(r.database), Name: aws.String(table)})
	if err != nil {
		return nil, true, fmt.Errorf("get table %s.%s: %w", r.database, table, err)
	}
	if out.Table == nil || out.Table.StorageDescriptor == nil {
		return nil, true, fault.InvalidErr(fmt.Errorf("table %s.%s: %w", r.database, table, ErrNoDescriptor))
	}
	if n := len(out.Table.PartitionKeys); n != 2 {
		return nil, true, fault.InvalidErr(fmt.Errorf("table %s.%s has %d partition keys, want 2 (dt, hr): %w", r.database, table, n, ErrNoDescriptor))
	}
	sd = out.Table.StorageDescriptor
	r.mu.Lock()
	r.sds[table] = sd
	r.mu.Unlock()
	return sd, true, nil
}

// cacheKey names one partition of one table.
type cacheKey struct {
	table string
	p     Partition
}

// lru is a bounded set with least-recently-used eviction. Not safe for
// concurrent use: the Registrar holds its mutex.
type lru struct {
	max   int
	order *list.List // front = most recent; values are cacheKey
	items map[cacheKey]*list.Element
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[cacheKey]*list.Element)}
}

// touch reports whether k is present, marking it recently used.
func (c *lru) touch(k cacheKey) bool {
	e, ok := c.items[k]
	if ok {
		c.order.MoveToFront(e)
	}
	return ok
}

// add inserts k, evicting the least recently used key when full.
func (c *lru) add(k cacheKey) {
	if c.touch(k) {
		return
	}
	c.items[k] = c.order.PushFront(k)
	if c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(cacheKey))
	}
}

func (c *lru) len() int { return c.order.Len() }
