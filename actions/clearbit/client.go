package clearbit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
)

// Clearbit's production hosts, used when NewClient is given no base URL.
const (
	PersonHost  = "https://person.clearbit.com"
	CompanyHost = "https://company.clearbit.com"
)

// RequestsPerMinute is Clearbit's documented Enrichment API limit per key.
const RequestsPerMinute = 600

// The default client-side limiter: Clearbit's rate with a small burst, so
// that no 60-second window sees more than RequestsPerMinute+defaultBurst.
const (
	defaultBurst   = 10
	defaultMaxWait = 5 * time.Second
)

// ErrQueued means Clearbit answered 202: the record is not warm and Clearbit
// is looking it up; asking again in a minute or so returns it.
var ErrQueued = errors.New("clearbit: lookup queued")

// ErrInvalidKey and ErrOverQuota are wrapped by the *actions.Error VerifyKey
// and the actions return when Clearbit answers 401 or 402.
var (
	ErrInvalidKey = errors.New("clearbit: invalid api key")
	ErrOverQuota  = errors.New("clearbit: api key over quota")
)

// Client calls Clearbit's Enrichment API. It is safe for concurrent use and
// limits its own pace per API key to Clearbit's 600 requests per minute.
type Client struct {
	baseURL   string
	hc        *http.Client
	now       func() time.Time
	perMinute int
	burst     int
	lim       actions.Limiter // keyed by limitKey
}

// NewClient returns a client that sends every request to baseURL, or, when
// baseURL is empty, to Clearbit's person and company hosts. Timeouts are
// hc's.
func NewClient(baseURL string, hc *http.Client) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		hc:        hc,
		now:       time.Now,
		perMinute: RequestsPerMinute,
		burst:     defaultBurst,
	}
	c.lim = newLimiter(c.perMinute, c.burst, c.now)
	return c
}

// WithRateLimit returns a client like c that allows each key perMinute
// requests a minute with bursts of burst. A request that would have to
// wait more than a few seconds for its turn (or past its ctx's deadline)
// fails at once with a 429 *upstream.APIError whose RetryAfter says when to
// try again.
func (c *Client) WithRateLimit(perMinute, burst int) *Client {
	n := NewClient(c.baseURL, c.hc)
	n.now = c.now
	n.perMinute = max(perMinute, 1)
	n.burst = max(burst, 1)
	n.lim = newLimiter(n.perMinute, n.burst, n.now)
	return n
}

// WithLimiter returns a client like c whose requests are paced by lim,
// built with Limit (a limiter shared by several replicas, say).
func (c *Client) WithLimiter(lim actions.Limiter) *Client {
	n := *c
	n.lim = lim
	return &n
}

// Limit is Clearbit's per-key budget: perMinute requests a minute in
// bursts of burst; a request that would wait longer than a few seconds is
// refused (and rescheduled by the runtime).
func Limit(perMinute, burst int) actions.Limit {
	return actions.Limit{
		Every:   time.Minute / time.Duration(perMinute),
		Burst:   burst,
		MaxWait: defaultMaxWait,
		Refusal: "client-side: over Clearbit's rate limit for this key; nothing was sent",
		MaxKeys: MaxKeys,
	}
}

// MaxKeys bounds the API keys the client's limiter tracks at once: every
// key ever tried on the settings page passes through it, and a key that
// finds it full of keys still spending their budget is refused (a 429,
// retried later) rather than let another key's budget be forgotten.
const MaxKeys = 10000

// newLimiter paces each key to perMinute requests a minute in bursts of
// burst, on the clock now. A key Clearbit says is used up is paused until
// its window resets (observe).
func newLimiter(perMinute, burst int, now func() time.Time) actions.Limiter {
	l := actions.NewLimiter(Limit(perMinute, burst))
	l.SetClock(now, nil)
	return l
}

// limitKey names an API key to the limiter without handing it the key.
func limitKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// Person is Clearbit's person record (the fields this app uses).
type Person struct {
	ID            string     `json:"id"`
	Name          Name       `json:"name"`
	Email         string     `json:"email"`
	Location      string     `json:"location"`
	TimeZone      string     `json:"timeZone"`
	Geo           Geo        `json:"geo"`
	Employment    Employment `json:"employment"`
	LinkedIn      Handle     `json:"linkedin"`
	Fuzzy         bool       `json:"fuzzy"`
	EmailProvider bool       `json:"emailProvider"`
	IndexedAt     string     `json:"indexedAt"`
}

