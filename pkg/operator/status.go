package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

func init() {
	register(&Command{
		Name:    "status",
		Summary: "the DR mode and lock, where traffic goes, the last drill, backup and replication freshness, alarms, B's dormant stack",
		help: `Reads, without changing anything: the DR mode and lock (B's control record), the region
the accelerator sends traffic to (endpoint weights, us-west-2's API), the last drill and its
verdict, the age of the newest recovery point of P's aggregates table in B's vault, S3
replication latency and backlog of P's buckets (B's CloudWatch), the installation's alarms,
B's workload stack (its Active parameter against the mode) and the readiness check.
Each part is read on its own: one that cannot be read says why, and the others are shown.`,
		flags: func(inv *invocation) {
			inv.boolean("json", "print the status as one JSON document")
		},
		check: noArguments,
		run:   runStatus,
	})
}

// Status is what `pendulum status` reports. Each part has Error set when
// it could not be read.
type Status struct {
	Installation  InstallationStatus  `json:"installation"`
	At            time.Time           `json:"at"`
	Mode          ModeStatus          `json:"mode"`
	Traffic       TrafficStatus       `json:"traffic"`
	LastDrill     DrillStatus         `json:"lastDrill"`
	RecoveryPoint RecoveryPointStatus `json:"recoveryPoint"`
	Replication   ReplicationStatus   `json:"replication"`
	Alarms        AlarmsStatus        `json:"alarms"`
	BackupStack   StackStatus         `json:"backupStack"`
	Readiness     ReadinessStatus     `json:"readiness"`
	Errors        []string            `json:"errors,omitempty"`
}

// InstallationStatus names the installation.
type InstallationStatus struct {
	Prefix  string `json:"prefix"`
	Account string `json:"account"`
	Primary string `json:"primaryRegion"`
	Backup  string `json:"backupRegion"`
	Where   string `json:"where"`
}

// ModeStatus is B's control record.
type ModeStatus struct {
	drapi.ControlRecord
	// Exists is false when the record was never written (PRIMARY).
	Exists bool   `json:"exists"`
	Error  string `json:"error,omitempty"`
}

