// Package clearbittest is a local fake of Clearbit's Enrichment API for
// tests and the service's sandbox mode. It serves, on one host, what
// Clearbit serves on person.clearbit.com and company.clearbit.com:
//
//	GET /v2/people/find?email=…     a person
//	GET /v2/combined/find?email=…   {"person": …, "company": …}
//	GET /v2/companies/find?domain=… a company
//
// Authentication is the API key as HTTP Basic username (empty password) or
// as a Bearer token. Any key starting with "sk_" is accepted unless
// Options.Keys lists the accepted ones. Every authenticated answer carries
// x-ratelimit-limit, x-ratelimit-remaining and x-ratelimit-reset (Unix
// seconds; there is never a Retry-After); each key gets Options.Limit
// requests (default 600) per 60-second window, then 429.
//
// Any plausible email or domain is found: the person and the company are
// generated deterministically from the email and domain (the same input
// always gives the same record), or set with SetPerson and SetCompany.
// Magic inputs trigger each documented answer:
//
//	Email (local part)         Domain (first label)   Answer
//	queued@acme.com            queued.example         202 for the first Options.QueuedCalls calls (default 2), then 200
//	unknown@acme.com           unknown.example        404 {"error":{"type":"unknown_record",…}}
//	info@, sales@, support@,   acme (no TLD),         422 {"error":{"type":"invalid_email"|"invalid_domain",…}}
//	admin@, contact@,          anything.invalid
//	noreply@; x@acme.invalid
//	ratelimited@acme.com       ratelimited.example    429 with x-ratelimit-remaining 0 and a reset Options.ResetAfter
//	                                                  ahead (default 1s) for the first Options.RateLimitedCalls calls
//	                                                  (default 1), then 200
//	jane@gmail.com (and other free email providers)   a person with no employment and "company": null
//
// Keys: no Authorization header gives 401 auth_required; a key that is not
// accepted gives 401 invalid_api_key; the key "sk_over_quota" gives 402.
// Force makes any email or domain answer a given status (500, 503 …) for
// a number of calls. With Options.ArrayErrors the error envelope is the
// array form {"error":[{…}]} some Clearbit hosts use.
package clearbittest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// OverQuotaKey is the key the fake answers 402 for.
const OverQuotaKey = "sk_over_quota"

// TestModeKey is the fixed key of the app's test mode: every portal's
// test-mode executions use it, and the fake accepts it (as any sk_ key
// when Options.Keys is empty).
const TestModeKey = "sk_test_mode_clearbit"

// Options tune a Server. Zero values take the defaults.
type Options struct {
	// Keys are the accepted API keys; empty accepts any key starting with "sk_".
	Keys []string
	// QueuedCalls is how many calls for a queued input answer 202 (default 2).
	QueuedCalls int
	// RateLimitedCalls is how many calls for a ratelimited input answer 429 (default 1).
	RateLimitedCalls int
	// ResetAfter is how far ahead a magic 429 puts x-ratelimit-reset (default 1s).
	ResetAfter time.Duration
	// Limit is each key's number of requests per 60-second window (default 600).
	Limit int
	// ArrayErrors answers errors as {"error":[{type,message}]}.
	ArrayErrors bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method   string
	Path     string
	Query    url.Values
	Auth     string // "basic", "bearer" or ""
	Key      string
	Password string // the Basic password; Clearbit's clients send none
	Header   http.Header
	Status   int // what the fake answered
}

// Input returns the email or domain the request looked up.
func (r Request) Input() string {
	if e := r.Query.Get("email"); e != "" {
		return e
	}
	return r.Query.Get("domain")
}

// Server is the fake. It is an http.Handler, safe for concurrent use.
type Server struct {
	opts Options

	mu        sync.Mutex
	requests  []Request
	calls     map[string]int // by lower-case input, every authenticated lookup
	windows   map[string]*window
	forced    map[string]*forced
	people    map[string]*Person
	companies map[string]*Company
}

type window struct {
	start time.Time
	used  int
}

type forced struct {
	status int
	left   int // <= 0: forever
}

