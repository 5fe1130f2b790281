package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions/upstream"

	"github.com/google/go-cmp/cmp"
)

// limiterClock is a fake clock that only the limiter's waits move; it
// records them.
type limiterClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newLimiterClock() *limiterClock {
	return &limiterClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *limiterClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *limiterClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *limiterClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *limiterClock) takeSleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sleeps
	c.sleeps = nil
	return s
}

// newClockedLimiter returns a limiter on a fake clock.
func newClockedLimiter(t *testing.T, lim Limit) (*LocalLimiter, *limiterClock) {
	t.Helper()
	clock := newLimiterClock()
	l := NewLimiter(lim)
	l.SetClock(clock.now, clock.sleep)
	return l, clock
}

func (l *LocalLimiter) keyCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// TestLimiterPacing runs steps against one limiter on a fake clock: each
// step moves the clock, then pauses a key or acquires a turn for it, and
// says how long the turn was waited for or, when refused, the RetryAfter.
func TestLimiterPacing(t *testing.T) {
	t.Parallel()
	runPacing(t, func(t *testing.T, lim Limit, clock *limiterClock) Limiter {
		l := NewLimiter(lim)
		l.SetClock(clock.now, clock.sleep)
		return l
	})
}

// pacingStep is one step of a pacing test.
type pacingStep struct {
	advance time.Duration // the clock moves this much first
	key     string
	pause   time.Duration // > 0: Pause(key, now+pause) instead of Acquire
	timeout time.Duration // Acquire's ctx deadline (wall clock); 0: none
	wait    time.Duration // the wait Acquire took
	refused time.Duration // the RetryAfter of its refusal; 0: not refused
}

// runPacing runs the pacing steps against limiters that newLimiter builds
// on a fake clock, so that every Limiter is held to the same behaviour.
func runPacing(t *testing.T, newLimiter func(t *testing.T, lim Limit, clock *limiterClock) Limiter) {
	type step = pacingStep
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{
			name:  "burst, then one every interval",
			limit: Limit{Every: time.Second, Burst: 3},
			steps: []step{
				{key: "a"}, {key: "a"}, {key: "a"},
				{key: "a", wait: time.Second},
				{key: "a", wait: time.Second},
				{advance: 10 * time.Second, key: "a"}, {key: "a"}, {key: "a"},
				{key: "a", wait: time.Second},
			},
		},
		{
			name:  "a burst below 1 counts as 1",
			limit: Limit{Every: time.Second},
			steps: []step{{key: "a"}, {key: "a", wait: time.Second}},
		},
		{
			name:  "keys have their own budgets",
			limit: Limit{Every: time.Minute, Burst: 1},
			steps: []step{{key: "a"}, {key: "b"}, {key: "a", wait: time.Minute}, {key: "c"}},
		},
		{
			name:  "no rate limit",
			limit: Limit{},
			steps: []step{{key: "a"}, {key: "a"}, {key: "a"}, {key: "a"}},
		},
		{
			name:  "refused past the longest wait, reserving nothing",
			limit: Limit{Every: 8 * time.Second, Burst: 1, MaxWait: 5 * time.Second},
			steps: []step{
				{key: "a"},
				{key: "a", refused: 8 * time.Second},
				{key: "a", refused: 8 * time.Second},
				{advance: 6 * time.Second, key: "a", wait: 2 * time.Second},
				{advance: 8 * time.Second, key: "a"},
			},
		},
		{
			name:  "refused past the deadline, waited out without one",
			limit: Limit{Every: time.Second, Burst: 1},
			steps: []step{
				{key: "a"},
				{key: "a", timeout: time.Hour, wait: time.Second},
				{key: "a", timeout: 100 * time.Millisecond, refused: time.Second},
				{key: "a", wait: time.Second},
			},
		},
		{
			name:  "the sooner of deadline and longest wait bounds the wait",
			limit: Limit{Every: 3 * time.Second, Burst: 1, MaxWait: 5 * time.Second},
			steps: []step{
				{key: "a"},
				{key: "a", timeout: time.Hour, wait: 3 * time.Second},
				{key: "a", timeout: time.Second, refused: 3 * time.Second},
			},
		},
		{
			name:  "a pause holds the key, not others, and keeps the bucket",
			limit: Limit{Every: time.Second, Burst: 2},
			steps: []step{
				{key: "a", pause: 3 * time.Second},
				{key: "b"},
				{key: "a", wait: 3 * time.Second},
				{key: "a"}, // the bucket filled up during the pause
				{key: "a"},
				{key: "a", wait: time.Second},
			},
		},
		{
			name:  "a shorter pause does not shorten a longer one",
			limit: Limit{Every: time.Millisecond, Burst: 10},
			steps: []step{
				{key: "a", pause: 5 * time.Second},
				{key: "a", pause: time.Second},
				{key: "a", wait: 5 * time.Second},
				{key: "a", pause: -time.Second},
				{key: "a"},
			},
		},
		{
			name:  "a pause past the longest wait is refused with what is left of it",
			limit: Limit{Every: time.Second, Burst: 1, MaxWait: 5 * time.Second},
			steps: []step{
				{key: "a", pause: 30 * time.Second},
				{advance: 10 * time.Second, key: "a", refused: 20 * time.Second},
				{advance: 16 * time.Second, key: "a", wait: 4 * time.Second},
				{key: "a"},
				{key: "a", wait: time.Second},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newLimiterClock()
			l := newLimiter(t, tt.limit, clock)
			for i, s := range tt.steps {
				clock.advance(s.advance)
				if s.pause != 0 {
					l.Pause(s.key, clock.now().Add(s.pause))
					continue
				}
				ctx := context.Background()
				if s.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, s.timeout)
					defer cancel()
				}
				release, err := l.Acquire(ctx, s.key)
				var wait time.Duration
				for _, d := range clock.takeSleeps() {
					wait += d
				}
				if wait != s.wait {
					t.Errorf("step %d: Acquire(%q) waited %v, want %v", i, s.key, wait, s.wait)
				}
				if s.refused == 0 {
					if err != nil {
						t.Fatalf("step %d: Acquire(%q) = %v, want a turn", i, s.key, err)
					}
					release()
					continue
				}
				var ae *upstream.APIError
				if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter != s.refused || !Transient(err) {
					t.Fatalf("step %d: Acquire(%q) = %v, want a transient 429 *upstream.APIError with RetryAfter %v", i, s.key, err, s.refused)
				}
				if ae.Body != defaultRefusal {
					t.Errorf("step %d: refusal body = %q, want %q", i, ae.Body, defaultRefusal)
				}
			}
		})
	}
}

