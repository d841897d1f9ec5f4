//go:build unix

// Package functions_test builds real Lambda bootstraps and runs them under
// the Lambda runtime interface emulator (aws-lambda-rie): the binary starts,
// reads its configuration, talks the Lambda Runtime API and answers events —
// including with the error type names the state machines' Retry and Catch
// match on.
package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rieModule is the emulator's module at a version the module proxy serves.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// functions under test, built once into one directory.
var functions = []string{"compact", "compact-plan", "health"}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// goTool returns the go command, skipping the test when there is none: the
// only reason this test may skip.
func goTool(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH; cannot build bootstraps")
	}
	return goBin
}

// buildBootstraps builds every function for the host with -tags
// lambda.norpc (as deployed; provided.al2023 has no RPC mode) into dir/<name>.
// Otherwise it uses the go command's defaults, like the test binary, so the
// build cache the tests just filled serves it (CGO_ENABLED=0 or -trimpath
// would rebuild the standard library and every dependency).
func buildBootstraps(t *testing.T, ctx context.Context, goBin string) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-tags", "lambda.norpc", "-o", dir + string(os.PathSeparator)}
	for _, f := range functions {
		args = append(args, "./"+f)
	}
	cmd := exec.CommandContext(ctx, goBin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}

// rieBinary finds aws-lambda-rie on PATH or in GOBIN/GOPATH/bin (where the
// Makefile installs it), else go-installs it into a temporary GOBIN.
func rieBinary(t *testing.T, ctx context.Context, goBin string) string {
	t.Helper()
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	for _, env := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.CommandContext(ctx, goBin, "env", env).Output()
		if err != nil || strings.TrimSpace(string(out)) == "" {
			continue
		}
		dir := strings.TrimSpace(string(out))
		if env == "GOPATH" {
			dir = filepath.Join(filepath.SplitList(dir)[0], "bin")
		}
		if p := filepath.Join(dir, "aws-lambda-rie"); isExecutable(p) {
			return p
		}
	}
	gobin := t.TempDir()
	cmd := exec.CommandContext(ctx, goBin, "install", rieModule)
	cmd.Dir = gobin // outside this module: go install pkg@version ignores go.mod anyway
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s: %v\n%s", rieModule, err, out)
	}
	return filepath.Join(gobin, "aws-lambda-rie")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// emulator is one aws-lambda-rie process running one bootstrap.
type emulator struct {
	url string
	out *syncBuffer
}

// startEmulator runs bootstrap under the emulator with env (and nothing
// else from this process's environment but PATH and HOME), on free local
// ports, and stops it when the test ends.
func startEmulator(t *testing.T, rie, bootstrap string, env ...string) *emulator {
	t.Helper()
	apiAddr, rieAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", rieAddr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_LAMBDA_FUNCTION_TIMEOUT=30"}, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so stopping it stops the bootstrap it runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", rie, err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("emulator output:\n%s", out.String())
		}
	})
	e := &emulator{url: "http://" + rieAddr + "/2015-03-31/functions/function/invocations", out: out}
	// Wait for the emulator's HTTP server to listen.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", rieAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not listen on %s: %v\n%s", rieAddr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// invoke posts an event and returns the function's answer.
