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

// TestUninstallThroughServe drives the real server (a sandbox): the admin
// confirms "Uninstall from HubSpot", lands signed out on a page saying it is
// done, the portal's key is gone, and its actions no longer run; a
// reinstall brings it back.
func TestUninstallThroughServe(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	csrf := wc.csrf()
	if r := wc.post("/settings/keys/stripe", url.Values{"csrf_token": {csrf}, "api_key": {"sk_test_51PortalKeyUninstall"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save a Stripe key = %d", r.Status)
	}
	if r := wc.get("/settings"); !strings.Contains(r.Body, `href="/settings/uninstall"`) {
		t.Fatalf("the settings page has no uninstall link:\n%s", admintest.PageText(t, r.Body))
	}
	r := wc.get("/settings/uninstall")
	if r.Status != http.StatusOK || !strings.Contains(admintest.PageText(t, r.Body), "Uninstall the app from HubSpot?") {
		t.Fatalf("GET /settings/uninstall = %d:\n%s", r.Status, admintest.PageText(t, r.Body))
	}
	r = wc.post("/settings/uninstall", url.Values{"csrf_token": {csrf}, "confirm": {"yes"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signed-out?notice=uninstalled" {
		t.Fatalf("POST /settings/uninstall = %d to %q", r.Status, r.Header.Get("Location"))
	}
	if text := admintest.PageText(t, wc.get("/signed-out?notice=uninstalled").Body); !strings.Contains(text, "The app is uninstalled") {
		t.Errorf("after the uninstall the page says:\n%s", text)
	}
	if r := wc.get("/settings"); r.Status != http.StatusSeeOther {
		t.Errorf("after the uninstall GET /settings = %d, want a redirect to sign in (signed out)", r.Status)
	}

	db := serverDB(t, s)
	ctx := context.Background()
	p, err := db.GetPortal(ctx, sandboxPortalID)
	if err != nil || p.Status != store.StatusUninstalled {
		t.Errorf("portal after the uninstall: %+v, %v; want uninstalled", p, err)
	}
	if keys, _ := db.ListAPIKeys(ctx, sandboxPortalID); len(keys) != 0 {
		t.Errorf("portal still has %d API keys", len(keys))
	}
	out := s.executeOn(t, "sandbox-echo", "cb-after-uninstall", sandboxPortalID, "101", map[string]any{"message": "hi"})
	if out["hs_execution_state"] != "FAIL_CONTINUE" || out["error_code"] != "NOT_CONNECTED" || !strings.Contains(out["error_message"], "uninstalled") {
		t.Errorf("an execution after the uninstall = %v, want FAIL_CONTINUE NOT_CONNECTED saying the app was uninstalled", out)
	}
	if strings.Contains(s.logs.String(), "sk_test_51PortalKeyUninstall") {
		t.Error("the logs carry the portal's Stripe key")
	}

	// Reinstalling brings the portal back.
	signIn(t, s)
	if p, _ := db.GetPortal(ctx, sandboxPortalID); p.Status != store.StatusActive {
		t.Errorf("portal after a reinstall: %s, want active", p.Status)
	}
	// CheckPortal keeps its answer a few seconds; a new callbackId after
	// that runs. The reinstall forgot it in this process already.
	out = s.executeOn(t, "sandbox-echo", "cb-after-reinstall", sandboxPortalID, "101", map[string]any{"message": "hi"})
	if out["hs_execution_state"] != "SUCCESS" {
		t.Errorf("an execution after the reinstall = %v, want SUCCESS", out)
	}
}
