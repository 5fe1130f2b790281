package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

type uninstallPages struct {
	base   string
	cookie *http.Cookie
	csrf   string
	hs     *hubspottest.Server
	db     *store.DB
	acme   *acme
	keys   *actions.APIKeys
}

// newUninstallPages serves the settings and uninstall pages of portal 5,
// installed with a grant from the fake HubSpot, an Acme connection and a
// KeyCo key, and a session of its admin.
func newUninstallPages(t *testing.T) *uninstallPages {
	t.Helper()
	ctx := context.Background()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{ClientID: "cid", ClientSecret: "csecret"})
	db := portalDB(t, store.Portal{PortalID: 5, HubDomain: "acme.hubspot.test"})
	log := slog.New(slog.DiscardHandler)
	flow := oauth.New(oauth.Config{ClientID: "cid", ClientSecret: "csecret", TokenBaseURL: hs.URL()}, db, &http.Client{Timeout: 10 * time.Second}, log)
	tok := hs.Grant(5)
	if err := flow.Grants().Save(ctx, 5, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(time.Hour)}, "5", "acme.hubspot.test"); err != nil {
		t.Fatal(err)
	}
	p := &uninstallPages{hs: hs, db: db, acme: &acme{connected: true}}
	p.keys = actions.NewAPIKeys(db, "keyco", "KeyCo", "", "http://localhost/settings")
	if err := p.keys.Save(ctx, 5, "kc_live_goodkey1234"); err != nil {
		t.Fatal(err)
	}
	accept := func(context.Context, string) error { return nil }
	providers := []actions.Provider{p.acme, &keyco{actions.NewKeyedProvider(p.keys, "", accept)}}
	u := actions.NewUninstaller(flow, db, providers, 30*24*time.Hour, log)

	sessions := NewSessions(db, false)
	w := New(flow, sessions, []byte("csrf key, csrf key, csrf key, 32"), log)
	e := actions.NewServer(log, actions.NewValidator())
	e.GET("/signed-out", w.HandleSignedOut(), w.Secure)
	settings := e.Group("/settings", w.Secure, w.RequireSession, w.CheckCSRF)
	settings.GET("", HandleSettings(w, flow, providers, 30*24*time.Hour))
	settings.GET("/uninstall", HandleUninstallConfirm(w, flow, 30*24*time.Hour))
	settings.POST("/uninstall", HandleUninstall(w, flow, u, 30*24*time.Hour))
	settings.POST("/keys/:provider", HandleSaveKey(w, flow, providers, 30*24*time.Hour, actions.NewLimiter(KeyCheckLimit())))
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	p.base = ts.URL

	p.cookie, p.csrf = signIn(t, e, w, sessions, Session{PortalID: 5, UserEmail: "admin@acme.test", UserID: 77})
	return p
}

type pageResponse struct {
	status int
	header http.Header
	body   string
}

func (p *uninstallPages) do(t *testing.T, method, path string, form url.Values) pageResponse {
	t.Helper()
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(p.cookie)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return pageResponse{resp.StatusCode, resp.Header, string(b)}
}

func (p *uninstallPages) secrets(t *testing.T) (grants, keys int) {
	t.Helper()
	toks, _ := p.db.ListPortalTokens(context.Background(), 5)
	ks, _ := p.db.ListAPIKeys(context.Background(), 5)
	return len(toks), len(ks)
}

