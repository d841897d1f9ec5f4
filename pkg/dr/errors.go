package dr

import (
	"fmt"

	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
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
func invalidAll(what string, problems []string) error { return drapi.InvalidAll(what, problems) }
