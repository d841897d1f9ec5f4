package sim

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsRedrive reads a RedrivePolicy attribute: the dead-letter queue's ARN
// and maxReceiveCount (1–1,000), or none.
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
func sqsRedrive(attrs map[string]string) (dlqARN string, maxReceive int, err error) {
	rp, ok := attrs["RedrivePolicy"]
	if !ok || rp == "" {
		return "", 0, nil
	}
	var p struct {
		DeadLetterTargetArn string
		MaxReceiveCount     json.RawMessage
	}
	if err := json.Unmarshal([]byte(rp), &p); err != nil || p.DeadLetterTargetArn == "" {
		return "", 0, &sqstypes.InvalidAttributeValue{Message: aws.String("Value for parameter RedrivePolicy is invalid.")}
	}
	// maxReceiveCount is a number or a numeric string in the JSON.
	n, err := strconv.Atoi(strings.Trim(string(p.MaxReceiveCount), `"`))
	if err != nil || n < 1 || n > 1000 {
		return "", 0, &sqstypes.InvalidAttributeValue{Message: aws.String("Value for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount.")}
	}
	return p.DeadLetterTargetArn, n, nil
}

// sqsSettings are the attributes that change a queue's behaviour.
type sqsSettings struct {
	visibility, delay, wait time.Duration
	dlqARN                  string
	maxReceive              int
}

// sqsQueueSettings reads and checks them from a queue's attributes, as
// CreateQueue and SetQueueAttributes take them.
func sqsQueueSettings(attrs map[string]string) (sqsSettings, error) {
	var set sqsSettings
	var err error
	if set.visibility, err = sqsSeconds(attrs, "VisibilityTimeout", sqsDefaultVisibility, sqsMaxVisibility); err != nil {
		return set, err
	}
	if set.delay, err = sqsSeconds(attrs, "DelaySeconds", 0, 15*time.Minute); err != nil {
		return set, err
	}
	if set.wait, err = sqsSeconds(attrs, "ReceiveMessageWaitTimeSeconds", 0, sqsMaxWait); err != nil {
		return set, err
	}
	set.dlqARN, set.maxReceive, err = sqsRedrive(attrs)
	return set, err
}

// SetQueueAttributes changes a queue's attributes (visibility timeout,
// delay, wait time, redrive policy, policy and the rest as given).
func (s *SQS) SetQueueAttributes(ctx context.Context, in *sqs.SetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.SetQueueAttributesOutput, error) {
	const op = "SetQueueAttributes"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	merged := glueCopyMap(q.attrs)
	for k, v := range in.Attributes {
		merged[k] = v
	}
	set, err := sqsQueueSettings(merged)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	if p, ok := in.Attributes["Policy"]; ok && p != "" {
		if _, err := ParseResourcePolicy([]byte(p)); err != nil {
			return nil, opErr(sqs.ServiceID, op, &sqstypes.InvalidAttributeValue{Message: aws.String("Invalid value for the parameter Policy.")})
		}
	}
	q.attrs, q.visibility, q.delay, q.wait, q.dlqARN, q.maxReceive = merged, set.visibility, set.delay, set.wait, set.dlqARN, set.maxReceive
	return &sqs.SetQueueAttributesOutput{}, nil
}

// DeleteQueue deletes a queue and its messages.
func (s *SQS) DeleteQueue(ctx context.Context, in *sqs.DeleteQueueInput, optFns ...func(*sqs.Options)) (*sqs.DeleteQueueOutput, error) {
	const op = "DeleteQueue"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	delete(s.queues, q.name)
	return &sqs.DeleteQueueOutput{}, nil
}
