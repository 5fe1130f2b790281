package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// installEnv is the app (install and callback routes on echo, behind an
// httptest server) wired to a fake HubSpot.
type installEnv struct {
	hs    *hubspottest.Server
	db    *store.DB
	flow  *Flow
	app   *httptest.Server
	logs  *logBuffer
	clock *fakeClock
}

func newInstallEnv(t *testing.T, tls bool, hcfg hubspottest.Config) *installEnv {
	t.Helper()
	app := httptest.NewUnstartedServer(nil)
	if tls {
		app.StartTLS()
	} else {
		app.Start()
	}
	t.Cleanup(app.Close)
	hcfg.ClientID, hcfg.ClientSecret = testClientID, testClientSecret
	hcfg.RedirectURL = app.URL + "/oauth/hubspot/callback"
	hs, hsURL := fakeHubSpot(t, hcfg, 0)
	db := newTestDB(t)
	log, logs := newTestLogger(t)
	f := New(Config{
		ClientID:       testClientID,
		ClientSecret:   testClientSecret,
		RedirectURL:    app.URL + "/oauth/hubspot/callback",
		AuthorizeURL:   hsURL + "/oauth/authorize",
		TokenBaseURL:   hsURL,
		Scopes:         testScopes,
		OptionalScopes: []string{"crm.objects.companies.read", "tickets"},
		SecureCookies:  tls,
		OnInstalled: func(c echo.Context, in Installed) error {
			// What the admin pages would do: remember the admin, go on.
			c.SetCookie(&http.Cookie{Name: installedCookie, Value: fmt.Sprintf("%d-%d-%s", in.PortalID, in.UserID, in.UserEmail), Path: "/"})
			return c.Redirect(http.StatusSeeOther, "/settings")
		},
	}, db, &http.Client{Timeout: 10 * time.Second}, log)
	e := echo.New()
	e.GET("/oauth/hubspot/install", f.HandleInstall())
	e.GET("/oauth/hubspot/callback", f.HandleCallback())
	e.GET("/settings", func(c echo.Context) error {
		ck, err := c.Cookie(installedCookie)
		if err != nil {
			return c.String(http.StatusUnauthorized, "signed out")
		}
		var portal, user int64
		var email string
		if _, err := fmt.Sscanf(strings.Replace(ck.Value, "-", " ", 2), "%d %d %s", &portal, &user, &email); err != nil {
			return c.String(http.StatusBadRequest, err.Error())
		}
		return c.String(http.StatusOK, fmt.Sprintf("portal %d %s", portal, email))
	})
	clock := newFakeClock()
	f.now = clock.Now
	app.Config.Handler = e
	return &installEnv{hs: hs, db: db, flow: f, app: app, logs: logs, clock: clock}
}

// browser is a cookie-keeping client that does not follow redirects, so
// every hop can be checked.
func (env *installEnv) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := env.app.Client()
	return &http.Client{Transport: c.Transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	status   int
	location string
	body     string
	cookies  []*http.Cookie
}

func get(t *testing.T, c *http.Client, u string) answer {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), cookies: resp.Cookies()}
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// install runs the browser through install → HubSpot → callback and
// returns the callback's answer and URL.
func (env *installEnv) install(t *testing.T, c *http.Client) (answer, string) {
	t.Helper()
	a := get(t, c, env.app.URL+"/oauth/hubspot/install")
	if a.status != http.StatusFound {
		t.Fatalf("install: status %d, want 302", a.status)
	}
	b := get(t, c, a.location)
	if b.status != http.StatusFound {
		t.Fatalf("authorize: status %d (%s), want 302", b.status, b.body)
	}
	return get(t, c, b.location), b.location
}

