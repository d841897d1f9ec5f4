package readiness

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pendulum-dr/pendulum/pkg/dr"
)

// RecoveryPoint is the recoveryPoint check: the newest COMPLETED recovery
// point of c.ResourceARN in c.Vault is at most c.MaxAge old at now. The
// isolated drill's dr-verify runs this same check.
func RecoveryPoint(ctx context.Context, b dr.RecoveryPointLister, c RecoveryPointConfig, now time.Time) Result {
	res := Result{Name: CheckRecoveryPoint}
	p, err := dr.LatestRecoveryPoint(ctx, b, c.Vault, c.ResourceARN)
	if err != nil {
		res.Detail = err.Error()
		return res
	}
	if p == nil {
		res.Detail = fmt.Sprintf("vault %s holds no COMPLETED recovery point of %s: a failover with P's PITR unavailable would have nothing to restore (right after the first deployment, wait for the backup plan's first copy)", c.Vault, c.ResourceARN)
		res.Observed = map[string]any{"vault": c.Vault, "maxAgeSeconds": c.MaxAge.Seconds()}
		return res
	}
	created := aws.ToTime(p.CreationDate)
	age := now.Sub(created)
	res.OK = age <= c.MaxAge
	res.Observed = map[string]any{"vault": c.Vault, "recoveryPointArn": aws.ToString(p.RecoveryPointArn),
		"creationDate": created.UTC().Format(time.RFC3339), "ageSeconds": age.Round(time.Second).Seconds(), "maxAgeSeconds": c.MaxAge.Seconds()}
	if res.OK {
		res.Detail = fmt.Sprintf("the newest copy in %s is %s old (at most %s)", c.Vault, age.Round(time.Minute), c.MaxAge)
	} else {
		res.Detail = fmt.Sprintf("the newest copy in %s is %s old, more than %s: check the backup plan's jobs and copy jobs in P (AWS Backup console, NumberOfBackupJobsFailed, NumberOfCopyJobsFailed)", c.Vault, age.Round(time.Minute), c.MaxAge)
	}
	return res
}

// replication reads each rule's ReplicationLatency and
// OperationsPendingReplication (Maximum) of the last ReplicationWindow.
func (r *Readiness) replication(ctx context.Context, now time.Time) Result {
	res := Result{Name: CheckReplication, OK: true}
	var observed []map[string]any
	var problems []string
	for _, rule := range r.Config.Replication {
		dims := []cwtypes.Dimension{
			{Name: aws.String(S3DimensionSourceBucket), Value: aws.String(rule.Source)},
			{Name: aws.String(S3DimensionDestinationBucket), Value: aws.String(rule.Destination)},
			{Name: aws.String(S3DimensionRuleID), Value: aws.String(rule.Rule)},
		}
		latency, lok, lerr := r.maxOver(ctx, S3Namespace, S3ReplicationLatency, dims, now)
		pending, pok, perr := r.maxOver(ctx, S3Namespace, S3OperationsPendingReplication, dims, now)
		o := map[string]any{"source": rule.Source, "destination": rule.Destination, "rule": rule.Rule}
		switch {
		case lerr != nil || perr != nil:
			problems = append(problems, fmt.Sprintf("%s → %s: %v", rule.Source, rule.Destination, firstErr(lerr, perr)))
		case !lok || !pok:
			problems = append(problems, fmt.Sprintf("%s → %s (rule %s): no replication metrics in the last %s — S3 publishes them every minute while the rule's metrics are on (from 15 minutes after RTC was enabled), so P's replication may have stopped", rule.Source, rule.Destination, rule.Rule, ReplicationWindow))
		default:
			o["latencySeconds"], o["operationsPending"] = latency, pending
			if latency > ReplicationBound.Seconds() {
				problems = append(problems, fmt.Sprintf("%s → %s is %.0f s behind, beyond RTC's %s (%.0f operations pending)", rule.Source, rule.Destination, latency, ReplicationBound, pending))
			}
		}
		observed = append(observed, o)
	}
	res.Observed = observed
	if len(problems) > 0 {
		res.OK = false
		res.Detail = strings.Join(problems, "; ")
		return res
	}
	res.Detail = fmt.Sprintf("every replication rule (%d) is within %s", len(r.Config.Replication), ReplicationBound)
	return res
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// maxOver is a metric's Maximum over the last ReplicationWindow; ok is
// false without a datapoint.
func (r *Readiness) maxOver(ctx context.Context, namespace, name string, dims []cwtypes.Dimension, now time.Time) (float64, bool, error) {
	out, err := r.Metrics.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String(namespace), MetricName: aws.String(name), Dimensions: dims,
		StartTime: aws.Time(now.Add(-ReplicationWindow)), EndTime: aws.Time(now), Period: aws.Int32(int32(ReplicationWindow.Seconds())),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
	})
	if err != nil {
		return 0, false, fmt.Errorf("read %s %s: %w", namespace, name, err)
	}
	best, ok := 0.0, false
	for _, d := range out.Datapoints {
		if v := aws.ToFloat64(d.Maximum); !ok || v > best {
			best, ok = v, true
		}
	}
	return best, ok, nil
}

