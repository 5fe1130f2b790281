// Package hubspottest is a fake of the parts of HubSpot that
// hubspot-actions talks to: the OAuth authorize page and token, introspect
// and revoke endpoints, the app uninstall API, callback completion, and
// CRM object reads. Tests,
// the sandbox mode and the simulator use it.
//
// It is strict: every handler checks the method, content type, credentials
// and body it receives and answers with HubSpot's own error shapes.
// Requests a real client should never send (credentials in a query string,
// numbers in outputFields, batches over 100, unknown paths) are recorded as
// violations, which NewTestServer turns into test failures. It is
// deterministic: tokens and ids come from counters, and time from
// Config.Now.
package hubspottest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a fake HubSpot. Zero values take the defaults noted.
type Config struct {
	ClientID     string
	ClientSecret string
	// RedirectURL, when set, is the only redirect_uri authorize and the
	// token endpoint accept.
	RedirectURL string
	// The portal and user whose install authorize approves (defaults:
	// portal 7000001, hub domain "test-<portal>.hubspot.com", user 9000001,
	// admin@example.com). SetInstaller changes them.
	PortalID  int64
	HubDomain string
	UserID    int64
	UserEmail string
	// AccessTokenTTL is the life of access tokens (default 1800 s, as HubSpot).
	AccessTokenTTL time.Duration
	// RotateRefreshTokens makes each refresh issue a new refresh token and
	// revoke the one used (HubSpot keeps it; Intuit-style rotation).
	RotateRefreshTokens bool
	// OmitHubID leaves hub_id and user_id out of token responses, so the
	// client must introspect.
	OmitHubID bool
	// SandboxTokens accepts "sandbox-<portalID>" as a live access token of
	// that portal with every scope.
	SandboxTokens bool
	// Rate limit per portal on API calls (default 110 per 10 s). Headers
	// always report it; EnforceRateLimit answers 429 past it.
	RateLimitMax      int
	RateLimitInterval time.Duration
	EnforceRateLimit  bool
	// Now is the server's clock (default time.Now).
	Now func() time.Time
	// OnComplete, when set, is called once for each callback completion
	// the server records, after recording it and outside its lock (so
	// concurrently for concurrent requests); it must return quickly. The
	// simulator uses it to follow thousands of executions.
	OnComplete func(Completion)
}

func (c *Config) defaults() {
	if c.PortalID == 0 {
		c.PortalID = 7000001
	}
	if c.HubDomain == "" {
		c.HubDomain = fmt.Sprintf("test-%d.hubspot.com", c.PortalID)
	}
	if c.UserID == 0 {
		c.UserID = 9000001
	}
	if c.UserEmail == "" {
		c.UserEmail = "admin@example.com"
	}
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = 1800 * time.Second
	}
	if c.RateLimitMax <= 0 {
		c.RateLimitMax = 110
	}
	if c.RateLimitInterval <= 0 {
		c.RateLimitInterval = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Endpoint names a group of HubSpot endpoints, for counting calls and
// injecting faults.
type Endpoint string

// Endpoints.
const (
	EndpointAuthorize  Endpoint = "authorize"
	EndpointToken      Endpoint = "token" // both grants
	EndpointExchange   Endpoint = "token.authorization_code"
	EndpointRefresh    Endpoint = "token.refresh_token"
	EndpointIntrospect Endpoint = "introspect"
	EndpointRevoke     Endpoint = "revoke"
	EndpointCallbacks  Endpoint = "callbacks" // single and batch completion
	EndpointCRM        Endpoint = "crm"
	// EndpointUninstall is DELETE /appinstalls/2026-03/external-install.
	EndpointUninstall Endpoint = "uninstall"
)

// Completion is one callback completion HubSpot received.
type Completion struct {
	PortalID     int64
	CallbackID   string
	OutputFields map[string]string
	Batch        bool // came through the batch endpoint
}

// Tokens is a grant as issued by the token endpoint.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int // seconds
	HubID        int64
	UserID       int64
	Scopes       []string
}

type grant struct {
	portalID  int64
	hubDomain string
	userID    int64
	userEmail string
	scopes    []string
}

type authCode struct {
	grant
	redirectURI string
	expires     time.Time
	used        bool
}

type accessToken struct {
	grant
	expires time.Time
	revoked bool
}

type refreshToken struct {
	grant
	revoked bool
}

type fault struct {
	status     int
	retryAfter time.Duration
}

type objectKey struct {
	portalID int64
	typ      string
	id       string
}

