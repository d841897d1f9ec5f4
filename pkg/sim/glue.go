package sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
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

// GetPartitions lists a table's partitions in value order, filtered by
// Expression (see ParseGlueExpression for the supported subset), paginated.
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
	var expr GlueExpression
	if e := aws.ToString(in.Expression); strings.TrimSpace(e) != "" {
		expr, err = ParseGlueExpression(e)
		if err != nil {
			return nil, opErr(glue.ServiceID, op, glueInvalid("%v", err))
		}
	}
	keys := make([]string, 0, len(t.parts))
	for k, p := range t.parts {
		if expr != nil {
			ok, err := expr.Match(t.t.PartitionKeys, p.Values)
			if err != nil {
				return nil, opErr(glue.ServiceID, op, glueInvalid("%v", err))
			}
			if !ok {
				continue
			}
		}
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

// GlueExpression is a parsed GetPartitions Expression.
type GlueExpression interface {
	// Match reports whether a partition with values (in the order of the
	// table's partition keys) satisfies the expression. It fails when the
	// expression names a column that is not a partition key.
	Match(keys []gluetypes.Column, values []string) (bool, error)
	// String renders the expression canonically; parsing it again yields
	// the same expression.
	String() string
}

// ParseGlueExpression parses the subset of the GetPartitions Expression
// language the project uses: comparisons (=, <>, !=, <, <=, >, >=) of a
// partition key with a 'quoted string' or a number, BETWEEN … AND …,
// IN (…), LIKE with % and _, combined with AND, OR, NOT and parentheses.
// Comparisons are numeric for numeric key types and lexical otherwise, as
// in the Glue catalog.
func ParseGlueExpression(s string) (GlueExpression, error) {
	toks, err := glueLex(s)
	if err != nil {
		return nil, err
	}
	p := &glueParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.toks[p.pos].text, p.toks[p.pos].off)
	}
	return e, nil
}

type glueTokKind int

const (
	glueTokIdent glueTokKind = iota
	glueTokString
	glueTokNumber
	glueTokOp
	glueTokLParen
	glueTokRParen
	glueTokComma
)

type glueTok struct {
	kind glueTokKind
	text string // the string literal's value, unquoted; else the source text
	off  int
}