func TestInstallFlow(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			t.Parallel()
			env := newInstallEnv(t, tls, hubspottest.Config{})
			c := env.browser(t)

			a := get(t, c, env.app.URL+"/oauth/hubspot/install")
			if a.status != http.StatusFound {
				t.Fatalf("GET /oauth/hubspot/install = %d, want 302", a.status)
			}
			u, err := url.Parse(a.location)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(u.RawQuery, "+") {
				t.Errorf("authorize query %q encodes spaces as +, want %%20", u.RawQuery)
			}
			q := u.Query()
			state := q.Get("state")
			if len(state) != 43 {
				t.Errorf("state %q has %d characters, want 43 (32 random bytes)", state, len(state))
			}
			wantQ := url.Values{
				"client_id":      {testClientID},
				"redirect_uri":   {env.app.URL + "/oauth/hubspot/callback"},
				"scope":          {"oauth automation crm.objects.contacts.read crm.objects.deals.read"},
				"optional_scope": {"crm.objects.companies.read tickets"},
				"state":          {state},
			}
			if diff := cmp.Diff(wantQ, q); diff != "" {
				t.Errorf("authorize parameters mismatch (-want +got):\n%s", diff)
			}
			sc := cookieNamed(a.cookies, "hsa_oauth_state_hubspot")
			if sc == nil || sc.Value != state || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.MaxAge != 600 || sc.Secure != tls {
				t.Errorf("state cookie = %+v, want HttpOnly, Lax, 600 s, Secure=%v, holding the state", sc, tls)
			}

			b := get(t, c, a.location)
			if b.status != http.StatusFound || !strings.HasPrefix(b.location, env.app.URL+"/oauth/hubspot/callback?") {
				t.Fatalf("authorize = %d to %q, want 302 to the callback", b.status, b.location)
			}
			cb := get(t, c, b.location)
			if cb.status != http.StatusSeeOther || cb.location != "/settings" {
				t.Fatalf("callback = %d to %q (%s), want 303 to /settings", cb.status, cb.location, cb.body)
			}
			if ck := cookieNamed(cb.cookies, installedCookie); ck == nil || ck.Value != fmt.Sprintf("%d-%d-%s", testPortal, 9000001, "admin@example.com") {
				t.Errorf("OnInstalled's cookie = %+v, want the portal, user id and email HubSpot reported", ck)
			}
			if sc := cookieNamed(cb.cookies, "hsa_oauth_state_hubspot"); sc == nil || sc.MaxAge >= 0 {
				t.Errorf("state cookie after callback = %+v, want it cleared", sc)
			}
			s := get(t, c, env.app.URL+"/settings")
			if s.status != http.StatusOK || s.body != "portal 7000001 admin@example.com" {
				t.Errorf("GET /settings = %d %q, want 200 signed in to portal 7000001", s.status, s.body)
			}

			ctx := context.Background()
			p, err := env.db.GetPortal(ctx, testPortal)
			if err != nil {
				t.Fatalf("GetPortal: %v", err)
			}
			wantScopes := []string{"oauth", "automation", "crm.objects.contacts.read", "crm.objects.deals.read", "crm.objects.companies.read", "tickets"}
			if p.InstalledByEmail != "admin@example.com" || p.InstalledByID != 9000001 || p.HubDomain != "test-7000001.hubspot.com" ||
				p.Status != store.StatusActive || !cmp.Equal(p.Scopes, wantScopes) {
				t.Errorf("portal = %+v, want installer admin@example.com (9000001), test-7000001.hubspot.com, active, scopes %v", p, wantScopes)
			}
			if n := env.hs.Calls(hubspottest.EndpointExchange); n != 1 {
				t.Errorf("code exchanges = %d, want 1", n)
			}
			tok, err := env.flow.Grants().Token(ctx, testPortal)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if d := time.Until(tok.Expiry); d < 29*time.Minute || d > 31*time.Minute {
				t.Errorf("token expires in %v, want about 30 minutes", d)
			}
			row, _ := env.db.GetToken(ctx, testPortal, ProviderHubSpot)
			rt, _ := env.flow.Grants().refreshToken(ctx, testPortal)
			code, _ := url.Parse(b.location)
			if leak, ok := containsAny(env.logs.String(), tok.AccessToken, rt, testClientSecret, code.Query().Get("code"), state, row.AccessToken); ok {
				t.Errorf("logs contain a secret %q:\n%s", leak, env.logs.String())
			}

			// A reinstall by another admin updates the same portal.
			env.hs.SetInstaller(testPortal, "test-7000001.hubspot.com", 9000002, "second@example.com")
			cb, _ = env.install(t, c)
			if cb.status != http.StatusSeeOther {
				t.Fatalf("reinstall callback = %d (%s), want 303", cb.status, cb.body)
			}
			ps, err := env.db.ListPortals(ctx)
			if err != nil || len(ps) != 1 || ps[0].InstalledByEmail != "second@example.com" || !ps[0].InstalledAt.Equal(p.InstalledAt) {
				t.Errorf("after reinstall, portals = %+v (%v), want the same portal installed by second@example.com", ps, err)
			}
			if row, _ := env.db.GetToken(ctx, testPortal, ProviderHubSpot); row.Version != 2 {
				t.Errorf("token version after reinstall = %d, want 2", row.Version)
			}
		})
	}
}

