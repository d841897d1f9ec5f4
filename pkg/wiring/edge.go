package wiring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	return edge[I, O]{name: name, log: log, fn: func(ctx context.Context, in I) (O, error) {
		out, err := fn(ctx, in)
		return out, fault.Edge(err)
	}}
}

// edge is every function's error edge. Step Functions' Retry and Catch
// match the name of the type of a Go function's error, so an error leaves a
// function as one of pkg/fault's types (the handler's errors are already,
// by the wrapper Step and Source put around fn); an error of any other
// type comes from reading the payload as the function's input, and is an
// InvalidInputError. Each error is logged here once, naming the function
// and the error type.
//
// It reads the payload and writes the response as aws-lambda-go's
// lambda.NewHandler does (TestEdgeDecodesAsLambdaNewHandler compares the
// two), with differences that change no result: a payload that is one
// JSON document, as every invocation's is, is decoded where it lies
// instead of through a json.Decoder's copy of it — the partitions
// function's SQS batches are about 144 KB each, and a Decoder grows its
// buffer to twice that and more for each — and, for a function that takes
// its event raw (json.RawMessage), is handed over without a copy; the
// response is written to a buffer of the invocation's own, so invocations
// side by side (a Distributed Map's children) never share one.
type edge[I, O any] struct {
	name string
	log  *slog.Logger
	fn   func(context.Context, I) (O, error)
}

// Invoke runs the function on payload; the response is the caller's own.
func (e edge[I, O]) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := e.invoke(ctx, payload)
	if err == nil {
		return out, nil
	}
	if !isFault(err) {
		err = &fault.InvalidInputError{Err: fmt.Errorf("%s payload: %w", e.name, err)}
	}
	e.log.ErrorContext(ctx, "invocation failed", "function", e.name, "errorType", fmt.Sprintf("%T", err), "error", err.Error())
	return nil, err
}

func (e edge[I, O]) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var in I
	if raw, ok := any(&in).(*json.RawMessage); ok && json.Valid(payload) {
		// A function that reads its event itself (partitions): the
		// document is the payload less the whitespace around it, which
		// Unmarshal would copy.
		*raw = bytes.TrimSpace(payload)
	} else if err := json.Unmarshal(payload, &in); err != nil {
		var syntax *json.SyntaxError
		if !errors.As(err, &syntax) {
			return nil, err
		}
		// Not one JSON document (Unmarshal has not touched in): read it
		// as lambda.NewHandler does, its first value and the Decoder's
		// error for what it cannot read.
		if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&in); err != nil {
			return nil, err
		}
	}
	out, err := e.fn(ctx, in)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// isFault reports whether err is of one of the types fault.Edge returns.
func isFault(err error) bool {
	switch err.(type) {
	case *fault.TransientError, *fault.InvalidInputError, *fault.NotFoundError, *fault.ConflictError, *fault.PermissionError, *fault.InternalError:
		return true
	}
	return false
}
