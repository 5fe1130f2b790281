package main

import (
	"strings"
	"testing"

	"hubspot-actions/oauth/hubspottest"
)

// TestAppKeySettings runs the server with the app-wide keys' settings from
// the environment: Stripe's key allowed to another portal only, Clearbit's
// to every portal with a quota of one execution a day.
func TestAppKeySettings(t *testing.T) {
	t.Parallel()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{SandboxTokens: true})
	s := startServer(t, map[string]string{"HUBSPOT_API_BASE_URL": hs.URL(),
		"STRIPE_APP_KEY_PORTALS": "999", "CLEARBIT_APP_KEY_PORTALS": "all", "CLEARBIT_APP_KEY_DAILY_QUOTA": "1"})
	const portal = sandboxPortalID

	got := s.execute(t, "stripe-create-promotion-code", "ap-k-1", portal, map[string]any{"discount_type": "percent", "percent_off": "100", "duration": "forever"})
	if got["error_code"] != "NOT_CONNECTED" || !strings.Contains(got["error_message"], "shared Stripe key is not available") {
		t.Errorf("stripe-create-promotion-code for a portal not allowed = %v", got)
	}
	got = s.execute(t, "clearbit-enrich-contact", "ap-k-2", portal, map[string]any{"email": "alex@stripe.com"})
	if got["hs_execution_state"] != "SUCCESS" {
		t.Errorf("clearbit-enrich-contact within the quota = %v", got)
	}
	got = s.execute(t, "clearbit-enrich-company", "ap-k-3", portal, map[string]any{"domain": "example.org"})
	if got["error_code"] != "RATE_LIMITED" || !strings.Contains(got["error_message"], "1 action a day") {
		t.Errorf("clearbit-enrich-company past the quota = %v", got)
	}
}
