package local

import (
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
)

// DRConfig is the common DR environment the dr-* functions get (see
// functionEnv).
func (l *Local) DRConfig() dr.Config {
	env := l.functionEnv("dr-control", l.Regions.Backup)
	cfg, _ := dr.ConfigFromEnv(func(k string) string { return env[k] }) // complete by construction
	return cfg
}

// drFunctions are the dr-* functions with their constructors.
var drFunctions = []struct {
	name        string
	constructor func(wiring.Runtime) (lambda.Handler, error)
}{
	{"dr-control", recovery.DRControl}, {"dr-stack", recovery.DRStack}, {"dr-restore", recovery.DRRestore},
	{"dr-traffic", recovery.DRTraffic}, {"dr-probe", recovery.DRProbe}, {"dr-reconcile", recovery.DRReconcile},
	{"dr-copyback", recovery.DRCopyBack}, {"dr-merge", recovery.DRMerge}, {"dr-drain", recovery.DRDrain},
	{"dr-verify", recovery.DRVerify}, {"dr-report", recovery.DRReport},
}

// wireDR registers the dr-* functions in B, where the DR state machines
// run them, each built by its constructor in package recovery.
func (l *Local) wireDR(reg *states.Registry) error {
	l.wired = map[string]bool{}
	for _, f := range drFunctions {
		h, err := l.build(f.name, l.Regions.Backup, f.constructor)
		if err != nil {
			return err
		}
		reg.HandleLambda(l.Names.Function(f.name), lambdaHandler(h))
		l.wired[f.name] = true
	}
	return nil
}

// Missing returns the DR functions the state machines call that this
// build does not register yet (pkg/dr has no step for them).
func (l *Local) Missing() []string {
	var out []string
	for _, f := range functionNames {
		if strings.HasPrefix(f, "dr-") && !l.wired[f] {
			out = append(out, f)
		}
	}
	return out
}

// sfnStart builds a StartExecution input.
func sfnStart(machineARN, name, input string) *sfn.StartExecutionInput {
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(machineARN), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	return in
}
