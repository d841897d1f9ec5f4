package dr

import (
	"errors"
	"fmt"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

func invalidf(format string, args ...any) error {
	return &fault.InvalidInputError{Err: fmt.Errorf(format, args...)}
}

func conflictf(format string, args ...any) error {
	return &fault.ConflictError{Err: fmt.Errorf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &fault.NotFoundError{Err: fmt.Errorf(format, args...)}
}

func transientf(format string, args ...any) error {
	return &fault.TransientError{Err: fmt.Errorf(format, args...)}
}

// invalidAll joins input problems into one InvalidInputError, so an
// operator sees every mistake at once; nil when there is none.
func invalidAll(what string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = errors.New(p)
	}
	return &fault.InvalidInputError{Err: fmt.Errorf("invalid %s: %w", what, joinSemicolon(errs))}
}

// joinSemicolon joins errors on one line: a Step Functions Cause is read in
// one line in the console.
type semicolonErrors []error

// Error joins the messages with "; ".
func (e semicolonErrors) Error() string {
	s := ""
	for i, err := range e {
		if i > 0 {
			s += "; "
		}
		s += err.Error()
	}
	return s
}

// Unwrap returns the joined errors, for errors.Is and errors.As.
func (e semicolonErrors) Unwrap() []error { return e }

func joinSemicolon(errs []error) error { return semicolonErrors(errs) }
