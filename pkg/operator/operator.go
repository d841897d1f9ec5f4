// Package operator is the operator's side of Pendulum's DR workflows: the
// commands `pendulum status`, `failover`, `failback`, `drill start`,
// `approve`, `deny` and `report` (cmd/pendulum), written against small
// interfaces of the AWS SDK clients they call, so the very same code runs
// against AWS (cmd/pendulum builds the clients from the SDK's default
// configuration) and against a local installation deployed from the same
// cloud assembly (pendulum-drill local, and the tests).
//
// The installation's names come from pkg/topology and its regions from
// the cloud assembly (assembly.Topology); the workflows' inputs are
// validated by drapi.ParseWorkflowInput before anything is started, and the
// control record is read with drapi's codec: nothing here spells a name a
// second time.
package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// StepFunctions is the part of B's Step Functions the commands use.
type StepFunctions interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	DescribeStateMachineForExecution(ctx context.Context, in *sfn.DescribeStateMachineForExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineForExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// DynamoDB is the part of B's DynamoDB the commands use: the control record.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Backup is the part of B's AWS Backup the commands use.
type Backup interface {
	ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, optFns ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error)
}

// CloudWatch is the part of B's CloudWatch the commands use.
type CloudWatch interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error)
	ListMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error)
}

// GlobalAccelerator is the part of the Global Accelerator API (us-west-2)
// the commands use.
type GlobalAccelerator interface {
	ListAccelerators(ctx context.Context, in *globalaccelerator.ListAcceleratorsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.ListAcceleratorsOutput, error)
	ListListeners(ctx context.Context, in *globalaccelerator.ListListenersInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.ListListenersOutput, error)
	ListEndpointGroups(ctx context.Context, in *globalaccelerator.ListEndpointGroupsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.ListEndpointGroupsOutput, error)
}

// CloudFormation is the part of B's CloudFormation the commands use.
type CloudFormation interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// Clients are the installation's APIs, each bound to its region: B's for
// everything but Global Accelerator, whose API is us-west-2's
// (topology.GlobalRegion).
type Clients struct {
	SFN            StepFunctions
	DynamoDB       DynamoDB
	Backup         Backup
	CloudWatch     CloudWatch
	CloudFormation CloudFormation
	GA             GlobalAccelerator
}

// Clock is the time the commands wait on: the wall clock against AWS, the
// installation's virtual clock locally.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// Session is one connection to an installation.
type Session struct {
	Names   topology.Names
	Regions topology.Regions
	Clients Clients
	Clock   Clock
	// Poll is how often a followed execution's history is read.
	Poll time.Duration
	// Where names the installation in messages ("AWS account …", "the
	// local installation of cdk.out").
	Where string
}

// Connection is what the connection flags say: where the installation's
// names come from and which AWS credentials to use.
type Connection struct {
	// Assembly is the cloud assembly the installation was deployed from.
	Assembly string
	// Profile and Region select the SDK's shared configuration profile and
	// default region ("": the default chain's).
	Profile, Region string
}

// Env is what a command runs with.
type Env struct {
	Stdout, Stderr io.Writer
	// TTY reports that Stdout is a terminal: a followed execution's
	// running states are then shown in place.
	TTY bool
	// Connect opens a session for the connection flags.
	Connect func(ctx context.Context, c Connection) (*Session, error)
	// Local runs the command against a local installation instead (the
	// --local flag), given the command's name and its arguments without
	// --local, and returns the exit status; nil when Connect already is
	// local.
	Local func(ctx context.Context, command string, args []string) int
	// LocalOnly marks an Env whose Connect is a local installation:
	// --profile and --region mean nothing there.
	LocalOnly bool
}

// Exit statuses.
const (
	ExitOK     = 0
	ExitFailed = 1 // the workflow failed, was aborted or timed out; a read failed
	ExitUsage  = 2 // bad arguments or flags, no assembly, no credentials
	// ExitInterrupted: interrupted while following; the execution goes on.
	ExitInterrupted = 130
)

// UsageError is an error the user fixes by running the command
// differently (exit 2): a bad argument, a missing assembly or AWS
// credentials.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error { return &UsageError{Err: fmt.Errorf(format, args...)} }

// exitFor is the exit status of a command's error.
func exitFor(err error) int {
	var u *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &u):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitFailed
}

// Command is one operator command.
type Command struct {
	Name, Summary string
	// check validates the arguments before anything connects; run runs
	// the command on the session.
	check func(c *invocation) error
	run   func(ctx context.Context, c *invocation) error
	flags func(c *invocation)
	usage string // arguments after the flags, for the usage line
	help  string
}

var commands = map[string]*Command{}

func register(c *Command) { commands[c.Name] = c }

// Commands returns the operator commands, by name.
func Commands() []*Command {
	out := make([]*Command, 0, len(commands))
	for _, c := range commands {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the named command.
func Lookup(name string) (*Command, bool) {
	c, ok := commands[name]
	return c, ok
}

// Run runs the named command with its arguments and returns the exit
// status.
func Run(ctx context.Context, name string, args []string, env Env) int {
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "pendulum: unknown operator command %q\n", name)
		return ExitUsage
	}
	inv, err := c.parse(args, env)
	if errors.Is(err, errHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "pendulum %s: %v (see pendulum %s --help)\n", c.Name, err, c.Name)
		return ExitUsage
	}
	if c.check != nil {
		if err := c.check(inv); err != nil {
			fmt.Fprintf(env.Stderr, "pendulum %s: %v (see pendulum %s --help)\n", c.Name, err, c.Name)
			return ExitUsage
		}
	}
	if inv.local && env.Local != nil {
		return env.Local(ctx, c.Name, inv.forward)
	}
	if env.LocalOnly && (inv.conn.Profile != "" || inv.conn.Region != "") {
		fmt.Fprintf(env.Stderr, "pendulum %s: --profile and --region select AWS credentials; a local installation needs none\n", c.Name)
		return ExitUsage
	}
	inv.session, err = env.Connect(ctx, inv.conn)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pendulum %s: %v\n", c.Name, err)
		if exitFor(err) == ExitOK {
			return ExitFailed
		}
		return exitFor(err)
	}
	err = c.run(ctx, inv)
	if err != nil {
		var done *exitError
		if errors.As(err, &done) {
			return done.code
		}
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(env.Stderr, "pendulum %s: interrupted\n", c.Name)
		} else {
			fmt.Fprintf(env.Stderr, "pendulum %s: %v\n", c.Name, err)
		}
	}
	return exitFor(err)
}

// exitError ends a command with a status whose explanation is already
// printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// machineARN is the ARN of the named DR state machine in B.
func (s *Session) machineARN(workflow string) string {
	return s.Names.StateMachineARN(s.Regions.Backup, workflow)
}

// workflowOf returns the workflow (state machine file name) of one of the
// installation's state machine ARNs, or "".
func (s *Session) workflowOf(machineARN string) string {
	for _, w := range workflows {
		if machineARN == s.machineARN(w) {
			return w
		}
	}
	return ""
}

// short is an execution ARN's last part, its name.
func short(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// duration formats seconds for a person.
func duration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
