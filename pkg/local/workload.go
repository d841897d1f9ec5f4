package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pendulum-dr/pendulum/pkg/ingest"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// RegionHeader is the answer header naming the region that served a
// request; dr-probe checks it.
const RegionHeader = ingest.RegionHeader

// regionStats are a region's ingest facts, kept by the transport.
type regionStats struct {
	mu                sync.Mutex
	firstAck, lastAck time.Time
	lastRequest       time.Time
	acked             int64
}

// RegionStats are a region's ingest facts.
type RegionStats struct {
	// FirstAck and LastAck are when the region first and last acknowledged
	// producer records (canaries excluded); zero if never.
	FirstAck, LastAck time.Time
	// LastRequest is the last ingest request of any kind.
	LastRequest time.Time
	// Acknowledged counts producer requests acknowledged.
	Acknowledged int64
	// Serving is whether the region's ALB exists with a listener.
	Serving bool
}

// RegionStats returns the region's ingest facts.
func (l *Local) RegionStats(region string) RegionStats {
	st := l.statsOf(region)
	st.mu.Lock()
	defer st.mu.Unlock()
	return RegionStats{FirstAck: st.firstAck, LastAck: st.lastAck, LastRequest: st.lastRequest, Acknowledged: st.acked, Serving: l.serving(region)}
}

// serving reports whether the region has a load balancer that answers.
func (l *Local) serving(region string) bool {
	for _, arn := range l.World.Region(region).ELB().LoadBalancers() {
		if dns, ok := l.World.Region(region).ELB().DNSName(arn); ok {
			if _, err := l.World.Region(region).ELB().Route(dns, 80); err == nil {
				return true
			}
			if _, err := l.World.Region(region).ELB().Route(dns, 443); err == nil {
				return true
			}
		}
	}
	return false
}

// LoadBalancerDNS returns the DNS name of the region's ingest ALB, "" when
// the region has none (dormant).
func (l *Local) LoadBalancerDNS(region string) string {
	e := l.World.Region(region).ELB()
	for _, arn := range e.LoadBalancers() {
		if dns, ok := e.DNSName(arn); ok {
			return dns
		}
	}
	return ""
}

func (l *Local) ga() *sim.GlobalAccelerator {
	return l.World.Region(topology.GlobalRegion).GlobalAccelerator()
}

// ConsumerFailure is one batch of records an aggregate consumer gave up
// on, as its on-failure destination received it.
type ConsumerFailure struct {
	Region    string
	BatchSize int
	Condition string
}

// Discarded returns the record batches the aggregate consumers gave up on
// (the deployed on-failure queue's messages): records that never reached
// the aggregates. It reads the messages, hiding them; call it once, at the
// end of a run.
func (l *Local) Discarded() []ConsumerFailure {
	var out []ConsumerFailure
	ctx := sim.Unmetered(context.Background()) // an observer's read, outside the timeline
	for _, region := range l.workloadRegions() {
		q := l.World.Region(region).SQS()
		// The workload stack's queue is its consumer's on-failure
		// destination; it stays when a deactivation removes the consumer.
		res, err := l.World.Region(region).CloudFormation().StackResources(l.Names.Stack("workload", region))
		if err != nil {
			continue
		}
		for _, r := range res {
			if r.Type != "AWS::SQS::Queue" {
				continue
			}
			url := aws.String(r.PhysicalID)
			for {
				msgs, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 43200})
				if err != nil || len(msgs.Messages) == 0 {
					break
				}
				for _, m := range msgs.Messages {
					var body struct {
						RequestContext   struct{ Condition string } `json:"requestContext"`
						KinesisBatchInfo struct {
							BatchSize int `json:"batchSize"`
						}
					}
					_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &body)
					out = append(out, ConsumerFailure{Region: region, BatchSize: body.KinesisBatchInfo.BatchSize, Condition: body.RequestContext.Condition})
				}
			}
		}
	}
	return out
}

// emfWriter turns a function's Embedded Metric Format output into metrics
// of the region's CloudWatch, as CloudWatch Logs does.
type emfWriter struct{ cw *sim.CloudWatch }

// Write ingests each EMF line of p.
func (w emfWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		_ = w.cw.IngestEMF(line) // a region down loses its logs' metrics, as it would
	}
	return len(p), nil
}

