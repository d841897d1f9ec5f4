package sim

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

var glueTestStart = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// glueTestCatalog returns a region's catalog with database "lake" and table
// "raw" partitioned by dt (string) and hr (int).
func glueTestCatalog(t *testing.T) (*World, *Glue) {
	t.Helper()
	w := NewWorld(clock.NewVirtual(glueTestStart), "111122223333", "us-east-1", "us-east-2")
	g := w.Region("us-east-1").Glue()
	ctx := context.Background()
	if _, err := g.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String("lake")}}); err != nil {
		t.Fatal(err)
	}
	_, err := g.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: &gluetypes.TableInput{
		Name: aws.String("raw"),
		PartitionKeys: []gluetypes.Column{
			{Name: aws.String("dt"), Type: aws.String("string")},
			{Name: aws.String("hr"), Type: aws.String("int")},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w, g
}

func glueTestInputs(days, hours int) []gluetypes.PartitionInput {
	var out []gluetypes.PartitionInput
	for d := 0; d < days; d++ {
		for h := 0; h < hours; h++ {
			dt := glueTestStart.AddDate(0, 0, d).Format("2006-01-02")
			out = append(out, gluetypes.PartitionInput{
				Values:            []string{dt, fmt.Sprint(h)},
				StorageDescriptor: &gluetypes.StorageDescriptor{Location: aws.String(fmt.Sprintf("s3://raw/dt=%s/hr=%02d/", dt, h))},
			})
		}
	}
	return out
}

func TestGlueBatchCreatePartition(t *testing.T) {
	ctx := context.Background()
	t.Run("MoreThan100IsAValidationError", func(t *testing.T) {
		_, g := glueTestCatalog(t)
		_, err := g.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{
			DatabaseName: aws.String("lake"), TableName: aws.String("raw"), PartitionInputList: glueTestInputs(5, 21),
		})
		var ve *gluetypes.ValidationException
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v, want ValidationException", err)
		}
		var oe *smithy.OperationError
		if !errors.As(err, &oe) || oe.ServiceID != glue.ServiceID || oe.OperationName != "BatchCreatePartition" {
			t.Fatalf("err = %v, want an OperationError of Glue BatchCreatePartition", err)
		}
		if got := g.PartitionCount("lake", "raw"); got != 0 {
			t.Fatalf("partitions = %d, want 0: a refused batch creates nothing", got)
		}
	})
	t.Run("PerPartitionErrors", func(t *testing.T) {
		_, g := glueTestCatalog(t)
		in := glueTestInputs(1, 3)
		if _, err := g.CreatePartition(ctx, &glue.CreatePartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), PartitionInput: &in[1]}); err != nil {
			t.Fatal(err)
		}
		in = append(in, gluetypes.PartitionInput{Values: []string{"2026-11-25"}}, in[2])
		out, err := g.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), PartitionInputList: in})
		if err != nil {
			t.Fatal(err)
		}
		codes := map[string]string{}
		for _, e := range out.Errors {
			codes[fmt.Sprint(e.PartitionValues)] = aws.ToString(e.ErrorDetail.ErrorCode)
		}
		want := map[string]string{
			"[2026-11-25 1]": "AlreadyExistsException", // created before the batch
			"[2026-11-25]":   "InvalidInputException",  // one value for two keys
		}
		if got, want := len(out.Errors), 3; got != want {
			t.Fatalf("errors = %d (%v), want %d (the duplicate within the batch too)", got, codes, want)
		}
		for k, c := range want {
			if codes[k] != c {
				t.Errorf("error for %s = %q, want %q", k, codes[k], c)
			}
		}
		if got, want := g.PartitionCount("lake", "raw"), 3; got != want {
			t.Fatalf("partitions = %d, want %d", got, want)
		}
	})
	t.Run("MissingTable", func(t *testing.T) {
		_, g := glueTestCatalog(t)
		_, err := g.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("nope"), PartitionInputList: glueTestInputs(1, 1)})
		var nf *gluetypes.EntityNotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v, want EntityNotFoundException", err)
		}
	})
}

func TestGlueCatalogErrors(t *testing.T) {
	ctx := context.Background()
	_, g := glueTestCatalog(t)
	tests := []struct {
		name string
		call func() error
		want any
	}{
		{"DatabaseExists", func() error {
			_, err := g.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String("LAKE")}})
			return err
		}, new(*gluetypes.AlreadyExistsException)},
		{"TableExists", func() error {
			_, err := g.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: &gluetypes.TableInput{Name: aws.String("raw")}})
			return err
		}, new(*gluetypes.AlreadyExistsException)},
		{"NoDatabase", func() error {
			_, err := g.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("other")})
			return err
		}, new(*gluetypes.EntityNotFoundException)},
		{"NoTable", func() error {
			_, err := g.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("lake"), Name: aws.String("other")})
			return err
		}, new(*gluetypes.EntityNotFoundException)},
		{"NoPartition", func() error {
			_, err := g.GetPartition(ctx, &glue.GetPartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), PartitionValues: []string{"x", "1"}})
			return err
		}, new(*gluetypes.EntityNotFoundException)},
		{"DeleteMissingPartition", func() error {
			_, err := g.DeletePartition(ctx, &glue.DeletePartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), PartitionValues: []string{"x", "1"}})
			return err
		}, new(*gluetypes.EntityNotFoundException)},
		{"ExpressionNotModelled", func() error {
			_, err := g.GetPartitions(ctx, &glue.GetPartitionsInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), Expression: aws.String("dt = 'x'")})
			return err
		}, new(*gluetypes.InvalidInputException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !errors.As(err, tt.want) {
				t.Fatalf("err = %v, want %T", err, tt.want)
			}
		})
	}
}

