package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// sharedReplicas opens n stores on one new PostgreSQL database, as n
// replicas would, or skips t on SQLite.
func sharedReplicas(t testing.TB, n int) []*store.DB {
	t.Helper()
	if !storetest.Postgres() {
		t.Skip("the shared limiter needs PostgreSQL: set TEST_DATABASE_URL (make test's PostgreSQL run does)")
	}
	url := storetest.URL(t)
	dbs := make([]*store.DB, n)
	for i := range dbs {
		db, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("open replica %d: %v", i, err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestSharedLimiterPacing holds the shared limiter to the local one's
// pacing table: same waits, same refusals and RetryAfters.
func TestSharedLimiterPacing(t *testing.T) {
	t.Parallel()
	db := sharedReplicas(t, 1)[0]
	var mu sync.Mutex
	n := 0
	runPacing(t, func(t *testing.T, lim Limit, clock *limiterClock) Limiter {
		mu.Lock()
		n++
		name := fmt.Sprint("pacing-", n) // every subtest its own budget
		mu.Unlock()
		l := NewSharedLimiter(db, name, lim, quietLog())
		l.SetClock(clock.now, clock.sleep)
		return l
	})
}

// TestSharedLimiterReplicas: two limiters on two stores of one database
// (two replicas), taking turns for one key on a shared fake clock, are let
// through at most burst + window/every times, and together get that whole
// budget.
func TestSharedLimiterReplicas(t *testing.T) {
	t.Parallel()
	dbs := sharedReplicas(t, 2)
	lim := Limit{Every: 100 * time.Millisecond, Burst: 10, MaxWait: time.Microsecond}
	clock := newLimiterClock()
	var ls []*SharedLimiter
	for _, db := range dbs {
		l := NewSharedLimiter(db, "clearbit", lim, quietLog())
		l.SetClock(clock.now, clock.sleep)
		ls = append(ls, l)
	}
	ctx := context.Background()
	admitted := make([]int, 2)
	const window = 10 * time.Second
	for step := range int(window / (10 * time.Millisecond)) {
		clock.advance(10 * time.Millisecond)
		for i, l := range ls {
			release, err := l.Acquire(ctx, "key")
			if err == nil {
				release()
				admitted[i]++
				continue
			}
			var ae *upstream.APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter <= 0 {
				t.Fatalf("step %d: replica %d: Acquire() = %v, want a turn or a 429 with a RetryAfter", step, i, err)
			}
		}
	}
	total := admitted[0] + admitted[1]
	// The first turn comes one step in, so the window holds one turn
	// less than the bound.
	if most := lim.Burst + int(window/lim.Every); total > most || total < most-1 {
		t.Errorf("replicas let through %d (%v) in %v, want %d or %d (burst + window/every at most)", total, admitted, window, most-1, most)
	}
	if admitted[0] == 0 || admitted[1] == 0 {
		t.Errorf("let through %v, want both replicas served", admitted)
	}
}

// TestSharedLimiterReplicasRealClock: replicas hammering one key from
// many goroutines on the real clock never get more than burst + the
// elapsed time's turns (counts only; slowness only loosens the bound).
func TestSharedLimiterReplicasRealClock(t *testing.T) {
	t.Parallel()
	dbs := sharedReplicas(t, 2)
	lim := Limit{Every: 40 * time.Millisecond, Burst: 5, MaxWait: time.Millisecond}
	ctx := context.Background()
	var mu sync.Mutex
	admitted := 0
	start := time.Now()
	var wg sync.WaitGroup
	for _, db := range dbs {
		l := NewSharedLimiter(db, "hubspot", lim, quietLog())
		for range 4 {
			wg.Go(func() {
				for time.Since(start) < 400*time.Millisecond {
					release, err := l.Acquire(ctx, "portal-1")
					if err != nil {
						var ae *upstream.APIError
						if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
							t.Errorf("Acquire() = %v, want a turn or a 429", err)
							return
						}
						time.Sleep(2 * time.Millisecond)
						continue
					}
					release()
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if most := lim.Burst + int(elapsed/lim.Every) + 1; admitted > most {
		t.Errorf("let through %d in %v, want at most %d", admitted, elapsed, most)
	}
	if admitted < lim.Burst {
		t.Errorf("let through %d, want at least the burst %d", admitted, lim.Burst)
	}
}

// TestSharedLimiterPauseShared: a pause learnt on one replica holds the
// key on the other, and a wait ctx cuts short hands its turn back.
func TestSharedLimiterPauseShared(t *testing.T) {
	t.Parallel()
	dbs := sharedReplicas(t, 2)
	clock := newLimiterClock()
	lim := Limit{Every: time.Second, Burst: 1}
	a := NewSharedLimiter(dbs[0], "quickbooks", lim, quietLog())
	b := NewSharedLimiter(dbs[1], "quickbooks", lim, quietLog())
	a.SetClock(clock.now, clock.sleep)
	b.SetClock(clock.now, clock.sleep)
	a.Pause("realm", clock.now().Add(7*time.Second))
	release, err := b.Acquire(context.Background(), "realm")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if s := clock.takeSleeps(); len(s) != 1 || s[0] != 7*time.Second {
		t.Errorf("Acquire() on the other replica waited %v, want the 7s pause", s)
	}

	// A wait cut short hands the turn back: after b's next turn (now,
	// t+7s), the one after is a second away, not two.
	if _, err := b.Acquire(context.Background(), "realm"); err != nil {
		t.Fatal(err)
	}
	cut := NewSharedLimiter(dbs[0], "quickbooks", lim, quietLog())
	cut.SetClock(clock.now, func(context.Context, time.Duration) error { return context.Canceled })
	if _, err := cut.Acquire(context.Background(), "realm"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire() with its wait cut short = %v, want context.Canceled", err)
	}
	clock.takeSleeps()
	if _, err := b.Acquire(context.Background(), "realm"); err != nil {
		t.Fatal(err)
	}
	if s := clock.takeSleeps(); len(s) != 1 || s[0] != time.Second {
		t.Errorf("Acquire() after a cancelled wait waited %v, want 1s (the turn handed back)", s)
	}
}

// TestSharedLimiterConcurrencyCap: across two replicas, no more than the
// cap are ever in flight for a key, and every request gets its slot.
func TestSharedLimiterConcurrencyCap(t *testing.T) {
	t.Parallel()
	dbs := sharedReplicas(t, 2)
	lim := Limit{Concurrent: 3}
	ctx := context.Background()
	var mu sync.Mutex
	in, most, done := 0, 0, 0
	var wg sync.WaitGroup
	for _, db := range dbs {
		l := NewSharedLimiter(db, "quickbooks", lim, quietLog())
		for range 8 {
			wg.Go(func() {
				for range 3 {
					release, err := l.Acquire(ctx, "realm")
					if err != nil {
						t.Errorf("Acquire() = %v", err)
						return
					}
					mu.Lock()
					in++
					most = max(most, in)
					mu.Unlock()
					time.Sleep(3 * time.Millisecond)
					mu.Lock()
					in--
					done++
					mu.Unlock()
					release()
				}
			})
		}
	}
	wg.Wait()
	if most > lim.Concurrent {
		t.Errorf("at most %d requests in flight across replicas, want no more than %d", most, lim.Concurrent)
	}
	if done != 2*8*3 {
		t.Errorf("%d requests done, want %d", done, 2*8*3)
	}
	// Other keys have their own slots.
	l := NewSharedLimiter(dbs[0], "quickbooks", lim, quietLog())
	var rs []func()
	for range 3 {
		r, err := l.Acquire(ctx, "realm-2")
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(short, "realm-2"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire() over the cap until the deadline = %v, want the context's error", err)
	}
	for _, r := range rs {
		r()
	}
	if r, err := l.Acquire(ctx, "realm-2"); err != nil {
		t.Errorf("Acquire() after the releases = %v", err)
	} else {
		r()
	}
}

// TestSharedLimiterLeaseExpires: a replica that dies holding a slot (it
// never releases) holds it only until its lease expires.
func TestSharedLimiterLeaseExpires(t *testing.T) {
	t.Parallel()
	dbs := sharedReplicas(t, 2)
	clock := newLimiterClock()
	lim := Limit{Concurrent: 1}
	dead := NewSharedLimiter(dbs[0], "quickbooks", lim, quietLog())
	alive := NewSharedLimiter(dbs[1], "quickbooks", lim, quietLog())
	dead.SetClock(clock.now, clock.sleep)
	alive.SetClock(clock.now, clock.sleep)
	if _, err := dead.Acquire(context.Background(), "realm"); err != nil {
		t.Fatal(err)
	}
	start := clock.now()
	release, err := alive.Acquire(context.Background(), "realm")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if waited := clock.now().Sub(start); waited < leaseTTL || waited > leaseTTL+time.Second {
		t.Errorf("Acquire() of the dead replica's slot waited %v, want its lease's %v", waited, leaseTTL)
	}
}

// TestPruneRateLimits: idle rows go, paused ones stay, and a pruned key
// starts again with a full bucket.
func TestPruneRateLimits(t *testing.T) {
	t.Parallel()
	db := sharedReplicas(t, 1)[0]
	clock := newLimiterClock()
	l := NewSharedLimiter(db, "stripe-live", Limit{Every: time.Second, Burst: 2}, quietLog())
	l.SetClock(clock.now, clock.sleep)
	ctx := context.Background()
	for _, key := range []string{"a", "a", "b"} {
		if _, err := l.Acquire(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	l.Pause("p", clock.now().Add(time.Hour))
	if n, err := db.PruneRateLimits(ctx, clock.now()); err != nil || n != 0 {
		t.Fatalf("PruneRateLimits(now) = %d, %v, want 0 (nothing idle yet)", n, err)
	}
	clock.advance(time.Minute)
	if n, err := db.PruneRateLimits(ctx, clock.now()); err != nil || n != 2 {
		t.Fatalf("PruneRateLimits(a minute later) = %d, %v, want 2 (a, b; p is paused)", n, err)
	}
	for range 2 {
		if _, err := l.Acquire(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if s := clock.takeSleeps(); len(s) != 0 {
		t.Errorf("Acquire(a) after the prune waited %v, want a full bucket", s)
	}
}

// TestSharedLimiterSQLite: on SQLite there is no shared state; the limiter
// refuses (nothing sent) instead of letting requests through unpaced. cmd
// never builds one there.
func TestSharedLimiterSQLite(t *testing.T) {
	t.Parallel()
	storetest.SQLiteOnly(t, "checks the refusal on SQLite")
	db, err := store.Open(context.Background(), storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l := NewSharedLimiter(db, "x", Limit{Every: time.Second}, quietLog())
	_, err = l.Acquire(context.Background(), "k")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter != unavailableWait {
		t.Errorf("Acquire() on SQLite = %v, want a 429 retrying after %v", err, unavailableWait)
	}
	if n, err := db.PruneRateLimits(context.Background(), time.Now()); n != 0 || err != nil {
		t.Errorf("PruneRateLimits() on SQLite = %d, %v, want 0, nil", n, err)
	}
}

// BenchmarkSharedLimiter measures one Acquire and release against
// PostgreSQL without waiting: a rate only (one statement), and a rate
// with a concurrency cap (three statements: turn, lease, release).
func BenchmarkSharedLimiter(b *testing.B) {
	db := sharedReplicas(b, 1)[0]
	for _, bb := range []struct {
		name string
		lim  Limit
	}{
		{"rate", Limit{Every: time.Microsecond, Burst: 1 << 30}},
		{"rate_and_cap", Limit{Every: time.Microsecond, Burst: 1 << 30, Concurrent: 64}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			l := NewSharedLimiter(db, bb.name, bb.lim, quietLog())
			ctx := context.Background()
			i := 0
			for b.Loop() {
				release, err := l.Acquire(ctx, fmt.Sprint("key-", i%1000))
				if err != nil {
					b.Fatal(err)
				}
				release()
				i++
			}
		})
	}
}