func TestLimiterRefusalBody(t *testing.T) {
	t.Parallel()
	l := NewLimiter(Limit{Every: time.Hour, Burst: 1, MaxWait: time.Second, Refusal: "the budget is used up"})
	ctx := context.Background()
	if _, err := l.Acquire(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	_, err := l.Acquire(ctx, "a")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Body != "the budget is used up" {
		t.Errorf("Acquire() past the budget = %v, want the Limit's refusal as body", err)
	}
}

// TestLimiterConcurrencyCap: past the cap, Acquire waits for a release (it
// is not refused), and gives up when ctx ends.
func TestLimiterConcurrencyCap(t *testing.T) {
	t.Parallel()
	l := NewLimiter(Limit{Concurrent: 2})
	ctx := context.Background()
	r1, err1 := l.Acquire(ctx, "a")
	r2, err2 := l.Acquire(ctx, "a")
	if err1 != nil || err2 != nil {
		t.Fatalf("Acquire() under the cap = %v, %v", err1, err2)
	}
	if rb, err := l.Acquire(ctx, "b"); err != nil {
		t.Errorf("Acquire(b) = %v, want its own slots", err)
	} else {
		rb()
	}

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire() over the cap until the deadline = %v, want the context's error", err)
	}

	got := make(chan error, 1)
	go func() {
		r, err := l.Acquire(ctx, "a")
		if err == nil {
			r()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Acquire() over the cap returned %v before a slot was released", err)
	case <-time.After(30 * time.Millisecond):
	}
	r1()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("Acquire() after a release = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Acquire() still waits after a release")
	}
	r2()

	// Under load, no more than the cap are ever in flight.
	var mu sync.Mutex
	in, most := 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			release, err := l.Acquire(ctx, "load")
			if err != nil {
				t.Errorf("Acquire(load) = %v", err)
				return
			}
			mu.Lock()
			in++
			most = max(most, in)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			in--
			mu.Unlock()
			release()
		})
	}
	wg.Wait()
	if most != 2 {
		t.Errorf("at most %d requests in flight, want 2", most)
	}
}

