package fault

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"Throttling", &smithy.GenericAPIError{Code: "ThrottlingException"}, Transient},
		{"WrappedThrottling", fmt.Errorf("put records: %w", &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}), Transient},
		{"ServerFault", &smithy.GenericAPIError{Code: "SomethingNew", Fault: smithy.FaultServer}, Transient},
		{"Unreachable", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &smithyhttp.RequestSendError{Err: errors.New("dial tcp: connection refused")}}, Transient},
		{"Validation", &smithy.GenericAPIError{Code: "ValidationException"}, Invalid},
		{"PITRUnavailable", &smithy.GenericAPIError{Code: "PointInTimeRecoveryUnavailableException"}, Invalid},
		{"TableNotFound", &smithy.GenericAPIError{Code: "TableNotFoundException"}, NotFound},
		{"NoSuchKey", &smithy.GenericAPIError{Code: "NoSuchKey"}, NotFound},
		{"ConditionFailed", &smithy.GenericAPIError{Code: "ConditionalCheckFailedException"}, Conflict},
		{"TableExists", &smithy.GenericAPIError{Code: "TableAlreadyExistsException"}, Conflict},
		{"AccessDenied", &smithy.GenericAPIError{Code: "AccessDenied"}, Permission},
		{"SNSAuthorization", &smithy.GenericAPIError{Code: "AuthorizationError"}, Permission},
		{"S3HeadForbidden", &smithy.OperationError{ServiceID: "S3", OperationName: "HeadObject", Err: &smithy.GenericAPIError{Code: "Forbidden", Message: "Forbidden"}}, Permission},
		{"OwnType", fmt.Errorf("step: %w", &InvalidInputError{Err: errors.New("bad")}), Invalid},
		{"Plain", errors.New("boom"), Other},
		{"Nil", nil, Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Fatalf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestEdgeNames checks that Edge yields, for each kind, an error whose type
// name (what Lambda reports as errorType) is one of Names.
func TestEdgeNames(t *testing.T) {
	inputs := map[string]error{
		"TransientError":    &smithy.GenericAPIError{Code: "ThrottlingException"},
		"InvalidInputError": &smithy.GenericAPIError{Code: "ValidationException"},
		"NotFoundError":     &smithy.GenericAPIError{Code: "ResourceNotFoundException"},
		"ConflictError":     &smithy.GenericAPIError{Code: "ResourceInUseException"},
		"PermissionError":   &smithy.GenericAPIError{Code: "AccessDeniedException"},
		"InternalError":     errors.New("boom"),
	}
	if got, want := len(inputs), len(Names); got != want {
		t.Fatalf("%d cases for %d names", got, want)
	}
	for _, name := range Names {
		err := Edge(fmt.Errorf("step: %w", inputs[name]))
		if got := reflect.TypeOf(err).Elem().Name(); got != name {
			t.Errorf("Edge type name = %q, want %q", got, name)
		}
		if got, want := err.Error(), "step: "+inputs[name].Error(); got != want {
			t.Errorf("Edge message = %q, want %q", got, want)
		}
	}
	if Edge(nil) != nil {
		t.Fatal("Edge(nil) != nil")
	}
	if got, want := Code(fmt.Errorf("x: %w", &smithy.GenericAPIError{Code: "NoSuchKey"})), "NoSuchKey"; got != want {
		t.Fatalf("Code = %q, want %q", got, want)
	}
}
