package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/pendulum-dr/pendulum/pkg/health"
	"github.com/pendulum-dr/pendulum/pkg/ingest"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// The asset and functions directories are temporary fixtures made by
// TestMain: placeholder bootstrap files for every function (tests need no
// `make build`), and functions/dr-traffic and functions/dr-report so the
// Recovery stack deploys DR Lambdas.
var (
	fixtureAssets, fixtureFunctions string
	fixtureDRFunctions              = []string{"dr-control", "dr-report", "dr-restore", "dr-stack", "dr-traffic"}
)

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	root, err := os.MkdirTemp("", "pendulum-infra-test")
	if err != nil {
		panic(err)
	}
	fixtureAssets, fixtureFunctions = filepath.Join(root, "dist"), filepath.Join(root, "functions")
	for _, name := range append(append([]string{}, WorkloadFunctions...), fixtureDRFunctions...) {
		dir := filepath.Join(fixtureAssets, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("placeholder "+name), 0o755); err != nil {
			panic(err)
		}
	}
	for _, name := range fixtureDRFunctions {
		if err := os.MkdirAll(filepath.Join(fixtureFunctions, name), 0o755); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	jsii.Close()
	os.RemoveAll(root)
	os.Exit(code)
}

// testConfig is the example configuration over the fixtures, with DR
// machines from dir (the real nightly-batch always).
func testConfig(t testing.TB, machinesDir string) Config {
	t.Helper()
	ctx := validContext()
	ctx["pendulum:assetDir"] = fixtureAssets
	ctx["pendulum:functionsDir"] = fixtureFunctions
	cfg, err := LoadConfig(ctx)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	cfg.Machines = dirMachines{dir: machinesDir}
	return cfg
}

// synthesized is one built and synthesized deployment, shared by the tests
// (a full synth costs tens of seconds of jsii).
type synthesized struct {
	cfg       Config
	d         *Deployment
	templates map[string]assertions.Template
	json      map[string]map[string]any
	nag       map[string][]string // cdk-nag errors by stack name
}

var (
	shared     *synthesized
	sharedErr  error
	sharedOnce sync.Once
)

func deployment(t *testing.T) *synthesized {
	t.Helper()
	sharedOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				sharedErr = fmt.Errorf("synth panicked: %v", r)
			}
		}()
		cfg := testConfig(t, "testdata/statemachines")
		app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{
			// Asset metadata names each function's source directory.
			"aws:cdk:enable-asset-metadata": true,
			"aws:cdk:disable-asset-staging": true,
		}})
		d, err := Build(app, cfg)
		if err != nil {
			sharedErr = err
			return
		}
		s := &synthesized{cfg: cfg, d: d, templates: map[string]assertions.Template{}, json: map[string]map[string]any{}}
		for _, st := range d.Stacks(cfg) {
			tmpl := assertions.Template_FromStack(st, nil)
			s.templates[*st.StackName()] = tmpl
			b, err := json.Marshal(tmpl.ToJSON())
			if err != nil {
				sharedErr = err
				return
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				sharedErr = err
				return
			}
			s.json[*st.StackName()] = m
		}
		s.nag = nagErrors(app)
		shared = s
	})
	if sharedErr != nil {
		t.Fatalf("build deployment: %v", sharedErr)
	}
	return shared
}

func (s *synthesized) name(kind, region string) string { return NamesFor(s.cfg).Stack(kind, region) }

// resources returns the template's resources of type typ, by logical id.
func (s *synthesized) resources(stack, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	res, _ := s.json[stack]["Resources"].(map[string]any)
	for id, r := range res {
		rm := r.(map[string]any)
		if typ == "" || rm["Type"] == typ {
			out[id] = rm
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// get walks a JSON path of map keys and slice indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// mustPanic runs an assertion expected to fail: CDK assertions panic.
func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s: assertion passed, want it to fail", what)
		}
	}()
	f()
}

func TestAggregatesTableProtected(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	s.templates[s.name("data", s.cfg.PrimaryRegion)].HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"TableName":                        n.AggregatesTable(),
		"KeySchema":                        []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}, map[string]any{"AttributeName": "sk", "KeyType": "RANGE"}},
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"DeletionProtectionEnabled":        true,
		"BillingMode":                      "PAY_PER_REQUEST",
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expires", "Enabled": true},
	})
	// B has no aggregates table until failover restores it.
	s.templates[s.name("data", s.cfg.BackupRegion)].ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(0))
	// The DR control table in B is protected the same way.
	s.templates[s.name("recovery", s.cfg.BackupRegion)].HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"TableName":                        n.ControlTable(),
		"KeySchema":                        []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"DeletionProtectionEnabled":        true,
	})
}

