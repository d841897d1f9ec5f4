package drapi

import (
	"errors"
	"fmt"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

func invalidf(format string, args ...any) error {
	return &fault.InvalidInputError{Err: fmt.Errorf(format, args...)}
}

// InvalidAll joins input problems into one InvalidInputError, so an
// operator sees every mistake at once; nil when there is none.
func InvalidAll(what string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = errors.New(p)
	}
	return &fault.InvalidInputError{Err: fmt.Errorf("invalid %s: %w", what, JoinSemicolon(errs))}
}

func invalidAll(what string, problems []string) error { return InvalidAll(what, problems) }

// semicolonErrors joins errors on one line: a Step Functions Cause is read
// in one line in the console.
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

// JoinSemicolon joins errors into one whose message is theirs joined with
// "; ", and which errors.Is and errors.As see through.
func JoinSemicolon(errs []error) error { return semicolonErrors(errs) }
