package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeDrill writes an executable pendulum-drill into dir that prints its
// arguments and a line from stdin, writes to stderr and exits with the code
// given as its first argument.
func fakeDrill(t *testing.T, dir, tag string) {
	t.Helper()
	script := "#!/bin/sh\nread line || true\necho \"" + tag + " args:$*\"\necho \"stdin:$line\"\necho progress >&2\nexit \"$1\"\n"
	if err := os.WriteFile(filepath.Join(dir, drillProgram), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestDrillRunsTheDrillProgram checks that `pendulum drill` hands its
// arguments, stdin and outputs to pendulum-drill and exits with its status:
// the program next to the pendulum executable wins over one on PATH.
func TestDrillRunsTheDrillProgram(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in drill program is a shell script")
	}
	pathDir := t.TempDir()
	fakeDrill(t, pathDir, "on-path")
	t.Setenv("PATH", pathDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	t.Run("FromPath", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run([]string{"drill", "3", "--json"}, &out, &errb)
		if code != 3 {
			t.Fatalf("exit %d, want the drill program's 3\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
		}
		if got, want := out.String(), "on-path args:3 --json\nstdin:\n"; got != want {
			t.Fatalf("stdout %q, want %q", got, want)
		}
		if got, want := errb.String(), "progress\n"; got != want {
			t.Fatalf("stderr %q, want %q", got, want)
		}
	})

	t.Run("NextToPendulumFirst", func(t *testing.T) {
		bin := t.TempDir()
		build := exec.Command("go", "build", "-o", filepath.Join(bin, "pendulum"), ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		fakeDrill(t, bin, "beside")
		cmd := exec.Command(filepath.Join(bin, "pendulum"), "drill", "0", "--quiet")
		cmd.Stdin = strings.NewReader("hello\n")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("pendulum drill: %v\nstderr: %s", err, errb.String())
		}
		if got, want := out.String(), "beside args:0 --quiet\nstdin:hello\n"; got != want {
			t.Fatalf("stdout %q, want %q", got, want)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		var out, errb bytes.Buffer
		if code := run([]string{"drill"}, &out, &errb); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
		for _, want := range []string{"pendulum-drill is not installed", "make cli", "go install ./cmd/pendulum ./cmd/pendulum-drill"} {
			if !strings.Contains(errb.String(), want) {
				t.Fatalf("stderr lacks %q:\n%s", want, errb.String())
			}
		}
	})
}

// TestStatesBinaryLeavesTheDrillOut keeps the simulator, the drill,
// Parquet and every AWS SDK service client the operator commands do not
// call out of the pendulum binary: their package initialisation would be
// paid by every `pendulum states run`. What stays is Step Functions (which
// pkg/states serves), the operator's clients (DynamoDB, Backup,
// CloudWatch, CloudFormation, Global Accelerator) and the default
// credential chain's (STS, SSO, SSO OIDC, sign-in); with them `pendulum`
// initialises in about 18 ms where it took 5 ms without (GODEBUG=inittrace=1,
// the three services' schema tables most of it). The operator's local
// installation (--local) runs in pendulum-drill.
func TestStatesBinaryLeavesTheDrillOut(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{}
	for _, s := range []string{"sfn", "dynamodb", "backup", "cloudwatch", "cloudformation", "globalaccelerator", "sts", "sso", "ssooidc", "signin", "internal"} {
		allowed[s] = true
	}
	for _, dep := range strings.Fields(string(out)) {
		if svc, ok := strings.CutPrefix(dep, "github.com/aws/aws-sdk-go-v2/service/"); ok && !allowed[strings.SplitN(svc, "/", 2)[0]] ||
			strings.HasPrefix(dep, "github.com/pendulum-dr/pendulum/pkg/sim") ||
			strings.HasPrefix(dep, "github.com/pendulum-dr/pendulum/pkg/drill") ||
			strings.HasPrefix(dep, "github.com/pendulum-dr/pendulum/pkg/local") ||
			strings.HasPrefix(dep, "github.com/pendulum-dr/pendulum/pkg/operator/oplocal") ||
			dep == "github.com/pendulum-dr/pendulum/pkg/dr" ||
			strings.HasPrefix(dep, "github.com/parquet-go/") {
			t.Errorf("cmd/pendulum links %s", dep)
		}
	}
}
