// Package integration serves Step Functions AWS SDK service integrations —
// Task states whose Resource is "arn:aws:states:::aws-sdk:<service>:<apiAction>"
// — from any client whose methods have the aws-sdk-go-v2 signatures: the real
// SDK client, or a pkg/sim service in the local runner.
//
// It behaves as the integration does in the cloud: the Task's Parameters
// (PascalCase JSON) are decoded into the SDK input struct, the action is
// called, and the output is encoded as Step Functions returns it — absent
// members left out, timestamps as ISO 8601 strings, DynamoDB attribute values
// in their {"S": …} wire form. A failure is reported as an *Error named
// "<ServiceName>.<ErrorCode>Exception", the name Retry and Catch match on.
package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/pendulum-dr/pendulum/pkg/states"
)

// Error is a failed integration call, named as Step Functions names it.
type Error struct {
	// Name is the ASL error name, e.g. "DynamoDb.TableAlreadyExistsException".
	Name string
	// Cause is the human-readable cause Step Functions reports beside it.
	Cause string
	// Err is the client's error.
	Err error
}

// Error returns the cause.
func (e *Error) Error() string { return e.Cause }

// ErrorName returns the ASL error name.
func (e *Error) ErrorName() string { return e.Name }

// Unwrap returns the client's error.
func (e *Error) Unwrap() error { return e.Err }

// ErrInvalidParameters is in the chain of every error about Parameters that
// do not fit the action's input: a definition bug, reported as States.Runtime.
var ErrInvalidParameters = errors.New("integration: invalid parameters")

// Call invokes apiAction (camelCase, as in the Resource) on client with the
// Task's Parameters and returns the result as the integration does.
func Call(ctx context.Context, service string, client any, apiAction string, params json.RawMessage) (json.RawMessage, error) {
	method, in, err := prepare(client, apiAction)
	if err != nil {
		return nil, err
	}
	if len(params) > 0 && string(params) != "null" {
		var raw any
		dec := json.NewDecoder(strings.NewReader(string(params)))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%s:%s: decode parameters: %v: %w", service, apiAction, err, ErrInvalidParameters)
		}
		if err := decode(in.Elem(), raw, ""); err != nil {
			return nil, fmt.Errorf("%s:%s: %v: %w", service, apiAction, err, ErrInvalidParameters)
		}
	}
	outs := method.Call([]reflect.Value{reflect.ValueOf(ctx), in})
	if errv := outs[1]; !errv.IsNil() {
		return nil, callError(service, errv.Interface().(error))
	}
	v, ok, err := encode(outs[0])
	if err != nil {
		return nil, fmt.Errorf("%s:%s: encode output: %w", service, apiAction, err)
	}
	if !ok {
		v = map[string]any{}
	}
	return json.Marshal(v)
}

var (
	ctxType   = reflect.TypeFor[context.Context]()
	errorType = reflect.TypeFor[error]()
)

// prepare finds the method for apiAction and allocates its input.
func prepare(client any, apiAction string) (reflect.Value, reflect.Value, error) {
	if apiAction == "" {
		return reflect.Value{}, reflect.Value{}, fmt.Errorf("empty API action: %w", ErrInvalidParameters)
	}
	name := strings.ToUpper(apiAction[:1]) + apiAction[1:]
	m := reflect.ValueOf(client).MethodByName(name)
	if !m.IsValid() {
		return reflect.Value{}, reflect.Value{}, fmt.Errorf("%T has no action %s: %w", client, name, ErrInvalidParameters)
	}
	t := m.Type()
	if t.NumIn() != 3 || !t.IsVariadic() || t.In(0) != ctxType || t.In(1).Kind() != reflect.Pointer ||
		t.NumOut() != 2 || t.Out(1) != errorType {
		return reflect.Value{}, reflect.Value{}, fmt.Errorf("%T.%s does not have an SDK client method signature: %w", client, name, ErrInvalidParameters)
	}
	return m, reflect.New(t.In(1).Elem()), nil
}

// callError names a client error as Step Functions does (states.SDKErrorName:
// the AWS error code with the "Exception" suffix the integration always uses,
// so S3's BucketAlreadyExists becomes S3.BucketAlreadyExistsException).
// Errors without a service response (transport, cancellation) are the SDK
// client's own, SdkClientException.
func callError(service string, err error) *Error {
	prefix := states.SDKServicePrefix(service)
	var api smithy.APIError
	if !errors.As(err, &api) {
		return &Error{Name: prefix + ".SdkClientException", Cause: err.Error(), Err: err}
	}
	status := 400
	var re *smithyhttp.ResponseError
	switch {
	case errors.As(err, &re):
		status = re.HTTPStatusCode()
	case api.ErrorFault() == smithy.FaultServer:
		status = 500
	}
	cause := fmt.Sprintf("%s (Service: %s, Status Code: %d, Error Code: %s)", api.ErrorMessage(), prefix, status, api.ErrorCode())
	return &Error{Name: states.SDKErrorName(service, err), Cause: cause, Err: err}
}
