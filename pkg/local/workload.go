package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	firehosetypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/health"
	"github.com/pendulum-dr/pendulum/pkg/ingest"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/topology"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/workload"
)

// RegionHeader is the answer header naming the region that served a
// request (DR-BRIEF "Ingest and traffic"); dr-probe checks it.
const RegionHeader = ingest.RegionHeader

// regionRuntime is one region's running workload.
type regionRuntime struct {
	name           string
	stack          string
	albARN, albDNS string

	mu        sync.Mutex
	serving   bool // the ALB exists (stack active) and answers
	esmCancel context.CancelFunc
	esm       *sim.KinesisESM
	ingest    ingest.HandlerFunc
	// traffic facts for the drill and dr-drain
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
	// Acknowledged counts producer records acknowledged.
	Acknowledged int64
	// Serving is whether the region's ALB exists and answers.
	Serving bool
}

// RegionStats returns the region's ingest facts.
func (l *Local) RegionStats(region string) RegionStats {
	rt := l.regions[region]
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return RegionStats{FirstAck: rt.firstAck, LastAck: rt.lastAck, LastRequest: rt.lastRequest, Acknowledged: rt.acked, Serving: rt.serving}
}

// LoadBalancerDNS returns the DNS name of the region's ingest ALB.
func (l *Local) LoadBalancerDNS(region string) string { return l.regions[region].albDNS }

func (l *Local) ga() *sim.GlobalAccelerator {
	return l.World.Region(topology.GlobalRegion).GlobalAccelerator()
}

// activate is the workload stack's activation hook: it makes the stack's
// Active and ConsumerEnabled parameters real in the region — the Kinesis
// stream, the Firehose delivery stream to the raw bucket, the aggregate
// consumer's event-source mapping and the ALB that GA routes to.
func (l *Local) activate(ctx context.Context, region string, active bool) error {
	rt := l.regions[region]
	r := l.World.Region(region)
	n := l.Names
	consumer := false
	if active {
		out, err := r.CloudFormation().DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(rt.stack)})
		if err != nil {
			return fmt.Errorf("read parameters of %s: %w", rt.stack, err)
		}
		for _, p := range out.Stacks[0].Parameters {
			if aws.ToString(p.ParameterKey) == topology.ConsumerParameter {
				consumer = strings.EqualFold(aws.ToString(p.ParameterValue), "true")
			}
		}
	}
	if !active {
		l.setServing(region, false)
		l.stopConsumer(region)
		if _, err := r.Firehose().DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String(n.DeliveryStream())}); err != nil && !isCode(err, "ResourceNotFoundException") {
			return fmt.Errorf("delete delivery stream in %s: %w", region, err)
		}
		if _, err := r.Kinesis().DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(n.Stream()), EnforceConsumerDeletion: aws.Bool(true)}); err != nil && !isCode(err, "ResourceNotFoundException") {
			return fmt.Errorf("delete stream in %s: %w", region, err)
		}
		return nil
	}
	k := r.Kinesis()
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(n.Stream()),
		StreamModeDetails: &kinesistypes.StreamModeDetails{StreamMode: kinesistypes.StreamModeOnDemand}}); err != nil && !isCode(err, "ResourceInUseException") {
		return fmt.Errorf("create stream in %s: %w", region, err)
	}
	for i := 0; ; i++ {
		out, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(n.Stream())})
		if err != nil {
			return fmt.Errorf("describe stream in %s: %w", region, err)
		}
		if out.StreamDescriptionSummary.StreamStatus == kinesistypes.StreamStatusActive {
			break
		}
		if i > 100 {
			return fmt.Errorf("stream in %s never became ACTIVE", region)
		}
		if err := l.Clock.Sleep(ctx, 5*time.Second); err != nil {
			return err
		}
	}
	if _, err := r.Firehose().CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(n.DeliveryStream()), DeliveryStreamType: firehosetypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration: &firehosetypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String(n.StreamARN(region)),
			RoleARN: aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s-firehose", n.Account, n.Prefix))},
		ExtendedS3DestinationConfiguration: &firehosetypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String(n.BucketARN("raw", region)), RoleARN: aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s-firehose", n.Account, n.Prefix)),
			Prefix: aws.String(FirehosePrefix), ErrorOutputPrefix: aws.String("errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"),
			CompressionFormat: firehosetypes.CompressionFormatGzip,
			BufferingHints:    &firehosetypes.BufferingHints{IntervalInSeconds: aws.Int32(60), SizeInMBs: aws.Int32(64)},
		},
	}); err != nil && !isCode(err, "ResourceInUseException") {
		return fmt.Errorf("create delivery stream in %s: %w", region, err)
	}
	if consumer {
		l.startConsumer(region)
	} else {
		l.stopConsumer(region)
	}
	l.setServing(region, true)
	return nil
}

