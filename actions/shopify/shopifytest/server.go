// Package shopifytest is a hand-written fake of the parts of Shopify the
// app uses: the OAuth authorize redirect (signed with the client secret as
// Shopify signs it) and access_token exchange, the Admin GraphQL endpoint
// (customer search, codeDiscountNodeByCode, discountCodeBasicCreate with
// userErrors and extensions.cost, THROTTLED when its bucket is empty) and
// the app's uninstall. Every shop is served at one address; requests name
// their shop in X-Shopify-Shop-Domain. It records what it receives.
package shopifytest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
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

	"hubspot-actions/actions/loopback"
)

// APIVersion is the Admin API version the fake serves (and the app pins).
const APIVersion = "2025-07"

// Defaults of Options.
const (
	DefaultClientID      = "shopify-test-client"
	DefaultClientSecret  = "shopify-test-secret"
	SandboxCustomerEmail = "jane@example.com"
	// TestModeToken is the fixed access token of the app's test mode, for
	// Options.StaticToken.
	TestModeToken = "shpat_hubspot_actions_test_mode"
)

// Paths the fake serves.
const (
	AuthorizePath  = "/admin/oauth/authorize"
	TokenPath      = "/admin/oauth/access_token"
	GraphQLPath    = "/admin/api/" + APIVersion + "/graphql.json"
	PermissionPath = "/admin/api_permissions/current.json"
)

// Costs of the operations, in query-cost points.
const (
	CostCustomers = 3
	CostLookup    = 2
	CostCreate    = 10
)

// Options configure a fake.
type Options struct {
	ClientID, ClientSecret string
	// Bucket is each shop's maximum and restore rate a second (default
	// 1000 and 50, Shopify's standard plan).
	BucketMax, RestoreRate float64
	// Sandbox gives every shop the customer SandboxCustomerEmail.
	Sandbox bool
	// StaticToken, when set, is an access token the Admin API accepts for
	// every shop (each shop's data stays its own): the app's test mode
	// calls with it, naming a shop per portal.
	StaticToken string
}

// Customer is a customer of a fake shop.
type Customer struct {
	ID, Email, Currency, Amount, LastOrderAt string
	Orders                                   int
	Tags                                     []string
}

// Discount is a code discount the fake holds.
type Discount struct {
	ID, Title, Code, EndsAt string
	Input                   map[string]any
}

// Request is what the fake received.
type Request struct {
	Method, Path, Shop, Op string
	Variables              map[string]any
	Token                  string // the X-Shopify-Access-Token header of an Admin API call
}

