// Package stripetest is a stateful fake of the parts of Stripe's v1 API the
// stripe actions use, for tests and for the service's sandbox mode. It
// keeps coupons, promotion codes and customers in memory, and models
// Stripe's documented behaviour:
//
//   - Auth: "Authorization: Bearer <key>" (or Basic with the key as user).
//     Test-mode keys (sk_test_…, rk_test_…) are accepted; anything else is
//     a 401. Bodies must be form-encoded, with bracket nesting
//     (metadata[k]=v, promotion[coupon]=id, expand[]=…).
//   - Parameters are checked like Stripe does: an unknown parameter, a bad
//     integer, number, boolean or enum value is a 400 invalid_request_error
//     naming the param.
//   - Stripe-Version: requests without it get the account's default version
//     (Options.DefaultVersion, an old one, 2024-06-20), in which a promotion
//     code takes a top-level coupon=<id>; from 2025-09-30 (clover) on it
//     takes promotion[type]=coupon&promotion[coupon]=<id> instead and the
//     object reports promotion.coupon. Unknown versions are a 400.
//   - Idempotency-Key on POST (at most 255 characters), scoped per API key:
//     once a request starts executing, its status and body are saved and
//     replayed for the same key with "Idempotent-Replayed: true", errors
//     (including 500s) too. The same key with other parameters is a 400
//     idempotency_error; the same key while the first request still runs is
//     a 409. Requests refused before execution (auth, rate limit, parameter
//     validation) are not saved.
//   - Promotion code texts are compared case-insensitively and must be
//     unique among the active codes of a customer; list by code is
//     case-insensitive, list customers by email is case-sensitive. Lists are
//     newest first.
//   - Rate limit: Options.RateLimit requests a second per key (default 25,
//     Stripe's test-mode limit) and 429 rate_limit beyond it.
//   - Errors are {"error":{"type","code","param","message"}} with the
//     status Stripe uses.
//
// Fixtures, present for every key (the sandbox's codes to check):
//
//	WELCOME10  10% off, active, no limit, never expires
//	TENOFF     10.00 USD off, active, used 3 of 100 times
//	YEN500     500 JPY off, active
//	EXPIRED20  20% off, expired a day before the server started
//	USEDUP     15% off, single use, already used
//	PAUSED     25% off, deactivated
//	and the customer jane@example.com (cus_fixture_jane).
//
// Magic inputs, for trying failure paths in the sandbox:
//
//	API key sk_test_invalid             every request is a 401 (invalid API key)
//	API key rk_test_readonly            a restricted key: reads work, writes are a 403
//	code starting with RATELIMIT        429 rate_limit with Retry-After: 1 (on create and on list by code),
//	                                    so a code prefix RATELIMIT ends RATE_LIMITED after the runtime's retries
//	code starting with UNAVAILABLE      503 api_error, every time
//	code starting with FLAKY            the first create under an Idempotency-Key is a 500 that is saved
//	                                    and replayed for that key; a create under another key succeeds
//	email ending @blocked.example       creating that customer is a 402 (request failed)
//
// Tests can also inject any answer with Inject, hold a request in flight
// with Hold, move the clock with Options.Now, and read what was sent with
// Requests.
package stripetest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIVersion is the version the stripe client pins; the fake answers it
// (and any other known version) with the promotion[...] shape.
const APIVersion = "2026-08-26.dahlia"

// SandboxKey is a test-mode key the sandbox can use as the app's default.
const SandboxKey = "sk_test_sandbox"

// TestModeKey is the fixed key of the app's test mode: every portal's
// test-mode executions use it (as a Stripe test-mode key, the fake accepts
// it).
const TestModeKey = "sk_test_hubspot_actions_test_mode"

// Magic values (see the package documentation).
const (
	KeyInvalid      = "sk_test_invalid"
	KeyReadOnly     = "rk_test_readonly"
	PrefixRateLimit = "RATELIMIT"
	PrefixDown      = "UNAVAILABLE"
	PrefixFlaky     = "FLAKY"
	EmailBlocked    = "@blocked.example"
)

