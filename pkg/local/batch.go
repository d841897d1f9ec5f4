package local

import (
	"github.com/pendulum-dr/pendulum/pkg/compact"
	"github.com/pendulum-dr/pendulum/pkg/compact/plan"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// wireBatch registers the nightly batch's functions (compact-plan,
// compact) on P's buckets, where the workload runs.
func (l *Local) wireBatch(reg *states.Registry) error {
	P := l.Regions.Primary
	s3p := l.World.Region(P).S3()
	planner := &plan.Planner{Raw: s3p, RawBucket: l.Names.Bucket("raw", P), Clock: l.Clock}
	compactor := &compact.Compactor{Raw: s3p, Curated: s3p, RawBucket: l.Names.Bucket("raw", P), CuratedBucket: l.Names.Bucket("curated", P)}
	reg.HandleLambda(l.Names.Function("compact-plan"), Lambda(planner.Plan))
	reg.HandleLambda(l.Names.Function("compact"), Lambda(compactor.Compact))
	return nil
}
