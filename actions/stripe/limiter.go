package stripe

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"hubspot-actions/actions"
)

// Stripe allows 25 requests a second in test mode and 100 in live mode, per
// account. We stay under both with a margin for other clients of the same
// account (the Dashboard, the merchant's own integration).
const (
	testRate = 20
	liveRate = 80
)

// newLimiter paces each key to rate requests a second, in bursts of up to
// a second's worth. A wait that would outlast the request's ctx deadline is
// refused with a 429 whose RetryAfter says when to come back, so that the
// runtime reschedules the execution instead of letting it time out.
func newLimiter(rate int) actions.Limiter {
	return actions.NewLimiter(limit(rate))
}

// limit is the per-key budget of rate requests a second.
func limit(rate int) actions.Limit {
	return actions.Limit{
		Every:   time.Second / time.Duration(rate),
		Burst:   rate,
		Refusal: "client-side rate limit for this Stripe key",
	}
}

// WithLimiters returns a client like c paced by limiters built by
// newLimiter for test and live keys (shared by several replicas, say).
func (c *Client) WithLimiters(newLimiter func(name string, l actions.Limit) actions.Limiter) *Client {
	n := *c
	n.testLimit = newLimiter(ID+"-test", limit(testRate))
	n.liveLimit = newLimiter(ID+"-live", limit(liveRate))
	return &n
}

// limiter returns the limiter for key's mode: a test key ("sk_test_…",
// "rk_test_…") is limited to testRate, others to liveRate.
func (c *Client) limiter(key string) actions.Limiter {
	if strings.Contains(key, "_test_") {
		return c.testLimit
	}
	return c.liveLimit
}

// limitKey names a key to the limiter without handing it the key itself.
func limitKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}
