package clearbit

import (
	"time"

	"hubspot-actions/actions"
)

// SetNow replaces the client's clock, for tests of rate-limit timing.
func SetNow(c *Client, now func() time.Time) {
	c.now = now
	c.lim = newLimiter(c.perMinute, c.burst, now)
}

// NewForTest builds the provider on a test's client, key function and
// options, without a store.
func NewForTest(c *Client, keys actions.KeyFunc, opts Options) (*Provider, error) {
	return newProvider(c, keys, opts)
}