func TestGlueGetPartitions(t *testing.T) {
	ctx := context.Background()
	_, g := glueTestCatalog(t)
	in := glueTestInputs(3, 24) // 72 partitions
	for i := 0; i < len(in); i += 50 {
		out, err := g.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), PartitionInputList: in[i:min(i+50, len(in))]})
		if err != nil || len(out.Errors) != 0 {
			t.Fatalf("create: %v %v", err, out)
		}
	}
	list := func(t *testing.T, expr string, page int32) [][]string {
		t.Helper()
		var got [][]string
		var token *string
		for {
			in := &glue.GetPartitionsInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"), NextToken: token, MaxResults: aws.Int32(page)}
			if expr != "" {
				in.Expression = aws.String(expr)
			}
			out, err := g.GetPartitions(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Partitions) > int(page) {
				t.Fatalf("page of %d, MaxResults %d", len(out.Partitions), page)
			}
			for _, p := range out.Partitions {
				got = append(got, p.Values)
			}
			if out.NextToken == nil {
				return got
			}
			token = out.NextToken
		}
	}
	tests := []struct {
		expr  string
		count int
	}{
		{"", 72},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got := list(t, tt.expr, 7)
			if len(got) != tt.count {
				t.Fatalf("%d partitions, want %d", len(got), tt.count)
			}
			seen := map[string]bool{}
			for _, v := range got {
				if seen[fmt.Sprint(v)] {
					t.Fatalf("partition %v listed twice across pages", v)
				}
				seen[fmt.Sprint(v)] = true
			}
		})
	}
	t.Run("BatchGetReturnsOnlyExisting", func(t *testing.T) {
		out, err := g.BatchGetPartition(ctx, &glue.BatchGetPartitionInput{DatabaseName: aws.String("lake"), TableName: aws.String("raw"),
			PartitionsToGet: []gluetypes.PartitionValueList{{Values: []string{"2026-11-25", "3"}}, {Values: []string{"2030-01-01", "3"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(out.Partitions), 1; got != want {
			t.Fatalf("partitions = %d, want %d", got, want)
		}
		if got, want := aws.ToString(out.Partitions[0].StorageDescriptor.Location), "s3://raw/dt=2026-11-25/hr=03/"; got != want {
			t.Fatalf("location = %q, want %q", got, want)
		}
	})
}

func TestGlueRegionsAreSeparateAndDownIsUnreachable(t *testing.T) {
	ctx := context.Background()
	w, _ := glueTestCatalog(t)
	g2 := w.Region("us-east-2").Glue()
	_, err := g2.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("lake")})
	var nf *gluetypes.EntityNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want EntityNotFoundException: catalogs are not replicated", err)
	}
	w.SetDown("us-east-1", true)
	_, err = w.Region("us-east-1").Glue().GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("lake")})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if got, want := w.CallCount(CallKey{Service: glue.ServiceID, Operation: "GetDatabase"}), 2; got != want {
		t.Fatalf("GetDatabase calls = %d, want %d", got, want)
	}
}

// glueAPI is every Glue method the simulator implements, with the SDK's
// signatures: the SDK client and the simulator must both satisfy it.
type glueAPI interface {
	CreateDatabase(ctx context.Context, in *glue.CreateDatabaseInput, optFns ...func(*glue.Options)) (*glue.CreateDatabaseOutput, error)
	GetDatabase(ctx context.Context, in *glue.GetDatabaseInput, optFns ...func(*glue.Options)) (*glue.GetDatabaseOutput, error)
	CreateTable(ctx context.Context, in *glue.CreateTableInput, optFns ...func(*glue.Options)) (*glue.CreateTableOutput, error)
	GetTable(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
	GetTables(ctx context.Context, in *glue.GetTablesInput, optFns ...func(*glue.Options)) (*glue.GetTablesOutput, error)
	CreatePartition(ctx context.Context, in *glue.CreatePartitionInput, optFns ...func(*glue.Options)) (*glue.CreatePartitionOutput, error)
	BatchCreatePartition(ctx context.Context, in *glue.BatchCreatePartitionInput, optFns ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error)
	GetPartition(ctx context.Context, in *glue.GetPartitionInput, optFns ...func(*glue.Options)) (*glue.GetPartitionOutput, error)
	BatchGetPartition(ctx context.Context, in *glue.BatchGetPartitionInput, optFns ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error)
	GetPartitions(ctx context.Context, in *glue.GetPartitionsInput, optFns ...func(*glue.Options)) (*glue.GetPartitionsOutput, error)
	DeletePartition(ctx context.Context, in *glue.DeletePartitionInput, optFns ...func(*glue.Options)) (*glue.DeletePartitionOutput, error)
}

var (
	_ glueAPI = (*glue.Client)(nil)
	_ glueAPI = (*Glue)(nil)
)
