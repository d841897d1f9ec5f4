// Package fault classifies errors by what a recovery workflow should do with
// them, and gives each class a named error type for the Lambda edge.
//
// Step Functions matches Retry and Catch on the error name a Lambda reports,
// which for a Go function is the type name of the returned error. Handlers
// therefore return the types below (via Edge), and the state machines use
// their names: TransientError → Retry; InvalidInputError, NotFoundError,
// ConflictError and PermissionError → Catch or Fail.
package fault

import (
	"context"
	"errors"
	"net"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Kind is a class of error.
type Kind int

// The kinds of error, in the vocabulary a recovery workflow needs.
const (
	Other      Kind = iota // unclassified: report, don't retry blindly
	Transient              // throttling, 5xx, unreachable: retry with backoff
	Invalid                // the request or input is wrong: fix it, don't retry
	NotFound               // the resource does not exist
	Conflict               // the resource exists, or is in a state that forbids the call
	Permission             // access denied
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Permission:
		return "permission"
	}
	return "other"
}

// The error types reported at the Lambda edge. Their type names are the
// ErrorEquals names in the ASL files.
type (
	// TransientError is worth retrying with backoff.
	TransientError struct{ Err error }
	// InvalidInputError says the input must be fixed; retrying is pointless.
	InvalidInputError struct{ Err error }
	// NotFoundError says a resource the step needs does not exist.
	NotFoundError struct{ Err error }
	// ConflictError says the resource exists or is in a state that forbids the step.
	ConflictError struct{ Err error }
	// PermissionError says access was denied.
	PermissionError struct{ Err error }
	// InternalError is any other failure.
	InternalError struct{ Err error }
)

// Error returns the wrapped error's message: the kind is in the type name,
// which is what Step Functions matches on.
func (e *TransientError) Error() string    { return e.Err.Error() }
func (e *InvalidInputError) Error() string { return e.Err.Error() }
func (e *NotFoundError) Error() string     { return e.Err.Error() }
func (e *ConflictError) Error() string     { return e.Err.Error() }
func (e *PermissionError) Error() string   { return e.Err.Error() }
func (e *InternalError) Error() string     { return e.Err.Error() }

// Unwrap returns the wrapped error, so errors.Is and errors.As see through
// the kind to the AWS error beneath.
func (e *TransientError) Unwrap() error    { return e.Err }
func (e *InvalidInputError) Unwrap() error { return e.Err }
func (e *NotFoundError) Unwrap() error     { return e.Err }
func (e *ConflictError) Unwrap() error     { return e.Err }
func (e *PermissionError) Unwrap() error   { return e.Err }
func (e *InternalError) Unwrap() error     { return e.Err }

// Names lists the error names Edge produces, for the test that checks every
// ErrorEquals name in the state machines exists in Go.
var Names = []string{"TransientError", "InvalidInputError", "NotFoundError", "ConflictError", "PermissionError", "InternalError"}

// InvalidErr marks err as an input problem.
func InvalidErr(err error) error { return &InvalidInputError{Err: err} }

// TransientErr marks err as worth retrying.
func TransientErr(err error) error { return &TransientError{Err: err} }

// Classify returns the kind of err: from the fault types above anywhere in its
// chain, else from the AWS error code of a smithy.APIError, else from
// transport failures (a region that cannot be reached is transient).
func Classify(err error) Kind {
	if err == nil {
		return Other
	}
	var (
		te *TransientError
		ie *InvalidInputError
		ne *NotFoundError
		ce *ConflictError
		pe *PermissionError
	)
	switch {
	case errors.As(err, &te):
		return Transient
	case errors.As(err, &ie):
		return Invalid
	case errors.As(err, &ne):
		return NotFound
	case errors.As(err, &ce):
		return Conflict
	case errors.As(err, &pe):
		return Permission
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if k, ok := codeKinds[api.ErrorCode()]; ok {
			return k
		}
		if api.ErrorFault() == smithy.FaultServer {
			return Transient
		}
	}
	var rse *smithyhttp.RequestSendError
	var ne2 net.Error
	if errors.As(err, &rse) || errors.As(err, &ne2) || errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return Transient
	}
	return Other
}

