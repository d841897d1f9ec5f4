package assembly

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The snapshot under testdata/cdk.out is the manifest and templates of
// `make synth`, so `go test ./...` deploys the real installation without
// Node or the CDK. Lambda asset hashes (which change with every build of
// the functions' code) are normalized; everything else is byte for byte.
// `make synth` runs TestSnapshotMatchesSynth against the fresh cdk.out and
// fails when the snapshot is stale; `make snapshot` refreshes it.

var update = flag.Bool("update", false, "rewrite testdata/cdk.out from $PENDULUM_FRESH_ASSEMBLY")

var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// normalize replaces content hashes with zeros.
func normalize(b []byte) []byte {
	return assetHash.ReplaceAll(b, bytes.Repeat([]byte("0"), 64))
}

func snapshotFiles(t *testing.T, dir string) []string {
	t.Helper()
	a, err := Read(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	files := []string{"manifest.json"}
	for _, s := range a.Stacks {
		files = append(files, s.TemplateFile)
	}
	return files
}

// TestSnapshotMatchesSynth checks both snapshots: testdata/cdk.out against
// $PENDULUM_FRESH_ASSEMBLY and testdata/cdk.out.new-primary against the
// fresh directory of the same name beside it (`make synth` writes both).
func TestSnapshotMatchesSynth(t *testing.T) {
	fresh := os.Getenv("PENDULUM_FRESH_ASSEMBLY")
	if fresh == "" {
		t.Skip("PENDULUM_FRESH_ASSEMBLY is not set: `make synth` runs this check on the cdk.out it writes")
	}
	for _, suffix := range []string{"", NewPrimarySuffix} {
		t.Run("cdk.out"+suffix, func(t *testing.T) { checkSnapshot(t, fresh+suffix, "testdata/cdk.out"+suffix) })
	}
}

func checkSnapshot(t *testing.T, fresh, snap string) {
	files := snapshotFiles(t, fresh)
	if *update {
		if err := os.RemoveAll(snap); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(snap, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(fresh, f))
		if err != nil {
			t.Fatal(err)
		}
		got = normalize(got)
		path := filepath.Join(snap, f)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("snapshot lacks %s (run `make snapshot`): %v", f, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the synthesized one: run `make snapshot` and commit testdata/cdk.out", path)
		}
	}
	if !*update {
		entries, err := os.ReadDir(snap)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(entries), len(files); got != want {
			t.Errorf("snapshot has %d files, the assembly %d: run `make snapshot`", got, want)
		}
	}
}

func TestReadSnapshot(t *testing.T) {
	for _, dir := range []string{"testdata/cdk.out", "testdata/cdk.out" + NewPrimarySuffix} {
		t.Run(dir, func(t *testing.T) { checkRead(t, dir) })
	}
}

func checkRead(t *testing.T, dir string) {
	a, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, s := range a.Stacks {
		pos[s.Name] = i
		if s.Account == "" || s.Region == "" || len(s.Template) == 0 {
			t.Errorf("stack %s: account %q region %q template %d bytes", s.Name, s.Account, s.Region, len(s.Template))
		}
		// cdk deploy passes the bootstrap's execution role of the stack's
		// own environment.
		if want := "arn:aws:iam::" + s.Account + ":role/cdk-hnb659fds-cfn-exec-role-" + s.Account + "-" + s.Region; s.ExecutionRoleARN != want {
			t.Errorf("stack %s: execution role %q, want %q", s.Name, s.ExecutionRoleARN, want)
		}
	}
	for _, s := range a.Stacks {
		for _, d := range s.Dependencies {
			if pos[d] >= pos[s.Name] {
				t.Errorf("stack %s deploys at %d, before its dependency %s at %d", s.Name, pos[s.Name], d, pos[d])
			}
		}
	}
	if got, want := len(a.Stacks), 6; got != want {
		t.Errorf("stacks = %d, want %d (data ×2, workload ×2, global, recovery)", got, want)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir); err == nil {
		t.Fatal("Read of an empty directory succeeded")
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("manifest.json", `{"artifacts":{"s":{"type":"aws:cloudformation:stack","environment":"aws://unknown-account/unknown-region","properties":{"templateFile":"s.json"}}}}`)
	if _, err := Read(dir); err == nil {
		t.Error("an environment-agnostic stack was accepted")
	}
	write("manifest.json", `{"artifacts":{"a":{"type":"aws:cloudformation:stack","environment":"aws://111111111111/us-east-1","dependencies":["b"],"properties":{"templateFile":"a.json"}},`+
		`"b":{"type":"aws:cloudformation:stack","environment":"aws://111111111111/us-east-1","dependencies":["a"],"properties":{"templateFile":"a.json"}}}}`)
	write("a.json", `{}`)
	if _, err := Read(dir); err == nil {
		t.Error("a dependency cycle was accepted")
	}
}

// TestTopology reads the installation's names and regions from the
// snapshot's stack names, and refuses an assembly without a recovery
// stack or a primary workload stack.
func TestTopology(t *testing.T) {
	a, err := Read("testdata/cdk.out")
	if err != nil {
		t.Fatal(err)
	}
	n, r, err := a.Topology()
	if err != nil {
		t.Fatal(err)
	}
	if n.Prefix != "pendulum" || n.Account != "111111111111" || r.Primary != "us-east-1" || r.Backup != "us-east-2" {
		t.Fatalf("Topology = %+v %+v", n, r)
	}
	for _, drop := range []string{"-recovery-", "-workload-us-east-1"} {
		b := &Assembly{Dir: "edited"}
		for _, s := range a.Stacks {
			if !strings.Contains(s.Name, drop) {
				b.Stacks = append(b.Stacks, s)
			}
		}
		if _, _, err := b.Topology(); err == nil || !strings.Contains(err.Error(), "edited") {
			t.Errorf("without %s: Topology error %v, want one naming the assembly", drop, err)
		}
	}
}