type object struct {
	props map[string]string
	assoc map[string][]string // plural type → ids
}

// Server is a fake HubSpot. It is safe for concurrent use.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu          sync.Mutex
	seq         int
	deny        string
	installer   grant
	lastAuth    url.Values
	codes       map[string]*authCode
	access      map[string]*accessToken
	refresh     map[string]*refreshToken
	objects     map[objectKey]*object
	completions []Completion
	completed   map[string]int
	duplicates  int
	changed     chan struct{}
	calls       map[Endpoint]int
	faults      map[Endpoint][]fault
	violations  []string
	window      map[int64][]time.Time
	uninstalls  []int64 // portals uninstalled through the API, in order
	// schema holds the properties API's state (properties.go).
	schema schema
	// declineOptional makes installs grant none of the optional scopes.
	declineOptional bool

	url string
	hs  *http.Server
}

// NewServer returns a fake HubSpot; serve it with Start, or use it as an
// http.Handler.
func NewServer(cfg Config) *Server {
	cfg.defaults()
	s := &Server{
		cfg:       cfg,
		installer: grant{portalID: cfg.PortalID, hubDomain: cfg.HubDomain, userID: cfg.UserID, userEmail: cfg.UserEmail},
		codes:     make(map[string]*authCode),
		access:    make(map[string]*accessToken),
		refresh:   make(map[string]*refreshToken),
		objects:   make(map[objectKey]*object),
		completed: make(map[string]int),
		changed:   make(chan struct{}),
		calls:     make(map[Endpoint]int),
		faults:    make(map[Endpoint][]fault),
		window:    make(map[int64][]time.Time),
	}
	s.schema.groups = make(map[schemaKey]bool)
	s.schema.props = make(map[schemaKey]PropertyDef)
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("/oauth/2026-03/token", s.handleToken)
	mux.HandleFunc("/oauth/2026-03/token/introspect", s.handleIntrospect)
	mux.HandleFunc("/oauth/2026-03/token/revoke", s.handleRevoke)
	mux.HandleFunc("/automation/actions/callbacks/2026-03/complete", s.handleCompleteBatch)
	mux.HandleFunc("/automation/actions/callbacks/2026-03/{callbackId}/complete", s.handleComplete)
	mux.HandleFunc("/crm/objects/2026-03/{objectType}/{objectId}", s.handleGetObject)
	mux.HandleFunc("PATCH /crm/objects/2026-03/{objectType}/{objectId}", s.handleUpdateObject)
	mux.HandleFunc("/crm/properties/2026-03/{objectType}/groups", s.handleCreateGroup)
	mux.HandleFunc("/crm/properties/2026-03/{objectType}", s.handleCreateProperty)
	mux.HandleFunc("/crm/properties/2026-03/{objectType}/{propertyName}", s.handleDeleteProperty)
	mux.HandleFunc("/appinstalls/2026-03/external-install", s.handleUninstall)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.violation("unexpected request %s %s", r.Method, r.URL.Path)
		s.hubspotError(w, http.StatusNotFound, "resource not found", "OBJECT_NOT_FOUND")
	})
	s.mux = mux
	return s
}

// TB is the part of testing.TB that NewTestServer uses; *testing.T and
// *testing.B satisfy it. It is declared here so that the service binary,
// which serves this fake in sandbox mode, does not link package testing.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// NewTestServer starts a fake HubSpot on a loopback port that closes when
// the test ends, and fails the test if the fake saw violations.
func NewTestServer(t TB, cfg Config) *Server {
	t.Helper()
	s := NewServer(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hubspottest: listen: %v", err)
	}
	s.Start(ln)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("hubspottest: close: %v", err)
		}
		for _, v := range s.Violations() {
			t.Errorf("hubspottest: %s", v)
		}
	})
	return s
}

// ServeHTTP serves HubSpot's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start serves on ln until Close.
func (s *Server) Start(ln net.Listener) {
	s.mu.Lock()
	s.url = "http://" + ln.Addr().String()
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	hs := s.hs
	s.mu.Unlock()
	go func() { _ = hs.Serve(ln) }()
}

// URL returns the server's base URL, once started.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops a server started with Start.
func (s *Server) Close() error {
	s.mu.Lock()
	hs := s.hs
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(ctx)
}

// ---- controls ----

// Deny makes authorize refuse installs with the given OAuth error (such as
// "access_denied"); "" approves again.
func (s *Server) Deny(oauthError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = oauthError
}

