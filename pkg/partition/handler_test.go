package partition

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testTables is the configuration the golden events are written for: a
// Hive-layout table at the root of the raw bucket, a Firehose-layout table
// under legacy/ in the same bucket, and the curated table.
const testTables = `[
 {"table":"raw","bucket":"pendulum-raw","prefix":"","layout":"hive"},
 {"table":"legacy","bucket":"pendulum-raw","prefix":"legacy/","layout":"firehose"},
 {"table":"curated","bucket":"pendulum-curated","prefix":"curated","layout":"hive"}
]`

func testHandler(t testing.TB, cat Catalog, log *slog.Logger) *Handler {
	t.Helper()
	cfg, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"GLUE_DATABASE": "pendulum", "AWS_REGION": "us-east-1", "TABLES": testTables}[k]
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return NewHandler(cfg.Tables, NewRegistrar(cat, cfg.Database, 0), log)
}

// golden is what a golden file records for one event: the Glue calls made,
// the batch item failures returned and the error's type and message.
type golden struct {
	Calls             []call                       `json:"calls"`
	BatchItemFailures []events.SQSBatchItemFailure `json:"batchItemFailures"`
	ErrorType         string                       `json:"errorType,omitempty"`
}

func TestHandlerGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := newMemCatalog()
			h := testHandler(t, &m.fake, nil)
			resp, err := h.Handle(context.Background(), payload)
			got := golden{Calls: m.calls, BatchItemFailures: resp.BatchItemFailures}
			if err != nil {
				got.ErrorType = reflect.TypeOf(err).Elem().Name()
			}
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			gotJSON = append(gotJSON, '\n')
			gf := strings.TrimSuffix(f, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(gf, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it, then review it)", err)
			}
			if !bytes.Equal(gotJSON, want) {
				t.Fatalf("%s differs from the golden file\n got: %s\nwant: %s", f, gotJSON, want)
			}
			// Whatever happened, a second delivery of the same event makes no
			// further creation for partitions already registered.
			before := m.count("BatchCreatePartition")
			if _, err := h.Handle(context.Background(), payload); err != nil && got.ErrorType == "" {
				t.Fatalf("redelivery: %v", err)
			}
			if got.ErrorType == "" && len(got.BatchItemFailures) == 0 {
				if got, want := m.count("BatchCreatePartition"), before; got != want {
					t.Fatalf("redelivery made %d BatchCreatePartition calls, want none", got-want)
				}
			}
		})
	}
	if n < 5 {
		t.Fatalf("found %d golden events, want at least 5", n)
	}
}

// TestHandlerSQSFailures checks the partial batch response: a partition that
// cannot be registered fails exactly the messages that announced it.
func TestHandlerSQSFailures(t *testing.T) {
	payload, err := os.ReadFile("testdata/events/sqs-s3.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		setup    func(m *memCatalog)
		wantFail []string
	}{
		// m4 (not JSON), m7 (30 February) and m12 (JSON, no event) always fail.
		{name: "Healthy", setup: func(*memCatalog) {}, wantFail: []string{"m4", "m7", "m12"}},
		// dt=2024-03-05/hr=07 of raw comes from m1 and m11 (via SNS).
		{name: "OnePartition", setup: func(m *memCatalog) { m.failCodes["raw|2024-03-05|07"] = "InternalServiceException" }, wantFail: []string{"m1", "m4", "m7", "m11", "m12"}},
		// The legacy table's only partition comes from m2.
		{name: "FirehoseTable", setup: func(m *memCatalog) { m.failCodes["legacy|2024-03-05|07"] = "ResourceNumberLimitExceededException" }, wantFail: []string{"m2", "m4", "m7", "m12"}},
		{name: "CuratedTableMissing", setup: func(m *memCatalog) {
			m.callErr = func(op string) error {
				if op == "GetTable" && len(m.calls) > 0 && m.calls[len(m.calls)-1].Table == "curated" {
					return &smithy.OperationError{ServiceID: "Glue", OperationName: "GetTable", Err: &types.EntityNotFoundException{Message: new("Table curated not found")}}
				}
				return nil
			}
		}, wantFail: []string{"m4", "m6", "m7", "m12"}},
		{name: "GlueDown", setup: func(m *memCatalog) {
			m.callErr = func(string) error {
				return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
			}
		}, wantFail: []string{"m1", "m2", "m4", "m6", "m7", "m10", "m11", "m12"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemCatalog()
			tt.setup(m)
			var logs bytes.Buffer
			h := testHandler(t, &m.fake, slog.New(slog.NewJSONHandler(&logs, nil)))
			resp, err := h.Handle(context.Background(), payload)
			if err != nil {
				t.Fatalf("Handle: %v (an SQS batch must never fail as a whole)", err)
			}
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if !reflect.DeepEqual(got, tt.wantFail) {
				t.Fatalf("failed messages = %v, want %v", got, tt.wantFail)
			}
			for _, id := range tt.wantFail {
				if !strings.Contains(logs.String(), `"messageId":"`+id+`"`) {
					t.Fatalf("no log line names failed message %s:\n%s", id, logs.String())
				}
			}
		})
	}
}

func TestHandlerDirectEventErrors(t *testing.T) {
	payload, err := os.ReadFile("testdata/events/s3-direct.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		callErr error
		payload []byte
		want    any
	}{
		{name: "Throttled", callErr: &smithy.GenericAPIError{Code: "ThrottlingException"}, payload: payload, want: new(*fault.TransientError)},
		{name: "Denied", callErr: &smithy.GenericAPIError{Code: "AccessDeniedException"}, payload: payload, want: new(*fault.PermissionError)},
		{name: "NotAnEvent", payload: []byte(`{"hello":1}`), want: new(*fault.InvalidInputError)},
		{name: "NotJSON", payload: []byte(`{`), want: new(*fault.InvalidInputError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemCatalog()
			m.callErr = func(string) error { return tt.callErr }
			h := testHandler(t, &m.fake, nil)
			_, err := h.Handle(context.Background(), tt.payload)
			if err == nil {
				t.Fatal("Handle: no error")
			}
			if !errors.As(err, tt.want) {
				t.Fatalf("Handle error %T (%v), want %T", err, err, reflect.ValueOf(tt.want).Elem().Interface())
			}
		})
	}
}
