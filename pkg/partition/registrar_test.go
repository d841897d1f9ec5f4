package partition

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

// hours returns n consecutive hour partitions starting 2024-01-01 00h.
func hours(n int) []Partition {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ps := make([]Partition, n)
	for i := range ps {
		h := start.Add(time.Duration(i) * time.Hour)
		ps[i] = Partition{DT: h.Format("2006-01-02"), HR: h.Format("15")}
	}
	return ps
}

func TestRegisterBatches(t *testing.T) {
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Prefix: "raw", Layout: LayoutHive})
	tests := []struct {
		name      string
		n         int
		wantBatch int
	}{
		{name: "One", n: 1, wantBatch: 1},
		{name: "Exactly100", n: 100, wantBatch: 1},
		{name: "101", n: 101, wantBatch: 2},
		{name: "250", n: 250, wantBatch: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemCatalog()
			r := NewRegistrar(&m.fake, "pendulum", 0)
			ps := append(hours(tt.n), hours(tt.n)...) // every partition twice
			st, err := r.Register(context.Background(), tb, ps)
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			if got, want := st, (Stats{Distinct: tt.n, Created: tt.n, Calls: 1 + tt.wantBatch}); got != want {
				t.Fatalf("stats = %+v, want %+v", got, want)
			}
			if got, want := m.count("GetTable"), 1; got != want {
				t.Fatalf("GetTable calls = %d, want %d", got, want)
			}
			if got, want := m.count("BatchCreatePartition"), tt.wantBatch; got != want {
				t.Fatalf("BatchCreatePartition calls = %d, want %d", got, want)
			}
			total := 0
			for _, c := range m.calls {
				if c.Op != "BatchCreatePartition" {
					continue
				}
				if len(c.Partitions) > MaxBatch {
					t.Fatalf("a call carried %d partitions", len(c.Partitions))
				}
				for _, p := range c.Partitions {
					if got, want := p.Location, tb.PartitionLocation(Partition{p.Values[0], p.Values[1]}); got != want {
						t.Fatalf("location = %q, want %q", got, want)
					}
					if got, want := p.Format, "org.apache.hadoop.mapred.TextInputFormat"; got != want {
						t.Fatalf("input format = %q, want the table's %q", got, want)
					}
				}
				total += len(c.Partitions)
			}
			if got, want := total, tt.n; got != want {
				t.Fatalf("partitions sent = %d, want %d", got, want)
			}
			// A second registration of the same partitions costs no call.
			before := len(m.calls)
			st, err = r.Register(context.Background(), tb, ps)
			if err != nil {
				t.Fatalf("Register again: %v", err)
			}
			if got, want := st, (Stats{Distinct: tt.n, Cached: tt.n}); got != want {
				t.Fatalf("stats again = %+v, want %+v", got, want)
			}
			if got, want := len(m.calls), before; got != want {
				t.Fatalf("calls after re-register = %d, want %d", got, want)
			}
		})
	}
}