// SetInstaller sets the portal and user whose install authorize approves.
func (s *Server) SetInstaller(portalID int64, hubDomain string, userID int64, userEmail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installer = grant{portalID: portalID, hubDomain: hubDomain, userID: userID, userEmail: userEmail}
}

// LastAuthorize returns the query of the last authorize request.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := url.Values{}
	for k, v := range s.lastAuth {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Grant issues tokens for a portal directly, as if it had installed with
// the given scopes (default: oauth and automation plus read scopes for
// contacts, companies and deals).
func (s *Server) Grant(portalID int64, scopes ...string) Tokens {
	if len(scopes) == 0 {
		scopes = []string{"oauth", "automation", "crm.objects.contacts.read", "crm.objects.companies.read", "crm.objects.deals.read"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := grant{portalID: portalID, hubDomain: fmt.Sprintf("test-%d.hubspot.com", portalID), userID: s.cfg.UserID, userEmail: s.cfg.UserEmail, scopes: scopes}
	return s.issueLocked(g, "")
}

// DeclineOptional makes the installs that follow grant none of the
// optional scopes asked for, as an admin who unticks them does.
func (s *Server) DeclineOptional() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.declineOptional = true
}

// Fail makes the next n calls to endpoint answer status (429 or 5xx, say)
// with HubSpot's error body, and Retry-After when retryAfter > 0.
func (s *Server) Fail(e Endpoint, n int, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[e] = append(s.faults[e], fault{status: status, retryAfter: retryAfter})
	}
}

// RevokePortal revokes every token of a portal, as an uninstall does.
func (s *Server) RevokePortal(portalID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.access {
		if t.portalID == portalID {
			t.revoked = true
		}
	}
	for _, t := range s.refresh {
		if t.portalID == portalID {
			t.revoked = true
		}
	}
}

// Uninstalls returns the portals the app was uninstalled from through
// DELETE /appinstalls/2026-03/external-install, in order (a portal twice if
// it reinstalled and was uninstalled again).
func (s *Server) Uninstalls() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.uninstalls...)
}

// RefreshTokenLive reports whether a refresh token is known and not revoked.
func (s *Server) RefreshTokenLive(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[token]
	return ok && !t.revoked
}

// Calls returns how many requests an endpoint received (faults included).
func (s *Server) Calls(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[e]
}

// RefreshCalls returns how many refresh_token grants were asked for.
func (s *Server) RefreshCalls() int { return s.Calls(EndpointRefresh) }

// Violations returns the protocol violations seen so far.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// ClearViolations forgets the violations seen so far, for tests that send
// bad requests on purpose.
func (s *Server) ClearViolations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = nil
}

// Completions returns the callback completions received, in order.
func (s *Server) Completions() []Completion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Completion(nil), s.completions...)
}