// UserError is one of discountCodeBasicCreate's userErrors.
type UserError struct {
	Field   []string `json:"field"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
}

// Fake is the fake Shopify. It is safe for concurrent use.
type Fake struct {
	opts Options
	URL  string // set by Start

	mu        sync.Mutex
	codes     map[string]string // authorization code → shop
	tokens    map[string]string // access token → shop
	customers map[string][]Customer
	discounts map[string][]Discount // by shop
	buckets   map[string]*bucket
	failNext  []UserError
	requests  []Request
	bad       []string // escaping violations seen in searches
	seq       int
}

type bucket struct {
	avail float64
	at    time.Time
}

// NewServer returns the fake as a handler.
func NewServer(opts Options) *Fake {
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = DefaultClientID, DefaultClientSecret
	}
	if opts.BucketMax == 0 {
		opts.BucketMax = 1000
	}
	if opts.RestoreRate == 0 {
		opts.RestoreRate = 50
	}
	f := &Fake{opts: opts, codes: map[string]string{}, tokens: map[string]string{}, customers: map[string][]Customer{},
		discounts: map[string][]Discount{}, buckets: map[string]*bucket{}}
	if opts.Sandbox {
		f.AddCustomer(anyShop, Customer{Email: SandboxCustomerEmail, Orders: 3, Amount: "245.50", Currency: "USD",
			LastOrderAt: "2025-02-14T10:30:00Z", Tags: []string{"vip", "newsletter"}})
	}
	return f
}

// anyShop holds the sandbox's customers, found in every shop.
const anyShop = "*"

// customersOf returns shop's customers and the sandbox's; f.mu is held.
func (f *Fake) customersOf(shop string) []Customer {
	return append(append([]Customer(nil), f.customers[shop]...), f.customers[anyShop]...)
}

// Start serves a fake until the test ends.
func Start(t loopback.TB, opts Options) *Fake {
	t.Helper()
	f := NewServer(opts)
	f.URL = loopback.ServeTest(t, f)
	return f
}

// AddCustomer adds a customer to shop.
func (f *Fake) AddCustomer(shop string, c Customer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	if c.ID == "" {
		c.ID = "gid://shopify/Customer/" + strconv.Itoa(7000+f.seq)
	}
	f.customers[shop] = append(f.customers[shop], c)
}

// SetBucket sets shop's available points now.
func (f *Fake) SetBucket(shop string, available float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buckets[shop] = &bucket{avail: available, at: time.Now()}
}

// FailNextCreate makes the next discountCodeBasicCreate answer these
// userErrors.
func (f *Fake) FailNextCreate(ue ...UserError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = ue
}

// Discounts returns shop's discounts.
func (f *Fake) Discounts(shop string) []Discount {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Discount(nil), f.discounts[shop]...)
}

// Requests returns what the fake received, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// EscapingViolations returns the customer searches that were not one
// correctly quoted email term.
func (f *Fake) EscapingViolations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bad...)
}

// TokenValid reports whether token is live.
func (f *Fake) TokenValid(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.tokens[token]
	return ok
}

func (f *Fake) record(r Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == AuthorizePath && r.Method == http.MethodGet:
		f.authorize(w, r)
	case r.URL.Path == TokenPath && r.Method == http.MethodPost:
		f.token(w, r)
	case r.URL.Path == GraphQLPath && r.Method == http.MethodPost:
		f.graphql(w, r)
	case r.URL.Path == PermissionPath && r.Method == http.MethodDelete:
		f.uninstall(w, r)
	default:
		http.Error(w, `{"errors":"Not Found"}`, http.StatusNotFound)
	}
}

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Sign returns Shopify's hmac of a query under secret.
func Sign(q url.Values, secret string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "hmac" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strings.Join(q[k], ",")
	}
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(strings.Join(parts, "&")))
	return hex.EncodeToString(h.Sum(nil))
}

// authorize plays the merchant allowing the app: it redirects to
// redirect_uri with a code and Shopify's signed parameters.
func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	shop := q.Get("shop")
	f.record(Request{Method: r.Method, Path: r.URL.Path, Shop: shop})
	if q.Get("client_id") != f.opts.ClientID || q.Get("redirect_uri") == "" || q.Get("state") == "" || !strings.HasSuffix(shop, ".myshopify.com") {
		http.Error(w, "bad authorize request", http.StatusBadRequest)
		return
	}
	code := random()
	f.mu.Lock()
	f.codes[code] = shop
	f.mu.Unlock()
	back := url.Values{"code": {code}, "shop": {shop}, "state": {q.Get("state")},
		"timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}, "host": {"YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvdGVzdA"}}
	back.Set("hmac", Sign(back, f.opts.ClientSecret))
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Code         string `json:"code"`
	}
	json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in)
	shop := r.Header.Get("X-Shopify-Shop-Domain")
	f.record(Request{Method: r.Method, Path: r.URL.Path, Shop: shop})
	f.mu.Lock()
	codeShop, ok := f.codes[in.Code]
	delete(f.codes, in.Code)
	f.mu.Unlock()
	if in.ClientID != f.opts.ClientID || in.ClientSecret != f.opts.ClientSecret || !ok || codeShop != shop {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_request","error_description":"The authorization code was not found or was already used"}`)
		return
	}
	tok := "shpua_" + random()
	f.mu.Lock()
	f.tokens[tok] = shop
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "scope": "read_customers,read_discounts,write_discounts"})
}