// TrafficStatus is where the accelerator sends new connections.
type TrafficStatus struct {
	Accelerator string `json:"accelerator,omitempty"`
	// Active are the regions whose endpoint group has an endpoint with
	// weight > 0 and a traffic dial > 0.
	Active []string        `json:"active"`
	Groups []EndpointGroup `json:"groups,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// EndpointGroup is one region's group of the accelerator's listener.
type EndpointGroup struct {
	Region    string     `json:"region"`
	Dial      float32    `json:"trafficDialPercentage"`
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one endpoint of a group.
type Endpoint struct {
	ID     string `json:"id"`
	Weight int32  `json:"weight"`
	Health string `json:"health"`
}

// DrillStatus is the last execution of the drill state machine.
type DrillStatus struct {
	Execution string     `json:"execution,omitempty"`
	Status    string     `json:"status,omitempty"`
	Mode      string     `json:"mode,omitempty"`
	Passed    *bool      `json:"passed,omitempty"`
	Started   *time.Time `json:"started,omitempty"`
	Stopped   *time.Time `json:"stopped,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// RecoveryPointStatus is the newest copy of P's aggregates table in B's
// vault.
type RecoveryPointStatus struct {
	Vault      string     `json:"vault"`
	Resource   string     `json:"resource"`
	ARN        string     `json:"arn,omitempty"`
	Created    *time.Time `json:"created,omitempty"`
	AgeSeconds float64    `json:"ageSeconds,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// ReplicationStatus is the S3 replication of P's buckets to B.
type ReplicationStatus struct {
	Rules []ReplicationRule `json:"rules"`
	Note  string            `json:"note,omitempty"`
	Error string            `json:"error,omitempty"`
}

// ReplicationRule is one replication rule's last datapoints.
type ReplicationRule struct {
	SourceBucket      string     `json:"sourceBucket"`
	DestinationBucket string     `json:"destinationBucket"`
	RuleID            string     `json:"ruleId"`
	LatencySeconds    *float64   `json:"latencySeconds"`
	PendingOperations *float64   `json:"pendingOperations"`
	PendingBytes      *float64   `json:"pendingBytes"`
	At                *time.Time `json:"at"`
}

// AlarmsStatus is the installation's alarms in B.
type AlarmsStatus struct {
	Alarms []Alarm `json:"alarms"`
	Error  string  `json:"error,omitempty"`
}

// Alarm is one alarm's state.
type Alarm struct {
	Name   string     `json:"name"`
	State  string     `json:"state"`
	Since  *time.Time `json:"since,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// StackStatus is B's workload stack: dormant (Active=false) unless failed
// over.
type StackStatus struct {
	Stack  string `json:"stack"`
	Status string `json:"status,omitempty"`
	Active string `json:"active,omitempty"`
	// Parity is "ok" when Active matches the DR mode, "transition" while
	// a workflow holds the lock, "MISMATCH" otherwise.
	Parity string `json:"parity,omitempty"`
	Detail string `json:"detail,omitempty"`
	Error  string `json:"error,omitempty"`
}

// ReadinessStatus is the seam for the readiness check: this version of
// Pendulum deploys none, so it reads nothing and says so. The readiness
// check, when it lands, fills State and Detail from what it publishes.
type ReadinessStatus struct {
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
}

// The readiness states status reports: the check's newest verdict, none in
// the window, or unreadable.
const (
	ReadinessReady    = "ready"
	ReadinessNotReady = "not ready"
	ReadinessNoResult = "no result"
	ReadinessUnknown  = "unknown"
)

// noArguments refuses positional arguments.
func noArguments(inv *invocation) error {
	if len(inv.args) > 0 {
		return Usagef("unexpected argument %q (flags come before arguments)", inv.args[0])
	}
	return nil
}

func runStatus(ctx context.Context, inv *invocation) error {
	st := ReadStatus(ctx, inv.session)
	if inv.getBool("json") {
		enc := json.NewEncoder(inv.env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else if err := st.WriteText(inv.env.Stdout); err != nil {
		return err
	}
	if len(st.Errors) > 0 {
		return &exitError{code: ExitFailed}
	}
	return nil
}

// ReadStatus reads every part of the status; a part that cannot be read
// has its Error set and is listed in Errors.
func ReadStatus(ctx context.Context, s *Session) *Status {
	n, r := s.Names, s.Regions
	st := &Status{At: s.Clock.Now().UTC(), Installation: InstallationStatus{Prefix: n.Prefix, Account: n.Account, Primary: r.Primary, Backup: r.Backup, Where: s.Where}}
	note := func(part string, err error) string {
		if err == nil {
			return ""
		}
		st.Errors = append(st.Errors, part+": "+err.Error())
		return err.Error()
	}
	rec, exists, err := drapi.ReadControl(ctx, s.Clients.DynamoDB, n.ControlTable())
	st.Mode = ModeStatus{ControlRecord: rec, Exists: exists, Error: note("mode", err)}
	st.Traffic = readTraffic(ctx, s)
	note("traffic", errOf(st.Traffic.Error))
	st.LastDrill = readLastDrill(ctx, s)
	note("last drill", errOf(st.LastDrill.Error))
	st.RecoveryPoint = readRecoveryPoint(ctx, s)
	note("recovery point", errOf(st.RecoveryPoint.Error))
	st.Replication = readReplication(ctx, s)
	note("replication", errOf(st.Replication.Error))
	st.Alarms = readAlarms(ctx, s)
	note("alarms", errOf(st.Alarms.Error))
	st.BackupStack = readBackupStack(ctx, s, st.Mode)
	note("backup stack", errOf(st.BackupStack.Error))
	st.Readiness = readReadiness(ctx, s)
	return st
}

type stringError string

func (e stringError) Error() string { return string(e) }

func errOf(s string) error {
	if s == "" {
		return nil
	}
	return stringError(s)
}

// readTraffic finds the accelerator by its name and reads its listeners'
// endpoint groups: a region is active when an endpoint of its group has
// weight > 0 and the group's dial is > 0 (dr-traffic moves traffic with
// weights, docs/aws-facts.md "Global Accelerator").
func readTraffic(ctx context.Context, s *Session) TrafficStatus {
	var ts TrafficStatus
	fail := func(err error) TrafficStatus { ts.Error = err.Error(); return ts }
	var token *string
	for {
		out, err := s.Clients.GA.ListAccelerators(ctx, &globalaccelerator.ListAcceleratorsInput{NextToken: token})
		if err != nil {
			return fail(fmt.Errorf("list accelerators (%s): %w", topology.GlobalRegion, err))
		}
		for _, a := range out.Accelerators {
			if aws.ToString(a.Name) == s.Names.Accelerator() {
				ts.Accelerator = aws.ToString(a.AcceleratorArn)
			}
		}
		if token = out.NextToken; token == nil || ts.Accelerator != "" {
			break
		}
	}
	if ts.Accelerator == "" {
		return fail(fmt.Errorf("no accelerator named %q", s.Names.Accelerator()))
	}
	ls, err := s.Clients.GA.ListListeners(ctx, &globalaccelerator.ListListenersInput{AcceleratorArn: aws.String(ts.Accelerator)})
	if err != nil {
		return fail(fmt.Errorf("list listeners of %s: %w", ts.Accelerator, err))
	}
	active := map[string]bool{}
	for _, l := range ls.Listeners {
		gs, err := s.Clients.GA.ListEndpointGroups(ctx, &globalaccelerator.ListEndpointGroupsInput{ListenerArn: l.ListenerArn})
		if err != nil {
			return fail(fmt.Errorf("list endpoint groups of %s: %w", aws.ToString(l.ListenerArn), err))
		}
		for _, g := range gs.EndpointGroups {
			eg := EndpointGroup{Region: aws.ToString(g.EndpointGroupRegion), Dial: aws.ToFloat32(g.TrafficDialPercentage)}
			for _, e := range g.EndpointDescriptions {
				eg.Endpoints = append(eg.Endpoints, Endpoint{ID: aws.ToString(e.EndpointId), Weight: aws.ToInt32(e.Weight), Health: string(e.HealthState)})
				if aws.ToInt32(e.Weight) > 0 && eg.Dial > 0 {
					active[eg.Region] = true
				}
			}
			ts.Groups = append(ts.Groups, eg)
		}
	}
	ts.Active = []string{}
	for reg := range active {
		ts.Active = append(ts.Active, reg)
	}
	sort.Strings(ts.Active)
	return ts
}

// readLastDrill reads the newest execution of the drill state machine and
// its report's verdict.
func readLastDrill(ctx context.Context, s *Session) DrillStatus {
	var ds DrillStatus
	out, err := s.Clients.SFN.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.machineARN(drapi.WorkflowDrill)), MaxResults: 1})
	if err != nil {
		ds.Error = fmt.Sprintf("list drill executions: %v", err)
		return ds
	}
	if len(out.Executions) == 0 {
		return ds
	}
	x := out.Executions[0]
	ds.Execution, ds.Status, ds.Started, ds.Stopped = aws.ToString(x.ExecutionArn), string(x.Status), x.StartDate, x.StopDate
	d, err := s.Clients.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
	if err != nil {
		ds.Error = fmt.Sprintf("describe %s: %v", ds.Execution, err)
		return ds
	}
	var in struct {
		Mode string `json:"mode"`
	}
	_ = json.Unmarshal([]byte(aws.ToString(d.Input)), &in)
	ds.Mode = in.Mode
	if ds.Mode == "" {
		ds.Mode = "isolated"
	}
	var o struct {
		Report *drapi.ReportOutput `json:"report"`
	}
	if d.Status == sfntypes.ExecutionStatusSucceeded && json.Unmarshal([]byte(aws.ToString(d.Output)), &o) == nil && o.Report != nil {
		ds.Passed = aws.Bool(o.Report.Passed)
	} else if d.Status == sfntypes.ExecutionStatusFailed || d.Status == sfntypes.ExecutionStatusTimedOut || d.Status == sfntypes.ExecutionStatusAborted {
		ds.Passed = aws.Bool(false)
	}
	return ds
}

// readRecoveryPoint reads the newest completed copy of P's aggregates
// table in B's vault: what a failover restores when P's point-in-time
// restore cannot run.
func readRecoveryPoint(ctx context.Context, s *Session) RecoveryPointStatus {
	n := s.Names
	rs := RecoveryPointStatus{Vault: n.BackupVault(), Resource: n.TableARN(s.Regions.Primary, n.AggregatesTable())}
	p, err := drapi.LatestRecoveryPoint(ctx, s.Clients.Backup, rs.Vault, rs.Resource)
	if err != nil {
		rs.Error = err.Error()
		return rs
	}
	if p != nil {
		rs.ARN, rs.Created = aws.ToString(p.RecoveryPointArn), p.CreationDate
		rs.AgeSeconds = s.Clock.Now().Sub(aws.ToTime(p.CreationDate)).Seconds()
	}
	return rs
}

// readReplication lists the replication metrics of P's buckets in B's
// CloudWatch and reads each rule's newest datapoints.
func readReplication(ctx context.Context, s *Session) ReplicationStatus {
	rs := ReplicationStatus{Rules: []ReplicationRule{}}
	n, P := s.Names, s.Regions.Primary
	ours := func(bucket string) bool {
		return strings.HasPrefix(bucket, n.Prefix+"-") && strings.HasSuffix(bucket, "-"+n.Account+"-"+P)
	}
	var metrics []cwtypes.Metric
	var token *string
	for {
		out, err := s.Clients.CloudWatch.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String(topology.S3MetricNamespace), MetricName: aws.String(topology.S3ReplicationLatency), NextToken: token})
		if err != nil {
			rs.Error = fmt.Sprintf("list %s %s metrics in %s: %v", topology.S3MetricNamespace, topology.S3ReplicationLatency, s.Regions.Backup, err)
			return rs
		}
		metrics = append(metrics, out.Metrics...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	now := s.Clock.Now()
	for _, m := range metrics {
		dim := map[string]string{}
		for _, d := range m.Dimensions {
			dim[aws.ToString(d.Name)] = aws.ToString(d.Value)
		}
		if !ours(dim[topology.S3DimensionSourceBucket]) {
			continue
		}
		rule := ReplicationRule{SourceBucket: dim[topology.S3DimensionSourceBucket], DestinationBucket: dim[topology.S3DimensionDestinationBucket], RuleID: dim[topology.S3DimensionRuleID]}
		for name, dst := range map[string]**float64{topology.S3ReplicationLatency: &rule.LatencySeconds, topology.S3OperationsPendingReplication: &rule.PendingOperations, topology.S3BytesPendingReplication: &rule.PendingBytes} {
			v, at, err := lastDatapoint(ctx, s.Clients.CloudWatch, name, m.Dimensions, now)
			if err != nil {
				rs.Error = fmt.Sprintf("read %s of %s: %v", name, rule.SourceBucket, err)
				return rs
			}
			if at != nil {
				*dst = v
				if rule.At == nil || at.After(*rule.At) {
					rule.At = at
				}
			}
		}
		rs.Rules = append(rs.Rules, rule)
	}
	sort.Slice(rs.Rules, func(i, j int) bool { return rs.Rules[i].SourceBucket < rs.Rules[j].SourceBucket })
	if len(rs.Rules) == 0 {
		rs.Note = fmt.Sprintf("no replication metrics of %s's buckets in %s's CloudWatch yet: S3 publishes them in the destination's region, starting 15 minutes after RTC is enabled", P, s.Regions.Backup)
	}
	return rs
}

// lastDatapoint returns the newest one-minute Maximum of an AWS/S3 metric
// in the past 30 minutes, or a nil time when there is none.
func lastDatapoint(ctx context.Context, cw CloudWatch, name string, dims []cwtypes.Dimension, now time.Time) (*float64, *time.Time, error) {
	return newestDatapoint(ctx, cw, topology.S3MetricNamespace, name, dims, now.Add(-30*time.Minute), now, 60, cwtypes.StatisticMaximum)
}

// newestDatapoint returns the statistic of a metric's newest datapoint
// between from and to, or a nil time when there is none.
func newestDatapoint(ctx context.Context, cw CloudWatch, namespace, name string, dims []cwtypes.Dimension, from, to time.Time, period int32, stat cwtypes.Statistic) (*float64, *time.Time, error) {
	out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String(namespace), MetricName: aws.String(name), Dimensions: dims,
		StartTime: aws.Time(from), EndTime: aws.Time(to), Period: aws.Int32(period), Statistics: []cwtypes.Statistic{stat},
	})
	if err != nil {
		return nil, nil, err
	}
	var best *cwtypes.Datapoint
	for i := range out.Datapoints {
		if d := &out.Datapoints[i]; best == nil || aws.ToTime(d.Timestamp).After(aws.ToTime(best.Timestamp)) {
			best = d
		}
	}
	if best == nil {
		return nil, nil, nil
	}
	v := best.Maximum
	if stat == cwtypes.StatisticMinimum {
		v = best.Minimum
	}
	return v, best.Timestamp, nil
}

