package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/functions/internal/runtimeapi"
)

// TestMain lets a test run this binary's main in a child process: the test
// binary re-executes itself with PENDULUM_RUN_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("PENDULUM_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestConfigErrorExits(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"NoStream", []string{"AWS_REGION=eu-west-1"}, "STREAM_NAME"},
		{"NoRegion", []string{"STREAM_NAME=pendulum-ingest"}, "AWS_REGION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append([]string{"PENDULUM_RUN_MAIN=1"}, tt.env...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit = %v, want status 2; output:\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Fatalf("output does not name %s:\n%s", tt.want, out)
			}
		})
	}
}

// TestAnswersAnEvent starts the function against a stand-in Lambda Runtime
// API and a stand-in Kinesis endpoint, hands it one ALB event and checks its
// answer: the binary starts, reads its configuration, builds its SDK client
// from the environment, writes the records and answers.
func TestAnswersAnEvent(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	var target string
	kinesis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			StreamName string
			Records    []struct {
				Data         string
				PartitionKey string
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("PutRecords body: %v", err)
		}
		mu.Lock()
		target = r.Header.Get("X-Amz-Target") + " " + in.StreamName
		out := `{"FailedRecordCount":0,"Records":[`
		for i, rec := range in.Records {
			keys = append(keys, rec.PartitionKey)
			if data, err := base64.StdEncoding.DecodeString(rec.Data); err != nil || !strings.HasSuffix(string(data), "}\n") {
				t.Errorf("record data %q (%v): want a JSON line", data, err)
			}
			if i > 0 {
				out += ","
			}
			out += fmt.Sprintf(`{"SequenceNumber":"%d","ShardId":"shardId-000000000000"}`, i)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, out+"]}")
	}))
	defer kinesis.Close()

	event := `{"requestContext":{"elb":{"targetGroupArn":"arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/ingest/1"}},
	 "httpMethod":"POST","path":"/records","headers":{"content-type":"text/plain","x-pendulum-producer":"p1"},
	 "body":"{\"id\":\"r-1\",\"v\":1}\n{\"id\":\"r-2\",\"v\":2}\n","isBase64Encoded":false}`
	runtime := runtimeapi.New(t, "arn:aws:lambda:eu-west-1:111122223333:function:ingest", event)
	defer runtime.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{
		"PENDULUM_RUN_MAIN=1",
		"AWS_LAMBDA_RUNTIME_API=" + runtime.Addr(),
		"STREAM_NAME=pendulum-ingest", "AWS_REGION=eu-west-1",
		"AWS_ENDPOINT_URL_KINESIS=" + kinesis.URL,
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
	}
	var logs strings.Builder
	var logMu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	})
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	readLogs := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.String()
	}

	select {
	case got := <-runtime.Answers():
		kind, body := got.Kind, got.Body
		if kind != "response" {
			t.Fatalf("function answered %s: %s\nlogs:\n%s", kind, body, readLogs())
		}
		var resp struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
			Body       string            `json:"body"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatalf("response %q: %v", body, err)
		}
		if resp.StatusCode != 200 || resp.Body != `{"accepted":2}` {
			t.Fatalf("response = %s, want 200 {\"accepted\":2}", body)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer from the function; logs:\n%s", readLogs())
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(keys, ","), "r-1,r-2"; got != want {
		t.Fatalf("partition keys = %s, want %s", got, want)
	}
	if got, want := target, "Kinesis_20131202.PutRecords pendulum-ingest"; got != want {
		t.Fatalf("call = %q, want %q", got, want)
	}
	// The metrics line may trail the answer by a moment.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(readLogs(), `"RecordsAccepted":2`) {
		if time.Now().After(deadline) {
			t.Fatalf("no EMF metrics line in the logs:\n%s", readLogs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
