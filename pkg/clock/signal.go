package clock

import "sync"

// Signal is a one-shot event: it fires once and stays fired. Waiting on it with
// Clock.Await is what lets a Virtual clock know the waiter is blocked.
type Signal struct {
	v    *Virtual // nil for signals of the Real clock
	once sync.Once
	// done is made with the signal on the Real clock. A Virtual clock's
	// waiters do not use it, so it is made (guarded by v.mu) only when Done
	// asks for it: most signals, one per task and per goroutine, never need
	// one.
	done    chan struct{}
	fired   bool      // guarded by v.mu
	waiters []*waiter // guarded by v.mu
	// one backs waiters while there is a single waiter, the usual case.
	one [1]*waiter
}

// Fire fires the signal and wakes every waiter. Firing twice is a no-op.
func (s *Signal) Fire() {
	if s.v == nil {
		s.once.Do(func() { close(s.done) })
		return
	}
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	s.v.fireLocked(s)
}

// Fired reports whether the signal has fired.
func (s *Signal) Fired() bool {
	if s.v != nil {
		s.v.mu.Lock()
		defer s.v.mu.Unlock()
		return s.fired
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Done returns a channel closed when the signal fires, for goroutines outside
// the clock's accounting (tests, the CLI's main loop).
func (s *Signal) Done() <-chan struct{} {
	if s.v == nil {
		return s.done
	}
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	if s.done == nil {
		s.done = make(chan struct{})
		if s.fired {
			close(s.done)
		}
	}
	return s.done
}
