package clock

import (
	"container/heap"
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Virtual is a clock whose time advances only when every goroutine it accounts
// for is blocked on it: then it jumps straight to the earliest pending timer.
//
// The goroutine that calls NewVirtual is accounted for as running; so is every
// goroutine started with Go or AfterFunc. A goroutine gives up its running
// token while it waits in Sleep or Await and gets it back when it is woken. The
// one that wakes it (a timer, or a goroutine calling Signal.Fire) takes the
// token for it before waking it, so time never slips forward during a hand-off.
//
// When time moves, every timer due at the new instant fires at once, in the
// order the timers were set: the goroutines they wake run side by side, as
// many at a time as there are processors, and what they do at that instant
// happens in whatever order they do it in.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
	// nowp mirrors now for Now, which would otherwise take mu on every
	// history timestamp. It is written under mu whenever now changes, so a
	// reader sees the time as it was at some instant of mu's order.
	nowp    atomic.Pointer[time.Time]
	running int
	seq     uint64
	timers  timerHeap
	// cancellable lists the goroutines waiting in Sleep or Await whose
	// context can be cancelled, and ctxs their contexts (waiter.slot is
	// the index in both): advanceLocked checks them before time moves, and
	// a dense slice of contexts is quicker to check than the waiters. A
	// waiter whose context is never done is in neither.
	cancellable []*waiter
	ctxs        []context.Context
	// owned holds the ids of the goroutines the clock accounts for, when
	// the clock checks its waiters (CheckAccounting); nil otherwise.
	owned map[int64]struct{}
}

// checkAccounting is CheckAccounting's setting.
var checkAccounting atomic.Bool

// CheckAccounting makes every Virtual clock created afterwards check that
// each goroutine waiting on it (Sleep, Advance, Await) is one it accounts
// for: the one that created it, one started with Go or AfterFunc and
// still running, or a subtest started by one of those (its parent waits in
// t.Run meanwhile). A wait from any other goroutine panics, naming the
// operation: such a wait gives up a running token its goroutine never had,
// so time either jumps while a goroutine is still running or never moves
// again. Tests turn it on (it reads the goroutine's id from its stack on
// every Go and every wait); without it a clock catches only the case where
// no goroutine at all is running.
func CheckAccounting(on bool) { checkAccounting.Store(on) }

// goroutineID returns the calling goroutine's id, from the first line of
// its stack ("goroutine 42 [running]:").
func goroutineID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	for i, c := range b {
		if c == ' ' {
			b = b[:i]
			break
		}
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		panic("clock: cannot read the goroutine id: " + err.Error())
	}
	return id
}

// own records the calling goroutine as accounted for, when the clock
// checks its waiters; the returned function forgets it.
func (v *Virtual) own() (disown func()) {
	if v.owned == nil {
		return func() {}
	}
	id := goroutineID()
	v.mu.Lock()
	v.owned[id] = struct{}{}
	v.mu.Unlock()
	return func() {
		v.mu.Lock()
		delete(v.owned, id)
		v.mu.Unlock()
	}
}

// mustBeAccountedLocked panics, releasing mu first, when the caller of a
// wait cannot be a goroutine the clock accounts for.
func (v *Virtual) mustBeAccountedLocked(op string) {
	if v.running <= 0 {
		v.mu.Unlock()
		panic(fmt.Sprintf("clock: %s on a goroutine the virtual clock does not account for (no accounted goroutine is running): start it with Go or AfterFunc", op))
	}
	if v.owned == nil {
		return
	}
	id := goroutineID()
	if _, ok := v.owned[id]; ok {
		return
	}
	// A subtest runs on a goroutine of its own while its parent waits in
	// t.Run: it carries on its parent's work, with the parent's token.
	for _, parent := range subtestAncestors(id) {
		if _, ok := v.owned[parent]; ok {
			v.owned[id] = struct{}{}
			return
		}
	}
	v.mu.Unlock()
	panic(fmt.Sprintf("clock: %s on a goroutine the virtual clock does not account for: start it with Go or AfterFunc", op))
}

