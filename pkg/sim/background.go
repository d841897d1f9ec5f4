package sim

import (
	"context"
	"sync"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// background is the work services do on their own schedule (backup plans,
// schedules, pollers of event-source mappings): goroutines on the world's
// clock that run until the world is closed, so a finished run lets
// virtual time stand still.
type background struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	loops  []*clock.Signal
	closed bool
}

// goBackground runs f on the world's clock until Close or until the
// returned stop is called; f must return when its context is done. f's
// context is Unmetered: the services' own work follows their own
// schedule, not the latency of the calls it makes.
func (w *World) goBackground(f func(ctx context.Context)) (stop func()) {
	b := &w.bg
	b.mu.Lock()
	if b.ctx == nil {
		b.ctx, b.cancel = context.WithCancel(context.Background())
	}
	if b.closed {
		b.mu.Unlock()
		return func() {}
	}
	ctx, cancel := context.WithCancel(b.ctx)
	ctx = Unmetered(ctx)
	s := w.Clock.Go(func() { f(ctx) })
	b.loops = append(b.loops, s)
	b.mu.Unlock()
	return cancel
}

// Close stops the services' background work and waits for it, on the
// clock. The world's state stays readable.
func (w *World) Close() {
	b := &w.bg
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	if b.cancel != nil {
		b.cancel()
	}
	loops := append([]*clock.Signal(nil), b.loops...)
	b.mu.Unlock()
	for _, s := range loops {
		_ = w.Clock.Await(context.Background(), s, 0)
	}
}
