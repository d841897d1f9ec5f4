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
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"PENDULUM_RUN_MAIN=1", "MARKER_TTL_DAYS=-3"}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want status 2; output:\n%s", err, out)
	}
	for _, want := range []string{"TABLE_NAME", "AWS_REGION", "MARKER_TTL_DAYS"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("output does not name %s:\n%s", want, out)
		}
	}
}

// TestAnswersAnEvent starts the function against a stand-in Lambda Runtime
// API and a stand-in DynamoDB endpoint, hands it one Kinesis event and checks
// its answer: the binary starts, reads its configuration, builds its SDK
// client from the environment and answers. DynamoDB denies access, so the
// answer must name the first record as the batch item failure.
func TestAnswersAnEvent(t *testing.T) {
	var mu sync.Mutex
	var ddbBodies []string
	ddb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		ddbBodies = append(ddbBodies, r.Header.Get("X-Amz-Target")+" "+string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"not allowed"}`)
	}))
	defer ddb.Close()

	rec := func(seq int, id string) string {
		data := base64.StdEncoding.EncodeToString([]byte(`{"id":"` + id + `","ts":"2026-11-25T02:31:10Z","received":"2026-11-25T02:32:05Z","region":"us-east-1","producer":"p1","data":{"v":1}}` + "\n"))
		return fmt.Sprintf(`{"eventSource":"aws:kinesis","eventID":"shardId-000000000000:%d","kinesis":{"sequenceNumber":"%d","partitionKey":"k","data":"%s","approximateArrivalTimestamp":1795919500.5}}`, seq, seq, data)
	}
	event := `{"Records":[` + rec(101, "a1") + "," + rec(102, "a2") + `]}`
	runtime := runtimeapi.New(t, "arn:aws:lambda:us-east-1:111122223333:function:aggregate", event)
	defer runtime.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{
		"PENDULUM_RUN_MAIN=1",
		"AWS_LAMBDA_RUNTIME_API=" + runtime.Addr(),
		"TABLE_NAME=aggregates", "AWS_REGION=us-east-1", "MARKER_TTL_DAYS=3",
		"AWS_ENDPOINT_URL_DYNAMODB=" + ddb.URL,
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
	}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	select {
	case got := <-runtime.Answers():
		kind, body := got.Kind, got.Body
		if kind != "response" {
			t.Fatalf("function answered %s: %s", kind, body)
		}
		var resp struct {
			BatchItemFailures []struct {
				ItemIdentifier string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatalf("response %q: %v", body, err)
		}
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "101" {
			t.Fatalf("response = %s, want sequence 101 failed", body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no answer from the function")
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := len(ddbBodies), 1; got != want {
		t.Fatalf("DynamoDB calls = %d, want %d (access denied is not retried)", got, want)
	}
	if !strings.HasPrefix(ddbBodies[0], "DynamoDB_20120810.TransactWriteItems ") || !strings.Contains(ddbBodies[0], `"R#a1"`) || !strings.Contains(ddbBodies[0], `"R#a2"`) {
		t.Fatalf("DynamoDB request = %s", ddbBodies[0])
	}
}
