// Package oplocal connects the operator commands (pkg/operator) to a local
// installation (pkg/local): B's simulated services and Step Functions, and
// us-west-2's Global Accelerator, called as an operator would with no
// role of the installation's (the simulator authorizes only calls made as a
// role). It links the simulator, so the pendulum binary does not import it:
// `pendulum … --local` runs pendulum-drill local, and the tests use it.
package oplocal

import (
	"context"
	"fmt"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/local"
	"github.com/pendulum-dr/pendulum/pkg/operator"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// Poll is how often, in virtual time, a followed execution's history is
// read locally (the drill watches its runs as often).
const Poll = 15 * time.Second

// Session is the operator's session on l.
func Session(l *local.Local, where string) *operator.Session {
	B := l.World.Region(l.Regions.Backup)
	return &operator.Session{
		Names: l.Names, Regions: l.Regions,
		Clients: operator.Clients{
			SFN: states.SFN{Engine: l.Engine}, DynamoDB: B.DynamoDB(), Backup: B.Backup(), CloudWatch: B.CloudWatch(),
			CloudFormation: B.CloudFormation(), GA: l.World.Region(topology.GlobalRegion).GlobalAccelerator(),
		},
		Clock: l.Clock, Poll: Poll, Where: where,
	}
}

// Installation deploys assemblies on first use and serves every later
// command of a run from the same installation, on its virtual clock.
type Installation struct {
	// Options are the installation's; Assembly is set from the first
	// connection.
	Options local.Options
	// Warmup is the virtual time the installation runs before the first
	// command: the canary's minutes, the replication metrics' first
	// quarter of an hour.
	Warmup time.Duration

	dir     string
	l       *local.Local
	session *operator.Session
}

// Connect is operator.Env.Connect for the installation: it deploys the
// connection's assembly the first time and returns the same session after.
func (in *Installation) Connect(ctx context.Context, c operator.Connection) (*operator.Session, error) {
	if in.l != nil {
		if c.Assembly != in.dir {
			return nil, operator.Usagef("--assembly %s: this local run deployed %s", c.Assembly, in.dir)
		}
		return in.session, nil
	}
	a, err := assembly.Read(c.Assembly)
	if err != nil {
		return nil, operator.Usagef("--assembly: %v", err)
	}
	opts := in.Options
	opts.Assembly = a
	if opts.Start.IsZero() {
		opts.Start = local.BeforeBackup
	}
	l, err := local.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("deploy %s locally: %w", c.Assembly, err)
	}
	if err := l.Sleep(ctx, in.Warmup); err != nil {
		l.Close()
		return nil, err
	}
	in.dir, in.l = c.Assembly, l
	in.session = Session(l, "local installation of "+c.Assembly+", virtual time")
	return in.session, nil
}

// Local is the installation, once deployed.
func (in *Installation) Local() *local.Local { return in.l }

// Close stops the installation.
func (in *Installation) Close() {
	if in.l != nil {
		in.l.Close()
	}
}