// subtestAncestors returns, for a subtest's goroutine (one made by
// testing.(*T).Run), the goroutines that started it, its parent first:
// each waits in t.Run until its subtest ends (unless the subtest calls
// t.Parallel, which tests on a virtual clock must not). It reads every
// goroutine's stack, so it is for CheckAccounting's slow path only.
func subtestAncestors(id int64) []int64 {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	// Each goroutine's dump starts "goroutine N [" and, for one started
	// by t.Run, ends "created by testing.(*T).Run in goroutine P".
	creator := map[int64]int64{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		var gid int64
		if _, err := fmt.Sscanf(g, "goroutine %d ", &gid); err != nil {
			continue
		}
		const created = "created by testing.(*T).Run in goroutine "
		i := strings.LastIndex(g, created)
		if i < 0 {
			continue
		}
		rest := g[i+len(created):]
		if j := strings.IndexAny(rest, "\n "); j >= 0 {
			rest = rest[:j]
		}
		if p, err := strconv.ParseInt(rest, 10, 64); err == nil {
			creator[gid] = p
		}
	}
	var out []int64
	for p, ok := creator[id]; ok && len(out) < 64; p, ok = creator[p] {
		out = append(out, p)
	}
	return out
}

var _ Clock = (*Virtual)(nil)

// NewVirtual returns a virtual clock set to start. The calling goroutine counts
// as running until it blocks on the clock.
func NewVirtual(start time.Time) *Virtual {
	v := &Virtual{now: start, running: 1}
	v.nowp.Store(&start)
	if checkAccounting.Load() {
		v.owned = map[int64]struct{}{goroutineID(): {}}
	}
	return v
}

type timer struct {
	when  time.Time
	seq   uint64
	index int // in the heap; -1 when popped or removed
	fire  func()
}

type waiter struct {
	ctx      context.Context
	done     <-chan struct{} // ctx.Done()
	slot     int             // in Virtual.cancellable; -1 when not there
	sig      *Signal         // nil for Sleep
	ch       chan struct{}
	woken    bool // by fire, timeout or cancellation
	timedOut bool
	canceled bool
	timer    *timer
}

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	return *v.nowp.Load()
}

// Advance moves time forward by d, firing every timer that falls due, as if
// the caller had slept. It is for tests and drivers that own the timeline.
func (v *Virtual) Advance(ctx context.Context, d time.Duration) error {
	return v.Sleep(ctx, d)
}

// Sleep blocks the calling goroutine for d of virtual time.
func (v *Virtual) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &waiter{ctx: ctx, ch: make(chan struct{})}
	v.mu.Lock()
	v.mustBeAccountedLocked("Sleep")
	w.timer = v.addTimerLocked(d, func() { v.wakeLocked(w) })
	v.parkLocked(w)
	v.mu.Unlock()
	return v.block(w)
}

// parkLocked gives up the caller's running token while it waits in w.
func (v *Virtual) parkLocked(w *waiter) {
	w.done, w.slot = w.ctx.Done(), -1
	if w.done != nil {
		w.slot = len(v.cancellable)
		v.cancellable, v.ctxs = append(v.cancellable, w), append(v.ctxs, w.ctx)
	}
	v.running--
	v.advanceLocked()
}

// wakeLocked wakes w, taking its running token back on its behalf.
func (v *Virtual) wakeLocked(w *waiter) {
	if w.woken {
		return
	}
	w.woken = true
	if i := w.slot; i >= 0 { // swap the last waiter into its slot
		last := len(v.cancellable) - 1
		moved := v.cancellable[last]
		v.cancellable[i], v.ctxs[i] = moved, v.ctxs[last]
		moved.slot = i
		v.cancellable[last], v.ctxs[last] = nil, nil
		v.cancellable, v.ctxs = v.cancellable[:last], v.ctxs[:last]
		w.slot = -1
	}
	if w.timer != nil {
		v.removeTimerLocked(w.timer)
	}
	if w.sig != nil {
		w.sig.removeWaiterLocked(w)
	}
	v.running++
	close(w.ch)
}

// block waits for w to be woken. A cancelled context wakes it too: directly,
// if the goroutine is scheduled first, or from advanceLocked, which checks the
// contexts of blocked goroutines before it moves time, so a cancellation made
// by a running goroutine always lands at the virtual instant it was made.
func (v *Virtual) block(w *waiter) error {
	select {
	case <-w.ch:
	case <-w.done:
		v.mu.Lock()
		if !w.woken {
			w.canceled = true
			v.wakeLocked(w)
		}
		v.mu.Unlock()
	}
	switch {
	case w.canceled:
		return w.ctx.Err()
	case w.timedOut:
		return ErrTimeout
	}
	return nil
}