// Duplicates returns how many completions named a callbackId completed
// before.
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// WaitCompletion waits until callbackID is completed, or ctx ends.
func (s *Server) WaitCompletion(ctx context.Context, callbackID string) (Completion, error) {
	for {
		s.mu.Lock()
		for _, c := range s.completions {
			if c.CallbackID == callbackID {
				s.mu.Unlock()
				return c, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Completion{}, fmt.Errorf("hubspottest: wait for completion of %s: %w", callbackID, ctx.Err())
		}
	}
}

// SeedObject creates or replaces a CRM record of a portal. objectType is
// a name such as "contacts" or an id such as "0-1".
func (s *Server) SeedObject(portalID int64, objectType, id string, props map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := make(map[string]string, len(props))
	for k, v := range props {
		p[k] = v
	}
	k := objectKey{portalID, canonicalType(objectType), id}
	o, ok := s.objects[k]
	if !ok {
		o = &object{assoc: make(map[string][]string)}
		s.objects[k] = o
	}
	o.props = p
}

// Object returns a copy of a seeded record's properties.
func (s *Server) Object(portalID int64, objectType, id string) (map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[objectKey{portalID, canonicalType(objectType), id}]
	if !ok {
		return nil, false
	}
	p := make(map[string]string, len(o.props))
	for k, v := range o.props {
		p[k] = v
	}
	return p, true
}

// Associate associates two seeded records, both ways.
func (s *Server) Associate(portalID int64, fromType, fromID, toType, toID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from, to := canonicalType(fromType), canonicalType(toType)
	for _, e := range []struct{ t, id, ot, oid string }{{from, fromID, to, toID}, {to, toID, from, fromID}} {
		k := objectKey{portalID, e.t, e.id}
		o, ok := s.objects[k]
		if !ok {
			o = &object{props: map[string]string{}, assoc: make(map[string][]string)}
			s.objects[k] = o
		}
		o.assoc[e.ot] = append(o.assoc[e.ot], e.oid)
	}
}

// ---- handlers ----

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointAuthorize)
	if r.Method != http.MethodGet {
		s.violation("authorize: method %s, want GET", r.Method)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	s.lastAuth = q
	s.mu.Unlock()
	for k := range q {
		switch k {
		case "client_id", "redirect_uri", "scope", "optional_scope", "state", "response_type":
		default:
			s.violation("authorize: unexpected parameter %q", k)
		}
	}
	fail := func(msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<h1>Authorization failed</h1><p>%s</p>", msg)
	}
	if q.Get("client_id") == "" || q.Get("client_id") != s.cfg.ClientID {
		fail("The app's client_id is missing or unknown.")
		return
	}
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if redirect == "" || err != nil || (ru.Scheme != "http" && ru.Scheme != "https") || ru.Host == "" {
		s.violation("authorize: redirect_uri %q is not an absolute URL", redirect)
		fail("The redirect_uri is missing or invalid.")
		return
	}
	if s.cfg.RedirectURL != "" && redirect != s.cfg.RedirectURL {
		fail("The redirect_uri does not match the app's redirect URL.")
		return
	}
	scope := q.Get("scope")
	if scope == "" {
		s.violation("authorize: scope is missing")
		fail("The scope parameter is required.")
		return
	}
	for _, p := range []string{"scope", "optional_scope"} {
		if strings.Contains(q.Get(p), ",") {
			s.violation("authorize: %s %q is comma-separated; HubSpot wants spaces", p, q.Get(p))
		}
	}
	state := q.Get("state")
	back := url.Values{}
	if state != "" {
		back.Set("state", state)
	}
	s.mu.Lock()
	deny := s.deny
	g := s.installer
	s.mu.Unlock()
	if deny != "" {
		back.Set("error", deny)
		back.Set("error_description", "The user did not grant access.")
		http.Redirect(w, r, withQuery(redirect, back), http.StatusFound)
		return
	}
	g.scopes = strings.Fields(scope)
	s.mu.Lock()
	if !s.declineOptional {
		g.scopes = append(g.scopes, strings.Fields(q.Get("optional_scope"))...)
	}
	s.seq++
	code := "code-" + digest("code", s.seq)[:32]
	s.codes[code] = &authCode{grant: g, redirectURI: redirect, expires: s.cfg.Now().Add(5 * time.Minute)}
	s.mu.Unlock()
	back.Set("code", code)
	http.Redirect(w, r, withQuery(redirect, back), http.StatusFound)
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointToken)
	form, ok := s.oauthForm(w, r, "token", "grant_type")
	if !ok {
		return
	}
	gt := form.Get("grant_type")
	switch gt {
	case "authorization_code":
		s.count(EndpointExchange)
	case "refresh_token":
		s.count(EndpointRefresh)
	}
	if s.injected(w, EndpointToken) {
		return
	}
	if !s.clientOK(w, form) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	switch gt {
	case "authorization_code":
		for _, k := range []string{"code", "redirect_uri"} {
			if form.Get(k) == "" {
				s.violationLocked("token: authorization_code grant without %s", k)
			}
		}
		c, ok := s.codes[form.Get("code")]
		if !ok || c.used || now.After(c.expires) {
			oauthError(w, "invalid_grant", "BAD_AUTH_CODE", "missing or unknown auth code")
			return
		}
		if form.Get("redirect_uri") != c.redirectURI {
			oauthError(w, "invalid_grant", "BAD_REDIRECT_URI", "redirect_uri does not match the one used to authorize")
			return
		}
		c.used = true
		writeJSON(w, http.StatusOK, s.tokenBody(s.issueLocked(c.grant, "")))
	case "refresh_token":
		if form.Get("refresh_token") == "" {
			s.violationLocked("token: refresh_token grant without refresh_token")
		}
		rt, ok := s.refresh[form.Get("refresh_token")]
		if !ok || rt.revoked {
			oauthError(w, "invalid_grant", "BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked")
			return
		}
		keep := form.Get("refresh_token")
		if s.cfg.RotateRefreshTokens {
			rt.revoked = true
			keep = ""
		}
		writeJSON(w, http.StatusOK, s.tokenBody(s.issueLocked(rt.grant, keep)))
	default:
		s.violationLocked("token: grant_type %q", gt)
		oauthError(w, "unsupported_grant_type", "BAD_GRANT_TYPE", "unsupported grant_type")
	}
}

