package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserUninstall drives Chromium, page JavaScript off, through
// "Uninstall from HubSpot": the settings page's link, the confirmation
// page and its button, the page saying it is done; reinstalling through
// that page's link brings the portal back.
func TestBrowserUninstall(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	s := startServer(t, nil)
	b.open(s.URL + "/settings")
	if got := b.path(); got != "/settings" {
		t.Fatalf("after install the browser is at %s, want /settings", got)
	}
	b.wantText("#uninstall", "Uninstall from HubSpot")

	b.submit("open the uninstall confirmation", chromedp.Click(chromedp.CSS("#uninstall-link")))
	if got := b.path(); got != "/settings/uninstall" {
		t.Fatalf("the uninstall link led to %s", got)
	}
	b.wantText("h1", "Uninstall the app from HubSpot?")
	b.wantText("main", "1000001", "history stays for 30 days")
	fg := b.eval(`getComputedStyle(document.querySelector("#confirm-uninstall")).color`)
	bg := b.eval(`getComputedStyle(document.querySelector("#confirm-uninstall")).backgroundColor`)
	if c := contrast(t, fg, bg); c < 4.5 {
		t.Errorf("the uninstall button's contrast is %.2f:1, want at least 4.5:1", c)
	}
	b.screenshot("uninstall-confirm")

	status := b.submit("uninstall", chromedp.Click(chromedp.CSS("#confirm-uninstall")))
	if status != 200 || b.path() != "/signed-out" {
		t.Fatalf("after uninstalling: %d at %s, want 200 at /signed-out", status, b.path())
	}
	b.wantText("h1", "The app is uninstalled")
	b.wantText("#uninstalled", "you are signed out")
	b.screenshot("uninstalled")

	b.submit("reinstall", chromedp.Click(chromedp.CSS(`main a[href="/oauth/hubspot/install"]`)))
	if got := b.path(); got != "/settings" {
		t.Fatalf("after reinstalling the browser is at %s, want /settings", got)
	}
	b.wantText("#token-health", "Active")
	b.screenshot("reinstalled")
}
