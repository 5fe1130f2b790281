package main

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"hubspot-actions/store"
)

// TestBrowserTestMode drives Chromium through a portal in test mode: the
// banner at the top of the settings page (legible, above everything
// else), the Test badge in the history, and switching test mode off with
// the card's button, after which the banner is gone.
func TestBrowserTestMode(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	s := startServer(t, nil)
	b.open(s.URL + "/settings")
	if got := b.path(); got != "/settings" {
		t.Fatalf("after install the browser is at %s, want /settings", got)
	}
	b.wantText("#test-mode", "Test mode", "executions that start afterwards")

	db := serverDB(t, s)
	ctx := context.Background()
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.SetTestMode(ctx, sandboxPortalID, true, 1, "admin@sandbox.test") }); err != nil {
		t.Fatal(err)
	}
	s.executeOn(t, "sandbox-echo", "browser-tm-1", sandboxPortalID, "1", map[string]any{"message": "hello"})

	b.open(s.URL + "/settings")
	b.wantText("#test-mode-banner", "Test mode is on.", "nothing is sent to them")
	if got := b.eval(`document.querySelector("main").firstElementChild.nextElementSibling.id`); got != "test-mode-banner" {
		t.Errorf("the element after the heading is #%s, want the test-mode banner", got)
	}
	fg := b.eval(`getComputedStyle(document.querySelector("#test-mode-banner")).color`)
	bg := b.eval(`getComputedStyle(document.querySelector("#test-mode-banner")).backgroundColor`)
	if c := contrast(t, fg, bg); c < 7 {
		t.Errorf("the banner's text is %s on %s: contrast %.1f:1, want at least 7:1", fg, bg, c)
	}
	if border := b.eval(`getComputedStyle(document.querySelector("#test-mode-banner")).borderTopStyle`); border != "dashed" {
		t.Errorf("the banner's border is %s: the stylesheet did not apply", border)
	}
	b.wantText("#test-mode-status", "On", "Switched on by admin@sandbox.test")
	b.screenshot("settings-test-mode")

	b.open(s.URL + "/settings/history")
	b.wantText("#test-mode-banner", "Test mode is on.")
	b.wantText("table.executions tbody", "Test")
	b.screenshot("history-test-mode")

	b.open(s.URL + "/settings")
	status := b.submit("switch test mode off", chromedp.Click(chromedp.CSS("#test-mode form button[type=submit]")))
	if status != 200 {
		t.Errorf("switching test mode off answered %d, want 200 after the redirect", status)
	}
	b.wantText(".notice", "Test mode switched off")
	if got := b.eval(`document.querySelector("#test-mode-banner") ? "banner" : "none"`); got != "none" {
		t.Errorf("after switching off the settings page still shows the banner")
	}
	if tm, err := db.GetTestMode(ctx, sandboxPortalID); err != nil || tm.Enabled || tm.ChangedByEmail != "admin@sandbox.test" {
		t.Errorf("after the button the setting is %+v, %v; want off, by the signed-in admin", tm, err)
	}
	b.screenshot("settings-test-mode-off")
}
