package quickbooks

import (
	"context"
	"net/http"
	"sync"
	"time"

	"hubspot-actions/actions/upstream"
)

// Intuit's documented limits per company (realm) and app.
const (
	DefaultRequestsPerMinute = 500
	DefaultMaxConcurrent     = 10
)

// Limiter paces requests to each company so that the app stays under
// Intuit's limits: at most perMinute requests in any minute and at most
// concurrent requests in progress. It is safe for concurrent use and is
// shared by every Client of the process. It keeps a small entry per realm
// ever seen, which is bounded by the companies connected to the app.
type Limiter struct {
	burst      float64
	perSecond  float64
	concurrent int
	now        func() time.Time

	mu     sync.Mutex
	realms map[string]*realmLimit
}

type realmLimit struct {
	tokens float64
	last   time.Time
	slots  chan struct{}
}

// NewLimiter returns a limiter for perMinute requests and concurrent
// requests in flight per realm; zero or negative values take Intuit's
// limits.
func NewLimiter(perMinute, concurrent int) *Limiter {
	if perMinute <= 0 {
		perMinute = DefaultRequestsPerMinute
	}
	if concurrent <= 0 {
		concurrent = DefaultMaxConcurrent
	}
	// A token bucket of burst b refilled at r per second admits at most
	// b + 60r requests in any minute; choose b + 60r = perMinute.
	burst := max(1, perMinute/10)
	rest := max(perMinute-burst, 1)
	return &Limiter{
		burst:      float64(burst),
		perSecond:  float64(rest) / 60,
		concurrent: concurrent,
		now:        time.Now,
		realms:     map[string]*realmLimit{},
	}
}

// maxWait bounds how long a request queues for its turn; past it the
// request is not sent and the caller retries later.
const maxWait = 5 * time.Second

// acquire waits for a request slot for realm and returns its release. When
// the turn would come later than maxWait (or after ctx's deadline) it
// reserves nothing and returns a 429 *upstream.APIError with RetryAfter, so
// the runtime reschedules instead of queueing; a reservation given up
// because ctx ended is handed back.
func (l *Limiter) acquire(ctx context.Context, realm string) (func(), error) {
	if l == nil {
		return func() {}, nil
	}
	l.mu.Lock()
	rl := l.realms[realm]
	now := l.now()
	if rl == nil {
		rl = &realmLimit{tokens: l.burst, last: now, slots: make(chan struct{}, l.concurrent)}
		l.realms[realm] = rl
	}
	rl.tokens = min(l.burst, rl.tokens+now.Sub(rl.last).Seconds()*l.perSecond)
	rl.last = now
	wait := time.Duration(0)
	if rl.tokens < 1 {
		wait = time.Duration((1 - rl.tokens) / l.perSecond * float64(time.Second))
	}
	limit := maxWait
	if dl, ok := ctx.Deadline(); ok {
		limit = min(limit, dl.Sub(now))
	}
	if wait > limit {
		l.mu.Unlock()
		return nil, &upstream.APIError{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Body: "QuickBooks request budget for this company is used up (our own pacing, nothing was sent)"}
	}
	rl.tokens-- // reserve; a negative balance is the queue ahead of us
	l.mu.Unlock()
	giveBack := func() {
		l.mu.Lock()
		rl.tokens++
		l.mu.Unlock()
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			giveBack()
			return nil, ctx.Err()
		}
	}
	select {
	case rl.slots <- struct{}{}:
		return func() { <-rl.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