// authShop checks the token and that it is the named shop's.
func (f *Fake) authShop(w http.ResponseWriter, r *http.Request) (string, bool) {
	shop := r.Header.Get("X-Shopify-Shop-Domain")
	f.mu.Lock()
	tok := r.Header.Get("X-Shopify-Access-Token")
	tokShop, ok := f.tokens[tok]
	if f.opts.StaticToken != "" && tok == f.opts.StaticToken {
		tokShop, ok = shop, shop != ""
	}
	f.mu.Unlock()
	if !ok || tokShop != shop {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
		return "", false
	}
	return shop, true
}

func (f *Fake) uninstall(w http.ResponseWriter, r *http.Request) {
	f.record(Request{Method: r.Method, Path: r.URL.Path, Shop: r.Header.Get("X-Shopify-Shop-Domain")})
	if _, ok := f.authShop(w, r); !ok {
		return
	}
	f.mu.Lock()
	delete(f.tokens, r.Header.Get("X-Shopify-Access-Token"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{}`)
}

// spend takes cost from shop's bucket and reports the bucket after.
func (f *Fake) spend(shop string, cost float64) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	b, ok := f.buckets[shop]
	if !ok {
		b = &bucket{avail: f.opts.BucketMax, at: now}
		f.buckets[shop] = b
	}
	b.avail = min(f.opts.BucketMax, b.avail+f.opts.RestoreRate*now.Sub(b.at).Seconds())
	b.at = now
	enough := b.avail >= cost
	actual := any(nil)
	if enough {
		b.avail -= cost
		actual = cost
	}
	return map[string]any{"cost": map[string]any{
		"requestedQueryCost": cost, "actualQueryCost": actual,
		"throttleStatus": map[string]any{"maximumAvailable": f.opts.BucketMax, "currentlyAvailable": b.avail, "restoreRate": f.opts.RestoreRate},
	}}, enough
}

func (f *Fake) graphql(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in)
	op := ""
	switch {
	case strings.Contains(in.Query, "discountCodeBasicCreate("):
		op = "discountCodeBasicCreate"
	case strings.Contains(in.Query, "codeDiscountNodeByCode("):
		op = "codeDiscountNodeByCode"
	case strings.Contains(in.Query, "customers("):
		op = "customers"
	}
	f.record(Request{Method: r.Method, Path: r.URL.Path, Shop: r.Header.Get("X-Shopify-Shop-Domain"), Op: op, Variables: in.Variables,
		Token: r.Header.Get("X-Shopify-Access-Token")})
	shop, ok := f.authShop(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil || op == "" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"errors":[{"message":"Parse error"}]}`)
		return
	}
	cost := map[string]float64{"customers": CostCustomers, "codeDiscountNodeByCode": CostLookup, "discountCodeBasicCreate": CostCreate}[op]
	ext, enough := f.spend(shop, cost)
	if !enough {
		json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": "Throttled",
			"extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}}, "extensions": ext})
		return
	}
	var data any
	var errs []any
	switch op {
	case "customers":
		data, errs = f.searchCustomers(shop, in.Variables)
	case "codeDiscountNodeByCode":
		data = f.lookupCode(shop, in.Variables)
	case "discountCodeBasicCreate":
		data = f.create(shop, in.Variables)
	}
	out := map[string]any{"data": data, "extensions": ext}
	if errs != nil {
		out["errors"] = errs
	}
	json.NewEncoder(w).Encode(out)
}

