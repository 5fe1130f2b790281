package main

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browser is one headless Chromium tab with page JavaScript turned off, as
// the admin pages must work without it.
type browser struct {
	t     *testing.T
	ctx   context.Context
	dir   string // where screenshots go
	shots int
}

// newBrowser starts Debian's Chromium with a fresh profile for one test.
// The browser tests never skip: without Chromium they fail and say how to
// get it (.ci/run installs it).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := os.Getenv("CHROMIUM_PATH")
	if exe == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				exe = p
				break
			}
		}
	}
	if exe == "" {
		t.Fatalf("the browser tests need Chromium, which was not found: install Debian's package (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these Chromium dials Google, which this closed network
		// refuses.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	if err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	b := &browser{t: t, ctx: ctx, dir: artifactsDir(t)}
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot("failed")
		}
	})
	return b
}

// artifactsDir is where screenshots are saved: TEST_ARTIFACTS_DIR, or
// testdata-artifacts under the system's temporary folder.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "testdata-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create artifacts folder: %v", err)
	}
	return dir
}

// screenshot saves the whole page as a PNG test artifact and logs its path.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.shots++
	path := filepath.Join(b.dir, fmt.Sprintf("%s-%02d-%s.png", b.t.Name(), b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

// open navigates and waits for the page, following redirects.
func (b *browser) open(url string) {
	b.t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

// submit runs steps that send a form (or follow a link) and waits for the
// page that answers; it returns that page's status.
func (b *browser) submit(what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return resp.Status
}

func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	u, _ := url.Parse(loc)
	return u.Path
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *browser) wantText(sel string, want ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Errorf("%s says %q, want it to contain %q", sel, got, w)
		}
	}
}

