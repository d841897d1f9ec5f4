package local

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// distributedDef is a Distributed Map over the JSON items of s3://BUCKET/in/
// items.json, 2 a batch, its results written to s3://BUCKET/results/.
const distributedDef = `{"StartAt":"Each","States":{"Each":{"Type":"Map",
  "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON"},"Parameters":{"Bucket":"BUCKET","Key":"in/items.json"}},
  "ItemBatcher":{"MaxItemsPerBatch":2},
  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"N","States":{"N":{"Type":"Pass","Parameters":{"n.$":"States.ArrayLength($.Items)"},"End":true}}},
  "ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"BUCKET","Prefix":"results"}},
  "End":true}}}`

// TestDistributedMapOnSimulatedS3 deploys a state machine with a
// Distributed Map through the same host CloudFormation deploys into and
// runs it in B: its ItemReader and ResultWriter call B's simulated S3 and
// the Map Run starts its children as the machine's role, with IAM
// enforced. Each permission the Map needs is then taken away in turn.
func TestDistributedMapOnSimulatedS3(t *testing.T) {
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	ctx := context.Background()
	region := l.Regions.Backup
	bucket := "pendulum-dmap-test-" + l.Names.Account
	store := l.World.Region(region).S3()
	if _, err := store.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("in/items.json"), Body: strings.NewReader(`[1,2,3,4,5]`)}); err != nil {
		t.Fatal(err)
	}
	machineARN := l.Names.StateMachineARN(region, "dmap-test")
	full := []string{
		`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/in/*"}`,
		`{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/results/*"}`,
		`{"Effect":"Allow","Action":"states:StartExecution","Resource":"` + machineARN + `"}`,
	}
	deploy := func(t *testing.T, statements []string) {
		t.Helper()
		role := "arn:aws:iam::" + l.Names.Account + ":role/dmap-test"
		l.World.DeleteRole(role)
		if err := l.World.CreateRole(role); err != nil {
			t.Fatal(err)
		}
		doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
		if err := l.World.PutRolePolicy(role, "dmap", []byte(doc)); err != nil {
			t.Fatal(err)
		}
		def := strings.ReplaceAll(distributedDef, "BUCKET", bucket)
		if _, err := (machineHost{l}).CreateStateMachine(ctx, region, sim.StateMachineDefinition{Name: l.Names.StateMachine("dmap-test"), Type: "STANDARD", Definition: def, RoleARN: role}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("Allowed", func(t *testing.T) {
		deploy(t, full)
		_, res, err := l.RunIn(ctx, region, "dmap-test", "{}")
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != states.StatusSucceeded {
			t.Fatalf("status %s: %s: %s; denied %v", res.Status, res.Error, res.Cause, l.Denied())
		}
		var out struct {
			MapRunArn           string
			ResultWriterDetails struct{ Bucket, Key string }
		}
		if err := json.Unmarshal(res.Output, &out); err != nil || out.ResultWriterDetails.Bucket != bucket {
			t.Fatalf("output %s (%v)", res.Output, err)
		}
		manifest := getObject(t, l, region, bucket, out.ResultWriterDetails.Key)
		var m struct {
			ResultFiles map[string][]struct{ Key string }
		}
		if err := json.Unmarshal(manifest, &m); err != nil || len(m.ResultFiles["SUCCEEDED"]) != 1 {
			t.Fatalf("manifest %s (%v)", manifest, err)
		}
		var recs []struct{ Output, Status string }
		if err := json.Unmarshal(getObject(t, l, region, bucket, m.ResultFiles["SUCCEEDED"][0].Key), &recs); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.Status+" "+r.Output)
		}
		if want := `SUCCEEDED {"n":2},SUCCEEDED {"n":2},SUCCEEDED {"n":1}`; strings.Join(got, ",") != want {
			t.Fatalf("results %q, want %s", got, want)
		}
		if d := l.Denied(); len(d) != 0 {
			t.Fatalf("denied: %+v", d)
		}
	})
	for _, tt := range []struct {
		name, missing, wantErr, wantCause string
	}{
		{"NoGetObject", "s3:GetObject", states.ErrorItemReaderFailed, "reading s3://" + bucket + "/in/items.json"},
		{"NoStartExecution", "states:StartExecution", states.ErrorPermissions, "is not authorized to perform: states:StartExecution on resource: " + machineARN},
		{"NoPutObject", "s3:PutObject", states.ErrorResultWriterFailed, "writing s3://" + bucket + "/results/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var statements []string
			for _, s := range full {
				if !strings.Contains(s, `"`+tt.missing+`"`) {
					statements = append(statements, s)
				}
			}
			deploy(t, statements)
			before := len(l.Denied())
			_, res, err := l.RunIn(ctx, region, "dmap-test", "{}")
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != states.StatusFailed || res.Error != tt.wantErr || !strings.Contains(res.Cause, tt.wantCause) {
				t.Fatalf("%s %s: %s; want FAILED %s with %q", res.Status, res.Error, res.Cause, tt.wantErr, tt.wantCause)
			}
			d := l.Denied()[before:]
			if len(d) != 1 || d[0].Action != tt.missing {
				t.Fatalf("denials %+v, want one of %s", d, tt.missing)
			}
		})
	}
}

func getObject(t *testing.T, l *Local, region, bucket, key string) []byte {
	t.Helper()
	out, err := l.World.Region(region).S3().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return bytes.TrimSpace(b)
}