// knownVersions are the API versions the fake accepts in Stripe-Version.
var knownVersions = map[string]bool{
	"2020-08-27": true, "2022-11-15": true, "2023-10-16": true, "2024-06-20": true,
	"2025-03-31.basil": true, "2025-08-27.basil": true,
	"2025-09-30.clover": true, "2026-01-28.clover": true,
	"2026-03-25.dahlia": true, APIVersion: true,
}

// cloverDate is the first version in which promotion codes take
// promotion[coupon] instead of coupon.
const cloverDate = "2025-09-30"

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RateLimit is how many requests a second one key may send (default 25);
	// negative turns the limit off. It refills by Now, so turn it off when
	// Now is a frozen test clock.
	RateLimit int
	// DefaultVersion is the account's API version, used when a request
	// sends no Stripe-Version (default 2024-06-20).
	DefaultVersion string
	// NoFixtures leaves the account empty.
	NoFixtures bool
}

// Server is the fake Stripe API. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	now            func() time.Time
	rateLimit      int
	defaultVersion string

	mu        sync.Mutex
	seq       int
	coupons   map[string]*Coupon // by ID, deleted ones included
	promos    []*promo           // oldest first
	customers []*Customer        // oldest first
	flaked    map[string]bool    // FLAKY codes that failed once
	idem      map[string]*idemEntry
	faults    []*Fault
	holds     []*hold
	requests  []Request
	buckets   map[string]*bucket
}