// Name is a person's name.
type Name struct {
	FullName   string `json:"fullName"`
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
}

// Geo is a location as Clearbit splits it.
type Geo struct {
	City        string `json:"city"`
	State       string `json:"state"`
	StateCode   string `json:"stateCode"`
	Country     string `json:"country"`
	CountryCode string `json:"countryCode"`
}

// Employment is where a person works and as what. Role and Seniority are
// open strings (engineering, sales …; executive, director, manager …).
type Employment struct {
	Domain    string `json:"domain"`
	Name      string `json:"name"`
	Title     string `json:"title"`
	Role      string `json:"role"`
	SubRole   string `json:"subRole"`
	Seniority string `json:"seniority"`
}

// Handle is a social profile handle; LinkedIn's is a path such as
// "in/jane-doe" or "company/acme".
type Handle struct {
	Handle string `json:"handle"`
}

// Company is Clearbit's company record (the fields this app uses).
type Company struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	LegalName     string   `json:"legalName"`
	Domain        string   `json:"domain"`
	Category      Category `json:"category"`
	FoundedYear   int      `json:"foundedYear"`
	Location      string   `json:"location"`
	Geo           Geo      `json:"geo"`
	LinkedIn      Handle   `json:"linkedin"`
	Metrics       Metrics  `json:"metrics"`
	Type          string   `json:"type"`
	EmailProvider bool     `json:"emailProvider"`
	IndexedAt     string   `json:"indexedAt"`
}

// Category is a company's GICS-like classification.
type Category struct {
	Sector        string `json:"sector"`
	IndustryGroup string `json:"industryGroup"`
	Industry      string `json:"industry"`
	SubIndustry   string `json:"subIndustry"`
}

// Metrics are a company's size figures. EstimatedAnnualRevenue is a range
// label such as "$10M-$50M"; amounts are US dollars.
type Metrics struct {
	Employees              int    `json:"employees"`
	EmployeesRange         string `json:"employeesRange"`
	EstimatedAnnualRevenue string `json:"estimatedAnnualRevenue"`
	AnnualRevenue          int64  `json:"annualRevenue"`
}

// Combined is the Combined endpoint's answer; either side may be nil.
type Combined struct {
	Person  *Person  `json:"person"`
	Company *Company `json:"company"`
}

// FindCombined looks up the person behind email and their company in one
// call. It returns ErrQueued when Clearbit answers 202 and an
// *upstream.APIError for any other answer but 200.
func (c *Client) FindCombined(ctx context.Context, key, email string) (Combined, error) {
	var out Combined
	err := c.do(ctx, key, PersonHost, "/v2/combined/find", url.Values{"email": {email}}, &out)
	return out, err
}

// FindPerson looks up the person behind email. Errors are as FindCombined's.
func (c *Client) FindPerson(ctx context.Context, key, email string) (Person, error) {
	var out Person
	err := c.do(ctx, key, PersonHost, "/v2/people/find", url.Values{"email": {email}}, &out)
	return out, err
}

// FindCompany looks up the company at domain. Errors are as FindCombined's.
func (c *Client) FindCompany(ctx context.Context, key, domain string) (Company, error) {
	var out Company
	err := c.do(ctx, key, CompanyHost, "/v2/companies/find", url.Values{"domain": {domain}}, &out)
	return out, err
}

// verifyDomain is what VerifyKey looks up. Clearbit bills unique lookups per
// period, so checking keys again and again costs at most one lookup.
const verifyDomain = "clearbit.com"

