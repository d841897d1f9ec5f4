package states

import (
	"errors"
	"reflect"
	"slices"
	"strings"
)

// The error names the Amazon States Language predefines. Step Functions
// raises them itself; Retry and Catch match them by name.
const (
	ErrorAll                             = "States.ALL"
	ErrorTimeout                         = "States.Timeout"
	ErrorHeartbeatTimeout                = "States.HeartbeatTimeout"
	ErrorTaskFailed                      = "States.TaskFailed"
	ErrorPermissions                     = "States.Permissions"
	ErrorResultPathMatchFailure          = "States.ResultPathMatchFailure"
	ErrorParameterPathFailure            = "States.ParameterPathFailure"
	ErrorBranchFailed                    = "States.BranchFailed"
	ErrorNoChoiceMatched                 = "States.NoChoiceMatched"
	ErrorIntrinsicFailure                = "States.IntrinsicFailure"
	ErrorExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold"
	ErrorRuntime                         = "States.Runtime"
	ErrorDataLimitExceeded               = "States.DataLimitExceeded"
	ErrorItemReaderFailed                = "States.ItemReaderFailed"
	ErrorResultWriterFailed              = "States.ResultWriterFailed"
)

// Error is a failure with an explicit ASL error name. A task handler returns
// one (or any error whose chain holds one) to choose the name that Retry and
// Catch see, e.g. Error{Name: "DynamoDb.ConditionalCheckFailedException"}.
// SendTaskFailure and Fail states produce the same pair.
type Error struct {
	Name  string
	Cause string
}

// Error returns "Name: Cause".
func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// ErrorName returns the ASL error name.
func (e *Error) ErrorName() string { return e.Name }

// Namer is implemented by errors that name their ASL error themselves; the
// engine uses the name instead of the Go type name.
type Namer interface {
	ErrorName() string
}

// ErrorName returns the ASL error name a handler's error reports, the way
// the Lambda Go runtime reports it: the name from the first Namer in the
// chain, else the Go type name of err itself (the element type's name for a
// pointer). So errors.New gives "errorString" and fmt.Errorf with %w gives
// "wrapError", exactly as a Lambda function written with aws-lambda-go
// reports them to Step Functions.
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	var n Namer
	if errors.As(err, &n) {
		if name := n.ErrorName(); name != "" {
			return name
		}
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// failure is an error raised while running a state: an ASL name and cause.
type failure struct {
	name  string
	cause string
}

func (f *failure) Error() string { return f.name + ": " + f.cause }

func fail(name, cause string) *failure { return &failure{name: name, cause: cause} }

// matches reports whether an ErrorEquals list matches the error name, with
// the wildcards the language defines: States.ALL matches every error except
// States.Runtime and States.DataLimitExceeded (which AWS documents as
// terminal), States.TaskFailed matches everything but timeouts, and a
// heartbeat timeout is also a States.Timeout.
func matches(errorEquals []string, name string) bool {
	for _, e := range errorEquals {
		switch {
		case e == name:
			return name != ErrorRuntime
		case e == ErrorAll:
			if name != ErrorRuntime && name != ErrorDataLimitExceeded {
				return true
			}
		case e == ErrorTaskFailed:
			if !isTimeout(name) && name != ErrorRuntime && name != ErrorDataLimitExceeded {
				return true
			}
		case e == ErrorTimeout && name == ErrorHeartbeatTimeout:
			return true
		}
	}
	return false
}

func isTimeout(name string) bool { return name == ErrorTimeout || name == ErrorHeartbeatTimeout }

// predefined reports whether name is one of the States.* names.
func predefined(name string) bool {
	return slices.Contains([]string{ErrorAll, ErrorTimeout, ErrorHeartbeatTimeout, ErrorTaskFailed,
		ErrorPermissions, ErrorResultPathMatchFailure, ErrorParameterPathFailure, ErrorBranchFailed,
		ErrorNoChoiceMatched, ErrorIntrinsicFailure, ErrorExceedToleratedFailureThreshold,
		ErrorRuntime, ErrorDataLimitExceeded, ErrorItemReaderFailed, "States.QueryEvaluationError",
		ErrorResultWriterFailed}, name)
}

func isStatesName(name string) bool { return strings.HasPrefix(name, "States.") }
