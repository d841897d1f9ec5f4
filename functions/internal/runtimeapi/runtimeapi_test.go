package runtimeapi

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOneInvocation plays the runtime loop: fetch the event, post the
// answer, ask for the next event (which must wait).
func TestOneInvocation(t *testing.T) {
	const arn = "arn:aws:lambda:us-east-1:111122223333:function:f"
	s := New(t, arn, `{"k":1}`)
	defer s.Close()
	base := "http://" + s.Addr() + "/2018-06-01/runtime/invocation/"

	resp, err := http.Get(base + "next")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := string(body), `{"k":1}`; got != want {
		t.Fatalf("event = %s, want %s", got, want)
	}
	if got, want := resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), RequestID; got != want {
		t.Fatalf("request id = %q, want %q", got, want)
	}
	if got, want := resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn"), arn; got != want {
		t.Fatalf("function arn = %q, want %q", got, want)
	}
	ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if err != nil || time.UnixMilli(ms).Before(time.Now()) {
		t.Fatalf("deadline %q (%v) is not in the future", resp.Header.Get("Lambda-Runtime-Deadline-Ms"), err)
	}

	resp, err = http.Post(base+RequestID+"/response", "application/json", strings.NewReader(`{"ok":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusAccepted; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if got, want := <-s.Answers(), (Answer{Kind: "response", Body: `{"ok":true}`}); got != want {
		t.Fatalf("answer = %+v, want %+v", got, want)
	}

	// There is no second event: the call waits until its caller gives up.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"next", nil)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("second next returned (%v), want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("second next succeeded after its caller gave up")
	}
}
