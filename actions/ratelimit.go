package actions

import (
	"context"
	"net/http"
	"sync"
	"time"

	"hubspot-actions/actions/upstream"

	"golang.org/x/time/rate"
)

// Limiter paces outbound requests per key, so that the app stays under an
// upstream's limits instead of collecting its 429s. A key is whatever the
// provider's limit is counted by: a digest of an API key (never the key
// itself), a QuickBooks realm id, a HubSpot portal id. Each provider has its
// own Limiter, so keys of different providers never meet. Implementations
// are safe for concurrent use. Every provider client and the HubSpot client
// depend on this interface only; LocalLimiter is the in-process one.
//
// A limiter shared by several replicas implements the same two methods over
// the database and takes a LocalLimiter's place: cmd builds every limiter
// through one factory (Deps.Limiters, which the HubSpot client's limiter
// also comes from), and on PostgreSQL that factory builds SharedLimiters,
// which keep each key's turns, pauses and slots in the database.
type Limiter interface {
	// Acquire waits for key's turn to send one request and returns the
	// function that ends it, which the caller calls exactly once, when the
	// request is done (it frees the key's concurrency slot, if the key has
	// a cap). When the turn would come later than ctx's deadline or the
	// limiter's longest wait, Acquire reserves nothing and returns at once a
	// 429 *upstream.APIError whose RetryAfter is the wait, which the runtime treats
	// like an upstream's 429 (it reschedules); nothing was sent. When ctx
	// ends while it waits, it hands the turn back and returns ctx.Err().
	Acquire(ctx context.Context, key string) (release func(), err error)
	// Pause holds key's requests until until: the upstream said its window
	// is used up (a 429's Retry-After, a reset time) or nearly so. A pause
	// never shortens an earlier, longer one.
	Pause(key string, until time.Time)
}

// Limit is the pace of one provider's keys: a token bucket refilled with
// one request every Every, holding at most Burst, and optionally a cap on
// requests in flight. A bucket of burst b refilled every e admits at most
// b + w/e requests in any window w; choose the pair so that this stays under
// the upstream's documented limit.
type Limit struct {
	Every      time.Duration // time to earn one request; 0 or less: no rate limit
	Burst      int           // requests that may go at once after a quiet spell; less than 1 counts as 1
	Concurrent int           // requests of one key in flight at once; 0 or less: no cap
	// MaxWait is the longest Acquire queues for its turn (0: only ctx's
	// deadline bounds it); past it the request is refused, so that a
	// worker slot is not held for long by an upstream that is busy anyway.
	MaxWait time.Duration
	// Refusal is the Body of the 429 *upstream.APIError of a refused Acquire, which
	// ends up in logs and the execution's last error.
	Refusal string
	// MaxKeys bounds the keys a LocalLimiter holds at once (0:
	// DefaultMaxKeys), so a flood of keys (API keys tried on the settings
	// page, say) cannot grow it without end. See LocalLimiter.
	MaxKeys int
}

// DefaultMaxKeys is a LocalLimiter's bound on keys held at once when the
// Limit sets none.
const DefaultMaxKeys = 10000

// LocalLimiter is the in-process Limiter: one x/time/rate token bucket (and
// semaphore, with a concurrency cap) per key. It is safe for concurrent use.
// A key's entry is dropped once it is idle (its bucket full, no pause, no
// request waiting or in flight), which loses nothing, so the memory held is
// bounded by the keys used in about the last minute rather than by every key
// ever seen. Eviction runs inside Acquire and Pause; there is no goroutine.
//
// It also never holds more than Limit.MaxKeys keys, and stays within it
// without forgetting anything: a new key that finds the limiter full first
// has the idle entries dropped at once (they equal a fresh entry, so
// dropping them lets no key exceed its rate), and when none is idle the new
// key's Acquire is refused with a 429 whose RetryAfter is when entries can
// next become idle, rather than dropping an entry that still holds a key's
// used-up budget, pause or waiters, which would hand that key a full
// bucket again. Pause always records its pause, since one is only learnt
// from a request that was let through.
type LocalLimiter struct {
	limit Limit
	every rate.Limit
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	keys      map[string]*keyLimit
	nextSweep time.Time
	// fullSweep is when a full limiter may next sweep for a new key: at
	// most once per refill, so a flood of new keys costs one sweep, not one
	// each.
	fullSweep time.Time
}

// keyLimit is one key's state.
type keyLimit struct {
	bucket  *rate.Limiter
	slots   chan struct{} // one element per request in flight; nil without a cap
	release func()        // frees a slot; made once, so that Acquire does not allocate
	paused  time.Time     // guarded by LocalLimiter.mu
	// waiting counts the Acquire calls waiting with the entry, so that it
	// is not dropped under them (a second entry for the same key would
	// double its budget); guarded by LocalLimiter.mu. Slots held keep it
	// too (len(slots) > 0).
	waiting int
}

// sweepEvery is how often idle keys are dropped.
const sweepEvery = time.Minute

// defaultRefusal is the refusal's body when the Limit names none.
const defaultRefusal = "client-side rate limit for this key; nothing was sent"

// NewLimiter returns an in-process limiter that paces every key to lim.
func NewLimiter(lim Limit) *LocalLimiter {
	lim.Burst = max(lim.Burst, 1)
	if lim.MaxKeys <= 0 {
		lim.MaxKeys = DefaultMaxKeys
	}
	if lim.Refusal == "" {
		lim.Refusal = defaultRefusal
	}
	every := rate.Inf
	if lim.Every > 0 {
		every = rate.Every(lim.Every)
	}
	return &LocalLimiter{limit: lim, every: every, now: time.Now, sleep: sleep, keys: map[string]*keyLimit{}}
}

