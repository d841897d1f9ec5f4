package main

import (
	"encoding/json"
	"errors"
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

const tables = `[{"table":"raw","bucket":"pendulum-raw","prefix":"","layout":"hive"}]`

func TestConfigErrorExits(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"PENDULUM_RUN_MAIN=1", "TABLES=" + `[{"table":"raw","bucket":"pendulum-raw","layout":"daily"}]`}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want status 2; output:\n%s", err, out)
	}
	for _, want := range []string{"GLUE_DATABASE", "AWS_REGION", "TABLES", "layout"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("output does not name %s:\n%s", want, out)
		}
	}
}

// TestAnswersAnEvent starts the function against a stand-in Lambda Runtime
// API and a stand-in Glue endpoint, hands it one SQS event and checks its
// answer: the binary starts, reads its configuration, builds its SDK client
// from the environment and answers.
func TestAnswersAnEvent(t *testing.T) {
	var mu sync.Mutex
	var glueCalls []string
	glue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		glueCalls = append(glueCalls, r.Header.Get("X-Amz-Target"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "AWSGlue.GetTable":
			io.WriteString(w, `{"Table":{"Name":"raw","PartitionKeys":[{"Name":"dt"},{"Name":"hr"}],"StorageDescriptor":{"Location":"s3://pendulum-raw/"}}}`)
		default:
			io.WriteString(w, `{"Errors":[]}`)
		}
	}))
	defer glue.Close()

	event := `{"Records":[
	 {"messageId":"ok","eventSource":"aws:sqs","body":"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"pendulum-raw\"},\"object\":{\"key\":\"dt%3D2024-03-05/hr%3D07/a+b.json\"}}}]}"},
	 {"messageId":"garbage","eventSource":"aws:sqs","body":"not json"}]}`
	runtime := runtimeapi.New(t, "arn:aws:lambda:us-east-1:111122223333:function:partitions", event)
	defer runtime.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{
		"PENDULUM_RUN_MAIN=1",
		"AWS_LAMBDA_RUNTIME_API=" + runtime.Addr(),
		"GLUE_DATABASE=pendulum", "TABLES=" + tables, "AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_GLUE=" + glue.URL,
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
			t.Fatalf("function answered %s: %s\nlogs:\n%s", kind, body, logs.String())
		}
		var resp struct {
			BatchItemFailures []struct {
				ItemIdentifier string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatalf("response %q: %v", body, err)
		}
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "garbage" {
			t.Fatalf("response = %s, want only message garbage failed", body)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer from the function; logs:\n%s", logs.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(glueCalls, ","), "AWSGlue.GetTable,AWSGlue.BatchCreatePartition"; got != want {
		t.Fatalf("Glue calls = %s, want %s", got, want)
	}
}
