package quickbooks

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/oauth"
)

// connectEnv serves the connect routes on a local server whose URL is the
// public base URL, with a browser (cookie jar, redirects not followed).
type connectEnv struct {
	*env
	url     string
	browser *http.Client
}

func newConnectEnv(t *testing.T, opts quickbookstest.Options) *connectEnv {
	t.Helper()
	e := echo.New()
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	env := newEnv(t, opts, ts.URL)
	e.GET(ConnectPath, env.svc.HandleConnect())
	e.GET(CallbackPath, env.svc.HandleCallback())
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &connectEnv{env: env, url: ts.URL, browser: browser}
}

func (c *connectEnv) signIn(t *testing.T, portalID string) {
	t.Helper()
	u, _ := url.Parse(c.url)
	c.browser.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: portalID, Path: "/"}})
}

func (c *connectEnv) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.browser.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// authorize follows connect to Intuit and returns the callback URL Intuit
// redirects back to.
func (c *connectEnv) authorize(t *testing.T) string {
	t.Helper()
	resp, _ := c.get(t, c.url+ConnectPath)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("connect status = %d, want 302 to Intuit", resp.StatusCode)
	}
	auth, _ := url.Parse(resp.Header.Get("Location"))
	q := auth.Query()
	if !strings.HasPrefix(auth.String(), c.fake.AuthorizeURL()+"?") || q.Get("response_type") != "code" || q.Get("client_id") != quickbookstest.DefaultClientID ||
		q.Get("redirect_uri") != c.url+CallbackPath || q.Get("scope") != Scope || q.Get("state") == "" {
		t.Fatalf("authorize URL = %s", auth)
	}
	resp, _ = c.get(t, auth.String())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize status = %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func TestConnectFlow(t *testing.T) {
	t.Parallel()
	c := newConnectEnv(t, quickbookstest.Options{})
	c.signIn(t, "4242")
	back := c.authorize(t)
	resp, _ := c.get(t, back)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != SettingsPath {
		t.Fatalf("callback = %d %s, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), SettingsPath)
	}
	ctx := context.Background()
	st, err := c.grants.Status(ctx, 4242)
	if err != nil || st.Status != oauth.StatusActive || st.AccountID != quickbookstest.DefaultRealm || st.AccountName != quickbookstest.DefaultCompanyName {
		t.Fatalf("saved grant = %+v, %v, want an active grant of realm %s (%s)", st, err, quickbookstest.DefaultRealm, quickbookstest.DefaultCompanyName)
	}
	if rt := c.refreshToken(t, 4242); rt == "" || c.fake.Revoked(rt) {
		t.Errorf("saved refresh token = %q, want the live one Intuit issued", rt)
	}
	// The code exchange used Basic client authentication.
	var exchange *quickbookstest.Request
	for _, r := range c.fake.Requests() {
		if r.Path == quickbookstest.TokenPath {
			exchange = &r
		}
	}
	if exchange == nil || !strings.HasPrefix(exchange.Header.Get("Authorization"), "Basic ") || strings.Contains(exchange.Body, "client_secret") {
		t.Errorf("token request = %+v, want Basic auth and no secret in the body", exchange)
	}
	name, err := c.svc.VerifyConnection(ctx, 4242)
	if err != nil || name != quickbookstest.DefaultCompanyName {
		t.Errorf("VerifyConnection() = %q, %v", name, err)
	}

	// Replaying the callback (the state is single-use) shows a friendly page.
	resp, body := c.get(t, back)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
		t.Errorf("replayed callback = %d %q", resp.StatusCode, body)
	}
}

func TestConnectFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		run    func(t *testing.T, c *connectEnv) (*http.Response, string)
		status int
		text   string
	}{
		{"no settings session", func(t *testing.T, c *connectEnv) (*http.Response, string) {
			return c.get(t, c.url+ConnectPath)
		}, http.StatusSeeOther, ""},
		{"unknown state", func(t *testing.T, c *connectEnv) (*http.Response, string) {
			c.signIn(t, "1")
			back, _ := url.Parse(c.authorize(t))
			q := back.Query()
			q.Set("state", "forged")
			back.RawQuery = q.Encode()
			return c.get(t, back.String())
		}, http.StatusBadRequest, "expired or was already used"},
		{"missing state", func(t *testing.T, c *connectEnv) (*http.Response, string) {
			return c.get(t, c.url+CallbackPath+"?code=x&realmId=1")
		}, http.StatusBadRequest, "expired or was already used"},
		{"state from another browser", func(t *testing.T, c *connectEnv) (*http.Response, string) {
			c.signIn(t, "1")
			back := c.authorize(t)
			other := &http.Client{CheckRedirect: c.browser.CheckRedirect}
			resp, err := other.Get(back)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}, http.StatusBadRequest, "expired or was already used"},
		{"user cancelled", func(t *testing.T, c *connectEnv) (*http.Response, string) {
			c.signIn(t, "1")
			c.fake.SetDenyConsent(true)
			return c.get(t, c.authorize(t))
		}, http.StatusOK, "authorization was cancelled"},
		{"code rejected", func(t *testing.T, c *connectEnv) (*http.Response, string) {
			c.signIn(t, "1")
			back, _ := url.Parse(c.authorize(t))
			q := back.Query()
			q.Set("code", "not-a-code")
			back.RawQuery = q.Encode()
			return c.get(t, back.String())
		}, http.StatusBadGateway, "did not accept the authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConnectEnv(t, quickbookstest.Options{})
			resp, body := tt.run(t, c)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.text) {
				t.Errorf("answer = %d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.text)
			}
			if tt.status == http.StatusSeeOther && resp.Header.Get("Location") != InstallPath {
				t.Errorf("redirect = %q, want %s", resp.Header.Get("Location"), InstallPath)
			}
			if st, err := c.grants.Status(context.Background(), 1); !errors.Is(err, oauth.ErrNotConnected) {
				t.Errorf("grant of portal 1 = %+v, %v, want none saved", st, err)
			}
		})
	}
}

func TestDisconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quickbookstest.Options{}, "")
	ctx := context.Background()
	e.connect(t, 7)
	rt := e.refreshToken(t, 7)
	if err := e.svc.Disconnect(ctx, 7); err != nil {
		t.Fatalf("Disconnect() = %v", err)
	}
	if !e.fake.Revoked(rt) {
		t.Errorf("refresh token not revoked at Intuit")
	}
	var revoke *quickbookstest.Request
	for _, r := range e.fake.Requests() {
		if r.Path == quickbookstest.RevokePath {
			revoke = &r
		}
	}
	if revoke == nil || revoke.Body != `{"token":"`+rt+`"}` || revoke.Header.Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(revoke.Header.Get("Authorization"), "Basic ") {
		t.Errorf("revoke request = %+v", revoke)
	}
	if st, err := e.grants.Status(ctx, 7); !errors.Is(err, oauth.ErrNotConnected) {
		t.Errorf("grant after disconnect = %+v, %v, want it deleted", st, err)
	}
	// Once disconnected, the actions say how to connect.
	_, err := e.svc.VerifyConnection(ctx, 7)
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Code != actions.CodeNotConnected || !strings.Contains(ae.Message, "https://actions.example.test/settings") {
		t.Errorf("VerifyConnection() after disconnect = %v, want NOT_CONNECTED pointing to settings", err)
	}
	if !errors.Is(err, oauth.ErrNotConnected) {
		t.Errorf("error %v does not wrap oauth.ErrNotConnected", err)
	}
	// Disconnecting again is harmless.
	if err := e.svc.Disconnect(ctx, 7); err != nil {
		t.Errorf("second Disconnect() = %v", err)
	}
}

// TestDisconnectIntuitDown: when Intuit's revoke endpoint fails, the grant
// is still forgotten and the error says it was not revoked.
func TestDisconnectIntuitDown(t *testing.T) {
	t.Parallel()
	fs := quickbookstest.NewServer(quickbookstest.Options{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == quickbookstest.RevokePath {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	e := newEnvOn(t, &quickbookstest.Fake{Server: fs, URL: ts.URL}, "")
	ctx := context.Background()
	e.connect(t, 7)
	rt := e.refreshToken(t, 7)
	err := e.svc.Disconnect(ctx, 7)
	if err == nil || !strings.Contains(err.Error(), "deleted, but not revoked at Intuit") {
		t.Errorf("Disconnect() = %v, want it to say the grant was deleted but not revoked", err)
	}
	if fs.Revoked(rt) {
		t.Errorf("refresh token revoked at Intuit, which was down")
	}
	if st, err := e.grants.Status(ctx, 7); !errors.Is(err, oauth.ErrNotConnected) {
		t.Errorf("grant after disconnect = %+v, %v, want it deleted", st, err)
	}
}

// countingLimiter records the keys it was asked to pace.
type countingLimiter struct {
	mu   sync.Mutex
	keys map[string]int
}

func (l *countingLimiter) Acquire(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = map[string]int{}
	}
	l.keys[key]++
	return func() {}, nil
}

func (l *countingLimiter) Pause(string, time.Time) {}

func (l *countingLimiter) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[key]
}

// TestConnectForgedRealm: an admin who authorizes their own company but
// edits the realmId of the link back (here to another portal's company,
// which exists at Intuit) gets a page that says nothing was connected; no
// grant is saved, and the other company's request budget is not touched.
func TestConnectForgedRealm(t *testing.T) {
	t.Parallel()
	const victim = "4620816365019827190"
	tests := []struct {
		name   string
		realm  string
		status int
		text   string
	}{
		{"another company's id", victim, http.StatusForbidden, "nothing was connected or saved"},
		{"an id no company has", "1234567", http.StatusForbidden, "nothing was connected or saved"},
		{"not an id", "9341453012345678/../x", http.StatusBadRequest, "not one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConnectEnv(t, quickbookstest.Options{})
			c.fake.AddCompany(victim, "Victim Co")
			lim := &countingLimiter{}
			c.svc.lim = lim
			c.signIn(t, "1")
			back, _ := url.Parse(c.authorize(t))
			q := back.Query()
			if q.Get("realmId") != quickbookstest.DefaultRealm {
				t.Fatalf("realmId = %q, want the authorized company %s", q.Get("realmId"), quickbookstest.DefaultRealm)
			}
			q.Set("realmId", tt.realm)
			back.RawQuery = q.Encode()
			resp, body := c.get(t, back.String())
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.text) {
				t.Errorf("callback = %d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.text)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("callback Content-Type = %q, want an HTML page", ct)
			}
			if st, err := c.grants.Status(context.Background(), 1); !errors.Is(err, oauth.ErrNotConnected) {
				t.Errorf("grant of portal 1 = %+v, %v, want none saved", st, err)
			}
			if n := lim.count(tt.realm); n != 0 {
				t.Errorf("limiter charged %d request(s) to the unconfirmed realm %s, want none", n, tt.realm)
			}
		})
	}
}

