// Package states is an Amazon States Language engine: it parses and
// validates state machine definitions (JSONPath query language) and runs
// them locally exactly as AWS Step Functions does — in tests, in a drill, on
// a laptop.
//
// Parse once, run many executions concurrently:
//
//	m, err := states.Parse(definition)        // *states.ValidationError lists every problem
//	reg := states.NewRegistry()
//	reg.HandleLambda("plan", planHandler)     // lambda:invoke and Lambda ARNs, by function name
//	reg.HandleSDK("dynamodb", "putItem", put) // arn:aws:states:::aws-sdk:dynamodb:putItem
//	e := states.New(states.Options{Clock: clock.NewVirtual(start), Registry: reg})
//	x, err := e.Start(ctx, m, "run-1", input)
//	res, err := x.Wait(ctx)                   // Status, Output, Error, Cause
//	events := x.History()                     // GetExecutionHistory-shaped events
//
// # Semantics
//
// Every state type; InputPath, Parameters (".$" keys, paths, the context
// object "$$", intrinsic functions), ResultSelector, ResultPath (null too)
// and OutputPath in the specified order; Choice rules with every operator;
// Retry (IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds,
// JitterStrategy) and Catch; the predefined States.* errors; task and
// heartbeat timeouts; execution timeouts; Parallel; inline and Distributed
// Map; the
// request-response, .sync, .sync:2 and .waitForTaskToken patterns; the
// 256 KiB payload and 25,000-event history limits.
//
// Where the specification and AWS differ, the engine follows AWS, and the
// code says so: a path that selects nothing is States.Runtime (not
// States.ParameterPathFailure) and fails the execution whatever the
// catchers; States.ALL does not match States.Runtime nor
// States.DataLimitExceeded; a Choice Variable that selects nothing fails the
// execution; a failed Parallel branch or Map iteration fails the state with
// its own error name.
//
// One choice goes beyond AWS: ToleratedFailureCount, ToleratedFailurePercentage and their
// …Path forms are honoured on an inline Map too, although AWS documents them for Distributed
// Map only (which this engine also runs inline). A batch tested locally can then rely on them;
// Warnings reports each such use so a definition bound for the cloud can be checked.
//
// # Distributed Map
//
// A Map whose ItemProcessor.ProcessorConfig is {"Mode": "DISTRIBUTED",
// "ExecutionType": "STANDARD" | "EXPRESS"} runs each item, or each batch of
// items (ItemBatcher: MaxItemsPerBatch, MaxInputBytesPerBatch, their …Path
// forms, BatchInput; a child then gets {"BatchInput": …, "Items": […]}), as a
// child workflow execution of its own, with its own history and limits: a
// STANDARD child has the 25,000-event limit, an EXPRESS child keeps no
// limit on events but runs five minutes at most. The parent's history
// records the Map Run (MapStateStarted, MapRunStarted with its ARN,
// MapRunSucceeded, MapRunFailed, MapRunAborted), not the children's
// events; a child's history is dropped when it ends, only its outcome is
// kept, so a Map Run over 100,000 items holds the histories of the
// children running, at most MaxConcurrency (default and limit 10,000) of
// them. Children run on workers started with the engine's clock, so
// virtual time stays consistent; they are not listed by Engine.Execution.
//
// ItemReader reads the items from S3 through Options.ObjectStore:
// arn:aws:states:::s3:listObjectsV2 (Bucket, Prefix: one item per object,
// {Etag, Key, LastModified, Size, StorageClass}) or arn:aws:states:::s3:getObject
// (Bucket, Key) with ReaderConfig.InputType JSON, JSONL, CSV
// (CSVHeaderLocation FIRST_ROW or GIVEN with CSVHeaders, CSVDelimiter) or
// MANIFEST (an S3 Inventory manifest.json and its CSV data files);
// ReaderConfig.MaxItems or MaxItemsPath limits them. ResultWriter
// (arn:aws:states:::s3:putObject, Bucket, Prefix) writes
// Prefix/<Map Run id>/manifest.json and SUCCEEDED_0.json, FAILED_0.json,
// PENDING_0.json, and the state's result becomes {MapRunArn,
// ResultWriterDetails: {Bucket, Key}}. ToleratedFailureCount and
// ToleratedFailurePercentage (and …Path) default to zero; past them the Map
// Run fails with States.ExceedToleratedFailureThreshold. Reading and writing
// fail with States.ItemReaderFailed and States.ResultWriterFailed, their
// causes naming the s3:// location. DirStore serves S3 from a directory
// (pendulum states run --s3 DIR); the local installation serves it from the
// simulator's S3 as the execution's role, and asks Options.Authorize for
// states:StartExecution before a Map Run starts its children.
//
// # Tasks
//
// Tasks dispatch through TaskHandler, looked up in a Registry by state name
// (stubs), by Resource, then through the built-in integrations:
// arn:aws:states:::lambda:invoke and Lambda function ARNs (LambdaHandler, the
// result shaped like the integration's: Payload, StatusCode,
// ExecutedVersion…), arn:aws:states:::aws-sdk:<service>:<action>
// (SDKHandler) and arn:aws:states:::states:startExecution (a nested
// execution of a machine registered with Engine.Register). A handler's
// error is reported under ErrorName(err): the Go type name as aws-lambda-go
// reports it ("errorString", "wrapError", "TransientError"), or the name an
// *Error or a Namer gives.
//
// In AWS a task's service call is made with the state machine's execution
// role. Engine.RegisterMachine gives a machine its own role (Register uses
// Options.RoleARN); every handler learns the role and machine of the task
// it serves, from Task.RoleARN and Task.StateMachineARN or, for Lambda and
// SDK handlers, from TaskInfoFrom(ctx), so a handler calling a simulator
// that enforces IAM can act as that role. Map iterations and Parallel
// branches run as their execution's machine; an execution started by
// states:startExecution runs as its own.
//
// Package github.com/pendulum-dr/pendulum/pkg/integration turns any client
// with aws-sdk-go-v2 signatures (the real client, or a simulator's) into
// SDKHandlers, decoding Parameters as the integration does. SFN serves the engine behind
// the Step Functions client's signatures (StartExecution, DescribeExecution,
// StopExecution, SendTaskSuccess/Failure/Heartbeat, GetExecutionHistory), so
// code written for *sfn.Client runs against it unchanged.
//
// # Time
//
// The engine reads time only from Options.Clock and starts its goroutines
// with it, so on a clock.Virtual a Wait of a day, retry backoff and
// timeouts take no wall time while the history's timestamps advance as they
// would in the cloud.
package states