// codeKinds maps the AWS error codes the project meets to kinds.
var codeKinds = map[string]Kind{
	// throttling and capacity
	"ThrottlingException":                    Transient,
	"Throttling":                             Transient,
	"ThrottledException":                     Transient,
	"TooManyRequestsException":               Transient,
	"RequestLimitExceeded":                   Transient,
	"ProvisionedThroughputExceededException": Transient,
	"RequestThrottled":                       Transient,
	"SlowDown":                               Transient,
	"LimitExceededException":                 Transient, // e.g. 50 concurrent DynamoDB restores
	"ServiceUnavailable":                     Transient,
	"ServiceUnavailableException":            Transient,
	"InternalServerError":                    Transient,
	"InternalFailure":                        Transient,
	"InternalError":                          Transient,
	"InternalServiceException":               Transient,
	"InternalServiceError":                   Transient,
	"KMSThrottlingException":                 Transient,
	"TransactionConflictException":           Transient,
	"ConcurrentModificationException":        Transient,
	// invalid input
	"ValidationException":                     Invalid,
	"ValidationError":                         Invalid,
	"InvalidParameterException":               Invalid,
	"InvalidParameterValueException":          Invalid,
	"InvalidParameterValue":                   Invalid,
	"InvalidArgumentException":                Invalid,
	"InvalidArgument":                         Invalid,
	"InvalidInputException":                   Invalid,
	"InvalidRequest":                          Invalid,
	"InvalidRestoreTimeException":             Invalid,
	"PointInTimeRecoveryUnavailableException": Invalid,
	"InvalidBucketName":                       Invalid,
	// missing
	"ResourceNotFoundException":      NotFound,
	"TableNotFoundException":         NotFound,
	"EntityNotFoundException":        NotFound,
	"NoSuchKey":                      NotFound,
	"NoSuchBucket":                   NotFound,
	"NoSuchVersion":                  NotFound,
	"NotFound":                       NotFound,
	"NotFoundException":              NotFound,
	"EndpointGroupNotFoundException": NotFound,
	"AcceleratorNotFoundException":   NotFound,
	"StackNotFoundException":         NotFound,
	// conflicts and state
	"ConditionalCheckFailedException": Conflict,
	"TableAlreadyExistsException":     Conflict,
	"ResourceInUseException":          Conflict,
	"AlreadyExistsException":          Conflict,
	"AlreadyExists":                   Conflict,
	"EndpointAlreadyExistsException":  Conflict,
	"BucketAlreadyOwnedByYou":         Conflict,
	"InvalidStateException":           Conflict,
	// access
	"AccessDenied":          Permission,
	"AccessDeniedException": Permission,
	"AuthorizationError":    Permission, // SNS ("Publish", Amazon SNS API Reference)
	"Forbidden":             Permission, // S3 HEAD requests: a 403 has no body to name the error
	"UnauthorizedOperation": Permission,
	"ExpiredToken":          Permission,
}

// Edge returns err as the named type its kind maps to, for returning from a
// Lambda handler. The message is kept; nil stays nil; an error already of a
// fault type is returned as is.
func Edge(err error) error {
	if err == nil {
		return nil
	}
	switch err.(type) {
	case *TransientError, *InvalidInputError, *NotFoundError, *ConflictError, *PermissionError, *InternalError:
		return err
	}
	switch Classify(err) {
	case Transient:
		return &TransientError{Err: err}
	case Invalid:
		return &InvalidInputError{Err: err}
	case NotFound:
		return &NotFoundError{Err: err}
	case Conflict:
		return &ConflictError{Err: err}
	case Permission:
		return &PermissionError{Err: err}
	}
	return &InternalError{Err: err}
}

// Code returns the AWS error code in err's chain, or "".
func Code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
