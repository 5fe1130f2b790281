// Package stripe serves the Stripe discount-code workflow actions: create a
// unique promotion code for a contact (stripe-create-promotion-code) and
// check a promotion code a customer gave (stripe-check-promotion-code).
//
// It talks to Stripe's v1 REST API with a secret (or restricted) key that
// actions.KeyFunc returns per portal, pins the API version (APIVersion),
// form-encodes bodies with Stripe's bracket nesting, sends an
// Idempotency-Key derived from the execution's callbackId on every POST and
// limits its request rate per key.
//
// Create is safe to run any number of times for one execution:
//
//   - The code is the marketer's prefix plus a 10-character suffix that is
//     an HMAC of the callbackId under the app's code secret (Register's
//     codeSecret). It is unguessable without the secret, yet every run of
//     the same execution asks for the same code, so Stripe's idempotency
//     replay (same key, same parameters) returns the first result, and a run
//     after the key was pruned (24 h) or after a replayed 5xx finds the code
//     by lookup (it carries metadata[hubspot_ref]) instead of creating a
//     second one. A random suffix per attempt would make a retried POST
//     differ from the first, which Stripe answers with an idempotency_error.
//   - A portal's codes with the same discount terms share one coupon whose
//     ID is an HMAC of the portal and the terms (hubspot_…), looked up
//     before it is created: one coupon, many codes, which is how Stripe means promotion codes to be
//     used, and no coupon clutter per contact.
//   - The expiry is computed from the clock rounded up to the whole hour, so
//     retries within the hour send identical parameters; a later retry that
//     differs gets an idempotency_error and is resolved by the same lookup.
//   - Stripe saves a 5xx for an Idempotency-Key and replays it. After a
//     replayed 5xx (Idempotent-Replayed: true) and a lookup that finds
//     nothing, the request is sent once more under a key of this attempt;
//     the deterministic code and coupon ID keep that from duplicating.
//
// Other decisions a marketer sees:
//
//   - amount_off is entered in the currency's usual unit (10.50 for $10.50,
//     500 for ¥500) and converted with Stripe's exponent for the currency
//     (zero-decimal JPY, KRW…; three-decimal KWD, BHD…); a comma is only a
//     thousands separator, so "10,50" is refused rather than read as 1050.
//   - customer_email restricts the code to the newest Stripe customer with
//     that email that the portal may use (see tenancy.go: never another
//     portal's); when there is none, one is created (idempotently), because
//     a marketer restricting a code to a lead expects it to work for them.
//   - stripe-check-promotion-code answers SUCCESS with found=false for a
//     code that does not exist: the lookup worked and workflows branch on
//     found. active means usable now: Stripe's active flag, not expired,
//     uses left, and the coupon still valid.
//   - Inconsistent inputs fail with VALIDATION_FAILED naming the input
//     before any call; a 400 from Stripe about a parameter that comes from
//     an input is reported the same way.
package stripe

import (
	"context"
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

// APIVersion is the Stripe API version every request pins with the
// Stripe-Version header. In this version a promotion code references its
// coupon as promotion[type]=coupon&promotion[coupon]=<id>; the top-level
// coupon parameter of older versions is rejected. It is the version
// stripe-mock v0.203.0 embeds, so the tests validate against it.
const APIVersion = "2026-08-26.dahlia"

// DefaultBaseURL is Stripe's API origin (STRIPE_API_BASE_URL's default).
const DefaultBaseURL = "https://api.stripe.com"

// maxBody bounds how much of a successful response is read.
const maxBody = 4 << 20

// Client calls Stripe's API. Every method takes the secret key to use, so
// one Client serves every portal. It is safe for concurrent use.
type Client struct {
	baseURL string
	hc      *http.Client
	now     func() time.Time
	// Stripe's limits are per account and lower in test mode.
	testLimit, liveLimit actions.Limiter
}

// NewClient returns a client for the Stripe API at baseURL (DefaultBaseURL
// in production, a fake in tests and the sandbox). hc carries the timeouts.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		hc:        hc,
		now:       time.Now,
		testLimit: newLimiter(testRate),
		liveLimit: newLimiter(liveRate),
	}
}

