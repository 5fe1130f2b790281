package salesforce

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/salesforce/salesforcetest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// errKeepGrant makes Grants.Revoke hand over the stored refresh token
// without revoking or deleting anything.
var errKeepGrant = errors.New("read only")

// storedRefreshToken returns the refresh token the store holds for the
// portal's grant, read through Grants.Revoke so that it is the one Grants
// would use.
func storedRefreshToken(ctx context.Context, g *oauth.Grants, portalID int64) (string, error) {
	var rt string
	err := g.Revoke(ctx, portalID, func(_ context.Context, refreshToken string) error {
		rt = refreshToken
		return errKeepGrant
	})
	if !errors.Is(err, errKeepGrant) {
		return "", fmt.Errorf("read refresh token of portal %d: %w", portalID, err)
	}
	return rt, nil
}

// memSessions is a Sessions whose settings session is a plain cookie
// holding the portal id, with single-use, browser-bound states.
type memSessions struct {
	mu     sync.Mutex
	states map[string]memState
}

type memState struct {
	provider string
	portalID int64
	bind     string
	expires  time.Time
}

const sessionCookie, bindCookie = "test_session", "test_state_bind"

func newMemSessions() *memSessions { return &memSessions{states: map[string]memState{}} }

func (m *memSessions) PortalID(c echo.Context) (int64, bool) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(ck.Value, 10, 64)
	return id, err == nil && id > 0
}

func (m *memSessions) NewState(c echo.Context, provider string) (string, error) {
	portalID, ok := m.PortalID(c)
	if !ok {
		return "", errors.New("no session")
	}
	state, bind := randString(), randString()
	c.SetCookie(&http.Cookie{Name: bindCookie, Value: bind, Path: "/", HttpOnly: true, MaxAge: 600})
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[state] = memState{provider: provider, portalID: portalID, bind: bind, expires: time.Now().Add(10 * time.Minute)}
	return state, nil
}

func (m *memSessions) ConsumeState(c echo.Context, provider, state string) (int64, error) {
	m.mu.Lock()
	st, ok := m.states[state]
	delete(m.states, state)
	m.mu.Unlock()
	ck, err := c.Cookie(bindCookie)
	switch {
	case !ok:
		return 0, errors.New("unknown or used state")
	case st.provider != provider:
		return 0, errors.New("state for another provider")
	case err != nil || ck.Value != st.bind:
		return 0, errors.New("state bound to another browser")
	case time.Now().After(st.expires):
		return 0, errors.New("state expired")
	}
	return st.portalID, nil
}

func randString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// env is a Provider wired to a running fake, its grants kept by the real
// oauth.Grants on the test's store, with its connect routes served on a
// local server whose URL is the public base URL, and a browser (cookie
// jar, redirects not followed).
type env struct {
	fake     *salesforcetest.Fake
	svc      *Provider
	db       *store.DB
	grants   *oauth.Grants
	sessions *memSessions
	url      string
	browser  *http.Client
	cfg      Config
}

func newEnv(t testing.TB, opts salesforcetest.Options) *env {
	t.Helper()
	return newEnvWith(t, opts, func(*Config) {})
}

func newEnvWith(t testing.TB, opts salesforcetest.Options, edit func(*Config)) *env {
	t.Helper()
	fake := salesforcetest.Start(t, opts)
	e := echo.New()
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	cfg := Config{
		ClientID:      salesforcetest.DefaultClientID,
		ClientSecret:  salesforcetest.DefaultClientSecret,
		LoginURL:      fake.LoginURL(),
		PublicBaseURL: ts.URL,
	}
	edit(&cfg)
	ctx := context.Background()
	key := sha256.Sum256([]byte("salesforce test key"))
	db, err := store.Open(ctx, storetest.URL(t), store.WithKeys(key[:], nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hc := GrantsClient(&http.Client{Timeout: 10 * time.Second}, OAuthConfig(cfg).Endpoint.TokenURL)
	grants := oauth.NewGrants(ID, OAuthConfig(cfg), db, hc, log)
	sessions := newMemSessions()
	appKey := []byte("0123456789abcdef0123456789abcdef")
	secret := func(_ context.Context, name string) ([]byte, error) {
		if name != pkceSecretName {
			return nil, fmt.Errorf("unexpected secret %q", name)
		}
		return appKey, nil
	}
	svc, err := newProvider(cfg, grants, sessions, secret, hc, log)
	if err != nil {
		t.Fatalf("newProvider() = %v", err)
	}
	e.GET(ConnectPath, svc.HandleConnect())
	e.GET(CallbackPath, svc.HandleCallback())
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &env{fake: fake, svc: svc, db: db, grants: grants, sessions: sessions, url: ts.URL, browser: browser, cfg: svc.cfg}
}

func (e *env) signIn(t testing.TB, portalID int64) {
	t.Helper()
	u, _ := url.Parse(e.url)
	e.browser.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: strconv.FormatInt(portalID, 10), Path: "/"}})
}

func (e *env) get(t testing.TB, u string) (*http.Response, string) {
	t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// authorize follows connect to Salesforce's authorize endpoint and returns
// the authorize URL and the callback URL Salesforce redirects back to.
func (e *env) authorize(t testing.TB) (auth *url.URL, back string) {
	t.Helper()
	resp, _ := e.get(t, e.url+ConnectPath)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("connect status = %d, want 302 to Salesforce", resp.StatusCode)
	}
	auth, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(auth.String(), e.fake.LoginURL()+salesforcetest.AuthorizePath+"?") {
		t.Fatalf("connect redirect = %q, want the fake's authorize endpoint", resp.Header.Get("Location"))
	}
	resp, _ = e.get(t, auth.String())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize status = %d", resp.StatusCode)
	}
	return auth, resp.Header.Get("Location")
}

// connect connects portalID through the whole browser flow and fails the
// test unless the grant is saved.
func (e *env) connect(t testing.TB, portalID int64) {
	t.Helper()
	e.signIn(t, portalID)
	_, back := e.authorize(t)
	resp, body := e.get(t, back)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != actions.SettingsPath {
		t.Fatalf("callback = %d %s %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), body, actions.SettingsPath)
	}
}

// refreshToken returns the refresh token stored for the portal's grant.
func (e *env) refreshToken(t *testing.T, portalID int64) string {
	t.Helper()
	rt, err := storedRefreshToken(context.Background(), e.grants, portalID)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// execution is an execution of the action for a contact.
func execution(portalID int64, callbackID, objectID string, props map[string]string) *actions.Execution {
	p := map[string]actions.FlexString{}
	for k, v := range props {
		p[k] = actions.FlexString(v)
	}
	return &actions.Execution{CallbackID: callbackID, Ref: "ref-" + callbackID, PortalID: portalID,
		Object: actions.Object{ObjectID: actions.FlexString(objectID), ObjectType: "CONTACT", Properties: p}}
}
