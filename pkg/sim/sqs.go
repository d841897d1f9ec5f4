package sim

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// SQS is one region's simulated SQS (standard queues). Visibility timeouts,
// delays and long polls run on the world's clock; a message received more
// than maxReceiveCount times moves to the queue's dead-letter queue.
type SQS struct {
	r *Region

	mu     sync.Mutex
	queues map[string]*sqsQueue // by name
	seq    int                  // message ids
	// metricsOn is set once the queue metrics publisher runs
	// (SQSMessagesVisibleMetric).
	metricsOn bool
}

type sqsQueue struct {
	name, url, arn string
	attrs          map[string]string // as set, for GetQueueAttributes and idempotent CreateQueue
	created        time.Time
	visibility     time.Duration
	delay          time.Duration
	wait           time.Duration
	dlqARN         string
	maxReceive     int
	msgs           []*sqsMessage // in send order
	wake           *clock.Signal // fired when a message arrives, for long polls
}

type sqsMessage struct {
	id, body     string
	attrs        map[string]sqstypes.MessageAttributeValue
	sent         time.Time
	visibleAt    time.Time
	receives     int
	firstReceive time.Time
	handle       string // the latest receipt handle; "" until received
}

// SQS limits and defaults from the SQS developer guide.
const (
	sqsMaxBatch          = 10
	sqsMaxBody           = 256 << 10
	sqsDefaultVisibility = 30 * time.Second
	sqsMaxVisibility     = 12 * time.Hour
	sqsMaxWait           = 20 * time.Second
)

// SQS returns the region's SQS.
func (r *Region) SQS() *SQS {
	return r.service(sqs.ServiceID, func() any { return &SQS{r: r, queues: make(map[string]*sqsQueue)} }).(*SQS)
}

func sqsNoQueue() error {
	return &sqstypes.QueueDoesNotExist{Message: aws.String("The specified queue does not exist.")}
}

func sqsInvalidParam(format string, args ...any) error {
	return apiErr("InvalidParameterValue", format, args...)
}

// queue finds a queue by URL; s.mu must be held.
func (s *SQS) queue(url *string) (*sqsQueue, error) {
	u := aws.ToString(url)
	name := u[strings.LastIndexByte(u, '/')+1:]
	q, ok := s.queues[name]
	if !ok || q.url != u {
		return nil, sqsNoQueue()
	}
	return q, nil
}

// QueueURL returns the URL a queue of that name has in the region.
func (s *SQS) QueueURL(name string) string {
	return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", s.r.Name, s.r.world.Account, name)
}

// QueueARN returns the ARN a queue of that name has in the region.
func (s *SQS) QueueARN(name string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", s.r.Name, s.r.world.Account, name)
}