func (s *Server) tokenBody(t Tokens) map[string]any {
	b := map[string]any{
		"token_type":    "bearer",
		"token_use":     "access_token",
		"access_token":  t.AccessToken,
		"refresh_token": t.RefreshToken,
		"expires_in":    t.ExpiresIn,
		"scopes":        t.Scopes,
	}
	if !s.cfg.OmitHubID {
		b["hub_id"] = t.HubID
		b["user_id"] = t.UserID
	}
	return b
}

// issueLocked issues an access token for g, and a new refresh token unless
// keep names the one to keep.
func (s *Server) issueLocked(g grant, keep string) Tokens {
	s.seq++
	at := "CJ" + digest("access", s.seq)
	s.access[at] = &accessToken{grant: g, expires: s.cfg.Now().Add(s.cfg.AccessTokenTTL)}
	rt := keep
	if rt == "" {
		d := digest("refresh", s.seq)
		rt = "na1-" + d[:4] + "-" + d[4:8] + "-" + d[8:12] + "-" + d[12:16] + "-" + d[16:28]
		s.refresh[rt] = &refreshToken{grant: g}
	}
	return Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: int(s.cfg.AccessTokenTTL / time.Second),
		HubID: g.portalID, UserID: g.userID, Scopes: g.scopes}
}

func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointIntrospect)
	form, ok := s.oauthForm(w, r, "introspect", "token")
	if !ok {
		return
	}
	if s.injected(w, EndpointIntrospect) {
		return
	}
	if !s.clientOK(w, form) {
		return
	}
	hint := form.Get("token_type_hint")
	if hint != "" && hint != "access_token" && hint != "refresh_token" {
		s.violation("introspect: token_type_hint %q", hint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := form.Get("token")
	now := s.cfg.Now()
	base := func(g grant) map[string]any {
		return map[string]any{"active": true, "token": tok, "hub_id": g.portalID, "user_id": g.userID, "user": g.userEmail,
			"hub_domain": g.hubDomain, "scopes": g.scopes, "client_id": s.cfg.ClientID, "app_id": 1234567, "is_private_distribution": false}
	}
	if at, ok := s.access[tok]; ok && !at.revoked && now.Before(at.expires) {
		b := base(at.grant)
		b["expires_in"] = int(at.expires.Sub(now) / time.Second)
		b["token_use"] = "access_token"
		b["token_type"] = "Bearer"
		writeJSON(w, http.StatusOK, b)
		return
	}
	if rt, ok := s.refresh[tok]; ok && !rt.revoked {
		b := base(rt.grant)
		b["token_use"] = "refresh_token"
		writeJSON(w, http.StatusOK, b)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"active": false})
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointRevoke)
	form, ok := s.oauthForm(w, r, "revoke", "token")
	if !ok {
		return
	}
	if s.injected(w, EndpointRevoke) {
		return
	}
	if !s.clientOK(w, form) {
		return
	}
	if h := form.Get("token_type_hint"); h != "" && h != "refresh_token" && h != "access_token" {
		s.violation("revoke: token_type_hint %q", h)
	}
	s.mu.Lock()
	if rt, ok := s.refresh[form.Get("token")]; ok {
		// Only the refresh token goes; access tokens live out their time.
		rt.revoked = true
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK) // RFC 7009: unknown tokens are not an error
}