// TestIdempotencyTables: each workload region has ingest's idempotency
// table, the dormant backup's too, unconditionally (it exists when B
// serves; flipping Active never touches it), protected like the app's
// other tables, with its TTL; ingest may only PutItem on its own region's.
func TestIdempotencyTables(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	for _, region := range []string{s.cfg.PrimaryRegion, s.cfg.BackupRegion} {
		stack := s.name("workload", region)
		tables := s.resources(stack, "AWS::DynamoDB::Table")
		if len(tables) != 1 {
			t.Fatalf("%s: %d tables, want the idempotency table", stack, len(tables))
		}
		for id, tbl := range tables {
			if tbl["Condition"] != nil {
				t.Errorf("%s/%s: condition %v, want none: the table must exist whether or not the stack is active", stack, id, tbl["Condition"])
			}
			if tbl["DeletionPolicy"] != "Retain" || tbl["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("%s/%s: deletion policy %v/%v, want Retain", stack, id, tbl["DeletionPolicy"], tbl["UpdateReplacePolicy"])
			}
		}
		s.templates[stack].HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"TableName":                        n.IdempotencyTable(),
			"KeySchema":                        []any{map[string]any{"AttributeName": ingest.IdempotencyKey, "KeyType": "HASH"}},
			"AttributeDefinitions":             []any{map[string]any{"AttributeName": ingest.IdempotencyKey, "AttributeType": "S"}},
			"BillingMode":                      "PAY_PER_REQUEST",
			"DeletionProtectionEnabled":        true,
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": ingest.IdempotencyExpires, "Enabled": true},
			"PointInTimeRecoverySpecification": assertions.Match_Absent(),
		})
		s.templates[stack].HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"FunctionName": n.Function("ingest"),
			"Environment":  map[string]any{"Variables": map[string]any{ingest.EnvIdempotencyTable: n.IdempotencyTable()}},
		})
		// Every grant naming the table is ingest's PutItem, on this
		// region's table.
		arn := n.TableARN(region, n.IdempotencyTable())
		found := false
		for id, p := range s.resources(stack, "AWS::IAM::Policy") {
			for _, st := range asList(get(props(p), "PolicyDocument", "Statement")) {
				res := fmt.Sprint(get(st, "Resource"))
				if !strings.Contains(res, n.IdempotencyTable()) {
					continue
				}
				roles := fmt.Sprint(get(props(p), "Roles"))
				if acts := fmt.Sprint(asList(get(st, "Action"))); acts != "[dynamodb:PutItem]" || res != arn || !strings.Contains(roles, "IngestRole") {
					t.Errorf("%s/%s: %s on %s for %s, want dynamodb:PutItem on %s for the ingest role only", stack, id, acts, res, roles, arn)
				}
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no grant of dynamodb:PutItem on %s", stack, arn)
		}
	}
}

func TestReplicationToBackup(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	P, B := s.cfg.PrimaryRegion, s.cfg.BackupRegion
	for _, kind := range dataKinds {
		s.templates[s.name("data", P)].HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"BucketName": n.Bucket(kind, P),
			"ReplicationConfiguration": map[string]any{
				"Rules": []any{map[string]any{
					"Status":                  "Enabled",
					"DeleteMarkerReplication": map[string]any{"Status": "Enabled"},
					"Destination": map[string]any{
						"Bucket":          n.BucketARN(kind, B),
						"ReplicationTime": map[string]any{"Status": "Enabled", "Time": map[string]any{"Minutes": 15}},
						"Metrics":         map[string]any{"Status": "Enabled", "EventThreshold": map[string]any{"Minutes": 15}},
					},
				}},
			},
		})
	}
	// The replication role (live replication) and the Batch Replication
	// role: exactly their actions, on the named buckets (P's for the batch
	// role: it starts replication of P's objects).
	roleActions := func(role string) []string {
		var out []string
		for _, p := range s.resources(s.name("data", P), "AWS::IAM::Policy") {
			roles := fmt.Sprint(get(props(p), "Roles"))
			if !strings.Contains(roles, "[map[Ref:"+role) {
				continue
			}
			for _, st := range get(props(p), "PolicyDocument", "Statement").([]any) {
				acts := st.(map[string]any)["Action"]
				for _, a := range asList(acts) {
					out = append(out, a.(string))
				}
				for _, r := range asList(st.(map[string]any)["Resource"]) {
					prefix := "arn:aws:s3:::" + n.Prefix + "-"
					if role == "BatchReplicationRole" && !strings.HasSuffix(strings.TrimSuffix(fmt.Sprint(r), "/*"), "-"+P) {
						t.Errorf("batch replication role resource %v is not one of %s's buckets", r, P)
					}
					if !strings.HasPrefix(fmt.Sprint(r), prefix) {
						t.Errorf("%s resource %v is not a Pendulum bucket", role, r)
					}
				}
			}
		}
		sort.Strings(out)
		return out
	}
	if got, want := strings.Join(roleActions("ReplicationRole"), " "), "s3:GetObjectVersionAcl s3:GetObjectVersionForReplication s3:GetObjectVersionTagging s3:GetReplicationConfiguration s3:ListBucket s3:ReplicateDelete s3:ReplicateObject s3:ReplicateTags"; got != want {
		t.Fatalf("replication role actions = %s, want %s", got, want)
	}
	if got, want := strings.Join(roleActions("BatchReplicationRole"), " "), "s3:GetReplicationConfiguration s3:InitiateReplication s3:PutInventoryConfiguration"; got != want {
		t.Fatalf("batch replication role actions = %s, want %s", got, want)
	}
	s.templates[s.name("data", P)].HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
		"RoleName": n.BatchReplicationRole(P),
		"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Principal": map[string]any{"Service": "batchoperations.s3.amazonaws.com"},
		}}},
	})
	for id, r := range s.resources(s.name("data", B), "AWS::IAM::Role") {
		if props(r)["RoleName"] == n.BatchReplicationRole(B) {
			t.Errorf("B's data stack has a batch replication role (%s): B's buckets replicate nowhere", id)
		}
	}
	// B's buckets are replicas: they replicate nowhere.
	for id, b := range s.resources(s.name("data", B), "AWS::S3::Bucket") {
		if props(b)["ReplicationConfiguration"] != nil {
			t.Errorf("backup bucket %s replicates; only P's buckets should", id)
		}
	}
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// TestEveryBucketSecure: versioned, encrypted, private, TLS-only, with
// noncurrent-version expiry — every bucket of every stack.
func TestEveryBucketSecure(t *testing.T) {
	s := deployment(t)
	total := 0
	for stack := range s.json {
		policies := s.resources(stack, "AWS::S3::BucketPolicy")
		for id, b := range s.resources(stack, "AWS::S3::Bucket") {
			total++
			p := props(b)
			if got := get(p, "VersioningConfiguration", "Status"); got != "Enabled" {
				t.Errorf("%s/%s: versioning %v, want Enabled", stack, id, got)
			}
			if got := get(p, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm"); got == nil {
				t.Errorf("%s/%s: no default encryption", stack, id)
			}
			for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				if got := get(p, "PublicAccessBlockConfiguration", k); got != true {
					t.Errorf("%s/%s: %s = %v, want true", stack, id, k, got)
				}
			}
			if got := get(p, "LifecycleConfiguration", "Rules", 0, "NoncurrentVersionExpiration", "NoncurrentDays"); got != float64(s.cfg.NoncurrentVersionDays) {
				t.Errorf("%s/%s: noncurrent version expiry %v, want %d days", stack, id, got, s.cfg.NoncurrentVersionDays)
			}
			tlsOnly := false
			for _, pol := range policies {
				if get(props(pol), "Bucket", "Ref") != id {
					continue
				}
				for _, st := range get(props(pol), "PolicyDocument", "Statement").([]any) {
					m := st.(map[string]any)
					if m["Effect"] == "Deny" && get(m, "Condition", "Bool", "aws:SecureTransport") == "false" {
						tlsOnly = true
					}
				}
			}
			if !tlsOnly {
				t.Errorf("%s/%s: no TLS-only (aws:SecureTransport=false → Deny) bucket policy", stack, id)
			}
		}
	}
	// raw, curated, logs in each region + ALB logs in each region + B's
	// failback bucket.
	if got, want := total, 9; got != want {
		t.Fatalf("buckets checked = %d, want %d", got, want)
	}
}

