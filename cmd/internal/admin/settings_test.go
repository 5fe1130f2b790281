package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// acme is a provider connected through OAuth, as a new system would be:
// the settings page knows it only through actions.Disconnector.
type acme struct {
	mu          sync.Mutex
	connected   bool
	fail        error // what Disconnect returns, after forgetting the grant
	disconnects int
}

func (a *acme) Name() string                     { return "acme" }
func (a *acme) Register(*actions.Registry) error { return nil }
func (a *acme) Routes(*echo.Echo)                {}
func (a *acme) Connected(context.Context, int64) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.connected, nil
}

func (a *acme) Card(context.Context, int64) (actions.Card, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := actions.Card{Provider: "acme", Label: "Acme CRM", Short: "Acme", Connect: &actions.ConnectCard{AccountLabel: "Account"}}
	if a.connected {
		c.Status, c.Badge = actions.CardConnected, "Connected"
		c.Connect.Connected, c.Connect.Account = true, "Acme Corp"
	} else {
		c.Status, c.Badge, c.Detail = actions.CardNotConnected, "Not connected", "Acme actions fail with NOT_CONNECTED until you connect Acme."
		c.Connect.ConnectURL, c.Connect.ConnectLabel = "/oauth/acme/connect", "Connect Acme"
	}
	return c, nil
}

func (a *acme) Guide() actions.ProviderGuide {
	return actions.ProviderGuide{Label: "Acme CRM", TestMode: []string{"A stand-in for Acme answers.", "Widgets get made-up IDs."}}
}

func (a *acme) Disconnect(context.Context, int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.disconnects++
	a.connected = false
	return a.fail
}

// keyco is a provider whose admins enter an API key: its key store is the
// real one, on the test's database.
type keyco struct {
	actions.KeyedProvider
}

func (keyco) Name() string                     { return "keyco" }
func (keyco) Register(*actions.Registry) error { return nil }
func (keyco) Guide() actions.ProviderGuide     { return actions.ProviderGuide{Label: "KeyCo"} }

// providerPages serves the settings page for portal 5 with the providers
// built on its database, and returns a browser signed in to it and the
// CSRF token its forms carry.
func providerPages(t *testing.T, build func(db *store.DB) []actions.Provider) (base string, hc *http.Client, csrf string) {
	t.Helper()
	db := portalDB(t, store.Portal{PortalID: 5, HubDomain: "acme.hubspot.test", Status: oauth.StatusActive})
	log := slog.New(slog.DiscardHandler)
	sessions := NewSessions(db, false)
	flow := oauth.New(oauth.Config{}, db, &http.Client{}, log)
	w := New(flow, sessions, []byte("csrf key, csrf key, csrf key, 32"), log)
	providers := build(db)
	e := actions.NewServer(log, actions.NewValidator())
	settings := e.Group("/settings", w.Secure, w.RequireSession, w.CheckCSRF)
	settings.GET("", HandleSettings(w, flow, providers, 30*24*time.Hour))
	settings.POST("/keys/:provider", HandleSaveKey(w, flow, providers, 30*24*time.Hour, actions.NewLimiter(KeyCheckLimit())))
	settings.POST("/keys/:provider/delete", HandleDeleteKey(w, providers))
	settings.POST("/:provider/disconnect", HandleDisconnect(w, flow, providers))
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)

	cookie, csrf := signIn(t, e, w, sessions, Session{PortalID: 5, UserEmail: "admin@acme.test"})
	return ts.URL, browser(ts.URL, cookie), csrf
}

// cookieJar sends one cookie to one origin.
type cookieJar struct {
	cookie *http.Cookie
	url    *url.URL
}

func (j *cookieJar) SetCookies(*url.URL, []*http.Cookie) {}
func (j *cookieJar) Cookies(u *url.URL) []*http.Cookie {
	if u.Host != j.url.Host {
		return nil
	}
	return []*http.Cookie{j.cookie}
}

