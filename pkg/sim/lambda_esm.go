package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// lambdaESM is one event-source mapping. Its poller runs in a goroutine on
// the world's clock while it is enabled, with the function's execution role
// as its identity (Lambda polls with the function's role:
// https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions).
//
// SQS: polled as Lambda does (long polls of up to 10 messages, gathered
// into batches of BatchSize for up to MaximumBatchingWindowInSeconds),
// invoked with the SQS event; messages are deleted when the invocation
// succeeds, all of them or, with ReportBatchItemFailures, those not named
// in batchItemFailures; the others reappear after the visibility timeout,
// and the queue's redrive policy moves them on. One poller per mapping (no
// scaling to concurrent batches).
//
// Kinesis: KinesisESM (in order per shard, ParallelizationFactor 1 whatever
// is set; no batching window). MaximumRetryAttempts -1 retries until the
// records expire; Lambda's 0 (no retry) is run as 1 retry, the fewest
// KinesisESM has. Disabling a mapping forgets its position: enabled again,
// it starts at its StartingPosition.
type lambdaESM struct {
	cfg    lambdatypes.EventSourceMappingConfiguration
	fnName string
	kind   string // "sqs" or "kinesis"
	source string // the queue or stream name
	stop   context.CancelFunc
}

// Event-source mapping limits and defaults from the CreateEventSourceMapping
// reference (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html).
const (
	esmSQSDefaultBatch     = 10
	esmKinesisDefaultBatch = 100
	esmMaxBatch            = 10000
	esmMaxWindow           = 300
)

func esmNotFound() error {
	return &lambdatypes.ResourceNotFoundException{Type: aws.String("User"), Message: aws.String("The resource you requested does not exist.")}
}

// CreateEventSourceMapping maps an SQS queue or a Kinesis stream of the
// region to a function; enabled (the default), it starts polling at once.
func (l *Lambda) CreateEventSourceMapping(ctx context.Context, in *lambda.CreateEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.CreateEventSourceMappingOutput, error) {
	const op = "CreateEventSourceMapping"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	src := aws.ToString(in.EventSourceArn)
	f := strings.Split(src, ":")
	m := &lambdaESM{}
	switch {
	case len(f) == 6 && f[2] == "sqs" && f[3] == l.r.Name:
		m.kind, m.source = "sqs", f[5]
	case len(f) == 6 && f[2] == "kinesis" && f[3] == l.r.Name && strings.HasPrefix(f[5], "stream/"):
		m.kind, m.source = "kinesis", strings.TrimPrefix(f[5], "stream/")
	default:
		return nil, opErr(lambda.ServiceID, op, lambdaInvalid("Unrecognized event source, must be an SQS queue or a Kinesis stream of %s: %s", l.r.Name, src))
	}
	c := lambdatypes.EventSourceMappingConfiguration{
		EventSourceArn: aws.String(src), BatchSize: in.BatchSize, MaximumBatchingWindowInSeconds: in.MaximumBatchingWindowInSeconds,
		FunctionResponseTypes: in.FunctionResponseTypes, StartingPosition: in.StartingPosition,
		BisectBatchOnFunctionError: in.BisectBatchOnFunctionError, MaximumRetryAttempts: in.MaximumRetryAttempts,
		MaximumRecordAgeInSeconds: in.MaximumRecordAgeInSeconds, ParallelizationFactor: in.ParallelizationFactor,
		DestinationConfig: in.DestinationConfig,
	}
	if err := esmValidate(m.kind, &c); err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), "")
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	for _, other := range l.mappings {
		if other.fnName == fn.cfg.Name && aws.ToString(other.cfg.EventSourceArn) == src {
			return nil, opErr(lambda.ServiceID, op, &lambdatypes.ResourceConflictException{Type: aws.String("User"), Message: aws.String(fmt.Sprintf(
				"An event source mapping with %s arn (\" %s \") and function (\" %s \") already exists. Please update or delete the existing mapping with UUID %s",
				m.kind, src, fn.cfg.Name, aws.ToString(other.cfg.UUID)))})
		}
	}
	l.seq++
	uuid := fmt.Sprintf("%08x-3333-4000-8000-%012x", l.seq, l.seq)
	now := l.r.world.Clock.Now()
	c.UUID, c.FunctionArn, c.LastModified = aws.String(uuid), aws.String(fn.cfg.ARN), &now
	c.EventSourceMappingArn = aws.String(fmt.Sprintf("arn:aws:lambda:%s:%s:event-source-mapping:%s", l.r.Name, l.r.world.Account, uuid))
	c.StateTransitionReason = aws.String("USER_INITIATED")
	c.LastProcessingResult = aws.String("No records processed")
	m.cfg, m.fnName = c, fn.cfg.Name
	l.mappings[uuid] = m
	enabled := in.Enabled == nil || *in.Enabled
	m.setEnabledLocked(l, enabled)
	out := m.cfg
	out.State = aws.String("Creating")
	return &lambda.CreateEventSourceMappingOutput{
		UUID: out.UUID, EventSourceArn: out.EventSourceArn, EventSourceMappingArn: out.EventSourceMappingArn, FunctionArn: out.FunctionArn,
		BatchSize: out.BatchSize, MaximumBatchingWindowInSeconds: out.MaximumBatchingWindowInSeconds, FunctionResponseTypes: out.FunctionResponseTypes,
		StartingPosition: out.StartingPosition, BisectBatchOnFunctionError: out.BisectBatchOnFunctionError, MaximumRetryAttempts: out.MaximumRetryAttempts,
		MaximumRecordAgeInSeconds: out.MaximumRecordAgeInSeconds, ParallelizationFactor: out.ParallelizationFactor, DestinationConfig: out.DestinationConfig,
		State: out.State, StateTransitionReason: out.StateTransitionReason, LastModified: out.LastModified, LastProcessingResult: out.LastProcessingResult,
	}, nil
}

