// Package intrinsic parses and evaluates the Amazon States Language intrinsic functions
// (States.Format, States.Array, States.Hash, …) as Step Functions does for the JSONPath query
// language.
//
// A Call is parsed once when the state machine definition is validated; a parse error makes the
// definition invalid. Eval runs it against an Env that resolves the JSONPath arguments; every
// runtime failure (wrong argument type, out-of-range value, …) wraps ErrIntrinsicFailure, which
// the engine raises as States.IntrinsicFailure.
//
// Parse rejects invocations that can never succeed, so the validator reports them before a run:
// unknown functions, wrong argument counts, bad literals and paths, an "open escape" backslash
// (only \', \{, \} and \\ are escapes; Step Functions fails such a call when it runs), more
// than MaxNesting nested calls, an unknown States.Hash algorithm literal and a literal
// deep-merge flag for States.JsonMerge. Everything that depends on values, including a
// States.Format placeholder count that does not match its arguments, fails in Eval.
//
// Go maps have no order, so States.JsonToString and States.Format print object members in key
// order where Step Functions keeps the document's order.
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

// Name returns the function name, such as "States.Format".
func (c *Call) Name() string { return c.name }

// Paths returns the path arguments of the call and of every nested call, as written ("$…" or
// "$$…"), in order of appearance; a validator can check them against what the state provides.
func (c *Call) Paths() []string {
	var out []string
	var walk func(*Call)
	walk = func(c *Call) {
		for i := range c.args {
			switch a := &c.args[i]; a.kind {
			case argPath:
				out = append(out, a.str)
			case argCall:
				walk(a.call)
			}
		}
	}
	walk(c)
	return out
}