// VerifyKey checks that Clearbit accepts key, with one company lookup. It
// returns nil for a working key (whether the lookup found, queued or missed
// the company); an *actions.Error with code UPSTREAM_REJECTED wrapping
// ErrInvalidKey (401) or ErrOverQuota (402); a VALIDATION_FAILED
// *actions.Error for field "api_key" when key is empty; or, when Clearbit
// could not be asked, the transient error (network, 429, 5xx).
func (c *Client) VerifyKey(ctx context.Context, key string) error {
	if strings.TrimSpace(key) == "" {
		return actions.Invalid("api_key", "is required")
	}
	_, err := c.FindCompany(ctx, key, verifyDomain)
	var ae *upstream.APIError
	switch {
	case err == nil, errors.Is(err, ErrQueued):
		return nil
	case !errors.As(err, &ae):
		return err
	case ae.Status == http.StatusNotFound:
		return nil
	case ae.Status == http.StatusUnauthorized:
		return actions.Fail(actions.CodeRejected, "Clearbit does not accept this API key. Copy the secret key (it starts with sk_) from your Clearbit dashboard.").
			With(fmt.Errorf("%w: %w", ErrInvalidKey, err))
	case ae.Status == http.StatusPaymentRequired:
		return actions.Fail(actions.CodeRejected, "This Clearbit API key is over its quota. Upgrade the Clearbit plan or wait for the quota to reset.").
			With(fmt.Errorf("%w: %w", ErrOverQuota, err))
	case actions.Transient(err):
		return err
	}
	return actions.Fail(actions.CodeRejected, "Clearbit refused the key check (HTTP %d).", ae.Status).With(err)
}

// do sends one GET and decodes a 200 answer into out.
func (c *Client) do(ctx context.Context, key, host, path string, q url.Values, out any) error {
	id := limitKey(key)
	release, err := c.lim.Acquire(ctx, id)
	if err != nil {
		return fmt.Errorf("clearbit: GET %s: %w", path, err)
	}
	defer release()
	base := c.baseURL
	if base == "" {
		base = host
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("clearbit: new request %s: %w", path, err)
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "hubspot-actions")
	resp, err := c.hc.Do(req)
	if err != nil {
		// The URL holds the email or domain; keep it out of logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = base + path
		}
		return fmt.Errorf("clearbit: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	reset := c.observe(id, resp)
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("clearbit: decode %s: %w", path, err)
		}
		return nil
	case http.StatusAccepted:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, upstream.MaxErrorBody))
		return ErrQueued
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
	ae := upstream.NewAPIError(resp, body, c.now())
	if resp.StatusCode == http.StatusTooManyRequests && ae.RetryAfter == 0 {
		// Clearbit sends no Retry-After, only when the window resets.
		ae.RetryAfter = time.Second
		if d := reset.Sub(c.now()); d > 0 {
			ae.RetryAfter = d
		}
	}
	return fmt.Errorf("clearbit: GET %s: %w", path, ae)
}

// observe reads Clearbit's rate-limit headers: when the window is used up,
// the key pauses until x-ratelimit-reset (Unix seconds), which it returns.
func (c *Client) observe(id string, resp *http.Response) time.Time {
	sec, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-Ratelimit-Reset")), 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	reset := time.Unix(sec, 0)
	if resp.StatusCode == http.StatusTooManyRequests || strings.TrimSpace(resp.Header.Get("X-Ratelimit-Remaining")) == "0" {
		c.lim.Pause(id, reset)
	}
	return reset
}

// apiErrorDetail is one entry of Clearbit's error envelope.
type apiErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// errorDetail reads Clearbit's error envelope from an error answer's body:
// {"error":{"type","message"}} or, from some hosts, {"error":[…]}.
func errorDetail(err error) (typ, message string) {
	var ae *upstream.APIError
	if !errors.As(err, &ae) {
		return "", ""
	}
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal([]byte(ae.Body), &env) != nil || len(env.Error) == 0 {
		return "", ""
	}
	var one apiErrorDetail
	if json.Unmarshal(env.Error, &one) == nil {
		return one.Type, one.Message
	}
	var many []apiErrorDetail
	if json.Unmarshal(env.Error, &many) == nil && len(many) > 0 {
		msgs := make([]string, 0, len(many))
		for _, d := range many {
			if d.Message != "" {
				msgs = append(msgs, d.Message)
			}
		}
		return many[0].Type, strings.Join(msgs, "; ")
	}
	var s string
	if json.Unmarshal(env.Error, &s) == nil {
		return "", s
	}
	return "", ""
}
