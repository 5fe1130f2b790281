package stripe

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"hubspot-actions/actions/upstream"
)

// Stripe allows 25 requests a second in test mode and 100 in live mode, per
// account. We stay under both with a margin for other clients of the same
// account (the Dashboard, the merchant's own integration).
const (
	testRate = 20
	liveRate = 80
)

// limiter spaces requests per key (a generic cell rate algorithm: each key
// has a theoretical arrival time that every request pushes on by one
// interval, and bursts of up to a second's worth pass at once). It holds
// key hashes, never keys.
type limiter struct {
	mu   sync.Mutex
	tat  map[[16]byte]time.Time
	rate func(key string) int
}

func newLimiter() *limiter {
	return &limiter{tat: map[[16]byte]time.Time{}, rate: defaultRate}
}

func defaultRate(key string) int {
	if strings.Contains(key, "_test_") {
		return testRate
	}
	return liveRate
}

// wait blocks until key may send a request. When the wait would outlast
// ctx's deadline it reserves nothing and returns a 429 *upstream.APIError
// whose RetryAfter says when to come back, so the runtime reschedules the
// execution instead of letting it time out.
func (l *limiter) wait(ctx context.Context, key string, now func() time.Time) error {
	rate := l.rate(key)
	interval := time.Second / time.Duration(rate)
	burst := time.Duration(rate) * interval
	id := keyID(key)

	l.mu.Lock()
	t := now()
	tat := l.tat[id]
	if tat.Before(t) {
		tat = t
	}
	next := tat.Add(interval)
	delay := max(next.Sub(t)-burst, 0)
	if deadline, ok := ctx.Deadline(); ok && t.Add(delay).After(deadline) {
		l.mu.Unlock()
		return &upstream.APIError{Status: http.StatusTooManyRequests, Body: "client-side rate limit for this Stripe key", RetryAfter: delay}
	}
	l.tat[id] = next
	if len(l.tat) > 1000 {
		for k, v := range l.tat {
			if v.Before(t) {
				delete(l.tat, k)
			}
		}
	}
	l.mu.Unlock()

	if delay == 0 {
		return nil
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
