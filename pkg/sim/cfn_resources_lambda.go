package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// The providers of Lambda functions, their permissions and event-source
// mappings. A function's code is not read from its asset: the embedding
// program supplies it (World.SetLambdaCode) from the function's name and
// configuration, so the environment, role, timeout and memory the
// template sets are the ones the handler runs with.

// A function is Active within seconds of creation; an event-source
// mapping is Enabled within about ten seconds (docs/aws-facts.md,
// "CloudFormation resource times").
const (
	cfnFunction = 5 * time.Second
	cfnMapping  = 10 * time.Second
)

// cfnFunctionConfig turns AWS::Lambda::Function properties into the
// configuration CreateFunction and UpdateFunctionConfiguration take.
func cfnFunctionConfig(props map[string]any) (role string, env *lambdatypes.Environment, timeout, memory *int32, err error) {
	role = cfnString(props, "Role")
	if e, ok := props["Environment"].(map[string]any); ok {
		env = &lambdatypes.Environment{Variables: map[string]string{}}
		vars, _ := e["Variables"].(map[string]any)
		for k, v := range vars {
			env.Variables[k] = cfnScalarString(v)
		}
	}
	if n, ok := cfnInt(props["Timeout"]); ok {
		timeout = aws.Int32(int32(n))
	}
	if n, ok := cfnInt(props["MemorySize"]); ok {
		memory = aws.Int32(int32(n))
	}
	for _, a := range cfnAnyList(props["Architectures"]) {
		if s := cfnScalarString(a); s != "arm64" && s != "x86_64" {
			return "", nil, nil, nil, fmt.Errorf("architecture %s is not a Lambda architecture", s)
		}
	}
	return role, env, timeout, memory, nil
}

