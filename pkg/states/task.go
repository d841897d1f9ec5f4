package states

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/smithy-go"
)

// Task is one invocation of a Task state, as a TaskHandler sees it.
type Task struct {
	// Resource is the state's Resource as written, e.g.
	// "arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken".
	Resource string
	// StateName is the name of the Task state.
	StateName string
	// ExecutionARN is the ARN of the execution running the state.
	ExecutionARN string
	// StateMachineARN is the ARN of the state machine the execution runs;
	// a Map iteration or Parallel branch reports its execution's.
	StateMachineARN string
	// RoleARN is the state machine's execution role: in AWS the task's
	// service call is made with its credentials, so a handler calling a
	// service that enforces IAM acts as it.
	RoleARN string
	// Input is the effective input: the state input after InputPath and
	// Parameters.
	Input json.RawMessage
	// Token is the task token for a .waitForTaskToken resource (also in
	// $$.Task.Token); empty otherwise.
	Token string
	// Heartbeat records a heartbeat, resetting the HeartbeatSeconds timer,
	// as SendTaskHeartbeat does.
	Heartbeat func()
}

// TaskInfo is what a task handler's context says about the Task state it
// serves. LambdaHandler and SDKHandler get no Task, so they read it with
// TaskInfoFrom; a TaskHandler finds the same in its Task.
type TaskInfo struct {
	// RoleARN is the execution role the task's service call is made as.
	RoleARN string
	// StateMachineARN is the ARN of the state machine the execution runs.
	StateMachineARN string
	// ExecutionARN is the ARN of the execution running the state.
	ExecutionARN string
	// StateName is the name of the Task state.
	StateName string
}

// taskInfoKey is the context key of a *TaskInfo.
type taskInfoKey struct{}

// infoContext carries a TaskInfo, as context.WithValue would, but can live
// in the allocation runTask makes for each task anyway. Done, Err and
// Deadline are the parent's, so context.WithCancel on it still finds the
// parent's cancellation without a goroutine.
type infoContext struct {
	context.Context
	info TaskInfo
}

// Value returns the TaskInfo for taskInfoKey, else the parent's value.
func (c *infoContext) Value(key any) any {
	if key == (taskInfoKey{}) {
		return &c.info
	}
	return c.Context.Value(key)
}

// TaskInfoFrom returns the TaskInfo of the task whose handler got ctx (or a
// context derived from it). It reports false outside a task handler.
func TaskInfoFrom(ctx context.Context) (TaskInfo, bool) {
	ti, ok := ctx.Value(taskInfoKey{}).(*TaskInfo)
	if !ok || ti == nil {
		return TaskInfo{}, false
	}
	return *ti, true
}

// TaskHandler runs Task states. For a .waitForTaskToken resource the result
// is ignored: the task completes when SendTaskSuccess or SendTaskFailure is
// called with Task.Token. The returned error's ASL name is ErrorName(err).
type TaskHandler interface {
	RunTask(ctx context.Context, t *Task) (json.RawMessage, error)
}

// TaskHandlerFunc adapts a function to TaskHandler.
type TaskHandlerFunc func(ctx context.Context, t *Task) (json.RawMessage, error)

// RunTask calls f.
func (f TaskHandlerFunc) RunTask(ctx context.Context, t *Task) (json.RawMessage, error) {
	return f(ctx, t)
}

// LambdaHandler is a Lambda function's handler: the payload in, the
// response out, the way lambda.NewHandler(h).Invoke works.
type LambdaHandler func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// SDKHandler serves an aws-sdk:<service>:<action> integration: the effective
// Parameters in (PascalCase, as the SDK input struct unmarshals them), the
// action's output out. An error carrying a smithy.APIError is named
// "<Service>.<ErrorCode>" as Step Functions names it.
type SDKHandler func(ctx context.Context, params json.RawMessage) (json.RawMessage, error)