// NewServer returns a fake with opts.
func NewServer(opts Options) *Server {
	if opts.QueuedCalls <= 0 {
		opts.QueuedCalls = 2
	}
	if opts.RateLimitedCalls <= 0 {
		opts.RateLimitedCalls = 1
	}
	if opts.ResetAfter <= 0 {
		opts.ResetAfter = time.Second
	}
	if opts.Limit <= 0 {
		opts.Limit = 600
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{
		opts:      opts,
		calls:     map[string]int{},
		windows:   map[string]*window{},
		forced:    map[string]*forced{},
		people:    map[string]*Person{},
		companies: map[string]*Company{},
	}
}

// Force makes the next times lookups of input (an email or a domain)
// answer status with Clearbit's body for it; times <= 0 means always.
func (s *Server) Force(input string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced[strings.ToLower(input)] = &forced{status: status, left: times}
}

// SetPerson makes email resolve to p; nil makes it unknown (404).
func (s *Server) SetPerson(email string, p *Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.people[strings.ToLower(email)] = p
}

// SetCompany makes domain resolve to c; nil makes it unknown (404, and
// "company": null in combined answers).
func (s *Server) SetCompany(domain string, c *Company) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.companies[strings.ToLower(domain)] = c
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Calls returns how many authenticated lookups of input (email or
// domain, any key) the fake received.
func (s *Server) Calls(input string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.ToLower(input)]
}

// KeyCalls returns how many requests came with key.
func (s *Server) KeyCalls(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Key == key {
			n++
		}
	}
	return n
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	rec.Auth, rec.Key, rec.Password = credentials(r)
	status := s.serve(w, r, &rec)
	rec.Status = status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// serve writes the answer and returns its status.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, rec *Request) int {
	var kind string
	switch r.URL.Path {
	case "/v2/people/find":
		kind = "person"
	case "/v2/combined/find":
		kind = "combined"
	case "/v2/companies/find":
		kind = "company"
	default:
		return s.fail(w, http.StatusNotFound, "unknown_route", "Unknown route "+r.URL.Path)
	}
	if r.Method != http.MethodGet {
		return s.fail(w, http.StatusMethodNotAllowed, "method_not_allowed", "Only GET is supported")
	}
	if rec.Auth == "" {
		return s.fail(w, http.StatusUnauthorized, "auth_required", "Authentication is required; provide your API key as the Basic auth username or a Bearer token.")
	}
	now := s.opts.Now()
	over := s.rateHeaders(w, rec.Key, now)
	if !s.accepted(rec.Key) {
		return s.fail(w, http.StatusUnauthorized, "invalid_api_key", "Invalid API key provided")
	}
	if rec.Key == OverQuotaKey {
		return s.fail(w, http.StatusPaymentRequired, "over_quota", "Over quota: this account has used its enrichment allowance for the period.")
	}
	if over {
		return s.fail(w, http.StatusTooManyRequests, "rate_limit", "Rate limit exceeded: 600 requests per minute.")
	}
	input := rec.Query.Get("email")
	if kind == "company" {
		input = rec.Query.Get("domain")
	}
	input = strings.ToLower(strings.TrimSpace(input))
	s.mu.Lock()
	s.calls[input]++
	n := s.calls[input]
	status := s.forcedStatus(input)
	s.mu.Unlock()

	if status != 0 {
		return s.answerStatus(w, status, kind, now)
	}
	var m magic
	if kind == "company" {
		m = domainMagic(input)
	} else {
		m = emailMagic(input)
	}
	switch {
	case m == magicInvalid && kind == "company":
		return s.fail(w, http.StatusUnprocessableEntity, "invalid_domain", "Invalid domain: "+input)
	case m == magicInvalid:
		return s.fail(w, http.StatusUnprocessableEntity, "invalid_email", "Invalid email address: role-based, malformed or undeliverable addresses cannot be enriched")
	case m == magicUnknown:
		return s.fail(w, http.StatusNotFound, "unknown_record", "Unknown "+strings.Replace(kind, "combined", "email", 1)+" "+input)
	case m == magicQueued && n <= s.opts.QueuedCalls:
		w.WriteHeader(http.StatusAccepted)
		return http.StatusAccepted
	case m == magicRateLimited && n <= s.opts.RateLimitedCalls:
		return s.answerStatus(w, http.StatusTooManyRequests, kind, now)
	}
	switch kind {
	case "company":
		c := s.company(input)
		if c == nil {
			return s.fail(w, http.StatusNotFound, "unknown_record", "Unknown domain "+input)
		}
		return s.ok(w, c)
	case "person":
		p := s.person(input)
		if p == nil {
			return s.fail(w, http.StatusNotFound, "unknown_record", "Unknown email "+input)
		}
		return s.ok(w, p)
	}
	p := s.person(input)
	var c *Company
	if p != nil && p.Employment.Domain != nil {
		c = s.company(*p.Employment.Domain)
	}
	if p == nil {
		return s.fail(w, http.StatusNotFound, "unknown_record", "Unknown email "+input)
	}
	return s.ok(w, struct {
		Person  *Person  `json:"person"`
		Company *Company `json:"company"`
	}{p, c})
}

// forcedStatus consumes one forced answer for input; s.mu must be held.
func (s *Server) forcedStatus(input string) int {
	f, ok := s.forced[input]
	if !ok {
		return 0
	}
	if f.left > 0 {
		f.left--
		if f.left == 0 {
			delete(s.forced, input)
		}
	}
	return f.status
}