func TestRegisterErrors(t *testing.T) {
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Layout: LayoutHive})
	ps := hours(3)
	key := func(p Partition) string { return "raw|" + p.DT + "|" + p.HR }

	t.Run("AlreadyExistsIsSuccess", func(t *testing.T) {
		m := newMemCatalog()
		m.existing[key(ps[1])] = true
		r := NewRegistrar(&m.fake, "pendulum", 0)
		st, err := r.Register(context.Background(), tb, ps)
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		if got, want := st, (Stats{Distinct: 3, Created: 2, Existed: 1, Calls: 2}); got != want {
			t.Fatalf("stats = %+v, want %+v", got, want)
		}
		if got, want := r.known.len(), 3; got != want {
			t.Fatalf("cached partitions = %d, want %d", got, want)
		}
	})
	t.Run("PerPartitionError", func(t *testing.T) {
		m := newMemCatalog()
		m.failCodes[key(ps[2])] = "ResourceNumberLimitExceededException"
		r := NewRegistrar(&m.fake, "pendulum", 0)
		_, err := r.Register(context.Background(), tb, ps)
		var re *RegisterError
		if !errors.As(err, &re) {
			t.Fatalf("Register error = %v, want *RegisterError", err)
		}
		if got, want := len(re.Failed), 1; got != want {
			t.Fatalf("failed = %d, want %d", got, want)
		}
		if got, want := fault.Code(re.Failed[ps[2]]), "ResourceNumberLimitExceededException"; got != want {
			t.Fatalf("code = %q, want %q", got, want)
		}
		// The failed partition is retried next time; the others are not.
		delete(m.failCodes, key(ps[2]))
		before := len(m.calls)
		if _, err := r.Register(context.Background(), tb, ps); err != nil {
			t.Fatalf("Register retry: %v", err)
		}
		last := m.calls[len(m.calls)-1]
		if got, want := len(m.calls)-before, 1; got != want {
			t.Fatalf("retry calls = %d, want %d", got, want)
		}
		if got, want := len(last.Partitions), 1; got != want {
			t.Fatalf("retry sent %d partitions, want %d", got, want)
		}
	})
	t.Run("CallErrorFailsItsChunkOnly", func(t *testing.T) {
		m := newMemCatalog()
		n := 0
		m.callErr = func(op string) error {
			if op != "BatchCreatePartition" {
				return nil
			}
			n++
			if n == 2 {
				return &smithy.OperationError{ServiceID: "Glue", OperationName: "BatchCreatePartition", Err: &types.OperationTimeoutException{Message: new("timeout")}}
			}
			return nil
		}
		r := NewRegistrar(&m.fake, "pendulum", 0)
		ps := hours(250)
		_, err := r.Register(context.Background(), tb, ps)
		var re *RegisterError
		if !errors.As(err, &re) {
			t.Fatalf("Register error = %v, want *RegisterError", err)
		}
		if got, want := len(re.Failed), 100; got != want {
			t.Fatalf("failed = %d, want %d", got, want)
		}
		for i, p := range ps {
			_, failed := re.Failed[p]
			if got, want := failed, i >= 100 && i < 200; got != want {
				t.Fatalf("partition %d failed = %v, want %v", i, got, want)
			}
		}
	})
	t.Run("GetTableFailsAll", func(t *testing.T) {
		m := newMemCatalog()
		fail := true
		m.callErr = func(op string) error {
			if op == "GetTable" && fail {
				return &smithy.OperationError{ServiceID: "Glue", OperationName: "GetTable", Err: &types.EntityNotFoundException{Message: new("no table")}}
			}
			return nil
		}
		r := NewRegistrar(&m.fake, "pendulum", 0)
		_, err := r.Register(context.Background(), tb, ps)
		var re *RegisterError
		if !errors.As(err, &re) {
			t.Fatalf("Register error = %v, want *RegisterError", err)
		}
		if got, want := len(re.Failed), 3; got != want {
			t.Fatalf("failed = %d, want %d", got, want)
		}
		if got, want := fault.Classify(err), fault.NotFound; got != want {
			t.Fatalf("kind = %v, want %v", got, want)
		}
		if got, want := m.count("BatchCreatePartition"), 0; got != want {
			t.Fatalf("BatchCreatePartition calls = %d, want %d", got, want)
		}
		// The failure is not cached: the next batch asks again.
		fail = false
		if _, err := r.Register(context.Background(), tb, ps); err != nil {
			t.Fatalf("Register after recovery: %v", err)
		}
		if got, want := m.count("GetTable"), 2; got != want {
			t.Fatalf("GetTable calls = %d, want %d", got, want)
		}
	})
	t.Run("CanceledContext", func(t *testing.T) {
		m := newMemCatalog()
		r := NewRegistrar(&m.fake, "pendulum", 0)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := r.Register(ctx, tb, ps)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Register error = %v, want context.Canceled", err)
		}
	})
}