// readAlarms reads the installation's alarms (names start with the
// prefix) in B.
func readAlarms(ctx context.Context, s *Session) AlarmsStatus {
	as := AlarmsStatus{Alarms: []Alarm{}}
	var token *string
	for {
		out, err := s.Clients.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(s.Names.Prefix + "-"), NextToken: token})
		if err != nil {
			as.Error = fmt.Sprintf("describe alarms in %s: %v", s.Regions.Backup, err)
			return as
		}
		for _, a := range out.MetricAlarms {
			as.Alarms = append(as.Alarms, Alarm{Name: aws.ToString(a.AlarmName), State: string(a.StateValue), Since: a.StateUpdatedTimestamp, Reason: aws.ToString(a.StateReason)})
		}
		for _, a := range out.CompositeAlarms {
			as.Alarms = append(as.Alarms, Alarm{Name: aws.ToString(a.AlarmName), State: string(a.StateValue), Since: a.StateUpdatedTimestamp, Reason: aws.ToString(a.StateReason)})
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	sort.Slice(as.Alarms, func(i, j int) bool { return as.Alarms[i].Name < as.Alarms[j].Name })
	return as
}

// readBackupStack reads B's workload stack and checks its Active
// parameter against the DR mode: dormant in PRIMARY, active once failed
// over; either while a workflow holds the lock.
func readBackupStack(ctx context.Context, s *Session, mode ModeStatus) StackStatus {
	ss := StackStatus{Stack: s.Names.Stack("workload", s.Regions.Backup)}
	out, err := s.Clients.CloudFormation.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(ss.Stack)})
	if err != nil {
		ss.Error = fmt.Sprintf("describe %s: %v", ss.Stack, err)
		return ss
	}
	if len(out.Stacks) == 0 {
		ss.Error = fmt.Sprintf("stack %s not found", ss.Stack)
		return ss
	}
	st := out.Stacks[0]
	ss.Status = string(st.StackStatus)
	for _, p := range st.Parameters {
		if aws.ToString(p.ParameterKey) == topology.ActiveParameter {
			ss.Active = aws.ToString(p.ParameterValue)
		}
	}
	if mode.Error != "" {
		return ss
	}
	want := map[string]string{drapi.ModePrimary: "false", drapi.ModeFailedOver: "true"}[mode.Mode]
	switch {
	case want == "":
		ss.Parity, ss.Detail = "transition", fmt.Sprintf("%s holds the lock: %s=%s while it runs", mode.Workflow, topology.ActiveParameter, ss.Active)
	case ss.Active == want:
		ss.Parity, ss.Detail = "ok", fmt.Sprintf("%s=%s, as %s wants", topology.ActiveParameter, ss.Active, mode.Mode)
	default:
		ss.Parity, ss.Detail = "MISMATCH", fmt.Sprintf("%s=%s but the mode %s wants %s", topology.ActiveParameter, ss.Active, mode.Mode, want)
	}
	if strings.HasSuffix(ss.Status, "_FAILED") || strings.Contains(ss.Status, "ROLLBACK") {
		ss.Detail += "; the stack's last operation did not complete (" + ss.Status + ")"
	}
	return ss
}

