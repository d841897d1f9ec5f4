// Package health is the scheduled canary that watches the primary region from
// the backup region.
//
// Every minute (EventBridge Scheduler) the health Lambda probes each
// configured endpoint (the primary's regional ingest endpoint and the Global
// Accelerator DNS name) with GET /health and one canary record
// (POST /records with {"id":"canary-<region>-<unix>","canary":true}), all
// probes concurrently, each under its own timeout. An endpoint is healthy
// when both answer 200. Results go out as CloudWatch Embedded Metric Format
// lines on stdout — no CloudWatch API call on the probe's path, so a
// throttled or impaired monitoring API cannot hide an outage — and the
// failover alarm watches EndpointHealthy.
//
// # Metrics
//
// Namespace Pendulum, dimensions Endpoint (the target's configured name) and
// Region (the region the prober runs in, i.e. the vantage point):
//
//	EndpointHealthy  1 when GET /health and the canary POST both answered 200, else 0
//	ProbeLatencyMs   wall time of the whole probe (both requests), up to the failure if one failed
//
// and, on the line of the pipeline check's target when it answered,
// PipelineFresh and PipelineLagSeconds (pipeline.go): whether the
// primary's pipeline behind that front door keeps up.
//
// Probe timeouts and latencies are wall-clock (context deadlines): in a
// simulated drill, where the prober runs on a virtual clock (Prober.Clock),
// an in-process answer takes no virtual time, and the clock only names the
// run and starts the concurrent probes so that it can account for them.
package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// Target is one endpoint to probe.
type Target struct {
	// Name is the Endpoint metric dimension, e.g. "primary-regional".
	Name string `json:"name"`
	// URL is the endpoint's base URL; /health and /records are appended.
	URL string `json:"url"`
}

// DefaultTimeout is a probe's timeout when PROBE_TIMEOUT_MS is not set. GA
// health checks themselves allow 5 s per check (docs/aws-facts.md
// "Global Accelerator": checks every 10 or 30 s), and the Lambda has a minute before the next run.
const DefaultTimeout = 5 * time.Second

// The variables Config is read from; infra sets them on the health function.
const (
	// EnvTargets names the variable holding the endpoints to probe, a JSON
	// array of {"name","url"} (Config.Targets, ParseTargets).
	EnvTargets = "TARGETS"
	// EnvProbeTimeoutMs names the optional variable holding each probe's
	// timeout in milliseconds (Config.Timeout; DefaultTimeout when unset).
	EnvProbeTimeoutMs = "PROBE_TIMEOUT_MS"
)

// Config is the health function's configuration.
type Config struct {
	// Targets (TARGETS, required): a JSON array of {"name","url"}.
	Targets []Target
	// Timeout (PROBE_TIMEOUT_MS, default 5000) bounds each probe.
	Timeout time.Duration
	// Region (AWS_REGION, required) is the vantage point, a metric dimension.
	Region string
	// Pipeline (PIPELINE_*, optional) configures the pipeline check; nil
	// without PIPELINE_TABLE.
	Pipeline *PipelineConfig
}

// ErrConfig is in the chain of every configuration error.
var ErrConfig = errors.New("invalid configuration")

// ConfigFromEnv reads the configuration through getenv (os.Getenv). The
// error names every missing or invalid variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var problems []string
	c := Config{Timeout: DefaultTimeout, Region: strings.TrimSpace(getenv("AWS_REGION"))}
	if raw := strings.TrimSpace(getenv(EnvTargets)); raw == "" {
		problems = append(problems, EnvTargets+" is not set (want a JSON array of {\"name\":…,\"url\":…})")
	} else if ts, err := ParseTargets([]byte(raw)); err != nil {
		problems = append(problems, EnvTargets+": "+err.Error())
	} else {
		c.Targets = ts
	}
	if raw := strings.TrimSpace(getenv(EnvProbeTimeoutMs)); raw != "" {
		ms, err := strconv.Atoi(raw)
		if err != nil || ms <= 0 || ms > 60_000 {
			problems = append(problems, fmt.Sprintf(EnvProbeTimeoutMs+"=%q is not a whole number of milliseconds in 1..60000", raw))
		} else {
			c.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if c.Region == "" {
		problems = append(problems, "AWS_REGION is not set")
	}
	var pp []string
	c.Pipeline, pp = pipelineFromEnv(getenv, c.Targets)
	problems = append(problems, pp...)
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return c, nil
}

// ParseTargets parses and checks a TARGETS value: a non-empty JSON array of
// targets with unique non-empty names and absolute http(s) URLs without a
// query or fragment.
func ParseTargets(b []byte) ([]Target, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ts []Target
	if err := dec.Decode(&ts); err != nil {
		return nil, fmt.Errorf("not a JSON array of {\"name\":…,\"url\":…}: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON array")
	}
	if len(ts) == 0 {
		return nil, errors.New("no targets")
	}
	seen := map[string]bool{}
	for i, t := range ts {
		if strings.TrimSpace(t.Name) == "" {
			return nil, fmt.Errorf("target %d has no name", i)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("target name %q appears twice", t.Name)
		}
		seen[t.Name] = true
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("target %q: url %q is not an absolute http(s) URL without query or fragment", t.Name, t.URL)
		}
		ts[i].URL = strings.TrimSuffix(t.URL, "/")
	}
	return ts, nil
}

