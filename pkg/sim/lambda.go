package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// Lambda is one region's simulated AWS Lambda: functions with the
// configuration a template sets, whose code the embedding program supplies
// (World.SetLambdaCode); synchronous and asynchronous invocation with
// Lambda's error payloads, timeouts on the world's clock, reserved
// concurrency and the asynchronous retries and destinations; and
// event-source mappings for SQS queues and Kinesis streams
// (lambda_esm.go).
//
// Not modelled: versions and aliases (only $LATEST), layers, VPC, the
// account-wide concurrency limit, function states other than Active,
// provisioned concurrency, code packages (Code is accepted and ignored).
type Lambda struct {
	r *Region

	// InvokeLatency is added to every invocation before the handler runs:
	// the service's own overhead, on every path that runs a function (the
	// Invoke API, whose request takes its own latency too, asynchronous
	// events, event-source mappings, a load balancer's target). It starts
	// as the latency model's figure (latency.go); set it before the
	// region's functions run.
	InvokeLatency time.Duration
	// ColdStart is added to an invocation that needs a new execution
	// environment: the first after a function is created or reconfigured,
	// and each one that runs while all warm environments are busy
	// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
	// It starts as the latency model's figure. Neither counts against the
	// function's timeout or its Duration metric, as in Lambda.
	//
	// The handler's own compute takes no virtual time: a handler's time is
	// the latency of the calls it makes and the waits it does. Measuring
	// its wall-clock CPU instead would make a rehearsal's figures differ
	// from run to run and machine to machine, for a share (microseconds to
	// a few milliseconds of Go per invocation) the modelled calls dwarf.
	ColdStart time.Duration

	mu        sync.Mutex
	functions map[string]*lambdaFunction // by name
	mappings  map[string]*lambdaESM      // by UUID
	seq       int
}

// LambdaFunction is a function's configuration, as the code resolver sees
// it.
type LambdaFunction struct {
	Name, ARN, Region string
	// Role is the execution role's ARN: the identity the handler's calls
	// are made with.
	Role             string
	Handler, Runtime string
	Environment      map[string]string
	Timeout          time.Duration
	MemorySize       int32
	// ReservedConcurrentExecutions is nil when the function uses the
	// account's unreserved concurrency.
	ReservedConcurrentExecutions *int32
}

// LambdaHandler runs one invocation: the shape of aws-lambda-go's
// lambda.Handler Invoke. A returned error is reported as Lambda reports a
// function error (FunctionError "Unhandled", the errorMessage/errorType
// payload); a messages.InvokeResponse_Error is reported as it is.
type LambdaHandler func(ctx context.Context, payload []byte) ([]byte, error)

// SetLambdaCode sets how functions get their code: resolve is called once
// per function (re)configuration, at the function's first invocation
// after it, with the configuration. A resolve error fails the invocations
// as a function whose initialisation fails does.
func (w *World) SetLambdaCode(resolve func(fn LambdaFunction) (LambdaHandler, error)) {
	for _, name := range w.Regions() {
		r := w.Region(name)
		h := r.hooks()
		h.mu.Lock()
		h.lambdaCode = resolve
		h.mu.Unlock()
		l := r.Lambda()
		l.mu.Lock()
		for _, fn := range l.functions {
			fn.resolved = false
		}
		l.mu.Unlock()
	}
}

// simHooks holds a region's copy of the callbacks the embedding program
// sets for the whole world (SetLambdaCode, SetStateMachineStarter).
type simHooks struct {
	mu           sync.Mutex
	lambdaCode   func(fn LambdaFunction) (LambdaHandler, error)
	startMachine func(ctx context.Context, roleARN, machineARN, input string) (string, error)
}

func (r *Region) hooks() *simHooks {
	return r.service("sim.hooks", func() any { return &simHooks{} }).(*simHooks)
}

type lambdaFunction struct {
	cfg         LambdaFunction
	description string
	tags        map[string]string
	dlqARN      string // DeadLetterConfig.TargetArn
	async       lambdaAsyncConfig
	modified    time.Time
	revision    int

	resolved   bool
	handler    LambdaHandler
	resolveErr error
	warm       int // idle execution environments
	inflight   int
}

// lambdaAsyncConfig is PutFunctionEventInvokeConfig's configuration.
type lambdaAsyncConfig struct {
	maxRetries int           // default 2
	maxAge     time.Duration // default 6 h
	onFailure  string
	onSuccess  string
	set        bool
}