// Go runs f in a new accounted goroutine; the Signal fires when f returns.
func (v *Virtual) Go(f func()) *Signal {
	s := v.NewSignal()
	v.mu.Lock()
	v.running++
	v.mu.Unlock()
	go func() {
		disown := v.own()
		defer func() {
			disown()
			v.mu.Lock()
			v.fireLocked(s)
			v.running--
			v.advanceLocked()
			v.mu.Unlock()
		}()
		f()
	}()
	return s
}

// NewSignal returns an unfired Signal bound to this clock.
func (v *Virtual) NewSignal() *Signal { return &Signal{v: v} }

// Await blocks until s fires, timeout of virtual time elapses or ctx is done.
func (v *Virtual) Await(ctx context.Context, s *Signal, timeout time.Duration) error {
	if s.v != v {
		panic("clock: Await on a signal of another clock")
	}
	v.mu.Lock()
	if s.fired {
		v.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		v.mu.Unlock()
		return err
	}
	v.mustBeAccountedLocked("Await")
	w := &waiter{ctx: ctx, sig: s, ch: make(chan struct{})}
	if s.waiters == nil {
		s.waiters = s.one[:0]
	}
	s.waiters = append(s.waiters, w)
	if timeout > 0 {
		w.timer = v.addTimerLocked(timeout, func() {
			w.timedOut = true
			v.wakeLocked(w)
		})
	}
	v.parkLocked(w)
	v.mu.Unlock()
	return v.block(w)
}

// AfterFunc runs f in a new accounted goroutine once d of virtual time has
// elapsed.
func (v *Virtual) AfterFunc(d time.Duration, f func()) func() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	t := v.addTimerLocked(d, func() {
		v.running++
		go func() {
			disown := v.own()
			defer func() {
				disown()
				v.mu.Lock()
				v.running--
				v.advanceLocked()
				v.mu.Unlock()
			}()
			f()
		}()
	})
	return func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		if t.index < 0 {
			return false
		}
		v.removeTimerLocked(t)
		return true
	}
}

// Pending returns the number of timers not yet fired.
func (v *Virtual) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.timers)
}

func (v *Virtual) fireLocked(s *Signal) {
	if s.fired {
		return
	}
	s.fired = true
	if s.done != nil {
		close(s.done)
	}
	ws := s.waiters
	s.waiters = nil
	for _, w := range ws {
		w.sig = nil
		v.wakeLocked(w)
	}
	clear(s.one[:])
}

func (s *Signal) removeWaiterLocked(w *waiter) {
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

func (v *Virtual) addTimerLocked(d time.Duration, fire func()) *timer {
	if d < 0 {
		d = 0
	}
	v.seq++
	t := &timer{when: v.now.Add(d), seq: v.seq, fire: fire}
	heap.Push(&v.timers, t)
	return t
}

func (v *Virtual) removeTimerLocked(t *timer) {
	if t.index >= 0 {
		heap.Remove(&v.timers, t.index)
	}
}

// advanceLocked fires timers while nothing is running: the earliest, and with
// it every other timer due at the same instant, in the order they were set.
func (v *Virtual) advanceLocked() {
	for v.running == 0 {
		// Before time moves (or stops, nothing being due), every
		// cancellation made at this instant lands: a cancelled waiter is
		// woken now. Timers due now fire first or after, as two things at
		// one instant may.
		if len(v.timers) == 0 || v.timers[0].when.After(v.now) {
			for i := len(v.ctxs) - 1; i >= 0; i-- { // from the end: a wake moves the last one into i
				if v.ctxs[i].Err() != nil {
					w := v.cancellable[i]
					w.canceled = true
					v.wakeLocked(w)
				}
			}
			if v.running > 0 || len(v.timers) == 0 {
				return
			}
		}
		t := heap.Pop(&v.timers).(*timer)
		if t.when.After(v.now) {
			v.now = t.when
			now := v.now
			v.nowp.Store(&now)
		}
		t.fire()
		// Every other timer due at this instant fires now too, so the
		// goroutines they wake run side by side.
		for len(v.timers) > 0 && !v.timers[0].when.After(v.now) {
			heap.Pop(&v.timers).(*timer).fire()
		}
	}
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
