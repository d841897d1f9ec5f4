package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/readiness"
)

// snapshot is the synthesized assembly `make snapshot` keeps: what the
// Makefile's targets would act on for cdk.json's example configuration.
const snapshot = "../../pkg/assembly/testdata/cdk.out"

func read(t *testing.T) *assembly.Assembly {
	t.Helper()
	a, err := assembly.Read(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func output(t *testing.T, args ...string) string {
	t.Helper()
	var b bytes.Buffer
	if err := run(&b, snapshot, args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return b.String()
}

// TestEnvironments: the app deploys to P, B and us-west-2 (the Global
// stack), all of one account: exactly what `make bootstrap` bootstraps.
func TestEnvironments(t *testing.T) {
	got := strings.Fields(output(t, "environments"))
	slices.Sort(got)
	want := []string{"aws://111111111111/us-east-1", "aws://111111111111/us-east-2", "aws://111111111111/us-west-2"}
	if !slices.Equal(got, want) {
		t.Fatalf("environments %v, want %v", got, want)
	}
}

// TestPlanAndDestroyPlan: the plan lists every stack after its
// dependencies; the destroy plan lists them in reverse and names what the
// stacks retain: the data of both regions, the control table, the vaults,
// the topic's key and the log groups.
func TestPlanAndDestroyPlan(t *testing.T) {
	a := read(t)
	plan := output(t, "plan")
	pos := map[string]int{}
	for _, s := range a.Stacks {
		i := strings.Index(plan, " "+s.Name+" ")
		if i < 0 {
			t.Fatalf("plan does not list %s:\n%s", s.Name, plan)
		}
		pos[s.Name] = i
	}
	for _, s := range a.Stacks {
		for _, d := range s.Dependencies {
			if pos[d] > pos[s.Name] {
				t.Errorf("plan lists %s before its dependency %s", s.Name, d)
			}
		}
	}
	rs, err := retainedResources(a)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, r := range rs {
		kept[r.Type+" "+r.Name] = true
	}
	for _, want := range []string{
		"AWS::DynamoDB::Table pendulum-aggregates", "AWS::DynamoDB::Table pendulum-dr-control",
		"AWS::S3::Bucket pendulum-raw-111111111111-us-east-1", "AWS::S3::Bucket pendulum-curated-111111111111-us-east-2",
		"AWS::S3::Bucket pendulum-logs-111111111111-us-east-1", "AWS::S3::Bucket pendulum-alb-logs-111111111111-us-east-2",
		"AWS::Backup::BackupVault pendulum-vault", "AWS::KMS::Key Pendulum DR notifications",
		"AWS::Logs::LogGroup /aws/lambda/pendulum-readiness",
	} {
		if !kept[want] {
			t.Errorf("destroy plan does not list %s as retained", want)
		}
	}
	// B's dormant workload first (its execution role is the Recovery
	// stack's), then every stack before its dependencies.
	order := strings.Fields(output(t, "destroy-order"))
	if len(order) != len(a.Stacks) || order[0] != "pendulum-workload-us-east-2" {
		t.Fatalf("destroy order %v", order)
	}
	for _, s := range a.Stacks {
		for _, d := range s.Dependencies {
			if slices.Index(order, d) < slices.Index(order, s.Name) {
				t.Errorf("destroy deletes %s before %s, which depends on it", d, s.Name)
			}
		}
	}
	if dp := output(t, "destroy-plan"); !strings.Contains(dp, "  pendulum-workload-us-east-2 (us-east-2)\n  pendulum-recovery-us-east-2 (us-east-2)") {
		t.Errorf("destroy plan:\n%s", dp)
	}
}

// TestReadinessFunction: make verify-deploy invokes the function the
// Recovery stack's output names, in B.
func TestReadinessFunction(t *testing.T) {
	if got := strings.TrimSpace(output(t, "readiness")); got != "pendulum-readiness us-east-2" {
		t.Fatalf("readiness = %q", got)
	}
}

// TestDeployerPolicy: docs/deployer-policy.json is the policy deployplan
// derives from the assembly (so it cannot drift from the app), it parses
// as an IAM policy, and it grants only what deploying needs, on named
// resources: assuming the deploy, file-publishing and lookup roles of each
// environment, reading the bootstrap version, the app's stacks and the
// staging buckets' locations, and invoking the readiness function.
func TestDeployerPolicy(t *testing.T) {
	a := read(t)
	want, err := deployerPolicy(a)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../docs/deployer-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var got Policy
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("docs/deployer-policy.json: %v", err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("docs/deployer-policy.json is not `make deployer-policy` of the snapshot; regenerate it:\n%s", output(t, "deployer-policy"))
	}
	if got.Version != "2012-10-17" || len(got.Statement) == 0 {
		t.Fatalf("policy %+v", got)
	}
	arn := regexp.MustCompile(`^arn:aws:(iam|ssm|cloudformation|s3|lambda):(us-east-1|us-east-2|us-west-2)?:(111111111111)?:`)
	var roles []string
	for _, st := range got.Statement {
		if st.Effect != "Allow" || st.Sid == "" || len(st.Action) == 0 || len(st.Resource) == 0 {
			t.Errorf("statement %+v", st)
		}
		for _, a := range st.Action {
			if !DeployerActions[a] {
				t.Errorf("%s grants %s, which deploying does not need", st.Sid, a)
			}
		}
		for _, r := range st.Resource {
			if strings.Contains(r, "*") && !strings.HasSuffix(r, "/*") || !arn.MatchString(r) {
				t.Errorf("%s: resource %q is not one of this account's, named", st.Sid, r)
			}
			if slices.Contains(st.Action, "sts:AssumeRole") {
				roles = append(roles, r)
			}
		}
	}
	if len(roles) != 9 {
		t.Errorf("assumes %d roles, want the deploy, file-publishing and lookup roles of 3 environments: %v", len(roles), roles)
	}
	for _, r := range roles {
		if !regexp.MustCompile(`^arn:aws:iam::111111111111:role/cdk-hnb659fds-(deploy|file-publishing|lookup)-role-111111111111-(us-east-1|us-east-2|us-west-2)$`).MatchString(r) {
			t.Errorf("assumes %s", r)
		}
	}
	// The deploy roles are the ones the manifest says the CLI assumes.
	for _, s := range a.Stacks {
		if d := strings.ReplaceAll(s.DeployRoleARN, "${AWS::Partition}", "aws"); !slices.Contains(roles, d) {
			t.Errorf("%s is deployed as %s, which the policy does not let assume", s.Name, d)
		}
	}
}

// TestVerify: a ready report prints its checks and passes; a report that
// is not ready, or the function's error answer, fails.
func TestVerify(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) string {
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(v)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := readiness.Report{Ready: true, Mode: "PRIMARY", At: "2026-11-25T12:00:00Z", Failing: []string{},
		Checks: []readiness.Result{{Name: readiness.CheckPITR, OK: true, Detail: "point-in-time recovery is ENABLED"}}}
	var b bytes.Buffer
	if err := run(&b, "", []string{"verify", write("ok.json", ok)}); err != nil || !strings.Contains(b.String(), "READY at") || !strings.Contains(b.String(), "ok   pitr") {
		t.Fatalf("ready: %v\n%s", err, b.String())
	}
	bad := ok
	bad.Ready, bad.Failing = false, []string{readiness.CheckPITR}
	bad.Checks = []readiness.Result{{Name: readiness.CheckPITR, Detail: "DISABLED"}}
	b.Reset()
	err := run(&b, "", []string{"verify", write("bad.json", bad)})
	var nr notReady
	if !errors.As(err, &nr) || !strings.Contains(b.String(), "FAIL pitr") {
		t.Fatalf("not ready: %v\n%s", err, b.String())
	}
	if err := run(&b, "", []string{"verify", write("err.json", map[string]string{"errorMessage": "boom"})}); err == nil || errors.As(err, &nr) {
		t.Fatalf("an error answer: %v", err)
	}
}

// stackNames finds the stack names a text mentions.
var stackNames = regexp.MustCompile(`pendulum-(?:(?:data|workload|recovery)-[a-z]{2}-[a-z]+-[0-9]|global)\b`)

// TestDocsAndMakefileNameTheAppsStacks: every stack docs/deploy.md and the
// Makefile mention is one of the assembly's, and the deploy order
// docs/deploy.md lists puts every stack after its dependencies.
func TestDocsAndMakefileNameTheAppsStacks(t *testing.T) {
	a := read(t)
	doc, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for file, text := range map[string][]byte{"docs/deploy.md": doc, "Makefile": mk} {
		for _, name := range stackNames.FindAllString(string(text), -1) {
			if _, ok := a.Stack(name); !ok {
				t.Errorf("%s names stack %s, which the app does not synthesize", file, name)
			}
		}
	}
	// The numbered list under "## Deploy" names every stack once, each
	// after its dependencies.
	i := strings.Index(string(doc), "\n### Deploy order")
	if i < 0 {
		t.Fatal(`docs/deploy.md has no "### Deploy order"`)
	}
	section := string(doc)[i+1:]
	if j := strings.Index(section, "\n#"); j >= 0 {
		section = section[:j]
	}
	var order []string
	for _, line := range strings.Split(section, "\n") {
		if m := regexp.MustCompile("^[0-9]+\\. `([^`]+)`").FindStringSubmatch(line); m != nil {
			order = append(order, m[1])
		}
	}
	if len(order) != len(a.Stacks) {
		t.Fatalf("the deploy order lists %v, want the %d stacks", order, len(a.Stacks))
	}
	for _, s := range a.Stacks {
		at := slices.Index(order, s.Name)
		for _, d := range s.Dependencies {
			if slices.Index(order, d) > at {
				t.Errorf("docs/deploy.md deploys %s before its dependency %s", s.Name, d)
			}
		}
	}
}

// TestMakeTargets: the deployment targets run the pinned CDK CLI on the
// synthesized assembly, with the environments and stacks deployplan reads
// from it (make -n prints what they would run).
func TestMakeTargets(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	for target, want := range map[string][]string{
		"bootstrap":       {"tools/node_modules/.bin/cdk synth", "deployplan -assembly cdk.out environments", "tools/node_modules/.bin/cdk --no-notices bootstrap --app cdk.out"},
		"deploy":          {"tools/node_modules/.bin/cdk synth", "deployplan -assembly cdk.out plan", "tools/node_modules/.bin/cdk --no-notices deploy --app cdk.out --all --require-approval broadening"},
		"diff":            {"tools/node_modules/.bin/cdk --no-notices diff --app cdk.out --all"},
		"destroy":         {"deployplan -assembly cdk.out destroy-plan", "deployplan -assembly cdk.out destroy-order", "tools/node_modules/.bin/cdk --no-notices destroy --app cdk.out"},
		"verify-deploy":   {"deployplan -assembly cdk.out readiness", "aws lambda invoke", "deployplan verify readiness-report.json"},
		"deployer-policy": {"deployplan -assembly cdk.out deployer-policy"},
	} {
		cmd := exec.Command("make", "-n", "-C", "../..", target, "APPROVAL=broadening")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("make -n %s does not run %q:\n%s", target, w, out)
			}
		}
		if strings.Contains(string(out), "warning:") {
			t.Errorf("make -n %s warns:\n%s", target, out)
		}
	}
}