func TestRegisterCacheIsBounded(t *testing.T) {
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Layout: LayoutHive})
	m := newMemCatalog()
	r := NewRegistrar(&m.fake, "pendulum", 10)
	ps := hours(30)
	if _, err := r.Register(context.Background(), tb, ps); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if got, want := r.known.len(), 10; got != want {
		t.Fatalf("cache size = %d, want %d", got, want)
	}
	// The 10 most recent are cached: registering them again costs nothing,
	// an evicted one costs a call (which Glue answers AlreadyExists).
	before := len(m.calls)
	if _, err := r.Register(context.Background(), tb, ps[20:]); err != nil {
		t.Fatalf("Register recent: %v", err)
	}
	if got, want := len(m.calls), before; got != want {
		t.Fatalf("calls = %d, want %d", got, want)
	}
	if _, err := r.Register(context.Background(), tb, ps[:1]); err != nil {
		t.Fatalf("Register evicted: %v", err)
	}
	if got, want := len(m.calls), before+1; got != want {
		t.Fatalf("calls = %d, want %d", got, want)
	}
}

func TestRegisterRejectsTableWithoutKeys(t *testing.T) {
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Layout: LayoutHive})
	m := newMemCatalog()
	inner := m.fake.getTable
	m.fake.getTable = func(ctx context.Context, in *glue.GetTableInput, o ...func(*glue.Options)) (*glue.GetTableOutput, error) {
		out, err := inner(ctx, in, o...)
		out.Table.PartitionKeys = out.Table.PartitionKeys[:1]
		return out, err
	}
	r := NewRegistrar(&m.fake, "pendulum", 0)
	_, err := r.Register(context.Background(), tb, hours(1))
	if !errors.Is(err, ErrNoDescriptor) {
		t.Fatalf("Register error = %v, want ErrNoDescriptor", err)
	}
	if got, want := fault.Classify(err), fault.Invalid; got != want {
		t.Fatalf("kind = %v, want %v", got, want)
	}
}

func TestRegisterKeys(t *testing.T) {
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Prefix: "raw/", Layout: LayoutHive})
	m := newMemCatalog()
	r := NewRegistrar(&m.fake, "pendulum", 0)
	keys := []string{
		"raw/dt=2024-03-05/hr=07/a.json",
		"raw/dt=2024-03-05/hr=07/b c.json",
		"raw/dt=2024-03-05/hr=08/x+y.json",
		"raw/dt=2024-03-05/hr=07/",
		"raw/dt=2024-03-05/hr=07/_SUCCESS",
		"raw/dt=2024-03-05/x.json",
		"curated/dt=2024-03-05/hr=07/a.json",
	}
	st, err := r.RegisterKeys(context.Background(), tb, keys)
	if !errors.Is(err, ErrBadKey) || !errors.Is(err, ErrOutsideTable) {
		t.Fatalf("RegisterKeys error = %v, want ErrBadKey and ErrOutsideTable", err)
	}
	var re *RegisterError
	if errors.As(err, &re) {
		t.Fatalf("registration failed: %v", re)
	}
	if got, want := st, (Stats{Distinct: 2, Created: 2, Calls: 2}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
}