// isCode reports whether err carries the AWS error code.
func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}

func (l *Local) setServing(region string, serving bool) {
	rt := l.regions[region]
	rt.mu.Lock()
	rt.serving = serving
	rt.mu.Unlock()
	l.ga().SetEndpointServing(rt.albARN, serving)
}

// startConsumer runs the region's aggregate event-source mapping (the
// aggregate function as package workload builds it, on the region's table)
// unless it runs.
func (l *Local) startConsumer(region string) {
	rt := l.regions[region]
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.esmCancel != nil {
		return
	}
	r := l.World.Region(region)
	h, err := l.build("aggregate", region, workload.Aggregate)
	if err != nil {
		l.log.Error("consumer not started", "region", region, "err", err)
		return
	}
	// The mapping publishes its IteratorAge (AWS/Lambda) itself, as Lambda
	// does; dr-drain reads it.
	// The error handling infra deploys (infra/workload.go): 10 retries,
	// bisection on a function error, records no older than the stream keeps
	// them; what is still discarded goes to the on-failure destination, which
	// the drill's accounting reads.
	esm := r.Kinesis().NewEventSourceMapping(sim.KinesisESMConfig{Stream: l.Names.Stream(), BatchSize: 100,
		FunctionARN:                l.Names.FunctionARN(region, "aggregate"),
		MaximumRetryAttempts:       10,
		BisectBatchOnFunctionError: true,
		MaximumRecordAge:           24 * time.Hour,
		OnFailure: func(_ context.Context, f sim.KinesisESMFailure) {
			l.mu.Lock()
			l.discarded = append(l.discarded, f)
			l.mu.Unlock()
			l.log.Error("consumer discarded records", "region", region, "shard", f.ShardID, "records", f.BatchSize, "reason", f.Reason)
		},
	}, typed[events.KinesisEvent, events.KinesisEventResponse](h))
	ctx, cancel := context.WithCancel(l.ctx)
	rt.esmCancel, rt.esm = cancel, esm
	s := l.Clock.Go(func() { _ = esm.Run(ctx) })
	l.mu.Lock()
	l.loops = append(l.loops, s)
	l.mu.Unlock()
}

func (l *Local) stopConsumer(region string) {
	rt := l.regions[region]
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.esmCancel != nil {
		rt.esmCancel()
		rt.esmCancel, rt.esm = nil, nil
	}
}

// ConsumerRunning reports whether the region's aggregate mapping runs.
func (l *Local) ConsumerRunning(region string) bool {
	rt := l.regions[region]
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.esm != nil
}

// ingestHandler returns the region's ALB target: the ingest function as
// package workload builds it, on the region's stream.
func (l *Local) ingestHandler(region string) ingest.HandlerFunc {
	rt := l.regions[region]
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.ingest == nil {
		h, err := l.build("ingest", region, workload.Ingest)
		if err != nil {
			// Answered as a failed invocation: 502 from the ALB.
			return func(context.Context, events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
				return events.ALBTargetGroupResponse{}, err
			}
		}
		rt.ingest = typed[events.ALBTargetGroupRequest, events.ALBTargetGroupResponse](h)
	}
	return rt.ingest
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
// connection; a region's ALB DNS name goes to that region's ingest. A
// connection to a region that is down, an ALB that does not exist or an
// accelerator with no healthy endpoint fails as a dial error.
func (l *Local) HTTPClient() *http.Client {
	return &http.Client{Transport: transport{l}}
}

type transport struct{ l *Local }

// dialError is the connection failure a client sees.
func dialError(host string, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{}, Err: fmt.Errorf("%s: %w", host, err)}
}

// RoundTrip routes the request as DNS and Global Accelerator would and
// serves it with the region's ingest handler.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	l := t.l
	host := req.URL.Hostname()
	var region string
	switch {
	case host == l.AcceleratorDNS:
		_, r, err := l.ga().Route(l.AcceleratorARN)
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, dialError(host, err)
		}
		region = r
	default:
		for name, rt := range l.regions {
			if rt.albDNS == host {
				region = name
			}
		}
		if region == "" {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, dialError(host, errors.New("no such host"))
		}
	}
	rt := l.regions[region]
	rt.mu.Lock()
	serving := rt.serving
	rt.mu.Unlock()
	if !serving || l.World.Down(region) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, dialError(host, fmt.Errorf("ingest in %s unreachable", region))
	}
	canary := req.Header.Get("X-Pendulum-Producer") == "pendulum-health"
	resp, err := ingest.RoundTripper(l.ingestHandler(region)).RoundTrip(req)
	now := l.Clock.Now()
	rt.mu.Lock()
	rt.lastRequest = now
	if err == nil && resp.StatusCode == http.StatusOK && req.Method == http.MethodPost && !canary {
		if rt.firstAck.IsZero() {
			rt.firstAck = now
		}
		rt.lastAck = now
		rt.acked++ // requests; the drill counts records through the producers' acks
	}
	rt.mu.Unlock()
	return resp, err
}

