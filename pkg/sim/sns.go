package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// SNS is one region's simulated SNS (standard topics). Every publish is
// recorded, so the drill and tests can read what was notified, and
// delivered to the topic's subscriptions whose endpoint is an ARN with a
// sink in the world (SQS queues; anything else registered), wrapped in the
// SNS notification JSON unless RawMessageDelivery is set. Topic ARNs are
// sinks too: CloudWatch alarm actions publish through them.
type SNS struct {
	r *Region

	mu     sync.Mutex
	topics map[string]*snsTopic // by ARN
	seq    int
	// gone are deleted topics, whose published messages Published still
	// returns (an observer's record of what was notified).
	gone []*snsTopic
}

type snsTopic struct {
	arn, name string
	deleted   bool // DeleteTopic: gone for the API, its messages kept for Published
	attrs     map[string]string
	subs      []snsSubscription
	published []SNSMessage
}

type snsSubscription struct {
	arn, protocol, endpoint string
	raw                     bool
}

// SNSMessage is one message published to a topic.
type SNSMessage struct {
	TopicARN   string
	MessageID  string
	Subject    string
	Message    string
	Attributes map[string]string // string-valued message attributes
	Time       time.Time
}

// SNS returns the region's SNS.
func (r *Region) SNS() *SNS {
	return r.service(sns.ServiceID, func() any { return &SNS{r: r, topics: make(map[string]*snsTopic)} }).(*SNS)
}

// TopicARN returns the ARN a topic of that name has in the region.
func (s *SNS) TopicARN(name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", s.r.Name, s.r.world.Account, name)
}