// TestUninstallFromSettings: the settings page's button leads to a
// confirmation page; only its form (CSRF token and confirm) uninstalls,
// which calls HubSpot's uninstall API with the portal's token (the fake
// checks it), deletes every secret, revokes the connections and signs the
// admin out onto a page saying it is done.
func TestUninstallFromSettings(t *testing.T) {
	t.Parallel()
	p := newUninstallPages(t)

	r := p.do(t, http.MethodGet, "/settings", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `href="/settings/uninstall"`) {
		t.Fatalf("GET /settings = %d, want the page with a link to /settings/uninstall", r.status)
	}
	r = p.do(t, http.MethodGet, "/settings/uninstall", nil)
	admintest.CheckAccessible(t, "uninstall confirmation", r.body)
	text := admintest.PageText(t, r.body)
	if r.status != http.StatusOK || !strings.Contains(text, "Uninstall the app from HubSpot?") || !strings.Contains(text, "acme.hubspot.test") ||
		!strings.Contains(text, "history stays for 30 days") {
		t.Fatalf("GET /settings/uninstall = %d:\n%s", r.status, text)
	}
	if n := len(p.hs.Uninstalls()); n != 0 {
		t.Fatalf("showing the confirmation uninstalled the app (%d calls)", n)
	}

	// Not from the confirmation page: nothing happens.
	if r := p.do(t, http.MethodPost, "/settings/uninstall", url.Values{"confirm": {"yes"}}); r.status != http.StatusForbidden {
		t.Errorf("POST without the CSRF token = %d, want 403", r.status)
	}
	r = p.do(t, http.MethodPost, "/settings/uninstall", url.Values{csrfField: {p.csrf}})
	if r.status != http.StatusBadRequest || !strings.Contains(admintest.PageText(t, r.body), "confirm:") {
		t.Errorf("POST without confirm = %d %q, want 400 naming confirm", r.status, admintest.PageText(t, r.body))
	}
	if g, k := p.secrets(t); len(p.hs.Uninstalls()) != 0 || g != 1 || k != 1 {
		t.Fatalf("a refused POST changed something: %d uninstalls, %d grants, %d keys", len(p.hs.Uninstalls()), g, k)
	}

	r = p.do(t, http.MethodPost, "/settings/uninstall", url.Values{csrfField: {p.csrf}, "confirm": {"yes"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signed-out?notice=uninstalled" {
		t.Fatalf("POST /settings/uninstall = %d to %q, want 303 to /signed-out?notice=uninstalled:\n%s", r.status, r.header.Get("Location"), r.body)
	}
	cleared := false
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie && c.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the session cookie was not cleared: %v", r.header.Values("Set-Cookie"))
	}
	if u := p.hs.Uninstalls(); len(u) != 1 || u[0] != 5 {
		t.Errorf("HubSpot uninstalled the app from %v, want [5]", u)
	}
	if g, k := p.secrets(t); g != 0 || k != 0 || p.acme.connected || p.acme.disconnects != 1 {
		t.Errorf("after the uninstall: %d grants, %d keys, Acme connected %v; want nothing left, Acme disconnected once", g, k, p.acme.connected)
	}
	st, _ := p.db.GetPortal(context.Background(), 5)
	if st.Status != store.StatusUninstalled || !strings.Contains(st.StatusReason, "HubSpot user 77") || strings.Contains(st.StatusReason, "admin@acme.test") {
		t.Errorf("portal = %s (%s), want uninstalled by HubSpot user 77, no email recorded", st.Status, st.StatusReason)
	}
	text = admintest.PageText(t, p.do(t, http.MethodGet, "/signed-out?notice=uninstalled", nil).body)
	if !strings.Contains(text, "The app is uninstalled") || !strings.Contains(text, "you are signed out") {
		t.Errorf("the page after uninstalling says:\n%s", text)
	}
	// A copy of the session cookie (another tab, another browser) was
	// ended with every session of the portal: it is sent to sign in.
	for _, path := range []string{"/settings", "/settings/uninstall"} {
		if r := p.do(t, http.MethodGet, path, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/oauth/hubspot/install" {
			t.Errorf("GET %s with a copied cookie after the uninstall = %d to %q, want 303 to /oauth/hubspot/install", path, r.status, r.header.Get("Location"))
		}
	}
}

// TestUninstallFromSettingsHubSpotDown: when HubSpot does not uninstall the
// app, the confirmation page says nothing changed, and nothing did.
func TestUninstallFromSettingsHubSpotDown(t *testing.T) {
	t.Parallel()
	p := newUninstallPages(t)
	p.hs.Fail(hubspottest.EndpointUninstall, 1, http.StatusServiceUnavailable, 0)
	r := p.do(t, http.MethodPost, "/settings/uninstall", url.Values{csrfField: {p.csrf}, "confirm": {"yes"}})
	text := admintest.PageText(t, r.body)
	if r.status != http.StatusBadGateway || !strings.Contains(text, "nothing was changed") {
		t.Errorf("POST with HubSpot down = %d:\n%s\nwant 502 saying nothing was changed", r.status, text)
	}
	admintest.CheckAccessible(t, "uninstall refused", r.body)
	if g, k := p.secrets(t); g != 1 || k != 1 || !p.acme.connected {
		t.Errorf("after a refused uninstall: %d grants, %d keys, Acme connected %v; want all kept", g, k, p.acme.connected)
	}
	if st, _ := p.db.GetPortal(context.Background(), 5); st.Status != store.StatusActive {
		t.Errorf("portal after a refused uninstall: %s, want active", st.Status)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie {
			t.Errorf("a refused uninstall touched the session cookie")
		}
	}
}

// TestUninstalledSessionSavesNoKey: a session that outlived its portal's
// install (another tab, after the uninstall) cannot store a key.
func TestUninstalledSessionSavesNoKey(t *testing.T) {
	t.Parallel()
	p := newUninstallPages(t)
	if r := p.do(t, http.MethodPost, "/settings/uninstall", url.Values{csrfField: {p.csrf}, "confirm": {"yes"}}); r.status != http.StatusSeeOther {
		t.Fatalf("uninstall = %d", r.status)
	}
	r := p.do(t, http.MethodPost, "/settings/keys/keyco", url.Values{csrfField: {p.csrf}, "api_key": {"kc_live_goodkey1234"}})
	if r.status != http.StatusUnauthorized {
		t.Errorf("saving a key after the uninstall = %d, want 401 (session ended)", r.status)
	}
	if _, k := p.secrets(t); k != 0 {
		t.Errorf("a key was stored for an uninstalled portal")
	}
}
