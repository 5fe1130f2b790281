package quickbookstest

import (
	"bytes"
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
	DefaultRealm        = "9341453012345678"
	DefaultCompanyName  = "Sandbox Company US 1"
	DefaultClientID     = "qbo-test-client-id"
	DefaultClientSecret = "qbo-test-client-secret"
	// TestModeToken is the fixed access token of the app's test mode, for
	// Options.StaticToken.
	TestModeToken = "qbo-test-mode-access-token"
)

// Paths of Intuit's OAuth endpoints on the fake.
const (
	AuthorizePath = "/connect/oauth2"
	TokenPath     = "/oauth2/v1/tokens/bearer"
	RevokePath    = "/v2/oauth2/tokens/revoke"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	ClientID     string // default DefaultClientID
	ClientSecret string // default DefaultClientSecret
	Realm        string // the company the authorize endpoint connects; default DefaultRealm
	CompanyName  string // default DefaultCompanyName
	// RedirectURIs, when set, are the only redirect_uri values the
	// authorize endpoint accepts (Intuit requires registered URIs).
	RedirectURIs []string
	// AccessTTL is the access token lifetime (default 3600s).
	AccessTTL time.Duration
	// RequestsPerMinute and MaxConcurrent throttle API requests per realm
	// (defaults 500 and 10, Intuit's limits); a negative value disables.
	RequestsPerMinute int
	MaxConcurrent     int
	// ThrottleStatus is the status of a throttled answer: 429 (default) or
	// 403, the older form of the same XML fault.
	ThrottleStatus int
	// RetryAfter, when set, is sent as the Retry-After header of throttled
	// answers (whether Intuit sends one is not documented).
	RetryAfter string
	// Latency delays every API answer, holding its concurrency slot.
	Latency time.Duration
	// AdoptUnknownGrants makes a well-formed refresh token this process did
	// not issue valid (as if issued before a restart): for sandbox mode, so
	// stored connections survive restarting the service.
	AdoptUnknownGrants bool
	// StaticToken, when set, is an access token for Realm that the fake
	// accepts from the start and never expires (until ExpireAccessTokens):
	// the app's test mode calls with it and never refreshes.
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

// Server is the fake. It is safe for concurrent use.
type Server struct {
	opts Options
	loc  *time.Location

	mu        sync.Mutex
	requests  []Request
	companies map[string]*company
	codes     map[string]authCode
	access    map[string]accessToken
	refresh   map[string]*grant // current refresh token → grant
	retired   map[string]bool   // refresh tokens rotated away or revoked
	grants    int
	refreshes int
	tid       int
	failNext  []forced
	failOn    []forced
	reject    []rejection
	empty     []string // path suffixes whose next request answers 200 without an entity
	faults200 bool
	inFlight  map[string]int
	maxFlight map[string]int
	once      map[string]bool
}

type forced struct {
	status     int
	pathSuffix string
}

type rejection struct{ pathSuffix, code, message string }

// NewServer returns a fake with the fixtures described in the package doc.
func NewServer(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.Realm == "" {
		opts.Realm = DefaultRealm
	}
	if opts.CompanyName == "" {
		opts.CompanyName = DefaultCompanyName
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = time.Hour
	}
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = 500
	}
	if opts.MaxConcurrent == 0 {
		opts.MaxConcurrent = 10
	}
	if opts.ThrottleStatus == 0 {
		opts.ThrottleStatus = http.StatusTooManyRequests
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:      opts,
		loc:       time.FixedZone("PST", -8*3600),
		companies: map[string]*company{},
		codes:     map[string]authCode{},
		access:    map[string]accessToken{},
		refresh:   map[string]*grant{},
		retired:   map[string]bool{},
		inFlight:  map[string]int{},
		maxFlight: map[string]int{},
		once:      map[string]bool{},
	}
	s.companies[opts.Realm] = newCompany(opts.Realm, opts.CompanyName, s.opts.Now().In(s.loc))
	if opts.StaticToken != "" {
		s.access[opts.StaticToken] = accessToken{grant: &grant{realm: opts.Realm}, expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	return s
}

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// ServeHTTP routes a request to the OAuth or API endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.record(r, body)
	switch {
	case r.URL.Path == AuthorizePath:
		s.authorize(w, r)
	case r.URL.Path == TokenPath:
		s.token(w, r, body)
	case r.URL.Path == RevokePath:
		s.revoke(w, r, body)
	case strings.HasPrefix(r.URL.Path, "/v3/company/"):
		s.api(w, r, body)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) record(r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, _ := url.ParseQuery(r.URL.RawQuery)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: q, Header: r.Header.Clone(), Body: string(body)})
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// APIRequests returns the requests to /v3/company/…, oldest first.
func (s *Server) APIRequests() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, "/v3/company/") {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// FailNext makes the next n API requests fail with status: 429 or 403
// (the XML throttle fault), 401 (the lower-case authentication body), or
// 500/503 (a SystemFault).
func (s *Server) FailNext(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, forced{status: status})
	}
}