// TestBrowserAdmin drives Chromium, with page JavaScript off, through what
// an admin does: install (which signs in), read the settings, connect
// Clearbit with a key and QuickBooks through Intuit's consent, then find a
// workflow's failed execution in the history by the reference HubSpot
// showed, and sign out. Screenshots of each step are test artifacts.
func TestBrowserAdmin(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	s := startServer(t, nil)

	// A visitor without a session is sent through HubSpot's install, which
	// the sandbox's fake HubSpot grants as admin@sandbox.test.
	b.open(s.URL + "/settings")
	if got := b.path(); got != "/settings" {
		t.Fatalf("after install the browser is at %s, want /settings", got)
	}
	b.wantText("h1", "Settings")
	b.wantText("#portal-id", "1000001")
	b.wantText("#hub-domain", "sandbox.hubspot.test")
	b.wantText("#installed-by", "admin@sandbox.test")
	b.wantText("#scopes", "oauth", "automation", "crm.objects.contacts.read")
	b.wantText("#token-health", "Active", "The current access token expires at")
	b.wantText("#key-clearbit-status", "App default")
	// The stylesheet loads under the CSP (and nothing inline is needed).
	if bg := b.eval(`getComputedStyle(document.body).backgroundColor`); bg != "rgb(245, 248, 250)" {
		t.Errorf("body background = %s: the stylesheet did not apply", bg)
	}
	b.screenshot("settings")

	// Keyboard: the first Tab reaches the skip link, visibly; Enter moves
	// to the main content.
	if err := chromedp.Do(b.ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if got := b.eval(`document.activeElement.className + " " + (document.activeElement.getBoundingClientRect().top >= 0)`); got != "skip-link true" {
		t.Errorf("after Tab the focus is on %q, want the visible skip link", got)
	}
	if outline := b.eval(`getComputedStyle(document.activeElement).outlineStyle`); outline == "none" {
		t.Errorf("the focused skip link has no visible outline")
	}
	headerBG := b.eval(`getComputedStyle(document.querySelector(".site-header")).backgroundColor`)
	wantRingContrast := func(what string) {
		t.Helper()
		ring := b.eval(`getComputedStyle(document.activeElement).outlineColor`)
		if c := contrast(t, ring, headerBG); c < 3 {
			t.Errorf("the focus ring of the %s is %s on the header's %s: contrast %.1f:1, want at least 3:1", what, ring, headerBG, c)
		}
	}
	wantRingContrast("skip link")
	b.screenshot("keyboard-focus")

	// Tab on through the header to the Sign out button: its ring too must
	// stand out against the dark header.
	for range 10 {
		if b.eval(`document.activeElement.matches(".account button") ? "yes" : "no"`) == "yes" {
			break
		}
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.eval(`document.activeElement.textContent.trim()`); got != "Sign out" {
		t.Fatalf("tabbing through the header reached %q, not the Sign out button", got)
	}
	wantRingContrast("Sign out button")
	b.screenshot("keyboard-focus-sign-out")

	// A key Clearbit refuses is not saved; the page says why, next to the
	// field, and puts the focus back in it.
	status := b.submit("send a refused key",
		chromedp.SendKeys(chromedp.CSS("#key-clearbit"), "pk_not_secret_1234"),
		chromedp.Click(chromedp.CSS("#clearbit .key-form button[type=submit]")))
	if status != 422 {
		t.Errorf("refused key answered %d, want 422", status)
	}
	b.wantText("#key-clearbit-error", "Clearbit does not accept this API key")
	b.wantText(".error-summary", "Nothing was saved")
	if got := b.eval(`document.activeElement.id`); got != "key-clearbit" {
		t.Errorf("focus after a refused key is on %q, want the key field", got)
	}
	b.screenshot("clearbit-key-refused")

	// A key that verifies is saved and shown masked.
	b.submit("send a good key",
		chromedp.SendKeys(chromedp.CSS("#key-clearbit"), "sk_live_browser5678abcd"),
		chromedp.Click(chromedp.CSS("#clearbit .key-form button[type=submit]")))
	b.wantText(".notice", "Clearbit key verified and saved.")
	b.wantText("#key-clearbit-status", "Your key", "sk_live_…abcd")
	if strings.Contains(b.text("main"), "sk_live_browser5678abcd") {
		t.Errorf("the page shows the whole key")
	}
	b.screenshot("clearbit-key-saved")

	// QuickBooks: the sandbox's fake Intuit consents at once and comes back.
	b.submit("connect QuickBooks", chromedp.Click(chromedp.CSS("#quickbooks-connect")))
	if got := b.path(); got != "/settings" {
		t.Fatalf("after connecting QuickBooks the browser is at %s", got)
	}
	b.wantText("#quickbooks-status", "Connected", "Sandbox Company US 1")
	b.screenshot("quickbooks-connected")

	// A workflow runs actions for this portal: one succeeds, one fails, and
	// HubSpot shows the marketer the failure's message with its reference.
	s.executeOn(t, "sandbox-echo", "browser-ok-1", sandboxPortalID, "7001", map[string]any{"message": "all good"})
	failed := s.executeOn(t, "sandbox-echo", "browser-fail-1", sandboxPortalID, "7002", map[string]any{"message": "oops", "fail_with": "NOT_FOUND", "api_key": "sk_live_neverShown99"})
	ref := refOf(t, failed)

	b.submit("open the history", chromedp.Click(chromedp.CSS(`nav a[href="/settings/history"]`)))
	b.wantText("h1", "Execution history")
	b.wantText("#retention", "30 days")
	b.wantText("table.executions tbody", ref, "Failed", "Succeeded", "NOT_FOUND")
	b.screenshot("history")

	// The marketer pastes the whole failure message from HubSpot.
	b.submit("search the history",
		chromedp.SendKeys(chromedp.CSS("#q"), failed["error_message"]),
		chromedp.Click(chromedp.CSS(".filters button[type=submit]")))
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.executions tbody tr").length`))
	if err != nil || rows != 1 {
		t.Errorf("search by the failure message lists %d rows (%v), want 1", rows, err)
	}
	b.wantText("table.executions tbody", ref, "CONTACT 7002")
	b.screenshot("history-search")

	b.submit("open the execution", chromedp.Click(chromedp.CSS("table.executions tbody a.ref")))
	b.wantText("h1", "Execution "+ref)
	b.wantText("#error-message", "The sandbox was asked to fail with NOT_FOUND. (ref "+ref+")")
	b.wantText("#inputs", "Message", "oops", "api_key [redacted]")
	if strings.Contains(b.text("main"), "sk_live_neverShown99") {
		t.Errorf("the execution page shows a secret input")
	}
	b.screenshot("execution")

	// Filters by result, without JavaScript: pick a value, submit.
	b.open(s.URL + "/settings/history")
	if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS("#state"), "SUCCESS")); err != nil {
		t.Fatal(err)
	}
	b.submit("filter by result", chromedp.Click(chromedp.CSS(".filters button[type=submit]")))
	b.wantText("table.executions tbody", "Succeeded", "CONTACT 7001")
	if strings.Contains(b.text("table.executions tbody"), ref) {
		t.Errorf("the SUCCESS filter lists the failed execution")
	}

	// QuickBooks can be disconnected again.
	b.open(s.URL + "/settings")
	b.submit("disconnect QuickBooks", chromedp.Click(chromedp.CSS("#quickbooks form button[type=submit]")))
	b.wantText(".notice", "QuickBooks disconnected.")
	b.wantText("#quickbooks-status", "Not connected")

	// Sign out: the session ends.
	b.submit("sign out", chromedp.Click(chromedp.CSS(".account button[type=submit]")))
	b.wantText("h1", "You are signed out")
	b.screenshot("signed-out")
	if got := b.path(); got != "/signed-out" {
		t.Errorf("after signing out the browser is at %s", got)
	}
}