// SetClock replaces the limiter's clock and its way of waiting, for tests
// that run on a fake clock; a nil sleep keeps the real one. Call it before
// the limiter is used. ctx deadlines are still read on the wall clock.
func (l *LocalLimiter) SetClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) {
	l.now = now
	if sleep != nil {
		l.sleep = sleep
	}
}

// Acquire implements Limiter.
func (l *LocalLimiter) Acquire(ctx context.Context, key string) (func(), error) {
	now := l.now()
	l.mu.Lock()
	k, wait := l.entry(key, now, false)
	if k == nil {
		l.mu.Unlock()
		return nil, &upstream.APIError{Status: http.StatusTooManyRequests, Body: l.limit.Refusal + " (too many keys at once)", RetryAfter: wait}
	}
	if !k.paused.After(now) && k.bucket.AllowN(now, 1) {
		// The common case: a turn now, and a free slot if there is a cap.
		if k.slots == nil {
			l.mu.Unlock()
			return noRelease, nil
		}
		select {
		case k.slots <- struct{}{}:
			l.mu.Unlock()
			return k.release, nil
		default:
		}
		k.waiting++
		l.mu.Unlock()
		defer l.done(k)
		return l.slot(ctx, k)
	}
	k.waiting++
	paused := k.paused
	l.mu.Unlock()
	defer l.done(k)

	// The turn is later: reserve it, then wait for it and for the pause.
	r := k.bucket.ReserveN(now, 1)
	if d := max(paused.Sub(now), r.DelayFrom(now)); d > 0 {
		if limit, ok := l.waitLimit(ctx); ok && d > limit {
			r.CancelAt(now)
			return nil, &upstream.APIError{Status: http.StatusTooManyRequests, Body: l.limit.Refusal, RetryAfter: d}
		}
		if err := l.sleep(ctx, d); err != nil {
			r.CancelAt(l.now())
			return nil, err
		}
	}
	if k.slots == nil {
		return noRelease, nil
	}
	return l.slot(ctx, k)
}

// slot waits for one of k's slots or for ctx to end.
func (l *LocalLimiter) slot(ctx context.Context, k *keyLimit) (func(), error) {
	select {
	case k.slots <- struct{}{}:
		return k.release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Pause implements Limiter.
func (l *LocalLimiter) Pause(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, _ := l.entry(key, l.now(), true)
	if until.After(k.paused) {
		k.paused = until
	}
}

// noRelease is the release of a key without a concurrency cap.
func noRelease() {}

// done ends a wait begun with k.waiting++.
func (l *LocalLimiter) done(k *keyLimit) {
	l.mu.Lock()
	k.waiting--
	l.mu.Unlock()
}

// entry returns key's entry, creating it, and drops idle entries once a
// sweepEvery. When key is new and the limiter holds MaxKeys keys, it drops
// the idle ones at once (at most once per refill); when none is, it returns
// nil and how long until one may be, unless force is set. l.mu must be
// held.
func (l *LocalLimiter) entry(key string, now time.Time, force bool) (*keyLimit, time.Duration) {
	if now.After(l.nextSweep) {
		l.sweep(now)
	}
	k := l.keys[key]
	if k == nil && len(l.keys) >= l.limit.MaxKeys {
		if !now.Before(l.fullSweep) {
			l.sweep(now)
			l.fullSweep = now.Add(l.refill())
		}
		if len(l.keys) >= l.limit.MaxKeys && !force {
			return nil, max(l.fullSweep.Sub(now), time.Millisecond)
		}
	}
	if k == nil {
		k = &keyLimit{bucket: rate.NewLimiter(l.every, l.limit.Burst)}
		if l.limit.Concurrent > 0 {
			slots := make(chan struct{}, l.limit.Concurrent)
			k.slots, k.release = slots, func() { <-slots }
		}
		l.keys[key] = k
	}
	return k, 0
}

// refill is how long an emptied bucket takes to fill up, after which its
// key is idle unless it is paused or busy; at least a millisecond.
func (l *LocalLimiter) refill() time.Duration {
	if l.limit.Every <= 0 {
		return time.Millisecond
	}
	return max(time.Duration(l.limit.Burst)*l.limit.Every, time.Millisecond)
}

// sweep drops the entries a new one would equal. l.mu must be held.
func (l *LocalLimiter) sweep(now time.Time) {
	full := float64(l.limit.Burst)
	for key, k := range l.keys {
		if k.waiting == 0 && len(k.slots) == 0 && !k.paused.After(now) && k.bucket.TokensAt(now) >= full {
			delete(l.keys, key)
		}
	}
	l.nextSweep = now.Add(sweepEvery)
}

// waitLimit is how long Acquire may wait, if anything bounds it. ctx's
// deadline is on the wall clock, whatever the limiter's clock.
func (l *LocalLimiter) waitLimit(ctx context.Context) (time.Duration, bool) {
	return waitLimit(ctx, l.limit.MaxWait)
}

// waitLimit is how long a limiter whose longest wait is maxWait (0: none)
// may wait under ctx, if anything bounds it.
func waitLimit(ctx context.Context, maxWait time.Duration) (time.Duration, bool) {
	limit, ok := maxWait, maxWait > 0
	if dl, has := ctx.Deadline(); has {
		if left := time.Until(dl); !ok || left < limit {
			limit, ok = left, true
		}
	}
	return limit, ok
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
