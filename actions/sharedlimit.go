package actions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
)

// SharedLimiter is the Limiter of several replicas on one PostgreSQL
// database: each key's turns, pauses and concurrency slots live in the
// database (store.TakeRateTurn, store.TakeRateLease), so all the replicas
// together stay within the Limit, as one LocalLimiter would. It is safe
// for concurrent use.
//
// Turns are computed on the replica's clock, passed to the database, so
// the replicas' clocks must agree (NTP): a replica whose clock is d ahead
// can take at most d/Every turns early. Keys are not bounded by MaxKeys:
// a key's row is idle once its bucket is full again, and the prune chore
// (PruneRateLimits) deletes idle rows, so the table holds about the keys
// used in the last minutes.
//
// When the database cannot be reached, Acquire refuses with a 429 (nothing
// is sent, the runtime reschedules) rather than let requests through
// unpaced.
type SharedLimiter struct {
	db    *store.DB
	name  string
	limit Limit
	log   *slog.Logger
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// holder names this limiter's leases.
	holder string
}

// Lease bounds: a slot's lease lasts until the request's ctx deadline plus
// leaseMargin, or leaseTTL without a deadline (every outbound client has a
// timeout shorter than that), so a replica that dies holding one frees it
// within leaseTTL.
const (
	leaseTTL    = 2 * time.Minute
	leaseMargin = 5 * time.Second
	// slotPollMin and slotPollMax bound the wait between tries for a slot
	// while the cap is reached.
	slotPollMin = 5 * time.Millisecond
	slotPollMax = 200 * time.Millisecond
	// unavailableWait is the RetryAfter of a refusal because the database
	// failed.
	unavailableWait = 5 * time.Second
	// pauseTimeout bounds the write of a pause, and of a turn handed back
	// or a slot freed after the caller's ctx ended.
	pauseTimeout = 5 * time.Second
)

// NewSharedLimiter returns a limiter that paces every key to lim across
// every process using db, which must be PostgreSQL. name tells this
// limit's keys from other limits' in the database: the same name on every
// replica, another name for every budget.
func NewSharedLimiter(db *store.DB, name string, lim Limit, log *slog.Logger) *SharedLimiter {
	lim.Burst = max(lim.Burst, 1)
	if lim.Refusal == "" {
		lim.Refusal = defaultRefusal
	}
	b := make([]byte, 12)
	rand.Read(b)
	return &SharedLimiter{db: db, name: name, limit: lim, log: log.With("limiter", name), now: time.Now, sleep: sleep, holder: hex.EncodeToString(b)}
}

// SetClock replaces the limiter's clock and its way of waiting, for tests
// on a fake clock, as LocalLimiter.SetClock does. Call it before use.
func (l *SharedLimiter) SetClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) {
	l.now = now
	if sleep != nil {
		l.sleep = sleep
	}
}

// Acquire implements Limiter.
func (l *SharedLimiter) Acquire(ctx context.Context, key string) (func(), error) {
	allowed, bounded := waitLimit(ctx, l.limit.MaxWait)
	if !bounded {
		allowed = 100 * 365 * 24 * time.Hour
	}
	turn, err := l.db.TakeRateTurn(ctx, l.name, key, l.now(), l.limit.Every, l.limit.Burst, max(allowed, 0))
	if err != nil {
		return nil, l.unavailable(ctx, err)
	}
	if !turn.Allowed {
		return nil, &upstream.APIError{Status: http.StatusTooManyRequests, Body: l.limit.Refusal, RetryAfter: turn.Wait}
	}
	if turn.Wait > 0 {
		if err := l.sleep(ctx, turn.Wait); err != nil {
			bg, cancel := afterCtx(ctx)
			defer cancel()
			if gerr := l.db.GiveBackRateTurn(bg, l.name, key, turn, l.limit.Every); gerr != nil {
				l.log.WarnContext(ctx, "give back a rate turn", "err", gerr)
			}
			return nil, err
		}
	}
	if l.limit.Concurrent <= 0 {
		return noRelease, nil
	}
	return l.slot(ctx, key)
}

// slot waits for one of key's slots or for ctx to end, trying again with a
// growing pause while all are held.
func (l *SharedLimiter) slot(ctx context.Context, key string) (func(), error) {
	poll := slotPollMin
	for {
		now := l.now()
		expires := now.Add(leaseTTL)
		if dl, ok := ctx.Deadline(); ok {
			expires = now.Add(min(time.Until(dl)+leaseMargin, leaseTTL))
		}
		slot, ok, err := l.db.TakeRateLease(ctx, l.name, key, l.limit.Concurrent, l.holder, now, expires)
		if err != nil {
			return nil, l.unavailable(ctx, err)
		}
		if ok {
			return func() {
				bg, cancel := afterCtx(ctx)
				defer cancel()
				if err := l.db.ReleaseRateLease(bg, l.name, key, slot, l.holder); err != nil {
					// The lease expires by itself.
					l.log.WarnContext(ctx, "release a rate lease", "err", err)
				}
			}, nil
		}
		if err := l.sleep(ctx, poll); err != nil {
			return nil, err
		}
		poll = min(2*poll, slotPollMax)
	}
}

// Pause implements Limiter. The pause is written to the database at once,
// within pauseTimeout; when that fails it is logged and lost, and the next
// request learns of the upstream's limit again.
func (l *SharedLimiter) Pause(key string, until time.Time) {
	// Limiter.Pause takes no ctx; the write is bounded instead.
	ctx, cancel := context.WithTimeout(context.Background(), pauseTimeout)
	defer cancel()
	if err := l.db.PauseRateLimit(ctx, l.name, key, l.now(), until); err != nil {
		l.log.Warn("pause a rate limit", "err", err)
	}
}

// afterCtx is the context of a write that must happen even though ctx
// ended (handing back a turn, freeing a slot), bounded by pauseTimeout.
func afterCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), pauseTimeout)
}

// unavailable is the refusal of an Acquire the database failed, or ctx's
// error when ctx ended.
func (l *SharedLimiter) unavailable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	l.log.WarnContext(ctx, "shared rate limit unavailable", "err", err)
	return &upstream.APIError{Status: http.StatusTooManyRequests, Body: l.limit.Refusal + " (the shared limit could not be read)", RetryAfter: unavailableWait}
}

// PruneRateLimits is the chore that deletes the shared limiters' idle rows:
// those idle for a minute, which a fresh row equals.
func PruneRateLimits(db *store.DB, log *slog.Logger) Chore {
	return Chore{Name: "prune_rate_limits", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
		n, err := db.PruneRateLimits(ctx, time.Now().Add(-time.Minute))
		if err != nil {
			return err
		}
		if n > 0 {
			log.InfoContext(ctx, "pruned idle rate limits", "rows", n)
		}
		return nil
	}}
}
