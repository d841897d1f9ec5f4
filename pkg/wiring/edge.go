package wiring

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

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
	return edge{name: name, log: log, h: lambda.NewHandler(func(ctx context.Context, in I) (O, error) {
		out, err := fn(ctx, in)
		return out, fault.Edge(err)
	})}
}

// edge is every function's error edge. Step Functions' Retry and Catch
// match the name of the type of a Go function's error, so an error leaves a
// function as one of pkg/fault's types (the handler's errors are already,
// by the wrapper Step and Source put inside lambda.NewHandler); an error of
// any other type comes from lambda.NewHandler itself, which could not read
// the payload as the function's input, and is an InvalidInputError. Each
// error is logged here once, naming the function and the error type.
type edge struct {
	name string
	log  *slog.Logger
	h    lambda.Handler
}

// Invoke runs the function on payload. The response is the caller's own:
// lambda.NewHandler's Invoke returns bytes of a pooled buffer that it puts
// back for the next invocation to write over, which is harmless to a
// runtime invoking one at a time, not to invocations that run side by side
// (the local installation's).
func (e edge) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := e.h.Invoke(ctx, payload)
	if err == nil {
		return bytes.Clone(out), nil
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