// ParseEmailSearch reads a search that must be exactly email:"<value>"
// with \\ and \" escapes, and returns the value.
func ParseEmailSearch(q string) (string, error) {
	rest, ok := strings.CutPrefix(q, `email:"`)
	if !ok {
		return "", fmt.Errorf("not one quoted email term: %q", q)
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; c {
		case '\\':
			if i+1 >= len(rest) || (rest[i+1] != '\\' && rest[i+1] != '"') {
				return "", fmt.Errorf("bad escape in %q", q)
			}
			b.WriteByte(rest[i+1])
			i++
		case '"':
			if i != len(rest)-1 {
				return "", fmt.Errorf("text after the quoted value in %q", q)
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated quote in %q", q)
}

func (f *Fake) searchCustomers(shop string, vars map[string]any) (any, []any) {
	q, _ := vars["q"].(string)
	email, err := ParseEmailSearch(q)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.bad = append(f.bad, err.Error())
		return map[string]any{"customers": map[string]any{"nodes": []any{}}}, nil
	}
	nodes := []any{}
	for _, c := range f.customersOf(shop) {
		if strings.EqualFold(c.Email, email) {
			var last any
			if c.LastOrderAt != "" {
				last = map[string]any{"createdAt": c.LastOrderAt}
			}
			tags := c.Tags
			if tags == nil {
				tags = []string{}
			}
			nodes = append(nodes, map[string]any{"id": c.ID, "email": c.Email, "numberOfOrders": strconv.Itoa(c.Orders), "tags": tags,
				"amountSpent": map[string]any{"amount": c.Amount, "currencyCode": c.Currency}, "lastOrder": last})
			break
		}
	}
	return map[string]any{"customers": map[string]any{"nodes": nodes}}, nil
}

func (f *Fake) findCode(shop, code string) (Discount, bool) {
	for _, d := range f.discounts[shop] {
		if strings.EqualFold(d.Code, code) {
			return d, true
		}
	}
	return Discount{}, false
}

func (f *Fake) lookupCode(shop string, vars map[string]any) any {
	code, _ := vars["code"].(string)
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.findCode(shop, code)
	if !ok {
		return map[string]any{"codeDiscountNodeByCode": nil}
	}
	return map[string]any{"codeDiscountNodeByCode": map[string]any{"id": d.ID, "codeDiscount": map[string]any{
		"title": d.Title, "endsAt": nullable(d.EndsAt), "codes": map[string]any{"nodes": []any{map[string]any{"code": d.Code}}}}}}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (f *Fake) create(shop string, vars map[string]any) any {
	in, _ := vars["d"].(map[string]any)
	f.mu.Lock()
	defer f.mu.Unlock()
	fail := func(ue ...UserError) any {
		return map[string]any{"discountCodeBasicCreate": map[string]any{"codeDiscountNode": nil, "userErrors": ue}}
	}
	if len(f.failNext) > 0 {
		ue := f.failNext
		f.failNext = nil
		return fail(ue...)
	}
	code, _ := in["code"].(string)
	title, _ := in["title"].(string)
	if code == "" || title == "" || in["startsAt"] == nil || in["customerGets"] == nil || in["context"] == nil {
		return fail(UserError{Field: []string{"basicCodeDiscount"}, Code: "BLANK", Message: "Required fields are missing"})
	}
	if _, ok := f.findCode(shop, code); ok {
		return fail(UserError{Field: []string{"basicCodeDiscount", "code"}, Code: "TAKEN", Message: "Code must be unique. Please try a different code."})
	}
	gets, _ := in["customerGets"].(map[string]any)
	value, _ := gets["value"].(map[string]any)
	if p, ok := value["percentage"].(float64); ok && (p <= 0 || p > 1) {
		return fail(UserError{Field: []string{"basicCodeDiscount", "customerGets", "value", "percentage"}, Code: "VALUE_OUTSIDE_RANGE", Message: "Value must be between 0.0 and 1.0"})
	}
	if ctx, _ := in["context"].(map[string]any); ctx["customers"] != nil {
		add, _ := ctx["customers"].(map[string]any)["add"].([]any)
		for _, id := range add {
			known := false
			for _, c := range f.customersOf(shop) {
				known = known || c.ID == id
			}
			if !known {
				return fail(UserError{Field: []string{"basicCodeDiscount", "context", "customers", "add"}, Code: "INVALID", Message: "Customer does not exist"})
			}
		}
	}
	f.seq++
	d := Discount{ID: "gid://shopify/DiscountCodeNode/" + strconv.Itoa(9000+f.seq), Title: title, Code: code, Input: in}
	d.EndsAt, _ = in["endsAt"].(string)
	f.discounts[shop] = append(f.discounts[shop], d)
	return map[string]any{"discountCodeBasicCreate": map[string]any{"codeDiscountNode": map[string]any{"id": d.ID,
		"codeDiscount": map[string]any{"endsAt": nullable(d.EndsAt)}}, "userErrors": []any{}}}
}