func init() {
	registerCFN("AWS::Lambda::Function", &cfnProvider{
		properties: []string{"FunctionName", "Role", "Handler", "Runtime", "Code", "Environment", "Timeout", "MemorySize", "Architectures",
			"Description", "LoggingConfig", "ReservedConcurrentExecutions", "DeadLetterConfig", "Tags"},
		required: []string{"Role", "Code"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "FunctionName")
			if name == "" {
				name = op.physicalName(r.id, 64)
			}
			role, env, timeout, memory, err := cfnFunctionConfig(r.props)
			if err != nil {
				return err
			}
			in := &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role), Handler: aws.String(cfnString(r.props, "Handler")),
				Runtime: lambdatypes.Runtime(cfnString(r.props, "Runtime")), Environment: env, Timeout: timeout, MemorySize: memory,
				Description: aws.String(cfnString(r.props, "Description")), Tags: cfnTags(r.props["Tags"]), Code: &lambdatypes.FunctionCode{}}
			if d, ok := r.props["DeadLetterConfig"].(map[string]any); ok {
				in.DeadLetterConfig = &lambdatypes.DeadLetterConfig{TargetArn: aws.String(cfnScalarString(d["TargetArn"]))}
			}
			l := op.r.Lambda()
			out, err := l.CreateFunction(ctx, in)
			if err != nil {
				return err
			}
			if n, ok := cfnInt(r.props["ReservedConcurrentExecutions"]); ok {
				if _, err := l.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(int32(n))}); err != nil {
					return err
				}
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": aws.ToString(out.FunctionArn)}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			role, env, timeout, memory, err := cfnFunctionConfig(r.props)
			if err != nil {
				return err
			}
			l := op.r.Lambda()
			if env == nil {
				env = &lambdatypes.Environment{Variables: map[string]string{}}
			}
			if _, err := l.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(r.physicalID),
				Role: aws.String(role), Environment: env, Timeout: timeout, MemorySize: memory}); err != nil {
				return err
			}
			if n, ok := cfnInt(r.props["ReservedConcurrentExecutions"]); ok {
				_, err = l.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(r.physicalID), ReservedConcurrentExecutions: aws.Int32(int32(n))})
			} else {
				_, err = l.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(r.physicalID)})
			}
			return err
		},
		replaceOn:    []string{"FunctionName"},
		nameProperty: "FunctionName",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Lambda().DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnFunction, updateTime: cfnFunction, deleteTime: cfnQuick,
	})

	// Lambda::Permission is the function's resource policy statement that
	// lets a service (the ALB, an EventBridge rule) invoke it. The
	// simulator records it; invocations by services are not yet checked
	// against it.
	registerCFN("AWS::Lambda::Permission", &cfnProvider{
		properties: []string{"Action", "FunctionName", "Principal", "SourceArn", "SourceAccount"},
		required:   []string{"Action", "FunctionName", "Principal"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			r.physicalID = op.physicalName(r.id, 128)
			r.ref = r.physicalID
			return nil
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: cfnQuick, deleteTime: cfnQuick,
	})

	// Lambda::EventInvokeConfig is a function's asynchronous invocation
	// configuration: retries, maximum event age and destinations
	// (PutFunctionEventInvokeConfig), removed with the resource.
	registerCFN("AWS::Lambda::EventInvokeConfig", &cfnProvider{
		properties: []string{"FunctionName", "Qualifier", "MaximumEventAgeInSeconds", "MaximumRetryAttempts", "DestinationConfig"},
		required:   []string{"FunctionName", "Qualifier"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			if err := cfnPutEventInvokeConfig(ctx, op, r); err != nil {
				return err
			}
			r.physicalID = cfnString(r.props, "FunctionName") + ":" + cfnString(r.props, "Qualifier")
			r.ref = r.physicalID
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			return cfnPutEventInvokeConfig(ctx, op, r)
		},
		replaceOn: []string{"FunctionName", "Qualifier"},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Lambda().DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{
				FunctionName: aws.String(cfnString(r.props, "FunctionName")), Qualifier: aws.String(cfnString(r.props, "Qualifier"))})
			var nf *lambdatypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return nil // the function went first
			}
			return err
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})

	registerCFN("AWS::Lambda::EventSourceMapping", &cfnProvider{
		properties: []string{"FunctionName", "EventSourceArn", "BatchSize", "BisectBatchOnFunctionError", "DestinationConfig", "Enabled",
			"FunctionResponseTypes", "MaximumBatchingWindowInSeconds", "MaximumRecordAgeInSeconds", "MaximumRetryAttempts",
			"ParallelizationFactor", "StartingPosition", "Tags"},
		required: []string{"FunctionName"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			in := &lambda.CreateEventSourceMappingInput{}
			if err := cfnInto(cfnWithout(r.props, "Tags"), in); err != nil {
				return err
			}
			in.Tags = cfnTags(r.props["Tags"])
			out, err := op.r.Lambda().CreateEventSourceMapping(ctx, in)
			if err != nil {
				return err
			}
			id := aws.ToString(out.UUID)
			r.physicalID, r.ref = id, id
			r.attrs = map[string]any{"Id": id, "EventSourceMappingArn": aws.ToString(out.EventSourceMappingArn)}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			in := &lambda.UpdateEventSourceMappingInput{}
			if err := cfnInto(cfnWithout(r.props, "Tags", "EventSourceArn", "StartingPosition"), in); err != nil {
				return err
			}
			in.UUID = aws.String(r.physicalID)
			if _, ok := r.props["Enabled"]; !ok {
				in.Enabled = aws.Bool(true)
			}
			_, err := op.r.Lambda().UpdateEventSourceMapping(ctx, in)
			return err
		},
		replaceOn: []string{"EventSourceArn", "StartingPosition"},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Lambda().DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnMapping, updateTime: cfnMapping, deleteTime: cfnMapping,
	})
}

// cfnWithout returns props without the given keys.
func cfnWithout(props map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(props))
	for k, v := range props {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// cfnPutEventInvokeConfig applies an EventInvokeConfig's properties.
func cfnPutEventInvokeConfig(ctx context.Context, op *cfnOp, r *cfnLive) error {
	in := &lambda.PutFunctionEventInvokeConfigInput{}
	if err := cfnInto(r.props, in); err != nil {
		return err
	}
	_, err := op.r.Lambda().PutFunctionEventInvokeConfig(ctx, in)
	return err
}