func (e *emulator) invoke(t *testing.T, ctx context.Context, event []byte) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, e.out.String())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("answer %q is not a JSON object: %v", body, err)
	}
	return answer
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBootstrapsUnderRuntimeEmulator(t *testing.T) {
	goBin := goTool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := buildBootstraps(t, ctx, goBin)
	rie := rieBinary(t, ctx, goBin)

	t.Run("HealthProbesAndEmitsMetrics", func(t *testing.T) {
		var mu sync.Mutex
		var canaries []string
		ingest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/health":
			case "/records":
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				canaries = append(canaries, string(b))
				mu.Unlock()
				fmt.Fprint(w, `{"accepted":1}`)
			default:
				http.NotFound(w, r)
			}
		}))
		defer ingest.Close()
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		targets := fmt.Sprintf(`[{"name":"primary-regional","url":%q},{"name":"accelerator","url":%q}]`, ingest.URL, dead.URL)
		e := startEmulator(t, rie, filepath.Join(dir, "health"), "TARGETS="+targets, "AWS_REGION=eu-central-1", "PROBE_TIMEOUT_MS=2000")

		answer := e.invoke(t, ctx, readTestdata(t, "health-scheduled-event.json"))
		if got, want := answer["canaryId"], "canary-eu-central-1-1795572000"; got != want {
			t.Fatalf("canaryId = %v, want %v (answer %v)", got, want, answer)
		}
		if got, want := [2]any{answer["healthy"], answer["unhealthy"]}, [2]any{1.0, 1.0}; got != want {
			t.Fatalf("healthy, unhealthy = %v, want %v (answer %v)", got, want, answer)
		}
		mu.Lock()
		sent := append([]string(nil), canaries...)
		mu.Unlock()
		if got, want := sent, []string{`{"id":"canary-eu-central-1-1795572000","canary":true}`}; len(got) != 1 || got[0] != want[0] {
			t.Fatalf("canaries the endpoint received = %q, want %q", got, want)
		}
		// The EMF lines went to the function's stdout, which the emulator
		// passes through as Lambda passes it to CloudWatch Logs. The
		// emulator copies that pipe asynchronously, so the lines may land
		// just after the invocation's answer: wait for them (bounded).
		wants := []string{`"Endpoint":"primary-regional","EndpointHealthy":1`, `"Endpoint":"accelerator","EndpointHealthy":0`, `"Namespace":"Pendulum"`}
		out := e.waitOutput(ctx, wants...)
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("function output lacks %s", want)
			}
		}
	})

	// Bad input must come back as the error type the state machine
	// catches: the name is the Go type's, reported through the Runtime API.
	for _, tt := range []struct {
		name, function, event string
		env                   []string
		wantMessage           string
	}{
		{"CompactPlanRejectsBadDate", "compact-plan", "compact-plan-bad-date.json",
			[]string{"RAW_BUCKET=raw-bucket", "AWS_REGION=eu-central-1"}, "2026-02-30"},
		{"CompactRejectsBadHour", "compact", "compact-bad-hour.json",
			[]string{"RAW_BUCKET=raw-bucket", "CURATED_BUCKET=curated-bucket", "AWS_REGION=eu-central-1"}, `"24"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := startEmulator(t, rie, filepath.Join(dir, tt.function), tt.env...)
			answer := e.invoke(t, ctx, readTestdata(t, tt.event))
			if got, want := answer["errorType"], "InvalidInputError"; got != want {
				t.Fatalf("errorType = %v, want %v (answer %v)", got, want, answer)
			}
			if msg, _ := answer["errorMessage"].(string); !strings.Contains(msg, tt.wantMessage) {
				t.Fatalf("errorMessage %q does not mention %s", msg, tt.wantMessage)
			}
		})
	}

	t.Run("MissingConfigurationExits2", func(t *testing.T) {
		for _, tt := range []struct {
			function string
			env      []string
			wantName string
		}{
			{"compact", []string{"RAW_BUCKET=raw", "AWS_REGION=eu-central-1"}, "CURATED_BUCKET"},
			{"compact", []string{"CURATED_BUCKET=cur", "AWS_REGION=eu-central-1"}, "RAW_BUCKET"},
			{"compact-plan", []string{"AWS_REGION=eu-central-1"}, "RAW_BUCKET"},
			{"compact-plan", []string{"RAW_BUCKET=raw"}, "AWS_REGION"},
			{"health", []string{"AWS_REGION=eu-central-1"}, "TARGETS"},
			{"health", []string{"AWS_REGION=eu-central-1", `TARGETS=[{"name":"a","url":"https://x"}]`, "PROBE_TIMEOUT_MS=soon"}, "PROBE_TIMEOUT_MS"},
		} {
			cmd := exec.CommandContext(ctx, filepath.Join(dir, tt.function))
			// A runtime API address is set, as on Lambda, to show the
			// configuration check comes before any Runtime API call.
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:1"}, tt.env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			// 2 is every function's configuration error (wiring.ExitConfiguration).
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("%s without %s: err = %v, want exit status 2\n%s", tt.function, tt.wantName, err, out)
				continue
			}
			if !strings.Contains(string(out), tt.wantName) {
				t.Errorf("%s: output %q does not name %s", tt.function, out, tt.wantName)
			}
		}
	})
}

// waitOutput returns the emulator's output once it holds every want, or
// as it is when ctx ends (the caller then reports what is missing).
func (e *emulator) waitOutput(ctx context.Context, wants ...string) string {
	for {
		out := e.out.String()
		missing := false
		for _, w := range wants {
			if !strings.Contains(out, w) {
				missing = true
				break
			}
		}
		if !missing {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(20 * time.Millisecond):
		}
	}
}