func TestInstallLearnsPortal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		omitHubID  bool
		failIntro  bool
		wantEmail  string
		wantDomain string
	}{
		{name: "hub_id in token response, introspection down", failIntro: true},
		{name: "hub_id only through introspection", omitHubID: true, wantEmail: "admin@example.com", wantDomain: "test-7000001.hubspot.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newInstallEnv(t, false, hubspottest.Config{OmitHubID: tt.omitHubID})
			if tt.failIntro {
				env.hs.Fail(hubspottest.EndpointIntrospect, 1, http.StatusInternalServerError, 0)
			}
			cb, _ := env.install(t, env.browser(t))
			if cb.status != http.StatusSeeOther {
				t.Fatalf("callback = %d (%s), want 303", cb.status, cb.body)
			}
			p, err := env.db.GetPortal(context.Background(), testPortal)
			if err != nil {
				t.Fatalf("GetPortal: %v", err)
			}
			if p.InstalledByEmail != tt.wantEmail || p.HubDomain != tt.wantDomain || p.InstalledByID != 9000001 || len(p.Scopes) == 0 {
				t.Errorf("portal = %+v, want email %q, domain %q, user 9000001, scopes", p, tt.wantEmail, tt.wantDomain)
			}
			if n := env.hs.Calls(hubspottest.EndpointIntrospect); n != 1 {
				t.Errorf("introspections = %d, want 1", n)
			}
		})
	}
}

func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// run drives a browser to a callback that must be refused.
		run       func(t *testing.T, env *installEnv) answer
		wantText  string
		exchanges int
	}{
		{
			name: "missing state",
			run: func(t *testing.T, env *installEnv) answer {
				c := env.browser(t)
				get(t, c, env.app.URL+"/oauth/hubspot/install")
				return get(t, c, env.app.URL+"/oauth/hubspot/callback?code=abc")
			},
			wantText: "install link has expired",
		},
		{
			name: "forged state",
			run: func(t *testing.T, env *installEnv) answer {
				c := env.browser(t)
				get(t, c, env.app.URL+"/oauth/hubspot/install")
				return get(t, c, env.app.URL+"/oauth/hubspot/callback?code=abc&state=forged")
			},
			wantText: "install link has expired",
		},
		{
			name: "state from another browser",
			run: func(t *testing.T, env *installEnv) answer {
				a := get(t, env.browser(t), env.app.URL+"/oauth/hubspot/install")
				b := get(t, env.browser(t), a.location)
				return get(t, env.browser(t), b.location)
			},
			wantText: "install link has expired",
		},
		{
			name: "expired state",
			run: func(t *testing.T, env *installEnv) answer {
				c := env.browser(t)
				a := get(t, c, env.app.URL+"/oauth/hubspot/install")
				b := get(t, c, a.location)
				env.clock.Advance(11 * time.Minute)
				return get(t, c, b.location)
			},
			wantText: "install link has expired",
		},
		{
			name: "reused state",
			run: func(t *testing.T, env *installEnv) answer {
				c := env.browser(t)
				cb, cbURL := env.install(t, c)
				if cb.status != http.StatusSeeOther {
					t.Fatalf("first callback = %d, want 303", cb.status)
				}
				// Replay it, cookie and all.
				u, _ := url.Parse(cbURL)
				app, _ := url.Parse(env.app.URL)
				c.Jar.SetCookies(app, []*http.Cookie{{Name: "hsa_oauth_state_hubspot", Value: u.Query().Get("state"), Path: "/"}})
				return get(t, c, cbURL)
			},
			wantText:  "install link has expired",
			exchanges: 1,
		},
		{
			name: "HubSpot error parameter",
			run: func(t *testing.T, env *installEnv) answer {
				env.hs.Deny("access_denied")
				c := env.browser(t)
				a := get(t, c, env.app.URL+"/oauth/hubspot/install")
				b := get(t, c, a.location)
				if !strings.Contains(b.location, "error=access_denied") {
					t.Fatalf("authorize redirected to %q, want error=access_denied", b.location)
				}
				return get(t, c, b.location)
			},
			wantText: "access was not granted",
		},
		{
			name: "code HubSpot refuses",
			run: func(t *testing.T, env *installEnv) answer {
				c := env.browser(t)
				a := get(t, c, env.app.URL+"/oauth/hubspot/install")
				state, _ := url.Parse(a.location)
				return get(t, c, env.app.URL+"/oauth/hubspot/callback?code=bogus&state="+url.QueryEscape(state.Query().Get("state")))
			},
			wantText:  "did not accept the authorization",
			exchanges: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newInstallEnv(t, false, hubspottest.Config{})
			got := tt.run(t, env)
			if got.status != http.StatusBadRequest || !strings.Contains(got.body, tt.wantText) || !strings.Contains(got.body, "<html") {
				t.Errorf("callback = %d %q, want 400 and a page saying %q", got.status, got.body, tt.wantText)
			}
			if cookieNamed(got.cookies, installedCookie) != nil {
				t.Error("callback called OnInstalled, want no install")
			}
			if n := env.hs.Calls(hubspottest.EndpointExchange); n != tt.exchanges {
				t.Errorf("code exchanges = %d, want %d", n, tt.exchanges)
			}
		})
	}
}

