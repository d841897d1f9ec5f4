// Package clock is the time source shared by the ASL engine, the simulated
// regions and the local drill.
//
// In the cloud the wall clock is used. Locally a Virtual clock lets a drill of
// hours run in seconds: time stands still while any goroutine the clock
// accounts for is running, and jumps to the next pending timer the moment every
// one of them is blocked on the clock. That only works if goroutines that wait
// on each other do so through the clock (Go, Signal, Await); a goroutine that
// blocks on a plain channel while holding its "running" token stops time.
package clock

import (
	"context"
	"errors"
	"time"
)

// ErrTimeout is returned by Await when the timeout elapses before the signal fires.
var ErrTimeout = errors.New("clock: timed out")

// Clock is the time source. Real and *Virtual implement it.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep blocks for d, or until ctx is done, in which case it returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
	// Go runs f in a new goroutine the clock accounts for. The returned Signal
	// fires when f returns.
	Go(f func()) *Signal
	// NewSignal returns an unfired one-shot Signal.
	NewSignal() *Signal
	// Await blocks until s fires (nil), timeout elapses (ErrTimeout; timeout <= 0
	// means no timeout) or ctx is done (ctx.Err()).
	Await(ctx context.Context, s *Signal, timeout time.Duration) error
	// AfterFunc runs f in its own accounted goroutine once d has elapsed. The
	// returned stop function cancels it and reports whether it was still pending.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Since returns the time elapsed since t on c.
func Since(c Clock, t time.Time) time.Duration { return c.Now().Sub(t) }

// GoEach runs f(0) … f(n-1), each in a goroutine of its own on c, waits for
// all of them, and returns their errors joined (nil if none failed). It waits
// without a context: each f ends on its own (by its own context or deadline).
func GoEach(c Clock, n int, f func(i int) error) error {
	errs := make([]error, n)
	done := make([]*Signal, n)
	for i := range n {
		done[i] = c.Go(func() { errs[i] = f(i) })
	}
	for _, d := range done {
		if err := c.Await(context.Background(), d, 0); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}