// Lambda limits and defaults from the Lambda developer guide's quotas
// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const (
	lambdaDefaultTimeout = 3 * time.Second
	lambdaMaxTimeout     = 900 * time.Second
	lambdaDefaultMemory  = 128
	lambdaMaxSyncPayload = 6 << 20
	lambdaMaxAsyncEvent  = 1 << 20
	lambdaAsyncRetries   = 2
	lambdaAsyncMaxAge    = 6 * time.Hour
)

// Lambda returns the region's Lambda.
func (r *Region) Lambda() *Lambda {
	return r.service(lambda.ServiceID, func() any {
		return &Lambda{r: r, functions: make(map[string]*lambdaFunction), mappings: make(map[string]*lambdaESM),
			InvokeLatency: lambdaInvokeOverhead, ColdStart: lambdaColdStart}
	}).(*Lambda)
}

// FunctionARN returns the ARN a function of that name has in the region.
func (l *Lambda) FunctionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", l.r.Name, l.r.world.Account, name)
}

func lambdaInvalid(format string, args ...any) error {
	return &lambdatypes.InvalidParameterValueException{Type: aws.String("User"), Message: aws.String(fmt.Sprintf(format, args...))}
}

func lambdaNotFound(arn string) error {
	return &lambdatypes.ResourceNotFoundException{Type: aws.String("User"), Message: aws.String("Function not found: " + arn)}
}

// functionName resolves a function name, ARN or partial ARN
// (ACCOUNT:function:NAME), with an optional $LATEST qualifier, to a name.
func (l *Lambda) functionName(ref, qualifier string) (string, error) {
	name := ref
	parts := strings.Split(ref, ":")
	switch {
	case strings.HasPrefix(ref, "arn:"):
		if len(parts) < 7 || parts[2] != "lambda" || parts[5] != "function" || parts[3] != l.r.Name || parts[4] != l.r.world.Account {
			return "", lambdaNotFound(ref)
		}
		name = parts[6]
		if len(parts) == 8 {
			qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function":
		name = parts[2]
		if len(parts) == 4 {
			qualifier = parts[3]
		}
	case len(parts) == 2:
		name, qualifier = parts[0], parts[1]
	}
	if qualifier != "" && qualifier != "$LATEST" {
		return "", lambdaNotFound(l.FunctionARN(name) + ":" + qualifier)
	}
	return name, nil
}

// tagged reports whether the function a reference names has tags, for
// the authorization of GetFunction.
func (l *Lambda) tagged(ref string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(ref, "")
	return err == nil && len(fn.tags) > 0
}

// function finds a function; l.mu must be held.
func (l *Lambda) function(ref, qualifier string) (*lambdaFunction, error) {
	name, err := l.functionName(ref, qualifier)
	if err != nil {
		return nil, err
	}
	fn, ok := l.functions[name]
	if !ok {
		return nil, lambdaNotFound(l.FunctionARN(name))
	}
	return fn, nil
}

func lambdaCheckName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(c rune) bool {
		return !(c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
	}) {
		return lambdaInvalid("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length between 1 and 64", name)
	}
	return nil
}

// lambdaApplyConfig validates and applies the settable configuration
// shared by CreateFunction and UpdateFunctionConfiguration.
func lambdaApplyConfig(cfg *LambdaFunction, role *string, env *lambdatypes.Environment, timeout, memory *int32) error {
	if role != nil {
		if _, _, ok := parseRoleARN(*role); !ok {
			return apiErr("ValidationException", "1 validation error detected: Value '%s' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+", *role)
		}
		cfg.Role = *role
	}
	if timeout != nil {
		if *timeout < 1 || time.Duration(*timeout)*time.Second > lambdaMaxTimeout {
			return lambdaInvalid("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900", *timeout)
		}
		cfg.Timeout = time.Duration(*timeout) * time.Second
	}
	if memory != nil {
		if *memory < 128 || *memory > 10240 {
			return lambdaInvalid("'MemorySize' value failed to satisfy constraint: Member must have value between 128 and 10240")
		}
		cfg.MemorySize = *memory
	}
	if env != nil {
		cfg.Environment = maps.Clone(env.Variables)
		for k := range cfg.Environment {
			switch k {
			case "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN":
				// Reserved: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
				return lambdaInvalid("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", k)
			}
		}
	}
	return nil
}