// TestDormantBackupWorkload: in B every costly resource carries the Active
// condition, and no resource that always exists refers to one that may
// not (the template must deploy with Active=false and update to true).
func TestDormantBackupWorkload(t *testing.T) {
	s := deployment(t)
	B := s.name("workload", s.cfg.BackupRegion)
	tmpl := s.templates[B]
	tmpl.HasParameter(jsii.String(ActiveParameter), map[string]any{"Type": "String", "AllowedValues": []any{"true", "false"}, "Default": "false"})
	tmpl.HasCondition(jsii.String("IsActive"), map[string]any{"Fn::Equals": []any{map[string]any{"Ref": ActiveParameter}, "true"}})
	costly := map[string]int{}
	all := s.resources(B, "")
	for id, r := range all {
		typ := r["Type"].(string)
		if CostlyTypes[typ] {
			costly[typ]++
			if r["Condition"] != "IsActive" {
				t.Errorf("%s (%s) has condition %v, want IsActive", id, typ, r["Condition"])
			}
		}
	}
	for _, typ := range []string{"AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::Kinesis::Stream", "AWS::KinesisFirehose::DeliveryStream", "AWS::Lambda::EventSourceMapping", "AWS::Scheduler::Schedule"} {
		if costly[typ] == 0 {
			t.Errorf("no %s in the backup workload", typ)
		}
	}
	// The consumer waits for its own switch.
	for _, r := range s.resources(B, "AWS::Lambda::EventSourceMapping") {
		if got := fmt.Sprint(get(props(r), "Enabled")); !strings.Contains(got, "IsConsumerEnabled") {
			t.Errorf("backup consumer Enabled = %s, want Fn::If on IsConsumerEnabled", got)
		}
	}
	for id, r := range all {
		if r["Condition"] != nil {
			continue
		}
		for _, dep := range references(r) {
			if target, ok := all[dep]; ok && target["Condition"] != nil {
				t.Errorf("%s exists when dormant but refers to %s, which exists only when active", id, dep)
			}
		}
	}

	outputs, _ := s.json[B]["Outputs"].(map[string]any)
	for id, o := range outputs {
		om := o.(map[string]any)
		if om["Condition"] != nil {
			continue
		}
		for _, dep := range references(map[string]any{"Properties": om["Value"]}) {
			if target, ok := all[dep]; ok && target["Condition"] != nil {
				t.Errorf("output %s exists when dormant but refers to %s, which exists only when active", id, dep)
			}
		}
	}
	if got := get(outputs, "LoadBalancerArn", "Condition"); got != "IsActive" {
		t.Errorf("backup LoadBalancerArn output condition = %v, want IsActive", got)
	}

	P := s.name("workload", s.cfg.PrimaryRegion)
	mustPanic(t, "P has an Active parameter", func() {
		s.templates[P].HasParameter(jsii.String(ActiveParameter), map[string]any{})
	})
	for id, r := range s.resources(P, "") {
		if r["Condition"] != nil {
			t.Errorf("primary workload resource %s has condition %v", id, r["Condition"])
		}
	}
	if got, want := len(s.resources(P, "AWS::ElasticLoadBalancingV2::LoadBalancer")), 1; got != want {
		t.Fatalf("primary ALBs = %d, want %d", got, want)
	}
}

// references lists the logical ids a resource refers to (Ref, Fn::GetAtt,
// Fn::Sub ${Id}, DependsOn).
func references(r map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["Ref"].(string); ok {
				out = append(out, ref)
			}
			if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
				out = append(out, fmt.Sprint(ga[0]))
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(r["Properties"])
	for _, d := range asList(r["DependsOn"]) {
		if d != nil {
			out = append(out, fmt.Sprint(d))
		}
	}
	return out
}

func TestAcceleratorOnlyInUSWest2(t *testing.T) {
	s := deployment(t)
	for _, st := range s.d.Stacks(s.cfg) {
		name := *st.StackName()
		n := 0
		for _, r := range s.resources(name, "") {
			if strings.HasPrefix(r["Type"].(string), "AWS::GlobalAccelerator::") {
				n++
			}
		}
		if name == s.name("global", GlobalRegion) {
			if got := *st.Region(); got != "us-west-2" {
				t.Fatalf("global stack region = %s, want us-west-2", got)
			}
			if n != 4 { // accelerator, listener, two endpoint groups
				t.Fatalf("global stack has %d Global Accelerator resources, want 4", n)
			}
			continue
		}
		if n != 0 {
			t.Errorf("%s (%s) has %d Global Accelerator resources, want 0", name, *st.Region(), n)
		}
	}
	g := s.templates[s.name("global", GlobalRegion)]
	g.HasResourceProperties(jsii.String("AWS::GlobalAccelerator::Listener"), map[string]any{"Protocol": "TCP"})
	g.HasResourceProperties(jsii.String("AWS::GlobalAccelerator::EndpointGroup"), map[string]any{
		"EndpointGroupRegion":    s.cfg.PrimaryRegion,
		"HealthCheckProtocol":    assertions.Match_Absent(), // an ALB endpoint is checked by the ALB
		"EndpointConfigurations": []any{map[string]any{"Weight": 100, "ClientIPPreservationEnabled": true}},
	})
	g.HasResourceProperties(jsii.String("AWS::GlobalAccelerator::EndpointGroup"), map[string]any{
		"EndpointGroupRegion":    s.cfg.BackupRegion,
		"EndpointConfigurations": assertions.Match_Absent(),
	})
}

