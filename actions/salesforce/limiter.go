package salesforce

import (
	"time"

	"hubspot-actions/actions"
)

// Defaults of the per-org pacing. Salesforce has no per-minute limit, only
// the org's rolling 24-hour allocation (which the whole org shares with its
// other integrations) and 25 concurrent long-running requests; the app
// keeps well under both.
const (
	DefaultRequestsPerMinute = 600
	DefaultMaxConcurrent     = 10
)

// maxWait bounds how long a request queues for its turn; past it the
// request is not sent and the caller retries later.
const maxWait = 5 * time.Second

// limit is the pace of each org, keyed by org id: at most perMinute
// requests in any minute and at most concurrent in flight; zero or negative
// values take the defaults.
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
		Refusal:    "Salesforce request budget for this org is used up (our own pacing, nothing was sent)",
	}
}