// TestLimiterContextEndsWait: a wait that ctx ends returns ctx's error and
// hands the turn back.
func TestLimiterContextEndsWait(t *testing.T) {
	t.Parallel()
	l := NewLimiter(Limit{Every: time.Second, Burst: 1})
	ctx := context.Background()
	if _, err := l.Acquire(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	waiting, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := l.Acquire(waiting, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire() cancelled while waiting = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Acquire() returned %v after the cancel, want at once", d)
	}
	// The next turn is still within a second of the first, not two.
	short, stop := context.WithTimeout(ctx, time.Millisecond)
	defer stop()
	_, err := l.Acquire(short, "a")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.RetryAfter > time.Second {
		t.Errorf("Acquire() after a cancelled wait = %v, want a refusal retrying within a second", err)
	}
}

// TestLimiterEvictsIdleKeys: keys whose bucket is full again, with no
// pause and nothing in flight, are dropped once a sweepEvery; the others
// stay.
func TestLimiterEvictsIdleKeys(t *testing.T) {
	t.Parallel()
	l, clock := newClockedLimiter(t, Limit{Every: time.Second, Burst: 2, Concurrent: 1})
	ctx := context.Background()
	for i := range 1000 {
		release, err := l.Acquire(ctx, fmt.Sprint("key-", i))
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	l.Pause("paused", clock.now().Add(2*sweepEvery))
	held, err := l.Acquire(ctx, "held")
	if err != nil {
		t.Fatal(err)
	}
	if n := l.keyCount(); n != 1002 {
		t.Fatalf("keys = %d, want 1002", n)
	}

	clock.advance(sweepEvery + time.Second)
	release, err := l.Acquire(ctx, "next")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if n := l.keyCount(); n != 3 {
		t.Errorf("keys after a sweep = %d, want 3 (paused, held, next)", n)
	}
	release, err = l.Acquire(ctx, "paused")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if diff := cmp.Diff([]time.Duration{2*sweepEvery - sweepEvery - time.Second}, clock.takeSleeps()); diff != "" {
		t.Errorf("Acquire(paused) waits mismatch (-want +got), want it to wait out the pause the sweep kept:\n%s", diff)
	}
	held()

	clock.advance(3 * sweepEvery)
	l.Pause("fresh", clock.now().Add(-time.Second))
	if n := l.keyCount(); n != 1 {
		t.Errorf("keys after the last sweep = %d, want 1 (fresh)", n)
	}
}

// TestLimiterEvictsKeysWithoutRate: with only a concurrency cap, keys
// with nothing in flight are idle.
func TestLimiterEvictsKeysWithoutRate(t *testing.T) {
	t.Parallel()
	l, clock := newClockedLimiter(t, Limit{Concurrent: 1})
	ctx := context.Background()
	for _, key := range []string{"a", "b"} {
		release, err := l.Acquire(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	clock.advance(sweepEvery + time.Second)
	l.Pause("c", time.Time{})
	if n := l.keyCount(); n != 1 {
		t.Errorf("keys after a sweep = %d, want 1", n)
	}
}

// TestLimiterKeepsKeysWithWaiters: a sweep while an Acquire waits keeps
// the key's entry, even when its bucket has filled up and its pause ended,
// so that the waiter and later callers share one budget.
func TestLimiterKeepsKeysWithWaiters(t *testing.T) {
	t.Parallel()
	clock := newLimiterClock()
	l := NewLimiter(Limit{Every: time.Second, Burst: 1, Concurrent: 1})
	kept := -1
	l.SetClock(clock.now, func(ctx context.Context, d time.Duration) error {
		clock.advance(d + sweepEvery)
		l.Pause("trigger", time.Time{}) // sweeps
		kept = l.keyCount()
		return nil
	})
	l.Pause("a", clock.now().Add(time.Second))
	release, err := l.Acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if kept != 2 {
		t.Errorf("keys during the wait = %d, want 2 (a, trigger)", kept)
	}
}

// BenchmarkLimiter measures Acquire and release without waiting (the
// rate and the cap are never reached), on one key and across 1000.
func BenchmarkLimiter(b *testing.B) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("realm-", i)
	}
	lim := Limit{Every: time.Nanosecond, Burst: 1 << 30, Concurrent: 64}
	for _, bb := range []struct {
		name string
		keys []string
	}{{"one_key", keys[:1]}, {"1k_keys", keys}} {
		b.Run(bb.name, func(b *testing.B) {
			l := NewLimiter(lim)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				release, err := l.Acquire(ctx, bb.keys[i%len(bb.keys)])
				if err != nil {
					b.Fatal(err)
				}
				release()
				i++
			}
		})
		b.Run(bb.name+"_parallel", func(b *testing.B) {
			l := NewLimiter(lim)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					release, err := l.Acquire(ctx, bb.keys[i%len(bb.keys)])
					if err != nil {
						b.Fatal(err)
					}
					release()
					i++
				}
			})
		})
	}
}

