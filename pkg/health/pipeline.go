package health

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
)

// # Pipeline freshness ("deep health")
//
// A front door that answers 200 says nothing about the pipeline behind it:
// the primary's aggregate consumer may fail every batch while ingest keeps
// accepting records. So, for one target (PIPELINE_TARGET, the primary's
// regional endpoint), the prober also reads the primary's aggregates table
// (PIPELINE_TABLE in PIPELINE_REGION): the consumer raises its canary
// heartbeat (pkg/aggregate, heartbeat.go) to the ingest time of the newest
// canary it got past, so now − that time is how far behind the pipeline
// is. The pipeline is fresh when that lag is at most the maximum
// (PIPELINE_MAX_LAG_SECONDS, DefaultPipelineMaxLag). The canary this round
// just sent is never expected yet: with a canary a minute, a keeping-up
// pipeline shows a lag of about a minute.
//
// The check runs only when that target answered both requests in the same
// round. A front door that does not answer is EndpointHealthy's business
// (and failover's): an outage stalls the pipeline too, but counting it
// here would report one outage twice. So during an outage the pipeline
// metrics have no datapoints, and right after it one round is stale (the
// canaries sent during the outage were refused, none was counted since):
// the alarm on PipelineFresh needs more than one stale minute.
//
// Metrics, on the target's EMF line (same dimensions):
//
//	PipelineFresh       1 when the lag is at most the maximum; 0 when it is
//	                    more, no canary was ever counted, or the table could
//	                    not be read
//	PipelineLagSeconds  now − the ingest time of the newest canary counted;
//	                    absent when unknown (nothing counted, table unreadable)

// DefaultPipelineMaxLag is the lag beyond which the pipeline is stale when
// PIPELINE_MAX_LAG_SECONDS is not set: three canary rounds, so that a
// pipeline keeping up (about a minute behind, the canary being one a
// minute) with a round or two missed is still fresh.
const DefaultPipelineMaxLag = 3 * time.Minute

// The range PIPELINE_MAX_LAG_SECONDS accepts: more than the minute
// between canaries (or every round would be stale), at most an hour.
const (
	MinPipelineMaxLag = 90 * time.Second
	MaxPipelineMaxLag = time.Hour
)

// The variables of the pipeline check. All are optional together: without
// PIPELINE_TABLE there is no pipeline check, and the others must then be
// unset too.
const (
	// EnvPipelineTable names the variable holding the primary's aggregates
	// table, whose heartbeat the check reads.
	EnvPipelineTable = "PIPELINE_TABLE"
	// EnvPipelineRegion names the variable holding that table's region.
	EnvPipelineRegion = "PIPELINE_REGION"
	// EnvPipelineTarget names the variable holding the name of the target
	// (one of TARGETS) whose canaries feed that table: the check runs when
	// it answered, and its metrics go on its EMF line.
	EnvPipelineTarget = "PIPELINE_TARGET"
	// EnvPipelineMaxLagSeconds names the optional variable holding the
	// maximum lag in seconds (DefaultPipelineMaxLag when unset).
	EnvPipelineMaxLagSeconds = "PIPELINE_MAX_LAG_SECONDS"
)

// Metric names of the pipeline check, shared with the alarm in the CDK
// app.
const (
	MetricPipelineFresh = "PipelineFresh"
	MetricPipelineLag   = "PipelineLagSeconds"
	emfUnitSeconds      = "Seconds"
)

// PipelineConfig is the pipeline check's configuration.
type PipelineConfig struct {
	// Target is the target whose canaries feed the table (PIPELINE_TARGET).
	Target string
	// Table and Region are the primary's aggregates table (PIPELINE_TABLE,
	// PIPELINE_REGION).
	Table, Region string
	// MaxLag is the most lag that is fresh (PIPELINE_MAX_LAG_SECONDS).
	MaxLag time.Duration
}

