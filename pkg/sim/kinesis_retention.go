package sim

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Retention bounds: 24 hours to 365 days (8,760 hours).
// https://docs.aws.amazon.com/kinesis/latest/APIReference/API_IncreaseStreamRetentionPeriod.html
const kinesisMaxRetention = 8760 * time.Hour

// IncreaseStreamRetentionPeriod lengthens how long the stream keeps
// records. A value below the current retention is InvalidArgumentException.
func (k *Kinesis) IncreaseStreamRetentionPeriod(ctx context.Context, in *kinesis.IncreaseStreamRetentionPeriodInput, optFns ...func(*kinesis.Options)) (*kinesis.IncreaseStreamRetentionPeriodOutput, error) {
	const op = "IncreaseStreamRetentionPeriod"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	if err := k.changeRetention(kinesisStreamName(in.StreamName, in.StreamARN), time.Duration(aws.ToInt32(in.RetentionPeriodHours))*time.Hour, +1); err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	return &kinesis.IncreaseStreamRetentionPeriodOutput{}, nil
}

// DecreaseStreamRetentionPeriod shortens how long the stream keeps
// records. A value above the current retention is InvalidArgumentException.
func (k *Kinesis) DecreaseStreamRetentionPeriod(ctx context.Context, in *kinesis.DecreaseStreamRetentionPeriodInput, optFns ...func(*kinesis.Options)) (*kinesis.DecreaseStreamRetentionPeriodOutput, error) {
	const op = "DecreaseStreamRetentionPeriod"
	if err := k.r.call(ctx, kinesis.ServiceID, op, in); err != nil {
		return nil, err
	}
	if err := k.changeRetention(kinesisStreamName(in.StreamName, in.StreamARN), time.Duration(aws.ToInt32(in.RetentionPeriodHours))*time.Hour, -1); err != nil {
		return nil, opErr(kinesis.ServiceID, op, err)
	}
	return &kinesis.DecreaseStreamRetentionPeriodOutput{}, nil
}

// changeRetention sets an ACTIVE stream's retention; dir is +1 for an
// increase, -1 for a decrease.
func (k *Kinesis) changeRetention(name string, d time.Duration, dir int) error {
	if d < kinesisRetention || d > kinesisMaxRetention {
		return &kinesistypes.InvalidArgumentException{Message: aws.String("Minimum allowed retention period is 24 hours. Maximum allowed retention period is 8760 hours.")}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.stream(name, true)
	if err != nil {
		return err
	}
	cur := s.retentionOf()
	if (dir > 0 && d < cur) || (dir < 0 && d > cur) {
		verb := "increase"
		if dir < 0 {
			verb = "decrease"
		}
		return &kinesistypes.InvalidArgumentException{Message: aws.String("Requested retention period (" + d.String() + ") for stream " + name + " can not be used to " + verb + " the current retention period (" + cur.String() + ")")}
	}
	s.retention = d
	return nil
}
