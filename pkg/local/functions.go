package local

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/batch"
	"github.com/pendulum-dr/pendulum/pkg/wiring/monitor"
	"github.com/pendulum-dr/pendulum/pkg/wiring/recovery"
	"github.com/pendulum-dr/pendulum/pkg/wiring/simclients"
	"github.com/pendulum-dr/pendulum/pkg/wiring/workload"
)

// constructors are the functions' constructors by function name (without
// the installation's prefix): the ones their main.go calls.
var constructors = map[string]func(wiring.Runtime) (lambda.Handler, error){
	"ingest": workload.Ingest, "partitions": workload.Partitions, "aggregate": workload.Aggregate,
	"compact": batch.Compact, "compact-plan": batch.CompactPlan, "health": monitor.Health,
	"dr-control": recovery.DRControl, "dr-stack": recovery.DRStack, "dr-restore": recovery.DRRestore,
	"dr-traffic": recovery.DRTraffic, "dr-probe": recovery.DRProbe, "dr-reconcile": recovery.DRReconcile,
	"dr-copyback": recovery.DRCopyBack, "dr-merge": recovery.DRMerge, "dr-drain": recovery.DRDrain,
	"dr-verify": recovery.DRVerify, "dr-report": recovery.DRReport, "dr-replay": recovery.DRReplay,
	"readiness": recovery.Readiness,
}

// code is the simulated Lambda's code resolver: a deployed function runs
// its constructor with the environment the template set (plus what the
// Lambda runtime sets), the simulated regions' clients, the virtual clock
// and the installation's HTTP client. A function the app deploys without
// Go code (the CDK's custom-resource provider, whose work the simulated
// CloudFormation does itself) fails its invocations.
func (l *Local) code(fn sim.LambdaFunction) (sim.LambdaHandler, error) {
	name := strings.TrimPrefix(fn.Name, l.Names.Prefix+"-")
	build, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("function %s has no Go handler in this build", fn.Name)
	}
	env := map[string]string{"AWS_REGION": fn.Region, "AWS_LAMBDA_FUNCTION_NAME": fn.Name}
	for k, v := range fn.Environment {
		env[k] = v
	}
	rt := wiring.Runtime{
		Getenv: func(k string) string { return env[k] },
		// A function's Step Functions client is its own region's.
		Clients: simclients.Clients{World: l.World, SFN: states.SFN{Engine: l.engineFor(fn.Region)}},
		Clock:   l.Clock,
		HTTP:    l.HTTPClient(),
		Stdout:  emfWriter{l.World.Region(fn.Region).CloudWatch()},
		Log:     l.log.With("function", fn.Name, "region", fn.Region),
	}
	h, err := build(rt)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: configuration: %w", fn.Name, fn.Region, err)
	}
	return func(ctx context.Context, payload []byte) ([]byte, error) { return h.Invoke(ctx, payload) }, nil
}