func snsInvalid(format string, args ...any) error {
	return &snstypes.InvalidParameterException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func snsNotFound() error {
	return &snstypes.NotFoundException{Message: aws.String("Topic does not exist")}
}

// CreateTopic creates a standard topic; creating an existing one returns its
// ARN, as SNS does.
func (s *SNS) CreateTopic(ctx context.Context, in *sns.CreateTopicInput, optFns ...func(*sns.Options)) (*sns.CreateTopicOutput, error) {
	const op = "CreateTopic"
	if err := s.r.call(ctx, sns.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	if name == "" || len(name) > 256 || strings.ContainsFunc(name, func(c rune) bool {
		return !(c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
	}) {
		return nil, opErr(sns.ServiceID, op, snsInvalid("Invalid parameter: Topic Name"))
	}
	arn := s.TopicARN(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[arn]; !ok {
		s.topics[arn] = &snsTopic{arn: arn, name: name, attrs: glueCopyMap(in.Attributes)}
		s.r.registerSink(arn, func(body string) { s.publishInternal(arn, "", body, nil) })
	}
	return &sns.CreateTopicOutput{TopicArn: aws.String(arn)}, nil
}

// Subscribe subscribes an endpoint. Subscriptions whose endpoint is an ARN
// (sqs, lambda, firehose) are confirmed at once, as for same-account
// endpoints; others are recorded pending confirmation and receive nothing.
func (s *SNS) Subscribe(ctx context.Context, in *sns.SubscribeInput, optFns ...func(*sns.Options)) (*sns.SubscribeOutput, error) {
	const op = "Subscribe"
	if err := s.r.call(ctx, sns.ServiceID, op, in); err != nil {
		return nil, err
	}
	proto, endpoint := aws.ToString(in.Protocol), aws.ToString(in.Endpoint)
	switch proto {
	case "sqs", "lambda", "firehose":
		if !strings.HasPrefix(endpoint, "arn:aws:"+proto+":") {
			return nil, opErr(sns.ServiceID, op, snsInvalid("Invalid parameter: %s endpoint ARN", strings.ToUpper(proto[:1])+proto[1:]))
		}
	case "email", "email-json", "http", "https", "sms", "application":
		if endpoint == "" {
			return nil, opErr(sns.ServiceID, op, snsInvalid("Invalid parameter: Endpoint"))
		}
	default:
		return nil, opErr(sns.ServiceID, op, snsInvalid("Invalid parameter: Amazon SNS does not support this protocol string: %s", proto))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[aws.ToString(in.TopicArn)]
	if !ok {
		return nil, opErr(sns.ServiceID, op, snsNotFound())
	}
	for _, sub := range t.subs { // subscribing twice returns the same subscription
		if sub.protocol == proto && sub.endpoint == endpoint {
			return &sns.SubscribeOutput{SubscriptionArn: aws.String(sub.arn)}, nil
		}
	}
	s.seq++
	sub := snsSubscription{arn: fmt.Sprintf("%s:%08x-0000-4000-8000-%012x", t.arn, s.seq, s.seq), protocol: proto, endpoint: endpoint,
		raw: strings.EqualFold(in.Attributes["RawMessageDelivery"], "true")}
	confirmed := proto == "sqs" || proto == "lambda" || proto == "firehose"
	if confirmed {
		t.subs = append(t.subs, sub)
	}
	arn := sub.arn
	if !confirmed && !in.ReturnSubscriptionArn {
		arn = "pending confirmation"
	}
	return &sns.SubscribeOutput{SubscriptionArn: aws.String(arn)}, nil
}

// Publish publishes a message to a topic: recorded, and delivered to the
// topic's confirmed subscriptions.
func (s *SNS) Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error) {
	const op = "Publish"
	if err := s.r.call(ctx, sns.ServiceID, op, in); err != nil {
		return nil, err
	}
	msg := aws.ToString(in.Message)
	if msg == "" {
		return nil, opErr(sns.ServiceID, op, snsInvalid("Invalid parameter: Empty message"))
	}
	if len(msg) > 256<<10 {
		return nil, opErr(sns.ServiceID, op, snsInvalid("Invalid parameter: Message too long"))
	}
	if len(aws.ToString(in.Subject)) > 100 {
		return nil, opErr(sns.ServiceID, op, snsInvalid("Invalid parameter: Subject"))
	}
	arn := aws.ToString(in.TopicArn)
	if arn == "" {
		arn = aws.ToString(in.TargetArn)
	}
	attrs := map[string]string{}
	for k, v := range in.MessageAttributes {
		attrs[k] = aws.ToString(v.StringValue)
	}
	id, err := s.publishInternal(arn, aws.ToString(in.Subject), msg, attrs)
	if err != nil {
		return nil, opErr(sns.ServiceID, op, err)
	}
	return &sns.PublishOutput{MessageId: aws.String(id)}, nil
}

// publishInternal records and delivers a message (from Publish or a sink).
func (s *SNS) publishInternal(arn, subject, msg string, attrs map[string]string) (string, error) {
	s.mu.Lock()
	t, ok := s.topics[arn]
	if !ok {
		s.mu.Unlock()
		return "", snsNotFound()
	}
	s.seq++
	m := SNSMessage{TopicARN: arn, MessageID: fmt.Sprintf("%08x-1111-4000-8000-%012x", s.seq, s.seq), Subject: subject, Message: msg, Attributes: attrs, Time: s.r.world.Clock.Now()}
	t.published = append(t.published, m)
	subs := append([]snsSubscription(nil), t.subs...)
	s.mu.Unlock()
	for _, sub := range subs {
		body := msg
		if !sub.raw {
			body = snsEnvelope(m, sub.arn)
		}
		if f := strings.Split(sub.endpoint, ":"); len(f) > 3 {
			s.r.world.deliver(f[3], sub.endpoint, body)
		}
	}
	return m.MessageID, nil
}

// snsEnvelope is the JSON notification SNS delivers to SQS and Lambda.
func snsEnvelope(m SNSMessage, subARN string) string {
	env := map[string]any{
		"Type": "Notification", "MessageId": m.MessageID, "TopicArn": m.TopicARN, "Message": m.Message,
		"Timestamp": m.Time.UTC().Format("2006-01-02T15:04:05.000Z"), "SignatureVersion": "1", "Signature": "SIMULATED",
		"SigningCertURL": "https://sns.amazonaws.com/SimpleNotificationService.pem",
		"UnsubscribeURL": "https://sns.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + subARN,
	}
	if m.Subject != "" {
		env["Subject"] = m.Subject
	}
	if len(m.Attributes) > 0 {
		attrs := map[string]any{}
		for k, v := range m.Attributes {
			attrs[k] = map[string]string{"Type": "String", "Value": v}
		}
		env["MessageAttributes"] = attrs
	}
	b, _ := json.Marshal(env)
	return string(b)
}

// ListTopics lists the region's topics, 100 per page.
func (s *SNS) ListTopics(ctx context.Context, in *sns.ListTopicsInput, optFns ...func(*sns.Options)) (*sns.ListTopicsOutput, error) {
	const op = "ListTopics"
	if err := s.r.call(ctx, sns.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	arns := make([]string, 0, len(s.topics))
	for a := range s.topics {
		arns = append(arns, a)
	}
	s.mu.Unlock()
	sort.Strings(arns)
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		start = sort.SearchStrings(arns, tok)
		if start >= len(arns) || arns[start] != tok {
			return nil, opErr(sns.ServiceID, op, snsInvalid("Invalid parameter: NextToken"))
		}
	}
	end := min(start+100, len(arns))
	out := &sns.ListTopicsOutput{}
	for _, a := range arns[start:end] {
		out.Topics = append(out.Topics, snstypes.Topic{TopicArn: aws.String(a)})
	}
	if end < len(arns) {
		out.NextToken = aws.String(arns[end])
	}
	return out, nil
}

// topicKMSKey returns the topic's KmsMasterKeyId ("" when it is not
// encrypted, or does not exist).
func (s *SNS) topicKMSKey(arn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.topics[arn]; ok {
		return t.attrs["KmsMasterKeyId"]
	}
	return ""
}

// Published returns the messages published to a topic so far, oldest first,
// without counting an API call: the drill reports its notifications. The
// messages of a topic deleted since are included, before the current
// topic's of the same name.
func (s *SNS) Published(topicARN string) []SNSMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SNSMessage
	for _, t := range s.gone {
		if t.arn == topicARN {
			out = append(out, t.published...)
		}
	}
	if t, ok := s.topics[topicARN]; ok {
		out = append(out, t.published...)
	}
	return out
}

// DeleteTopic deletes a topic and its subscriptions; messages published
// to it from then on fail (NotFound) and deliveries to it are dropped.
// Deleting a topic that does not exist succeeds, as in SNS.
func (s *SNS) DeleteTopic(ctx context.Context, in *sns.DeleteTopicInput, optFns ...func(*sns.Options)) (*sns.DeleteTopicOutput, error) {
	const op = "DeleteTopic"
	if err := s.r.call(ctx, sns.ServiceID, op, in); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.TopicArn)
	s.mu.Lock()
	t, ok := s.topics[arn]
	if ok {
		delete(s.topics, arn)
		t.deleted, t.subs = true, nil
		s.gone = append(s.gone, t)
	}
	s.mu.Unlock()
	if ok {
		s.r.unregisterSink(arn)
	}
	return &sns.DeleteTopicOutput{}, nil
}