// readParameterOf returns the region and name of the SSM parameter the
// stack's resource id reads at deploy time (ReadParameter's custom
// resource), or "" for another resource.
func (s *synthesized) readParameterOf(stack, id string) (region, name string) {
	r, ok := s.resources(stack, "Custom::AWS")[id]
	if !ok {
		return "", ""
	}
	var call struct {
		Region     string
		Parameters struct{ Name string }
	}
	create, _ := props(r)["Create"].(string)
	if err := json.Unmarshal([]byte(create), &call); err != nil {
		return "", ""
	}
	return call.Region, call.Parameters.Name
}

// readsParameter reports whether v is the value of the SSM parameter
// region:name, read at deploy time by one of the stack's resources.
func (s *synthesized) readsParameter(stack string, v any, region, name string) bool {
	id, _ := get(v, "Fn::GetAtt", 0).(string)
	r, n := s.readParameterOf(stack, id)
	return r == region && n == name && get(v, "Fn::GetAtt", 1) == "Parameter.Value"
}

// TestAlarmStartsFailover: health metric → alarm → EventBridge rule on
// ALARM → the failover state machine.
func TestAlarmStartsFailover(t *testing.T) {
	s := deployment(t)
	R := s.name("recovery", s.cfg.BackupRegion)
	alarms := s.resources(R, "AWS::CloudWatch::Alarm")
	// P unhealthy, P's pipeline stalled and B's failure signals
	// (TestFailureAlarms).
	if got, want := len(alarms), 2+len(alarmSpecs(s.cfg, s.cfg.BackupRegion)); got != want {
		t.Fatalf("alarms = %d, want %d", got, want)
	}
	var alarmID string
	for id, a := range alarms {
		p := props(a)
		if p["AlarmName"] != NamesFor(s.cfg).AlarmName() {
			continue
		}
		alarmID = id
		if p["Namespace"] != MetricNamespace || p["MetricName"] != MetricName || p["ComparisonOperator"] != "LessThanThreshold" {
			t.Fatalf("alarm metric = %v/%v %v", p["Namespace"], p["MetricName"], p["ComparisonOperator"])
		}
		dims := map[string]any{}
		for _, d := range p["Dimensions"].([]any) {
			dims[d.(map[string]any)["Name"].(string)] = d.(map[string]any)["Value"]
		}
		if dims["Endpoint"] != PrimaryTargetName || dims["Region"] != s.cfg.BackupRegion {
			t.Fatalf("alarm dimensions = %v, want Endpoint=%s Region=%s (the canary's vantage point)", dims, PrimaryTargetName, s.cfg.BackupRegion)
		}
		if p["EvaluationPeriods"] != float64(s.cfg.AlarmEvaluationPeriods) || p["DatapointsToAlarm"] != float64(s.cfg.AlarmDatapointsToAlarm) {
			t.Fatalf("alarm periods = %v/%v", p["EvaluationPeriods"], p["DatapointsToAlarm"])
		}
	}
	var failoverID string
	for id, m := range s.resources(R, "AWS::StepFunctions::StateMachine") {
		if props(m)["StateMachineName"] == NamesFor(s.cfg).StateMachine(FailoverMachine) {
			failoverID = id
		}
	}
	if failoverID == "" {
		t.Fatal("no failover state machine in the Recovery stack")
	}
	found := false
	for _, r := range s.resources(R, "AWS::Events::Rule") {
		p := props(r)
		if get(p, "EventPattern", "detail", "state", "value", 0) != "ALARM" {
			continue
		}
		if p["Name"] == ForwardedAlarmRuleName(NamesFor(s.cfg), "alarm") {
			// P's forwarded alarms only notify (TestFailureAlarms).
			if get(p, "Targets", 0, "Arn", "Ref") == failoverID {
				t.Fatal("P's forwarded alarms start failover")
			}
			continue
		}
		if got := get(p, "EventPattern", "resources", 0, "Fn::GetAtt", 0); got != alarmID {
			t.Fatalf("rule matches alarm %v, want %s", got, alarmID)
		}
		if got := get(p, "Targets", 0, "Arn", "Ref"); got != failoverID {
			t.Fatalf("rule target = %v, want the failover state machine %s", got, failoverID)
		}
		found = true
	}
	if !found {
		t.Fatal("no EventBridge rule on the alarm's ALARM state")
	}
	if alarmID == "" {
		t.Fatal("no alarm named " + NamesFor(s.cfg).AlarmName())
	}
	// The topic is encrypted.
	s.templates[R].HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{
		"KmsMasterKeyId": assertions.Match_AnyValue(),
	})
}

func TestBackupCopyToBackupRegion(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	s.templates[s.name("data", s.cfg.PrimaryRegion)].HasResourceProperties(jsii.String("AWS::Backup::BackupPlan"), map[string]any{
		"BackupPlan": map[string]any{"BackupPlanRule": []any{map[string]any{
			"CopyActions": []any{map[string]any{"DestinationBackupVaultArn": n.BackupVaultARN(s.cfg.BackupRegion)}},
		}}},
	})
	s.templates[s.name("data", s.cfg.BackupRegion)].HasResourceProperties(jsii.String("AWS::Backup::BackupVault"), map[string]any{
		"BackupVaultName": n.BackupVault(),
	})
	s.templates[s.name("data", s.cfg.PrimaryRegion)].ResourceCountIs(jsii.String("AWS::Backup::BackupSelection"), jsii.Number(1))
}