func TestStateHelpersForOtherProviders(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	f := New(Config{}, db, &http.Client{}, newDiscardLogger())
	e := echo.New()
	rec := httptest.NewRecorder()
	state, err := f.NewState(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), "quickbooks", 42)
	if err != nil {
		t.Fatalf("NewState: %v", err)
	}
	consume := func(provider string) (int64, error) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, c := range rec.Result().Cookies() {
			req.AddCookie(c)
		}
		return f.ConsumeState(e.NewContext(req, httptest.NewRecorder()), provider, state)
	}
	if _, err := consume("hubspot"); !errors.Is(err, ErrBadState) {
		t.Errorf("ConsumeState(other provider) = %v, want ErrBadState", err)
	}
	if got, err := consume("quickbooks"); err != nil || got != 42 {
		t.Errorf("ConsumeState() = %d, %v; want 42", got, err)
	}
	if _, err := consume("quickbooks"); !errors.Is(err, ErrBadState) {
		t.Errorf("ConsumeState() again = %v, want ErrBadState", err)
	}
}

// installedCookie is where the tests' OnInstalled records who installed.
const installedCookie = "test_installed"

// TestInstallWithoutOnInstalled: with no OnInstalled the install is still
// recorded and the browser gets a page saying so.
func TestInstallWithoutOnInstalled(t *testing.T) {
	t.Parallel()
	env := newInstallEnv(t, false, hubspottest.Config{})
	env.flow.cfg.OnInstalled = nil
	cb, _ := env.install(t, env.browser(t))
	if cb.status != http.StatusOK || !strings.Contains(cb.body, "The app is installed") {
		t.Errorf("callback = %d %q, want 200 with an installed page", cb.status, cb.body)
	}
	if cookieNamed(cb.cookies, installedCookie) != nil {
		t.Error("callback set OnInstalled's cookie without an OnInstalled")
	}
	if _, err := env.db.GetPortal(context.Background(), testPortal); err != nil {
		t.Errorf("GetPortal after the install: %v", err)
	}
}

// TestReinstallEndsSessions: running the install flow again while the
// portal is active (an admin signing in) ends that HubSpot user's sessions
// only, so the portal's other admins stay signed in; a reinstall of a
// portal that was uninstalled ends every session of the portal. Other
// portals' sessions are untouched either way, and the first install of a
// portal has none to end.
func TestReinstallEndsSessions(t *testing.T) {
	t.Parallel()
	env := newInstallEnv(t, false, hubspottest.Config{})
	ctx := context.Background()
	startSession := func(id string, portalID, userID int64) {
		t.Helper()
		err := env.db.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertSession(ctx, id, store.AdminSession{PortalID: portalID, UserID: userID, ExpiresAt: time.Now().Add(time.Hour)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	valid := func(id string) bool {
		_, err := env.db.GetSession(ctx, id, time.Now())
		return err == nil
	}
	startSession("other-portal-session", 8000002, 1)
	if cb, _ := env.install(t, env.browser(t)); cb.status != http.StatusSeeOther {
		t.Fatalf("install callback = %d (%s), want 303", cb.status, cb.body)
	}
	p, err := env.db.GetPortal(ctx, testPortal)
	if err != nil {
		t.Fatal(err)
	}
	installer := p.InstalledByID
	startSession("installer-before", testPortal, installer)
	startSession("other-admin", testPortal, installer+1)
	if cb, _ := env.install(t, env.browser(t)); cb.status != http.StatusSeeOther {
		t.Fatalf("sign-in callback = %d (%s), want 303", cb.status, cb.body)
	}
	if valid("installer-before") {
		t.Error("the installer's session from before signing in again is still valid")
	}
	if !valid("other-admin") || !valid("other-portal-session") {
		t.Errorf("after an admin signed in again: another admin's session valid %v, other portal's %v; want both", valid("other-admin"), valid("other-portal-session"))
	}

	// Uninstalled, then reinstalled: every session of the portal ends.
	if err := env.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkPortalUninstalled(ctx, testPortal, "test") }); err != nil {
		t.Fatal(err)
	}
	startSession("stale-admin", testPortal, installer+2)
	if cb, _ := env.install(t, env.browser(t)); cb.status != http.StatusSeeOther {
		t.Fatalf("reinstall callback = %d (%s), want 303", cb.status, cb.body)
	}
	if valid("other-admin") || valid("stale-admin") {
		t.Errorf("after a reinstall: sessions from before valid (%v, %v); want every one ended", valid("other-admin"), valid("stale-admin"))
	}
	startSession("after-reinstall", testPortal, installer)
	if !valid("after-reinstall") || !valid("other-portal-session") {
		t.Fatalf("after the reinstall: new session valid %v, other portal's %v; want both", valid("after-reinstall"), valid("other-portal-session"))
	}
}
