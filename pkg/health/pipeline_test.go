package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

var _ HeartbeatReader = (*sim.DynamoDB)(nil)

// primaryTable is a simulated primary region with an aggregates table.
func primaryTable(t *testing.T) (*sim.World, *clock.Virtual) {
	t.Helper()
	clk := clock.NewVirtual(at.Add(-time.Hour))
	w := sim.NewWorld(clk, "111122223333", "eu-west-1")
	_, err := w.Region("eu-west-1").DynamoDB().CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: aws.String("aggregates"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := clk.Sleep(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	return w, clk
}

// consume has the aggregate consumer get past one canary that ingest
// accepted at received: it writes the heartbeat as the deployed consumer
// does.
func consume(t *testing.T, w *sim.World, clk clock.Clock, id string, received time.Time) {
	t.Helper()
	db := w.Region("eu-west-1").DynamoDB()
	data, err := record.AppendJSON(nil, &record.Record{ID: id, TS: received, Received: received, Region: "eu-west-1", Canary: true, Data: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	var r events.KinesisEventRecord
	r.Kinesis.Data, r.Kinesis.SequenceNumber = append(data, '\n'), "1"
	agg := aggregate.New(db, aggregate.Options{Table: "aggregates", Region: "eu-west-1", Clock: clk})
	resp, err := aggregate.NewHandler(agg, slog.New(slog.DiscardHandler)).WithHeartbeat(db).Handle(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{r}})
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("consume canary: %v, %v", resp, err)
	}
}

// pipelineEMF is the pipeline part of an EMF line.
type pipelineEMF struct {
	Endpoint           string   `json:"Endpoint"`
	PipelineFresh      *int     `json:"PipelineFresh"`
	PipelineLagSeconds *float64 `json:"PipelineLagSeconds"`
	PipelineError      string   `json:"pipelineError"`
}

func pipelineLines(t *testing.T, out []byte) []pipelineEMF {
	t.Helper()
	parseEMF(t, out) // every metric named has its value
	var lines []pipelineEMF
	for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var e pipelineEMF
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, e)
	}
	return lines
}

// failingReader is a table that cannot be read.
type failingReader struct{ err error }

func (f failingReader) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, f.err
}

func TestPipelineCheck(t *testing.T) {
	now := at
	maxLag := 3 * time.Minute
	tests := []struct {
		name string
		// received is when ingest accepted the newest canary the consumer
		// got past; zero: none ever was.
		received  time.Time
		db        HeartbeatReader // overrides the simulated table
		wantFresh bool
		wantLag   float64 // -1: absent
		wantErr   string
		wantLog   string
	}{
		// A pipeline keeping up: last round's canary counted.
		{name: "Fresh", received: now.Add(-62 * time.Second), wantFresh: true, wantLag: 62},
		// The newest canaries (this round's, the last) are not counted yet,
		// but the newest counted one is not old enough to be stale.
		{name: "CanaryNotYetOldEnough", received: now.Add(-170 * time.Second), wantFresh: true, wantLag: 170},
		{name: "Stale", received: now.Add(-10 * time.Minute), wantFresh: false, wantLag: 600,
			wantErr: "accepted 600s ago, more than 180s", wantLog: "pipeline stale"},
		{name: "NothingCountedYet", wantFresh: false, wantLag: -1,
			wantErr: "no canary counted yet in table aggregates in eu-west-1", wantLog: "pipeline check: no canary counted yet, counted as not fresh"},
		{name: "TableUnreachable", db: failingReader{errors.New("dial tcp: connect to DynamoDB endpoint in eu-west-1: region unreachable")},
			wantFresh: false, wantLag: -1,
			wantErr: "read the canary heartbeat from table aggregates in eu-west-1: dial tcp", wantLog: "pipeline check failed: counted as not fresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, clk := primaryTable(t)
			if !tt.received.IsZero() {
				consume(t, w, clk, "canary-eu-central-1-1", tt.received)
			}
			var db HeartbeatReader = w.Region("eu-west-1").DynamoDB()
			if tt.db != nil {
				db = tt.db
			}
			good := httptest.NewServer(&endpoint{health: 200, records: 200})
			defer good.Close()
			other := httptest.NewServer(&endpoint{health: 200, records: 200})
			defer other.Close()
			var out, logs bytes.Buffer
			p := &Prober{
				Targets: []Target{{"primary-regional", good.URL}, {"accelerator", other.URL}},
				Timeout: time.Second, Region: "eu-central-1", Metrics: &out, Now: func() time.Time { return now },
				Pipeline: &Pipeline{PipelineConfig: PipelineConfig{Target: "primary-regional", Table: "aggregates", Region: "eu-west-1", MaxLag: maxLag}, DB: db},
				Log:      slog.New(slog.NewJSONHandler(&logs, nil)),
			}
			s, err := p.Probe(context.Background(), now)
			if err != nil {
				t.Fatal(err)
			}
			pr := s.Results[0].Pipeline
			if pr == nil || pr.Fresh != tt.wantFresh || !strings.Contains(pr.Error, tt.wantErr) || (tt.wantErr == "") != (pr.Error == "") {
				t.Fatalf("pipeline result %+v, want fresh=%v error containing %q", pr, tt.wantFresh, tt.wantErr)
			}
			if s.Results[1].Pipeline != nil {
				t.Fatalf("the accelerator target got a pipeline check: %+v", s.Results[1].Pipeline)
			}
			lines := pipelineLines(t, out.Bytes())
			l := lines[0]
			if l.Endpoint != "primary-regional" || l.PipelineFresh == nil || (*l.PipelineFresh == 1) != tt.wantFresh {
				t.Fatalf("EMF line %+v, want PipelineFresh %v", l, tt.wantFresh)
			}
			switch {
			case tt.wantLag < 0 && l.PipelineLagSeconds != nil:
				t.Fatalf("PipelineLagSeconds %v, want none (unknown)", *l.PipelineLagSeconds)
			case tt.wantLag >= 0 && (l.PipelineLagSeconds == nil || *l.PipelineLagSeconds != tt.wantLag):
				t.Fatalf("PipelineLagSeconds %v, want %v", l.PipelineLagSeconds, tt.wantLag)
			}
			if l.PipelineError != pr.Error {
				t.Fatalf("pipelineError %q, want %q", l.PipelineError, pr.Error)
			}
			if lines[1].PipelineFresh != nil || lines[1].PipelineLagSeconds != nil {
				t.Fatalf("accelerator line carries pipeline metrics: %+v", lines[1])
			}
			if tt.wantLog == "" && logs.Len() > 0 {
				t.Fatalf("logged %s for a fresh pipeline", logs.String())
			}
			if tt.wantLog != "" && (!strings.Contains(logs.String(), `"msg":"`+tt.wantLog) || !strings.Contains(logs.String(), `"target":"primary-regional"`)) {
				t.Fatalf("log %s, want %q naming the target", logs.String(), tt.wantLog)
			}
		})
	}
}

