// Package local runs a whole Pendulum installation on one machine: the
// synthesized cloud assembly (cdk.out) deployed into the simulated regions
// of pkg/sim by its CloudFormation, with IAM enforced; every Lambda the
// templates create runs its real handler, built by the same constructor its
// main.go calls (package wiring) with the environment the template sets;
// every state machine runs on pkg/states with its deployed definition and
// role — all on one virtual clock, so a drill of hours runs in seconds.
//
// Nothing here describes the installation a second time: what the
// templates deploy (schedules, alarms, backup plans, event-source
// mappings, policies) is what runs.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// Options configure an installation.
type Options struct {
	// Assembly is the cloud assembly to deploy (required).
	Assembly *assembly.Assembly
	// EditTemplate, when set, transforms each stack's template before it is
	// deployed: tests use it to deploy a changed copy of the installation.
	EditTemplate func(stack string, body []byte) []byte
	// Parameters are stack parameter values by stack name, as `cdk deploy
	// --parameters STACK:KEY=VALUE` gives them; a parameter not given takes
	// its template default.
	Parameters map[string]map[string]string
	// HTTPS deploys the installation with certificates, as an operator
	// would after importing one into ACM in each workload region: before
	// the app's stacks deploy, a certificate is imported in P and in B and
	// each workload stack's CertificateArn parameter is set to its
	// region's (unless Parameters sets it). The ALBs then listen with HTTPS
	// on 443 and so does the accelerator; AcceleratorURL is https://….
	HTTPS bool
	// Start is the virtual time the deployment starts at (default
	// 2026-11-25T09:00Z; BeforeBackup for an installation whose backup
	// region must hold a recovery point soon).
	Start time.Time
	// Approver, when set, is called (in its own clock goroutine) for every
	// approval request a workflow publishes; it answers with Approve or
	// Deny, or not at all to let the request time out.
	Approver func(ctx context.Context, a Approval)
	// NoAutoFailover disables the deployed rule that starts failover on the
	// health alarm (tests that start failover themselves), as an operator
	// would with DisableRule.
	NoAutoFailover bool
	// NoCanary disables the deployed schedule of the health canary.
	NoCanary bool
	// Seed makes Global Accelerator's routing choices reproducible.
	Seed uint64
	// Logger receives the installation's log; nil discards it.
	Logger *slog.Logger
}

// Local is one simulated installation.
type Local struct {
	// Clock is the virtual clock everything runs on.
	Clock *clock.Virtual
	// World holds the simulated regions P, B and us-west-2.
	World *sim.World
	// Engine is B's Step Functions, where the DR state machines run.
	Engine *states.Engine
	// Names and Regions are the installation's topology, read from the
	// assembly.
	Names   topology.Names
	Regions topology.Regions
	// AcceleratorARN and AcceleratorDNS address the accelerator;
	// PrimaryGroupARN and BackupGroupARN are its endpoint groups (from the
	// global stack's parameters).
	AcceleratorARN, AcceleratorDNS string
	// AcceleratorURL is how producers reach the accelerator: its listener's
	// scheme and DNS name, the global stack's AcceleratorUrl output.
	AcceleratorURL string
	// Certificates are the certificates HTTPS imported, by region.
	Certificates                    map[string]string
	PrimaryGroupARN, BackupGroupARN string

	opts    Options
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	engines map[string]*states.Engine // by region

	mu        sync.Mutex
	loops     []*clock.Signal
	approvals []Approval
	started   []string // executions started by rules and schedules
	stats     map[string]*regionStats
	closed    bool
}

// Options returns the options the installation was built with.
func (l *Local) Options() Options { return l.opts }

// New deploys the assembly into a new simulated world and returns the
// running installation. It runs on the virtual clock: the caller must be
// the goroutine that owns the clock's timeline (it is when New creates the
// clock). Deployment waits, in virtual time, for every stack.
// BeforeBackup is a start just before the deployed backup plan's daily
// 03:00 UTC run (cdk.json's pendulum:backupSchedule as the example sets
// it): about 20 virtual minutes later a recovery point has been copied to
// the backup region, as it would have been a day into production. The drill
// and the operator commands run locally (pkg/operator/oplocal) start there,
// so that a restore and the isolated drill's recovery-point check find one.
var BeforeBackup = time.Date(2026, 11, 25, 2, 55, 0, 0, time.UTC)

func New(ctx context.Context, opts Options) (*Local, error) {
	if opts.Assembly == nil {
		return nil, errors.New("local: no cloud assembly (Options.Assembly)")
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	names, regions, err := opts.Assembly.Topology()
	if err != nil {
		return nil, err
	}
	clk := clock.NewVirtual(opts.Start)
	world := sim.NewWorld(clk, names.Account, regions.Primary, regions.Backup, topology.GlobalRegion)
	world.EnforceIAM(true)
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Local{
		Clock: clk, World: world, Names: names, Regions: regions,
		opts: opts, log: opts.Logger, ctx: bg, cancel: cancel,
		engines: map[string]*states.Engine{}, stats: map[string]*regionStats{},
	}
	l.wire()
	if err := l.deploy(ctx); err != nil {
		l.Close()
		return nil, fmt.Errorf("deploy %s: %w", opts.Assembly.Dir, err)
	}
	if opts.Seed != 0 {
		l.ga().SetSeed(opts.Seed)
	}
	return l, nil
}

// goLoop runs f on the clock until Close.
func (l *Local) goLoop(f func(ctx context.Context)) {
	ctx := l.ctx
	s := l.Clock.Go(func() { f(ctx) })
	l.mu.Lock()
	l.loops = append(l.loops, s)
	l.mu.Unlock()
}

// Close stops every background loop — the installation's and the
// simulated services' own (schedules, mappings, backup plans) — and waits
// for them, on the clock.
func (l *Local) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	for _, r := range l.World.Regions() {
		l.World.Region(r).Lambda().StopEventSourceMappings()
	}
	l.World.Close()
	l.mu.Lock()
	loops := append([]*clock.Signal(nil), l.loops...)
	l.mu.Unlock()
	for _, s := range loops {
		_ = l.Clock.Await(context.Background(), s, 0)
	}
}

// statsOf returns the region's ingest facts, made on first use.
func (l *Local) statsOf(region string) *regionStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.stats[region]
	if !ok {
		st = &regionStats{}
		l.stats[region] = st
	}
	return st
}

// workloadRegions are the regions of the world but the global one (the
// installation's workload regions, those of every assembly it has been
// deployed from), sorted.
func (l *Local) workloadRegions() []string {
	var out []string
	for _, r := range l.World.Regions() {
		if r != topology.GlobalRegion {
			out = append(out, r)
		}
	}
	return out
}

// Sleep advances the caller by d of virtual time.
func (l *Local) Sleep(ctx context.Context, d time.Duration) error { return l.Clock.Sleep(ctx, d) }

// Now is the virtual time.
func (l *Local) Now() time.Time { return l.Clock.Now() }

// Denied returns every call IAM denied so far: a clean run has none.
func (l *Local) Denied() []sim.DeniedCall { return l.World.Denied() }

// DeniedCount is how many calls IAM denied (Denied keeps the first
// sim.MaxDeniedRecords).
func (l *Local) DeniedCount() int { return l.World.DeniedCount() }

// ErrClosed is returned by operations on a closed installation.
var ErrClosed = errors.New("local: installation closed")
