package local

import (
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/wiring/batch"
)

// wireBatch registers the nightly batch's functions (compact-plan,
// compact) in P, where the workload and its buckets are, each built by its
// constructor in package batch.
func (l *Local) wireBatch(reg *states.Registry) error {
	P := l.Regions.Primary
	plan, err := l.build("compact-plan", P, batch.CompactPlan)
	if err != nil {
		return err
	}
	compact, err := l.build("compact", P, batch.Compact)
	if err != nil {
		return err
	}
	reg.HandleLambda(l.Names.Function("compact-plan"), lambdaHandler(plan))
	reg.HandleLambda(l.Names.Function("compact"), lambdaHandler(compact))
	return nil
}