// pipelineFromEnv reads the pipeline check's variables: nil without
// PIPELINE_TABLE. targets are the parsed TARGETS (nil when they did not
// parse, so the target cannot be checked against them).
func pipelineFromEnv(getenv func(string) string, targets []Target) (*PipelineConfig, []string) {
	table := strings.TrimSpace(getenv(EnvPipelineTable))
	region := strings.TrimSpace(getenv(EnvPipelineRegion))
	target := strings.TrimSpace(getenv(EnvPipelineTarget))
	lag := strings.TrimSpace(getenv(EnvPipelineMaxLagSeconds))
	if table == "" {
		var set []string
		for name, v := range map[string]string{EnvPipelineRegion: region, EnvPipelineTarget: target, EnvPipelineMaxLagSeconds: lag} {
			if v != "" {
				set = append(set, name)
			}
		}
		if len(set) > 0 {
			slices.Sort(set)
			return nil, []string{fmt.Sprintf("%s is set without %s (the pipeline check needs the table to read)", strings.Join(set, ", "), EnvPipelineTable)}
		}
		return nil, nil
	}
	var problems []string
	c := &PipelineConfig{Table: table, Region: region, Target: target, MaxLag: DefaultPipelineMaxLag}
	if region == "" {
		problems = append(problems, EnvPipelineRegion+" is not set (the region of "+EnvPipelineTable+")")
	}
	switch {
	case target == "":
		problems = append(problems, EnvPipelineTarget+" is not set (the target, one of "+EnvTargets+", whose canaries feed "+EnvPipelineTable+")")
	case targets != nil && !hasTarget(targets, target):
		problems = append(problems, fmt.Sprintf("%s=%q names no target of %s", EnvPipelineTarget, target, EnvTargets))
	}
	if lag != "" {
		s, err := strconv.Atoi(lag)
		if d := time.Duration(s) * time.Second; err != nil || d < MinPipelineMaxLag || d > MaxPipelineMaxLag {
			problems = append(problems, fmt.Sprintf("%s=%q is not a whole number of seconds in %.0f..%.0f (more than the minute between canaries)",
				EnvPipelineMaxLagSeconds, lag, MinPipelineMaxLag.Seconds(), MaxPipelineMaxLag.Seconds()))
		} else {
			c.MaxLag = d
		}
	}
	return c, problems
}

func hasTarget(ts []Target, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

// HeartbeatReader is the part of the DynamoDB API the pipeline check uses.
// *dynamodb.Client and the simulator satisfy it.
type HeartbeatReader interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Pipeline is the pipeline check of one target.
type Pipeline struct {
	PipelineConfig
	// DB reads the table (a client of Region).
	DB HeartbeatReader
}

// PipelineResult is one round's pipeline check.
type PipelineResult struct {
	Fresh bool `json:"fresh"`
	// LagSeconds is now − the ingest time of the newest canary counted;
	// nil when unknown.
	LagSeconds *float64 `json:"lagSeconds,omitempty"`
	// Canary is the newest canary counted.
	Canary string `json:"canary,omitempty"`
	// Error says why the pipeline is not fresh.
	Error string `json:"error,omitempty"`
}

// check reads the heartbeat and judges the lag at now. Any failure to
// read it counts as not fresh, and says so in the result and the log.
func (p *Pipeline) check(ctx context.Context, timeout time.Duration, now func() time.Time, log *slog.Logger) *PipelineResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := &PipelineResult{}
	where := fmt.Sprintf("table %s in %s", p.Table, p.Region)
	out, err := p.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(p.Table), Key: aggregate.HeartbeatKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		res.Error = fmt.Sprintf("read the canary heartbeat from %s: %v", where, err)
		log.WarnContext(ctx, "pipeline check failed: counted as not fresh", "target", p.Target, "error", res.Error)
		return res
	}
	if out.Item == nil {
		res.Error = fmt.Sprintf("no canary counted yet in %s (no heartbeat item)", where)
		log.WarnContext(ctx, "pipeline check: no canary counted yet, counted as not fresh", "target", p.Target, "error", res.Error)
		return res
	}
	hb, err := aggregate.ParseHeartbeat(out.Item)
	if err != nil {
		res.Error = fmt.Sprintf("canary heartbeat in %s: %v", where, err)
		log.WarnContext(ctx, "pipeline check failed: counted as not fresh", "target", p.Target, "error", res.Error)
		return res
	}
	// Clocks of two regions: a heartbeat a little in the future is no lag.
	lag := math.Max(now().Sub(hb.Received).Seconds(), 0)
	res.LagSeconds, res.Canary = &lag, hb.ID
	res.Fresh = lag <= p.MaxLag.Seconds()
	if !res.Fresh {
		res.Error = fmt.Sprintf("pipeline behind: the newest canary counted in %s (%s) was accepted %.0fs ago, more than %.0fs",
			where, hb.ID, lag, p.MaxLag.Seconds())
		log.WarnContext(ctx, "pipeline stale", "target", p.Target, "lagSeconds", lag, "maxLagSeconds", p.MaxLag.Seconds(), "canary", hb.ID)
	}
	return res
}
