package quickbooks

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
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// errKeepGrant makes Grants.Revoke hand over the stored refresh token
// without revoking or deleting anything.
var errKeepGrant = errors.New("read only")

// storedRefreshToken returns the refresh token the store holds for the
// portal's grant, read through Grants.Revoke so that it is the one Grants
// would use. It is safe to call from a fake's handler.
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

// fakeCRM answers DealContact from a map of deal id → contact.
type fakeCRM struct {
	mu       sync.Mutex
	contacts map[string]Contact
	err      error
	calls    int
}

func (f *fakeCRM) DealContact(ctx context.Context, portalID int64, dealID string) (Contact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.contacts[dealID], f.err
}

// env is a Provider wired to a running fake, its grants kept by the real
// oauth.Grants on a SQLite file.
type env struct {
	fake     *quickbookstest.Fake
	svc      *Provider
	db       *store.DB
	grants   *oauth.Grants
	sessions *memSessions
	crm      *fakeCRM
}

var testNow = time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, opts quickbookstest.Options, publicBaseURL string) *env {
	t.Helper()
	return newEnvOn(t, quickbookstest.Start(t, opts), publicBaseURL)
}

// newEnvOn wires a Provider to fake, which may be served behind a handler
// of the test's.
func newEnvOn(t *testing.T, fake *quickbookstest.Fake, publicBaseURL string) *env {
	t.Helper()
	return newEnvWith(t, fake, publicBaseURL, storetest.URL(t), nil)
}

// newEnvWith is newEnvOn on the database at dbURL, with sessions (nil:
// memSessions) keeping the connect flows' states.
func newEnvWith(t *testing.T, fake *quickbookstest.Fake, publicBaseURL, dbURL string, sessions func(db *store.DB) actions.Sessions) *env {
	t.Helper()
	if publicBaseURL == "" {
		publicBaseURL = "https://actions.example.test"
	}
	cfg := Config{
		ClientID:      quickbookstest.DefaultClientID,
		ClientSecret:  quickbookstest.DefaultClientSecret,
		Environment:   "sandbox",
		PublicBaseURL: publicBaseURL,
		APIBaseURL:    fake.APIBaseURL(),
		AuthorizeURL:  fake.AuthorizeURL(),
		TokenURL:      fake.TokenURL(),
		RevokeURL:     fake.RevokeURL(),
	}
	ctx := context.Background()
	key := sha256.Sum256([]byte("quickbooks test key"))
	db, err := store.Open(ctx, dbURL, store.WithKeys(key[:], nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hc := &http.Client{Timeout: 10 * time.Second}
	grants := oauth.NewGrants(ID, OAuthConfig(cfg), db, hc, log)
	mem := newMemSessions()
	var ss actions.Sessions = mem
	if sessions != nil {
		ss = sessions(db)
	}
	crm := &fakeCRM{contacts: map[string]Contact{}}
	svc, err := newProvider(cfg, grants, ss, crm, hc, log)
	if err != nil {
		t.Fatalf("newProvider() = %v", err)
	}
	svc.now = func() time.Time { return testNow }
	return &env{fake: fake, svc: svc, db: db, grants: grants, sessions: mem, crm: crm}
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

// tokenRequests counts the requests the fake's token endpoint received.
func (e *env) tokenRequests() int {
	n := 0
	for _, r := range e.fake.Requests() {
		if r.Path == quickbookstest.TokenPath {
			n++
		}
	}
	return n
}

// connect gives portalID a grant for the fake's company, through the
// authorize endpoint and a real code exchange.
func (e *env) connect(t *testing.T, portalID int64) {
	t.Helper()
	conf := *e.svc.conf
	conf.RedirectURL = "https://actions.example.test" + CallbackPath
	nc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := nc.Get(conf.AuthCodeURL("st"))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize redirect = %q, want a code", resp.Header.Get("Location"))
	}
	tok, err := conf.Exchange(context.Background(), loc.Query().Get("code"))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if err := e.grants.Save(context.Background(), portalID, tok, loc.Query().Get("realmId"), quickbookstest.DefaultCompanyName); err != nil {
		t.Fatal(err)
	}
}