// handleUninstall is HubSpot's app uninstall API: authorised by a live
// access token of the portal with the oauth scope, it answers 204 with no
// body and uninstalls the app from that portal, which revokes every token
// the portal's install issued: later API calls answer 401 and refreshes
// invalid_grant. (HubSpot also emails the portal's super admins.)
func (s *Server) handleUninstall(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointUninstall)
	if r.URL.RawQuery != "" {
		s.violation("uninstall: unexpected query string %q", r.URL.RawQuery)
	}
	portalID, ok := s.api(w, r, http.MethodDelete, "oauth")
	if !ok {
		return
	}
	if r.ContentLength > 0 {
		s.violation("uninstall: the request has a body; HubSpot's takes none")
	}
	s.RevokePortal(portalID)
	s.mu.Lock()
	s.uninstalls = append(s.uninstalls, portalID)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleComplete(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointCallbacks)
	portalID, ok := s.api(w, r, http.MethodPost, "automation")
	if !ok {
		return
	}
	var body struct {
		OutputFields map[string]json.RawMessage `json:"outputFields"`
		TypedOutputs json.RawMessage            `json:"typedOutputs"`
	}
	if !s.decodeJSON(w, r, "complete", &body) {
		return
	}
	out, ok := s.outputs(w, "complete", body.OutputFields)
	if !ok {
		return
	}
	s.record(Completion{PortalID: portalID, CallbackID: r.PathValue("callbackId"), OutputFields: out})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleCompleteBatch(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointCallbacks)
	portalID, ok := s.api(w, r, http.MethodPost, "automation")
	if !ok {
		return
	}
	var body struct {
		Inputs []struct {
			CallbackID   string                     `json:"callbackId"`
			OutputFields map[string]json.RawMessage `json:"outputFields"`
			TypedOutputs json.RawMessage            `json:"typedOutputs"`
		} `json:"inputs"`
	}
	if !s.decodeJSON(w, r, "batch complete", &body) {
		return
	}
	if len(body.Inputs) == 0 || len(body.Inputs) > 100 {
		s.violation("batch complete: %d inputs, want 1 to 100", len(body.Inputs))
		s.validationError(w, fmt.Sprintf("inputs must hold 1 to 100 items, not %d", len(body.Inputs)))
		return
	}
	var comps []Completion
	for i, in := range body.Inputs {
		if in.CallbackID == "" {
			s.violation("batch complete: input %d has no callbackId", i)
			s.validationError(w, fmt.Sprintf("inputs[%d].callbackId is required", i))
			return
		}
		if in.TypedOutputs == nil {
			s.violation("batch complete: input %d has no typedOutputs", i)
		}
		out, ok := s.outputs(w, fmt.Sprintf("batch complete inputs[%d]", i), in.OutputFields)
		if !ok {
			return
		}
		comps = append(comps, Completion{PortalID: portalID, CallbackID: in.CallbackID, OutputFields: out, Batch: true})
	}
	for _, c := range comps {
		s.record(c)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGetObject(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointCRM)
	typ := canonicalType(r.PathValue("objectType"))
	portalID, ok := s.api(w, r, http.MethodGet, "crm.objects."+typ+".read")
	if !ok {
		return
	}
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "properties", "associations", "archived", "propertiesWithHistory", "idProperty":
		default:
			s.violation("get object: unexpected parameter %q", k)
		}
	}
	s.mu.Lock()
	o, ok := s.objects[objectKey{portalID, typ, r.PathValue("objectId")}]
	var props map[string]string
	var assoc map[string][]string
	if ok {
		props, assoc = o.props, o.assoc
	}
	s.mu.Unlock()
	if !ok {
		s.hubspotError(w, http.StatusNotFound, "resource not found", "OBJECT_NOT_FOUND")
		return
	}
	id := r.PathValue("objectId")
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	outProps := map[string]any{"hs_object_id": id, "createdate": created.Format(time.RFC3339Nano), "lastmodifieddate": created.Format(time.RFC3339Nano)}
	if p := q.Get("properties"); p != "" {
		for _, name := range strings.Split(p, ",") {
			if v, ok := props[name]; ok {
				outProps[name] = v
			} else if _, ok := outProps[name]; !ok {
				outProps[name] = nil
			}
		}
	} else {
		for k, v := range props {
			outProps[k] = v
		}
	}
	body := map[string]any{"id": id, "properties": outProps, "createdAt": created, "updatedAt": created, "archived": false}
	if a := q.Get("associations"); a != "" {
		out := map[string]any{}
		for _, t := range strings.Split(a, ",") {
			ct := canonicalType(t)
			ids := assoc[ct]
			if len(ids) == 0 {
				continue
			}
			results := make([]map[string]string, 0, len(ids))
			for _, aid := range ids {
				results = append(results, map[string]string{"id": aid, "type": singular(typ) + "_to_" + singular(ct)})
			}
			out[ct] = map[string]any{"results": results}
		}
		if len(out) > 0 {
			body["associations"] = out
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// ---- checks ----

// oauthForm checks an OAuth endpoint request: POST, a form body, nothing in
// the query string, no Authorization header, and the required fields.
func (s *Server) oauthForm(w http.ResponseWriter, r *http.Request, name string, required ...string) (url.Values, bool) {
	if r.Method != http.MethodPost {
		s.violation("%s: method %s, want POST", name, r.Method)
		oauthError(w, "invalid_request", "BAD_REQUEST", "POST required")
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.violation("%s: content type %q, want application/x-www-form-urlencoded", name, ct)
		oauthError(w, "invalid_request", "BAD_REQUEST", "form body required")
		return nil, false
	}
	if r.URL.RawQuery != "" {
		s.violation("%s: parameters in the query string (%s); HubSpot wants them in the body", name, strings.Join(keys(r.URL.Query()), ","))
	}
	if r.Header.Get("Authorization") != "" {
		s.violation("%s: Authorization header sent; HubSpot wants client_id and client_secret in the body", name)
	}
	if err := r.ParseForm(); err != nil {
		s.violation("%s: unreadable form: %v", name, err)
		oauthError(w, "invalid_request", "BAD_REQUEST", "unreadable form")
		return nil, false
	}
	form := r.PostForm
	for _, k := range append([]string{"client_id", "client_secret"}, required...) {
		if form.Get(k) == "" {
			s.violation("%s: %s missing from the form", name, k)
			oauthError(w, "invalid_request", "BAD_REQUEST", k+" is required")
			return nil, false
		}
	}
	return form, true
}

func (s *Server) clientOK(w http.ResponseWriter, form url.Values) bool {
	if form.Get("client_id") != s.cfg.ClientID || form.Get("client_secret") != s.cfg.ClientSecret {
		oauthError(w, "invalid_client", "BAD_CLIENT_ID", "missing or invalid client_id or client_secret")
		return false
	}
	return true
}

// api checks an API request: method, bearer token of a live access token
// with scope, injected faults and the rate limit. It returns the token's
// portal.
func (s *Server) api(w http.ResponseWriter, r *http.Request, method, scope string) (int64, bool) {
	if r.Method != method {
		s.violation("%s: method %s, want %s", r.URL.Path, r.Method, method)
		s.hubspotError(w, http.StatusMethodNotAllowed, "method not allowed", "VALIDATION_ERROR")
		return 0, false
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		s.violation("%s: no bearer token", r.URL.Path)
		s.hubspotError(w, http.StatusUnauthorized, "Authentication credentials not found. This API supports OAuth 2.0 authentication.", "INVALID_AUTHENTICATION")
		return 0, false
	}
	s.mu.Lock()
	var portalID int64
	var scopes []string
	var status int
	at, known := s.access[tok]
	switch {
	case s.cfg.SandboxTokens && strings.HasPrefix(tok, "sandbox-"):
		n, err := strconv.ParseInt(strings.TrimPrefix(tok, "sandbox-"), 10, 64)
		if err != nil {
			status = http.StatusUnauthorized
		}
		portalID, scopes = n, nil
	case !known || at.revoked:
		status = http.StatusUnauthorized
	case !s.cfg.Now().Before(at.expires):
		status = -http.StatusUnauthorized // expired
	default:
		portalID, scopes = at.portalID, at.scopes
	}
	s.mu.Unlock()
	switch status {
	case http.StatusUnauthorized:
		s.hubspotError(w, http.StatusUnauthorized, "Authentication credentials not found. This API supports OAuth 2.0 authentication.", "INVALID_AUTHENTICATION")
		return 0, false
	case -http.StatusUnauthorized:
		s.hubspotError(w, http.StatusUnauthorized, "The OAuth token used to make this call expired.", "EXPIRED_AUTHENTICATION")
		return 0, false
	}
	if scopes != nil && !contains(scopes, scope) {
		writeJSON(w, http.StatusForbidden, map[string]any{
			"status": "error", "message": "This app hasn't been granted all required scopes to make this call.",
			"correlationId": s.correlationID(), "category": "MISSING_SCOPES",
			"errors": []map[string]any{{"message": "One or more of the following scopes are required.", "context": map[string]any{"requiredGranularScopes": []string{scope}}}},
		})
		return 0, false
	}
	e := EndpointCallbacks
	switch {
	case strings.HasPrefix(r.URL.Path, "/crm/"):
		e = EndpointCRM
	case strings.HasPrefix(r.URL.Path, "/appinstalls/"):
		e = EndpointUninstall
	}
	if !s.rateLimit(w, portalID) {
		return 0, false
	}
	if s.injected(w, e) {
		return 0, false
	}
	return portalID, true
}

// rateLimit counts a request in the portal's window, sets HubSpot's
// headers, and answers 429 when enforcing and over the limit.
func (s *Server) rateLimit(w http.ResponseWriter, portalID int64) bool {
	s.mu.Lock()
	now := s.cfg.Now()
	from := now.Add(-s.cfg.RateLimitInterval)
	win := s.window[portalID][:0]
	for _, t := range s.window[portalID] {
		if t.After(from) {
			win = append(win, t)
		}
	}
	over := len(win) >= s.cfg.RateLimitMax
	if !over || !s.cfg.EnforceRateLimit {
		win = append(win, now)
	}
	s.window[portalID] = win
	remaining := max(s.cfg.RateLimitMax-len(win), 0)
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.cfg.RateLimitInterval.Milliseconds(), 10))
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.cfg.RateLimitMax))
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(remaining))
	if over && s.cfg.EnforceRateLimit {
		s.rateLimitError(w, time.Second)
		return false
	}
	return true
}