// TestLambdas: every Pendulum function is provided.al2023/arm64 from its
// dist/<name> directory, with exactly the environment it reads.
func TestLambdas(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	P, B := s.cfg.PrimaryRegion, s.cfg.BackupRegion
	wantEnv := map[string][]string{
		"ingest": {"IDEMPOTENCY_TABLE", "STREAM_NAME"}, "partitions": {"GLUE_DATABASE", "TABLES"}, "aggregate": {"TABLE_NAME"},
		"compact": {"CURATED_BUCKET", "RAW_BUCKET"}, "compact-plan": {"RAW_BUCKET"}, "health": {"PIPELINE_REGION", "PIPELINE_TABLE", "PIPELINE_TARGET", "PROBE_TIMEOUT_MS", "TARGETS"},
	}
	wantIn := map[string][]string{
		s.name("data", P): {"partitions"}, s.name("data", B): {"partitions"},
		s.name("workload", P): {"aggregate", "compact", "compact-plan", "ingest"}, s.name("workload", B): {"aggregate", "compact", "compact-plan", "ingest"},
		s.name("recovery", B): {"dr-control", "dr-report", "dr-restore", "dr-stack", "dr-traffic", "health", ReadinessFunction},
	}
	for stack, want := range wantIn {
		var got []string
		for id, fn := range s.resources(stack, "AWS::Lambda::Function") {
			p := props(fn)
			name, _ := p["FunctionName"].(string)
			if name == "" { // CDK's own custom-resource provider
				continue
			}
			short := strings.TrimPrefix(name, n.Prefix+"-")
			got = append(got, short)
			if p["Runtime"] != "provided.al2023" || fmt.Sprint(p["Architectures"]) != "[arm64]" || p["Handler"] != "bootstrap" {
				t.Errorf("%s/%s: runtime %v %v %v, want provided.al2023 [arm64] bootstrap", stack, id, p["Runtime"], p["Architectures"], p["Handler"])
			}
			if got, want := get(fn, "Metadata", "aws:asset:path"), filepath.Join(fixtureAssets, short); got != want {
				t.Errorf("%s/%s: asset %v, want %s", stack, id, got, want)
			}
			if keys, ok := wantEnv[short]; ok {
				var env []string
				for k := range get(p, "Environment", "Variables").(map[string]any) {
					env = append(env, k)
				}
				sort.Strings(env)
				if strings.Join(env, ",") != strings.Join(keys, ",") {
					t.Errorf("%s env = %v, want exactly %v", short, env, keys)
				}
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s functions = %v, want %v", stack, got, want)
		}
	}
	// The partitions Lambda's TABLES point at its own region's buckets.
	for _, region := range []string{P, B} {
		s.templates[s.name("data", region)].HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": map[string]any{
				"TABLES": fmt.Sprintf(`[{"table":"raw","bucket":"%s","prefix":"","layout":"hive"},{"table":"curated","bucket":"%s","prefix":"","layout":"hive"}]`,
					n.Bucket("raw", region), n.Bucket("curated", region)),
			}},
		})
	}
	s.templates[s.name("workload", P)].HasResourceProperties(jsii.String("AWS::KinesisFirehose::DeliveryStream"), map[string]any{
		"ExtendedS3DestinationConfiguration": map[string]any{"Prefix": FirehosePrefix, "CompressionFormat": "GZIP", "BucketARN": n.BucketARN("raw", P)},
	})
	s.templates[s.name("workload", P)].HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
		"FunctionResponseTypes": []any{"ReportBatchItemFailures"}, "BisectBatchOnFunctionError": true,
		// No retry count: retried until the record is as old as the stream
		// keeps records (MaximumRecordAgeInSeconds), never given up sooner.
		"MaximumRetryAttempts": assertions.Match_Absent(), "MaximumRecordAgeInSeconds": float64(min(s.cfg.StreamRetentionHours, 7*24) * 3600),
		"DestinationConfig": map[string]any{"OnFailure": assertions.Match_AnyValue()},
	})
}

