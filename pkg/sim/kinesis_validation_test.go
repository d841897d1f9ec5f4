package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

func kinesisErrCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestKinesisExplicitHashKeyValidation checks the two ways an explicit hash
// key is refused: off the documented pattern 0|([1-9]\d{0,38}) at request
// validation, and on it but 2^128 or more as an invalid argument.
func TestKinesisExplicitHashKeyValidation(t *testing.T) {
	_, _, k := kinesisTestStream(t)
	ctx := context.Background()
	two128 := "340282366920938463463374607431768211456"
	for _, tc := range []struct {
		key, want string
	}{
		{"-1", "ValidationException"},
		{"007", "ValidationException"},
		{"12a", "ValidationException"},
		{"", "ValidationException"},
		{"1" + strings.Repeat("0", 39), "ValidationException"}, // 40 digits
		{two128, "InvalidArgumentException"},
		{strings.Repeat("9", 39), "InvalidArgumentException"},
		{"340282366920938463463374607431768211455", ""}, // 2^128-1
		{"0", ""},
	} {
		_, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ingest"), PartitionKey: aws.String("p"),
			Data: []byte("x"), ExplicitHashKey: aws.String(tc.key)})
		if got, want := kinesisErrCode(err), tc.want; got != want {
			t.Fatalf("PutRecord ExplicitHashKey %q: code %q (%v), want %q", tc.key, got, err, want)
		}
		_, err = k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: []kinesistypes.PutRecordsRequestEntry{
			{PartitionKey: aws.String("p"), Data: []byte("x")},
			{PartitionKey: aws.String("p"), Data: []byte("x"), ExplicitHashKey: aws.String(tc.key)},
		}})
		if got, want := kinesisErrCode(err), tc.want; got != want {
			t.Fatalf("PutRecords ExplicitHashKey %q: code %q (%v), want %q", tc.key, got, err, want)
		}
	}
	_, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ingest"), PartitionKey: aws.String("p"),
		Data: []byte("x"), SequenceNumberForOrdering: aws.String("01")})
	if got, want := kinesisErrCode(err), "ValidationException"; got != want {
		t.Fatalf("PutRecord SequenceNumberForOrdering 01: code %q (%v), want %q", got, err, want)
	}
}

// TestKinesisPutRecordsOutOfRangeWritesNothing checks that a PutRecords
// refused for an out-of-range hash key wrote none of its records: the
// service fails the call whole, so a caller's retry must not duplicate.
func TestKinesisPutRecordsOutOfRangeWritesNothing(t *testing.T) {
	_, _, k := kinesisTestStream(t)
	ctx := context.Background()
	_, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: []kinesistypes.PutRecordsRequestEntry{
		{PartitionKey: aws.String("p"), Data: []byte("x"), ExplicitHashKey: aws.String("0")},
		{PartitionKey: aws.String("p"), Data: []byte("x"), ExplicitHashKey: aws.String(strings.Repeat("9", 39))},
	}})
	if got, want := kinesisErrCode(err), "InvalidArgumentException"; got != want {
		t.Fatalf("PutRecords: code %q (%v), want %q", got, err, want)
	}
	it, err := k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("ingest"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(out.Records), 0; got != want {
		t.Fatalf("records written by the refused call = %d, want %d", got, want)
	}
}

// TestKinesisGetShardIteratorValidation checks StartingSequenceNumber's
// pattern, a sequence number with TRIM_HORIZON/LATEST, and AT_TIMESTAMP
// in the future.
func TestKinesisGetShardIteratorValidation(t *testing.T) {
	_, clk, k := kinesisTestStream(t)
	ctx := context.Background()
	put := kinesisTestPut(t, k, []string{"p"})[0]
	shard, seq := put.ShardId, aws.ToString(put.SequenceNumber)
	future := clk.Now().Add(time.Second)
	now := clk.Now()
	for _, tc := range []struct {
		name string
		in   kinesis.GetShardIteratorInput
		want string
	}{
		{"sequence off pattern", kinesis.GetShardIteratorInput{ShardIteratorType: kinesistypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("49x")}, "ValidationException"},
		{"sequence with leading zero", kinesis.GetShardIteratorInput{ShardIteratorType: kinesistypes.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String("0" + seq)}, "ValidationException"},
		{"sequence too long", kinesis.GetShardIteratorInput{ShardIteratorType: kinesistypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("1" + strings.Repeat("0", 129))}, "ValidationException"},
		{"sequence of no record", kinesis.GetShardIteratorInput{ShardIteratorType: kinesistypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("12345")}, "InvalidArgumentException"},
		{"sequence with TRIM_HORIZON", kinesis.GetShardIteratorInput{ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon, StartingSequenceNumber: aws.String(seq)}, "InvalidArgumentException"},
		{"timestamp in the future", kinesis.GetShardIteratorInput{ShardIteratorType: kinesistypes.ShardIteratorTypeAtTimestamp, Timestamp: &future}, "InvalidArgumentException"},
		{"timestamp now", kinesis.GetShardIteratorInput{ShardIteratorType: kinesistypes.ShardIteratorTypeAtTimestamp, Timestamp: &now}, ""},
		{"sequence", kinesis.GetShardIteratorInput{ShardIteratorType: kinesistypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(seq)}, ""},
	} {
		in := tc.in
		in.StreamName, in.ShardId = aws.String("ingest"), shard
		_, err := k.GetShardIterator(ctx, &in)
		if got, want := kinesisErrCode(err), tc.want; got != want {
			t.Fatalf("%s: code %q (%v), want %q", tc.name, got, err, want)
		}
	}
}