// injected answers with the next fault queued for e, if any.
func (s *Server) injected(w http.ResponseWriter, e Endpoint) bool {
	s.mu.Lock()
	q := s.faults[e]
	if len(q) == 0 {
		s.mu.Unlock()
		return false
	}
	f := q[0]
	s.faults[e] = q[1:]
	s.mu.Unlock()
	if f.status == http.StatusTooManyRequests {
		s.rateLimitError(w, f.retryAfter)
		return true
	}
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
	}
	s.hubspotError(w, f.status, "An internal error occurred.", "INTERNAL_ERROR")
	return true
}

func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, name string, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.violation("%s: content type %q, want application/json", name, ct)
		s.hubspotError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", "VALIDATION_ERROR")
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		s.violation("%s: invalid JSON: %v", name, err)
		s.validationError(w, "Invalid input JSON: "+err.Error())
		return false
	}
	return true
}

// outputs checks outputFields: present, and every value a JSON string.
func (s *Server) outputs(w http.ResponseWriter, name string, fields map[string]json.RawMessage) (map[string]string, bool) {
	if fields == nil {
		s.violation("%s: outputFields missing", name)
		s.validationError(w, "outputFields is required")
		return nil, false
	}
	out := make(map[string]string, len(fields))
	for k, raw := range fields {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			s.violation("%s: outputFields.%s is %s, not a string", name, k, raw)
			s.validationError(w, fmt.Sprintf("outputFields.%s must be a string", k))
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

func (s *Server) record(c Completion) {
	s.mu.Lock()
	if s.completed[c.CallbackID] > 0 {
		s.duplicates++
	}
	s.completed[c.CallbackID]++
	s.completions = append(s.completions, c)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.cfg.OnComplete != nil {
		s.cfg.OnComplete(c)
	}
}

// ---- answers ----

func (s *Server) hubspotError(w http.ResponseWriter, status int, msg, category string) {
	writeJSON(w, status, map[string]any{"status": "error", "message": msg, "correlationId": s.correlationID(), "category": category})
}

func (s *Server) validationError(w http.ResponseWriter, msg string) {
	s.hubspotError(w, http.StatusBadRequest, msg, "VALIDATION_ERROR")
}

func (s *Server) rateLimitError(w http.ResponseWriter, retryAfter time.Duration) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT",
		"correlationId": s.correlationID(), "policyName": "TEN_SECONDLY_ROLLING", "requestId": s.correlationID(),
	})
}

