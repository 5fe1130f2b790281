package shopify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/shopify/shopifytest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

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

const sessionCookie = "test_session"

func bindCookie(provider string) string { return "test_bind_" + provider }

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
	c.SetCookie(&http.Cookie{Name: bindCookie(provider), Value: bind, Path: "/", HttpOnly: true, MaxAge: 600})
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
	ck, err := c.Cookie(bindCookie(provider))
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

const (
	portal   = 7100001
	testShop = "acme-test.myshopify.com"
)

// env is a Provider wired to a running fake, its routes served over HTTP,
// its tokens in a real store.
type env struct {
	fake *shopifytest.Fake
	p    *Provider
	db   *store.DB
	srv  *httptest.Server
}

func newEnv(t *testing.T, opts shopifytest.Options) *env {
	t.Helper()
	fake := shopifytest.Start(t, opts)
	ctx := context.Background()
	key := sha256.Sum256([]byte("shopify test key"))
	db, err := store.Open(ctx, storetest.URL(t), store.WithKeys(key[:], nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	e := echo.New()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	secret := sha256.Sum256([]byte("code secret"))
	p, err := New(Config{ClientID: shopifytest.DefaultClientID, ClientSecret: shopifytest.DefaultClientSecret, APIBaseURL: fake.URL},
		actions.Deps{DB: db, Sessions: newMemSessions(), PublicBaseURL: srv.URL, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			AppSecret: func(context.Context, string) ([]byte, error) { return secret[:], nil }})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	p.Routes(e)
	return &env{fake: fake, p: p, db: db, srv: srv}
}

// browser is an admin's browser signed in to portalID's settings.
func (e *env) browser(t *testing.T, portalID int64) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: strconv.FormatInt(portalID, 10), Path: "/"}})
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == actions.SettingsPath {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

var tokenPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// formToken loads the connect form and returns its token.
func formToken(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + ConnectPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := tokenPattern.FindSubmatch(b)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET connect = %d %s, want the form", resp.StatusCode, b)
	}
	return string(m[1])
}

// submit posts the connect form.
func submit(t *testing.T, c *http.Client, base, token, shop string) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(base+ConnectPath, url.Values{"csrf_token": {token}, "shop": {shop}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// connect connects portalID to shop through the whole flow.
func (e *env) connect(t *testing.T, portalID int64, shop string) {
	t.Helper()
	c := e.browser(t, portalID)
	resp, body := submit(t, c, e.srv.URL, formToken(t, c, e.srv.URL), shop)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != actions.SettingsPath {
		t.Fatalf("connect %s = %d %q %s, want 303 to settings", shop, resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

func (e *env) stored(t *testing.T, portalID int64) (store.Token, bool) {
	t.Helper()
	row, err := e.db.GetToken(context.Background(), portalID, ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return row, true
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
