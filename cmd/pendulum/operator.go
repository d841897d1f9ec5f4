package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/operator"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// The operator commands (pkg/operator) run against AWS with the SDK's
// default configuration; with --local they run in pendulum-drill, which
// links the simulator.
func init() {
	for _, c := range operator.Commands() {
		if c.Name == operator.DrillStart {
			continue // `pendulum drill start` (drill.go)
		}
		commands[c.Name] = command{summary: c.Summary, run: operatorCommand(c.Name)}
	}
}

// connect opens a session on AWS; tests replace it with a local
// installation.
var connect = awsConnect

// poll is how often a followed execution's history is read in AWS:
// GetExecutionHistory is a control-plane read, and a DR step takes seconds
// at the least.
const poll = 2 * time.Second

// operatorCommand runs the named operator command.
func operatorCommand(name string) func(args []string, stdout, stderr io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		env := operator.Env{
			Stdout: stdout, Stderr: stderr, TTY: isTerminal(stdout),
			Connect: func(ctx context.Context, c operator.Connection) (*operator.Session, error) { return connect(ctx, c) },
			Local: func(ctx context.Context, command string, args []string) int {
				return external(drillProgram)(append(append([]string{"local"}, strings.Fields(command)...), args...), stdout, stderr)
			},
		}
		return operator.Run(ctx, name, args, env)
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// awsConnect reads the installation's names and regions from the cloud
// assembly and makes its clients from the SDK's default configuration
// (environment, shared config and credentials files, SSO, the profile
// --profile or AWS_PROFILE names), each bound to the region it serves.
func awsConnect(ctx context.Context, c operator.Connection) (*operator.Session, error) {
	a, err := assembly.Read(c.Assembly)
	if err != nil {
		return nil, operator.Usagef("--assembly %s: %v; the CLI reads the installation's names and regions from the cloud assembly it was deployed from (make synth writes cdk.out)", c.Assembly, err)
	}
	names, regions, err := a.Topology()
	if err != nil {
		return nil, operator.Usagef("--assembly %s: %v", c.Assembly, err)
	}
	var opts []func(*config.LoadOptions) error
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, operator.Usagef("the AWS configuration could not be loaded: %v. Check that --profile or AWS_PROFILE names a profile of ~/.aws/config (aws configure list-profiles)", err)
	}
	if cfg.Region == "" {
		return nil, operator.Usagef("no AWS region: the SDK's default chain found none (AWS_REGION, AWS_DEFAULT_REGION, the profile's region). " +
			"Pass --region REGION, or --profile NAME / AWS_PROFILE with a profile that sets one; Pendulum calls B, P and us-west-2 by name, the region is for the credential providers")
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return nil, operator.Usagef("no AWS credentials: %v. Set AWS_PROFILE or pass --profile NAME (for an SSO profile run `aws sso login --profile NAME` first), "+
			"or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; --region REGION if the profile sets none", err)
	}
	bCfg, gaCfg := cfg.Copy(), cfg.Copy()
	bCfg.Region, gaCfg.Region = regions.Backup, topology.GlobalRegion
	return &operator.Session{
		Names: names, Regions: regions,
		Clients: operator.Clients{
			SFN: sfn.NewFromConfig(bCfg), DynamoDB: dynamodb.NewFromConfig(bCfg), Backup: backup.NewFromConfig(bCfg),
			CloudWatch: cloudwatch.NewFromConfig(bCfg), CloudFormation: cloudformation.NewFromConfig(bCfg),
			GA: globalaccelerator.NewFromConfig(gaCfg),
		},
		Clock: clock.Real{}, Poll: poll, Where: "AWS account " + names.Account,
	}, nil
}