// Result is one target's probe.
type Result struct {
	Endpoint  string  `json:"endpoint"`
	URL       string  `json:"url"`
	Healthy   bool    `json:"healthy"`
	LatencyMs float64 `json:"latencyMs"`
	// HealthStatus and CanaryStatus are the HTTP statuses, 0 when no
	// answer came.
	HealthStatus int `json:"healthStatus"`
	CanaryStatus int `json:"canaryStatus"`
	// Error says why the endpoint is unhealthy.
	Error string `json:"error,omitempty"`
	// Pipeline is the pipeline check, for its target when it answered.
	Pipeline *PipelineResult `json:"pipeline,omitempty"`
}

// Summary is the health function's answer.
type Summary struct {
	Region    string   `json:"region"`
	Time      string   `json:"time"`
	CanaryID  string   `json:"canaryId"`
	Healthy   int      `json:"healthy"`
	Unhealthy int      `json:"unhealthy"`
	Results   []Result `json:"results"`
}

// Prober probes the targets.
type Prober struct {
	// Client sends the probes; nil means a client with no overall timeout
	// (each probe has its own deadline). The local drill injects one whose
	// transport reaches in-process handlers.
	Client  *http.Client
	Targets []Target
	Timeout time.Duration
	Region  string
	// Metrics receives the EMF lines, one per target (os.Stdout on Lambda).
	Metrics io.Writer
	// Now is the time source; nil means Clock's, else time.Now. The prober
	// measures latency on real time whatever Now says.
	Now func() time.Time
	// Pipeline, when set, checks the pipeline behind one target
	// (pipeline.go); Log receives what it finds wrong (nil: discarded).
	Pipeline *Pipeline
	Log      *slog.Logger
	// Clock starts the concurrent probes of a round and waits for them;
	// nil means the wall clock. A virtual clock must start them itself, to
	// account for them: a plain goroutine would run on its caller's running
	// token, and the first probe to wait on the clock would let time move
	// while the others still run.
	Clock clock.Clock
}

// maxBody bounds how much of an answer is read.
const maxBody = 64 << 10

// Event is the scheduled invocation's payload. Both an EventBridge
// "Scheduled Event" and an EventBridge Scheduler target input of
// {"time":"<aws.scheduler.scheduled-time>"} carry the schedule's time in
// "time"; {} is fine too. A canary never fails on its trigger's shape.
type Event struct {
	Time string `json:"time"`
}

// Handle runs one probe round for a scheduled invocation.
func (p *Prober) Handle(ctx context.Context, ev Event) (Summary, error) {
	at, err := time.Parse(time.RFC3339Nano, ev.Time)
	if err != nil {
		at = time.Time{}
	}
	return p.Probe(ctx, at)
}

