package sim

import (
	"math/big"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ddbIndex is a global or local secondary index. Indexes are views computed
// from the table's items when queried: an item is in the index when it has
// the index's key attributes (indexes are sparse), and reads return the
// index's projection of it.
type ddbIndex struct {
	ddbSchema
	name       string
	global     bool
	keySchema  []ddbtypes.KeySchemaElement
	projection ddbtypes.Projection
	rcu, wcu   int64 // a global index's provisioned capacity
}

// addIndexes validates and adds the secondary indexes of a CreateTable.
func (t *ddbTable) addIndexes(gsis []ddbtypes.GlobalSecondaryIndex, lsis []ddbtypes.LocalSecondaryIndex) error {
	types := map[string]string{}
	for _, d := range t.attrDefs {
		types[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	add := func(name string, ks []ddbtypes.KeySchemaElement, proj *ddbtypes.Projection, global bool) error {
		if name == "" || t.indexByName(name) != nil {
			return ddbValidation("One or more parameter values were invalid: Duplicate index name: %s", name)
		}
		ix := &ddbIndex{name: name, global: global, keySchema: ks}
		if proj != nil {
			ix.projection = *proj
		}
		if ix.projection.ProjectionType == "" {
			return ddbValidation("One or more parameter values were invalid: Unknown ProjectionType: null")
		}
		for _, k := range ks {
			n := aws.ToString(k.AttributeName)
			typ, ok := types[n]
			if !ok {
				return ddbValidation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]", n, strings.Join(ddbKeys(types), ", "))
			}
			if k.KeyType == ddbtypes.KeyTypeHash {
				ix.hashKey, ix.hashType = n, typ
			} else {
				ix.rangeKey, ix.rngType = n, typ
			}
		}
		if ix.hashKey == "" {
			return ddbValidation("One or more parameter values were invalid: Index %s has no HASH key", name)
		}
		if !global && (ix.hashKey != t.hashKey || ix.rangeKey == "") {
			return ddbValidation("One or more parameter values were invalid: Index KeySchema does not have a range key for index: %s", name)
		}
		t.indexes = append(t.indexes, ix)
		return nil
	}
	for _, g := range gsis {
		if err := add(aws.ToString(g.IndexName), g.KeySchema, g.Projection, true); err != nil {
			return err
		}
		if pt := g.ProvisionedThroughput; pt != nil {
			ix := t.indexes[len(t.indexes)-1]
			ix.rcu, ix.wcu = aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits)
		}
	}
	for _, l := range lsis {
		if err := add(aws.ToString(l.IndexName), l.KeySchema, l.Projection, false); err != nil {
			return err
		}
	}
	return nil
}

func (t *ddbTable) indexByName(name string) *ddbIndex {
	for _, ix := range t.indexes {
		if ix.name == name {
			return ix
		}
	}
	return nil
}

func (t *ddbTable) index(name string) (*ddbIndex, error) {
	if ix := t.indexByName(name); ix != nil {
		return ix, nil
	}
	return nil, ddbValidation("The table does not have the specified index: %s", name)
}

// describeIndexes adds the index descriptions to d.
func (c *DynamoDB) describeIndexes(t *ddbTable, d *ddbtypes.TableDescription) {
	for _, ix := range t.indexes {
		n := int64(len(t.entries(ix, "", false)))
		arn := aws.String(t.arn + "/index/" + ix.name)
		proj := ix.projection
		if ix.global {
			d.GlobalSecondaryIndexes = append(d.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndexDescription{IndexName: aws.String(ix.name),
				IndexArn: arn, KeySchema: ix.keySchema, Projection: &proj, IndexStatus: ddbtypes.IndexStatusActive, ItemCount: aws.Int64(n),
				ProvisionedThroughput: ddbThroughput(t.billing, ix.rcu, ix.wcu)})
		} else {
			d.LocalSecondaryIndexes = append(d.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndexDescription{IndexName: aws.String(ix.name),
				IndexArn: arn, KeySchema: ix.keySchema, Projection: &proj, ItemCount: aws.Int64(n)})
		}
	}
}

// ddbEntry is an item's place in an index.
type ddbEntry struct {
	s      *ddbStored
	hash   string // encoded index partition key
	rng    ddbAV
	rngNum *big.Rat
}

func ddbEntryCmp(a, b *ddbEntry) int {
	if a.hash != b.hash {
		return strings.Compare(a.hash, b.hash)
	}
	if a.rng != nil && b.rng != nil {
		var n int
		if a.rngNum != nil && b.rngNum != nil {
			n = a.rngNum.Cmp(b.rngNum)
		} else {
			n, _ = ddbCompare(a.rng, b.rng)
		}
		if n != 0 {
			return n
		}
	}
	// Ties in the index key are ordered by the table's primary key.
	if a.s.hash() != b.s.hash() {
		return strings.Compare(a.s.hash(), b.s.hash())
	}
	return ddbRangeCmp(a.s, b.s)
}

// ddbMakeEntry places item in ix; ok is false when the item lacks the
// index's key attributes or has them with another type.
func ddbMakeEntry(ix *ddbIndex, s *ddbStored, item ddbItem) (*ddbEntry, bool) {
	h, ok := item[ix.hashKey]
	if !ok || ddbTypeName(h) != ix.hashType {
		return nil, false
	}
	e := &ddbEntry{s: s, hash: ddbKeyEnc(h)}
	if ix.rangeKey != "" {
		r, ok := item[ix.rangeKey]
		if !ok || ddbTypeName(r) != ix.rngType {
			return nil, false
		}
		e.rng = r
		if n, isN := r.(*ddbtypes.AttributeValueMemberN); isN {
			e.rngNum, _ = ddbNum(n.Value)
		}
	}
	return e, true
}

// entries returns ix's entries in order, only those of partition hash when
// filter is set.
func (t *ddbTable) entries(ix *ddbIndex, hash string, filter bool) []*ddbEntry {
	var out []*ddbEntry
	t.eachLocked(func(s *ddbStored) {
		e, ok := ddbMakeEntry(ix, s, s.item())
		if ok && (!filter || e.hash == hash) {
			out = append(out, e)
		}
	})
	sort.Slice(out, func(i, j int) bool { return ddbEntryCmp(out[i], out[j]) < 0 })
	return out
}

// view returns the index's projection of an item.
func (t *ddbTable) view(ix *ddbIndex) func(ddbItem) ddbItem {
	if ix.projection.ProjectionType == ddbtypes.ProjectionTypeAll {
		return nil
	}
	keep := map[string]bool{t.hashKey: true, t.rangeKey: true, ix.hashKey: true, ix.rangeKey: true}
	if ix.projection.ProjectionType == ddbtypes.ProjectionTypeInclude {
		for _, a := range ix.projection.NonKeyAttributes {
			keep[a] = true
		}
	}
	return func(item ddbItem) ddbItem {
		out := ddbItem{}
		for k, v := range item {
			if keep[k] {
				out[k] = v
			}
		}
		return out
	}
}

// startEntry turns an ExclusiveStartKey (table key plus index key) into a
// probe entry.
func (t *ddbTable) startEntry(ix *ddbIndex, esk ddbItem) (*ddbEntry, error) {
	esk = ddbCopyItem(esk)
	if err := ddbValidateItem(esk); err != nil {
		return nil, err
	}
	tableKey := ddbItem{}
	for _, k := range []string{t.hashKey, t.rangeKey} {
		if v, ok := esk[k]; ok && k != "" {
			tableKey[k] = v
		}
	}
	key, hashEnc, err := t.keyOf(tableKey, true)
	if err != nil {
		return nil, ddbValidation("The provided starting key is invalid: The provided key element does not match the schema")
	}
	probe := &ddbStored{key: key, hashLen: int32(len(hashEnc))}
	if n, ok := esk[t.rangeKey].(*ddbtypes.AttributeValueMemberN); ok {
		probe.rngNum, _ = ddbNum(n.Value)
	}
	e, ok := ddbMakeEntry(ix, probe, esk)
	if !ok {
		return nil, ddbValidation("The provided starting key is invalid: The provided key element does not match the schema")
	}
	return e, nil
}

func (t *ddbTable) indexKeyAttrs(ix *ddbIndex, item ddbItem) ddbItem {
	out := t.keyAttrs(item)
	out[ix.hashKey] = ddbCopyAV(item[ix.hashKey])
	if ix.rangeKey != "" {
		out[ix.rangeKey] = ddbCopyAV(item[ix.rangeKey])
	}
	return out
}

// queryIndexLocked runs a Query against a secondary index.
func (t *ddbTable) queryIndexLocked(ix *ddbIndex, kc *ddbKeyCond, esk ddbItem, forward bool, page *ddbPage) (*dynamodb.QueryOutput, error) {
	es := t.entries(ix, kc.hashEnc, true)
	start, end, step := 0, len(es), 1
	if !forward {
		start, end, step = len(es)-1, -1, -1
	}
	if esk != nil {
		probe, err := t.startEntry(ix, esk)
		if err != nil {
			return nil, err
		}
		i := sort.Search(len(es), func(i int) bool { return ddbEntryCmp(es[i], probe) > 0 })
		if forward {
			start = i
		} else {
			start = sort.Search(len(es), func(i int) bool { return ddbEntryCmp(es[i], probe) >= 0 }) - 1
		}
	}
	page.view = t.view(ix)
	var last *ddbStored
	for i := start; i != end; i += step {
		s := es[i].s
		if kc.rng != nil && !ddbEval(s.item(), kc.rng) {
			continue
		}
		last = s
		if !page.add(s) {
			break
		}
	}
	out := &dynamodb.QueryOutput{Items: page.items, Count: int32(page.selected), ScannedCount: int32(page.scanned)}
	if page.stopped && last != nil {
		out.LastEvaluatedKey = t.indexKeyAttrs(ix, last.item())
	}
	return out, nil
}

// scanIndexLocked runs a Scan against a secondary index.
func (t *ddbTable) scanIndexLocked(ix *ddbIndex, esk ddbItem, seg, total int, page *ddbPage) (*dynamodb.ScanOutput, error) {
	es := t.entries(ix, "", false)
	start := 0
	if esk != nil {
		probe, err := t.startEntry(ix, esk)
		if err != nil {
			return nil, err
		}
		start = sort.Search(len(es), func(i int) bool { return ddbEntryCmp(es[i], probe) > 0 })
	}
	page.view = t.view(ix)
	var last *ddbStored
	for _, e := range es[start:] {
		if total > 0 && int(ddbSegmentOf(e.hash, total)) != seg {
			continue
		}
		last = e.s
		if !page.add(e.s) {
			break
		}
	}
	out := &dynamodb.ScanOutput{Items: page.items, Count: int32(page.selected), ScannedCount: int32(page.scanned)}
	if page.stopped && last != nil {
		out.LastEvaluatedKey = t.indexKeyAttrs(ix, last.item())
	}
	return out, nil
}