// startBackground starts the workload's and the platform's loops.
func (l *Local) startBackground() {
	for _, region := range []string{l.Regions.Primary, l.Regions.Backup} {
		h, err := l.build("partitions", region, workload.Partitions)
		if err != nil {
			l.log.Error("partitions poller not started", "region", region, "err", err)
			continue
		}
		q := l.World.Region(region).SQS()
		url := q.QueueURL(l.PartitionsQueue())
		handle := typed[events.SQSEvent, events.SQSEventResponse](h)
		l.goLoop(func(ctx context.Context) { _ = q.Poll(ctx, url, 10, handle) })
	}
	cw := l.World.Region(l.Regions.Backup).CloudWatch()
	l.goLoop(func(ctx context.Context) { _ = cw.RunAlarmEvaluation(ctx) })
	if !l.opts.NoAutoFailover {
		cw.OnStateChange(l.onAlarm)
	}
	if !l.opts.NoCanary {
		l.goLoop(l.canary)
	}
	if l.opts.BackupEvery > 0 {
		l.goLoop(l.backups)
	}
}

// canary runs the health function in B every minute, as its EventBridge
// schedule does: one probe round (the event carries the schedule's time),
// its EMF output into B's CloudWatch.
func (l *Local) canary(ctx context.Context) {
	B := l.Regions.Backup
	h, err := l.build("health", B, wiring.Health)
	if err != nil {
		l.log.Error("canary not started", "err", err)
		return
	}
	for {
		next := l.Clock.Now().Truncate(time.Minute).Add(time.Minute)
		if err := l.Clock.Sleep(ctx, next.Sub(l.Clock.Now())); err != nil {
			return
		}
		if l.World.Down(B) {
			continue // the canary runs in B
		}
		event, _ := json.Marshal(health.Event{Time: next.Format(time.RFC3339)})
		_, _ = h.Invoke(ctx, event) // a failed round is logged by the function's edge
	}
}

// onAlarm is the EventBridge rule on the alarm's state change: ALARM
// starts the failover state machine with {"trigger":"alarm","alarm":name}.
func (l *Local) onAlarm(ctx context.Context, ch sim.AlarmStateChange) {
	if ch.AlarmName != l.Names.AlarmName() || ch.Current != "ALARM" {
		return
	}
	input := fmt.Sprintf(`{"trigger":"alarm","alarm":%q}`, ch.AlarmName)
	arn, err := l.StartExecution(ctx, "failover", "", input)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.alarmErrors = append(l.alarmErrors, err)
		l.log.Error("alarm could not start failover", "err", err)
		return
	}
	l.executions = append(l.executions, arn)
	l.log.Info("alarm started failover", "execution", arn)
}

// backups runs the aggregates table's backup plan: a backup of P's table
// into P's vault every BackupEvery, copied to B's vault once complete.
func (l *Local) backups(ctx context.Context) {
	P, B := l.Regions.Primary, l.Regions.Backup
	bp := l.World.Region(P).Backup()
	role := fmt.Sprintf("arn:aws:iam::%s:role/%s-backup", l.Names.Account, l.Names.Prefix)
	for {
		job, err := bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String(l.Names.BackupVault()),
			ResourceArn: aws.String(l.Names.TableARN(P, l.Names.AggregatesTable())), IamRoleArn: aws.String(role)})
		if err == nil {
			jobID, point := aws.ToString(job.BackupJobId), aws.ToString(job.RecoveryPointArn)
			l.goLoop(func(ctx context.Context) { l.copyWhenDone(ctx, jobID, point, role, B) })
		} else if ctx.Err() == nil {
			l.log.Info("scheduled backup failed", "err", err)
		}
		if err := l.Clock.Sleep(ctx, l.opts.BackupEvery); err != nil {
			return
		}
	}
}

func (l *Local) copyWhenDone(ctx context.Context, jobID, point, role, dest string) {
	bp := l.World.Region(l.Regions.Primary).Backup()
	for range 120 {
		if err := l.Clock.Sleep(ctx, time.Minute); err != nil {
			return
		}
		out, err := bp.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: aws.String(jobID)})
		if err != nil {
			continue
		}
		switch out.State {
		case backuptypes.BackupJobStateCompleted:
			if _, err := bp.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: aws.String(l.Names.BackupVault()),
				RecoveryPointArn: aws.String(point), DestinationBackupVaultArn: aws.String(l.Names.BackupVaultARN(dest)), IamRoleArn: aws.String(role)}); err != nil {
				l.log.Info("backup copy failed", "err", err)
			}
			return
		case backuptypes.BackupJobStateFailed, backuptypes.BackupJobStateAborted, backuptypes.BackupJobStateExpired:
			return
		}
	}
}