// TestLimiterBoundsKeys: a limiter full of busy keys refuses a new key
// (nothing is sent) instead of forgetting a key whose budget is spent,
// drops idle keys at once when a new one needs room, and always records a
// pause.
func TestLimiterBoundsKeys(t *testing.T) {
	t.Parallel()
	l, clock := newClockedLimiter(t, Limit{Every: 100 * time.Millisecond, Burst: 2, MaxKeys: 3})
	ctx := context.Background()
	acquire := func(key string) error {
		t.Helper()
		release, err := l.Acquire(ctx, key)
		if err == nil {
			release()
		}
		return err
	}
	for _, key := range []string{"a", "b", "c"} {
		for range 2 { // each spends its whole burst
			if err := acquire(key); err != nil {
				t.Fatalf("Acquire(%s) = %v", key, err)
			}
		}
	}
	err := acquire("flood-1")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter != 200*time.Millisecond {
		t.Fatalf("Acquire(new key, limiter full of busy keys) = %v, want a 429 with RetryAfter 200ms", err)
	}
	if n := l.keyCount(); n != 3 {
		t.Errorf("keys = %d, want 3", n)
	}
	// a's spent budget was kept: its next turn is a refill away, not now.
	if err := acquire("a"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{100 * time.Millisecond}, clock.takeSleeps()); diff != "" {
		t.Errorf("Acquire(a) waits (-want +got), want it to wait for its turn:\n%s", diff)
	}
	// Once the buckets refill, a new key finds room: the idle ones go.
	clock.advance(250 * time.Millisecond)
	if err := acquire("flood-2"); err != nil {
		t.Fatalf("Acquire(new key) after the refill = %v", err)
	}
	if n := l.keyCount(); n > 3 {
		t.Errorf("keys = %d, want at most 3", n)
	}
	// A pause is recorded even when the limiter is full, and kept.
	for _, key := range []string{"p1", "p2", "p3"} {
		l.Pause(key, clock.now().Add(time.Hour))
	}
	clock.advance(time.Second)
	if err := acquire("flood-3"); err == nil {
		t.Errorf("Acquire(new key, limiter full of paused keys) = nil, want a 429")
	}
	release, err := l.Acquire(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if s := clock.takeSleeps(); len(s) != 1 || s[0] < 59*time.Minute {
		t.Errorf("Acquire(p1) waits %v, want the hour's pause kept", s)
	}
}

// TestLimiterFloodKeepsRate: however many other keys come and go, one
// key never gets more than its budget: over a simulated minute of
// requests for it mixed with a flood of new keys, it is let through at
// most Burst + a minute's worth of turns.
func TestLimiterFloodKeepsRate(t *testing.T) {
	t.Parallel()
	// Clearbit's budget, with few keys so the flood fills the limiter.
	lim := Limit{Every: 100 * time.Millisecond, Burst: 10, MaxWait: time.Nanosecond, MaxKeys: 8}
	l, clock := newClockedLimiter(t, lim)
	ctx := context.Background()
	admitted := 0
	flood := 0
	for step := range 6000 { // 60 s in 10 ms steps
		clock.advance(10 * time.Millisecond)
		for range 5 {
			flood++
			if release, err := l.Acquire(ctx, fmt.Sprint("flood-", flood)); err == nil {
				release()
			}
		}
		if release, err := l.Acquire(ctx, "victim"); err == nil {
			release()
			admitted++
		}
		if n := l.keyCount(); n > lim.MaxKeys+1 {
			t.Fatalf("step %d: keys = %d, want at most %d", step, n, lim.MaxKeys)
		}
	}
	if max := lim.Burst + int(time.Minute/lim.Every); admitted > max {
		t.Errorf("victim let through %d times in a minute, want at most %d", admitted, max)
	}
	if admitted < 500 {
		t.Errorf("victim let through %d times in a minute, want its budget (about 600): the flood must not starve a known key", admitted)
	}
}