// TestBrowserFormAfterSessionEnded sends a settings form after the session
// cookie is gone, as when a tab stays open past the session's end. The
// answer must be a page of ours: a redirect to HubSpot's install (another
// origin) after a form POST is blocked by the CSP's form-action 'self'.
func TestBrowserFormAfterSessionEnded(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	s := startServer(t, nil)
	b.open(s.URL + "/settings")
	if got := b.path(); got != "/settings" {
		t.Fatalf("after install the browser is at %s, want /settings", got)
	}
	err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
	if err != nil {
		t.Fatalf("clear cookies: %v", err)
	}
	status := b.submit("send a key without a session",
		chromedp.SendKeys(chromedp.CSS("#key-clearbit"), "sk_live_expired5678abcd"),
		chromedp.Click(chromedp.CSS("#clearbit .key-form button[type=submit]")))
	if status != 401 {
		t.Errorf("the form answered %d, want 401", status)
	}
	if got := b.path(); got != "/settings/keys/clearbit" {
		t.Errorf("after the form the browser is at %s, want the page that answered it", got)
	}
	b.wantText("h1", "Your session has ended — sign in again")
	b.wantText("main", "What you sent was not saved")
	b.screenshot("session-ended")

	// The link signs in again (a GET may go through HubSpot).
	b.submit("sign in again", chromedp.Click(chromedp.CSS(`main a[href="/oauth/hubspot/install"]`)))
	if got := b.path(); got != "/settings" {
		t.Errorf("after signing in again the browser is at %s, want /settings", got)
	}
	b.wantText("#key-clearbit-status", "App default")
}

// TestBrowserGuide opens the public setup guide in a fresh browser, with
// no session: it stays on /guide (no sign-in), shows an action's inputs,
// outputs and error codes, loads its stylesheet, and Chromium reports no
// Content-Security-Policy violation (or any other console error) on it.
func TestBrowserGuide(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	s := startServer(t, nil)
	var mu sync.Mutex
	var console []string
	err := chromedp.Listen(b.ctx, func(ev any) {
		e, ok := ev.(*cdplog.EventEntryAdded)
		// Browsers ask for /favicon.ico on their own; the app has none.
		if !ok || strings.HasSuffix(e.Entry.URL, "/favicon.ico") {
			return
		}
		if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Source == cdplog.EntrySourceSecurity ||
			strings.Contains(e.Entry.Text, "Content Security Policy") {
			mu.Lock()
			console = append(console, fmt.Sprintf("%s %s: %s (%s)", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listen to the console: %v", err)
	}

	b.open(s.URL + "/guide")
	if got := b.path(); got != "/guide" {
		t.Fatalf("the guide sent a visitor without a session to %s, want it to stay on /guide", got)
	}
	b.wantText("h1", "Setup guide")
	b.wantText("#action-clearbit-enrich-contact", "Enrich contact with Clearbit")
	b.wantText("#clearbit-enrich-contact-inputs", "Email email", "Text", "Optional", "Leave empty to use the contact's Email property.")
	b.wantText("#clearbit-enrich-contact-outputs", "Job title job_title", "Enriched enriched", "Error code error_code")
	b.wantText("#clearbit-enrich-contact-errors", "NOT_FOUND", "Clearbit has no data for the email address.")
	b.wantText("#quickbooks-create-invoice-inputs", "Required", "The choices are loaded from the service when you open the list.")
	b.wantText("#scopes", "automation", "crm.objects.deals.read")
	b.wantText("#uninstall-hubspot", "From HubSpot")
	if bg := b.eval(`getComputedStyle(document.body).backgroundColor`); bg != "rgb(245, 248, 250)" {
		t.Errorf("body background = %s: the stylesheet did not apply under the CSP", bg)
	}
	if cookies := b.eval(`document.cookie`); cookies != "" {
		t.Errorf("the guide set cookies %q", cookies)
	}
	b.screenshot("guide")

	// The contents link to each section on the page.
	// A link within the page loads nothing, so no answer is awaited.
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`nav a[href="#action-stripe-create-promotion-code"]`))); err != nil {
		t.Fatalf("follow the contents to an action: %v", err)
	}
	if got := b.eval(`location.hash`); got != "#action-stripe-create-promotion-code" {
		t.Errorf("after the contents link the page is at %q", got)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(console) > 0 {
		t.Errorf("Chromium reported on the guide:\n  %s", strings.Join(console, "\n  "))
	}
}

// contrast returns the WCAG contrast ratio of two CSS colours given as
// rgb(r, g, b) or rgba(r, g, b, a), as getComputedStyle reports them.
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	lum := func(css string) float64 {
		var r, g, bl float64
		if _, err := fmt.Sscanf(strings.Replace(css, "rgba(", "rgb(", 1), "rgb(%f, %f, %f", &r, &g, &bl); err != nil {
			t.Fatalf("colour %q: %v", css, err)
		}
		lin := func(c float64) float64 {
			c /= 255
			if c <= 0.03928 {
				return c / 12.92
			}
			return math.Pow((c+0.055)/1.055, 2.4)
		}
		return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(bl)
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}
