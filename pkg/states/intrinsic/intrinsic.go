// Package intrinsic parses and evaluates the Amazon States Language intrinsic functions
// (States.Format, States.Array, States.Hash, …) as Step Functions does for the JSONPath query
// language.
//
// A Call is parsed once when the state machine definition is validated; a parse error makes the
// definition invalid. Eval runs it against an Env that resolves the JSONPath arguments; every
// runtime failure (wrong argument type, out-of-range value, …) wraps ErrIntrinsicFailure, which
// the engine raises as States.IntrinsicFailure.
package intrinsic

import "errors"

// ErrIntrinsicFailure is in the chain of every error Eval returns; the engine reports such errors
// as States.IntrinsicFailure.
var ErrIntrinsicFailure = errors.New("intrinsic function failure")

// Call is a parsed intrinsic function invocation such as "States.Format('x {}', $.a)".
// A Call is immutable and safe for concurrent use.
type Call struct {
	name string
	args []arg
	fn   *function
}

// Env supplies what an evaluation needs from the running state.
type Env struct {
	// Resolve returns the value a path argument selects. The path is passed as written in the
	// definition: "$…" for the effective input, "$$…" for the context object.
	Resolve func(path string) (any, error)
	// Random returns a uniform value in [0, 1) for States.MathRandom without a seed; nil means
	// math/rand/v2.
	Random func() float64
	// UUID returns a new version 4 UUID for States.UUID; nil means a random one from crypto/rand.
	UUID func() string
}

// Parse parses an intrinsic function invocation, including nested calls.
func Parse(expr string) (*Call, error) {
	return parse(expr)
}

// String returns the invocation in canonical form; Parse(c.String()) yields an equal Call.
func (c *Call) String() string { return c.string() }

// Eval evaluates the call. Every error it returns wraps ErrIntrinsicFailure; an error from
// env.Resolve is wrapped as well (both are in the chain), so the engine may still tell a
// missing path (errors.Is(err, jsonpath.ErrNotFound)) from a bad argument.
func (c *Call) Eval(env Env) (any, error) {
	return c.eval(env)
}
