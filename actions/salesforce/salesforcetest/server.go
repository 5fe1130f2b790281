package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultClientID        = "sf-test-client-id"
	DefaultClientSecret    = "sf-test-client-secret"
	DefaultOrgID           = "00D5e000000TestAAA"
	DefaultUserID          = "0055e000001TestAAA"
	DefaultExternalIDField = "HubSpot_Contact_ID__c"
	// TestModeToken is the fixed access token of the app's test mode, for
	// Options.StaticToken.
	TestModeToken     = "00D5e000000TestAAA!test-mode-session"
	DefaultDailyLimit = 15000
)

// Paths of Salesforce's OAuth endpoints on the fake (under the login URL).
const (
	AuthorizePath = "/services/oauth2/authorize"
	TokenPath     = "/services/oauth2/token"
	RevokePath    = "/services/oauth2/revoke"
	// DataPath is the REST API's root, under the instance URL.
	DataPath = "/services/data/"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	ClientID     string // default DefaultClientID
	ClientSecret string // default DefaultClientSecret
	OrgID        string // default DefaultOrgID
	UserID       string // default DefaultUserID
	// RedirectURIs, when set, are the only redirect_uri values the
	// authorize endpoint accepts (a connected app's callback URLs).
	RedirectURIs []string
	// InstanceURL is the instance_url token answers carry; default the
	// scheme and host the token request came to (the fake itself).
	InstanceURL string
	// ExternalIDFields are the Lead fields marked External ID; default
	// DefaultExternalIDField. Upserts by any other field answer 404
	// NOT_FOUND.
	ExternalIDFields []string
	// NoExternalIDField makes the org have no external id field at all.
	NoExternalIDField bool
	// DailyLimit is the org's API request allocation (default 15000);
	// Used is how much of it is already spent.
	DailyLimit int
	Used       int
	// DuplicateRule makes a create whose Email matches an existing lead
	// fail with DUPLICATES_DETECTED (an active duplicate rule that blocks).
	DuplicateRule bool
	// AdoptUnknownGrants makes a well-formed refresh token this process did
	// not issue valid (as if issued before a restart): for sandbox mode, so
	// stored connections survive restarting the service.
	AdoptUnknownGrants bool
	// StaticToken, when set, is an access token the REST API accepts from
	// the start (until ExpireSessions or RevokeAll): the app's test mode
	// calls with it and never refreshes.
	StaticToken string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
}

// Lead is a lead record: its fields by API name, Id among them.
type Lead map[string]string

// Server is the fake. It is safe for concurrent use.
type Server struct {
	opts Options

	mu        sync.Mutex
	requests  []Request
	codes     map[string]authCode
	access    map[string]bool // live access tokens
	refresh   map[string]bool // live refresh tokens
	revoked   map[string]bool // tokens revoked
	leads     []Lead          // in creation order
	failNext  []Failure       // answered by the next API requests, in order
	refreshes int             // refresh_token grants answered
	seq       int
}

// Failure is an error answer the fake gives instead of serving a request.
type Failure struct {
	Status    int
	ErrorCode string
	Message   string
	Fields    []string
	// PathContains, when set, limits the failure to requests whose path
	// holds it; Method, when set, to that method.
	PathContains string
	Method       string
}

type authCode struct {
	redirectURI string
	challenge   string
	expires     time.Time
}

// NewServer returns a fake with no leads.
func NewServer(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.OrgID == "" {
		opts.OrgID = DefaultOrgID
	}
	if opts.UserID == "" {
		opts.UserID = DefaultUserID
	}
	if len(opts.ExternalIDFields) == 0 && !opts.NoExternalIDField {
		opts.ExternalIDFields = []string{DefaultExternalIDField}
	}
	if opts.DailyLimit <= 0 {
		opts.DailyLimit = DefaultDailyLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:    opts,
		codes:   map[string]authCode{},
		access:  map[string]bool{},
		refresh: map[string]bool{},
		revoked: map[string]bool{},
	}
	if opts.StaticToken != "" {
		s.access[opts.StaticToken] = true
	}
	return s
}

// ServeHTTP routes a request to the OAuth endpoints or the REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)})
	s.mu.Unlock()
	switch {
	case r.URL.Path == AuthorizePath && r.Method == http.MethodGet:
		s.authorize(w, r)
	case r.URL.Path == TokenPath && r.Method == http.MethodPost:
		s.token(w, r)
	case r.URL.Path == RevokePath && r.Method == http.MethodPost:
		s.revoke(w, r)
	case strings.HasPrefix(r.URL.Path, DataPath):
		s.api(w, r, body)
	default:
		writeErrors(w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
	}
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsTo returns the requests whose path holds part, with method
// (any method when "").
func (s *Server) RequestsTo(method, part string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if strings.Contains(r.Path, part) && (method == "" || r.Method == method) {
			out = append(out, r)
		}
	}
	return out
}

// Refreshes is how many refresh_token grants the token endpoint answered.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Revoked reports whether token was revoked.
func (s *Server) Revoked(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked[token]
}

// ExpireSessions invalidates every access token issued so far, as an org's
// session timeout does: API calls with them answer 401 INVALID_SESSION_ID
// until the client refreshes.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
}

// RevokeAll revokes every refresh and access token (an admin revoked the
// app in Salesforce).
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.refresh {
		s.revoked[t] = true
	}
	clear(s.refresh)
	clear(s.access)
}

// FailNext makes the next API requests (those f matches) answer the
// failures instead, in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, f...)
}

// SetUsage sets the org's spent API requests and its daily allocation
// (limit ≤ 0 keeps it).
func (s *Server) SetUsage(used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Used = used
	if limit > 0 {
		s.opts.DailyLimit = limit
	}
}

// Usage returns the org's spent API requests and its allocation.
func (s *Server) Usage() (used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Used, s.opts.DailyLimit
}

// AddLead stores a lead (as if created in Salesforce) and returns its Id.
func (s *Server) AddLead(l Lead) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLead(l)
}

func (s *Server) addLead(l Lead) string {
	s.seq++
	c := Lead{}
	for k, v := range l {
		c[k] = v
	}
	c["Id"] = fmt.Sprintf("00Q5e%013d", s.seq)
	s.leads = append(s.leads, c)
	return c["Id"]
}

// Leads returns a copy of every lead, in creation order.
func (s *Server) Leads() []Lead {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Lead, len(s.leads))
	for i, l := range s.leads {
		c := Lead{}
		for k, v := range l {
			c[k] = v
		}
		out[i] = c
	}
	return out
}

func (s *Server) newToken(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s!%s.%d%s", s.opts.OrgID, prefix, s.seq, randHex(12))
}

// apiError is one element of Salesforce's error array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	writeJSON(w, status, errs)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