// esmValidate fills the defaults of a mapping's settings and checks them
// against the event source's rules.
func esmValidate(kind string, c *lambdatypes.EventSourceMappingConfiguration) error {
	def := int32(esmSQSDefaultBatch)
	if kind == "kinesis" {
		def = esmKinesisDefaultBatch
	}
	if c.BatchSize == nil {
		c.BatchSize = aws.Int32(def)
	}
	if c.MaximumBatchingWindowInSeconds == nil {
		c.MaximumBatchingWindowInSeconds = aws.Int32(0)
	}
	switch b, w := *c.BatchSize, *c.MaximumBatchingWindowInSeconds; {
	case b < 1 || b > esmMaxBatch:
		return lambdaInvalid("1 validation error detected: Value '%d' at 'batchSize' failed to satisfy constraint: Member must have value between 1 and %d", b, esmMaxBatch)
	case w < 0 || w > esmMaxWindow:
		return lambdaInvalid("1 validation error detected: Value '%d' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value between 0 and %d", w, esmMaxWindow)
	case kind == "sqs" && b > 10 && w < 1:
		return lambdaInvalid("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
	}
	for _, t := range c.FunctionResponseTypes {
		if t != lambdatypes.FunctionResponseTypeReportBatchItemFailures {
			return lambdaInvalid("1 validation error detected: Value '[%s]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy enum value set: [ReportBatchItemFailures]", t)
		}
	}
	if kind == "sqs" {
		switch {
		case c.StartingPosition != "":
			return lambdaInvalid("Unsupported starting position for given event source mapping type.")
		case c.DestinationConfig != nil:
			return lambdaInvalid("Unsupported DestinationConfig parameter for given event source mapping type.")
		case c.MaximumRetryAttempts != nil || c.MaximumRecordAgeInSeconds != nil || c.BisectBatchOnFunctionError != nil || c.ParallelizationFactor != nil:
			return lambdaInvalid("Unsupported MaximumRetryAttempts, MaximumRecordAgeInSeconds, BisectBatchOnFunctionError or ParallelizationFactor parameter for given event source mapping type.")
		}
		return nil
	}
	switch c.StartingPosition {
	case lambdatypes.EventSourcePositionTrimHorizon, lambdatypes.EventSourcePositionLatest:
	case "":
		return lambdaInvalid("1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null")
	default:
		return lambdaInvalid("The simulator's Kinesis event-source mappings start at TRIM_HORIZON or LATEST, not %s", c.StartingPosition)
	}
	if c.MaximumRetryAttempts == nil {
		c.MaximumRetryAttempts = aws.Int32(-1)
	}
	if c.MaximumRecordAgeInSeconds == nil {
		c.MaximumRecordAgeInSeconds = aws.Int32(-1)
	}
	if c.ParallelizationFactor == nil {
		c.ParallelizationFactor = aws.Int32(1)
	}
	if c.BisectBatchOnFunctionError == nil {
		c.BisectBatchOnFunctionError = aws.Bool(false)
	}
	switch r, a, p := *c.MaximumRetryAttempts, *c.MaximumRecordAgeInSeconds, *c.ParallelizationFactor; {
	case r < -1 || r > 10000:
		return lambdaInvalid("1 validation error detected: Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value between -1 and 10000", r)
	case a != -1 && (a < 60 || a > 604800):
		return lambdaInvalid("1 validation error detected: Value '%d' at 'maximumRecordAgeInSeconds' failed to satisfy constraint: Member must be -1 or between 60 and 604800", a)
	case p < 1 || p > 10:
		return lambdaInvalid("1 validation error detected: Value '%d' at 'parallelizationFactor' failed to satisfy constraint: Member must have value between 1 and 10", p)
	}
	if d := c.DestinationConfig; d != nil && d.OnFailure != nil {
		dest := aws.ToString(d.OnFailure.Destination)
		if f := strings.Split(dest, ":"); len(f) < 6 || (f[2] != "sqs" && f[2] != "sns") {
			return lambdaInvalid("The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=%s)) is invalid: the on-failure destination must be an SQS queue or an SNS topic.", dest)
		}
	}
	return nil
}

// setEnabledLocked starts or stops the mapping's poller; l.mu must be held.
func (m *lambdaESM) setEnabledLocked(l *Lambda, on bool) {
	if m.stop != nil {
		m.stop()
		m.stop = nil
	}
	m.cfg.State = aws.String("Disabled")
	if !on {
		return
	}
	m.cfg.State = aws.String("Enabled")
	// The pollers' calls are Lambda's own work, timed by their polling;
	// the invocations they make take the invocation's latency.
	ctx, cancel := context.WithCancel(Unmetered(context.Background()))
	if fn, ok := l.functions[m.fnName]; ok {
		ctx = WithRoleSession(ctx, fn.cfg.Role, fn.cfg.Name)
	}
	m.stop = cancel
	cfg := m.cfg
	fnName, source := m.fnName, m.source
	switch m.kind {
	case "sqs":
		l.r.world.Clock.Go(func() { l.pollSQS(ctx, cfg, fnName, source) })
	case "kinesis":
		esm := l.kinesisMapping(cfg, fnName, source)
		l.r.world.Clock.Go(func() { esm.Run(ctx) })
	}
}

// GetEventSourceMapping describes a mapping.
func (l *Lambda) GetEventSourceMapping(ctx context.Context, in *lambda.GetEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.GetEventSourceMappingOutput, error) {
	const op = "GetEventSourceMapping"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.mappings[aws.ToString(in.UUID)]
	if !ok {
		return nil, opErr(lambda.ServiceID, op, esmNotFound())
	}
	c := m.cfg
	return &lambda.GetEventSourceMappingOutput{
		UUID: c.UUID, EventSourceArn: c.EventSourceArn, EventSourceMappingArn: c.EventSourceMappingArn, FunctionArn: c.FunctionArn,
		BatchSize: c.BatchSize, MaximumBatchingWindowInSeconds: c.MaximumBatchingWindowInSeconds, FunctionResponseTypes: c.FunctionResponseTypes,
		StartingPosition: c.StartingPosition, BisectBatchOnFunctionError: c.BisectBatchOnFunctionError, MaximumRetryAttempts: c.MaximumRetryAttempts,
		MaximumRecordAgeInSeconds: c.MaximumRecordAgeInSeconds, ParallelizationFactor: c.ParallelizationFactor, DestinationConfig: c.DestinationConfig,
		State: c.State, StateTransitionReason: c.StateTransitionReason, LastModified: c.LastModified, LastProcessingResult: c.LastProcessingResult,
	}, nil
}

// UpdateEventSourceMapping changes a mapping's settings, its function or
// whether it is enabled; a running poller restarts with the new settings.
func (l *Lambda) UpdateEventSourceMapping(ctx context.Context, in *lambda.UpdateEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error) {
	const op = "UpdateEventSourceMapping"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.mappings[aws.ToString(in.UUID)]
	if !ok {
		return nil, opErr(lambda.ServiceID, op, esmNotFound())
	}
	c := m.cfg
	set := func(dst **int32, v *int32) {
		if v != nil {
			*dst = v
		}
	}
	set(&c.BatchSize, in.BatchSize)
	set(&c.MaximumBatchingWindowInSeconds, in.MaximumBatchingWindowInSeconds)
	set(&c.MaximumRetryAttempts, in.MaximumRetryAttempts)
	set(&c.MaximumRecordAgeInSeconds, in.MaximumRecordAgeInSeconds)
	set(&c.ParallelizationFactor, in.ParallelizationFactor)
	if in.BisectBatchOnFunctionError != nil {
		c.BisectBatchOnFunctionError = in.BisectBatchOnFunctionError
	}
	if in.DestinationConfig != nil {
		c.DestinationConfig = in.DestinationConfig
	}
	if in.FunctionResponseTypes != nil {
		c.FunctionResponseTypes = in.FunctionResponseTypes
	}
	if err := esmValidate(m.kind, &c); err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	fnName := m.fnName
	if in.FunctionName != nil {
		fn, err := l.function(*in.FunctionName, "")
		if err != nil {
			return nil, opErr(lambda.ServiceID, op, err)
		}
		fnName, c.FunctionArn = fn.cfg.Name, aws.String(fn.cfg.ARN)
	}
	running := aws.ToString(m.cfg.State) == "Enabled"
	enabled := running
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	now := l.r.world.Clock.Now()
	c.LastModified = &now
	m.cfg, m.fnName = c, fnName
	m.setEnabledLocked(l, enabled)
	state := "Updating"
	switch {
	case enabled && !running:
		state = "Enabling"
	case !enabled && running:
		state = "Disabling"
	}
	c = m.cfg
	return &lambda.UpdateEventSourceMappingOutput{
		UUID: c.UUID, EventSourceArn: c.EventSourceArn, EventSourceMappingArn: c.EventSourceMappingArn, FunctionArn: c.FunctionArn,
		BatchSize: c.BatchSize, MaximumBatchingWindowInSeconds: c.MaximumBatchingWindowInSeconds, FunctionResponseTypes: c.FunctionResponseTypes,
		StartingPosition: c.StartingPosition, BisectBatchOnFunctionError: c.BisectBatchOnFunctionError, MaximumRetryAttempts: c.MaximumRetryAttempts,
		MaximumRecordAgeInSeconds: c.MaximumRecordAgeInSeconds, ParallelizationFactor: c.ParallelizationFactor, DestinationConfig: c.DestinationConfig,
		State: aws.String(state), StateTransitionReason: c.StateTransitionReason, LastModified: c.LastModified, LastProcessingResult: c.LastProcessingResult,
	}, nil
}

// DeleteEventSourceMapping stops and deletes a mapping.
func (l *Lambda) DeleteEventSourceMapping(ctx context.Context, in *lambda.DeleteEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.DeleteEventSourceMappingOutput, error) {
	const op = "DeleteEventSourceMapping"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.mappings[aws.ToString(in.UUID)]
	if !ok {
		return nil, opErr(lambda.ServiceID, op, esmNotFound())
	}
	m.setEnabledLocked(l, false)
	delete(l.mappings, aws.ToString(in.UUID))
	c := m.cfg
	return &lambda.DeleteEventSourceMappingOutput{
		UUID: c.UUID, EventSourceArn: c.EventSourceArn, EventSourceMappingArn: c.EventSourceMappingArn, FunctionArn: c.FunctionArn,
		BatchSize: c.BatchSize, State: aws.String("Deleting"), StateTransitionReason: c.StateTransitionReason, LastModified: c.LastModified,
	}, nil
}

// StopEventSourceMappings stops every mapping's poller, leaving the
// mappings as they are reported: a drill calls it at its end so that
// idle pollers do not keep a virtual clock moving.
func (l *Lambda) StopEventSourceMappings() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.mappings {
		if m.stop != nil {
			m.stop()
			m.stop = nil
		}
	}
}

