package partition

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

var _ PartitionReader = (*sim.Glue)(nil)

// fakeReader is a PartitionReader made of a function field.
type fakeReader struct {
	batchGet func(ctx context.Context, in *glue.BatchGetPartitionInput, optFns ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error)
}

func (f *fakeReader) BatchGetPartition(ctx context.Context, in *glue.BatchGetPartitionInput, optFns ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error) {
	return f.batchGet(ctx, in, optFns...)
}

func TestMissingOnSimulatedGlue(t *testing.T) {
	w, g := simCatalog(t)
	ctx := context.Background()
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Layout: LayoutHive})
	all := hours(1500) // two BatchGetPartition calls
	if _, err := NewRegistrar(g, "pendulum", 0).Register(ctx, tb, all[:1400]); err != nil {
		t.Fatal(err)
	}
	before := w.CallCount(sim.CallKey{Operation: "BatchGetPartition"})
	missing, err := Missing(ctx, g, "pendulum", tb, append(all, all[1499]))
	if err != nil {
		t.Fatalf("Missing: %v", err)
	}
	if got, want := missing, all[1400:]; !reflect.DeepEqual(got, want) {
		t.Fatalf("missing = %d partitions from %v, want %d from %v", len(got), got[0], len(want), want[0])
	}
	if got, want := w.CallCount(sim.CallKey{Operation: "BatchGetPartition"})-before, 2; got != want {
		t.Fatalf("BatchGetPartition calls = %d, want %d", got, want)
	}
}

func TestMissingRetriesUnprocessedKeys(t *testing.T) {
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Layout: LayoutHive})
	ps := hours(4)
	calls := 0
	r := &fakeReader{batchGet: func(_ context.Context, in *glue.BatchGetPartitionInput, _ ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error) {
		calls++
		// Each call answers the first key it is given and leaves the rest
		// unprocessed; partition 2 does not exist.
		out := &glue.BatchGetPartitionOutput{UnprocessedKeys: in.PartitionsToGet[1:]}
		if v := in.PartitionsToGet[0].Values; !reflect.DeepEqual(v, ps[2].Values()) {
			out.Partitions = []types.Partition{{Values: v}}
		}
		return out, nil
	}}
	missing, err := Missing(context.Background(), r, "pendulum", tb, ps)
	if err != nil {
		t.Fatalf("Missing: %v", err)
	}
	if got, want := missing, []Partition{ps[2]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("missing = %v, want %v", got, want)
	}
	if got, want := calls, 4; got != want {
		t.Fatalf("calls = %d, want %d", got, want)
	}

	// Glue that never processes anything: Missing gives up instead of guessing.
	r.batchGet = func(_ context.Context, in *glue.BatchGetPartitionInput, _ ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error) {
		return &glue.BatchGetPartitionOutput{UnprocessedKeys: in.PartitionsToGet}, nil
	}
	if _, err := Missing(context.Background(), r, "pendulum", tb, ps); err == nil || !strings.Contains(err.Error(), "unprocessed") {
		t.Fatalf("Missing error = %v, want unprocessed keys reported", err)
	}
}