// Probe probes every target concurrently, writes one EMF line per target in
// target order, and returns the summary. at names the run (the schedule's
// time when the event has one, so a retried invocation sends the same
// canary id and ingest's dedupe absorbs it); zero means now.
func (p *Prober) Probe(ctx context.Context, at time.Time) (Summary, error) {
	clk := p.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	now := clk.Now
	if p.Now != nil {
		now = p.Now
	}
	if at.IsZero() {
		at = now()
	}
	at = at.UTC()
	s := Summary{Region: p.Region, Time: at.Format(time.RFC3339), CanaryID: fmt.Sprintf("canary-%s-%d", p.Region, at.Unix())}
	canary, err := json.Marshal(struct {
		ID     string `json:"id"`
		Canary bool   `json:"canary"`
	}{s.CanaryID, true})
	if err != nil {
		return s, fmt.Errorf("encode canary: %w", err)
	}
	s.Results = make([]Result, len(p.Targets))
	// Each probe ends by its own deadline, and the results are read only
	// once every probe is done.
	_ = clock.GoEach(clk, len(p.Targets), func(i int) error {
		t := p.Targets[i]
		s.Results[i] = p.probe(ctx, t, canary)
		if pl := p.Pipeline; pl != nil && pl.Target == t.Name && s.Results[i].Healthy {
			s.Results[i].Pipeline = pl.check(ctx, p.timeout(), now, p.log())
		}
		return nil
	})
	end := now().UTC()
	for _, r := range s.Results {
		if r.Healthy {
			s.Healthy++
		} else {
			s.Unhealthy++
		}
		if p.Metrics != nil {
			line, err := emfLine(end, p.Region, r)
			if err != nil {
				return s, err
			}
			if _, err := p.Metrics.Write(line); err != nil {
				return s, fmt.Errorf("write metrics: %w", err)
			}
		}
	}
	return s, nil
}

func (p *Prober) timeout() time.Duration {
	if p.Timeout <= 0 {
		return DefaultTimeout
	}
	return p.Timeout
}

func (p *Prober) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func (p *Prober) probe(ctx context.Context, t Target, canary []byte) (r Result) {
	r = Result{Endpoint: t.Name, URL: t.URL}
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	start := time.Now()
	defer func() { r.LatencyMs = float64(time.Since(start).Microseconds()) / 1000 }()

	var err error
	if r.HealthStatus, err = p.do(ctx, http.MethodGet, t.URL+"/health", nil); err != nil {
		r.Error = fmt.Sprintf("GET /health: %v", err)
		return r
	}
	if r.HealthStatus != http.StatusOK {
		r.Error = fmt.Sprintf("GET /health: status %d", r.HealthStatus)
		return r
	}
	if r.CanaryStatus, err = p.do(ctx, http.MethodPost, t.URL+"/records", canary); err != nil {
		r.Error = fmt.Sprintf("POST /records: %v", err)
		return r
	}
	if r.CanaryStatus != http.StatusOK {
		r.Error = fmt.Sprintf("POST /records (canary): status %d", r.CanaryStatus)
		return r
	}
	r.Healthy = true
	return r
}

// do sends one request and returns the status, reading (a bounded part of)
// the body so the connection can be reused by the next run of a warm Lambda.
func (p *Prober) do(ctx context.Context, method, u string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", "pendulum-health")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Pendulum-Producer", "pendulum-health")
	}
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)); err != nil {
		return resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, nil
}

// Metric names and namespace, shared with the alarm in the CDK app.
const (
	Namespace           = topology.MetricNamespace
	MetricHealthy       = topology.MetricEndpointHealthy
	MetricLatency       = "ProbeLatencyMs"
	DimensionEndpoint   = "Endpoint"
	DimensionRegion     = "Region"
	emfUnitNone         = "None"
	emfUnitMilliseconds = "Milliseconds"
)

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// emfLine renders one target's result as an Embedded Metric Format line
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
func emfLine(at time.Time, region string, r Result) ([]byte, error) {
	metrics := []any{
		map[string]string{"Name": MetricHealthy, "Unit": emfUnitNone},
		map[string]string{"Name": MetricLatency, "Unit": emfUnitMilliseconds},
	}
	doc := map[string]any{
		DimensionEndpoint: r.Endpoint,
		DimensionRegion:   region,
		MetricHealthy:     flag(r.Healthy),
		MetricLatency:     r.LatencyMs,
	}
	if r.Error != "" {
		doc["error"] = r.Error // a property, not a metric: searchable in Logs Insights
	}
	if pl := r.Pipeline; pl != nil {
		metrics = append(metrics, map[string]string{"Name": MetricPipelineFresh, "Unit": emfUnitNone})
		doc[MetricPipelineFresh] = flag(pl.Fresh)
		if pl.LagSeconds != nil {
			metrics = append(metrics, map[string]string{"Name": MetricPipelineLag, "Unit": emfUnitSeconds})
			doc[MetricPipelineLag] = *pl.LagSeconds
		}
		if pl.Error != "" {
			doc["pipelineError"] = pl.Error
		}
	}
	doc["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{DimensionEndpoint, DimensionRegion}},
			"Metrics":    metrics,
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode metrics: %w", err)
	}
	return append(b, '\n'), nil
}
