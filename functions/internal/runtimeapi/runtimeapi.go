// Package runtimeapi is a stand-in for the Lambda Runtime API, for the tests
// that run a function's real main in a child process: the child's
// aws-lambda-go runtime loop fetches one event from it and posts its answer
// back, so a test sees what the function answered without the Lambda
// service or the runtime interface emulator.
package runtimeapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequestID is the request id of the one invocation a Server hands out.
const RequestID = "req-1"

// Paths of the Runtime API the runtime loop calls.
const (
	nextPath   = "/2018-06-01/runtime/invocation/next"
	answerPath = "/2018-06-01/runtime/invocation/" + RequestID + "/"
)

// Answer is what the function posted for the invocation.
type Answer struct {
	// Kind is "response" for a result, "error" for a handler error.
	Kind string
	// Body is the posted payload: the JSON response, or the error document.
	Body string
}

// Server is a Runtime API endpoint serving one invocation. The first
// "next" call gets the event, with a deadline a minute away; later ones
// block until the caller goes away (when the test kills the child), as the
// real API does between invocations. Any other call fails the test.
type Server struct {
	srv     *httptest.Server
	answers chan Answer
	mu      sync.Mutex
	served  bool
}

// New starts a Server that hands out event as an invocation of the function
// functionARN. Close it when done; kill the child first, so its blocked
// "next" call ends.
func New(t testing.TB, functionARN, event string) *Server {
	s := &Server{answers: make(chan Answer, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == nextPath:
			s.mu.Lock()
			again := s.served
			s.served = true
			s.mu.Unlock()
			if again {
				<-r.Context().Done() // no second event: wait until the test ends
				return
			}
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", RequestID)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", functionARN)
			io.WriteString(w, event)
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, answerPath):
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
			s.answers <- Answer{Kind: strings.TrimPrefix(r.URL.Path, answerPath), Body: string(b)}
		default:
			t.Errorf("unexpected runtime call %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	return s
}

// Addr is the host:port to set as AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return strings.TrimPrefix(s.srv.URL, "http://") }

// Answers delivers the function's answer to the invocation.
func (s *Server) Answers() <-chan Answer { return s.answers }

// Close shuts the server down, waiting for calls in progress.
func (s *Server) Close() { s.srv.Close() }