// NewServer returns a fake with the fixtures (unless opts.NoFixtures).
func NewServer(opts Options) *Server {
	s := &Server{
		now:            opts.Now,
		rateLimit:      opts.RateLimit,
		defaultVersion: opts.DefaultVersion,
		coupons:        map[string]*Coupon{},
		flaked:         map[string]bool{},
		idem:           map[string]*idemEntry{},
		buckets:        map[string]*bucket{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rateLimit == 0 {
		s.rateLimit = 25
	}
	if s.defaultVersion == "" {
		s.defaultVersion = "2024-06-20"
	}
	if !opts.NoFixtures {
		s.seed()
	}
	return s
}

func (s *Server) seed() {
	now := s.now().Unix()
	add := func(c Coupon) *Coupon {
		c.Created, c.Metadata = now, map[string]string{}
		if c.Duration == "" {
			c.Duration = "once"
		}
		s.coupons[c.ID] = &c
		return &c
	}
	pct10 := add(Coupon{ID: "fixture_10pct", PercentOff: 10, Name: "10% off"})
	usd10 := add(Coupon{ID: "fixture_10usd", AmountOff: 1000, Currency: "usd", Name: "10.00 USD off"})
	jpy := add(Coupon{ID: "fixture_500jpy", AmountOff: 500, Currency: "jpy", Name: "500 JPY off"})
	pct20 := add(Coupon{ID: "fixture_20pct", PercentOff: 20, Name: "20% off"})
	pct15 := add(Coupon{ID: "fixture_15pct", PercentOff: 15, Name: "15% off"})
	pct25 := add(Coupon{ID: "fixture_25pct", PercentOff: 25, Name: "25% off for 3 months", Duration: "repeating", DurationInMonths: 3})
	code := func(id, text string, c *Coupon, mod func(*PromotionCode)) {
		p := &promo{PromotionCode: PromotionCode{ID: id, Code: text, CouponID: c.ID, Active: true, Created: now, Metadata: map[string]string{}}, coupon: c}
		if mod != nil {
			mod(&p.PromotionCode)
		}
		s.promos = append(s.promos, p)
	}
	code("promo_fixture_welcome10", "WELCOME10", pct10, nil)
	code("promo_fixture_tenoff", "TENOFF", usd10, func(p *PromotionCode) { p.MaxRedemptions, p.TimesRedeemed = 100, 3 })
	code("promo_fixture_yen500", "YEN500", jpy, nil)
	code("promo_fixture_expired20", "EXPIRED20", pct20, func(p *PromotionCode) { p.ExpiresAt = now - 86400 })
	code("promo_fixture_usedup", "USEDUP", pct15, func(p *PromotionCode) { p.MaxRedemptions, p.TimesRedeemed = 1, 1 })
	code("promo_fixture_paused", "PAUSED", pct25, func(p *PromotionCode) { p.Active = false })
	s.customers = append(s.customers, &Customer{ID: "cus_fixture_jane", Email: "jane@example.com", Created: now, Metadata: map[string]string{}})
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values // the parsed body of a POST
	Header http.Header
	Status int // what the fake answered
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests had method and path.
func (s *Server) Count(method, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// Fault is an answer Inject forces on matching requests.
type Fault struct {
	Method     string // "" matches any
	Path       string // "" matches any; else exact
	Times      int    // how many requests it answers (default 1)
	Status     int
	Type       string // default: invalid_request_error for 4xx, api_error for 5xx
	Code       string
	Param      string
	Message    string
	RetryAfter string
	// Saved makes the answer count as "execution began": it is saved for
	// the request's Idempotency-Key and replayed, as Stripe does with 500s.
	Saved bool
}

// Inject makes the next f.Times requests matching f answer f.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

type hold struct {
	method, path string
	arrived      chan struct{}
	release      chan struct{}
}

// Hold makes the next request with method and path wait, after its
// Idempotency-Key is reserved and before it executes, until release is
// called. arrived is closed when that request is waiting.
func (s *Server) Hold(method, path string) (arrived <-chan struct{}, release func()) {
	h := &hold{method: method, path: path, arrived: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.holds = append(s.holds, h)
	s.mu.Unlock()
	var once sync.Once
	return h.arrived, func() { once.Do(func() { close(h.release) }) }
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	resp := s.serve(r, &rec)
	rec.Status = resp.status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	s.write(w, resp)
}

// response is an answer before it is written.
type response struct {
	status   int
	body     []byte
	header   http.Header
	replayed bool
}

func (s *Server) write(w http.ResponseWriter, resp response) {
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	s.mu.Lock()
	s.seq++
	w.Header().Set("Request-Id", fmt.Sprintf("req_fake%06d", s.seq))
	s.mu.Unlock()
	if resp.replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// apiError is Stripe's error object.
type apiError struct {
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
	DocURL  string `json:"doc_url,omitempty"`
}

func errResp(status int, e apiError) response {
	if e.Type == "" {
		e.Type = "invalid_request_error"
		if status >= 500 {
			e.Type = "api_error"
		}
	}
	if e.Code != "" {
		e.DocURL = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(e.Code, "_", "-")
	}
	b, _ := json.Marshal(map[string]apiError{"error": e})
	return response{status: status, body: b, header: http.Header{}}
}

func invalid(param, format string, args ...any) response {
	return errResp(http.StatusBadRequest, apiError{Param: param, Message: fmt.Sprintf(format, args...)})
}

func jsonResp(v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return errResp(http.StatusInternalServerError, apiError{Message: "fake: encode: " + err.Error()})
	}
	return response{status: http.StatusOK, body: b, header: http.Header{}}
}

// call is a request being served.
type call struct {
	key     string
	version string
	params  url.Values
	method  string
	path    string
}

func (c *call) clover() bool { return c.version >= cloverDate }

func (s *Server) serve(r *http.Request, rec *Request) response {
	key, ok := apiKey(r)
	if !ok {
		return errResp(http.StatusUnauthorized, apiError{Message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."})
	}
	if key == KeyInvalid || !(strings.HasPrefix(key, "sk_test_") || strings.HasPrefix(key, "rk_test_")) {
		return errResp(http.StatusUnauthorized, apiError{Code: "api_key_invalid", Message: "Invalid API Key provided: " + mask(key)})
	}
	c := &call{key: key, method: r.Method, path: r.URL.Path, version: r.Header.Get("Stripe-Version")}
	if c.version == "" {
		c.version = s.defaultVersion
	} else if !knownVersions[c.version] {
		return invalid("", "Invalid Stripe API version: %s", c.version)
	}
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
		c.params = r.URL.Query()
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return invalid("", "Invalid request: the body must be application/x-www-form-urlencoded, not %q.", ct)
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return invalid("", "Couldn't read the request body.")
		}
		if c.params, err = url.ParseQuery(string(b)); err != nil {
			return invalid("", "Couldn't parse query/body: %v", err)
		}
		for k, v := range r.URL.Query() {
			c.params[k] = append(c.params[k], v...)
		}
		rec.Form = c.params
	default:
		return errResp(http.StatusNotFound, apiError{Message: "Unrecognized request URL (" + r.Method + ": " + r.URL.Path + ")."})
	}
	if s.limited(key) {
		return errResp(http.StatusTooManyRequests, apiError{Code: "rate_limit", Message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."})
	}
	if r.Method == http.MethodPost && strings.HasPrefix(key, "rk_") && key == KeyReadOnly {
		return errResp(http.StatusForbidden, apiError{Message: "The provided key '" + mask(key) + "' does not have the required permissions for this endpoint on account 'acct_fake'. Having the 'rak_" + resourceOf(c.path) + "_write' permission would allow this request to continue."})
	}
	if f := s.fault(c, false); f != nil {
		return faultResp(f)
	}
	if m := magic(c); m != nil && !m.saved {
		return m.resp
	}

	idemKey := r.Header.Get("Idempotency-Key")
	if resp, ok := s.precheck(c); !ok {
		return resp
	}
	if r.Method != http.MethodPost || idemKey == "" {
		return s.execute(c)
	}
	// Parameter validation (above) happens before execution: its failures
	// are not saved, so a corrected retry with the same key can succeed.
	if len(idemKey) > 255 {
		return invalid("", "Idempotency-Key must be at most 255 characters long.")
	}
	entry, resp, ok := s.reserve(c, idemKey)
	if !ok {
		return resp
	}
	resp = s.execute(c)
	s.mu.Lock()
	entry.done, entry.resp = true, resp
	s.mu.Unlock()
	return resp
}

// execute runs a POST that passed validation: held, faulted or routed.
func (s *Server) execute(c *call) response {
	if h := s.takeHold(c); h != nil {
		close(h.arrived)
		<-h.release
	}
	if f := s.fault(c, true); f != nil {
		return faultResp(f)
	}
	if m := magic(c); m != nil && s.firstFailure(c) {
		return m.resp
	}
	return s.run(c)
}

// firstFailure reports whether a saved magic failure applies: FLAKY codes
// fail only the first time they are created.
func (s *Server) firstFailure(c *call) bool {
	code := strings.ToUpper(c.params.Get("code"))
	if c.path != "/v1/promotion_codes" || !strings.HasPrefix(code, PrefixFlaky) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flaked[code] {
		return false
	}
	s.flaked[code] = true
	return true
}

type idemEntry struct {
	method, path, params string
	done                 bool
	resp                 response
}

// reserve claims idemKey for c, or answers from what it holds: a replay, a
// parameter mismatch (400) or a request still running (409).
func (s *Server) reserve(c *call, idemKey string) (*idemEntry, response, bool) {
	id := scope(c.key) + "/" + idemKey
	canon := canonical(c.params)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.idem[id]
	if !ok {
		e = &idemEntry{method: c.method, path: c.path, params: canon}
		s.idem[id] = e
		return e, response{}, true
	}
	if e.method != c.method || e.path != c.path || e.params != canon {
		return nil, errResp(http.StatusBadRequest, apiError{Type: "idempotency_error",
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '" + idemKey + "' if you meant to execute a different request."}), false
	}
	if !e.done {
		return nil, errResp(http.StatusConflict, apiError{Code: "idempotency_key_in_use",
			Message: "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): " + idemKey + ". Please try again later."}), false
	}
	replay := e.resp
	replay.replayed = true
	return nil, replay, false
}

func (s *Server) takeHold(c *call) *hold {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, h := range s.holds {
		if h.method == c.method && h.path == c.path {
			s.holds = append(s.holds[:i], s.holds[i+1:]...)
			return h
		}
	}
	return nil
}

// fault returns the next injected fault matching c whose Saved is saved,
// using it up. Unsaved faults apply before idempotency; saved ones during
// execution.
func (s *Server) fault(c *call, saved bool) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Saved == saved && (f.Method == "" || f.Method == c.method) && (f.Path == "" || f.Path == c.path) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func faultResp(f *Fault) response {
	resp := errResp(f.Status, apiError{Type: f.Type, Code: f.Code, Param: f.Param, Message: f.Message})
	if f.RetryAfter != "" {
		resp.header.Set("Retry-After", f.RetryAfter)
	}
	return resp
}

type magicResp struct {
	resp  response
	saved bool
}

// magic answers the sandbox's magic inputs.
func magic(c *call) *magicResp {
	code := strings.ToUpper(c.params.Get("code"))
	isCodeCall := c.path == "/v1/promotion_codes"
	switch {
	case isCodeCall && strings.HasPrefix(code, PrefixRateLimit):
		resp := errResp(http.StatusTooManyRequests, apiError{Code: "rate_limit", Message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."})
		resp.header.Set("Retry-After", "1")
		return &magicResp{resp: resp}
	case isCodeCall && strings.HasPrefix(code, PrefixDown):
		return &magicResp{resp: errResp(http.StatusServiceUnavailable, apiError{Message: "The service is temporarily unavailable. Please try again later."})}
	case isCodeCall && c.method == http.MethodPost && strings.HasPrefix(code, PrefixFlaky):
		return &magicResp{saved: true, resp: errResp(http.StatusInternalServerError, apiError{Message: "An unknown error occurred while processing this request."})}
	case c.path == "/v1/customers" && c.method == http.MethodPost && strings.HasSuffix(strings.ToLower(c.params.Get("email")), EmailBlocked):
		return &magicResp{saved: true, resp: errResp(http.StatusPaymentRequired, apiError{Type: "invalid_request_error", Message: "The request failed: this customer cannot be created."})}
	}
	return nil
}

type bucket struct {
	tokens float64
	last   time.Time
}

// limited takes a token from key's bucket and reports whether there was none.
func (s *Server) limited(key string) bool {
	if s.rateLimit < 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	b := s.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(s.rateLimit), last: now}
		s.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(float64(s.rateLimit), b.tokens+el*float64(s.rateLimit))
	}
	b.last = now
	if b.tokens < 1 {
		return true
	}
	b.tokens--
	return false
}

func apiKey(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if k, ok := strings.CutPrefix(h, "Bearer "); ok && strings.TrimSpace(k) != "" {
		return strings.TrimSpace(k), true
	}
	if b, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b))
		if err == nil {
			user, _, _ := strings.Cut(string(raw), ":")
			if user != "" {
				return user, true
			}
		}
	}
	return "", false
}

// mask shows a key the way Stripe does in errors: its start and last four.
func mask(key string) string {
	if len(key) <= 12 {
		return strings.Repeat("*", len(key))
	}
	i := strings.LastIndex(key[:len(key)-4], "_") + 1
	return key[:i] + strings.Repeat("*", 4) + key[len(key)-4:]
}

func resourceOf(path string) string {
	p := strings.TrimPrefix(path, "/v1/")
	p, _, _ = strings.Cut(p, "/")
	return p
}

func scope(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// canonical encodes params in a fixed order, for comparing retries.
func canonical(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		vals := v[k]
		if !strings.HasSuffix(k, "[]") {
			vals = append([]string(nil), vals...)
			sort.Strings(vals)
		}
		for _, x := range vals {
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(x))
			b.WriteByte('&')
		}
	}
	return b.String()
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return prefix + strconv.Itoa(100000+s.seq)
}

// PruneIdempotencyKeys forgets every saved Idempotency-Key, as Stripe does
// with keys older than 24 hours: a retry then executes afresh.
func (s *Server) PruneIdempotencyKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.idem {
		if e.done {
			delete(s.idem, k)
		}
	}
}