// TestPipelineAlarmOnlyNotifies: the canary checks P's pipeline (its
// heartbeat in P's aggregates table, read with GetItem only), and the
// alarm on PipelineFresh notifies the DR topic on ALARM and OK while no
// rule starts anything on it.
func TestPipelineAlarmOnlyNotifies(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	P, B := s.cfg.PrimaryRegion, s.cfg.BackupRegion
	R := s.name("recovery", B)
	s.templates[R].HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"FunctionName": n.Function("health"),
		"Environment": map[string]any{"Variables": map[string]any{
			health.EnvPipelineTable: n.AggregatesTable(), health.EnvPipelineRegion: P, health.EnvPipelineTarget: PrimaryTargetName,
		}},
	})
	var pipelineID string
	for id, a := range s.resources(R, "AWS::CloudWatch::Alarm") {
		p := props(a)
		if p["AlarmName"] != n.PipelineAlarmName() {
			continue
		}
		pipelineID = id
		dims := map[string]any{}
		for _, d := range p["Dimensions"].([]any) {
			dims[d.(map[string]any)["Name"].(string)] = d.(map[string]any)["Value"]
		}
		if p["Namespace"] != MetricNamespace || p["MetricName"] != health.MetricPipelineFresh || p["ComparisonOperator"] != "LessThanThreshold" ||
			p["Threshold"] != 1.0 || dims["Endpoint"] != PrimaryTargetName || dims["Region"] != B || p["TreatMissingData"] != "notBreaching" {
			t.Fatalf("pipeline alarm = %v", p)
		}
		if p["DatapointsToAlarm"].(float64) < 2 {
			t.Fatalf("pipeline alarm DatapointsToAlarm %v: the round right after an outage is stale, one datapoint must not alarm", p["DatapointsToAlarm"])
		}
		for _, k := range []string{"AlarmActions", "OKActions"} {
			if acts, _ := p[k].([]any); len(acts) != 1 || get(p, k, 0, "Ref") == nil {
				t.Fatalf("pipeline alarm %s = %v, want the DR topic", k, p[k])
			}
		}
	}
	if pipelineID == "" {
		t.Fatal("no alarm named " + n.PipelineAlarmName())
	}
	for id, r := range s.resources(R, "AWS::Events::Rule") {
		if strings.Contains(fmt.Sprint(props(r)["EventPattern"]), pipelineID) {
			t.Fatalf("rule %s matches the pipeline alarm: it must start nothing", id)
		}
	}
	// The canary's role reads P's table, GetItem only, and no other
	// DynamoDB resource.
	var healthRole any
	for _, fn := range s.resources(R, "AWS::Lambda::Function") {
		if props(fn)["FunctionName"] == n.Function("health") {
			healthRole = get(props(fn), "Role", "Fn::GetAtt", 0)
		}
	}
	found := false
	for _, pol := range s.resources(R, "AWS::IAM::Policy") {
		if healthRole == nil || get(props(pol), "Roles", 0, "Ref") != healthRole {
			continue
		}
		for _, st := range asList(get(props(pol), "PolicyDocument", "Statement")) {
			actions := fmt.Sprint(get(st, "Action"))
			if !strings.Contains(actions, "dynamodb:") {
				continue
			}
			if actions != "dynamodb:GetItem" || fmt.Sprint(get(st, "Resource")) != n.TableARN(P, n.AggregatesTable()) {
				t.Fatalf("the canary's DynamoDB grant: %v on %v, want dynamodb:GetItem on %s only", actions, get(st, "Resource"), n.TableARN(P, n.AggregatesTable()))
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no dynamodb:GetItem grant on P's aggregates table for the canary's role %v", healthRole)
	}
}

// TestIAMScoped walks every policy document of every template: no "*" or
// "service:*" action, and Resource "*" only for actions whose APIs support
// no resource-level permissions.
func TestIAMScoped(t *testing.T) {
	s := deployment(t)
	docs := 0
	for stack := range s.json {
		for id, r := range s.resources(stack, "") {
			var list []any
			keyPolicy := false
			p := props(r)
			switch r["Type"] {
			case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy":
				list = []any{p["PolicyDocument"]}
			case "AWS::IAM::Role":
				for _, pol := range asList(p["Policies"]) {
					if pol != nil {
						list = append(list, get(pol, "PolicyDocument"))
					}
				}
			case "AWS::KMS::Key":
				list, keyPolicy = []any{p["KeyPolicy"]}, true
			}
			for _, doc := range list {
				docs++
				for _, st := range asList(get(doc, "Statement")) {
					m := st.(map[string]any)
					if m["NotAction"] != nil || m["NotResource"] != nil {
						t.Errorf("%s/%s: NotAction/NotResource statement %v", stack, id, m)
					}
					acts := asList(m["Action"])
					// A Deny only narrows: the TLS-only policies deny every
					// action (s3:*, sqs:*) without aws:SecureTransport.
					for _, a := range acts {
						if m["Effect"] == "Deny" {
							break
						}
						as := fmt.Sprint(a)
						if as == "*" || strings.HasSuffix(as, ":*") {
							t.Errorf("%s/%s: wildcard action %q", stack, id, as)
						}
					}
					if m["Effect"] == "Deny" || keyPolicy { // in a key policy "*" is the key itself
						continue
					}
					for _, res := range asList(m["Resource"]) {
						if res != "*" {
							continue
						}
						for _, a := range acts {
							if !UnscopedActions[fmt.Sprint(a)] {
								t.Errorf("%s/%s: %v on Resource \"*\", but the API supports resource scoping", stack, id, a)
							}
						}
					}
				}
			}
		}
	}
	if docs < 20 {
		t.Fatalf("walked %d policy documents, expected many more", docs)
	}
}

// nagErrors returns cdk-nag's AwsSolutions errors per stack from the
// app's (cached) cloud assembly: one synth serves every stack, where
// assertions.Annotations_FromStack would re-synthesize the app per stack.
func nagErrors(app awscdk.App) map[string][]string {
	out := map[string][]string{}
	for _, st := range *app.Synth(nil).Stacks() {
		for _, m := range *st.Messages() {
			msg := fmt.Sprint(m.Entry.Data)
			if m.Level == cxapi.SynthesisMessageLevel_ERROR && strings.Contains(msg, "AwsSolutions-") {
				out[*st.StackName()] = append(out[*st.StackName()], *m.Id+": "+msg)
			}
		}
	}
	return out
}

// TestNagClean: cdk-nag AwsSolutions finds no unsuppressed error in any
// stack.
func TestNagClean(t *testing.T) {
	s := deployment(t)
	for stack, errs := range s.nag {
		for _, e := range errs {
			t.Errorf("%s %s", stack, e)
		}
	}
}

// TestHTTPSIsADeployTimeChoice: each workload stack's CertificateArn
// parameter (cdk.json's certificate its default) decides its listener —
// HTTPS on 443 with the certificate, HTTP on 80 without — and it publishes
// the outcome; the accelerator listens on the port P published, and the
// canary and the DR probes use the URLs published. pkg/local deploys both
// choices of the same templates.
func TestHTTPSIsADeployTimeChoice(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	P := s.cfg.PrimaryRegion
	for _, region := range s.cfg.Regions() {
		stack := s.name("workload", region)
		w := s.templates[stack]
		w.HasParameter(jsii.String(topology.CertificateParameter), map[string]any{
			"Type": "String", "Default": s.cfg.CertificateARN(region),
			"AllowedPattern": fmt.Sprintf(`^(arn:aws[a-z-]*:acm:%s:%s:certificate/[0-9a-f-]+)?$`, region, s.cfg.Account),
		})
		w.HasCondition(jsii.String("IsHttps"), map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": topology.CertificateParameter}, ""}}}})
		ifHTTPS := func(yes, no any) map[string]any { return map[string]any{"Fn::If": []any{"IsHttps", yes, no}} }
		noValue := map[string]any{"Ref": "AWS::NoValue"}
		w.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
			"Port": ifHTTPS(443, 80), "Protocol": ifHTTPS("HTTPS", "HTTP"),
			"SslPolicy":    ifHTTPS(listenerSSLPolicy, noValue),
			"Certificates": ifHTTPS([]any{map[string]any{"CertificateArn": map[string]any{"Ref": topology.CertificateParameter}}}, noValue),
		})
		w.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{
			"FromPort": ifHTTPS(443, 80), "ToPort": ifHTTPS(443, 80), "IpProtocol": "tcp", "CidrIp": "0.0.0.0/0",
		})
		w.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), map[string]any{"Name": n.Parameter(paramListenerPort), "Value": ifHTTPS("443", "80")})
		w.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), map[string]any{"Name": n.Parameter(paramALBURL),
			"Value": map[string]any{"Fn::Join": []any{"", []any{ifHTTPS("https", "http"), "://", assertions.Match_AnyValue()}}}})
	}
	global := s.name("global", GlobalRegion)
	for _, l := range s.resources(global, "AWS::GlobalAccelerator::Listener") {
		pr := get(props(l), "PortRanges", 0)
		if !s.readsParameter(global, get(pr, "FromPort"), P, n.Parameter(paramListenerPort)) || !s.readsParameter(global, get(pr, "ToPort"), P, n.Parameter(paramListenerPort)) {
			t.Errorf("the accelerator's listener ports %v are not P's published listener port", pr)
		}
	}
	for id, g := range s.resources(global, "AWS::GlobalAccelerator::EndpointGroup") {
		if !s.readsParameter(global, get(props(g), "HealthCheckPort"), P, n.Parameter(paramListenerPort)) {
			t.Errorf("endpoint group %s checks port %v, not P's listener port", id, get(props(g), "HealthCheckPort"))
		}
	}
	// The canary and the probes reach P and the accelerator by the URLs
	// the deployment published.
	recovery := s.name("recovery", s.cfg.BackupRegion)
	var urlsRead []string
	for id := range s.resources(recovery, "Custom::AWS") {
		if r, name := s.readParameterOf(recovery, id); name == n.Parameter(paramALBURL) || name == n.Parameter(paramAcceleratorURL) {
			urlsRead = append(urlsRead, r+":"+name)
		}
	}
	sort.Strings(urlsRead)
	if want := []string{P + ":" + n.Parameter(paramALBURL), GlobalRegion + ":" + n.Parameter(paramAcceleratorURL)}; strings.Join(urlsRead, " ") != strings.Join(want, " ") {
		t.Errorf("recovery stack reads URLs %v, want %v", urlsRead, want)
	}
	raw, _ := json.Marshal(s.json[recovery])
	if strings.Contains(string(raw), `http://`) || strings.Contains(string(raw), `"https://`) {
		t.Error("the recovery stack spells a URL scheme itself instead of using the published URLs")
	}
}

