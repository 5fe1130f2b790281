package clearbit

import "time"

// SetNow replaces the client's clock, for tests of rate-limit timing.
func SetNow(c *Client, now func() time.Time) {
	c.now = now
	c.lim = newLimiter(c.perMinute, c.burst, now)
}
