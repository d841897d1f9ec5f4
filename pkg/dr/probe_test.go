package dr

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// doerFunc is an HTTPDoer from a function.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func answer(status int, region string) *http.Response {
	h := http.Header{}
	if region != "" {
		h.Set(RegionHeader, region)
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("{}"))}
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name     string
		do       doerFunc
		wantKind string
	}{
		{name: "ServedByExpected", do: func(r *http.Request) (*http.Response, error) { return answer(200, regionB), nil }, wantKind: "nil"},
		{name: "ServedByOther", do: func(r *http.Request) (*http.Response, error) { return answer(200, regionP), nil }, wantKind: "transient"},
		{name: "NoHeader", do: func(r *http.Request) (*http.Response, error) { return answer(200, ""), nil }, wantKind: "transient"},
		{name: "CanaryRefused", do: func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPost {
				return answer(503, regionB), nil
			}
			return answer(200, regionB), nil
		}, wantKind: "transient"},
		{name: "Unreachable", do: func(r *http.Request) (*http.Response, error) { return nil, errors.New("dial tcp: i/o timeout") }, wantKind: "transient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			p := &Probe{Clock: newVirtualAt(t0), HTTP: doerFunc(func(r *http.Request) (*http.Response, error) {
				seen = append(seen, r.Method+" "+r.URL.Path)
				if r.Method == http.MethodPost {
					b, _ := io.ReadAll(r.Body)
					if !strings.Contains(string(b), `"canary":true`) {
						t.Errorf("canary body %s", b)
					}
				}
				return tc.do(r)
			})}
			out, err := p.Handle(context.Background(), ProbeInput{Op: "probe", URL: "http://a1234.awsglobalaccelerator.com/", ExpectRegion: regionB})
			if got := kindOf(err); got != tc.wantKind {
				t.Fatalf("err = %v (%s), want %s", err, got, tc.wantKind)
			}
			if seen[0] != "GET /health" {
				t.Fatalf("first request %s", seen[0])
			}
			if err == nil && (!*out.OK || out.Region != regionB || len(seen) != 2 || seen[1] != "POST /records") {
				t.Fatalf("out = %+v, requests %v", out, seen)
			}
		})
	}
	p := &Probe{Clock: newVirtualAt(t0)}
	if _, err := p.Handle(context.Background(), ProbeInput{Op: "probe", URL: "ftp://x"}); kindOf(err) != "invalid" || !strings.Contains(err.Error(), "expectRegion") {
		t.Fatalf("bad input: %v", err)
	}
}

func TestProbeHealthyFor(t *testing.T) {
	ctx := context.Background()
	// now = t0 + 30 min + 20 s: the window is the 10 whole minutes before
	// t0+30m.
	tests := []struct {
		name        string
		values      map[int]float64 // minute offset from t0 → value (several samples: the minimum counts)
		gap         int
		want        bool
		wantPoints  int
		wantMinimum float64
	}{
		{name: "AllHealthy", values: fill(20, 30, 1), want: true, wantPoints: 10, wantMinimum: 1},
		{name: "OneUnhealthyMinute", values: with(fill(20, 30, 1), 25, 0), want: false, wantPoints: 10, wantMinimum: 0},
		{name: "GapIsUnhealthy", values: without(fill(20, 30, 1), 27), want: false, wantPoints: 9, wantMinimum: 1},
		{name: "OlderHealthIgnored", values: fill(0, 20, 1), want: false, wantPoints: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, clk := newWorld(t)
			cw := w.Region(regionB).CloudWatch()
			for m, v := range tc.values {
				if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pendulum"), MetricData: []cwtypes.MetricDatum{{
					MetricName: aws.String("EndpointHealthy"), Value: aws.Float64(v), Timestamp: aws.Time(t0.Add(time.Duration(m)*time.Minute + 10*time.Second)),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("Endpoint"), Value: aws.String("primary-regional")}, {Name: aws.String("Region"), Value: aws.String(regionB)}},
				}}}); err != nil {
					t.Fatal(err)
				}
			}
			clk.Sleep(ctx, 30*time.Minute+20*time.Second)
			p := &Probe{Metrics: cw, VantageRegion: regionB, Clock: clk}
			out, err := p.Handle(ctx, ProbeInput{Op: "healthyFor", Endpoint: "primary-regional", Minutes: ptr(10)})
			if err != nil {
				t.Fatal(err)
			}
			if *out.Healthy != tc.want || *out.Datapoints != tc.wantPoints {
				t.Fatalf("out = healthy %v datapoints %d, want %v %d", *out.Healthy, *out.Datapoints, tc.want, tc.wantPoints)
			}
			if tc.wantPoints > 0 && *out.Minimum != tc.wantMinimum {
				t.Fatalf("minimum = %v, want %v", *out.Minimum, tc.wantMinimum)
			}
		})
	}
	p := &Probe{Clock: newVirtualAt(t0)}
	if out, err := p.Handle(ctx, ProbeInput{Op: "healthyFor", Endpoint: "primary-regional", Minutes: ptr(0)}); err != nil || !*out.Healthy {
		t.Fatalf("zero minutes = %+v, %v", out, err)
	}
	if _, err := p.Handle(ctx, ProbeInput{Op: "healthyFor", Minutes: ptr(-1)}); kindOf(err) != "invalid" {
		t.Fatalf("bad input: %v", err)
	}
}

func fill(from, to int, v float64) map[int]float64 {
	m := map[int]float64{}
	for i := from; i < to; i++ {
		m[i] = v
	}
	return m
}

func with(m map[int]float64, k int, v float64) map[int]float64 { m[k] = v; return m }

func without(m map[int]float64, k int) map[int]float64 { delete(m, k); return m }