// HTTPClient returns an http.Client that reaches the installation: the
// accelerator's DNS name goes where Global Accelerator routes a new
// connection; a load balancer's DNS name goes to its listener on the
// request's port, which invokes its target function with the ALB event. A
// connection to a region that is down, a load balancer that does not
// exist, a port with no listener or an accelerator with no endpoint fails
// as a dial error.
func (l *Local) HTTPClient() *http.Client {
	return &http.Client{Transport: transport{l}}
}

type transport struct{ l *Local }

// dialError is the connection failure a client sees.
func dialError(host string, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{}, Err: fmt.Errorf("%s: %w", host, err)}
}

// RoundTrip routes the request as DNS, Global Accelerator and the ALB
// would.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	l := t.l
	fail := func(err error) (*http.Response, error) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, dialError(req.URL.Hostname(), err)
	}
	host := req.URL.Hostname()
	port := 80
	if req.URL.Scheme == "https" {
		port = 443
	}
	if p := req.URL.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	var region, dns string
	if host == l.AcceleratorDNS {
		endpoint, r, err := l.ga().Route(l.AcceleratorARN, port)
		if err != nil {
			return fail(err)
		}
		d, ok := l.World.Region(r).ELB().DNSName(endpoint)
		if !ok {
			return fail(fmt.Errorf("endpoint %s does not exist", endpoint))
		}
		region, dns = r, d
	} else {
		for _, r := range l.workloadRegions() {
			for _, arn := range l.World.Region(r).ELB().LoadBalancers() {
				if d, _ := l.World.Region(r).ELB().DNSName(arn); d == host {
					region, dns = r, d
				}
			}
		}
		if region == "" {
			return fail(errors.New("no such host"))
		}
	}
	if l.World.Down(region) {
		return fail(fmt.Errorf("%s unreachable", region))
	}
	route, err := l.World.Region(region).ELB().Route(dns, port)
	if err != nil {
		return fail(err)
	}
	if (req.URL.Scheme == "https") != (route.Protocol == "HTTPS") {
		return fail(fmt.Errorf("listener on port %d speaks %s", port, route.Protocol))
	}
	fns := l.World.Region(region).Lambda()
	invoke := func(ctx context.Context, ev events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
		var out events.ALBTargetGroupResponse
		payload, err := json.Marshal(ev)
		if err != nil {
			return out, err
		}
		// The load balancer invokes its target, under the function's
		// resource policy: not as the client's role.
		res, err := fns.Invoke(sim.WithoutPrincipal(ctx), &lambda.InvokeInput{FunctionName: aws.String(route.FunctionARN), Payload: payload})
		if err != nil {
			return out, err
		}
		if res.FunctionError != nil {
			return out, fmt.Errorf("target function error: %s", res.Payload)
		}
		err = json.Unmarshal(res.Payload, &out)
		return out, err
	}
	canary := req.Header.Get("X-Pendulum-Producer") == "pendulum-health"
	resp, err := ingest.RoundTripper(invoke).RoundTrip(req)
	now := l.Clock.Now()
	st := l.statsOf(region)
	st.mu.Lock()
	st.lastRequest = now
	if err == nil && resp.StatusCode == http.StatusOK && req.Method == http.MethodPost && !canary {
		if st.firstAck.IsZero() {
			st.firstAck = now
		}
		st.lastAck = now
		st.acked++ // requests; the drill counts records through the producers' acks
	}
	st.mu.Unlock()
	return resp, err
}

// ConsumerRunning reports whether the region's aggregate consumer (the
// workload stack's Kinesis event-source mapping) exists and is enabled.
func (l *Local) ConsumerRunning(region string) bool {
	res, err := l.World.Region(region).CloudFormation().StackResources(l.Names.Stack("workload", region))
	if err != nil {
		return false
	}
	for _, r := range res {
		if r.Type != "AWS::Lambda::EventSourceMapping" {
			continue
		}
		m, err := l.World.Region(region).Lambda().GetEventSourceMapping(sim.Unmetered(context.Background()), &lambda.GetEventSourceMappingInput{UUID: aws.String(r.PhysicalID)})
		if err == nil && aws.ToString(m.State) == "Enabled" {
			return true
		}
	}
	return false
}