// answerStatus writes Clearbit's answer for a status with no record.
func (s *Server) answerStatus(w http.ResponseWriter, status int, kind string, now time.Time) int {
	switch status {
	case http.StatusAccepted:
		w.WriteHeader(status)
		return status
	case http.StatusTooManyRequests:
		reset := now.Add(s.opts.ResetAfter)
		w.Header().Set("X-Ratelimit-Remaining", "0")
		w.Header().Set("X-Ratelimit-Reset", fmt.Sprint(ceilUnix(reset)))
		return s.fail(w, status, "rate_limit", "Rate limit exceeded: 600 requests per minute.")
	case http.StatusNotFound:
		return s.fail(w, status, "unknown_record", "Unknown record")
	case http.StatusUnprocessableEntity:
		if kind == "company" {
			return s.fail(w, status, "invalid_domain", "Invalid domain")
		}
		return s.fail(w, status, "invalid_email", "Invalid email address")
	case http.StatusPaymentRequired:
		return s.fail(w, status, "over_quota", "Over quota")
	case http.StatusUnauthorized:
		return s.fail(w, status, "invalid_api_key", "Invalid API key provided")
	}
	return s.fail(w, status, "server_error", http.StatusText(status))
}

// rateHeaders counts the request in key's window, sets the rate-limit
// headers and reports whether the window was already used up.
func (s *Server) rateHeaders(w http.ResponseWriter, key string, now time.Time) (over bool) {
	s.mu.Lock()
	win := s.windows[key]
	if win == nil || !now.Before(win.start.Add(time.Minute)) {
		win = &window{start: now}
		s.windows[key] = win
	}
	win.used++
	remaining := s.opts.Limit - win.used
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-Ratelimit-Limit", fmt.Sprint(s.opts.Limit))
	h.Set("X-Ratelimit-Remaining", fmt.Sprint(max(remaining, 0)))
	h.Set("X-Ratelimit-Reset", fmt.Sprint(ceilUnix(win.start.Add(time.Minute))))
	return remaining < 0
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func (s *Server) accepted(key string) bool {
	if len(s.opts.Keys) == 0 {
		return strings.HasPrefix(key, "sk_") && len(key) > 3
	}
	for _, k := range s.opts.Keys {
		if k == key {
			return true
		}
	}
	return key == OverQuotaKey
}

func (s *Server) person(email string) *Person {
	s.mu.Lock()
	p, set := s.people[email]
	s.mu.Unlock()
	if set {
		return p
	}
	return GeneratePerson(email)
}

func (s *Server) company(domain string) *Company {
	s.mu.Lock()
	c, set := s.companies[domain]
	s.mu.Unlock()
	if set {
		return c
	}
	if m := domainMagic(domain); m == magicUnknown || m == magicInvalid {
		return nil
	}
	return GenerateCompany(domain)
}

func (s *Server) ok(w http.ResponseWriter, v any) int {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
	return http.StatusOK
}

// fail writes Clearbit's error envelope.
func (s *Server) fail(w http.ResponseWriter, status int, typ, message string) int {
	type detail struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	var body any = map[string]detail{"error": {typ, message}}
	if s.opts.ArrayErrors {
		body = map[string][]detail{"error": {{typ, message}}}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
	return status
}

// credentials reads Basic (key as username) or Bearer authentication.
func credentials(r *http.Request) (auth, key, password string) {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return "", "", ""
		}
		user, pass, _ := strings.Cut(string(b), ":")
		if user == "" {
			return "", "", ""
		}
		return "basic", user, pass
	case "bearer":
		if k := strings.TrimSpace(rest); k != "" {
			return "bearer", k, ""
		}
	}
	return "", "", ""
}

type magic int

const (
	magicNone magic = iota
	magicQueued
	magicUnknown
	magicInvalid
	magicRateLimited
)

var roleAddresses = map[string]bool{"info": true, "sales": true, "support": true, "admin": true, "contact": true, "noreply": true, "no-reply": true}

func emailMagic(email string) magic {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || strings.Contains(domain, "@") || roleAddresses[local] {
		return magicInvalid
	}
	if dm := domainMagic(domain); dm == magicInvalid {
		return magicInvalid
	}
	switch local {
	case "queued":
		return magicQueued
	case "unknown":
		return magicUnknown
	case "ratelimited":
		return magicRateLimited
	}
	return magicNone
}

func domainMagic(domain string) magic {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || labels[len(labels)-1] == "invalid" || strings.ContainsAny(domain, " /:@") {
		return magicInvalid
	}
	for _, l := range labels {
		if l == "" {
			return magicInvalid
		}
	}
	switch labels[0] {
	case "queued":
		return magicQueued
	case "unknown":
		return magicUnknown
	case "ratelimited":
		return magicRateLimited
	}
	return magicNone
}