// TestRegisterUnmatchedPartitionError checks per-partition errors whose
// PartitionValues name no partition of the call: nothing in the chunk can be
// confirmed, so every partition not otherwise confirmed fails with that
// error, is not remembered and is asked for again next time.
func TestRegisterUnmatchedPartitionError(t *testing.T) {
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Layout: LayoutHive})
	ps := hours(3)
	tests := []struct {
		name   string
		values []string
	}{
		{name: "NoValues"},
		{name: "OneValue", values: []string{ps[0].DT}},
		{name: "ThreeValues", values: []string{ps[0].DT, ps[0].HR, "x"}},
		{name: "NoSuchPartition", values: []string{"1999-01-01", "00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemCatalog()
			inner := m.fake.batchCreate
			odd := true
			m.fake.batchCreate = func(ctx context.Context, in *glue.BatchCreatePartitionInput, o ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error) {
				out, err := inner(ctx, in, o...)
				if err != nil || !odd {
					return out, err
				}
				odd = false
				out.Errors = append(out.Errors, types.PartitionError{PartitionValues: tt.values, ErrorDetail: &types.ErrorDetail{ErrorCode: aws.String("InternalServiceException")}})
				return out, nil
			}
			r := NewRegistrar(&m.fake, "pendulum", 0)
			st, err := r.Register(context.Background(), tb, ps)
			var re *RegisterError
			if !errors.As(err, &re) {
				t.Fatalf("Register error = %v, want *RegisterError", err)
			}
			if got, want := st, (Stats{Distinct: 3, Failed: 3, Calls: 2}); got != want {
				t.Fatalf("stats = %+v, want %+v", got, want)
			}
			for _, p := range ps {
				if got, want := fault.Code(re.Failed[p]), "InternalServiceException"; got != want {
					t.Fatalf("partition %s code = %q, want %q", p, got, want)
				}
			}
			if !strings.Contains(err.Error(), ps[0].String()) {
				t.Fatalf("error %q does not name partition %s", err, ps[0])
			}
			if got, want := r.known.len(), 0; got != want {
				t.Fatalf("cached partitions = %d, want %d", got, want)
			}
			// Nothing was confirmed, so everything is asked for again (Glue
			// answers AlreadyExists for what the first call did create).
			st, err = r.Register(context.Background(), tb, ps)
			if err != nil {
				t.Fatalf("Register again: %v", err)
			}
			if got, want := m.count("BatchCreatePartition"), 2; got != want {
				t.Fatalf("BatchCreatePartition calls = %d, want %d", got, want)
			}
			if got, want := st, (Stats{Distinct: 3, Existed: 3, Calls: 1}); got != want {
				t.Fatalf("stats again = %+v, want %+v", got, want)
			}
		})
	}
}

// TestRegisterUnmatchedKeepsConfirmed checks that with an unmatched error in
// the answer, partitions Glue named as existing stay registered and those
// with their own error keep it.
func TestRegisterUnmatchedKeepsConfirmed(t *testing.T) {
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Layout: LayoutHive})
	ps := hours(4)
	key := func(p Partition) string { return "raw|" + p.DT + "|" + p.HR }
	m := newMemCatalog()
	m.existing[key(ps[0])] = true
	m.failCodes[key(ps[1])] = "ResourceNumberLimitExceededException"
	inner := m.fake.batchCreate
	m.fake.batchCreate = func(ctx context.Context, in *glue.BatchCreatePartitionInput, o ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error) {
		out, err := inner(ctx, in, o...)
		if err == nil {
			out.Errors = append(out.Errors, types.PartitionError{ErrorDetail: &types.ErrorDetail{ErrorCode: aws.String("InternalServiceException")}})
		}
		return out, err
	}
	r := NewRegistrar(&m.fake, "pendulum", 0)
	st, err := r.Register(context.Background(), tb, ps)
	var re *RegisterError
	if !errors.As(err, &re) {
		t.Fatalf("Register error = %v, want *RegisterError", err)
	}
	if got, want := st, (Stats{Distinct: 4, Existed: 1, Failed: 3, Calls: 2}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	want := map[Partition]string{ps[1]: "ResourceNumberLimitExceededException", ps[2]: "InternalServiceException", ps[3]: "InternalServiceException"}
	if got, want := len(re.Failed), len(want); got != want {
		t.Fatalf("failed = %d, want %d", got, want)
	}
	for p, code := range want {
		if got := fault.Code(re.Failed[p]); got != code {
			t.Fatalf("partition %s code = %q, want %q", p, got, code)
		}
	}
	if got, want := r.known.len(), 1; got != want {
		t.Fatalf("cached partitions = %d, want %d", got, want)
	}
}
