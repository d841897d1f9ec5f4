package sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// Glue is one region's simulated Glue Data Catalog. Catalogs are per region
// and not replicated, as in AWS (docs/aws-facts.md "Glue Data Catalog": no
// built-in cross-Region replication): the partitions λ and the reconcile step keep both in step.
type Glue struct {
	r *Region

	mu  sync.Mutex
	dbs map[string]*glueDatabase
}

type glueDatabase struct {
	db     gluetypes.Database
	tables map[string]*glueTable
}

type glueTable struct {
	t     gluetypes.Table
	parts map[string]*gluetypes.Partition // by glueValuesKey
}

// Glue limits from the Glue API reference.
const (
	glueMaxBatchCreate = 100  // BatchCreatePartition PartitionInputList
	glueMaxBatchGet    = 1000 // BatchGetPartition PartitionsToGet
	glueMaxResults     = 1000 // GetPartitions / GetTables MaxResults
)

// Glue returns the region's Glue Data Catalog.
func (r *Region) Glue() *Glue {
	return r.service(glue.ServiceID, func() any { return &Glue{r: r, dbs: make(map[string]*glueDatabase)} }).(*Glue)
}

// glueValuesKey joins partition values into a map key; NUL cannot occur in
// an S3 key segment the partitions λ derives values from.
func glueValuesKey(values []string) string { return strings.Join(values, "\x00") }