// TestConnectConfirmsRealm: the company is confirmed with the new token
// before the grant is saved (one companyinfo read for the realm, with the
// new token); when Intuit cannot be reached to confirm it, nothing is
// saved and the page says to try again.
func TestConnectConfirmsRealm(t *testing.T) {
	t.Parallel()
	c := newConnectEnv(t, quickbookstest.Options{})
	c.signIn(t, "2")
	back := c.authorize(t)
	c.fake.FailNextOn("/companyinfo/"+quickbookstest.DefaultRealm, http.StatusServiceUnavailable, 1)
	resp, body := c.get(t, back)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "could not be reached to confirm the company") {
		t.Errorf("callback with Intuit down = %d %q, want 502 saying the company could not be confirmed", resp.StatusCode, body)
	}
	if st, err := c.grants.Status(context.Background(), 2); !errors.Is(err, oauth.ErrNotConnected) {
		t.Errorf("grant of portal 2 = %+v, %v, want none saved", st, err)
	}

	c.fake.ResetRequests()
	resp, _ = c.get(t, c.authorize(t))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback = %d, want 303 to settings", resp.StatusCode)
	}
	reads := c.fake.APIRequests()
	if len(reads) != 1 || reads[0].Path != "/v3/company/"+quickbookstest.DefaultRealm+"/companyinfo/"+quickbookstest.DefaultRealm ||
		!strings.HasPrefix(reads[0].Header.Get("Authorization"), "Bearer ") {
		t.Errorf("API requests while connecting = %+v, want one companyinfo read of the realm with the new token", reads)
	}
	if st, err := c.grants.Status(context.Background(), 2); err != nil || st.AccountID != quickbookstest.DefaultRealm {
		t.Errorf("grant of portal 2 = %+v, %v, want realm %s", st, err, quickbookstest.DefaultRealm)
	}
}

// TestConfirmRealmAnswers: how each answer of Intuit to the confirmation
// read is taken. Only an authentication or authorization refusal means the
// token is for another company; a throttle (even as a 403) or an outage
// leaves the company unconfirmed without saying it is not the token's.
func TestConfirmRealmAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		mismatch bool
	}{
		{"authorization failed (3100)", http.StatusForbidden, "application/json",
			`{"warnings":null,"intuitObject":null,"fault":{"error":[{"message":"message=AuthorizationFailed; errorCode=003100; statusCode=403","detail":null,"code":"3100","element":null}],"type":"SERVICE"},"time":1543012192555}`, true},
		{"authentication failed (100)", http.StatusUnauthorized, "application/xml",
			`<?xml version="1.0"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="AuthenticationFault"><Error code="100"><Message>General Authentication Error</Message></Error></Fault></IntuitResponse>`, true},
		{"throttled as a 403", http.StatusForbidden, "application/xml",
			`<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=403</Message></Error></Fault>`, false},
		{"unavailable", http.StatusServiceUnavailable, "text/plain", "down", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v3/company/123145/companyinfo/123145" {
					t.Errorf("path = %s", r.URL.Path)
				}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(ts.Close)
			s := &Provider{cfg: Config{APIBaseURL: ts.URL}}
			_, err := s.confirmRealm(context.Background(), ts.Client(), "123145")
			if err == nil || errors.Is(err, errRealmMismatch) != tt.mismatch {
				t.Errorf("confirmRealm() = %v, want an error, mismatch %v", err, tt.mismatch)
			}
		})
	}
}