// readinessWindow is how far back status looks for the readiness check's
// last run: its schedule is at most a day apart (pendulum:readinessSchedule).
const readinessWindow = 25 * time.Hour

// readReadiness reads the readiness check's newest verdict (the Ready
// metric in B) and, when not ready, which of its checks failed in that run
// (ReadinessCheck by Check). Five-minute periods: 25 hours in one call.
func readReadiness(ctx context.Context, s *Session) ReadinessStatus {
	cw, now := s.Clients.CloudWatch, s.Clock.Now()
	from := now.Add(-readinessWindow)
	v, at, err := newestDatapoint(ctx, cw, topology.MetricNamespace, topology.MetricReady, nil, from, now, 300, cwtypes.StatisticMinimum)
	if err != nil {
		return ReadinessStatus{State: ReadinessUnknown, Detail: fmt.Sprintf("read %s/%s in %s: %v", topology.MetricNamespace, topology.MetricReady, s.Regions.Backup, err)}
	}
	if at == nil {
		return ReadinessStatus{State: ReadinessNoResult, Detail: fmt.Sprintf("no %s datapoint in %s's CloudWatch in the last %s: the readiness function has not run (make verify-deploy runs it once)", topology.MetricReady, s.Regions.Backup, duration(readinessWindow))}
	}
	when := at.UTC().Format(time.RFC3339)
	if aws.ToFloat64(v) >= 1 {
		return ReadinessStatus{State: ReadinessReady, Detail: "every check passed in the run of the period starting " + when}
	}
	var failed []string
	var token *string
	for {
		out, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String(topology.MetricNamespace), MetricName: aws.String(topology.MetricReadinessCheck), NextToken: token})
		if err != nil {
			return ReadinessStatus{State: ReadinessNotReady, Detail: fmt.Sprintf("not ready in the period starting %s; its checks could not be listed: %v", when, err)}
		}
		for _, m := range out.Metrics {
			c, cat, err := newestDatapoint(ctx, cw, topology.MetricNamespace, topology.MetricReadinessCheck, m.Dimensions, *at, at.Add(5*time.Minute), 300, cwtypes.StatisticMinimum)
			if err == nil && cat != nil && aws.ToFloat64(c) < 1 {
				for _, d := range m.Dimensions {
					if aws.ToString(d.Name) == topology.ReadinessDimensionCheck {
						failed = append(failed, aws.ToString(d.Value))
					}
				}
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	sort.Strings(failed)
	return ReadinessStatus{State: ReadinessNotReady, Detail: fmt.Sprintf("in the period starting %s, failed: %s (the readiness function's log and the DR topic say why)", when, strings.Join(failed, ", "))}
}

// WriteText writes the status for a person.
func (st *Status) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	in := st.Installation
	fmt.Fprintf(tw, "Pendulum %s\tP %s, B %s, account %s (%s), at %s\n", in.Prefix, in.Primary, in.Backup, in.Account, in.Where, st.At.Format(time.RFC3339))
	ago := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return duration(st.At.Sub(*t)) + " ago"
	}
	// mode
	switch m := st.Mode; {
	case m.Error != "":
		fmt.Fprintf(tw, "DR mode\tunknown: %s\n", m.Error)
	default:
		line := m.Mode
		if m.Execution != "" && (m.Mode == drapi.ModeFailingOver || m.Mode == drapi.ModeFailingBack) {
			line += fmt.Sprintf(", lock held by %s execution %s", m.Workflow, short(m.Execution))
			if m.Committed {
				line += " (committed: it may have changed the installation)"
			} else {
				line += " (not committed: nothing changed yet)"
			}
			if m.Failed {
				line += ", its Catch path ran: a re-run resumes"
			}
		} else {
			line += ", no lock held"
		}
		if m.Since != "" {
			line += ", since " + m.Since
		}
		if !m.Exists {
			line += " (no control record yet)"
		}
		fmt.Fprintf(tw, "DR mode\t%s\n", line)
		if m.RestorePending {
			fmt.Fprintf(tw, "restore\tPENDING (%s): retry with `pendulum failover --retry-restore`\n", m.DegradedReason)
		}
		if m.LastError != "" {
			fmt.Fprintf(tw, "last error\t%s\n", oneLine(m.LastError, 160))
		}
	}
	// traffic
	if t := st.Traffic; t.Error != "" {
		fmt.Fprintf(tw, "traffic\tunknown: %s\n", t.Error)
	} else {
		var parts []string
		for _, g := range t.Groups {
			var ws []string
			for _, e := range g.Endpoints {
				ws = append(ws, fmt.Sprintf("weight %d %s", e.Weight, strings.ToLower(e.Health)))
			}
			if len(ws) == 0 {
				ws = []string{"no endpoint"}
			}
			parts = append(parts, fmt.Sprintf("%s: %s", g.Region, strings.Join(ws, ", ")))
		}
		to := strings.Join(t.Active, " and ")
		if to == "" {
			to = "no region (no endpoint with weight > 0)"
		}
		fmt.Fprintf(tw, "traffic\tto %s (%s)\n", to, strings.Join(parts, "; "))
	}
	// last drill
	switch d := st.LastDrill; {
	case d.Error != "":
		fmt.Fprintf(tw, "last drill\tunknown: %s\n", d.Error)
	case d.Execution == "":
		fmt.Fprintf(tw, "last drill\tnone yet\n")
	default:
		verdict := ""
		if d.Passed != nil {
			verdict = map[bool]string{true: ", PASSED", false: ", FAILED"}[*d.Passed]
		}
		fmt.Fprintf(tw, "last drill\t%s %s %s%s, started %s\n", d.Mode, short(d.Execution), d.Status, verdict, ago(d.Started))
	}
	// recovery point
	switch p := st.RecoveryPoint; {
	case p.Error != "":
		fmt.Fprintf(tw, "recovery point\tunknown: %s\n", p.Error)
	case p.ARN == "":
		fmt.Fprintf(tw, "recovery point\tnone of %s in vault %s: a failover with P down cannot restore the aggregates\n", short(p.Resource), p.Vault)
	default:
		fmt.Fprintf(tw, "recovery point\t%s old (%s) in vault %s\n", duration(time.Duration(p.AgeSeconds*float64(time.Second))), p.Created.UTC().Format(time.RFC3339), p.Vault)
	}
	// replication
	switch r := st.Replication; {
	case r.Error != "":
		fmt.Fprintf(tw, "replication\tunknown: %s\n", r.Error)
	case len(r.Rules) == 0:
		fmt.Fprintf(tw, "replication\t%s\n", r.Note)
	default:
		for i, rule := range r.Rules {
			label := ""
			if i == 0 {
				label = "replication"
			}
			num := func(v *float64, unit string) string {
				if v == nil {
					return "no data"
				}
				return fmt.Sprintf("%.0f%s", *v, unit)
			}
			fmt.Fprintf(tw, "%s\t%s → %s: latency %s, pending %s operations (%s bytes), %s\n", label, rule.SourceBucket, rule.DestinationBucket,
				num(rule.LatencySeconds, "s"), num(rule.PendingOperations, ""), num(rule.PendingBytes, ""), ago(rule.At))
		}
	}
	// alarms
	switch a := st.Alarms; {
	case a.Error != "":
		fmt.Fprintf(tw, "alarms\tunknown: %s\n", a.Error)
	case len(a.Alarms) == 0:
		fmt.Fprintf(tw, "alarms\tnone named %s-*\n", in.Prefix)
	default:
		for i, al := range a.Alarms {
			label := ""
			if i == 0 {
				label = "alarms"
			}
			fmt.Fprintf(tw, "%s\t%s %s, %s\n", label, al.Name, al.State, ago(al.Since))
		}
	}
	// backup stack
	if b := st.BackupStack; b.Error != "" {
		fmt.Fprintf(tw, "backup stack\tunknown: %s\n", b.Error)
	} else {
		fmt.Fprintf(tw, "backup stack\t%s %s, %s\n", b.Stack, b.Status, strings.TrimSpace(b.Parity+": "+b.Detail))
	}
	fmt.Fprintf(tw, "readiness\t%s (%s)\n", st.Readiness.State, st.Readiness.Detail)
	return tw.Flush()
}

// oneLine shortens s to at most n runes on one line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