// Error is an error answer from Stripe: its HTTP status, its error object
// and whether it was a replay of an earlier request's answer. It unwraps to
// the *upstream.APIError the runtime classifies (429 and 5xx are transient).
type Error struct {
	API      *upstream.APIError
	Type     string // invalid_request_error, idempotency_error, api_error, card_error, …
	Code     string // resource_missing, resource_already_exists, rate_limit, …
	Param    string // the request parameter at fault, such as promotion[coupon]
	Message  string
	Replayed bool // Idempotent-Replayed: true — the answer stored for the Idempotency-Key
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.API.Body
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stripe: http %d", e.API.Status)
	for _, s := range []string{e.Type, e.Code, e.Param} {
		if s != "" {
			b.WriteString(" ")
			b.WriteString(s)
		}
	}
	if e.Replayed {
		b.WriteString(" (replayed)")
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.API }

// ProviderText is Stripe's own message, which may quote the request (an
// email, a name): logs withhold it (actions.ProviderTexter).
func (e *Error) ProviderText() []string { return []string{e.Message} }

var _ actions.ProviderTexter = (*Error)(nil)

// Status returns the HTTP status of err when it is a Stripe answer, else 0.
func Status(err error) int {
	var se *Error
	if errors.As(err, &se) {
		return se.API.Status
	}
	return 0
}

// Coupon is a Stripe coupon: the discount terms promotion codes point at.
type Coupon struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	PercentOff       float64           `json:"percent_off"`
	AmountOff        int64             `json:"amount_off"` // in the currency's minor unit
	Currency         string            `json:"currency"`   // lower case ISO 4217
	Duration         string            `json:"duration"`   // once, repeating or forever
	DurationInMonths int64             `json:"duration_in_months"`
	MaxRedemptions   int64             `json:"max_redemptions"`
	RedeemBy         int64             `json:"redeem_by"` // Unix seconds, 0 when unset
	TimesRedeemed    int64             `json:"times_redeemed"`
	Valid            bool              `json:"valid"`
	Created          int64             `json:"created"`
	Metadata         map[string]string `json:"metadata"`
}

// CouponParams creates a coupon. Exactly one of PercentOff and AmountOff is
// set; AmountOff is in the currency's minor unit and needs Currency.
type CouponParams struct {
	ID               string
	Name             string
	PercentOff       float64
	AmountOff        int64
	Currency         string
	Duration         string
	DurationInMonths int64
	Metadata         map[string]string
}

// PromotionCode is a customer-facing code for a coupon. Coupon is set when
// the list was asked to expand it (ListPromotionCodes does); CouponID is
// always set.
type PromotionCode struct {
	ID             string            `json:"id"`
	Code           string            `json:"code"`
	Active         bool              `json:"active"`
	Customer       string            `json:"customer"`
	ExpiresAt      int64             `json:"expires_at"` // Unix seconds, 0 when it never expires
	MaxRedemptions int64             `json:"max_redemptions"`
	TimesRedeemed  int64             `json:"times_redeemed"`
	Created        int64             `json:"created"`
	Metadata       map[string]string `json:"metadata"`
	CouponID       string            `json:"-"`
	Coupon         *Coupon           `json:"-"`
}

