package partition

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

// TestRealSDKClient drives a Registrar through the real Glue client against
// a local HTTP stand-in: the request is what Glue expects on the wire, and
// per-partition errors are read as the service returns them.
func TestRealSDKClient(t *testing.T) {
	var bodies []map[string]any
	var targets []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body: %v", err)
		}
		bodies = append(bodies, body)
		targets = append(targets, r.Header.Get("X-Amz-Target"))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "AWSGlue.GetTable":
			io.WriteString(w, `{"Table":{"Name":"raw","DatabaseName":"pendulum","PartitionKeys":[{"Name":"dt","Type":"string"},{"Name":"hr","Type":"string"}],
				"StorageDescriptor":{"Location":"s3://pendulum-raw/raw/","InputFormat":"org.apache.hadoop.mapred.TextInputFormat",
				"SerdeInfo":{"SerializationLibrary":"org.openx.data.jsonserde.JsonSerDe"},"Columns":[{"Name":"id","Type":"string"}]}}}`)
		case "AWSGlue.BatchCreatePartition":
			io.WriteString(w, `{"Errors":[
				{"PartitionValues":["2024-03-05","07"],"ErrorDetail":{"ErrorCode":"AlreadyExistsException","ErrorMessage":"Partition already exists."}},
				{"PartitionValues":["2024-03-05","08"],"ErrorDetail":{"ErrorCode":"ResourceNumberLimitExceededException","ErrorMessage":"Number of partitions exceeded"}}]}`)
		default:
			t.Errorf("unexpected target %q", r.Header.Get("X-Amz-Target"))
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	client := glue.New(glue.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
	tb := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Prefix: "raw/", Layout: LayoutHive})
	r := NewRegistrar(client, "pendulum", 0)
	ps := []Partition{{"2024-03-05", "07"}, {"2024-03-05", "08"}, {"2024-03-05", "09"}}
	st, err := r.Register(context.Background(), tb, ps)
	var re *RegisterError
	if !errors.As(err, &re) {
		t.Fatalf("Register error = %v, want *RegisterError", err)
	}
	if got, want := len(re.Failed), 1; got != want {
		t.Fatalf("failed = %v, want only 08", re.Failed)
	}
	if got, want := fault.Code(re.Failed[ps[1]]), "ResourceNumberLimitExceededException"; got != want {
		t.Fatalf("code = %q, want %q", got, want)
	}
	if got, want := st, (Stats{Distinct: 3, Created: 1, Existed: 1, Failed: 1, Calls: 2}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	if got, want := targets, []string{"AWSGlue.GetTable", "AWSGlue.BatchCreatePartition"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	in := bodies[1]
	if got, want := in["DatabaseName"], "pendulum"; got != want {
		t.Fatalf("database = %v, want %v", got, want)
	}
	list := in["PartitionInputList"].([]any)
	if got, want := len(list), 3; got != want {
		t.Fatalf("partitions sent = %d, want %d", got, want)
	}
	first := list[0].(map[string]any)
	if got, want := first["Values"], []any{"2024-03-05", "07"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("values = %v, want %v", got, want)
	}
	sd := first["StorageDescriptor"].(map[string]any)
	if got, want := sd["Location"], "s3://pendulum-raw/raw/dt=2024-03-05/hr=07/"; got != want {
		t.Fatalf("location = %v, want %v", got, want)
	}
	if got, want := sd["SerdeInfo"].(map[string]any)["SerializationLibrary"], "org.openx.data.jsonserde.JsonSerDe"; got != want {
		t.Fatalf("serde = %v, want the table's %v", got, want)
	}
}