func sqsSeconds(attrs map[string]string, name string, def, max time.Duration) (time.Duration, error) {
	v, ok := attrs[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || time.Duration(n)*time.Second > max {
		return 0, &sqstypes.InvalidAttributeValue{Message: aws.String(fmt.Sprintf("Invalid value for the parameter %s.", name))}
	}
	return time.Duration(n) * time.Second, nil
}

// CreateQueue creates a standard queue. Creating an existing queue with the
// same attributes returns its URL; with different ones, QueueNameExists.
func (s *SQS) CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, optFns ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error) {
	const op = "CreateQueue"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.QueueName)
	if name == "" || len(name) > 80 || strings.ContainsFunc(name, func(c rune) bool {
		return !(c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
	}) {
		return nil, opErr(sqs.ServiceID, op, sqsInvalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"))
	}
	set, err := sqsQueueSettings(in.Attributes)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[name]; ok {
		if !sqsSameAttrs(q.attrs, in.Attributes) {
			return nil, opErr(sqs.ServiceID, op, &sqstypes.QueueNameExists{Message: aws.String("A queue already exists with the same name and a different value for attribute(s)")})
		}
		return &sqs.CreateQueueOutput{QueueUrl: aws.String(q.url)}, nil
	}
	q := &sqsQueue{
		name: name, url: s.QueueURL(name), arn: s.QueueARN(name),
		attrs: glueCopyMap(in.Attributes), created: s.r.world.Clock.Now(),
		visibility: set.visibility, delay: set.delay, wait: set.wait, dlqARN: set.dlqARN, maxReceive: set.maxReceive,
		wake: s.r.world.Clock.NewSignal(),
	}
	s.queues[name] = q
	s.r.registerSink(q.arn, func(body string) { s.deliverSink(name, body) })
	if !s.metricsOn {
		s.metricsOn = true
		s.r.world.goBackground(s.publishMetrics)
	}
	return &sqs.CreateQueueOutput{QueueUrl: aws.String(q.url)}, nil
}

func sqsSameAttrs(a, b map[string]string) bool {
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// deliverSink enqueues a notification (S3 event, SNS envelope) delivered
// through the world's bus. It is not an API call: a queue receives them even
// when nothing polls it.
func (s *SQS) deliverSink(name, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[name]; ok {
		s.enqueueLocked(q, body, nil, 0)
	}
}

// GetQueueUrl returns a queue's URL by name.
func (s *SQS) GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	const op = "GetQueueUrl"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[aws.ToString(in.QueueName)]
	if !ok {
		return nil, opErr(sqs.ServiceID, op, sqsNoQueue())
	}
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String(q.url)}, nil
}

// GetQueueAttributes returns the requested attributes, the approximate
// counts computed at the current virtual time.
func (s *SQS) GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	const op = "GetQueueAttributes"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	now := s.r.world.Clock.Now()
	var visible, inflight, delayed int
	for _, m := range q.msgs {
		switch {
		case !m.visibleAt.After(now):
			visible++
		case m.receives == 0:
			delayed++
		default:
			inflight++
		}
	}
	all := map[string]string{
		"QueueArn":                              q.arn,
		"VisibilityTimeout":                     strconv.Itoa(int(q.visibility / time.Second)),
		"DelaySeconds":                          strconv.Itoa(int(q.delay / time.Second)),
		"ReceiveMessageWaitTimeSeconds":         strconv.Itoa(int(q.wait / time.Second)),
		"MaximumMessageSize":                    strconv.Itoa(sqsMaxBody),
		"MessageRetentionPeriod":                "345600",
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(q.created.Unix(), 10),
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
	}
	if rp, ok := q.attrs["RedrivePolicy"]; ok {
		all["RedrivePolicy"] = rp
	}
	out := &sqs.GetQueueAttributesOutput{Attributes: map[string]string{}}
	for _, n := range in.AttributeNames {
		if n == sqstypes.QueueAttributeNameAll {
			out.Attributes = all
			break
		}
		v, ok := all[string(n)]
		if !ok {
			if _, known := q.attrs[string(n)]; !known {
				continue
			}
			v = q.attrs[string(n)]
		}
		out.Attributes[string(n)] = v
	}
	return out, nil
}