// UnmarshalJSON reads promotion.coupon, which is a coupon ID or, expanded,
// a coupon object.
func (p *PromotionCode) UnmarshalJSON(b []byte) error {
	type plain PromotionCode
	var raw struct {
		plain
		Promotion struct {
			Type   string          `json:"type"`
			Coupon json.RawMessage `json:"coupon"`
		} `json:"promotion"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*p = PromotionCode(raw.plain)
	c := raw.Promotion.Coupon
	switch {
	case len(c) == 0 || string(c) == "null":
	case c[0] == '"':
		if err := json.Unmarshal(c, &p.CouponID); err != nil {
			return err
		}
	default:
		var cp Coupon
		if err := json.Unmarshal(c, &cp); err != nil {
			return fmt.Errorf("promotion.coupon: %w", err)
		}
		p.Coupon, p.CouponID = &cp, cp.ID
	}
	return nil
}

// PromotionCodeParams creates a promotion code for CouponID. Zero values
// leave a field unset: no customer restriction, no expiry, no limit.
type PromotionCodeParams struct {
	CouponID       string
	Code           string
	Customer       string
	ExpiresAt      int64 // Unix seconds
	MaxRedemptions int64
	Metadata       map[string]string
}

// Customer is a Stripe customer.
type Customer struct {
	ID       string            `json:"id"`
	Email    string            `json:"email"`
	Created  int64             `json:"created"`
	Metadata map[string]string `json:"metadata"`
}

// CustomerParams creates a customer.
type CustomerParams struct {
	Email    string
	Metadata map[string]string
}

type list[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// VerifyKey checks that key is a Stripe secret or restricted key that
// Stripe accepts and that may read coupons, with one cheap call (GET
// /v1/coupons?limit=1). It returns nil, a *actions.Error with code
// UPSTREAM_REJECTED and a message for an admin when Stripe refuses the key
// (or it is not a secret key at all), or another error when Stripe could
// not be asked (network, 429, 5xx: try again).
func (c *Client) VerifyKey(ctx context.Context, key string) error {
	key = strings.TrimSpace(key)
	switch {
	case key == "":
		return actions.Fail(actions.CodeRejected, "Enter a Stripe secret key (it starts with sk_live_ or sk_test_).")
	case strings.HasPrefix(key, "pk_"):
		return actions.Fail(actions.CodeRejected, "This is a publishable key; the app needs a secret key (sk_live_… or sk_test_…) or a restricted key (rk_…).")
	case !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_"):
		return actions.Fail(actions.CodeRejected, "This does not look like a Stripe secret key; it should start with sk_live_, sk_test_ or rk_.")
	}
	q := url.Values{"limit": {"1"}}
	var out list[Coupon]
	err := c.do(ctx, key, http.MethodGet, "/v1/coupons", q, "", &out)
	var se *Error
	if errors.As(err, &se) {
		switch se.API.Status {
		case http.StatusUnauthorized:
			return actions.Fail(actions.CodeRejected, "Stripe did not accept this key. Copy the secret key again from the Stripe Dashboard (Developers → API keys).").With(err)
		case http.StatusForbidden:
			return actions.Fail(actions.CodeRejected, "This restricted key may not read coupons. Give it write access to Coupons, Promotion codes and Customers.").With(err)
		}
	}
	return err
}

// FindCustomersByEmail lists the customers whose email is exactly email
// (Stripe's filter is case-sensitive), newest first, at most 10.
func (c *Client) FindCustomersByEmail(ctx context.Context, key, email string) ([]Customer, error) {
	q := url.Values{"email": {email}, "limit": {"10"}}
	var out list[Customer]
	if err := c.do(ctx, key, http.MethodGet, "/v1/customers", q, "", &out); err != nil {
		return nil, fmt.Errorf("find stripe customers by email: %w", err)
	}
	return out.Data, nil
}

// ListCustomersByEmail returns one page of the customers whose email is
// exactly email, newest first, up to 100, after the customer startingAfter
// ("" for the first page), and whether more follow.
func (c *Client) ListCustomersByEmail(ctx context.Context, key, email, startingAfter string) ([]Customer, bool, error) {
	q := url.Values{"email": {email}, "limit": {"100"}}
	if startingAfter != "" {
		q.Set("starting_after", startingAfter)
	}
	var out list[Customer]
	if err := c.do(ctx, key, http.MethodGet, "/v1/customers", q, "", &out); err != nil {
		return nil, false, fmt.Errorf("list stripe customers by email: %w", err)
	}
	return out.Data, out.HasMore, nil
}

// CreateCustomer creates a customer under idempotencyKey.
func (c *Client) CreateCustomer(ctx context.Context, key, idempotencyKey string, p CustomerParams) (Customer, error) {
	f := url.Values{"email": {p.Email}}
	setMetadata(f, p.Metadata)
	var out Customer
	if err := c.do(ctx, key, http.MethodPost, "/v1/customers", f, idempotencyKey, &out); err != nil {
		return Customer{}, fmt.Errorf("create stripe customer: %w", err)
	}
	return out, nil
}

// GetCoupon retrieves a coupon. A coupon that does not exist (or was
// deleted) is an *Error with status 404 and code resource_missing.
func (c *Client) GetCoupon(ctx context.Context, key, id string) (Coupon, error) {
	var out Coupon
	if err := c.do(ctx, key, http.MethodGet, "/v1/coupons/"+url.PathEscape(id), nil, "", &out); err != nil {
		return Coupon{}, fmt.Errorf("get stripe coupon %s: %w", id, err)
	}
	return out, nil
}

// CreateCoupon creates a coupon under idempotencyKey.
func (c *Client) CreateCoupon(ctx context.Context, key, idempotencyKey string, p CouponParams) (Coupon, error) {
	f := url.Values{}
	if p.ID != "" {
		f.Set("id", p.ID)
	}
	if p.Name != "" {
		f.Set("name", p.Name)
	}
	if p.AmountOff > 0 {
		f.Set("amount_off", strconv.FormatInt(p.AmountOff, 10))
		f.Set("currency", p.Currency)
	} else {
		f.Set("percent_off", strconv.FormatFloat(p.PercentOff, 'f', -1, 64))
	}
	if p.Duration != "" {
		f.Set("duration", p.Duration)
	}
	if p.DurationInMonths > 0 {
		f.Set("duration_in_months", strconv.FormatInt(p.DurationInMonths, 10))
	}
	setMetadata(f, p.Metadata)
	var out Coupon
	if err := c.do(ctx, key, http.MethodPost, "/v1/coupons", f, idempotencyKey, &out); err != nil {
		return Coupon{}, fmt.Errorf("create stripe coupon: %w", err)
	}
	return out, nil
}

// CreatePromotionCode creates a promotion code under idempotencyKey.
func (c *Client) CreatePromotionCode(ctx context.Context, key, idempotencyKey string, p PromotionCodeParams) (PromotionCode, error) {
	f := url.Values{
		"promotion[type]":   {"coupon"},
		"promotion[coupon]": {p.CouponID},
		"code":              {p.Code},
	}
	if p.Customer != "" {
		f.Set("customer", p.Customer)
	}
	if p.ExpiresAt > 0 {
		f.Set("expires_at", strconv.FormatInt(p.ExpiresAt, 10))
	}
	if p.MaxRedemptions > 0 {
		f.Set("max_redemptions", strconv.FormatInt(p.MaxRedemptions, 10))
	}
	setMetadata(f, p.Metadata)
	var out PromotionCode
	if err := c.do(ctx, key, http.MethodPost, "/v1/promotion_codes", f, idempotencyKey, &out); err != nil {
		return PromotionCode{}, fmt.Errorf("create stripe promotion code: %w", err)
	}
	return out, nil
}

// ListPromotionCodes returns the promotion codes whose code is code
// (Stripe compares case-insensitively), newest first, at most 100, each
// with its coupon expanded.
func (c *Client) ListPromotionCodes(ctx context.Context, key, code string) ([]PromotionCode, error) {
	q := url.Values{"code": {code}, "limit": {"100"}, "expand[]": {"data.promotion.coupon"}}
	var out list[PromotionCode]
	if err := c.do(ctx, key, http.MethodGet, "/v1/promotion_codes", q, "", &out); err != nil {
		return nil, fmt.Errorf("list stripe promotion codes: %w", err)
	}
	return out.Data, nil
}

// setMetadata adds metadata[k]=v pairs, Stripe's bracket nesting.
func setMetadata(f url.Values, m map[string]string) {
	for k, v := range m {
		f.Set("metadata["+k+"]", v)
	}
}

// do sends one request: params go in the query of a GET and form-encoded
// in the body of a POST, which also carries idempotencyKey. It waits for
// the key's rate limiter, checks the status before decoding into out, and
// returns non-2xx answers as *Error.
func (c *Client) do(ctx context.Context, key, method, path string, params url.Values, idempotencyKey string, out any) error {
	u := c.baseURL + path
	var body io.Reader
	if method == http.MethodGet {
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
	} else {
		body = strings.NewReader(params.Encode())
	}
	release, err := c.limiter(key).Acquire(ctx, limitKey(key))
	if err != nil {
		return err
	}
	defer release()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("stripe: new request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Stripe-Version", APIVersion)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "hubspot-actions")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// The query holds the customer's email or the promotion code; keep
		// it out of logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = c.baseURL + path
		}
		return fmt.Errorf("stripe: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
		return newError(resp, b, c.now())
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return fmt.Errorf("stripe: decode %s %s: %w", method, path, err)
	}
	return nil
}

func newError(resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{API: upstream.NewAPIError(resp, body, now), Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	var env struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Param   string `json:"param"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Type, e.Code, e.Param, e.Message = env.Error.Type, env.Error.Code, env.Error.Param, env.Error.Message
	}
	return e
}
