package clock

import (
	"context"
	"time"
)

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep blocks for d or until ctx is done.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Go runs f in a new goroutine; the Signal fires when f returns.
func (r Real) Go(f func()) *Signal {
	s := r.NewSignal()
	go func() {
		defer s.Fire()
		f()
	}()
	return s
}

// NewSignal returns an unfired Signal.
func (Real) NewSignal() *Signal { return &Signal{done: make(chan struct{})} }

// Await blocks until s fires, timeout elapses or ctx is done.
func (Real) Await(ctx context.Context, s *Signal, timeout time.Duration) error {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	done := s.Done()
	select {
	case <-done:
		return nil
	default:
	}
	select {
	case <-done:
		return nil
	case <-tc:
		return ErrTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AfterFunc runs f after d.
func (Real) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