func sqsMD5(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// enqueueLocked appends a message; s.mu must be held.
func (s *SQS) enqueueLocked(q *sqsQueue, body string, attrs map[string]sqstypes.MessageAttributeValue, delay time.Duration) *sqsMessage {
	s.seq++
	now := s.r.world.Clock.Now()
	if delay == 0 {
		delay = q.delay
	}
	m := &sqsMessage{
		id:   fmt.Sprintf("%08x-0000-4000-8000-%012x", s.seq, s.seq),
		body: body, attrs: attrs, sent: now, visibleAt: now.Add(delay),
	}
	q.msgs = append(q.msgs, m)
	q.wake.Fire()
	q.wake = s.r.world.Clock.NewSignal()
	return m
}

func sqsCheckBody(body string) error {
	if body == "" || len(body) > sqsMaxBody {
		return sqsInvalidParam("Message must be between 1 and %d bytes long.", sqsMaxBody)
	}
	return nil
}

// SendMessage enqueues one message.
func (s *SQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	const op = "SendMessage"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	body := aws.ToString(in.MessageBody)
	if err := sqsCheckBody(body); err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	if in.DelaySeconds < 0 || in.DelaySeconds > 900 {
		return nil, opErr(sqs.ServiceID, op, sqsInvalidParam("Value %d for parameter DelaySeconds is invalid.", in.DelaySeconds))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	m := s.enqueueLocked(q, body, in.MessageAttributes, time.Duration(in.DelaySeconds)*time.Second)
	return &sqs.SendMessageOutput{MessageId: aws.String(m.id), MD5OfMessageBody: aws.String(sqsMD5(body))}, nil
}

// sqsCheckBatchIDs applies the batch rules shared by the batch calls.
func sqsCheckBatchIDs(ids []string) error {
	switch {
	case len(ids) == 0:
		return &sqstypes.EmptyBatchRequest{Message: aws.String("There should be at least one SendMessageBatchRequestEntry in the request.")}
	case len(ids) > sqsMaxBatch:
		return &sqstypes.TooManyEntriesInBatchRequest{Message: aws.String(fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", sqsMaxBatch, len(ids)))}
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" || len(id) > 80 {
			return &sqstypes.InvalidBatchEntryId{Message: aws.String("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")}
		}
		if seen[id] {
			return &sqstypes.BatchEntryIdsNotDistinct{Message: aws.String(fmt.Sprintf("Id %s repeated.", id))}
		}
		seen[id] = true
	}
	return nil
}

// SendMessageBatch enqueues up to 10 messages; an entry with a bad body fails
// alone, in Failed.
func (s *SQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	const op = "SendMessageBatch"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = aws.ToString(e.Id)
	}
	if err := sqsCheckBatchIDs(ids); err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		body := aws.ToString(e.MessageBody)
		if err := sqsCheckBody(body); err != nil || e.DelaySeconds < 0 || e.DelaySeconds > 900 {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidParameterValue"), SenderFault: true, Message: aws.String("Invalid message body or delay.")})
			continue
		}
		m := s.enqueueLocked(q, body, e.MessageAttributes, time.Duration(e.DelaySeconds)*time.Second)
		out.Successful = append(out.Successful, sqstypes.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String(m.id), MD5OfMessageBody: aws.String(sqsMD5(body))})
	}
	return out, nil
}

// ReceiveMessage returns up to MaxNumberOfMessages visible messages, hiding
// each for the visibility timeout. With WaitTimeSeconds it long-polls on the
// world's clock until a message is visible or the wait ends. Messages over
// the redrive policy's maxReceiveCount move to the dead-letter queue instead.
func (s *SQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	const op = "ReceiveMessage"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	max := int(in.MaxNumberOfMessages)
	if max == 0 {
		max = 1
	}
	if max < 1 || max > sqsMaxBatch {
		return nil, opErr(sqs.ServiceID, op, sqsInvalidParam("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", in.MaxNumberOfMessages))
	}
	if in.WaitTimeSeconds < 0 || time.Duration(in.WaitTimeSeconds)*time.Second > sqsMaxWait {
		return nil, opErr(sqs.ServiceID, op, sqsInvalidParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", in.WaitTimeSeconds))
	}
	if in.VisibilityTimeout < 0 || time.Duration(in.VisibilityTimeout)*time.Second > sqsMaxVisibility {
		return nil, opErr(sqs.ServiceID, op, sqsInvalidParam("Value %d for parameter VisibilityTimeout is invalid.", in.VisibilityTimeout))
	}
	want := map[string]bool{}
	for _, n := range in.MessageSystemAttributeNames {
		want[string(n)] = true
	}
	for _, n := range in.AttributeNames {
		want[string(n)] = true
	}
	clk := s.r.world.Clock
	s.mu.Lock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		s.mu.Unlock()
		return nil, opErr(sqs.ServiceID, op, err)
	}
	wait := q.wait
	if in.WaitTimeSeconds > 0 {
		wait = time.Duration(in.WaitTimeSeconds) * time.Second
	}
	vis := q.visibility
	if in.VisibilityTimeout > 0 {
		vis = time.Duration(in.VisibilityTimeout) * time.Second
	}
	deadline := clk.Now().Add(wait)
	for {
		msgs, next := s.receiveLocked(q, max, vis, want)
		if len(msgs) > 0 {
			s.mu.Unlock()
			return &sqs.ReceiveMessageOutput{Messages: msgs}, nil
		}
		now := clk.Now()
		if !now.Before(deadline) {
			s.mu.Unlock()
			return &sqs.ReceiveMessageOutput{}, nil
		}
		// Sleep until a message arrives, one becomes visible, or the wait ends.
		d := deadline.Sub(now)
		if !next.IsZero() && next.Sub(now) < d {
			d = next.Sub(now)
		}
		sig := q.wake
		s.mu.Unlock()
		if err := clk.Await(ctx, sig, d); err != nil && err != clock.ErrTimeout {
			return nil, opErr(sqs.ServiceID, op, err)
		}
		s.mu.Lock()
	}
}

