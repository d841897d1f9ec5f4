package partition

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// PartitionReader is the part of the Glue API Missing uses. *glue.Client and
// the simulator satisfy it.
type PartitionReader interface {
	BatchGetPartition(ctx context.Context, in *glue.BatchGetPartitionInput, optFns ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error)
}

// MaxBatchGet is the most partitions one BatchGetPartition call accepts.
const MaxBatchGet = 1000

// maxUnprocessedRounds bounds how often Missing asks again for the keys Glue
// left unprocessed before giving up.
const maxUnprocessedRounds = 5

// Missing returns the distinct partitions of ps, in first-seen order, that
// table t of database lacks, reading MaxBatchGet per BatchGetPartition call.
// It changes nothing, so a drill can check catalog completeness without
// touching it. Keys Glue leaves unprocessed are asked for again; if some are
// still unprocessed after a few rounds, Missing fails rather than guess.
func Missing(ctx context.Context, reader PartitionReader, database string, t Table, ps []Partition) ([]Partition, error) {
	seen := make(map[Partition]bool, len(ps))
	var distinct []Partition
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			distinct = append(distinct, p)
		}
	}
	found := make(map[Partition]bool, len(distinct))
	for start := 0; start < len(distinct); start += MaxBatchGet {
		chunk := distinct[start:min(start+MaxBatchGet, len(distinct))]
		keys := make([]types.PartitionValueList, len(chunk))
		for i, p := range chunk {
			keys[i] = types.PartitionValueList{Values: p.Values()}
		}
		for round := 0; len(keys) > 0; round++ {
			if round == maxUnprocessedRounds {
				return nil, fmt.Errorf("read partitions of %s.%s: %d keys still unprocessed after %d rounds", database, t.Name, len(keys), round)
			}
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read partitions of %s.%s: %w", database, t.Name, err)
			}
			out, err := reader.BatchGetPartition(ctx, &glue.BatchGetPartitionInput{
				DatabaseName: aws.String(database), TableName: aws.String(t.Name), PartitionsToGet: keys,
			})
			if err != nil {
				return nil, fmt.Errorf("read partitions of %s.%s: %w", database, t.Name, err)
			}
			for _, gp := range out.Partitions {
				if len(gp.Values) == 2 {
					found[Partition{DT: gp.Values[0], HR: gp.Values[1]}] = true
				}
			}
			keys = out.UnprocessedKeys
		}
	}
	var missing []Partition
	for _, p := range distinct {
		if !found[p] {
			missing = append(missing, p)
		}
	}
	return missing, nil
}
