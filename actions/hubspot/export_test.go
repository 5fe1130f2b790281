package hubspot

import "time"

// What the tests in package hubspot_test use. They are external so that
// they can pace the client with actions' limiter, as cmd does.

const DefaultRateWait = defaultRateWait

// SetNow sets the client's clock.
func (h *Client) SetNow(now func() time.Time) { h.now = now }
