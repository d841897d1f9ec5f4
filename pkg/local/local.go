// Package local runs a whole Pendulum installation on one machine: the
// simulated regions of pkg/sim provisioned as the CDK app deploys them, the
// workload's real handlers (ingest, partitions, aggregate, health canary,
// compact) on simulated clients, and the DR state machines of
// statemachines/ executed by pkg/states with the real DR step code of
// pkg/dr — all on one virtual clock, so a drill of hours runs in seconds.
//
// Names come from pkg/topology, the very scheme infra deploys; the state
// machines are rendered with topology.Substitutions. Background work (the
// canary, event-source mappings, queue pollers, scheduled backups, alarm
// evaluation) runs in goroutines started with the clock's Go and stops
// when Close is called, so a finished run lets virtual time stand still.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// Defaults of Options.
const (
	DefaultPrimary = "us-east-1"
	DefaultBackup  = "us-east-2"
	DefaultAccount = "111111111111"
	DefaultPrefix  = "pendulum"
	// DefaultBackupEvery is how often the scheduled AWS Backup job of P's
	// aggregates table runs locally (the deployed plan is daily; a drill of
	// a few virtual hours needs a recent copy in B to exercise the fallback).
	DefaultBackupEvery = time.Hour
	// HealthTargetPrimary and HealthTargetAccelerator are the canary's
	// target names, as infra configures them (infra.PrimaryTargetName,
	// infra.AcceleratorTarget): the alarm watches the first.
	HealthTargetPrimary     = "primary-regional"
	HealthTargetAccelerator = "accelerator"
	// AlarmEvaluationPeriods and AlarmDatapointsToAlarm are cdk.json's
	// defaults for the health alarm.
	AlarmEvaluationPeriods = 3
	AlarmDatapointsToAlarm = 3
)

// Options configure an installation. The zero value works.
type Options struct {
	// Primary and Backup are P and B (us-east-1, us-east-2).
	Primary, Backup string
	// Account and Prefix name everything (111111111111, "pendulum").
	Account, Prefix string
	// Start is the virtual time the run starts at (default 2026-11-25T09:00Z).
	Start time.Time
	// FailoverApproval is the installation's FailoverApproval setting: DR
	// workflows wait for an operator unless their input says otherwise.
	FailoverApproval bool
	// Approver, when set, is called (in its own clock goroutine) for every
	// approval request a workflow publishes; it answers with Approve or
	// Deny, or not at all to let the request time out.
	Approver func(ctx context.Context, a Approval)
	// NoAutoFailover leaves the alarm's state change without a target
	// (tests that start failover themselves).
	NoAutoFailover bool
	// NoCanary leaves the health canary off.
	NoCanary bool
	// BackupEvery is the backup schedule of P's table (DefaultBackupEvery);
	// negative disables it.
	BackupEvery time.Duration
	// ReplicationLag overrides S3's replication lag model for P's buckets.
	ReplicationLag func(key string, rtc bool) time.Duration
	// Seed makes Global Accelerator's routing choices reproducible.
	Seed uint64
	// Logger receives the installation's log; nil discards it.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Primary == "" {
		o.Primary = DefaultPrimary
	}
	if o.Backup == "" {
		o.Backup = DefaultBackup
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	}
	if o.BackupEvery == 0 {
		o.BackupEvery = DefaultBackupEvery
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Local is one simulated installation.
type Local struct {
	// Clock is the virtual clock everything runs on.
	Clock *clock.Virtual
	// World holds the simulated regions P, B and us-west-2.
	World *sim.World
	// Engine is B's Step Functions.
	Engine *states.Engine
	// Names and Regions are the installation's topology.
	Names   topology.Names
	Regions topology.Regions
	// AcceleratorARN and AcceleratorDNS address the accelerator.
	AcceleratorARN, AcceleratorDNS string
	// PrimaryGroupARN and BackupGroupARN are the accelerator's endpoint
	// groups.
	PrimaryGroupARN, BackupGroupARN string
	// Substitutions are the DefinitionSubstitutions the machines were
	// rendered with.
	Substitutions map[string]string
	// Functions maps each registered Lambda function name (e.g.
	// "dr-control") to its ARN.
	Functions map[string]string

	opts   Options
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	loops       []*clock.Signal
	regions     map[string]*regionRuntime
	approvals   []Approval
	executions  []string // execution ARNs started by the alarm
	alarmErrors []error
	closed      bool
	wired       map[string]bool // DR functions registered
	discarded   []sim.KinesisESMFailure
}

// Discarded returns the record batches the aggregate consumers gave up on
// (their on-failure destination): records that never reached the
// aggregates.
func (l *Local) Discarded() []sim.KinesisESMFailure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sim.KinesisESMFailure(nil), l.discarded...)
}

// Options returns the options the installation was built with, defaults
// applied.
func (l *Local) Options() Options { return l.opts }

// New builds and provisions an installation and starts its background
// work. It runs on the virtual clock: the caller must be the goroutine that
// owns the clock's timeline (it is when New creates the clock). Provisioning
// waits, in virtual time, for the stacks to be created.
func New(ctx context.Context, opts Options) (*Local, error) {
	opts.defaults()
	if opts.Primary == opts.Backup {
		return nil, fmt.Errorf("local: primary and backup are both %s", opts.Primary)
	}
	clk := clock.NewVirtual(opts.Start)
	world := sim.NewWorld(clk, opts.Account, opts.Primary, opts.Backup, topology.GlobalRegion)
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Local{
		Clock:   clk,
		World:   world,
		Names:   topology.Names{Prefix: opts.Prefix, Account: opts.Account},
		Regions: topology.Regions{Primary: opts.Primary, Backup: opts.Backup},
		opts:    opts,
		log:     opts.Logger,
		ctx:     bg,
		cancel:  cancel,
		regions: map[string]*regionRuntime{},
	}
	if err := l.provision(ctx); err != nil {
		l.Close()
		return nil, fmt.Errorf("provision: %w", err)
	}
	if err := l.wireEngine(); err != nil {
		l.Close()
		return nil, fmt.Errorf("wire engine: %w", err)
	}
	l.startBackground()
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

// Close stops every background loop and waits for them, on the clock.
func (l *Local) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.mu.Lock()
	loops := append([]*clock.Signal(nil), l.loops...)
	l.mu.Unlock()
	for _, s := range loops {
		_ = l.Clock.Await(context.Background(), s, 0)
	}
}

// Sleep advances the caller by d of virtual time.
func (l *Local) Sleep(ctx context.Context, d time.Duration) error { return l.Clock.Sleep(ctx, d) }

// Now is the virtual time.
func (l *Local) Now() time.Time { return l.Clock.Now() }

// AlarmExecutions returns the execution ARNs the health alarm started.
func (l *Local) AlarmExecutions() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.executions...)
}

// AlarmErrors returns the errors met starting failover from the alarm.
func (l *Local) AlarmErrors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.alarmErrors...)
}

// ErrClosed is returned by operations on a closed installation.
var ErrClosed = errors.New("local: installation closed")