// oauthError answers an OAuth error in HubSpot's shape: RFC 6749's error
// and error_description with HubSpot's status and message.
func oauthError(w http.ResponseWriter, code, status, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": msg, "status": status, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) correlationID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
}

func (s *Server) count(e Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[e]++
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violationLocked(format, args...)
}

func (s *Server) violationLocked(format string, args ...any) {
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

// ---- helpers ----

// canonicalType maps object type ids and singular names to HubSpot's plural
// names.
func canonicalType(t string) string {
	switch strings.ToLower(t) {
	case "0-1", "contact", "contacts":
		return "contacts"
	case "0-2", "company", "companies":
		return "companies"
	case "0-3", "deal", "deals":
		return "deals"
	case "0-5", "ticket", "tickets":
		return "tickets"
	}
	return strings.ToLower(t)
}

func singular(t string) string {
	switch t {
	case "companies":
		return "company"
	}
	return strings.TrimSuffix(t, "s")
}

func digest(kind string, n int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("hubspottest %s %d", kind, n)))
	return hex.EncodeToString(sum[:])
}

func withQuery(base string, q url.Values) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	v := u.Query()
	for k, vals := range q {
		v[k] = vals
	}
	u.RawQuery = v.Encode()
	return u.String()
}

func keys(v url.Values) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