// FailNextOn is FailNext for requests whose path ends with pathSuffix
// (e.g. "/send"): the next n of them fail with status, others pass.
func (s *Server) FailNextOn(pathSuffix string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failOn = append(s.failOn, forced{status: status, pathSuffix: pathSuffix})
	}
}

// AnswerEmptyNext makes the next API request whose path ends with
// pathSuffix answer 200 with only a time stamp: no entity and no Fault, an
// answer a client must not take for success. Like any answer, it is
// replayed for a repeated requestid.
func (s *Server) AnswerEmptyNext(pathSuffix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.empty = append(s.empty, pathSuffix)
}

// RejectNext makes the next API request whose path ends with pathSuffix
// (e.g. "/send") fail with a 400 ValidationFault carrying code and message.
func (s *Server) RejectNext(pathSuffix, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = append(s.reject, rejection{pathSuffix, code, message})
}

// SetFaultsIn200 makes validation faults come back with HTTP 200, a form
// Intuit documents ("200 may still contain a Fault").
func (s *Server) SetFaultsIn200(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults200 = on
}

// ExpireAccessTokens makes every access token issued so far expired; API
// calls with them answer 401 until the client refreshes.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, a := range s.access {
		a.expires = time.Time{}
		s.access[k] = a
	}
}

// RevokeGrants revokes every grant, as a user disconnecting the app inside
// QuickBooks would: access tokens answer 401 and refresh tokens
// invalid_grant.
func (s *Server) RevokeGrants() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.access {
		delete(s.access, k)
	}
	for k := range s.refresh {
		s.retired[k] = true
		delete(s.refresh, k)
	}
}

// Refreshes returns how many refresh_token grants succeeded.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// MaxInFlight returns the most API requests a realm had in progress at once.
func (s *Server) MaxInFlight(realm string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFlight[realm]
}

// Customers returns a copy of a realm's customers, in id order.
func (s *Server) Customers(realm string) []Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.companies[realm]
	if c == nil {
		return nil
	}
	out := make([]Customer, len(c.customers))
	for i, cu := range c.customers {
		out[i] = *cu
	}
	return out
}

// Invoices returns a copy of a realm's invoices, in id order.
func (s *Server) Invoices(realm string) []Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.companies[realm]
	if c == nil {
		return nil
	}
	out := make([]Invoice, len(c.invoices))
	for i, inv := range c.invoices {
		out[i] = *inv
	}
	return out
}

// AddCompany adds another company (realm) with the standard fixtures;
// ConnectRealm makes the authorize endpoint connect it.
func (s *Server) AddCompany(realm, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.companies[realm] = newCompany(realm, name, s.opts.Now().In(s.loc))
}

// SetItemActive activates or deactivates an item.
func (s *Server) SetItemActive(realm, id string, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.companies[realm]; c != nil {
		if it := c.item(id); it != nil {
			it.Active = active
		}
	}
}

func (s *Server) nextTID() string {
	s.tid++
	return fmt.Sprintf("1-fake%08d-qbo", s.tid)
}

func (s *Server) stamp() string {
	return s.opts.Now().In(s.loc).Format("2006-01-02T15:04:05.000-07:00")
}