// placeholder is a DefinitionSubstitutions key in a raw definition, as
// CloudFormation (and pkg/statemachines) reads it.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// stateMachines compares each DR state machine's deployed definition with
// the raw definition it must have been rendered from.
func (r *Readiness) stateMachines(ctx context.Context) Result {
	res := Result{Name: CheckStateMachines, OK: true}
	var observed []map[string]any
	var problems []string
	for _, m := range r.Config.StateMachines {
		o := map[string]any{"name": m.Name, "arn": m.ARN}
		observed = append(observed, o)
		fail := func(format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			o["problem"] = msg
			problems = append(problems, m.Name+": "+msg)
		}
		raw, err := r.Definition(m.Name)
		if err != nil {
			fail("this readiness build has no definition of it: %v", err)
			continue
		}
		if DefinitionDigest(raw) != m.SHA256 {
			fail("the recovery stack was synthesized from another version of statemachines/%s.asl.json than this readiness function was built with: build and deploy both from one commit (make deploy)", m.Name)
			continue
		}
		out, err := r.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(m.ARN)})
		if err != nil {
			fail("%v", err)
			continue
		}
		if why := matchRendered(raw, aws.ToString(out.Definition)); why != "" {
			fail("the deployed definition is not statemachines/%s.asl.json as synthesized (%s): redeploy the recovery stack (make deploy), and do not edit DR state machines in the console", m.Name, why)
			continue
		}
		o["ok"] = true
	}
	res.Observed = observed
	if len(problems) > 0 {
		res.OK = false
		res.Detail = strings.Join(problems, "; ")
		return res
	}
	res.Detail = fmt.Sprintf("every DR state machine (%d) is deployed from its current definition", len(r.Config.StateMachines))
	return res
}

// renderedDef is the pattern matchRendered matches a deployed definition
// against: raw with each ${Name} a group; names are the groups' Names.
type renderedDef struct {
	re    *regexp.Regexp
	names []string
	err   error
}

// renderedPatterns holds each definition's pattern, compiled once: a
// readiness run checks every DR state machine, and a definition's pattern
// is as long as the definition.
var renderedPatterns sync.Map // string(raw) -> *renderedDef

func renderedPattern(raw []byte) *renderedDef {
	if p, ok := renderedPatterns.Load(string(raw)); ok {
		return p.(*renderedDef)
	}
	locs := placeholder.FindAllSubmatchIndex(raw, -1)
	var b strings.Builder
	b.WriteString("^")
	p := &renderedDef{}
	last := 0
	for _, l := range locs {
		b.WriteString(regexp.QuoteMeta(string(raw[last:l[0]])))
		b.WriteString(`([^"\\]*)`)
		p.names = append(p.names, string(raw[l[2]:l[3]]))
		last = l[1]
	}
	b.WriteString(regexp.QuoteMeta(string(raw[last:])))
	b.WriteString("$")
	p.re, p.err = regexp.Compile(b.String())
	actual, _ := renderedPatterns.LoadOrStore(string(raw), p)
	return actual.(*renderedDef)
}

// matchRendered reports why deployed is not raw with each ${Name} replaced
// by one value (the same wherever Name appears, with no character that
// needs JSON escaping, as CloudFormation's DefinitionSubstitutions render
// ARNs and names); "" when it is.
func matchRendered(raw []byte, deployed string) string {
	p := renderedPattern(raw)
	if p.err != nil {
		return "cannot read the definition: " + p.err.Error()
	}
	re, names := p.re, p.names
	m := re.FindStringSubmatch(deployed)
	if m == nil {
		return "its text differs"
	}
	values := map[string]string{}
	for i, n := range names {
		v := m[i+1]
		if prev, ok := values[n]; ok && prev != v {
			return fmt.Sprintf("${%s} is %q in one place and %q in another", n, prev, v)
		}
		values[n] = v
	}
	return ""
}