func glueLex(s string) ([]glueTok, error) {
	var toks []glueTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, glueTok{glueTokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, glueTok{glueTokRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, glueTok{glueTokComma, ",", i})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string at offset %d", i)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, glueTok{glueTokString, b.String(), i})
			i = j + 1
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(s) && (s[j] == '=' || (c == '<' && s[j] == '>')) {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return nil, fmt.Errorf("unexpected '!' at offset %d", i)
			}
			toks = append(toks, glueTok{glueTokOp, op, i})
			i = j
		case c == '-' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] == '.' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if _, err := glueParseNumber(s[i:j]); err != nil {
				return nil, fmt.Errorf("bad number %q at offset %d", s[i:j], i)
			}
			toks = append(toks, glueTok{glueTokNumber, s[i:j], i})
			i = j
		case c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z'):
			j := i + 1
			for j < len(s) && (s[j] == '_' || (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			toks = append(toks, glueTok{glueTokIdent, s[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	return toks, nil
}

func glueParseNumber(s string) (float64, error) {
	return strconv.ParseFloat(s, 64)
}

type glueParser struct {
	toks []glueTok
	pos  int
}

func (p *glueParser) peekKeyword(kw string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == glueTokIdent && strings.EqualFold(p.toks[p.pos].text, kw)
}

func (p *glueParser) or() (GlueExpression, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekKeyword("OR") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = glueOr{l, r}
	}
	return l, nil
}

func (p *glueParser) and() (GlueExpression, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peekKeyword("AND") {
		p.pos++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = glueAnd{l, r}
	}
	return l, nil
}

func (p *glueParser) unary() (GlueExpression, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("unexpected end of expression")
	}
	if p.peekKeyword("NOT") {
		p.pos++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return glueNot{e}, nil
	}
	if p.toks[p.pos].kind == glueTokLParen {
		p.pos++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != glueTokRParen {
			return nil, fmt.Errorf("missing ')'")
		}
		p.pos++
		return e, nil
	}
	return p.predicate()
}

func (p *glueParser) literal() (glueLit, error) {
	if p.pos >= len(p.toks) {
		return glueLit{}, fmt.Errorf("unexpected end of expression, want a literal")
	}
	t := p.toks[p.pos]
	switch t.kind {
	case glueTokString:
		p.pos++
		return glueLit{s: t.text, quoted: true}, nil
	case glueTokNumber:
		p.pos++
		return glueLit{s: t.text}, nil
	}
	return glueLit{}, fmt.Errorf("want a literal at offset %d, got %q", t.off, t.text)
}

var glueKeywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "BETWEEN": true, "IN": true, "LIKE": true}

func (p *glueParser) predicate() (GlueExpression, error) {
	t := p.toks[p.pos]
	if t.kind != glueTokIdent || glueKeywords[strings.ToUpper(t.text)] {
		return nil, fmt.Errorf("want a column name at offset %d, got %q", t.off, t.text)
	}
	col := strings.ToLower(t.text)
	p.pos++
	neg := false
	if p.peekKeyword("NOT") {
		neg = true
		p.pos++
	}
	wrap := func(e GlueExpression) GlueExpression {
		if neg {
			return glueNot{e}
		}
		return e
	}
	switch {
	case p.peekKeyword("BETWEEN"):
		p.pos++
		lo, err := p.literal()
		if err != nil {
			return nil, err
		}
		if !p.peekKeyword("AND") {
			return nil, fmt.Errorf("BETWEEN needs AND")
		}
		p.pos++
		hi, err := p.literal()
		if err != nil {
			return nil, err
		}
		return wrap(glueBetween{col, lo, hi}), nil
	case p.peekKeyword("IN"):
		p.pos++
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != glueTokLParen {
			return nil, fmt.Errorf("IN needs '('")
		}
		p.pos++
		var lits []glueLit
		for {
			l, err := p.literal()
			if err != nil {
				return nil, err
			}
			lits = append(lits, l)
			if p.pos < len(p.toks) && p.toks[p.pos].kind == glueTokComma {
				p.pos++
				continue
			}
			break
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != glueTokRParen {
			return nil, fmt.Errorf("IN list needs ')'")
		}
		p.pos++
		return wrap(glueIn{col, lits}), nil
	case p.peekKeyword("LIKE"):
		p.pos++
		l, err := p.literal()
		if err != nil {
			return nil, err
		}
		return wrap(glueLike{col, l}), nil
	}
	if neg {
		return nil, fmt.Errorf("NOT after a column needs BETWEEN, IN or LIKE")
	}
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != glueTokOp {
		return nil, fmt.Errorf("want a comparison after column %q", col)
	}
	op := p.toks[p.pos].text
	if op == "!=" {
		op = "<>"
	}
	p.pos++
	l, err := p.literal()
	if err != nil {
		return nil, err
	}
	return glueCmp{col, op, l}, nil
}

type glueLit struct {
	s      string
	quoted bool
}

func (l glueLit) String() string {
	if l.quoted {
		return "'" + strings.ReplaceAll(l.s, "'", "''") + "'"
	}
	return l.s
}

type (
	glueAnd struct{ l, r GlueExpression }
	glueOr  struct{ l, r GlueExpression }
	glueNot struct{ e GlueExpression }
	glueCmp struct {
		col, op string
		lit     glueLit
	}
	glueBetween struct {
		col    string
		lo, hi glueLit
	}
	glueIn struct {
		col  string
		lits []glueLit
	}
	glueLike struct {
		col string
		pat glueLit
	}
)

func (e glueAnd) String() string { return "(" + e.l.String() + " AND " + e.r.String() + ")" }
func (e glueOr) String() string  { return "(" + e.l.String() + " OR " + e.r.String() + ")" }
func (e glueNot) String() string { return "NOT (" + e.e.String() + ")" }
func (e glueCmp) String() string { return e.col + " " + e.op + " " + e.lit.String() }
func (e glueBetween) String() string {
	return e.col + " BETWEEN " + e.lo.String() + " AND " + e.hi.String()
}
func (e glueIn) String() string {
	parts := make([]string, len(e.lits))
	for i, l := range e.lits {
		parts[i] = l.String()
	}
	return e.col + " IN (" + strings.Join(parts, ", ") + ")"
}
func (e glueLike) String() string { return e.col + " LIKE " + e.pat.String() }

func (e glueAnd) Match(keys []gluetypes.Column, v []string) (bool, error) {
	ok, err := e.l.Match(keys, v)
	if err != nil || !ok {
		return false, err
	}
	return e.r.Match(keys, v)
}

func (e glueOr) Match(keys []gluetypes.Column, v []string) (bool, error) {
	ok, err := e.l.Match(keys, v)
	if err != nil || ok {
		return ok, err
	}
	return e.r.Match(keys, v)
}

func (e glueNot) Match(keys []gluetypes.Column, v []string) (bool, error) {
	ok, err := e.e.Match(keys, v)
	return !ok && err == nil, err
}

// glueColumn finds a partition key's value and whether it compares as a number.
func glueColumn(keys []gluetypes.Column, values []string, col string) (string, bool, error) {
	for i, k := range keys {
		if strings.EqualFold(aws.ToString(k.Name), col) {
			if i >= len(values) {
				return "", false, fmt.Errorf("partition has no value for key %s", col)
			}
			typ := strings.ToLower(aws.ToString(k.Type))
			numeric := typ == "int" || typ == "integer" || typ == "bigint" || typ == "smallint" || typ == "tinyint" ||
				typ == "long" || typ == "double" || typ == "float" || strings.HasPrefix(typ, "decimal")
			return values[i], numeric, nil
		}
	}
	return "", false, fmt.Errorf("unknown partition key %q", col)
}

// glueCompare orders a value against a literal: -1, 0, 1. ok is false when
// a numeric key holds a value or literal that is not a number: such a
// partition matches no comparison.
func glueCompare(v string, numeric bool, lit glueLit) (c int, ok bool) {
	if !numeric {
		return strings.Compare(v, lit.s), true
	}
	a, err1 := glueParseNumber(v)
	b, err2 := glueParseNumber(lit.s)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}

func (e glueCmp) Match(keys []gluetypes.Column, values []string) (bool, error) {
	v, num, err := glueColumn(keys, values, e.col)
	if err != nil {
		return false, err
	}
	c, ok := glueCompare(v, num, e.lit)
	if !ok {
		return false, nil
	}
	switch e.op {
	case "=":
		return c == 0, nil
	case "<>":
		return c != 0, nil
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown operator %q", e.op)
}

func (e glueBetween) Match(keys []gluetypes.Column, values []string) (bool, error) {
	v, num, err := glueColumn(keys, values, e.col)
	if err != nil {
		return false, err
	}
	lo, ok1 := glueCompare(v, num, e.lo)
	hi, ok2 := glueCompare(v, num, e.hi)
	return ok1 && ok2 && lo >= 0 && hi <= 0, nil
}

func (e glueIn) Match(keys []gluetypes.Column, values []string) (bool, error) {
	v, num, err := glueColumn(keys, values, e.col)
	if err != nil {
		return false, err
	}
	for _, l := range e.lits {
		if c, ok := glueCompare(v, num, l); ok && c == 0 {
			return true, nil
		}
	}
	return false, nil
}

func (e glueLike) Match(keys []gluetypes.Column, values []string) (bool, error) {
	v, _, err := glueColumn(keys, values, e.col)
	if err != nil {
		return false, err
	}
	return glueLikeMatch(v, e.pat.s), nil
}

// glueLikeMatch matches SQL LIKE: % any run, _ one byte. Iterative with
// backtracking to the last %, so it is linear-ish and cannot blow the stack
// on hostile patterns.
func glueLikeMatch(s, pat string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pat) && (pat[pi] == '_' || pat[pi] == s[si]):
			si++
			pi++
		case pi < len(pat) && pat[pi] == '%':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '%' {
		pi++
	}
	return pi == len(pat)
}