func glueInvalid(format string, args ...any) error {
	return &gluetypes.InvalidInputException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func glueNotFound(format string, args ...any) error {
	return &gluetypes.EntityNotFoundException{Message: aws.String(fmt.Sprintf(format, args...))}
}

// table finds a table; g.mu must be held. Glue stores names in lower case.
func (g *Glue) table(dbName, tableName *string) (*glueTable, error) {
	if aws.ToString(dbName) == "" || aws.ToString(tableName) == "" {
		return nil, glueInvalid("DatabaseName and TableName are required")
	}
	db, ok := g.dbs[strings.ToLower(*dbName)]
	if !ok {
		return nil, glueNotFound("Database %s not found.", *dbName)
	}
	t, ok := db.tables[strings.ToLower(*tableName)]
	if !ok {
		return nil, glueNotFound("Table %s not found.", *tableName)
	}
	return t, nil
}

// CreateDatabase creates a database in the region's catalog.
func (g *Glue) CreateDatabase(ctx context.Context, in *glue.CreateDatabaseInput, optFns ...func(*glue.Options)) (*glue.CreateDatabaseOutput, error) {
	const op = "CreateDatabase"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.DatabaseInput == nil || aws.ToString(in.DatabaseInput.Name) == "" {
		return nil, opErr(glue.ServiceID, op, glueInvalid("DatabaseInput.Name is required"))
	}
	name := strings.ToLower(*in.DatabaseInput.Name)
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.dbs[name]; ok {
		return nil, opErr(glue.ServiceID, op, &gluetypes.AlreadyExistsException{Message: aws.String("Database already exists.")})
	}
	now := g.r.world.Clock.Now()
	g.dbs[name] = &glueDatabase{
		db: gluetypes.Database{
			Name:        aws.String(name),
			CatalogId:   aws.String(g.r.world.Account),
			CreateTime:  &now,
			Description: in.DatabaseInput.Description,
			LocationUri: in.DatabaseInput.LocationUri,
			Parameters:  glueCopyMap(in.DatabaseInput.Parameters),
		},
		tables: make(map[string]*glueTable),
	}
	return &glue.CreateDatabaseOutput{}, nil
}

// GetDatabase returns a database.
func (g *Glue) GetDatabase(ctx context.Context, in *glue.GetDatabaseInput, optFns ...func(*glue.Options)) (*glue.GetDatabaseOutput, error) {
	const op = "GetDatabase"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	db, ok := g.dbs[strings.ToLower(aws.ToString(in.Name))]
	if !ok {
		return nil, opErr(glue.ServiceID, op, glueNotFound("Database %s not found.", aws.ToString(in.Name)))
	}
	d := db.db
	d.Parameters = glueCopyMap(d.Parameters)
	return &glue.GetDatabaseOutput{Database: &d}, nil
}

// CreateTable creates a table; its PartitionKeys define how many values
// each partition has and how Expression comparisons type them.
func (g *Glue) CreateTable(ctx context.Context, in *glue.CreateTableInput, optFns ...func(*glue.Options)) (*glue.CreateTableOutput, error) {
	const op = "CreateTable"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.TableInput == nil || aws.ToString(in.TableInput.Name) == "" {
		return nil, opErr(glue.ServiceID, op, glueInvalid("TableInput.Name is required"))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	db, ok := g.dbs[strings.ToLower(aws.ToString(in.DatabaseName))]
	if !ok {
		return nil, opErr(glue.ServiceID, op, glueNotFound("Database %s not found.", aws.ToString(in.DatabaseName)))
	}
	name := strings.ToLower(*in.TableInput.Name)
	if _, ok := db.tables[name]; ok {
		return nil, opErr(glue.ServiceID, op, &gluetypes.AlreadyExistsException{Message: aws.String("Table already exists.")})
	}
	now := g.r.world.Clock.Now()
	ti := in.TableInput
	db.tables[name] = &glueTable{
		t: gluetypes.Table{
			Name:              aws.String(name),
			CatalogId:         aws.String(g.r.world.Account),
			DatabaseName:      db.db.Name,
			CreateTime:        &now,
			UpdateTime:        &now,
			Description:       ti.Description,
			Owner:             ti.Owner,
			Parameters:        glueCopyMap(ti.Parameters),
			PartitionKeys:     append([]gluetypes.Column(nil), ti.PartitionKeys...),
			Retention:         ti.Retention,
			StorageDescriptor: glueCopySD(ti.StorageDescriptor),
			TableType:         ti.TableType,
			VersionId:         aws.String("1"),
		},
		parts: make(map[string]*gluetypes.Partition),
	}
	return &glue.CreateTableOutput{}, nil
}

// GetTable returns a table.
func (g *Glue) GetTable(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error) {
	const op = "GetTable"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.table(in.DatabaseName, in.Name)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	out := glueCopyTable(t.t)
	return &glue.GetTableOutput{Table: &out}, nil
}

// GetTables lists a database's tables by name, paginated.
func (g *Glue) GetTables(ctx context.Context, in *glue.GetTablesInput, optFns ...func(*glue.Options)) (*glue.GetTablesOutput, error) {
	const op = "GetTables"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	db, ok := g.dbs[strings.ToLower(aws.ToString(in.DatabaseName))]
	if !ok {
		return nil, opErr(glue.ServiceID, op, glueNotFound("Database %s not found.", aws.ToString(in.DatabaseName)))
	}
	names := make([]string, 0, len(db.tables))
	for n := range db.tables {
		if in.Expression == nil || strings.Contains(n, strings.Trim(strings.ToLower(*in.Expression), "*")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	page, next, err := gluePage(names, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	out := &glue.GetTablesOutput{NextToken: next}
	for _, n := range page {
		out.TableList = append(out.TableList, glueCopyTable(db.tables[n].t))
	}
	return out, nil
}

// gluePage cuts one page out of sorted keys. The token is the last key
// returned, opaque to callers, so a page boundary survives inserts between
// calls as a real continuation token does.
func gluePage(keys []string, token *string, max *int32) (page []string, next *string, err error) {
	limit := glueMaxResults
	if max != nil {
		if *max < 1 || *max > glueMaxResults {
			return nil, nil, glueInvalid("MaxResults must be between 1 and %d", glueMaxResults)
		}
		limit = int(*max)
	}
	start := 0
	if t := aws.ToString(token); t != "" {
		after, derr := base64.RawURLEncoding.DecodeString(t)
		if derr != nil {
			return nil, nil, glueInvalid("Invalid pagination token")
		}
		start = sort.SearchStrings(keys, string(after))
		if start < len(keys) && keys[start] == string(after) {
			start++
		}
	}
	end := min(start+limit, len(keys))
	page = keys[start:end]
	if end < len(keys) {
		next = aws.String(base64.RawURLEncoding.EncodeToString([]byte(keys[end-1])))
	}
	return page, next, nil
}

// newPartition validates a PartitionInput against the table and builds the
// stored partition; t's lock (g.mu) must be held.
func (g *Glue) newPartition(t *glueTable, pi *gluetypes.PartitionInput) (*gluetypes.Partition, error) {
	if len(pi.Values) != len(t.t.PartitionKeys) {
		return nil, glueInvalid("The number of partition keys do not match the number of partition values")
	}
	now := g.r.world.Clock.Now()
	return &gluetypes.Partition{
		CatalogId:         aws.String(g.r.world.Account),
		CreationTime:      &now,
		DatabaseName:      t.t.DatabaseName,
		TableName:         t.t.Name,
		LastAccessTime:    pi.LastAccessTime,
		Parameters:        glueCopyMap(pi.Parameters),
		StorageDescriptor: glueCopySD(pi.StorageDescriptor),
		Values:            append([]string(nil), pi.Values...),
	}, nil
}

// CreatePartition adds one partition.
func (g *Glue) CreatePartition(ctx context.Context, in *glue.CreatePartitionInput, optFns ...func(*glue.Options)) (*glue.CreatePartitionOutput, error) {
	const op = "CreatePartition"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.PartitionInput == nil {
		return nil, opErr(glue.ServiceID, op, glueInvalid("PartitionInput is required"))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.table(in.DatabaseName, in.TableName)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	p, err := g.newPartition(t, in.PartitionInput)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	k := glueValuesKey(p.Values)
	if _, ok := t.parts[k]; ok {
		return nil, opErr(glue.ServiceID, op, &gluetypes.AlreadyExistsException{Message: aws.String("Partition already exists.")})
	}
	t.parts[k] = p
	return &glue.CreatePartitionOutput{}, nil
}

// BatchCreatePartition adds up to 100 partitions. As in AWS, the call
// succeeds as a whole and reports each partition that could not be created
// (already there, wrong number of values) in Errors.
func (g *Glue) BatchCreatePartition(ctx context.Context, in *glue.BatchCreatePartitionInput, optFns ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error) {
	const op = "BatchCreatePartition"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	if n := len(in.PartitionInputList); n > glueMaxBatchCreate {
		return nil, opErr(glue.ServiceID, op, &gluetypes.ValidationException{Message: aws.String(fmt.Sprintf(
			"1 validation error detected: Value at 'partitionInputList' failed to satisfy constraint: Member must have length less than or equal to %d", glueMaxBatchCreate))})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.table(in.DatabaseName, in.TableName)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	out := &glue.BatchCreatePartitionOutput{}
	fail := func(values []string, code, msg string) {
		out.Errors = append(out.Errors, gluetypes.PartitionError{
			PartitionValues: append([]string(nil), values...),
			ErrorDetail:     &gluetypes.ErrorDetail{ErrorCode: aws.String(code), ErrorMessage: aws.String(msg)},
		})
	}
	for i := range in.PartitionInputList {
		pi := &in.PartitionInputList[i]
		p, err := g.newPartition(t, pi)
		if err != nil {
			fail(pi.Values, "InvalidInputException", "The number of partition keys do not match the number of partition values")
			continue
		}
		k := glueValuesKey(p.Values)
		if _, ok := t.parts[k]; ok {
			fail(pi.Values, "AlreadyExistsException", "Partition already exists.")
			continue
		}
		t.parts[k] = p
	}
	return out, nil
}

// GetPartition returns one partition by its values.
func (g *Glue) GetPartition(ctx context.Context, in *glue.GetPartitionInput, optFns ...func(*glue.Options)) (*glue.GetPartitionOutput, error) {
	const op = "GetPartition"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.table(in.DatabaseName, in.TableName)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	p, ok := t.parts[glueValuesKey(in.PartitionValues)]
	if !ok {
		return nil, opErr(glue.ServiceID, op, glueNotFound("Cannot find partition."))
	}
	cp := glueCopyPartition(p)
	return &glue.GetPartitionOutput{Partition: &cp}, nil
}

// BatchGetPartition returns the partitions that exist among those asked for;
// missing ones are simply absent, as in AWS.
func (g *Glue) BatchGetPartition(ctx context.Context, in *glue.BatchGetPartitionInput, optFns ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error) {
	const op = "BatchGetPartition"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	if n := len(in.PartitionsToGet); n > glueMaxBatchGet {
		return nil, opErr(glue.ServiceID, op, &gluetypes.ValidationException{Message: aws.String(fmt.Sprintf(
			"1 validation error detected: Value at 'partitionsToGet' failed to satisfy constraint: Member must have length less than or equal to %d", glueMaxBatchGet))})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.table(in.DatabaseName, in.TableName)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	out := &glue.BatchGetPartitionOutput{}
	for _, v := range in.PartitionsToGet {
		if p, ok := t.parts[glueValuesKey(v.Values)]; ok {
			out.Partitions = append(out.Partitions, glueCopyPartition(p))
		}
	}
	return out, nil
}

// GetPartitions lists a table's partitions in value order, paginated.
func (g *Glue) GetPartitions(ctx context.Context, in *glue.GetPartitionsInput, optFns ...func(*glue.Options)) (*glue.GetPartitionsOutput, error) {
	const op = "GetPartitions"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.table(in.DatabaseName, in.TableName)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	// No caller filters partitions by Expression (reconcile lists them all
	// and diffs), so the simulator does not evaluate one: it fails clearly
	// rather than ignore the filter.
	if strings.TrimSpace(aws.ToString(in.Expression)) != "" {
		return nil, opErr(glue.ServiceID, op, glueInvalid("GetPartitions Expression is %v", errNotModelled))
	}
	keys := make([]string, 0, len(t.parts))
	for k := range t.parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	page, next, err := gluePage(keys, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	out := &glue.GetPartitionsOutput{NextToken: next, Partitions: make([]gluetypes.Partition, 0, len(page))}
	for _, k := range page {
		out.Partitions = append(out.Partitions, glueCopyPartition(t.parts[k]))
	}
	return out, nil
}

// DeletePartition removes one partition.
func (g *Glue) DeletePartition(ctx context.Context, in *glue.DeletePartitionInput, optFns ...func(*glue.Options)) (*glue.DeletePartitionOutput, error) {
	const op = "DeletePartition"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.table(in.DatabaseName, in.TableName)
	if err != nil {
		return nil, opErr(glue.ServiceID, op, err)
	}
	k := glueValuesKey(in.PartitionValues)
	if _, ok := t.parts[k]; !ok {
		return nil, opErr(glue.ServiceID, op, glueNotFound("Cannot find partition."))
	}
	delete(t.parts, k)
	return &glue.DeletePartitionOutput{}, nil
}

// PartitionCount returns how many partitions a table has, without counting
// an API call: the drill's accounting reads it.
func (g *Glue) PartitionCount(database, table string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.table(&database, &table)
	if err != nil {
		return 0
	}
	return len(t.parts)
}

func glueCopyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func glueCopySD(sd *gluetypes.StorageDescriptor) *gluetypes.StorageDescriptor {
	if sd == nil {
		return nil
	}
	cp := *sd
	cp.Columns = append([]gluetypes.Column(nil), sd.Columns...)
	cp.Parameters = glueCopyMap(sd.Parameters)
	return &cp
}

func glueCopyPartition(p *gluetypes.Partition) gluetypes.Partition {
	cp := *p
	cp.Values = append([]string(nil), p.Values...)
	cp.Parameters = glueCopyMap(p.Parameters)
	cp.StorageDescriptor = glueCopySD(p.StorageDescriptor)
	return cp
}

func glueCopyTable(t gluetypes.Table) gluetypes.Table {
	t.Parameters = glueCopyMap(t.Parameters)
	t.PartitionKeys = append([]gluetypes.Column(nil), t.PartitionKeys...)
	t.StorageDescriptor = glueCopySD(t.StorageDescriptor)
	return t
}