func send(t *testing.T, hc *http.Client, method, u string, form url.Values) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// TestProviderForms drives the settings page of two providers it has
// never heard of, one connected through OAuth and one with an API key:
// what a new system gets from the page without a line in this package.
func TestProviderForms(t *testing.T) {
	t.Parallel()
	oa := &acme{connected: true}
	var verified []string
	kc := &keyco{}
	base, hc, csrf := providerPages(t, func(db *store.DB) []actions.Provider {
		kc.KeyedProvider = actions.NewKeyedProvider(actions.NewAPIKeys(db, "keyco", "KeyCo", "", "http://localhost/settings"),
			"Your KeyCo key, from its dashboard.", func(_ context.Context, key string) error {
				verified = append(verified, key)
				if key != "kc_live_goodkey1234" {
					return actions.Fail(actions.CodeRejected, "KeyCo does not accept this API key.")
				}
				return nil
			})
		return []actions.Provider{oa, kc}
	})
	page := func() string {
		t.Helper()
		status, _, body := send(t, hc, http.MethodGet, base+"/settings", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /settings = %d", status)
		}
		return admintest.PageText(t, body)
	}
	form := func(kv ...string) url.Values {
		v := url.Values{csrfField: {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	text := page()
	for _, want := range []string{"Acme CRM Connected Account: Acme Corp.", "Disconnect Acme", "KeyCo Not connected KeyCo actions fail with NOT_CONNECTED", "KeyCo API key"} {
		if !strings.Contains(text, want) {
			t.Errorf("settings page lacks %q:\n%s", want, text)
		}
	}
	if i, j := strings.Index(text, "Acme CRM"), strings.Index(text, "KeyCo"); i < 0 || j < i {
		t.Errorf("cards are not in the providers' order")
	}

	// Forms for a provider that has no such form, or no such provider: 404.
	for _, path := range []string{"/settings/keyco/disconnect", "/settings/nosuch/disconnect", "/settings/keys/acme", "/settings/keys/acme/delete", "/settings/keys/nosuch"} {
		if status, _, body := send(t, hc, http.MethodPost, base+path, form("api_key", "x")); status != http.StatusNotFound || !strings.Contains(body, "There is no such provider.") {
			t.Errorf("POST %s = %d, want 404 saying there is no such provider", path, status)
		}
	}

	// A key the provider refuses is not saved; the page says why.
	status, _, body := send(t, hc, http.MethodPost, base+"/settings/keys/keyco", form("api_key", "kc_live_badkey5678"))
	if status != http.StatusUnprocessableEntity || !strings.Contains(admintest.PageText(t, body), "KeyCo does not accept this API key.") {
		t.Errorf("refused key = %d:\n%s", status, admintest.PageText(t, body))
	}
	status, _, body = send(t, hc, http.MethodPost, base+"/settings/keys/keyco", form("api_key", ""))
	if status != http.StatusUnprocessableEntity || !strings.Contains(admintest.PageText(t, body), "Enter your KeyCo API key.") {
		t.Errorf("empty key = %d", status)
	}
	if got := fmt.Sprint(verified); got != "[kc_live_badkey5678]" {
		t.Errorf("keys checked with KeyCo = %s, want only the non-empty one", got)
	}
	// A good one is checked, saved and shown masked.
	status, loc, _ := send(t, hc, http.MethodPost, base+"/settings/keys/keyco", form("api_key", "kc_live_goodkey1234"))
	if status != http.StatusSeeOther || loc != "/settings?notice=key-saved&provider=keyco" {
		t.Fatalf("saving a good key = %d %q", status, loc)
	}
	if status, _, body := send(t, hc, http.MethodGet, base+loc, nil); status != http.StatusOK ||
		!strings.Contains(admintest.PageText(t, body), "KeyCo key verified and saved.") || !strings.Contains(body, "kc_live_…1234") {
		t.Errorf("after saving, the page = %d:\n%s", status, admintest.PageText(t, body))
	}
	if key, err := kc.Keys().Key(context.Background(), 5); err != nil || key != "kc_live_goodkey1234" {
		t.Errorf("stored key = %q, %v", key, err)
	}

	// Disconnect: revoked upstream and forgotten.
	status, loc, _ = send(t, hc, http.MethodPost, base+"/settings/acme/disconnect", form())
	if status != http.StatusSeeOther || loc != "/settings?notice=disconnected&provider=acme" {
		t.Fatalf("disconnect = %d %q", status, loc)
	}
	if _, _, body := send(t, hc, http.MethodGet, base+loc, nil); !strings.Contains(admintest.PageText(t, body), "Acme disconnected.") ||
		!strings.Contains(admintest.PageText(t, body), "Connect Acme") {
		t.Errorf("after disconnecting, the page:\n%s", admintest.PageText(t, body))
	}
	// A second click finds nothing to disconnect and says nothing.
	status, loc, _ = send(t, hc, http.MethodPost, base+"/settings/acme/disconnect", form())
	if status != http.StatusSeeOther || loc != "/settings" || oa.disconnects != 1 {
		t.Errorf("second disconnect = %d %q after %d disconnects, want a plain redirect and no second call", status, loc, oa.disconnects)
	}
	// Forgotten here, but the provider could not be reached to revoke.
	oa.connected, oa.fail = true, fmt.Errorf("acme: grant deleted, not revoked: %w: %w", actions.ErrNotRevoked, errors.New("dial tcp: connection refused"))
	status, loc, _ = send(t, hc, http.MethodPost, base+"/settings/acme/disconnect", form())
	if status != http.StatusSeeOther || loc != "/settings?notice=disconnected-local&provider=acme" {
		t.Fatalf("disconnect without revocation = %d %q", status, loc)
	}
	if _, _, body := send(t, hc, http.MethodGet, base+loc, nil); !strings.Contains(admintest.PageText(t, body),
		"Acme disconnected here. Acme could not be reached to revoke the app's access; you can also remove the app in your Acme account's settings.") {
		t.Errorf("the page after a disconnect without revocation:\n%s", admintest.PageText(t, body))
	}
	// Without its CSRF token a form does nothing.
	oa.connected, oa.fail = true, nil
	if status, _, _ := send(t, hc, http.MethodPost, base+"/settings/acme/disconnect", url.Values{}); status != http.StatusForbidden || oa.disconnects != 2 {
		t.Errorf("disconnect without a CSRF token = %d (%d disconnects)", status, oa.disconnects)
	}
}