// CreateFunction creates a function, Active at once. Code is not read: the
// handler comes from World.SetLambdaCode.
func (l *Lambda) CreateFunction(ctx context.Context, in *lambda.CreateFunctionInput, optFns ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error) {
	const op = "CreateFunction"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.FunctionName)
	if err := lambdaCheckName(name); err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	if in.Role == nil {
		return nil, opErr(lambda.ServiceID, op, lambdaInvalid("The role defined for the function cannot be assumed by Lambda."))
	}
	cfg := LambdaFunction{Name: name, ARN: l.FunctionARN(name), Region: l.r.Name, Handler: aws.ToString(in.Handler), Runtime: string(in.Runtime),
		Timeout: lambdaDefaultTimeout, MemorySize: lambdaDefaultMemory}
	if err := lambdaApplyConfig(&cfg, in.Role, in.Environment, in.Timeout, in.MemorySize); err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.functions[name]; ok {
		return nil, opErr(lambda.ServiceID, op, &lambdatypes.ResourceConflictException{Type: aws.String("User"), Message: aws.String("Function already exist: " + name)})
	}
	fn := &lambdaFunction{cfg: cfg, description: aws.ToString(in.Description), tags: maps.Clone(in.Tags), modified: l.r.world.Clock.Now(), revision: 1}
	if in.DeadLetterConfig != nil {
		fn.dlqARN = aws.ToString(in.DeadLetterConfig.TargetArn)
	}
	l.functions[name] = fn
	out := fn.configuration()
	return &lambda.CreateFunctionOutput{
		FunctionName: out.FunctionName, FunctionArn: out.FunctionArn, Role: out.Role, Handler: out.Handler, Runtime: out.Runtime,
		Timeout: out.Timeout, MemorySize: out.MemorySize, Environment: out.Environment, Description: out.Description,
		LastModified: out.LastModified, RevisionId: out.RevisionId, Version: out.Version, State: out.State,
		LastUpdateStatus: out.LastUpdateStatus, PackageType: out.PackageType, DeadLetterConfig: out.DeadLetterConfig,
	}, nil
}

// configuration renders the function as the API reports it.
func (fn *lambdaFunction) configuration() *lambdatypes.FunctionConfiguration {
	c := &lambdatypes.FunctionConfiguration{
		FunctionName: aws.String(fn.cfg.Name), FunctionArn: aws.String(fn.cfg.ARN), Role: aws.String(fn.cfg.Role),
		Handler: aws.String(fn.cfg.Handler), Runtime: lambdatypes.Runtime(fn.cfg.Runtime),
		Timeout: aws.Int32(int32(fn.cfg.Timeout / time.Second)), MemorySize: aws.Int32(fn.cfg.MemorySize),
		Description: aws.String(fn.description), LastModified: aws.String(fn.modified.UTC().Format("2006-01-02T15:04:05.000+0000")),
		RevisionId: aws.String(fmt.Sprintf("00000000-0000-4000-8000-%012d", fn.revision)), Version: aws.String("$LATEST"),
		State: lambdatypes.StateActive, LastUpdateStatus: lambdatypes.LastUpdateStatusSuccessful, PackageType: lambdatypes.PackageTypeZip,
	}
	if fn.cfg.Environment != nil {
		c.Environment = &lambdatypes.EnvironmentResponse{Variables: maps.Clone(fn.cfg.Environment)}
	}
	if fn.dlqARN != "" {
		c.DeadLetterConfig = &lambdatypes.DeadLetterConfig{TargetArn: aws.String(fn.dlqARN)}
	}
	return c
}

// GetFunction returns a function's configuration, reserved concurrency and
// tags.
func (l *Lambda) GetFunction(ctx context.Context, in *lambda.GetFunctionInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	const op = "GetFunction"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), aws.ToString(in.Qualifier))
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	out := &lambda.GetFunctionOutput{Configuration: fn.configuration(), Tags: maps.Clone(fn.tags),
		Code: &lambdatypes.FunctionCodeLocation{RepositoryType: aws.String("S3")}}
	if fn.cfg.ReservedConcurrentExecutions != nil {
		out.Concurrency = &lambdatypes.Concurrency{ReservedConcurrentExecutions: aws.Int32(*fn.cfg.ReservedConcurrentExecutions)}
	}
	return out, nil
}

// GetFunctionConfiguration returns a function's configuration.
func (l *Lambda) GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	const op = "GetFunctionConfiguration"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), aws.ToString(in.Qualifier))
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	c := fn.configuration()
	return &lambda.GetFunctionConfigurationOutput{
		FunctionName: c.FunctionName, FunctionArn: c.FunctionArn, Role: c.Role, Handler: c.Handler, Runtime: c.Runtime,
		Timeout: c.Timeout, MemorySize: c.MemorySize, Environment: c.Environment, Description: c.Description,
		LastModified: c.LastModified, RevisionId: c.RevisionId, Version: c.Version, State: c.State,
		LastUpdateStatus: c.LastUpdateStatus, PackageType: c.PackageType, DeadLetterConfig: c.DeadLetterConfig,
	}, nil
}

