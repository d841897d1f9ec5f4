package aggregate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// TestRealSDKClient drives the Aggregator through the real DynamoDB client
// against a local HTTP stand-in, proving that what it sends is what DynamoDB
// expects on the wire and that it reads the SDK's TransactionCanceledException
// cancellation reasons as the service returns them.
func TestRealSDKClient(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body: %v", err)
		}
		mu.Lock()
		bodies = append(bodies, body)
		n := len(bodies)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch target := r.Header.Get("X-Amz-Target"); {
		case target == "DynamoDB_20120810.TransactWriteItems" && n == 1:
			// a's marker exists: the service cancels the transaction.
			w.Header().Set("X-Amzn-Errortype", "TransactionCanceledException")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, None]","CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"None"},{"Code":"None"}]}`)
		case target == "DynamoDB_20120810.TransactWriteItems":
			io.WriteString(w, `{}`)
		case target == "DynamoDB_20120810.GetItem":
			io.WriteString(w, `{"Item":{"pk":{"S":"W#2026-11-25T02:31Z"},"sk":{"S":"SUMMARY"},"records":{"N":"2"},"bytes":{"N":"3"},"producers":{"SS":["p2","p1"]},"updated":{"S":"2026-11-25T02:33:00Z"}}}`)
		default:
			t.Errorf("unexpected target %q", target)
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	client := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
	agg := newTestAggregator(client, "us-east-1", clock.NewVirtual(t0))
	w := window("2026-11-25T02:31Z")
	res := agg.ApplyAll(context.Background(), []Entry{{ID: "a", Window: w, Bytes: 1, Producer: "p1"}, {ID: "b", Window: w, Bytes: 2, Producer: "p2"}})
	if got, want := []Outcome{res[0].Outcome, res[1].Outcome}, []Outcome{Duplicate, Counted}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes = %v (%v, %v), want %v", got, res[0].Err, res[1].Err, want)
	}
	if got, want := len(bodies), 2; got != want {
		t.Fatalf("requests = %d, want %d", got, want)
	}
	// The retry carries b's marker and a summary update for b alone.
	items := bodies[1]["TransactItems"].([]any)
	if got, want := len(items), 2; got != want {
		t.Fatalf("retry actions = %d, want %d", got, want)
	}
	put := items[0].(map[string]any)["Put"].(map[string]any)
	if got, want := put["ConditionExpression"], "attribute_not_exists(pk)"; got != want {
		t.Fatalf("condition = %v, want %v", got, want)
	}
	if got, want := put["Item"].(map[string]any)["pk"], map[string]any{"S": "R#b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("marker pk = %v, want %v", got, want)
	}
	upd := items[1].(map[string]any)["Update"].(map[string]any)
	if got, want := upd["UpdateExpression"], "ADD #r :n, #b :b, #p :p SET #u = :u"; got != want {
		t.Fatalf("update = %v, want %v", got, want)
	}
	vals := upd["ExpressionAttributeValues"].(map[string]any)
	if got, want := vals[":n"], map[string]any{"N": "1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf(":n = %v, want %v", got, want)
	}
	if got, want := vals[":p"], map[string]any{"SS": []any{"p2"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf(":p = %v, want %v", got, want)
	}

	tot, err := agg.Totals(context.Background(), w)
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	if got, want := tot, (Totals{Window: w, Records: 2, Bytes: 3, Producers: []string{"p1", "p2"}, Updated: t0}); !reflect.DeepEqual(got, want) {
		t.Fatalf("Totals = %+v, want %+v", got, want)
	}
	if got := bodies[2]["ConsistentRead"]; got != true {
		t.Fatalf("ConsistentRead = %v, want true", got)
	}
	if !strings.HasPrefix(bodies[2]["Key"].(map[string]any)["pk"].(map[string]any)["S"].(string), "W#") {
		t.Fatalf("GetItem key = %v", bodies[2]["Key"])
	}
}
