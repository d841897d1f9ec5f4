package dr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// RegionHeader is the header ingest answers with: the region that served
// the request. The probe proves with it that the accelerator routes to the
// expected region.
const RegionHeader = "X-Pendulum-Region"

// HTTPDoer sends HTTP requests (*http.Client, or an in-process ingest in
// the local drill).
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// MetricStatistics reads CloudWatch statistics.
type MetricStatistics interface {
	GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error)
}

// ProbeInput is dr-probe's input.
type ProbeInput struct {
	Op           string `json:"op"`
	URL          string `json:"url,omitempty"`
	ExpectRegion string `json:"expectRegion,omitempty"`
	Endpoint     string `json:"endpoint,omitempty"`
	Minutes      *int   `json:"minutes,omitempty"`
}

// ProbeOutput is dr-probe's output; which fields are set depends on Op.
type ProbeOutput struct {
	OK         *bool    `json:"ok,omitempty"`
	Region     string   `json:"region,omitempty"`
	LatencyMs  *int64   `json:"latencyMs,omitempty"`
	Healthy    *bool    `json:"healthy,omitempty"`
	Datapoints *int     `json:"datapoints,omitempty"`
	Minimum    *float64 `json:"minimum,omitempty"`
}

// Health metric of the canary (pkg/health), read by healthyFor.
const (
	healthNamespace = topology.MetricNamespace
	healthMetric    = topology.MetricEndpointHealthy
)

// Probe is the dr-probe step: a request through the accelerator that must
// be served by the expected region, and the check that a region's health
// canary reported healthy for a whole window.
type Probe struct {
	HTTP    HTTPDoer
	Metrics MetricStatistics
	// VantageRegion is the canary's region, the Region dimension of its
	// metrics (BACKUP_REGION).
	VantageRegion string
	Clock         clock.Clock
}

// Handle runs op probe or healthyFor.
func (p *Probe) Handle(ctx context.Context, in ProbeInput) (ProbeOutput, error) {
	switch in.Op {
	case "probe":
		return p.probe(ctx, in)
	case "healthyFor":
		return p.healthyFor(ctx, in)
	}
	return ProbeOutput{}, invalidf("op %q: want probe or healthyFor", in.Op)
}

func (p *Probe) probe(ctx context.Context, in ProbeInput) (ProbeOutput, error) {
	var problems []string
	if !strings.HasPrefix(in.URL, "http://") && !strings.HasPrefix(in.URL, "https://") {
		problems = append(problems, fmt.Sprintf("url %q: want http(s)://host", in.URL))
	}
	if in.ExpectRegion == "" {
		problems = append(problems, "expectRegion is required")
	}
	if err := invalidAll("probe input", problems); err != nil {
		return ProbeOutput{}, err
	}
	base := strings.TrimRight(in.URL, "/")
	start := p.Clock.Now()
	canary := fmt.Sprintf(`{"id":"canary-dr-%s-%d","canary":true}`, in.ExpectRegion, start.Unix())
	var served string
	for _, r := range []struct{ method, path, body string }{{http.MethodGet, "/health", ""}, {http.MethodPost, "/records", canary}} {
		region, err := p.request(ctx, r.method, base+r.path, r.body)
		if err != nil {
			// Anything but the expected answer is worth retrying: GA moves
			// new connections within a minute or two of a weight change.
			return ProbeOutput{}, transientf("%s %s: %v", r.method, r.path, err)
		}
		if region != in.ExpectRegion {
			return ProbeOutput{}, transientf("%s %s was served by %q (header %s), want %s: traffic has not moved yet", r.method, r.path, region, RegionHeader, in.ExpectRegion)
		}
		served = region
	}
	return ProbeOutput{OK: ptr(true), Region: served, LatencyMs: ptr(p.Clock.Now().Sub(start).Milliseconds())}, nil
}

func (p *Probe) request(ctx context.Context, method, url, body string) (string, error) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.Header.Get(RegionHeader), nil
}

// healthyFor reads the canary's EndpointHealthy minimum per minute over the
// last N whole minutes: healthy only when every minute has a datapoint and
// each is 1. A missing minute (the canary failed to run or report) counts
// as unhealthy: failback must not rest on silence.
func (p *Probe) healthyFor(ctx context.Context, in ProbeInput) (ProbeOutput, error) {
	var problems []string
	if in.Endpoint == "" {
		problems = append(problems, "endpoint is required (the canary target name, e.g. primary-regional)")
	}
	if in.Minutes == nil || *in.Minutes < 0 || *in.Minutes > MaxHealthyMinutes {
		problems = append(problems, fmt.Sprintf("minutes: want 0…%d", MaxHealthyMinutes))
	}
	if err := invalidAll("healthyFor input", problems); err != nil {
		return ProbeOutput{}, err
	}
	n := *in.Minutes
	if n == 0 {
		return ProbeOutput{Healthy: ptr(true), Datapoints: ptr(0)}, nil
	}
	end := p.Clock.Now().UTC().Truncate(time.Minute)
	start := end.Add(-time.Duration(n) * time.Minute)
	out, err := p.Metrics.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace:  aws.String(healthNamespace),
		MetricName: aws.String(healthMetric),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Endpoint"), Value: aws.String(in.Endpoint)}, {Name: aws.String("Region"), Value: aws.String(p.VantageRegion)}},
		StartTime:  aws.Time(start), EndTime: aws.Time(end),
		Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticMinimum},
	})
	if err != nil {
		return ProbeOutput{}, fmt.Errorf("read %s of %s: %w", healthMetric, in.Endpoint, err)
	}
	minutes := map[time.Time]float64{}
	for _, d := range out.Datapoints {
		ts := aws.ToTime(d.Timestamp).UTC().Truncate(time.Minute)
		if ts.Before(start) || !ts.Before(end) || d.Minimum == nil {
			continue
		}
		if v, seen := minutes[ts]; !seen || *d.Minimum < v {
			minutes[ts] = *d.Minimum
		}
	}
	minimum := 1.0
	for _, v := range minutes {
		minimum = min(minimum, v)
	}
	healthy := len(minutes) == n && minimum >= 1
	o := ProbeOutput{Healthy: ptr(healthy), Datapoints: ptr(len(minutes))}
	if len(minutes) > 0 {
		o.Minimum = ptr(minimum)
	}
	return o, nil
}