// Registry maps Task resources to handlers. Lookups, in order: a handler for
// the state's name (stubs), one for the exact Resource, then the built-in
// integrations, which consult the Lambda functions and SDK actions
// registered here. A Registry is safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	states    map[string]TaskHandler
	resources map[string]TaskHandler
	lambdas   map[string]LambdaHandler
	sdk       map[string]SDKHandler
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		states:    map[string]TaskHandler{},
		resources: map[string]TaskHandler{},
		lambdas:   map[string]LambdaHandler{},
		sdk:       map[string]SDKHandler{},
	}
}

// HandleState answers every invocation of the named Task state, wherever it
// runs (inside Map and Parallel too) and whatever its Resource; the
// handler's result is the task result (for .waitForTaskToken: the
// SendTaskSuccess output). It is meant for stubs in tests.
func (r *Registry) HandleState(state string, h TaskHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[state] = h
}

// Handle registers h for a Resource string, matched exactly, or without its
// .sync/.sync:2/.waitForTaskToken suffix (an activity ARN, a custom
// integration).
func (r *Registry) Handle(resource string, h TaskHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resources[resource] = h
}

// HandleLambda registers a Lambda function. function may be a name, an ARN
// or a partial ARN, with or without a version or alias; invocations match
// by function name as Lambda does.
func (r *Registry) HandleLambda(function string, h LambdaHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lambdas[lambdaName(function)] = h
}

// HandleSDK registers an aws-sdk integration action, e.g. ("dynamodb",
// "getItem"). Matching ignores the case of the action's first letter.
func (r *Registry) HandleSDK(service, action string, h SDKHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sdk[sdkKey(service, action)] = h
}

func sdkKey(service, action string) string {
	return strings.ToLower(service) + ":" + strings.ToLower(action[:min(1, len(action))]) + action[min(1, len(action)):]
}

func (r *Registry) lookupState(name string) TaskHandler {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.states[name]
}

// taskHandler returns the Go handler for a Task state: one registered for
// the state's name (stub is then true), else one for its Resource; nil
// means a built-in integration.
func (r *Registry) taskHandler(state string, res *resource) (h TaskHandler, stub bool) {
	if h := r.lookupState(state); h != nil {
		return h, true
	}
	return r.lookupResource(res), false
}

func (r *Registry) lookupResource(res *resource) TaskHandler {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if h := r.resources[res.raw]; h != nil {
		return h
	}
	return r.resources[res.base]
}

func (r *Registry) lambda(function string) LambdaHandler {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.lambdas[lambdaName(function)]
}

func (r *Registry) sdkAction(service, action string) SDKHandler {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sdk[sdkKey(service, action)]
}

