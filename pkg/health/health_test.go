package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// endpoint is a fake ingest: answers /health and /records with the given
// statuses and records the canary bodies it was sent.
type endpoint struct {
	health, records int
	mu              sync.Mutex
	canaries        []string
	beforeAnswer    func()
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.beforeAnswer != nil {
		e.beforeAnswer()
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/health":
		w.WriteHeader(e.health)
	case r.Method == http.MethodPost && r.URL.Path == "/records":
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		e.mu.Lock()
		e.canaries = append(e.canaries, string(b))
		e.mu.Unlock()
		w.WriteHeader(e.records)
		w.Write([]byte(`{"accepted":1}`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

var at = time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)

type emf struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	Endpoint        string  `json:"Endpoint"`
	Region          string  `json:"Region"`
	EndpointHealthy int     `json:"EndpointHealthy"`
	ProbeLatencyMs  float64 `json:"ProbeLatencyMs"`
	Error           string  `json:"error"`
}

func parseEMF(t *testing.T, out []byte) []emf {
	t.Helper()
	var lines []emf
	for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var raw map[string]any
		if err := json.Unmarshal(l, &raw); err != nil {
			t.Fatalf("EMF line %q: %v", l, err)
		}
		var e emf
		json.Unmarshal(l, &e)
		// EMF validity: every metric and dimension named must be a
		// top-level member of the line.
		for _, d := range e.AWS.CloudWatchMetrics {
			for _, m := range d.Metrics {
				if _, ok := raw[m.Name]; !ok {
					t.Fatalf("metric %s has no value in %s", m.Name, l)
				}
			}
			for _, set := range d.Dimensions {
				for _, dim := range set {
					if _, ok := raw[dim].(string); !ok {
						t.Fatalf("dimension %s has no string value in %s", dim, l)
					}
				}
			}
		}
		lines = append(lines, e)
	}
	return lines
}

func TestProbe(t *testing.T) {
	good := &endpoint{health: 200, records: 200}
	sick := &endpoint{health: 503, records: 200}
	refusing := &endpoint{health: 200, records: 503}
	srvGood, srvSick, srvRefusing := httptest.NewServer(good), httptest.NewServer(sick), httptest.NewServer(refusing)
	defer srvGood.Close()
	defer srvSick.Close()
	defer srvRefusing.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connection refused

	var out bytes.Buffer
	p := &Prober{
		Targets: []Target{
			{"primary-regional", srvGood.URL + "/"},
			{"accelerator", srvSick.URL},
			{"canary-refused", srvRefusing.URL},
			{"unreachable", deadURL},
		},
		Timeout: 2 * time.Second, Region: "eu-central-1", Metrics: &out,
		Now: func() time.Time { return at.Add(3 * time.Second) },
	}
	p.Targets[0].URL = strings.TrimSuffix(p.Targets[0].URL, "/")
	s, err := p.Probe(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.CanaryID, "canary-eu-central-1-1795572000"; got != want {
		t.Fatalf("canary id = %q, want %q", got, want)
	}
	if got, want := [2]int{s.Healthy, s.Unhealthy}, [2]int{1, 3}; got != want {
		t.Fatalf("healthy, unhealthy = %v, want %v", got, want)
	}
	wantResults := []struct {
		healthy        bool
		health, canary int
		errPart        string
	}{
		{true, 200, 200, ""},
		{false, 503, 0, "GET /health: status 503"},
		{false, 200, 503, "POST /records (canary): status 503"},
		{false, 0, 0, "GET /health:"},
	}
	for i, w := range wantResults {
		r := s.Results[i]
		if r.Endpoint != p.Targets[i].Name || r.Healthy != w.healthy || r.HealthStatus != w.health || r.CanaryStatus != w.canary || !strings.Contains(r.Error, w.errPart) {
			t.Errorf("result %d = %+v, want %+v", i, r, w)
		}
		if w.healthy && r.Error != "" {
			t.Errorf("healthy result %d has error %q", i, r.Error)
		}
	}
	if got, want := good.canaries, []string{`{"id":"canary-eu-central-1-1795572000","canary":true}`}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("canaries sent = %q, want %q", got, want)
	}
	if len(sick.canaries) != 0 {
		t.Fatal("a canary was sent to an endpoint whose /health failed")
	}

	lines := parseEMF(t, out.Bytes())
	if got, want := len(lines), 4; got != want {
		t.Fatalf("EMF lines = %d, want %d", got, want)
	}
	for i, l := range lines {
		if got, want := l.Endpoint, p.Targets[i].Name; got != want {
			t.Errorf("line %d Endpoint = %q, want %q", i, got, want)
		}
		if got, want := l.Region, "eu-central-1"; got != want {
			t.Errorf("line %d Region = %q, want %q", i, got, want)
		}
		if got, want := l.EndpointHealthy == 1, s.Results[i].Healthy; got != want {
			t.Errorf("line %d EndpointHealthy = %d, want healthy=%v", i, l.EndpointHealthy, want)
		}
		if got, want := l.ProbeLatencyMs, s.Results[i].LatencyMs; got != want || got <= 0 {
			t.Errorf("line %d ProbeLatencyMs = %v, want %v (> 0)", i, got, want)
		}
		if got, want := l.AWS.Timestamp, at.Add(3*time.Second).UnixMilli(); got != want {
			t.Errorf("line %d Timestamp = %d, want %d", i, got, want)
		}
		if got, want := l.AWS.CloudWatchMetrics[0].Namespace, "Pendulum"; got != want {
			t.Errorf("namespace = %q, want %q", got, want)
		}
	}
}

func TestProbeTimesOut(t *testing.T) {
	release := make(chan struct{})
	hang := &endpoint{health: 200, records: 200, beforeAnswer: func() { <-release }}
	srv := httptest.NewServer(hang)
	defer func() { close(release); srv.Close() }()
	var out bytes.Buffer
	p := &Prober{Targets: []Target{{"hanging", srv.URL}}, Timeout: 50 * time.Millisecond, Region: "eu-central-1", Metrics: &out}
	s, err := p.Probe(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Results[0]
	if r.Healthy || !strings.Contains(r.Error, "context deadline exceeded") {
		t.Fatalf("result = %+v, want unhealthy by deadline", r)
	}
	if r.LatencyMs < 50 {
		t.Fatalf("latency %v ms is below the timeout that ended it", r.LatencyMs)
	}
	if got := parseEMF(t, out.Bytes())[0].EndpointHealthy; got != 0 {
		t.Fatalf("EndpointHealthy = %d, want 0", got)
	}
}

// TestProbesRunConcurrently proves concurrency without timing: each
// endpoint answers only once every endpoint has been reached, so probing one
// after the other would run into the timeout.
func TestProbesRunConcurrently(t *testing.T) {
	const n = 3
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var targets []Target
	for i := range n {
		var once sync.Once
		e := &endpoint{health: 200, records: 200, beforeAnswer: func() {
			once.Do(arrived.Done)
			select {
			case <-all:
			case <-time.After(10 * time.Second):
			}
		}}
		srv := httptest.NewServer(e)
		defer srv.Close()
		targets = append(targets, Target{Name: string(rune('a' + i)), URL: srv.URL})
	}
	p := &Prober{Targets: targets, Timeout: 5 * time.Second, Region: "eu-central-1"}
	s, err := p.Probe(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	if s.Healthy != n {
		t.Fatalf("summary = %+v, want all %d healthy", s, n)
	}
}

// roundTripFunc lets a test (or the local drill) answer requests in-process.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestProbeWithInjectedClient(t *testing.T) {
	e := &endpoint{health: 200, records: 200}
	var hosts []string
	var mu sync.Mutex
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		hosts = append(hosts, r.URL.Host)
		mu.Unlock()
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
	p := &Prober{Client: client, Targets: []Target{{"accelerator", "http://a1234.awsglobalaccelerator.com"}}, Timeout: time.Second, Region: "eu-central-1"}
	s, err := p.Probe(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Results[0].Healthy {
		t.Fatalf("result = %+v, want healthy", s.Results[0])
	}
	if got, want := len(hosts), 2; got != want || hosts[0] != "a1234.awsglobalaccelerator.com" {
		t.Fatalf("requests to %v, want 2 to the accelerator", hosts)
	}
}

func TestHandleGoldenEvents(t *testing.T) {
	tests := []struct {
		file       string
		wantCanary string
	}{
		{"scheduled-event.json", "canary-eu-central-1-1795572000"},
		{"scheduler-event.json", "canary-eu-central-1-1795572000"},
		{"empty-event.json", "canary-eu-central-1-1795572033"}, // no time: now
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json"), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev Event
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			e := &endpoint{health: 200, records: 200}
			srv := httptest.NewServer(e)
			defer srv.Close()
			p := &Prober{Targets: []Target{{"primary-regional", srv.URL}}, Timeout: time.Second, Region: "eu-central-1",
				Now: func() time.Time { return at.Add(33 * time.Second) }}
			s, err := p.Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.CanaryID; got != tt.wantCanary {
				t.Fatalf("canary id = %q, want %q", got, tt.wantCanary)
			}
			if len(e.canaries) != 1 || !strings.Contains(e.canaries[0], tt.wantCanary) {
				t.Fatalf("canaries sent = %q", e.canaries)
			}
		})
	}
}

func TestEMFLineGolden(t *testing.T) {
	got, err := emfLine(at, "eu-central-1", Result{Endpoint: "accelerator", Healthy: false, LatencyMs: 5000.25, Error: "GET /health: context deadline exceeded"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "emf-line.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("EMF line =\n%s\nwant\n%s", got, want)
	}
}

func TestConfigFromEnv(t *testing.T) {
	const targets = `[{"name":"primary-regional","url":"https://ingest.eu-west-1.example.com/"},{"name":"accelerator","url":"http://a1234.awsglobalaccelerator.com"}]`
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"OK", map[string]string{"TARGETS": targets, "AWS_REGION": "eu-central-1"}, nil},
		{"Timeout", map[string]string{"TARGETS": targets, "AWS_REGION": "eu-central-1", "PROBE_TIMEOUT_MS": "1500"}, nil},
		{"NothingSet", map[string]string{}, []string{"TARGETS is not set", "AWS_REGION"}},
		{"NotJSON", map[string]string{"TARGETS": "https://x", "AWS_REGION": "r"}, []string{"TARGETS:"}},
		{"Empty", map[string]string{"TARGETS": "[]", "AWS_REGION": "r"}, []string{"TARGETS: no targets"}},
		{"NoName", map[string]string{"TARGETS": `[{"url":"https://x"}]`, "AWS_REGION": "r"}, []string{"no name"}},
		{"DupName", map[string]string{"TARGETS": `[{"name":"a","url":"https://x"},{"name":"a","url":"https://y"}]`, "AWS_REGION": "r"}, []string{"twice"}},
		{"BadURL", map[string]string{"TARGETS": `[{"name":"a","url":"ftp://x"}]`, "AWS_REGION": "r"}, []string{`"a"`, "http(s)"}},
		{"Relative", map[string]string{"TARGETS": `[{"name":"a","url":"/health"}]`, "AWS_REGION": "r"}, []string{"http(s)"}},
		{"UnknownField", map[string]string{"TARGETS": `[{"name":"a","uri":"https://x"}]`, "AWS_REGION": "r"}, []string{"TARGETS:"}},
		{"BadTimeout", map[string]string{"TARGETS": targets, "AWS_REGION": "r", "PROBE_TIMEOUT_MS": "5s"}, []string{"PROBE_TIMEOUT_MS"}},
		{"ZeroTimeout", map[string]string{"TARGETS": targets, "AWS_REGION": "r", "PROBE_TIMEOUT_MS": "0"}, []string{"PROBE_TIMEOUT_MS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(c.Targets), 2; got != want {
					t.Fatalf("targets = %d, want %d", got, want)
				}
				if got, want := c.Targets[0].URL, "https://ingest.eu-west-1.example.com"; got != want {
					t.Fatalf("url = %q, want %q (no trailing slash)", got, want)
				}
				want := DefaultTimeout
				if tt.env["PROBE_TIMEOUT_MS"] != "" {
					want = 1500 * time.Millisecond
				}
				if c.Timeout != want {
					t.Fatalf("timeout = %v, want %v", c.Timeout, want)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error = %v, want ErrConfig", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func FuzzParseTargets(f *testing.F) {
	f.Add([]byte(`[{"name":"primary-regional","url":"https://ingest.example.com"},{"name":"accelerator","url":"http://a.awsglobalaccelerator.com/"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"name":"a","url":"http://h?q=1"}]`))
	f.Add([]byte(`{"name":"a"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := ParseTargets(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, tg := range ts {
			if strings.TrimSpace(tg.Name) == "" || seen[tg.Name] {
				t.Fatalf("accepted a nameless or repeated target: %+v", ts)
			}
			seen[tg.Name] = true
			if !strings.HasPrefix(tg.URL, "http://") && !strings.HasPrefix(tg.URL, "https://") || strings.HasSuffix(tg.URL, "/") {
				t.Fatalf("accepted URL %q", tg.URL)
			}
			if _, err := http.NewRequest(http.MethodGet, tg.URL+"/health", nil); err != nil {
				t.Fatalf("accepted URL %q that makes no request: %v", tg.URL, err)
			}
		}
	})
}