// TestCertificateDefaultsFromContext: cdk.json's certificates are the
// parameters' defaults, so a plain `cdk deploy` deploys HTTPS.
func TestCertificateDefaultsFromContext(t *testing.T) {
	cfg := testConfig(t, "testdata/statemachines")
	cfg.PrimaryCertificateARN = "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d-0000-1111-2222-333344445555"
	cfg.BackupCertificateARN = "arn:aws:acm:us-east-2:111111111111:certificate/0a1b2c3d-0000-1111-2222-333344445556"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, region := range cfg.Regions() {
		app := awscdk.NewApp(nil)
		applyFeatureFlags(app)
		w, err := NewWorkloadStack(app, cfg, region)
		if err != nil {
			t.Fatalf("NewWorkloadStack: %v", err)
		}
		assertions.Template_FromStack(w.Stack, nil).HasParameter(jsii.String(topology.CertificateParameter), map[string]any{"Default": cfg.CertificateARN(region)})
	}
}

// TestNagHarnessFindsErrors proves TestNagClean's query can fail: the same
// checks over a deliberately insecure queue report AwsSolutions errors.
func TestNagHarnessFindsErrors(t *testing.T) {
	app := awscdk.NewApp(nil)
	st := awscdk.NewStack(app, jsii.String("Insecure"), &awscdk.StackProps{Env: env(testConfig(t, "testdata/statemachines"), "us-east-1")})
	awssqs.NewCfnQueue(st, jsii.String("Plain"), &awssqs.CfnQueueProps{})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{}), nil)
	if errs := nagErrors(app)["Insecure"]; len(errs) == 0 {
		t.Fatal("cdk-nag reported no error for an unencrypted queue without a DLQ or TLS policy")
	}
}

// TestStacksPinned: every stack has an explicit account and region.
func TestStacksPinned(t *testing.T) {
	s := deployment(t)
	want := map[string]string{
		s.name("data", "us-east-1"): "us-east-1", s.name("data", "us-east-2"): "us-east-2",
		s.name("workload", "us-east-1"): "us-east-1", s.name("workload", "us-east-2"): "us-east-2",
		s.name("global", GlobalRegion): "us-west-2", s.name("recovery", "us-east-2"): "us-east-2",
	}
	for _, st := range s.d.Stacks(s.cfg) {
		if got := *st.Account(); got != s.cfg.Account {
			t.Errorf("%s account = %s, want %s", *st.StackName(), got, s.cfg.Account)
		}
		if got := *st.Region(); got != want[*st.StackName()] {
			t.Errorf("%s region = %s, want %s", *st.StackName(), got, want[*st.StackName()])
		}
	}
}

