package clock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestVirtualSleepJumps(t *testing.T) {
	v := NewVirtual(epoch)
	// A real 90-minute sleep would hit go test's timeout: returning at all
	// shows the jump; the elapsed virtual time shows its size.
	if err := v.Sleep(context.Background(), 90*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := v.Now().Sub(epoch), 90*time.Minute; got != want {
		t.Fatalf("elapsed = %v, want %v", got, want)
	}
}

func TestVirtualGoroutinesInterleaveByTime(t *testing.T) {
	v := NewVirtual(epoch)
	var mu sync.Mutex
	var order []string
	record := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	ctx := context.Background()
	a := v.Go(func() {
		v.Sleep(ctx, 3*time.Second)
		record("a@3")
		v.Sleep(ctx, 4*time.Second)
		record("a@7")
	})
	b := v.Go(func() {
		v.Sleep(ctx, 5*time.Second)
		record("b@5")
	})
	if err := v.Await(ctx, a, 0); err != nil {
		t.Fatal(err)
	}
	if err := v.Await(ctx, b, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := len(order), 3; got != want {
		t.Fatalf("order = %v", order)
	}
	for i, want := range []string{"a@3", "b@5", "a@7"} {
		if order[i] != want {
			t.Fatalf("order = %v, want a@3 b@5 a@7", order)
		}
	}
	if got, want := v.Now().Sub(epoch), 7*time.Second; got != want {
		t.Fatalf("now = +%v, want +%v", got, want)
	}
}

func TestVirtualAwaitTimeout(t *testing.T) {
	v := NewVirtual(epoch)
	s := v.NewSignal()
	err := v.Await(context.Background(), s, time.Hour)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Await = %v, want ErrTimeout", err)
	}
	if got, want := v.Now().Sub(epoch), time.Hour; got != want {
		t.Fatalf("now = +%v, want +%v", got, want)
	}
}

func TestVirtualFireBeforeTimeout(t *testing.T) {
	v := NewVirtual(epoch)
	s := v.NewSignal()
	v.Go(func() {
		v.Sleep(context.Background(), 10*time.Minute)
		s.Fire()
	})
	if err := v.Await(context.Background(), s, time.Hour); err != nil {
		t.Fatalf("Await = %v, want nil", err)
	}
	if got, want := v.Now().Sub(epoch), 10*time.Minute; got != want {
		t.Fatalf("now = +%v, want +%v", got, want)
	}
	// The cancelled timeout must not linger and move time later.
	if got := v.Pending(); got != 0 {
		t.Fatalf("pending timers = %d, want 0", got)
	}
	// Awaiting a fired signal returns at once.
	if err := v.Await(context.Background(), s, time.Second); err != nil {
		t.Fatal(err)
	}
}

// Goroutines woken at the same instant run side by side: each one here waits,
// awake, until every one of them is awake. Woken one at a time (the next only
// when the one before blocks on the clock again), the first would wait for
// the others for ever, so the wait is bounded in real time.
func TestVirtualSameInstantWakesRunTogether(t *testing.T) {
	v := NewVirtual(epoch)
	ctx := context.Background()
	const n = 4
	var awake sync.WaitGroup
	awake.Add(n)
	all := make(chan struct{})
	go func() { awake.Wait(); close(all) }()
	var mu sync.Mutex
	var stuck, at []time.Time
	sigs := make([]*Signal, n)
	for i := range sigs {
		sigs[i] = v.Go(func() {
			v.Sleep(ctx, time.Minute)
			awake.Done()
			select {
			case <-all:
				mu.Lock()
				at = append(at, v.Now())
				mu.Unlock()
			case <-time.After(5 * time.Second):
				mu.Lock()
				stuck = append(stuck, v.Now())
				mu.Unlock()
			}
		})
	}
	for _, s := range sigs {
		if err := v.Await(ctx, s, 0); err != nil {
			t.Fatal(err)
		}
	}
	if len(stuck) > 0 {
		t.Fatalf("%d of %d goroutines woken at +1m waited 5 s of real time for the others to wake", len(stuck), n)
	}
	for _, w := range at {
		if got, want := w.Sub(epoch), time.Minute; got != want {
			t.Fatalf("a goroutine ran at +%v, want +%v", got, want)
		}
	}
}

// A hand-off through a Signal must not let time slip: the sleeper that fires
// the signal then sleeps again must not run ahead of the woken goroutine.
func TestVirtualHandOffKeepsTime(t *testing.T) {
	v := NewVirtual(epoch)
	ctx := context.Background()
	s := v.NewSignal()
	var woke time.Time
	w := v.Go(func() {
		v.Await(ctx, s, 0)
		woke = v.Now()
	})
	v.Go(func() {
		v.Sleep(ctx, time.Minute)
		s.Fire()
		v.Sleep(ctx, time.Hour)
	})
	v.Await(ctx, w, 0)
	if got, want := woke.Sub(epoch), time.Minute; got != want {
		t.Fatalf("woken at +%v, want +%v", got, want)
	}
}

func TestVirtualSleepCancelled(t *testing.T) {
	v := NewVirtual(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	done := v.Go(func() {
		v.Sleep(ctx, time.Minute)
		cancel()
	})
	err := v.Sleep(ctx, time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v, want context.Canceled", err)
	}
	v.Await(context.Background(), done, 0)
	if got := v.Pending(); got != 0 {
		t.Fatalf("pending timers = %d, want 0", got)
	}
	// The clock still works after a cancellation.
	if err := v.Sleep(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestVirtualAfterFunc(t *testing.T) {
	v := NewVirtual(epoch)
	fired := v.NewSignal()
	var at time.Time
	v.AfterFunc(30*time.Second, func() {
		at = v.Now()
		fired.Fire()
	})
	stop := v.AfterFunc(time.Minute, func() { t.Error("stopped AfterFunc ran") })
	if err := v.Await(context.Background(), fired, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := at.Sub(epoch), 30*time.Second; got != want {
		t.Fatalf("ran at +%v, want +%v", got, want)
	}
	if !stop() {
		t.Fatal("stop() = false for a pending AfterFunc")
	}
	if stop() {
		t.Fatal("stop() = true twice")
	}
	v.Sleep(context.Background(), 2*time.Minute)
}

func TestRealAwait(t *testing.T) {
	var c Clock = Real{}
	s := c.Go(func() {})
	if err := c.Await(context.Background(), s, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Await(context.Background(), c.NewSignal(), time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Await = %v, want ErrTimeout", err)
	}
}

// BenchmarkVirtualSleep measures the cost of one timer round trip.
func BenchmarkVirtualSleep(b *testing.B) {
	v := NewVirtual(epoch)
	ctx := context.Background()
	for b.Loop() {
		v.Sleep(ctx, time.Second)
	}
}

// BenchmarkVirtualSleepAmongWaiters measures a timer round trip while a
// thousand goroutines wait on the clock with cancellable contexts, as
// Lambda handlers sleeping through modelled API calls do.
func BenchmarkVirtualSleepAmongWaiters(b *testing.B) {
	v := NewVirtual(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	var done []*Signal
	for range 1000 {
		wctx, wcancel := context.WithCancel(ctx)
		defer wcancel()
		done = append(done, v.Go(func() { _ = v.Sleep(wctx, 1000*time.Hour) }))
	}
	for b.Loop() {
		v.Sleep(context.Background(), time.Millisecond)
	}
	b.StopTimer()
	cancel()
	for _, s := range done {
		if err := v.Await(context.Background(), s, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// waitPanic runs wait on a plain goroutine, one the clock does not account
// for, and returns what it panicked with (nil if it returned).
func waitPanic(wait func()) (p any) {
	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		wait()
	}()
	return <-done
}

func TestVirtualRefusesUnaccountedWaitWhenNothingRuns(t *testing.T) {
	v := NewVirtual(epoch)
	ctx := context.Background()
	// Every accounted goroutine parks on the clock with no timer pending:
	// the creator on a, a on s. A plain goroutine waiting then can only be
	// one the clock does not account for.
	s := v.NewSignal()
	res := make(chan any, 1)
	go func() {
		for {
			v.mu.Lock()
			idle := v.running == 0
			v.mu.Unlock()
			if idle {
				break
			}
			time.Sleep(time.Millisecond)
		}
		res <- waitPanic(func() { _ = v.Sleep(ctx, time.Second) })
		s.Fire() // a plain goroutine may fire a signal
	}()
	a := v.Go(func() { _ = v.Await(ctx, s, 0) })
	if err := v.Await(ctx, a, 0); err != nil {
		t.Fatal(err)
	}
	if p := <-res; p == nil {
		t.Fatal("Sleep on an unaccounted goroutine with nothing running did not panic")
	}
	if got := v.Now(); !got.Equal(epoch) {
		t.Fatalf("now = %v, want %v: the refused Sleep moved time", got, epoch)
	}
}

func TestVirtualCheckAccounting(t *testing.T) {
	CheckAccounting(true)
	v := NewVirtual(epoch)
	CheckAccounting(false)
	ctx := context.Background()
	// The creator is running, so only the goroutine check catches it.
	if p := waitPanic(func() { _ = v.Sleep(ctx, time.Second) }); p == nil {
		t.Fatal("Sleep on an unaccounted goroutine did not panic")
	}
	s := v.NewSignal()
	if p := waitPanic(func() { _ = v.Await(ctx, s, time.Second) }); p == nil {
		t.Fatal("Await on an unaccounted goroutine did not panic")
	}
	// Accounted goroutines wait as usual: the creator, Go, AfterFunc.
	done := v.Go(func() { _ = v.Sleep(ctx, time.Second) })
	fired := v.NewSignal()
	v.AfterFunc(time.Second, func() {
		_ = v.Sleep(ctx, time.Second)
		fired.Fire()
	})
	if err := v.Await(ctx, done, 0); err != nil {
		t.Fatal(err)
	}
	if err := v.Await(ctx, fired, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := v.Now().Sub(epoch), 2*time.Second; got != want {
		t.Fatalf("now = +%v, want +%v", got, want)
	}
	// A goroutine is accounted for only while it runs under the clock:
	// once time moves again, the AfterFunc goroutine has ended.
	_ = v.Sleep(ctx, time.Second)
	v.mu.Lock()
	n := len(v.owned)
	v.mu.Unlock()
	if got := n; got != 1 {
		t.Fatalf("%d goroutines accounted for after the others ended, want 1 (the creator)", got)
	}
}

func TestVirtualCheckAccountingSubtests(t *testing.T) {
	CheckAccounting(true)
	v := NewVirtual(epoch)
	CheckAccounting(false)
	ctx := context.Background()
	// A subtest carries on its parent's work while the parent waits in
	// t.Run, so it may wait on the parent's clock, nested or not.
	t.Run("Child", func(t *testing.T) {
		if err := v.Sleep(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		t.Run("Grandchild", func(t *testing.T) {
			if err := v.Sleep(ctx, time.Second); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("GrandchildOnly", func(t *testing.T) {
		t.Run("Grandchild", func(t *testing.T) {
			if err := v.Sleep(ctx, time.Second); err != nil {
				t.Fatal(err)
			}
		})
	})
	if got, want := v.Now().Sub(epoch), 3*time.Second; got != want {
		t.Fatalf("now = +%v, want +%v", got, want)
	}
	// A plain goroutine of a subtest is still not accounted for.
	t.Run("PlainGoroutine", func(t *testing.T) {
		if p := waitPanic(func() { _ = v.Sleep(ctx, time.Second) }); p == nil {
			t.Fatal("Sleep on a subtest's plain goroutine did not panic")
		}
	})
}

// GoEach runs every f side by side on the clock, waits for all of them and
// returns their errors joined.
func TestGoEach(t *testing.T) {
	v := NewVirtual(epoch)
	ctx := context.Background()
	var mu sync.Mutex
	ran := map[int]time.Duration{}
	boom := errors.New("boom")
	err := GoEach(v, 3, func(i int) error {
		if err := v.Sleep(ctx, time.Duration(i+1)*time.Minute); err != nil {
			return err
		}
		mu.Lock()
		ran[i] = v.Now().Sub(epoch)
		mu.Unlock()
		if i == 1 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("GoEach = %v, want the failed f's error", err)
	}
	if len(ran) != 3 || ran[0] != time.Minute || ran[2] != 3*time.Minute {
		t.Fatalf("ran at %v, want each f after its own sleep", ran)
	}
	if got, want := v.Now().Sub(epoch), 3*time.Minute; got != want {
		t.Fatalf("now = +%v, want +%v: GoEach returns once the last f ends", got, want)
	}
	if err := GoEach(v, 2, func(int) error { return nil }); err != nil {
		t.Fatalf("GoEach with no failure = %v", err)
	}
}