// receiveLocked takes up to max visible messages; it also reports when the
// earliest hidden message becomes visible (zero if none). s.mu must be held.
func (s *SQS) receiveLocked(q *sqsQueue, max int, vis time.Duration, want map[string]bool) ([]sqstypes.Message, time.Time) {
	now := s.r.world.Clock.Now()
	var out []sqstypes.Message
	var next time.Time
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if m.visibleAt.After(now) || len(out) >= max {
			if m.visibleAt.After(now) && (next.IsZero() || m.visibleAt.Before(next)) {
				next = m.visibleAt
			}
			kept = append(kept, m)
			continue
		}
		if q.maxReceive > 0 && m.receives >= q.maxReceive {
			if dlq := s.queueByARN(q.dlqARN); dlq != nil {
				// Redrive keeps the message id and sent time; the count restarts.
				m.receives, m.handle, m.visibleAt = 0, "", now
				dlq.msgs = append(dlq.msgs, m)
				dlq.wake.Fire()
				dlq.wake = s.r.world.Clock.NewSignal()
				continue
			}
		}
		m.receives++
		if m.receives == 1 {
			m.firstReceive = now
		}
		m.visibleAt = now.Add(vis)
		m.handle = fmt.Sprintf("%s#%d#%s", q.name, m.receives, m.id)
		out = append(out, s.messageOut(m, want))
		kept = append(kept, m)
	}
	clear(q.msgs[len(kept):])
	q.msgs = kept
	return out, next
}

func (s *SQS) queueByARN(arn string) *sqsQueue {
	for _, q := range s.queues {
		if q.arn == arn {
			return q
		}
	}
	return nil
}

func (s *SQS) messageOut(m *sqsMessage, want map[string]bool) sqstypes.Message {
	all := want["All"]
	attrs := map[string]string{}
	add := func(name, v string) {
		if all || want[name] {
			attrs[name] = v
		}
	}
	add("ApproximateReceiveCount", strconv.Itoa(m.receives))
	add("SentTimestamp", strconv.FormatInt(m.sent.UnixMilli(), 10))
	add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(m.firstReceive.UnixMilli(), 10))
	add("SenderId", s.r.world.Account)
	out := sqstypes.Message{
		MessageId: aws.String(m.id), ReceiptHandle: aws.String(m.handle),
		Body: aws.String(m.body), MD5OfBody: aws.String(sqsMD5(m.body)),
		MessageAttributes: m.attrs,
	}
	if len(attrs) > 0 {
		out.Attributes = attrs
	}
	return out
}