// TestDRMachinesGetSubstitutions: each DR machine's placeholders resolve.
func TestDRMachinesGetSubstitutions(t *testing.T) {
	s := deployment(t)
	R := s.name("recovery", s.cfg.BackupRegion)
	for _, name := range []string{"failover", "drill"} {
		var subs map[string]any
		for _, m := range s.resources(R, "AWS::StepFunctions::StateMachine") {
			if props(m)["StateMachineName"] == NamesFor(s.cfg).StateMachine(name) {
				subs, _ = props(m)["DefinitionSubstitutions"].(map[string]any)
			}
		}
		keys, err := s.cfg.Machines.Placeholders(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if subs[k] == nil {
				t.Errorf("%s: placeholder %s has no substitution", name, k)
			}
		}
	}
}

// TestDRControlNarrowed: the DR lock Lambda may touch only the control
// table and DR executions, not every Pendulum table.
func TestDRControlNarrowed(t *testing.T) {
	s := deployment(t)
	n := NamesFor(s.cfg)
	R := s.name("recovery", s.cfg.BackupRegion)
	found := false
	for _, p := range s.resources(R, "AWS::IAM::Policy") {
		if !strings.Contains(fmt.Sprint(get(props(p), "Roles")), "DrControlRole") {
			continue
		}
		for _, st := range get(props(p), "PolicyDocument", "Statement").([]any) {
			m := st.(map[string]any)
			for _, a := range asList(m["Action"]) {
				if strings.HasPrefix(fmt.Sprint(a), "dynamodb:") {
					found = true
					if got, want := fmt.Sprint(m["Resource"]), n.TableARN(s.cfg.BackupRegion, n.ControlTable()); got != want {
						t.Fatalf("dr-control %v on %s, want only %s", a, got, want)
					}
				}
			}
		}
	}
	if !found {
		t.Fatal("dr-control has no DynamoDB grant")
	}
}

// TestDocsListEveryKey keeps docs/deploy.md in step with the code: every
// configuration key and every fixed DefinitionSubstitutions key is named.
func TestDocsListEveryKey(t *testing.T) {
	s := deployment(t)
	doc, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ConfigKeys {
		if !strings.Contains(string(doc), "`"+ContextPrefix+k+"`") {
			t.Errorf("docs/deploy.md does not document %s%s", ContextPrefix, k)
		}
	}
	for _, k := range s.d.Recovery.Placeholders {
		if strings.HasSuffix(k, "StateMachineArn") || strings.HasSuffix(k, "FunctionArn") && strings.HasPrefix(k, "Dr") {
			continue // documented as the <Name>StateMachineArn / <Name>FunctionArn patterns
		}
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/deploy.md does not document placeholder %s", k)
		}
	}
}

// TestEmbeddedDRMachinesDeployable checks the real statemachines/*.asl.json
// (other than nightly-batch) against what the Recovery stack provides, so
// a new placeholder or an unmapped Task integration fails `go test` and not
// only `cdk synth`. The fixture deployment supplies the provided keys; the
// per-machine and per-function ARNs follow their documented patterns.
func TestEmbeddedDRMachinesDeployable(t *testing.T) {
	s := deployment(t)
	provided := map[string]bool{}
	for _, k := range s.d.Recovery.Placeholders {
		provided[k] = true
	}
	machines := DRMachines(EmbeddedMachines)
	for _, m := range machines {
		provided[topology.Camel(m)+"StateMachineArn"] = true
	}
	for name := range DRFunctions {
		provided[topology.Camel(name)+"FunctionArn"] = true
	}
	for _, m := range machines {
		keys, err := EmbeddedMachines.Placeholders(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if !provided[k] {
				t.Errorf("statemachines/%s.asl.json: placeholder ${%s} is not provided by the Recovery stack", m, k)
			}
		}
		def, err := EmbeddedMachines.Definition(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := TaskPermissions(def, s.d.Recovery.Scope, []string{"arn:fn"}, NamesFor(s.cfg).StateMachineARN(s.cfg.BackupRegion, m)); err != nil {
			t.Errorf("statemachines/%s.asl.json: %v", m, err)
		}
	}
	t.Logf("checked %d embedded DR state machine(s): %v", len(machines), machines)
}

// TestBuildRejects: synth fails, naming the culprit, on an unknown
// placeholder, an unlisted dr-* function and a missing asset.
func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(cfg *Config)
		want   string
	}{
		{"UnknownPlaceholder", func(cfg *Config) { cfg.Machines = dirMachines{dir: "testdata/statemachines-unknown"} }, "${NoSuchPlaceholder}"},
		{"UnlistedDRFunction", func(cfg *Config) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "dr-mystery"), 0o755); err != nil {
				t.Fatal(err)
			}
			assets := t.TempDir()
			for _, f := range append(append([]string{}, WorkloadFunctions...), "dr-mystery") {
				os.MkdirAll(filepath.Join(assets, f), 0o755)
				os.WriteFile(filepath.Join(assets, f, "bootstrap"), []byte("x"), 0o755)
			}
			cfg.FunctionsDir, cfg.AssetDir = dir, assets
		}, "dr-mystery has no entry in infra's DRFunctions table"},
		{"MissingAsset", func(cfg *Config) { cfg.AssetDir = t.TempDir() }, "run `make build` first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, "testdata/statemachines")
			tt.mutate(&cfg)
			_, err := Build(awscdk.NewApp(nil), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestAppContextErrors: a bad value in the app's context fails LoadConfig
// through the real construct node, naming the key.
func TestAppContextErrors(t *testing.T) {
	ctx := map[string]interface{}{}
	for k, v := range validContext() {
		ctx[k] = v
	}
	ctx["pendulum:backupRegion"] = "nowhere"
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	_, err := LoadConfig(app.Node())
	if err == nil || !strings.Contains(err.Error(), "pendulum:backupRegion") {
		t.Fatalf("LoadConfig error = %v, want it to name pendulum:backupRegion", err)
	}
}