// TestPipelineCheckOnlyBehindAnsweringFrontDoor: when the front door fails
// (an outage), the pipeline is not judged: no pipeline metrics at all, so
// the outage is reported once, by EndpointHealthy.
func TestPipelineCheckOnlyBehindAnsweringFrontDoor(t *testing.T) {
	w, clk := primaryTable(t)
	consume(t, w, clk, "canary-old", at.Add(-30*time.Minute))
	down := httptest.NewServer(&endpoint{health: 503, records: 200})
	defer down.Close()
	var out bytes.Buffer
	reads := 0
	p := &Prober{
		Targets: []Target{{"primary-regional", down.URL}}, Timeout: time.Second, Region: "eu-central-1", Metrics: &out,
		Now: func() time.Time { return at },
		Pipeline: &Pipeline{PipelineConfig: PipelineConfig{Target: "primary-regional", Table: "aggregates", Region: "eu-west-1", MaxLag: time.Minute},
			DB: countingReader{w.Region("eu-west-1").DynamoDB(), &reads}},
	}
	s, err := p.Probe(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	if s.Results[0].Healthy || s.Results[0].Pipeline != nil || reads != 0 {
		t.Fatalf("result %+v after %d reads, want unhealthy and no pipeline check", s.Results[0], reads)
	}
	if l := pipelineLines(t, out.Bytes())[0]; l.PipelineFresh != nil || l.PipelineLagSeconds != nil {
		t.Fatalf("pipeline metrics behind a failing front door: %+v", l)
	}
}

type countingReader struct {
	HeartbeatReader
	n *int
}

func (c countingReader) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	*c.n++
	return c.HeartbeatReader.GetItem(ctx, in, o...)
}

func TestPipelineConfigFromEnv(t *testing.T) {
	const targets = `[{"name":"primary-regional","url":"https://ingest.eu-west-1.example.com/"},{"name":"accelerator","url":"http://a1234.awsglobalaccelerator.com"}]`
	base := func(kv ...string) map[string]string {
		env := map[string]string{"TARGETS": targets, "AWS_REGION": "eu-central-1"}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    *PipelineConfig
		wantErr []string
	}{
		{name: "Off", env: base()},
		{name: "On", env: base("PIPELINE_TABLE", "pendulum-aggregates", "PIPELINE_REGION", "eu-west-1", "PIPELINE_TARGET", "primary-regional"),
			want: &PipelineConfig{Target: "primary-regional", Table: "pendulum-aggregates", Region: "eu-west-1", MaxLag: DefaultPipelineMaxLag}},
		{name: "MaxLag", env: base("PIPELINE_TABLE", "t", "PIPELINE_REGION", "eu-west-1", "PIPELINE_TARGET", "accelerator", "PIPELINE_MAX_LAG_SECONDS", "300"),
			want: &PipelineConfig{Target: "accelerator", Table: "t", Region: "eu-west-1", MaxLag: 5 * time.Minute}},
		{name: "NoRegionNoTarget", env: base("PIPELINE_TABLE", "t"), wantErr: []string{"PIPELINE_REGION is not set", "PIPELINE_TARGET is not set"}},
		{name: "UnknownTarget", env: base("PIPELINE_TABLE", "t", "PIPELINE_REGION", "r", "PIPELINE_TARGET", "primary"), wantErr: []string{`PIPELINE_TARGET="primary" names no target of TARGETS`}},
		{name: "LagTooShort", env: base("PIPELINE_TABLE", "t", "PIPELINE_REGION", "r", "PIPELINE_TARGET", "accelerator", "PIPELINE_MAX_LAG_SECONDS", "60"), wantErr: []string{"PIPELINE_MAX_LAG_SECONDS=\"60\"", "90..3600"}},
		{name: "LagNotANumber", env: base("PIPELINE_TABLE", "t", "PIPELINE_REGION", "r", "PIPELINE_TARGET", "accelerator", "PIPELINE_MAX_LAG_SECONDS", "3m"), wantErr: []string{"PIPELINE_MAX_LAG_SECONDS"}},
		{name: "WithoutTable", env: base("PIPELINE_REGION", "r", "PIPELINE_TARGET", "accelerator"), wantErr: []string{"PIPELINE_REGION, PIPELINE_TARGET is set without PIPELINE_TABLE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("error %v, want ErrConfig", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (c.Pipeline == nil) != (tt.want == nil) || (c.Pipeline != nil && *c.Pipeline != *tt.want) {
				t.Fatalf("pipeline config %+v, want %+v", c.Pipeline, tt.want)
			}
		})
	}
}