// findHandleLocked resolves a receipt handle to its message. stale is true
// when the handle is well-formed but not the message's latest one (or the
// message is gone); s.mu must be held.
func (s *SQS) findHandleLocked(q *sqsQueue, handle string) (idx int, stale bool, err error) {
	parts := strings.Split(handle, "#")
	if len(parts) != 3 || parts[0] != q.name {
		return -1, false, &sqstypes.ReceiptHandleIsInvalid{Message: aws.String(fmt.Sprintf("The input receipt handle \"%s\" is not a valid receipt handle.", handle))}
	}
	for i, m := range q.msgs {
		if m.id == parts[2] {
			return i, m.handle != handle, nil
		}
	}
	return -1, true, nil
}

// DeleteMessage deletes a received message. As in SQS, deleting with a
// receipt handle that is no longer the latest (the message was received
// again) succeeds without deleting, and deleting twice succeeds.
func (s *SQS) DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	const op = "DeleteMessage"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	if err := s.deleteLocked(q, aws.ToString(in.ReceiptHandle)); err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	return &sqs.DeleteMessageOutput{}, nil
}

func (s *SQS) deleteLocked(q *sqsQueue, handle string) error {
	i, stale, err := s.findHandleLocked(q, handle)
	if err != nil || stale {
		return err
	}
	q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
	return nil
}

