package states

import (
	"context"
	"encoding/json"
	"fmt"
)

// SDKCall adapts an aws-sdk-go-v2 client method (or anything with its
// signature, such as a simulator's) to an SDKHandler:
//
//	reg.HandleSDK("dynamodb", "describeTable", states.SDKCall(client.DescribeTable))
//
// The Task's Parameters are unmarshalled into the SDK input struct (its
// field names are the API's PascalCase member names) and the output is
// returned as the aws-sdk integration returns it: without the null members
// (or empty enum) members and without ResultMetadata. Inputs holding interface-typed members (DynamoDB
// AttributeValue items) do not unmarshal this way; register an SDKHandler
// that decodes them for such actions.
func SDKCall[In, Out, Opts any](call func(context.Context, *In, ...func(*Opts)) (*Out, error)) SDKHandler {
	return func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
		in := new(In)
		if len(params) > 0 && string(params) != "null" {
			if err := json.Unmarshal(params, in); err != nil {
				return nil, &Error{Name: ErrorRuntime, Cause: fmt.Sprintf("the parameters do not fit %T: %v", in, err)}
			}
		}
		out, err := call(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("encode %T: %w", out, err)
		}
		v, err := decode(b)
		if err != nil {
			return nil, fmt.Errorf("decode %T: %w", out, err)
		}
		if m, ok := v.(map[string]any); ok {
			delete(m, "ResultMetadata")
		}
		return json.Marshal(dropNulls(v))
	}
}

// dropNulls removes null object members and empty strings, recursively, as
// the aws-sdk integration omits absent members: the SDK's optional strings
// are pointers, so an empty string is an unset enum.
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil || e == "" {
				delete(x, k)
				continue
			}
			x[k] = dropNulls(e)
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}
