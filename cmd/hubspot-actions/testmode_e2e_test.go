package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/store"
)

// TestServeTestMode drives test mode through the real server: the settings
// page's card and form (CSRF-protected like the others), an execution
// recorded while the portal is in test mode answering test_mode "true" and
// marked in the history, and switching off bringing live executions back.
// Whether serve has test-mode actions is not this test's to say: it holds
// either way (without them the test-mode execution fails, calling nothing).
func TestServeTestMode(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	token := wc.csrf()

	r := wc.get("/settings")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /settings = %d", r.Status)
	}
	if text := admintest.PageText(t, r.Body); !strings.Contains(text, "Test mode In test mode, this account's workflow actions run against test versions") {
		t.Errorf("settings page has no test-mode card:\n%s", text)
	}
	if live := s.executeOn(t, "sandbox-echo", "tm-live-1", sandboxPortalID, "1", map[string]any{"message": "hello"}); live["test_mode"] != "false" || live["hs_execution_state"] != "SUCCESS" {
		t.Errorf("live execution = %v, want SUCCESS with test_mode false", live)
	}

	otherToken := withSession(t, s, 2000002, "other@example.com").csrf()
	if r := wc.post("/settings/test-mode", url.Values{"csrf_token": {otherToken}, "test_mode": {"on"}}); r.Status != http.StatusForbidden {
		t.Errorf("POST /settings/test-mode with another session's token = %d, want 403", r.Status)
	}
	if r := wc.post("/settings/test-mode", url.Values{"csrf_token": {token}, "test_mode": {"maybe"}}); r.Status != http.StatusBadRequest {
		t.Errorf("POST /settings/test-mode with test_mode=maybe = %d, want 400", r.Status)
	}

	// The portal in test mode, as the form (when available) or an earlier
	// deployment leaves it.
	db := serverDB(t, s)
	ctx := context.Background()
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.SetTestMode(ctx, sandboxPortalID, true, 1, "admin@sandbox.test") }); err != nil {
		t.Fatal(err)
	}
	r = wc.get("/settings")
	if !strings.Contains(r.Body, `id="test-mode-banner"`) {
		t.Errorf("settings page in test mode has no banner:\n%s", admintest.PageText(t, r.Body))
	}
	out := s.executeOn(t, "sandbox-echo", "tm-test-1", sandboxPortalID, "2", map[string]any{"message": "hello"})
	if out["test_mode"] != "true" {
		t.Errorf("execution in test mode = %v, want test_mode true", out)
	}
	if e, err := db.GetExecution(ctx, "tm-test-1"); err != nil || !e.TestMode {
		t.Errorf("ledger row of the test-mode execution: TestMode %v, %v; want true", e.TestMode, err)
	}
	rows := historyRows(t, wc.get("/settings/history").Body)
	marked := 0
	for _, row := range rows {
		if strings.Contains(row, "Test") {
			marked++
		}
	}
	if marked != 1 {
		t.Errorf("history rows %q: %d marked Test, want 1", rows, marked)
	}

	// Switching off is always possible, and new executions are live again.
	if r := wc.post("/settings/test-mode", url.Values{"csrf_token": {token}, "test_mode": {"off"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("POST /settings/test-mode test_mode=off = %d:\n%s", r.Status, r.Body)
	}
	if r := wc.get("/settings"); strings.Contains(r.Body, `id="test-mode-banner"`) {
		t.Errorf("settings page still shows the banner after switching off")
	}
	if live := s.executeOn(t, "sandbox-echo", "tm-live-2", sandboxPortalID, "3", map[string]any{"message": "hello"}); live["test_mode"] != "false" || live["hs_execution_state"] != "SUCCESS" {
		t.Errorf("execution after switching off = %v, want SUCCESS with test_mode false", live)
	}
}
