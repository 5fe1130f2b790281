package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// trap is a stand-in for a real service that records every request it
// gets and refuses it: a test-mode execution must never reach it.
type trap struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // method, path and Authorization of each request
}

func newTrap(t *testing.T) *trap {
	t.Helper()
	tr := &trap{}
	tr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		tr.seen = append(tr.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		tr.mu.Unlock()
		http.Error(w, `{"error":{"message":"the real service was called"}}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(tr.Close)
	return tr
}

func (tr *trap) requests() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.seen...)
}

// TestServeTestModeRunsTheTwins: with test mode switched on through the
// settings form, the service's own executions of Clearbit's enrichment and
// Stripe's promotion code (a side effect) are answered by the providers'
// test-mode twins: both succeed with test_mode "true", and neither the
// operator's Clearbit nor its Stripe (traps here, with real-looking keys)
// receives anything. Switched off, the next execution goes to the real
// service again, which proves the traps are what the live actions call.
func TestServeTestModeRunsTheTwins(t *testing.T) {
	t.Parallel()
	clearbitTrap, stripeTrap := newTrap(t), newTrap(t)
	s := startServer(t, map[string]string{
		"CLEARBIT_BASE_URL":        clearbitTrap.URL,
		"CLEARBIT_API_KEY":         "sk_live_operator_clearbit",
		"CLEARBIT_APP_KEY_PORTALS": "all",
		"STRIPE_API_BASE_URL":      stripeTrap.URL,
		"STRIPE_SECRET_KEY":        "sk_test_operator_stripe",
	})
	wc := signIn(t, s)
	token := wc.csrf()
	if r := wc.post("/settings/test-mode", url.Values{"csrf_token": {token}, "test_mode": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("POST /settings/test-mode test_mode=on = %d:\n%s", r.Status, r.Body)
	}

	enriched := s.executeOn(t, "clearbit-enrich-contact", "tm-twin-clearbit", sandboxPortalID, "11", map[string]any{"email": "jane@acme.com"})
	if enriched["hs_execution_state"] != "SUCCESS" || enriched["test_mode"] != "true" || enriched["enriched"] != "true" || enriched["full_name"] == "" {
		t.Errorf("enrich-contact in test mode = %v, want SUCCESS, enriched true with made-up data, test_mode true", enriched)
	}
	code := s.executeOn(t, "stripe-create-promotion-code", "tm-twin-stripe", sandboxPortalID, "12",
		map[string]any{"discount_type": "percent", "percent_off": "15", "duration": "once"})
	if code["hs_execution_state"] != "SUCCESS" || code["test_mode"] != "true" || code["code"] == "" {
		t.Errorf("create-promotion-code in test mode = %v, want SUCCESS with a code and test_mode true", code)
	}
	if got := clearbitTrap.requests(); len(got) > 0 {
		t.Errorf("the real Clearbit got %q in test mode", got)
	}
	if got := stripeTrap.requests(); len(got) > 0 {
		t.Errorf("the real Stripe got %q in test mode", got)
	}
	marked := 0
	for _, row := range historyRows(t, wc.get("/settings/history").Body) {
		if strings.Contains(row, "Test") {
			marked++
		}
	}
	if marked != 2 {
		t.Errorf("history marks %d executions Test, want 2", marked)
	}

	if r := wc.post("/settings/test-mode", url.Values{"csrf_token": {token}, "test_mode": {"off"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("POST /settings/test-mode test_mode=off = %d:\n%s", r.Status, r.Body)
	}
	live := s.executeOn(t, "clearbit-enrich-contact", "tm-twin-live", sandboxPortalID, "13", map[string]any{"email": "jane@acme.com"})
	if live["test_mode"] == "true" {
		t.Errorf("enrich-contact after switching off = %v, want a live execution", live)
	}
	got := clearbitTrap.requests()
	if len(got) == 0 || !strings.Contains(got[0], "/v2/combined/find Basic ") {
		t.Errorf("the live execution (%v) sent %q to the configured Clearbit, want the enrichment request with the operator's key", live, got)
	}
}