// traffic compares the accelerator's endpoint groups with what the DR mode
// says: the serving region's load balancer at weight 100, every endpoint of
// the other group at 0.
func (r *Readiness) traffic(ctx context.Context, rec dr.ControlRecord, recErr error, st stacksRead) Result {
	res := Result{Name: CheckTraffic}
	P, B := r.Config.PrimaryRegion, r.Config.BackupRegion
	groups := map[string][]map[string]any{}
	weights := map[string]map[string]int32{}
	for _, region := range []string{P, B} {
		arn, _ := r.Config.EndpointGroupARN(region)
		out, err := r.GA.DescribeEndpointGroup(ctx, &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(arn)})
		if err != nil {
			res.Detail = fmt.Sprintf("endpoint group of %s: %v", region, err)
			return res
		}
		weights[region] = map[string]int32{}
		groups[region] = []map[string]any{}
		for _, e := range out.EndpointGroup.EndpointDescriptions {
			id := aws.ToString(e.EndpointId)
			weights[region][id] = aws.ToInt32(e.Weight)
			groups[region] = append(groups[region], map[string]any{"endpoint": id, "weight": aws.ToInt32(e.Weight), "health": string(e.HealthState)})
		}
	}
	res.Observed = map[string]any{"mode": rec.Mode, P: groups[P], B: groups[B]}
	if recErr != nil {
		res.Detail = "cannot read the DR mode: " + recErr.Error()
		return res
	}
	var serving, other string
	switch rec.Mode {
	case dr.ModePrimary:
		serving, other = P, B
	case dr.ModeFailedOver:
		serving, other = B, P
	default:
		res.Detail = fmt.Sprintf("a DR workflow is in progress (mode %s): traffic is moving", rec.Mode)
		return res
	}
	lb := st.output(serving, "LoadBalancerArn")
	var problems []string
	switch w, ok := weights[serving][lb]; {
	case lb == "":
		// Without the stack's output the serving endpoint is the one at
		// full weight, if any.
		n := 0
		for _, w := range weights[serving] {
			if w == dr.PromotedWeight {
				n++
			}
		}
		if n == 0 {
			problems = append(problems, fmt.Sprintf("no endpoint of %s's group has weight %d (and %s's load balancer ARN could not be read: %s)", serving, dr.PromotedWeight, serving, st.problem(serving)))
		}
	case !ok:
		problems = append(problems, fmt.Sprintf("%s's load balancer %s is not in %s's endpoint group", serving, lb, serving))
	case w != dr.PromotedWeight:
		problems = append(problems, fmt.Sprintf("%s's load balancer has weight %d, not %d", serving, w, dr.PromotedWeight))
	}
	for id, w := range weights[other] {
		if w != 0 {
			problems = append(problems, fmt.Sprintf("%s's endpoint %s has weight %d, not 0: %s gets traffic", other, id, w, other))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		res.Detail = fmt.Sprintf("mode %s, but %s", rec.Mode, strings.Join(problems, "; "))
		if rec.Mode == dr.ModePrimary {
			res.Detail += `. Do not redeploy pendulum-global to fix it while failed over; see docs/deploy.md "Traffic switching depends on us-west-2"`
		}
		return res
	}
	res.OK = true
	res.Detail = fmt.Sprintf("mode %s: %s's load balancer at weight %d, %s's group at 0", rec.Mode, serving, dr.PromotedWeight, other)
	return res
}

// pitr reads the serving region's aggregates table's point-in-time
// recovery: P's unless failed over.
func (r *Readiness) pitr(ctx context.Context, rec dr.ControlRecord, recErr error) Result {
	res := Result{Name: CheckPITR}
	region := r.Config.PrimaryRegion
	if recErr == nil && (rec.Mode == dr.ModeFailedOver || rec.Mode == dr.ModeFailingBack) {
		region = r.Config.BackupRegion
	}
	table := r.Config.AggregatesTable
	db, err := r.Tables(region)
	if err != nil {
		res.Detail = err.Error()
		return res
	}
	out, err := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(table)})
	if err != nil {
		res.Detail = fmt.Sprintf("table %s in %s: %v", table, region, err)
		return res
	}
	status := ddbtypes.PointInTimeRecoveryStatus("")
	o := map[string]any{"table": table, "region": region}
	if d := out.ContinuousBackupsDescription; d != nil && d.PointInTimeRecoveryDescription != nil {
		p := d.PointInTimeRecoveryDescription
		status = p.PointInTimeRecoveryStatus
		if p.LatestRestorableDateTime != nil {
			o["latestRestorableDateTime"] = p.LatestRestorableDateTime.UTC().Format(time.RFC3339)
		}
	}
	o["status"] = string(status)
	res.Observed = o
	res.OK = status == ddbtypes.PointInTimeRecoveryStatusEnabled
	if res.OK {
		res.Detail = fmt.Sprintf("point-in-time recovery of %s in %s is ENABLED", table, region)
	} else {
		res.Detail = fmt.Sprintf("point-in-time recovery of %s in %s is %q, not ENABLED: a failover could restore only the last backup copy; turn it back on (the stack sets it: redeploy, or aws dynamodb update-continuous-backups)", table, region, status)
	}
	return res
}
