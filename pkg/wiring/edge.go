package wiring

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

// Step returns the handler of a function a state machine or a schedule
// invokes (compact, compact-plan, health, dr-*): its outcome is logged
// once, a result at info level with its output, an error by the edge.
func Step[I, O any](name string, log *slog.Logger, fn func(context.Context, I) (O, error)) lambda.Handler {
	return Source(name, log, func(ctx context.Context, in I) (O, error) {
		out, err := fn(ctx, in)
		if err == nil {
			log.InfoContext(ctx, "invocation done", "function", name, "output", out)
		}
		return out, err
	})
}

// Source returns the handler of a function an event source invokes
// (ingest, partitions, aggregate). Such a handler answers in the event
// source's terms (an ALB response, batch item failures) and logs its own
// outcome; the edge sees only the errors it returns for an event it cannot
// take at all.
func Source[I, O any](name string, log *slog.Logger, fn func(context.Context, I) (O, error)) lambda.Handler {
	handler := func(ctx context.Context, in I) (O, error) {
		out, err := fn(ctx, in)
		return out, fault.Edge(err)
	}
	return edge{name: name, log: log, hs: &sync.Pool{New: func() any { return lambda.NewHandler(handler) }}}
}

// edge is every function's error edge. Step Functions' Retry and Catch
// match the name of the type of a Go function's error, so an error leaves a
// function as one of pkg/fault's types (the handler's errors are already,
// by the wrapper Step and Source put inside lambda.NewHandler); an error of
// any other type comes from lambda.NewHandler itself, which could not read
// the payload as the function's input, and is an InvalidInputError. Each
// error is logged here once, naming the function and the error type.
//
// A lambda.NewHandler returns its response in a buffer of its own pool,
// which it puts back before Invoke returns, for its next invocation to
// write over: harmless in a runtime that invokes one at a time, not in the
// local installation, whose invocations run side by side. So each
// invocation has a handler of its own, as each concurrent invocation in
// Lambda has an execution environment of its own (hs), and the response
// is copied out before the handler serves another.
type edge struct {
	name string
	log  *slog.Logger
	hs   *sync.Pool // of lambda.Handler
}

// Invoke runs the function on payload; the response is the caller's own.
func (e edge) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	h := e.hs.Get().(lambda.Handler)
	out, err := h.Invoke(ctx, payload)
	out = bytes.Clone(out)
	e.hs.Put(h)
	if err == nil {
		return out, nil
	}
	if !isFault(err) {
		err = &fault.InvalidInputError{Err: fmt.Errorf("%s payload: %w", e.name, err)}
	}
	e.log.ErrorContext(ctx, "invocation failed", "function", e.name, "errorType", fmt.Sprintf("%T", err), "error", err.Error())
	return nil, err
}

// isFault reports whether err is of one of the types fault.Edge returns.
func isFault(err error) bool {
	switch err.(type) {
	case *fault.TransientError, *fault.InvalidInputError, *fault.NotFoundError, *fault.ConflictError, *fault.PermissionError, *fault.InternalError:
		return true
	}
	return false
}
