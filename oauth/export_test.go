package oauth

import (
	"testing"
	"time"

	"hubspot-actions/oauth/hubspottest"
)

// What the tests in package oauth_test (hubspot_limit_test.go) use. They
// are external because they pace the client with actions' limiter, which
// imports oauth.

const (
	TestPortal      = testPortal
	DefaultRateWait = defaultRateWait
)

// FakeClock is a settable clock.
type FakeClock = fakeClock

// NewFakeClock returns a clock set to now.
func NewFakeClock() *FakeClock { return newFakeClock() }

// NewTestHubSpot returns a client paced by lim, on the clock now, against a
// fake HubSpot (on the same clock) that has issued tokens for TestPortal
// and for the other portals.
func NewTestHubSpot(t *testing.T, hcfg hubspottest.Config, lim RateLimiter, now func() time.Time, portals ...int64) (*HubSpot, *hubspottest.Server) {
	t.Helper()
	hcfg.Now = now
	env := newClientEnv(t, hcfg, false, lim)
	env.h.now = now
	for _, p := range portals {
		saveGrant(t, env.flow.Grants(), env.hs.Grant(p), p, time.Now().Add(time.Hour))
	}
	return env.h, env.hs
}