// DeleteMessageBatch deletes up to 10 received messages.
func (s *SQS) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	const op = "DeleteMessageBatch"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = aws.ToString(e.Id)
	}
	if err := sqsCheckBatchIDs(ids); err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		if err := s.deleteLocked(q, aws.ToString(e.ReceiptHandle)); err != nil {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("ReceiptHandleIsInvalid"), SenderFault: true, Message: aws.String(err.Error())})
			continue
		}
		out.Successful = append(out.Successful, sqstypes.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// ChangeMessageVisibility sets a received message's remaining visibility
// timeout, counted from now; 0 makes it visible at once.
func (s *SQS) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	const op = "ChangeMessageVisibility"
	if err := s.r.call(ctx, sqs.ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.VisibilityTimeout < 0 || time.Duration(in.VisibilityTimeout)*time.Second > sqsMaxVisibility {
		return nil, opErr(sqs.ServiceID, op, sqsInvalidParam("Value %d for parameter VisibilityTimeout is invalid.", in.VisibilityTimeout))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queue(in.QueueUrl)
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	i, stale, err := s.findHandleLocked(q, aws.ToString(in.ReceiptHandle))
	if err != nil {
		return nil, opErr(sqs.ServiceID, op, err)
	}
	now := s.r.world.Clock.Now()
	if stale || !q.msgs[i].visibleAt.After(now) {
		return nil, opErr(sqs.ServiceID, op, &sqstypes.MessageNotInflight{Message: aws.String("Message is not in flight.")})
	}
	q.msgs[i].visibleAt = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
	if in.VisibilityTimeout == 0 {
		q.wake.Fire()
		q.wake = s.r.world.Clock.NewSignal()
	}
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

// SQSPollResult is what one poll of an event-source mapping did.
type SQSPollResult struct {
	Received int // messages handed to the function
	Deleted  int // messages deleted after the function succeeded for them
	Failed   int // messages left for redelivery
}

// SQSHandler is a Lambda function handler for SQS events with partial batch
// responses (ReportBatchItemFailures).
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// PollOnce does what a Lambda SQS event-source mapping with
// ReportBatchItemFailures does for one batch: receive up to batchSize
// messages (long-polling up to 20 s), invoke handler with the
// aws-lambda-go event, delete the messages that did not fail and leave the
// failed ones to reappear after their visibility timeout. A handler error
// fails the whole batch; so does a batch item failure naming a message that
// was not in the batch, as Lambda does.
func (s *SQS) PollOnce(ctx context.Context, queueURL string, batchSize int, handler SQSHandler) (SQSPollResult, error) {
	var res SQSPollResult
	batchSize = max(1, min(batchSize, sqsMaxBatch))
	// The poller's own calls are timed by its long polling, unmetered;
	// the handler's calls are its own.
	out, err := s.ReceiveMessage(Unmetered(ctx), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL), MaxNumberOfMessages: int32(batchSize), WaitTimeSeconds: int32(sqsMaxWait / time.Second),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil || len(out.Messages) == 0 {
		return res, err
	}
	res.Received = len(out.Messages)
	queueARN := s.QueueARN(queueURL[strings.LastIndexByte(queueURL, '/')+1:])
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
	for i, m := range out.Messages {
		rec := events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes,
			EventSource: "aws:sqs", EventSourceARN: queueARN, AWSRegion: s.r.Name,
		}
		if len(m.MessageAttributes) > 0 {
			rec.MessageAttributes = make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
			for k, a := range m.MessageAttributes {
				rec.MessageAttributes[k] = events.SQSMessageAttribute{
					StringValue: a.StringValue, BinaryValue: a.BinaryValue, StringListValues: a.StringListValues,
					BinaryListValues: a.BinaryListValues, DataType: aws.ToString(a.DataType),
				}
			}
		}
		ev.Records[i] = rec
	}
	resp, herr := handler(ctx, ev)
	failed := map[string]bool{}
	if herr == nil {
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for id := range failed {
			found := false
			for _, r := range ev.Records {
				found = found || r.MessageId == id
			}
			if !found { // Lambda treats an unknown identifier as a failed batch
				herr = fmt.Errorf("batch item failure names unknown message %q", id)
			}
		}
	}
	if herr != nil {
		res.Failed = res.Received
		return res, nil
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, r := range ev.Records {
		if failed[r.MessageId] {
			res.Failed++
			continue
		}
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
	}
	if len(del) > 0 {
		dout, err := s.DeleteMessageBatch(Unmetered(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: del})
		if err != nil {
			return res, fmt.Errorf("delete processed messages: %w", err)
		}
		res.Deleted = len(dout.Successful)
	}
	return res, nil
}

// Poll runs an event-source mapping until ctx is done: PollOnce in a loop,
// backing off 5 s of clock time after an error (a region down, a throttle),
// as the Lambda poller does. Start it with the world clock's Go. It returns
// ctx's error.
func (s *SQS) Poll(ctx context.Context, queueURL string, batchSize int, handler SQSHandler) error {
	for ctx.Err() == nil {
		res, err := s.PollOnce(ctx, queueURL, batchSize, handler)
		if err != nil || res.Failed > 0 {
			// Failed messages reappear after their visibility timeout; an error
			// backs off before the next poll.
			if err := s.r.world.Clock.Sleep(ctx, 5*time.Second); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// SQSMessagesVisibleMetric is the queue metric the simulator publishes:
// SQS sends its queues' metrics to CloudWatch every minute (namespace
// AWS/SQS, dimension QueueName); ApproximateNumberOfMessagesVisible is how
// many messages are available to receive (docs/aws-facts.md "SQS"). SQS
// stops sending the metrics of a queue inactive for six hours; the
// simulator sends them for every queue, which an alarm that treats missing
// data as not breaching reads the same way.
const SQSMessagesVisibleMetric = "ApproximateNumberOfMessagesVisible"

// publishMetrics publishes every queue's visible messages each minute, on
// the minute, until the world closes.
func (s *SQS) publishMetrics(ctx context.Context) {
	clk := s.r.world.Clock
	for {
		now := clk.Now()
		if err := clk.Sleep(ctx, now.Truncate(time.Minute).Add(time.Minute).Sub(now)); err != nil {
			return
		}
		if s.r.world.Down(s.r.Name) {
			continue
		}
		now = clk.Now()
		visible := map[string]int{}
		s.mu.Lock()
		for name, q := range s.queues {
			n := 0
			for _, m := range q.msgs {
				if !m.visibleAt.After(now) {
					n++
				}
			}
			visible[name] = n
		}
		s.mu.Unlock()
		cw := s.r.CloudWatch()
		for name, n := range visible {
			cw.publishServiceMetric("AWS/SQS", SQSMessagesVisibleMetric, []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(name)}}, now, float64(n))
		}
	}
}