// lambdaName extracts the function name from a name, ARN or partial ARN
// ("my-fn", "my-fn:live", "123456789012:function:my-fn",
// "arn:aws:lambda:us-east-1:123456789012:function:my-fn:3").
func lambdaName(s string) string {
	parts := strings.Split(s, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return parts[0]
}

// Resource kinds.
const (
	resOther = iota
	resLambdaInvoke
	resLambdaARN
	resSDK
	resStartExecution
)

// Integration patterns.
const (
	patRequestResponse = iota
	patSync
	patSync2
	patToken
)

// resource is a parsed Task Resource.
type resource struct {
	raw     string
	base    string // without the pattern suffix
	kind    int
	pattern int
	service string // aws-sdk service
	action  string // aws-sdk action
	// For history: resourceType and resource as Step Functions reports them.
	eventType, eventResource string
}

func parseResource(raw string) *resource {
	r := &resource{raw: raw, base: raw}
	for _, suf := range []struct {
		s string
		p int
	}{{".sync:2", patSync2}, {".sync", patSync}, {".waitForTaskToken", patToken}} {
		if b, ok := strings.CutSuffix(raw, suf.s); ok {
			r.base, r.pattern = b, suf.p
			break
		}
	}
	parts := strings.SplitN(r.base, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "states" && parts[3] == "" && parts[4] == "" {
		svc := parts[5] // "lambda:invoke", "aws-sdk:dynamodb:getItem", "states:startExecution"
		i := strings.LastIndex(svc, ":")
		if i > 0 {
			r.eventType = svc[:i]
			r.eventResource = svc[i+1:] + strings.TrimPrefix(raw, r.base)
		}
		switch {
		case svc == "lambda:invoke":
			r.kind = resLambdaInvoke
		case svc == "states:startExecution":
			r.kind = resStartExecution
		case strings.HasPrefix(svc, "aws-sdk:"):
			if f := strings.Split(svc, ":"); len(f) == 3 {
				r.kind, r.service, r.action = resSDK, f[1], f[2]
			}
		}
		return r
	}
	if len(parts) >= 6 && parts[0] == "arn" && parts[2] == "lambda" {
		r.kind = resLambdaARN
		r.eventType, r.eventResource = "lambda", raw
		return r
	}
	if len(parts) >= 6 && parts[0] == "arn" && parts[2] == "states" && strings.HasPrefix(parts[5], "activity:") {
		r.eventType, r.eventResource = "activity", raw
		return r
	}
	r.eventType, r.eventResource = "custom", raw
	return r
}

// servicePrefixes are the error-name prefixes Step Functions documents for
// aws-sdk integrations (the "Exception prefix" column of its table of
// supported services) where the prefix is not simply the capitalised
// service name.
var servicePrefixes = map[string]string{
	"cloudformation": "CloudFormation", "cloudwatch": "CloudWatch", "cloudwatchlogs": "CloudWatchLogs",
	"dynamodb": "DynamoDb", "elasticloadbalancingv2": "ElasticLoadBalancingV2", "eventbridge": "EventBridge",
	"globalaccelerator": "GlobalAccelerator",
}

// SDKServicePrefix returns the error-name prefix of an aws-sdk integration's
// service as the Resource names it: "dynamodb" → "DynamoDb", "s3" → "S3".
func SDKServicePrefix(service string) string {
	service = strings.ToLower(service)
	if p, ok := servicePrefixes[service]; ok {
		return p
	}
	if service == "" {
		return ""
	}
	return strings.ToUpper(service[:1]) + service[1:]
}

// SDKErrorName names an aws-sdk integration's error as Step Functions does:
// an explicit name (Namer) wins; a smithy.APIError becomes
// "<Prefix>.<Code>", with "Exception" appended where the code lacks it (S3's
// NoSuchKey → S3.NoSuchKeyException); anything else gets ErrorName(err).
func SDKErrorName(service string, err error) string {
	var n Namer
	if errors.As(err, &n) && n.ErrorName() != "" {
		return n.ErrorName()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		if !strings.HasSuffix(code, "Exception") {
			code += "Exception"
		}
		return SDKServicePrefix(service) + "." + code
	}
	return ErrorName(err)
}

// lambdaCause is the cause Step Functions shows for a Lambda function error:
// the runtime's error document.
func lambdaCause(name string, err error) string {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{err.Error(), name})
	return string(b)
}

// invokeResult shapes a Lambda response as the lambda:invoke integration
// returns it.
func invokeResult(payload json.RawMessage, requestID string) (json.RawMessage, error) {
	var p any = nil
	if len(payload) > 0 {
		v, err := decode(payload)
		if err != nil {
			// A response that is not JSON is passed on as a string.
			v = string(payload)
		}
		p = v
	}
	out := map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         p,
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": map[string]any{
				"X-Amz-Executed-Version":         []any{"$LATEST"},
				"x-amzn-Remapped-Content-Length": []any{"0"},
				"Connection":                     []any{"keep-alive"},
				"x-amzn-RequestId":               []any{requestID},
				"Content-Type":                   []any{"application/json"},
			},
			"HttpHeaders": map[string]any{
				"Connection":             "keep-alive",
				"Content-Type":           "application/json",
				"X-Amz-Executed-Version": "$LATEST",
				"x-amzn-RequestId":       requestID,
			},
			"HttpStatusCode": 200,
		},
		"SdkResponseMetadata": map[string]any{"RequestId": requestID},
		"StatusCode":          200,
	}
	return json.Marshal(out)
}

func errNoHandler(res *resource, state string) *failure {
	return fail(ErrorRuntime, fmt.Sprintf("no handler for the Task state '%s' (Resource %s): register one with Registry.HandleState, Handle, HandleLambda or HandleSDK", state, res.raw))
}