// pollSQS runs an SQS mapping until ctx is done.
func (l *Lambda) pollSQS(ctx context.Context, c lambdatypes.EventSourceMappingConfiguration, fnName, queue string) {
	clk := l.r.world.Clock
	s := l.r.SQS()
	url := s.QueueURL(queue)
	batchSize, window := int(*c.BatchSize), time.Duration(*c.MaximumBatchingWindowInSeconds)*time.Second
	reportItems := slices.Contains(c.FunctionResponseTypes, lambdatypes.FunctionResponseTypeReportBatchItemFailures)
	for ctx.Err() == nil {
		msgs, err := l.gatherSQS(ctx, s, url, batchSize, window)
		if err != nil && len(msgs) == 0 {
			// A region down, the queue missing, a denied call: back off as
			// the poller does, then poll again.
			if clk.Sleep(ctx, 5*time.Second) != nil {
				return
			}
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		// Work already received finishes even if the mapping is stopped
		// meanwhile, as an in-flight batch does in Lambda.
		done := context.WithoutCancel(ctx)
		if ctx.Err() != nil {
			// Stopped while polling: hand the messages back rather than
			// hold them for their visibility timeout.
			for _, m := range msgs {
				s.ChangeMessageVisibility(done, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			}
			return
		}
		ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
		for i, m := range msgs {
			ev.Records[i] = sqsEventRecord(m, aws.ToString(c.EventSourceArn), l.r.Name)
		}
		payload, _ := json.Marshal(ev)
		res := l.invoke(fnName, payload)
		if res.err != nil || res.funcErr != "" {
			continue // every message reappears after its visibility timeout
		}
		failed := map[string]bool{}
		if reportItems {
			var resp events.SQSEventResponse
			if err := json.Unmarshal(res.payload, &resp); err != nil {
				continue // an unreadable response fails the whole batch
			}
			whole := false
			for _, f := range resp.BatchItemFailures {
				known := slices.ContainsFunc(ev.Records, func(r events.SQSMessage) bool { return r.MessageId == f.ItemIdentifier })
				whole = whole || !known // an empty or unknown identifier fails the batch
				failed[f.ItemIdentifier] = true
			}
			if whole {
				continue
			}
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, r := range ev.Records {
			if !failed[r.MessageId] {
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
			}
		}
		for len(del) > 0 {
			n := min(len(del), sqsMaxBatch)
			s.DeleteMessageBatch(done, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del[:n]})
			del = del[n:]
		}
	}
}

// gatherSQS long-polls for a batch: it returns as soon as messages arrive
// when there is no batching window, else once the batch is full or the
// window, counted from the first message, has passed.
// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#services-sqs-batchfailurereporting
func (l *Lambda) gatherSQS(ctx context.Context, s *SQS, url string, batchSize int, window time.Duration) ([]sqstypes.Message, error) {
	clk := l.r.world.Clock
	var msgs []sqstypes.Message
	var deadline time.Time
	for len(msgs) < batchSize {
		wait := sqsMaxWait
		if len(msgs) > 0 {
			left := deadline.Sub(clk.Now())
			if left <= 0 {
				break
			}
			wait = min(wait, max(time.Second, left.Truncate(time.Second)))
		}
		out, err := s.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: int32(min(sqsMaxBatch, batchSize-len(msgs))),
			WaitTimeSeconds:             int32(wait / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return msgs, err
		}
		if len(out.Messages) > 0 && len(msgs) == 0 {
			deadline = clk.Now().Add(window)
		}
		msgs = append(msgs, out.Messages...)
		if len(msgs) > 0 && window == 0 {
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	return msgs, nil
}

// sqsEventRecord is one message of the SQS event Lambda delivers.
func sqsEventRecord(m sqstypes.Message, queueARN, region string) events.SQSMessage {
	rec := events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes,
		EventSource: "aws:sqs", EventSourceARN: queueARN, AWSRegion: region,
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
	return rec
}

// lambdaFunctionError is a function error as a mapping's retry logic sees
// it: the error payload the function returned.
type lambdaFunctionError struct{ payload []byte }

func (e *lambdaFunctionError) Error() string { return "function error: " + string(e.payload) }

// kinesisMapping builds the KinesisESM a Kinesis mapping runs.
func (l *Lambda) kinesisMapping(c lambdatypes.EventSourceMappingConfiguration, fnName, stream string) *KinesisESM {
	cfg := KinesisESMConfig{
		Stream: stream, BatchSize: int(*c.BatchSize), StartingPosition: kinesistypes.ShardIteratorType(c.StartingPosition),
		FunctionARN: l.FunctionARN(fnName), BisectBatchOnFunctionError: aws.ToBool(c.BisectBatchOnFunctionError),
	}
	switch r := *c.MaximumRetryAttempts; {
	case r == 0:
		cfg.MaximumRetryAttempts = 1
	case r > 0:
		cfg.MaximumRetryAttempts = int(r)
	}
	if a := *c.MaximumRecordAgeInSeconds; a > 0 {
		cfg.MaximumRecordAge = time.Duration(a) * time.Second
	}
	if d := c.DestinationConfig; d != nil && d.OnFailure != nil && aws.ToString(d.OnFailure.Destination) != "" {
		dest := aws.ToString(d.OnFailure.Destination)
		cfg.OnFailure = func(ctx context.Context, f KinesisESMFailure) {
			l.deliverTo(dest, l.kinesisFailureRecord(fnName, f))
		}
	}
	reportItems := slices.Contains(c.FunctionResponseTypes, lambdatypes.FunctionResponseTypeReportBatchItemFailures)
	return l.r.Kinesis().NewEventSourceMapping(cfg, func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		payload, _ := json.Marshal(ev)
		res := l.invoke(fnName, payload)
		var resp events.KinesisEventResponse
		switch {
		case res.err != nil:
			return resp, res.err
		case res.funcErr != "":
			return resp, &lambdaFunctionError{payload: res.payload}
		case !reportItems:
			return resp, nil
		}
		if err := json.Unmarshal(res.payload, &resp); err != nil {
			return resp, fmt.Errorf("unreadable batch response: %w", err)
		}
		return resp, nil
	})
}

// kinesisFailureRecord is the record Lambda sends to a stream mapping's
// on-failure destination
// (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html).
func (l *Lambda) kinesisFailureRecord(fnName string, f KinesisESMFailure) string {
	const ts = "2006-01-02T15:04:05.000Z"
	l.mu.Lock()
	l.seq++
	reqID := fmt.Sprintf("%08x-2222-4000-8000-%012x", l.seq, l.seq)
	l.mu.Unlock()
	rec := map[string]any{
		"requestContext": map[string]any{"requestId": reqID, "functionArn": l.FunctionARN(fnName),
			"condition": f.Reason, "approximateInvokeCount": f.InvokeCount},
		"version": "1.0", "timestamp": l.r.world.Clock.Now().UTC().Format(ts),
		"KinesisBatchInfo": map[string]any{
			"shardId": f.ShardID, "startSequenceNumber": f.StartSequenceNumber, "endSequenceNumber": f.EndSequenceNumber,
			"approximateArrivalOfFirstRecord": f.ApproximateArrivalOfFirstRecord.UTC().Format(ts),
			"approximateArrivalOfLastRecord":  f.ApproximateArrivalOfLastRecord.UTC().Format(ts),
			"batchSize":                       f.BatchSize, "streamArn": f.StreamARN,
		},
	}
	if f.InvokeCount > 0 {
		resp := map[string]any{"statusCode": 200, "executedVersion": "$LATEST"}
		if f.Err != nil {
			resp["functionError"] = "Unhandled"
		}
		rec["responseContext"] = resp
	}
	b, _ := json.Marshal(rec)
	return string(b)
}
