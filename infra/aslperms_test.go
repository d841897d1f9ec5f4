package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// dirMachines serves the real embedded nightly-batch plus fixture DR
// machines from a testdata directory, so the Recovery stack is tested with
// known documents while the real ones are still being written.
type dirMachines struct{ dir string }

var placeholderRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

func (d dirMachines) Names() []string {
	names := []string{NightlyBatch}
	files, _ := filepath.Glob(filepath.Join(d.dir, "*.asl.json"))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".asl.json"))
	}
	sort.Strings(names)
	return names
}

func (d dirMachines) Definition(name string) ([]byte, error) {
	if name == NightlyBatch {
		return EmbeddedMachines.Definition(name)
	}
	return os.ReadFile(filepath.Join(d.dir, name+".asl.json"))
}

func (d dirMachines) Placeholders(name string) ([]string, error) {
	def, err := d.Definition(name)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range placeholderRE.FindAllSubmatch(def, -1) {
		if k := string(m[1]); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

func testScope() Scope {
	return Scope{
		"dynamodb":       {"arn:aws:dynamodb:us-east-2:111111111111:table/pendulum-*"},
		"cloudformation": {"arn:aws:cloudformation:us-east-2:111111111111:stack/pendulum-workload-us-east-2/*"},
		"iam":            {"arn:aws:iam::111111111111:role/pendulum-backup-restore-us-east-2"},
		"sns":            {"arn:aws:sns:us-east-2:111111111111:pendulum-dr"},
		"states":         {"arn:aws:states:us-east-2:111111111111:stateMachine:pendulum-*"},
		"events":         {"arn:aws:events:us-east-2:111111111111:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"},
	}
}

func TestTaskPermissionsFixture(t *testing.T) {
	def, err := os.ReadFile("testdata/statemachines/failover.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	perms, err := TaskPermissions(def, testScope(), []string{"arn:fn"}, "")
	if err != nil {
		t.Fatalf("TaskPermissions: %v", err)
	}
	got := map[string]string{}
	for _, p := range perms {
		for _, a := range p.Actions {
			got[a] = strings.Join(p.Resources, ",")
		}
	}
	want := map[string]string{
		"cloudformation:UpdateStack":         testScope()["cloudformation"][0],
		"dynamodb:UpdateItem":                testScope()["dynamodb"][0],
		"dynamodb:RestoreTableToPointInTime": testScope()["dynamodb"][0],
		"dynamodb:PutItem":                   testScope()["dynamodb"][0], // restore companion
		"sns:Publish":                        testScope()["sns"][0],
		"lambda:InvokeFunction":              "arn:fn,arn:fn:*",
	}
	for a, res := range want {
		if got[a] != res {
			t.Errorf("%s on %q, want %q", a, got[a], res)
		}
	}
	for a, res := range got {
		if res == "*" && !UnscopedActions[a] {
			t.Errorf("%s granted on *, but its API supports resource scoping", a)
		}
	}
}

// A restore job's role is passed to AWS Backup only, and a state machine
// passes no role for anything else (UpdateStack passes none: dr-stack,
// not a Task, updates stacks, as the workload's own execution role).
func TestTaskPermissionsPassRole(t *testing.T) {
	asl := `{"StartAt":"R","States":{"R":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:backup:startRestoreJob","End":true},
		"U":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:cloudformation:updateStack","End":true}}}`
	perms, err := TaskPermissions([]byte(asl), Scope{
		"backup": {"arn:aws:backup:us-east-2:111111111111:recovery-point:*"}, "cloudformation": testScope()["cloudformation"], "iam": testScope()["iam"],
	}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var pass []Permission
	for _, p := range perms {
		for _, a := range p.Actions {
			if a == "iam:PassRole" {
				pass = append(pass, p)
			}
		}
	}
	if len(pass) != 1 || len(pass[0].Actions) != 1 || strings.Join(pass[0].Resources, ",") != testScope()["iam"][0] ||
		strings.Join(pass[0].Conditions["StringEquals"]["iam:PassedToService"], ",") != "backup.amazonaws.com" {
		t.Fatalf("PassRole grants = %+v, want one: the restore role, passed to backup.amazonaws.com", pass)
	}
}

func TestTaskPermissionsNestedSync(t *testing.T) {
	def, err := os.ReadFile("testdata/statemachines/drill.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	perms, err := TaskPermissions(def, testScope(), nil, "")
	if err != nil {
		t.Fatalf("TaskPermissions: %v", err)
	}
	var actions []string
	for _, p := range perms {
		actions = append(actions, p.Actions...)
	}
	sort.Strings(actions)
	if got, want := strings.Join(actions, " "), "events:DescribeRule events:PutRule events:PutTargets states:DescribeExecution states:StartExecution states:StopExecution"; got != want {
		t.Fatalf("actions = %s, want %s", got, want)
	}
}

// A Distributed Map needs StartExecution on its own machine, Describe and
// StopExecution on its labelled children, s3:ListBucket for its
// listObjectsV2 ItemReader and the ResultWriter's S3 actions, each on the
// scope's resources for that action; its child's Task needs what any Task
// does.
func TestTaskPermissionsDistributedMap(t *testing.T) {
	asl := `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"Copy",
		"ItemReader":{"Resource":"arn:aws:states:::s3:listObjectsV2","Parameters":{"Bucket.$":"$.b","Prefix":"dt="}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"${DrCopybackFunctionArn}","End":true}}},
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"results","Prefix.$":"$.p"}},"End":true}}}`
	machine := "arn:aws:states:us-east-2:111111111111:stateMachine:pendulum-failback"
	scope := testScope()
	scope["s3:ListBucket"] = []string{"arn:aws:s3:::raw-b"}
	for _, a := range resultWriterActions {
		scope[a] = []string{"arn:aws:s3:::results/failback/*"}
	}
	perms, err := TaskPermissions([]byte(asl), scope, []string{"arn:fn"}, machine)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range perms {
		for _, a := range p.Actions {
			got[a] = strings.Join(p.Resources, ",")
		}
	}
	want := map[string]string{
		"states:StartExecution":       machine,
		"states:DescribeExecution":    "arn:aws:states:us-east-2:111111111111:execution:pendulum-failback/Copy:*",
		"states:StopExecution":        "arn:aws:states:us-east-2:111111111111:execution:pendulum-failback/Copy:*",
		"s3:ListBucket":               "arn:aws:s3:::raw-b",
		"s3:PutObject":                "arn:aws:s3:::results/failback/*",
		"s3:GetObject":                "arn:aws:s3:::results/failback/*",
		"s3:AbortMultipartUpload":     "arn:aws:s3:::results/failback/*",
		"s3:ListMultipartUploadParts": "arn:aws:s3:::results/failback/*",
		"lambda:InvokeFunction":       "arn:fn,arn:fn:*",
	}
	if len(got) != len(want) {
		t.Errorf("actions %v, want exactly %v", got, want)
	}
	for a, res := range want {
		if got[a] != res {
			t.Errorf("%s on %q, want %q", a, got[a], res)
		}
	}
	if _, err := TaskPermissions([]byte(asl), scope, nil, ""); err == nil || !strings.Contains(err.Error(), "Distributed Map") {
		t.Errorf("no machine ARN: %v, want an error naming the Distributed Map", err)
	}
	bad := strings.Replace(asl, "s3:listObjectsV2", "s3:selectObjectContent", 1)
	if _, err := TaskPermissions([]byte(bad), scope, nil, machine); err == nil || !strings.Contains(err.Error(), "no permission mapping") {
		t.Errorf("unknown ItemReader: %v, want no permission mapping", err)
	}
}

func TestTaskPermissionsRejects(t *testing.T) {
	tests := []struct {
		name, asl, want string
	}{
		{"UnknownIntegration", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync","End":true}}}`, "no permission mapping"},
		{"UnscopedService", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:ec2:terminateInstances","End":true}}}`, `service "ec2" has no resource scope`},
		{"MalformedSDK", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3","End":true}}}`, "want arn:aws:states:::aws-sdk"},
		{"NotJSON", `{`, "parse ASL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TaskPermissions([]byte(tt.asl), testScope(), nil, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("TaskPermissions error = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestSDKServiceNames checks the aws-sdk → IAM prefix mapping on Map and
// Parallel states, which the collector must descend into.
func TestSDKServiceNames(t *testing.T) {
	asl := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"D","States":{"D":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sfn:describeExecution","End":true}}},"End":true}}}`
	perms, err := TaskPermissions([]byte(asl), testScope(), nil, "")
	if err != nil {
		t.Fatalf("TaskPermissions: %v", err)
	}
	if len(perms) != 1 || perms[0].Actions[0] != "states:DescribeExecution" {
		t.Fatalf("perms = %+v, want states:DescribeExecution", perms)
	}
}

func TestDRFunctionTableScoped(t *testing.T) {
	// Every service a DR function uses must have a DR scope (grants panic
	// otherwise) or be an unscoped action.
	scoped := map[string]bool{}
	for _, svc := range []string{"dynamodb", "cloudformation", "backup", "globalaccelerator", "glue", "s3", "sns", "kms", "lambda", "states", "events", "cloudwatch", "kinesis", "ssm", "iam"} {
		scoped[svc] = true
	}
	for name, spec := range DRFunctions {
		for _, a := range spec.Actions {
			svc, _, _ := strings.Cut(a, ":")
			if !scoped[svc] && !UnscopedActions[a] {
				t.Errorf("%s: action %s has neither a DR scope nor an unscoped API", name, a)
			}
			if strings.HasSuffix(a, ":*") || a == "*" {
				t.Errorf("%s: wildcard action %s", name, a)
			}
		}
	}
}