// UpdateFunctionConfiguration changes the fields it is given. The code is
// resolved again at the next invocation, in new execution environments.
func (l *Lambda) UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	const op = "UpdateFunctionConfiguration"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), "")
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	if in.RevisionId != nil && *in.RevisionId != aws.ToString(fn.configuration().RevisionId) {
		return nil, opErr(lambda.ServiceID, op, &lambdatypes.PreconditionFailedException{Type: aws.String("User"), Message: aws.String("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")})
	}
	cfg := fn.cfg
	if err := lambdaApplyConfig(&cfg, in.Role, in.Environment, in.Timeout, in.MemorySize); err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	if in.Handler != nil {
		cfg.Handler = *in.Handler
	}
	if in.Runtime != "" {
		cfg.Runtime = string(in.Runtime)
	}
	if in.Description != nil {
		fn.description = *in.Description
	}
	if in.DeadLetterConfig != nil {
		fn.dlqARN = aws.ToString(in.DeadLetterConfig.TargetArn)
	}
	fn.cfg = cfg
	fn.reconfigured(l.r.world.Clock.Now())
	c := fn.configuration()
	return &lambda.UpdateFunctionConfigurationOutput{
		FunctionName: c.FunctionName, FunctionArn: c.FunctionArn, Role: c.Role, Handler: c.Handler, Runtime: c.Runtime,
		Timeout: c.Timeout, MemorySize: c.MemorySize, Environment: c.Environment, Description: c.Description,
		LastModified: c.LastModified, RevisionId: c.RevisionId, Version: c.Version, State: c.State,
		LastUpdateStatus: c.LastUpdateStatus, PackageType: c.PackageType, DeadLetterConfig: c.DeadLetterConfig,
	}, nil
}

// reconfigured marks the code for resolving again and the warm
// environments gone.
func (fn *lambdaFunction) reconfigured(now time.Time) {
	fn.resolved, fn.handler, fn.resolveErr, fn.warm = false, nil, nil, 0
	fn.modified = now
	fn.revision++
}

// DeleteFunction deletes a function. Its event-source mappings stay, as in
// Lambda, and fail their invocations until deleted.
func (l *Lambda) DeleteFunction(ctx context.Context, in *lambda.DeleteFunctionInput, optFns ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error) {
	const op = "DeleteFunction"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), aws.ToString(in.Qualifier))
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	delete(l.functions, fn.cfg.Name)
	return &lambda.DeleteFunctionOutput{}, nil
}

