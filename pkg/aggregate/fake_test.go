package aggregate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// fakeDB is a DB made of function fields.
type fakeDB struct {
	transact func(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	getItem  func(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	putItem  func(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

func (f *fakeDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return f.putItem(ctx, in, optFns...)
}

func (f *fakeDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return f.transact(ctx, in, optFns...)
}

func (f *fakeDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return f.getItem(ctx, in, optFns...)
}

var _ DB = (*fakeDB)(nil)

type itemKey struct{ pk, sk string }

// memTable backs a fakeDB with an in-memory table that applies transactions
// atomically with DynamoDB's rules for the expressions this package writes:
// at most 100 actions, one action per item, attribute_not_exists conditions
// (a failed one cancels the transaction with per-action reasons), and ADD /
// SET update expressions on numbers and string sets.
//
// before, if set, runs before each transaction; a non-nil error is returned
// instead of applying it. after runs once a transaction is applied and may
// replace the (nil) error, to model a lost response.
type memTable struct {
	mu     sync.Mutex
	items  map[itemKey]map[string]types.AttributeValue
	calls  int
	before func(n int, in *dynamodb.TransactWriteItemsInput) error
	after  func(n int) error
	// beforePut, if set, runs before each PutItem (conflict items); a
	// non-nil error is returned instead of writing.
	beforePut func(in *dynamodb.PutItemInput) error
	fake      fakeDB
}

func newMemTable() *memTable {
	m := &memTable{items: make(map[itemKey]map[string]types.AttributeValue)}
	m.fake.transact = func(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.calls++
		if m.before != nil {
			if err := m.before(m.calls, in); err != nil {
				return nil, err
			}
		}
		if err := m.applyLocked(in); err != nil {
			return nil, err
		}
		if m.after != nil {
			return nil, m.after(m.calls)
		}
		return &dynamodb.TransactWriteItemsOutput{}, nil
	}
	m.fake.getItem = func(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		item, ok := m.items[keyOf(in.Key)]
		if !ok {
			return &dynamodb.GetItemOutput{}, nil
		}
		return &dynamodb.GetItemOutput{Item: maps.Clone(item)}, nil
	}
	m.fake.putItem = func(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
		if in.ConditionExpression != nil {
			return nil, validation("unsupported conditional PutItem")
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.beforePut != nil {
			if err := m.beforePut(in); err != nil {
				return nil, err
			}
		}
		m.items[keyOf(in.Item)] = maps.Clone(in.Item)
		return &dynamodb.PutItemOutput{}, nil
	}
	return m
}

func keyOf(item map[string]types.AttributeValue) itemKey {
	return itemKey{item["pk"].(*types.AttributeValueMemberS).Value, item["sk"].(*types.AttributeValueMemberS).Value}
}

// maxHashKeyBytes is DynamoDB's limit on a partition key value; a longer
// one fails the whole call with a ValidationException.
const maxHashKeyBytes = 2048

func validation(msg string) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "TransactWriteItems", Err: &smithy.GenericAPIError{Code: "ValidationException", Message: msg}}
}

func (m *memTable) applyLocked(in *dynamodb.TransactWriteItemsInput) error {
	if n := len(in.TransactItems); n == 0 || n > MaxActions {
		return validation(fmt.Sprintf("%d actions", n))
	}
	seen := make(map[itemKey]bool)
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	cancelled := false
	for i, ti := range in.TransactItems {
		var k itemKey
		switch {
		case ti.Put != nil:
			k = keyOf(ti.Put.Item)
			if len(k.pk) > maxHashKeyBytes {
				return validation("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes")
			}
			cond := aws.ToString(ti.Put.ConditionExpression)
			if cond != "" && cond != "attribute_not_exists(pk)" {
				return validation("unsupported condition " + cond)
			}
			if old, exists := m.items[k]; exists && cond != "" {
				reasons[i].Code = aws.String("ConditionalCheckFailed")
				reasons[i].Message = aws.String("The conditional request failed")
				if ti.Put.ReturnValuesOnConditionCheckFailure == types.ReturnValuesOnConditionCheckFailureAllOld {
					reasons[i].Item = maps.Clone(old)
				}
				cancelled = true
				continue
			}
		case ti.Update != nil:
			k = keyOf(ti.Update.Key)
		default:
			return validation("unsupported action")
		}
		if seen[k] {
			return validation("Transaction request cannot include multiple operations on one item")
		}
		seen[k] = true
		reasons[i].Code = aws.String("None")
	}
	if cancelled {
		return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "TransactWriteItems", Err: &types.TransactionCanceledException{
			Message: aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons"), CancellationReasons: reasons}}
	}
	for _, ti := range in.TransactItems {
		if ti.Put != nil {
			m.items[keyOf(ti.Put.Item)] = maps.Clone(ti.Put.Item)
			continue
		}
		if err := m.updateLocked(ti.Update); err != nil {
			return err
		}
	}
	return nil
}

// updateLocked applies "ADD a :x, b :y SET c = :z" style expressions.
func (m *memTable) updateLocked(u *types.Update) error {
	k := keyOf(u.Key)
	item := m.items[k]
	if item == nil {
		item = maps.Clone(u.Key)
	}
	name := func(n string) string {
		if v, ok := u.ExpressionAttributeNames[n]; ok {
			return v
		}
		return n
	}
	expr := aws.ToString(u.UpdateExpression)
	add, set, _ := strings.Cut(strings.TrimPrefix(expr, "ADD "), " SET ")
	for _, clause := range strings.Split(add, ", ") {
		f := strings.Fields(clause)
		if len(f) != 2 {
			return validation("bad ADD clause " + clause)
		}
		attr, val := name(f[0]), u.ExpressionAttributeValues[f[1]]
		switch v := val.(type) {
		case *types.AttributeValueMemberN:
			cur := int64(0)
			if c, ok := item[attr].(*types.AttributeValueMemberN); ok {
				cur, _ = strconv.ParseInt(c.Value, 10, 64)
			}
			d, _ := strconv.ParseInt(v.Value, 10, 64)
			item[attr] = &types.AttributeValueMemberN{Value: strconv.FormatInt(cur+d, 10)}
		case *types.AttributeValueMemberSS:
			if len(v.Value) == 0 {
				return validation("An string set may not be empty")
			}
			set := map[string]bool{}
			if c, ok := item[attr].(*types.AttributeValueMemberSS); ok {
				for _, s := range c.Value {
					set[s] = true
				}
			}
			for _, s := range v.Value {
				set[s] = true
			}
			item[attr] = &types.AttributeValueMemberSS{Value: slices.Sorted(maps.Keys(set))}
		default:
			return validation("bad ADD operand type")
		}
	}
	if set != "" {
		for _, clause := range strings.Split(set, ", ") {
			l, r, ok := strings.Cut(clause, " = ")
			if !ok {
				return validation("bad SET clause " + clause)
			}
			item[name(l)] = u.ExpressionAttributeValues[r]
		}
	}
	m.items[k] = item
	return nil
}

// dump returns the table's items as plain values, sorted by key, for
// golden files and comparisons.
func (m *memTable) dump() []map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := slices.Collect(maps.Keys(m.items))
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].pk != keys[j].pk {
			return keys[i].pk < keys[j].pk
		}
		return keys[i].sk < keys[j].sk
	})
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		row := make(map[string]any)
		for n, v := range m.items[k] {
			switch v := v.(type) {
			case *types.AttributeValueMemberS:
				row[n] = v.Value
			case *types.AttributeValueMemberN:
				row[n] = jsonNumber(v.Value)
			case *types.AttributeValueMemberSS:
				row[n] = v.Value
			default:
				row[n] = fmt.Sprintf("%T", v)
			}
		}
		out = append(out, row)
	}
	return out
}

// summaries returns pk → records of every window summary.
func (m *memTable) summaries() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string)
	for k, item := range m.items {
		if k.sk == summarySK {
			out[k.pk] = item["records"].(*types.AttributeValueMemberN).Value + "/" + item["bytes"].(*types.AttributeValueMemberN).Value
		}
	}
	return out
}

func (m *memTable) markers() []map[string]types.AttributeValue {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []map[string]types.AttributeValue
	for k, item := range m.items {
		if k.sk == markerSK {
			out = append(out, maps.Clone(item))
		}
	}
	sort.Slice(out, func(i, j int) bool { return keyOf(out[i]).pk < keyOf(out[j]).pk })
	return out
}

// jsonNumber keeps a DynamoDB number exact in golden JSON.
type jsonNumber string

func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }
