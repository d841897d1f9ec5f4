package partition

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// fakeCatalog is a Catalog made of function fields.
type fakeCatalog struct {
	getTable    func(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
	batchCreate func(ctx context.Context, in *glue.BatchCreatePartitionInput, optFns ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error)
}

func (f *fakeCatalog) GetTable(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error) {
	return f.getTable(ctx, in, optFns...)
}

func (f *fakeCatalog) BatchCreatePartition(ctx context.Context, in *glue.BatchCreatePartitionInput, optFns ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error) {
	return f.batchCreate(ctx, in, optFns...)
}

var _ Catalog = (*fakeCatalog)(nil)

// call is one recorded Glue call, as the golden files show them.
type call struct {
	Op         string          `json:"op"`
	Database   string          `json:"database"`
	Table      string          `json:"table"`
	Partitions []gluePartition `json:"partitions,omitempty"`
}

type gluePartition struct {
	Values   []string `json:"values"`
	Location string   `json:"location"`
	Format   string   `json:"inputFormat,omitempty"`
}

// memCatalog backs a fakeCatalog with an in-memory catalog that records
// every call. failCodes makes BatchCreatePartition report that error code
// for the partition "table|dt|hr"; callErr fails whole calls.
type memCatalog struct {
	mu        sync.Mutex
	calls     []call
	existing  map[string]bool
	failCodes map[string]string
	callErr   func(op string) error
	fake      fakeCatalog
}

func newMemCatalog() *memCatalog {
	m := &memCatalog{existing: make(map[string]bool), failCodes: make(map[string]string)}
	m.fake.getTable = func(_ context.Context, in *glue.GetTableInput, _ ...func(*glue.Options)) (*glue.GetTableOutput, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.calls = append(m.calls, call{Op: "GetTable", Database: aws.ToString(in.DatabaseName), Table: aws.ToString(in.Name)})
		if m.callErr != nil {
			if err := m.callErr("GetTable"); err != nil {
				return nil, err
			}
		}
		return &glue.GetTableOutput{Table: &types.Table{
			Name:          in.Name,
			PartitionKeys: []types.Column{{Name: aws.String("dt"), Type: aws.String("string")}, {Name: aws.String("hr"), Type: aws.String("string")}},
			StorageDescriptor: &types.StorageDescriptor{
				Location:    aws.String("s3://table-root/"),
				InputFormat: aws.String("org.apache.hadoop.mapred.TextInputFormat"),
				Columns:     []types.Column{{Name: aws.String("id"), Type: aws.String("string")}},
			},
		}}, nil
	}
	m.fake.batchCreate = func(_ context.Context, in *glue.BatchCreatePartitionInput, _ ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		c := call{Op: "BatchCreatePartition", Database: aws.ToString(in.DatabaseName), Table: aws.ToString(in.TableName)}
		for _, p := range in.PartitionInputList {
			c.Partitions = append(c.Partitions, gluePartition{Values: p.Values, Location: aws.ToString(p.StorageDescriptor.Location), Format: aws.ToString(p.StorageDescriptor.InputFormat)})
		}
		m.calls = append(m.calls, c)
		if m.callErr != nil {
			if err := m.callErr("BatchCreatePartition"); err != nil {
				return nil, err
			}
		}
		if len(in.PartitionInputList) > MaxBatch {
			return nil, &types.InvalidInputException{Message: aws.String("too many partitions")}
		}
		out := &glue.BatchCreatePartitionOutput{}
		for _, p := range in.PartitionInputList {
			k := c.Table + "|" + p.Values[0] + "|" + p.Values[1]
			code := m.failCodes[k]
			if code == "" && m.existing[k] {
				code = "AlreadyExistsException"
			}
			if code != "" {
				out.Errors = append(out.Errors, types.PartitionError{PartitionValues: p.Values, ErrorDetail: &types.ErrorDetail{ErrorCode: aws.String(code), ErrorMessage: aws.String(code + " for " + k)}})
				continue
			}
			m.existing[k] = true
		}
		return out, nil
	}
	return m
}

func (m *memCatalog) count(op string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.calls {
		if c.Op == op {
			n++
		}
	}
	return n
}