// PutFunctionConcurrency reserves concurrency for a function: invocations
// beyond it are throttled; 0 throttles every invocation.
func (l *Lambda) PutFunctionConcurrency(ctx context.Context, in *lambda.PutFunctionConcurrencyInput, optFns ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error) {
	const op = "PutFunctionConcurrency"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.ReservedConcurrentExecutions == nil || *in.ReservedConcurrentExecutions < 0 {
		return nil, opErr(lambda.ServiceID, op, lambdaInvalid("1 validation error detected: Value at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), "")
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	n := *in.ReservedConcurrentExecutions
	fn.cfg.ReservedConcurrentExecutions = &n
	return &lambda.PutFunctionConcurrencyOutput{ReservedConcurrentExecutions: aws.Int32(n)}, nil
}

// DeleteFunctionConcurrency returns a function to unreserved concurrency.
func (l *Lambda) DeleteFunctionConcurrency(ctx context.Context, in *lambda.DeleteFunctionConcurrencyInput, optFns ...func(*lambda.Options)) (*lambda.DeleteFunctionConcurrencyOutput, error) {
	const op = "DeleteFunctionConcurrency"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), "")
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	fn.cfg.ReservedConcurrentExecutions = nil
	return &lambda.DeleteFunctionConcurrencyOutput{}, nil
}

// PutFunctionEventInvokeConfig configures asynchronous invocation: retries
// (0-2), the maximum event age (60 s - 6 h) and the destinations.
func (l *Lambda) PutFunctionEventInvokeConfig(ctx context.Context, in *lambda.PutFunctionEventInvokeConfigInput, optFns ...func(*lambda.Options)) (*lambda.PutFunctionEventInvokeConfigOutput, error) {
	const op = "PutFunctionEventInvokeConfig"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	cfg := lambdaAsyncConfig{maxRetries: lambdaAsyncRetries, maxAge: lambdaAsyncMaxAge, set: true}
	if in.MaximumRetryAttempts != nil {
		if *in.MaximumRetryAttempts < 0 || *in.MaximumRetryAttempts > 2 {
			return nil, opErr(lambda.ServiceID, op, lambdaInvalid("1 validation error detected: Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2", *in.MaximumRetryAttempts))
		}
		cfg.maxRetries = int(*in.MaximumRetryAttempts)
	}
	if in.MaximumEventAgeInSeconds != nil {
		if *in.MaximumEventAgeInSeconds < 60 || *in.MaximumEventAgeInSeconds > 21600 {
			return nil, opErr(lambda.ServiceID, op, lambdaInvalid("1 validation error detected: Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 21600", *in.MaximumEventAgeInSeconds))
		}
		cfg.maxAge = time.Duration(*in.MaximumEventAgeInSeconds) * time.Second
	}
	if d := in.DestinationConfig; d != nil {
		if d.OnFailure != nil {
			cfg.onFailure = aws.ToString(d.OnFailure.Destination)
		}
		if d.OnSuccess != nil {
			cfg.onSuccess = aws.ToString(d.OnSuccess.Destination)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), aws.ToString(in.Qualifier))
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	fn.async = cfg
	now := l.r.world.Clock.Now()
	return &lambda.PutFunctionEventInvokeConfigOutput{FunctionArn: aws.String(fn.cfg.ARN + ":$LATEST"), LastModified: &now,
		MaximumRetryAttempts: aws.Int32(int32(cfg.maxRetries)), MaximumEventAgeInSeconds: aws.Int32(int32(cfg.maxAge / time.Second)),
		DestinationConfig: in.DestinationConfig}, nil
}

// DeleteFunctionEventInvokeConfig removes a function's asynchronous
// invocation configuration: the defaults apply again (two retries, six
// hours, no destinations). A function without one is ResourceNotFound.
func (l *Lambda) DeleteFunctionEventInvokeConfig(ctx context.Context, in *lambda.DeleteFunctionEventInvokeConfigInput, optFns ...func(*lambda.Options)) (*lambda.DeleteFunctionEventInvokeConfigOutput, error) {
	const op = "DeleteFunctionEventInvokeConfig"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, err := l.function(aws.ToString(in.FunctionName), aws.ToString(in.Qualifier))
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	if !fn.async.set {
		return nil, opErr(lambda.ServiceID, op, &lambdatypes.ResourceNotFoundException{Message: aws.String("The function " + fn.cfg.ARN + " doesn't have an EventInvokeConfig")})
	}
	fn.async = lambdaAsyncConfig{}
	return &lambda.DeleteFunctionEventInvokeConfigOutput{}, nil
}

// Invoke invokes a function: RequestResponse (the default) runs it and
// returns its result, a function error as FunctionError "Unhandled" with
// the error payload; Event queues it for asynchronous invocation (202);
// DryRun only checks (204). A throttled synchronous invocation fails with
// TooManyRequestsException.
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
func (l *Lambda) Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	const op = "Invoke"
	if err := l.r.call(ctx, lambda.ServiceID, op, in); err != nil {
		return nil, err
	}
	ref := aws.ToString(in.FunctionName)
	l.mu.Lock()
	fn, err := l.function(ref, aws.ToString(in.Qualifier))
	l.mu.Unlock()
	if err != nil {
		return nil, opErr(lambda.ServiceID, op, err)
	}
	name := fn.cfg.Name
	switch in.InvocationType {
	case "", lambdatypes.InvocationTypeRequestResponse:
		if len(in.Payload) > lambdaMaxSyncPayload {
			return nil, opErr(lambda.ServiceID, op, &lambdatypes.RequestTooLargeException{Type: aws.String("User"), Message: aws.String(fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", lambdaMaxSyncPayload))})
		}
		res := l.invoke(name, in.Payload)
		if res.err != nil {
			return nil, opErr(lambda.ServiceID, op, res.err)
		}
		out := &lambda.InvokeOutput{StatusCode: 200, Payload: res.payload, ExecutedVersion: aws.String("$LATEST")}
		if res.funcErr != "" {
			out.FunctionError = aws.String(res.funcErr)
		}
		return out, nil
	case lambdatypes.InvocationTypeEvent:
		if len(in.Payload) > lambdaMaxAsyncEvent {
			return nil, opErr(lambda.ServiceID, op, &lambdatypes.RequestTooLargeException{Type: aws.String("User"), Message: aws.String(fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", lambdaMaxAsyncEvent))})
		}
		l.invokeAsync(name, in.Payload)
		return &lambda.InvokeOutput{StatusCode: 202}, nil
	case lambdatypes.InvocationTypeDryRun:
		return &lambda.InvokeOutput{StatusCode: 204}, nil
	}
	return nil, opErr(lambda.ServiceID, op, lambdaInvalid("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", in.InvocationType))
}

// lambdaResult is one invocation's outcome.
type lambdaResult struct {
	payload   []byte
	funcErr   string // "Unhandled" for a function error
	requestID string
	err       error // the invocation did not run: function gone, throttled
	throttled bool
}

// lambdaContext is a handler's context: cancelled at the function's timeout
// on the world's clock, with that deadline, and DeadlineExceeded once it
// passed (context.WithDeadline would time it on the wall clock).
type lambdaContext struct {
	context.Context
	deadline time.Time
	timedOut atomic.Bool
}

func (c *lambdaContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *lambdaContext) Err() error {
	err := c.Context.Err()
	if err != nil && c.timedOut.Load() {
		return context.DeadlineExceeded
	}
	return err
}

// acquire takes an execution environment for an invocation: it reports the
// throttling error when the reserved concurrency is used up, and whether
// the environment is new (a cold start).
func (l *Lambda) acquire(name string) (fn *lambdaFunction, cfg LambdaFunction, cold bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, ok := l.functions[name]
	if !ok {
		return nil, LambdaFunction{}, false, lambdaNotFound(l.FunctionARN(name))
	}
	if rc := fn.cfg.ReservedConcurrentExecutions; rc != nil && fn.inflight >= int(*rc) {
		return nil, LambdaFunction{}, false, &lambdatypes.TooManyRequestsException{Type: aws.String("User"),
			Reason:  lambdatypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded,
			Message: aws.String("Rate Exceeded.")}
	}
	fn.inflight++
	if fn.warm > 0 {
		fn.warm--
	} else {
		cold = true
	}
	return fn, fn.cfg, cold, nil
}

func (l *Lambda) release(fn *lambdaFunction, warm bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn.inflight--
	if warm {
		fn.warm++
	}
}

// resolve returns the function's handler, resolving it once per
// (re)configuration.
func (l *Lambda) resolve(fn *lambdaFunction, cfg LambdaFunction) (LambdaHandler, error) {
	l.mu.Lock()
	if fn.resolved {
		h, err := fn.handler, fn.resolveErr
		l.mu.Unlock()
		return h, err
	}
	rev := fn.revision
	l.mu.Unlock()
	hk := l.r.hooks()
	hk.mu.Lock()
	resolveFn := hk.lambdaCode
	hk.mu.Unlock()
	var h LambdaHandler
	err := fmt.Errorf("no code for function %s: the embedding program sets it with World.SetLambdaCode", cfg.Name)
	if resolveFn != nil {
		h, err = resolveFn(cfg)
	}
	l.mu.Lock()
	if fn.revision == rev && !fn.resolved {
		fn.resolved, fn.handler, fn.resolveErr = true, h, err
	}
	l.mu.Unlock()
	return h, err
}

// invoke runs one invocation of a function and waits for it (up to the
// function's timeout on the world's clock). It is the common path of
// Invoke, the asynchronous queue and the event-source mappings.
func (l *Lambda) invoke(name string, payload []byte) lambdaResult {
	clk := l.r.world.Clock
	l.mu.Lock()
	l.seq++
	reqID := fmt.Sprintf("%08x-2222-4000-8000-%012x", l.seq, l.seq)
	l.mu.Unlock()
	if len(payload) == 0 {
		payload = []byte("{}") // Lambda delivers an empty payload as an empty object
	}
	fn, cfg, cold, err := l.acquire(name)
	if err != nil {
		var tm *lambdatypes.TooManyRequestsException
		if errors.As(err, &tm) {
			l.metric(name, "Throttles", 1)
		}
		return lambdaResult{err: err, requestID: reqID, throttled: tm != nil}
	}
	h, rerr := l.resolve(fn, cfg)
	bg := context.Background()
	if d := l.InvokeLatency; d > 0 {
		clk.Sleep(bg, d)
	}
	if cold && l.ColdStart > 0 {
		clk.Sleep(bg, l.ColdStart)
	}
	// Duration is the handler's time: Lambda reports the init (cold
	// start) apart and does not bill its own overhead.
	start := clk.Now()
	res := lambdaResult{requestID: reqID}
	warm := true
	if rerr != nil {
		// An init failure: the runtime reports it and the environment is
		// not kept.
		res.funcErr, warm = "Unhandled", false
		res.payload, _ = json.Marshal(messages.InvokeResponse_Error{Message: rerr.Error(), Type: "Runtime.InitError"})
	} else {
		res.payload, res.funcErr, warm = l.runHandler(h, cfg, reqID, payload)
	}
	l.release(fn, warm)
	l.metric(name, "Invocations", 1)
	if res.funcErr != "" {
		l.metric(name, "Errors", 1)
	}
	l.metric(name, "Duration", float64(clk.Now().Sub(start).Milliseconds()))
	return res
}

// runHandler runs the handler in its own goroutine on the clock with the
// function's identity and deadline; the environment is not kept after a
// timeout or a panic.
func (l *Lambda) runHandler(h LambdaHandler, cfg LambdaFunction, reqID string, payload []byte) (out []byte, funcErr string, warm bool) {
	clk := l.r.world.Clock
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	lc := &lambdaContext{Context: base, deadline: clk.Now().Add(cfg.Timeout)}
	ctx := WithRoleSession(lc, cfg.Role, cfg.Name)
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: reqID, InvokedFunctionArn: cfg.ARN})
	type result struct {
		out      []byte
		err      error
		panicked bool
		panicVal any
	}
	res := &result{}
	done := clk.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				res.panicked, res.panicVal = true, p
			}
		}()
		res.out, res.err = h(ctx, payload)
	})
	if err := clk.Await(context.Background(), done, cfg.Timeout); errors.Is(err, clock.ErrTimeout) {
		lc.timedOut.Store(true)
		cancel()
		// The message a runtime reports for a timeout:
		// https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html
		b, _ := json.Marshal(messages.InvokeResponse_Error{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", reqID, cfg.Timeout.Seconds())})
		return b, "Unhandled", false
	}
	switch {
	case res.panicked:
		// aws-lambda-go reports a panic with the panic value's type.
		b, _ := json.Marshal(messages.InvokeResponse_Error{Message: fmt.Sprint(res.panicVal), Type: lambdaErrorType(res.panicVal)})
		return b, "Unhandled", false
	case res.err != nil:
		// aws-lambda-go passes an InvokeResponse_Error through as it is.
		ire, ok := res.err.(messages.InvokeResponse_Error)
		if !ok {
			ire = messages.InvokeResponse_Error{Message: res.err.Error(), Type: lambdaErrorType(res.err)}
		}
		b, _ := json.Marshal(ire)
		return b, "Unhandled", true
	}
	if res.out == nil {
		res.out = []byte("null")
	}
	return res.out, "", true
}

// lambdaErrorType names an error as aws-lambda-go does: its dynamic type's
// name, without package or pointer.
func lambdaErrorType(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// metric publishes one of the AWS/Lambda metrics Lambda publishes per
// function (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
func (l *Lambda) metric(fn, name string, v float64) {
	l.r.CloudWatch().publishServiceMetric("AWS/Lambda", name,
		[]cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String(fn)}}, l.r.world.Clock.Now(), v)
}

// invokeAsync queues an event for asynchronous invocation: Lambda retries a
// function error twice (one minute, then two minutes later) and a throttle
// with backoff from 1 s to 5 min, until the event is older than the
// maximum age; an event that fails every attempt or expires goes to the
// OnFailure destination (or the dead-letter queue). The queue pauses while
// the region is down.
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
func (l *Lambda) invokeAsync(name string, payload []byte) {
	payload = append([]byte(nil), payload...)
	clk := l.r.world.Clock
	queued := clk.Now()
	clk.Go(func() {
		ctx := context.Background()
		attempts, backoff := 0, time.Second
		var last lambdaResult
		for {
			l.mu.Lock()
			fn, ok := l.functions[name]
			var async lambdaAsyncConfig
			var dlq string
			if ok {
				async, dlq = fn.async, fn.dlqARN
			}
			l.mu.Unlock()
			if !ok {
				return // the function was deleted: its queue with it
			}
			if !async.set {
				async.maxRetries, async.maxAge = lambdaAsyncRetries, lambdaAsyncMaxAge
			}
			if clk.Now().Sub(queued) > async.maxAge {
				l.asyncFailed(name, async, dlq, payload, last, attempts, "EventAgeExceeded")
				return
			}
			if l.r.world.Down(l.r.Name) {
				clk.Sleep(ctx, time.Minute)
				continue
			}
			last = l.invoke(name, payload)
			switch {
			case last.throttled:
				clk.Sleep(ctx, backoff)
				backoff = min(2*backoff, 5*time.Minute)
				continue
			case last.err != nil:
				return
			}
			attempts++
			if last.funcErr == "" {
				if async.onSuccess != "" && l.destinationAuthorized(name, async.onSuccess) {
					l.deliverRecord(async.onSuccess, l.asyncRecord(name, payload, last, attempts, "Success"))
				}
				return
			}
			if attempts > async.maxRetries {
				l.asyncFailed(name, async, dlq, payload, last, attempts, "RetriesExhausted")
				return
			}
			clk.Sleep(ctx, time.Duration(attempts)*time.Minute)
		}
	})
}

// asyncFailed sends a discarded event to the OnFailure destination, else to
// the dead-letter queue (the event itself, as its message body).
func (l *Lambda) asyncFailed(name string, async lambdaAsyncConfig, dlq string, payload []byte, last lambdaResult, attempts int, condition string) {
	switch {
	case async.onFailure != "":
		if l.destinationAuthorized(name, async.onFailure) {
			l.deliverRecord(async.onFailure, l.asyncRecord(name, payload, last, attempts, condition))
		}
	case dlq != "":
		if l.destinationAuthorized(name, dlq) {
			l.deliverTo(dlq, string(payload))
		}
	}
}

// destinationAuthorized reports whether the function's execution role may
// send to an asynchronous invocation's destination or dead-letter queue:
// Lambda sends with that role, which needs sqs:SendMessage, sns:Publish,
// lambda:InvokeFunction or events:PutEvents on it
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
// A denial is recorded (Denied) and the record is lost, as in AWS.
func (l *Lambda) destinationAuthorized(name, dest string) bool {
	l.mu.Lock()
	fn, ok := l.functions[name]
	role := ""
	if ok {
		role = fn.cfg.Role
	}
	l.mu.Unlock()
	f := strings.Split(dest, ":")
	if len(f) < 6 {
		return false
	}
	action, op := "", ""
	switch f[2] {
	case "sqs":
		action, op = "sqs:SendMessage", "SendMessage"
	case "sns":
		action, op = "sns:Publish", "Publish"
	case "lambda":
		action, op = "lambda:InvokeFunction", "Invoke"
	case "events":
		action, op = "events:PutEvents", "PutEvents"
	default:
		return false
	}
	err := l.r.world.serviceAuthorize(serviceCall{Region: f[3], Role: role, Via: "lambda.amazonaws.com", Service: lambda.ServiceID,
		Operation: "AsyncDestination" + op}, iamCheck{action: action, resource: dest})
	return err == nil
}

// asyncRecord is the invocation record Lambda sends to a destination
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
func (l *Lambda) asyncRecord(name string, payload []byte, last lambdaResult, attempts int, condition string) map[string]any {
	resp := map[string]any{"statusCode": 200, "executedVersion": "$LATEST"}
	if last.funcErr != "" {
		resp["functionError"] = last.funcErr
	}
	rec := map[string]any{
		"version": "1.0", "timestamp": l.r.world.Clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"requestContext": map[string]any{"requestId": last.requestID, "functionArn": l.FunctionARN(name) + ":$LATEST",
			"condition": condition, "approximateInvokeCount": attempts},
		"requestPayload":  lambdaJSONOrString(payload),
		"responseContext": resp,
	}
	if last.payload != nil {
		rec["responsePayload"] = lambdaJSONOrString(last.payload)
	}
	return rec
}

func lambdaJSONOrString(b []byte) any {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}

// deliverRecord sends a destination record as JSON.
func (l *Lambda) deliverRecord(arn string, rec map[string]any) {
	b, _ := json.Marshal(rec)
	l.deliverTo(arn, string(b))
}

// deliverTo hands a body to a destination: an SQS queue or SNS topic (any
// sink in the world), or a Lambda function, invoked asynchronously.
func (l *Lambda) deliverTo(arn, body string) {
	f := strings.Split(arn, ":")
	if len(f) < 6 {
		return
	}
	if f[2] == "lambda" {
		target := l.r.world.Region(f[3]).Lambda()
		if name, err := target.functionName(arn, ""); err == nil {
			target.invokeAsync(name, []byte(body))
		}
		return
	}
	l.r.world.deliver(f[3], arn, body)
}
