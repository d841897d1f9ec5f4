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
	"slices"
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
		{"NoStream", []string{"AWS_REGION=eu-west-1", "IDEMPOTENCY_TABLE=ids"}, "STREAM_NAME"},
		{"NoTable", []string{"AWS_REGION=eu-west-1", "STREAM_NAME=pendulum-ingest"}, "IDEMPOTENCY_TABLE"},
		{"NoRegion", []string{"STREAM_NAME=pendulum-ingest", "IDEMPOTENCY_TABLE=ids"}, "AWS_REGION"},
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

// dynamoDB is a stand-in DynamoDB endpoint for the ingest binary's
// idempotency writes: it notes each PutItem and answers it as DynamoDB
// does, taking every id but conflict, whose write fails its condition with
// the item it holds (ReturnValuesOnConditionCheckFailure ALL_OLD).
type dynamoDB struct {
	t        *testing.T
	conflict string
	mu       sync.Mutex
	puts     []string // "table id condition returnValues"
}

func (d *dynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TableName                           string
		Item                                map[string]map[string]string
		ConditionExpression                 string
		ExpressionAttributeValues           map[string]map[string]string
		ReturnValuesOnConditionCheckFailure string
	}
	if got := r.Header.Get("X-Amz-Target"); got != "DynamoDB_20120810.PutItem" {
		d.t.Errorf("DynamoDB call %q, want PutItem", got)
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		d.t.Errorf("PutItem body: %v", err)
	}
	id := in.Item["pk"]["S"]
	if h := in.Item["h"]["S"]; len(h) != 64 || in.ExpressionAttributeValues[":h"]["S"] != h || in.Item["expires"]["N"] == "" {
		d.t.Errorf("PutItem item %v, values %v: want pk, a 64-digit hash h (also :h) and expires", in.Item, in.ExpressionAttributeValues)
	}
	d.mu.Lock()
	d.puts = append(d.puts, strings.Join([]string{in.TableName, id, in.ConditionExpression, in.ReturnValuesOnConditionCheckFailure}, " "))
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if id == d.conflict {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"pk":{"S":%q},"h":{"S":"%s"},"expires":{"N":"1796000000"}}}`, id, strings.Repeat("ab", 32))
		return
	}
	io.WriteString(w, `{}`)
}

// TestAnswersAnEvent starts the function against a stand-in Lambda Runtime
// API and stand-in DynamoDB and Kinesis endpoints, hands it one ALB event
// and checks its answer: the binary starts, reads its configuration, builds
// its SDK clients from the environment, records the ids, writes the records
// and answers.
func TestAnswersAnEvent(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	var target string
	ddb := &dynamoDB{t: t}
	ddbServer := httptest.NewServer(ddb)
	defer ddbServer.Close()
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

	kind, body, readLogs := runEvent(t, event, ddbServer.URL, kinesis.URL)
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
	ddb.mu.Lock()
	puts := append([]string(nil), ddb.puts...)
	ddb.mu.Unlock()
	slices.Sort(puts) // written concurrently
	want := []string{
		"pendulum-ingest-ids r-1 attribute_not_exists(pk) OR h = :h ALL_OLD",
		"pendulum-ingest-ids r-2 attribute_not_exists(pk) OR h = :h ALL_OLD",
	}
	if !slices.Equal(puts, want) {
		t.Fatalf("PutItem calls %q, want %q", puts, want)
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

// TestConflictThroughTheSDK: DynamoDB's ConditionalCheckFailedException,
// with the item it carries, reaches ingest through the real SDK client as
// the typed error: the record is answered as a conflict naming the hash its
// id holds, and nothing is written to Kinesis.
func TestConflictThroughTheSDK(t *testing.T) {
	ddb := &dynamoDB{t: t, conflict: "r-2"}
	ddbServer := httptest.NewServer(ddb)
	defer ddbServer.Close()
	kinesis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("Kinesis called for a refused request")
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer kinesis.Close()
	kind, body, readLogs := runEvent(t, event, ddbServer.URL, kinesis.URL)
	if kind != "response" {
		t.Fatalf("function answered %s: %s\nlogs:\n%s", kind, body, readLogs())
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"index":1,"line":2,"reason":"conflict: id \"r-2\" was accepted earlier by this region with other content (content sha256 abababababab…`) || !strings.Contains(resp.Body, `"status":"conflict"`) {
		t.Fatalf("response = %s, want 400 with a conflict for record 1 naming the held hash", body)
	}
}

// event is the ALB event the tests hand the function: two records.
const event = `{"requestContext":{"elb":{"targetGroupArn":"arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/ingest/1"}},
	 "httpMethod":"POST","path":"/records","headers":{"content-type":"text/plain","x-pendulum-producer":"p1"},
	 "body":"{\"id\":\"r-1\",\"v\":1}\n{\"id\":\"r-2\",\"v\":2}\n","isBase64Encoded":false}`

// runEvent runs the function binary against a stand-in Runtime API holding
// event and the given DynamoDB and Kinesis endpoints, and returns its
// answer's kind and body, and a reader of its logs.
func runEvent(t *testing.T, event, dynamoDBURL, kinesisURL string) (kind, body string, readLogs func() string) {
	t.Helper()
	runtime := runtimeapi.New(t, "arn:aws:lambda:eu-west-1:111122223333:function:ingest", event)
	t.Cleanup(runtime.Close)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{
		"PENDULUM_RUN_MAIN=1",
		"AWS_LAMBDA_RUNTIME_API=" + runtime.Addr(),
		"STREAM_NAME=pendulum-ingest", "IDEMPOTENCY_TABLE=pendulum-ingest-ids", "AWS_REGION=eu-west-1",
		"AWS_ENDPOINT_URL_KINESIS=" + kinesisURL,
		"AWS_ENDPOINT_URL_DYNAMODB=" + dynamoDBURL,
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
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	readLogs = func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.String()
	}
	select {
	case got := <-runtime.Answers():
		return got.Kind, got.Body, readLogs
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer from the function; logs:\n%s", readLogs())
	}
	return "", "", readLogs
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
