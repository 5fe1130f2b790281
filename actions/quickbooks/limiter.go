package quickbooks

import (
	"time"

	"hubspot-actions/actions"
)

// Intuit's documented limits per company (realm) and app.
const (
	DefaultRequestsPerMinute = 500
	DefaultMaxConcurrent     = 10
)

// maxWait bounds how long a request queues for its turn; past it the
// request is not sent and the caller retries later.
const maxWait = 5 * time.Second

// limit is the pace of each company, keyed by realm id: at most perMinute
// requests in any minute and at most concurrent in flight; zero or negative
// values take Intuit's limits. A request whose turn is more than maxWait
// away (or past its ctx's deadline) is refused with a 429 rather than
// queued. One limiter is shared by every Client of the process, with an
// entry per realm in use.
func limit(perMinute, concurrent int) actions.Limit {
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
	return actions.Limit{
		Every:      time.Minute / time.Duration(rest),
		Burst:      burst,
		Concurrent: concurrent,
		MaxWait:    maxWait,
		Refusal:    "QuickBooks request budget for this company is used up (our own pacing, nothing was sent)",
	}
}
