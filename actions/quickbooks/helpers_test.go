package quickbooks

import (
	"context"
	"crypto/rand"
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
	"golang.org/x/oauth2"

	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/oauth"
)

// memGrants is an in-memory Grants with real token refresh (via oauth2,
// against the fake's token endpoint), standing in for the oauth package.
type memGrants struct {
	conf *oauth2.Config
	hc   *http.Client

	mu     sync.Mutex
	grants map[int64]*memGrant
}

type memGrant struct {
	tok         *oauth2.Token
	realm, name string
}

func newMemGrants(conf *oauth2.Config) *memGrants {
	return &memGrants{conf: conf, hc: &http.Client{Timeout: 10 * time.Second}, grants: map[int64]*memGrant{}}
}

func (g *memGrants) Save(ctx context.Context, portalID int64, tok *oauth2.Token, realmID, companyName string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := *tok
	g.grants[portalID] = &memGrant{tok: &t, realm: realmID, name: companyName}
	return nil
}

func (g *memGrants) Token(ctx context.Context, portalID int64) (*oauth2.Token, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokenLocked(ctx, portalID, false)
}

// tokenLocked refreshes under the lock, so concurrent callers cause one
// refresh and the rotated refresh token is stored before anyone uses it.
func (g *memGrants) tokenLocked(ctx context.Context, portalID int64, force bool) (*oauth2.Token, error) {
	gr := g.grants[portalID]
	if gr == nil {
		return nil, fmt.Errorf("portal %d: %w", portalID, oauth.ErrNotConnected)
	}
	if gr.tok.Valid() && !force {
		t := *gr.tok
		return &t, nil
	}
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, g.hc)
	nt, err := g.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: gr.tok.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			delete(g.grants, portalID)
			return nil, fmt.Errorf("portal %d: refresh rejected: %w", portalID, oauth.ErrNotConnected)
		}
		return nil, err
	}
	gr.tok = nt
	t := *nt
	return &t, nil
}

func (g *memGrants) Client(ctx context.Context, portalID int64) (*http.Client, error) {
	if _, err := g.Token(ctx, portalID); err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &oauth2.Transport{Source: portalSource{g, portalID, ctx}, Base: http.DefaultTransport}}, nil
}

type portalSource struct {
	g        *memGrants
	portalID int64
	ctx      context.Context
}

func (p portalSource) Token() (*oauth2.Token, error) { return p.g.Token(p.ctx, p.portalID) }

func (g *memGrants) Account(ctx context.Context, portalID int64) (string, string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.grants[portalID]
	if gr == nil {
		return "", "", fmt.Errorf("portal %d: %w", portalID, oauth.ErrNotConnected)
	}
	return gr.realm, gr.name, nil
}

func (g *memGrants) Status(ctx context.Context, portalID int64) (oauth.GrantStatus, error) {
	realm, name, err := g.Account(ctx, portalID)
	if err != nil {
		return oauth.GrantStatus{}, err
	}
	return oauth.GrantStatus{Provider: Provider, PortalID: portalID, AccountID: realm, AccountName: name, Status: oauth.StatusActive}, nil
}

func (g *memGrants) Refresh(ctx context.Context, portalID int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, err := g.tokenLocked(ctx, portalID, true)
	return err
}

func (g *memGrants) Delete(ctx context.Context, portalID int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.grants, portalID)
	return nil
}

func (g *memGrants) get(portalID int64) (memGrant, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.grants[portalID]
	if gr == nil {
		return memGrant{}, false
	}
	return *gr, true
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

// env is a Service wired to a running fake.
type env struct {
	fake     *quickbookstest.Fake
	svc      *Service
	grants   *memGrants
	sessions *memSessions
	crm      *fakeCRM
}

var testNow = time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, opts quickbookstest.Options, publicBaseURL string) *env {
	t.Helper()
	fake := quickbookstest.Start(t, opts)
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
	grants := newMemGrants(OAuthConfig(cfg))
	sessions := newMemSessions()
	crm := &fakeCRM{contacts: map[string]Contact{}}
	svc, err := New(cfg, grants, sessions, crm, &http.Client{Timeout: 10 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	svc.now = func() time.Time { return testNow }
	return &env{fake: fake, svc: svc, grants: grants, sessions: sessions, crm: crm}
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
