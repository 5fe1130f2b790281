package stripe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/stripe/stripetest"
	"hubspot-actions/actions/upstream"
)

const testKey = "sk_test_client"

func newFake(t *testing.T, opts stripetest.Options) (*stripetest.Server, *Client) {
	t.Helper()
	fake, base := stripetest.Start(t, opts)
	return fake, NewClient(base, &http.Client{Timeout: 10 * time.Second})
}

// lastRequest returns the fake's last request and checks what every
// request must carry.
func lastRequest(t *testing.T, fake *stripetest.Server, method, path string) stripetest.Request {
	t.Helper()
	reqs := fake.Requests()
	if len(reqs) == 0 {
		t.Fatalf("no request reached the fake")
	}
	r := reqs[len(reqs)-1]
	if r.Method != method || r.Path != path {
		t.Fatalf("request = %s %s, want %s %s", r.Method, r.Path, method, path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("%s %s: Authorization = %q", method, path, got)
	}
	if got := r.Header.Get("Stripe-Version"); got != APIVersion {
		t.Errorf("%s %s: Stripe-Version = %q, want %q", method, path, got, APIVersion)
	}
	if method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Errorf("%s %s: Content-Type = %q", method, path, r.Header.Get("Content-Type"))
	}
	return r
}

func TestAPIVersionMatchesFake(t *testing.T) {
	t.Parallel()
	if APIVersion != stripetest.APIVersion {
		t.Errorf("APIVersion = %q, stripetest.APIVersion = %q", APIVersion, stripetest.APIVersion)
	}
}

func TestClientRequests(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, stripetest.Options{})
	ctx := context.Background()

	cu, err := c.CreateCustomer(ctx, testKey, "idem-customer", CustomerParams{Email: "Ann@Example.com", Metadata: map[string]string{"hubspot_portal_id": "42"}})
	if err != nil {
		t.Fatalf("CreateCustomer() = %v", err)
	}
	r := lastRequest(t, fake, http.MethodPost, "/v1/customers")
	if diff := cmp.Diff(url.Values{"email": {"Ann@Example.com"}, "metadata[hubspot_portal_id]": {"42"}}, r.Form); diff != "" {
		t.Errorf("CreateCustomer body (-want +got):\n%s", diff)
	}
	if r.Header.Get("Idempotency-Key") != "idem-customer" {
		t.Errorf("CreateCustomer Idempotency-Key = %q", r.Header.Get("Idempotency-Key"))
	}

	found, err := c.FindCustomersByEmail(ctx, testKey, "Ann@Example.com")
	if err != nil || len(found) != 1 || found[0].ID != cu.ID {
		t.Errorf("FindCustomersByEmail() = %+v, %v, want [%s]", found, err, cu.ID)
	}
	r = lastRequest(t, fake, http.MethodGet, "/v1/customers")
	if diff := cmp.Diff(url.Values{"email": {"Ann@Example.com"}, "limit": {"10"}}, r.Query); diff != "" {
		t.Errorf("FindCustomersByEmail query (-want +got):\n%s", diff)
	}
	if r.Header.Get("Idempotency-Key") != "" {
		t.Errorf("a GET carried an Idempotency-Key")
	}
	if found, _ := c.FindCustomersByEmail(ctx, testKey, "ann@example.com"); len(found) != 0 {
		t.Errorf("FindCustomersByEmail(lower case) = %+v; Stripe's filter is case-sensitive", found)
	}

	cp, err := c.CreateCoupon(ctx, testKey, "idem-coupon", CouponParams{
		ID: "hubspot_x", Name: "10.50 USD off for 3 months", AmountOff: 1050, Currency: "usd", Duration: "repeating", DurationInMonths: 3,
		Metadata: map[string]string{"created_by": "hubspot-actions"},
	})
	if err != nil {
		t.Fatalf("CreateCoupon() = %v", err)
	}
	r = lastRequest(t, fake, http.MethodPost, "/v1/coupons")
	want := url.Values{
		"id": {"hubspot_x"}, "name": {"10.50 USD off for 3 months"}, "amount_off": {"1050"}, "currency": {"usd"},
		"duration": {"repeating"}, "duration_in_months": {"3"}, "metadata[created_by]": {"hubspot-actions"},
	}
	if diff := cmp.Diff(want, r.Form); diff != "" {
		t.Errorf("CreateCoupon body (-want +got):\n%s", diff)
	}
	wantCoupon := Coupon{ID: "hubspot_x", Name: "10.50 USD off for 3 months", AmountOff: 1050, Currency: "usd", Duration: "repeating",
		DurationInMonths: 3, Valid: true, Created: cp.Created, Metadata: map[string]string{"created_by": "hubspot-actions"}}
	if diff := cmp.Diff(wantCoupon, cp); diff != "" {
		t.Errorf("CreateCoupon() (-want +got):\n%s", diff)
	}

	pct, err := c.CreateCoupon(ctx, testKey, "idem-coupon-2", CouponParams{ID: "hubspot_y", PercentOff: 12.5, Duration: "once"})
	if err != nil || pct.PercentOff != 12.5 {
		t.Fatalf("CreateCoupon(percent) = %+v, %v", pct, err)
	}
	r = lastRequest(t, fake, http.MethodPost, "/v1/coupons")
	if diff := cmp.Diff(url.Values{"id": {"hubspot_y"}, "percent_off": {"12.5"}, "duration": {"once"}}, r.Form); diff != "" {
		t.Errorf("CreateCoupon(percent) body (-want +got):\n%s", diff)
	}

	got, err := c.GetCoupon(ctx, testKey, "hubspot_x")
	if err != nil || got.ID != "hubspot_x" {
		t.Errorf("GetCoupon() = %+v, %v", got, err)
	}
	lastRequest(t, fake, http.MethodGet, "/v1/coupons/hubspot_x")
	_, err = c.GetCoupon(ctx, testKey, "nope")
	var se *Error
	if !errors.As(err, &se) || se.API.Status != 404 || se.Code != "resource_missing" || Status(err) != 404 {
		t.Errorf("GetCoupon(missing) = %v, want a 404 resource_missing *Error", err)
	}

	pc, err := c.CreatePromotionCode(ctx, testKey, "idem-promo", PromotionCodeParams{
		CouponID: "hubspot_x", Code: "SPRING7KQ2M9XHTA", Customer: cu.ID, ExpiresAt: time.Now().Add(time.Hour).Unix(), MaxRedemptions: 1,
		Metadata: map[string]string{"hubspot_ref": "EX-1"},
	})
	if err != nil {
		t.Fatalf("CreatePromotionCode() = %v", err)
	}
	r = lastRequest(t, fake, http.MethodPost, "/v1/promotion_codes")
	want = url.Values{
		"promotion[type]": {"coupon"}, "promotion[coupon]": {"hubspot_x"}, "code": {"SPRING7KQ2M9XHTA"}, "customer": {cu.ID},
		"expires_at": {r.Form.Get("expires_at")}, "max_redemptions": {"1"}, "metadata[hubspot_ref]": {"EX-1"},
	}
	if diff := cmp.Diff(want, r.Form); diff != "" {
		t.Errorf("CreatePromotionCode body (-want +got):\n%s", diff)
	}
	if pc.Code != "SPRING7KQ2M9XHTA" || pc.CouponID != "hubspot_x" || !pc.Active || pc.Customer != cu.ID || pc.MaxRedemptions != 1 {
		t.Errorf("CreatePromotionCode() = %+v", pc)
	}

	list, err := c.ListPromotionCodes(ctx, testKey, "spring7kq2m9xhta")
	if err != nil || len(list) != 1 || list[0].ID != pc.ID {
		t.Fatalf("ListPromotionCodes(lower case) = %+v, %v", list, err)
	}
	if list[0].Coupon == nil || list[0].Coupon.AmountOff != 1050 || list[0].Coupon.Currency != "usd" {
		t.Errorf("ListPromotionCodes() coupon = %+v, want the expanded coupon", list[0].Coupon)
	}
	r = lastRequest(t, fake, http.MethodGet, "/v1/promotion_codes")
	if diff := cmp.Diff(url.Values{"code": {"spring7kq2m9xhta"}, "limit": {"100"}, "expand[]": {"data.promotion.coupon"}}, r.Query); diff != "" {
		t.Errorf("ListPromotionCodes query (-want +got):\n%s", diff)
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, stripetest.Options{})
	ctx := context.Background()
	fake.Inject(stripetest.Fault{Path: "/v1/coupons/a", Status: 429, Code: "rate_limit", Message: "slow down", RetryAfter: "3"})
	fake.Inject(stripetest.Fault{Path: "/v1/coupons/b", Status: 503, Message: "down"})
	fake.Inject(stripetest.Fault{Path: "/v1/coupons/c", Status: 402, Message: "request failed"})

	_, err := c.GetCoupon(ctx, testKey, "a")
	if !actions.Transient(err) {
		t.Errorf("429: Transient(%v) = false", err)
	}
	if d, ok := upstream.RetryAfter(err); !ok || d != 3*time.Second {
		t.Errorf("429: RetryAfter = %v %v, want 3s", d, ok)
	}
	if _, err := c.GetCoupon(ctx, testKey, "b"); !actions.Transient(err) {
		t.Errorf("503: Transient(%v) = false", err)
	}
	_, err = c.GetCoupon(ctx, testKey, "c")
	var se *Error
	if !errors.As(err, &se) || actions.Transient(err) || se.Message != "request failed" || se.Type != "invalid_request_error" {
		t.Errorf("402 = %v, want a permanent *Error", err)
	}
	_, err = c.GetCoupon(ctx, stripetest.KeyInvalid, "x")
	if Status(err) != 401 || strings.Contains(err.Error(), stripetest.KeyInvalid) {
		t.Errorf("invalid key = %v, want 401 without the key", err)
	}
}

func TestVerifyKey(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, stripetest.Options{})
	ctx := context.Background()
	tests := []struct {
		key  string
		want string // "" for success, else part of the message
	}{
		{"sk_test_good", ""},
		{stripetest.KeyReadOnly, ""},
		{stripetest.KeyInvalid, "did not accept this key"},
		{"pk_test_123", "publishable key"},
		{"hello", "does not look like a Stripe secret key"},
		{"  ", "Enter a Stripe secret key"},
	}
	for _, tt := range tests {
		err := c.VerifyKey(ctx, tt.key)
		var ae *actions.Error
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("VerifyKey(%q) = %v, want nil", tt.key, err)
		case tt.want != "" && (!errors.As(err, &ae) || ae.Code != actions.CodeRejected || !strings.Contains(ae.Message, tt.want)):
			t.Errorf("VerifyKey(%q) = %v, want UPSTREAM_REJECTED mentioning %q", tt.key, err, tt.want)
		}
	}
	fake.Inject(stripetest.Fault{Path: "/v1/coupons", Status: 403, Message: "no permission"})
	if err := c.VerifyKey(ctx, "rk_test_other"); err == nil || !strings.Contains(err.Error(), "may not read coupons") {
		t.Errorf("VerifyKey(403) = %v", err)
	}
	fake.Inject(stripetest.Fault{Path: "/v1/coupons", Status: 500, Message: "oops"})
	if err := c.VerifyKey(ctx, "sk_test_good"); !actions.Transient(err) {
		t.Errorf("VerifyKey(500) = %v, want a transient error", err)
	}
	reqs := fake.Requests()
	r := reqs[len(reqs)-1]
	if r.Method != http.MethodGet || r.Path != "/v1/coupons" || r.Query.Get("limit") != "1" ||
		r.Header.Get("Authorization") != "Bearer sk_test_good" || r.Header.Get("Stripe-Version") != APIVersion {
		t.Errorf("VerifyKey request = %s %s %v %v", r.Method, r.Path, r.Query, r.Header)
	}
}

// TestLimiterKeepsUnderStripeLimit sends a burst larger than Stripe's
// test-mode limit through one key: the client spaces the requests so the
// fake (which enforces 25/s) never answers 429.
func TestLimiterKeepsUnderStripeLimit(t *testing.T) {
	t.Parallel()
	// The fake's own limit is off: how busy the machine is decides when
	// requests arrive, not when the client let them go. What the client
	// sends is timed as it leaves: by any moment, at most the burst plus
	// what the rate refilled since the start may have gone.
	fake, base := stripetest.Start(t, stripetest.Options{RateLimit: -1})
	var mu sync.Mutex
	var sent []time.Time
	c := NewClient(base, &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		sent = append(sent, time.Now())
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})})
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 45)
	for range 45 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetCoupon(ctx, testKey, "fixture_10pct"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("burst: %v", err)
	}
	if n := fake.Count(http.MethodGet, "/v1/coupons/fixture_10pct"); n != 45 {
		t.Errorf("requests = %d, want 45", n)
	}
	slices.SortFunc(sent, func(a, b time.Time) int { return a.Compare(b) })
	for i, at := range sent {
		if allowed := testRate + 1 + int(float64(testRate)*at.Sub(start).Seconds()); i+1 > allowed {
			t.Fatalf("request %d left %v after the start: more than %d allowed by then (%d a second, burst %d)", i+1, at.Sub(start), allowed, testRate, testRate)
		}
	}
	// Stripe's test-mode limit is 25 a second: the client's pace is under it.
	if testRate >= 25 {
		t.Errorf("testRate = %d, want under Stripe's 25 a second", testRate)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestLimiterRefusesWaitsPastDeadline: a request whose turn would come
// after its deadline is not sent; it fails at once with a transient 429
// saying when to come back.
func TestLimiterRefusesWaitsPastDeadline(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, stripetest.Options{})
	// Two at once, then one a minute: the third's turn is past its
	// 30-second deadline however slow the machine is.
	c.testLimit = actions.NewLimiter(actions.Limit{Every: time.Minute, Burst: 2, Refusal: "client-side rate limit for this Stripe key"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 2 {
		if _, err := c.GetCoupon(ctx, testKey, "fixture_10pct"); err != nil {
			t.Fatalf("GetCoupon() %d = %v", i, err)
		}
	}
	_, err := c.GetCoupon(ctx, testKey, "fixture_10pct")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter <= 0 || !actions.Transient(err) {
		t.Errorf("GetCoupon() past the deadline = %v, want a transient 429 with RetryAfter", err)
	}
	if n := fake.Count(http.MethodGet, "/v1/coupons/fixture_10pct"); n != 2 {
		t.Errorf("requests sent = %d, want 2: the refused one must not be sent", n)
	}
	// Another key is not affected.
	if _, err := c.GetCoupon(ctx, "sk_test_other", "fixture_10pct"); err != nil {
		t.Errorf("GetCoupon(other key) = %v", err)
	}
}

func TestLimiterPerMode(t *testing.T) {
	t.Parallel()
	c := NewClient("", nil)
	tests := []struct {
		key  string
		want actions.Limiter
	}{
		{"sk_test_abc", c.testLimit},
		{"rk_test_abc", c.testLimit},
		{"sk_live_abc", c.liveLimit},
		{"rk_live_abc", c.liveLimit},
	}
	for _, tt := range tests {
		if got := c.limiter(tt.key); got != tt.want {
			t.Errorf("limiter(%q) is the %s limiter, want the other", tt.key, map[bool]string{true: "test", false: "live"}[got == c.testLimit])
		}
	}
	if limitKey("sk_test_abc") == limitKey("sk_test_abd") || strings.Contains(limitKey("sk_test_abc"), "abc") {
		t.Errorf("limitKey must tell keys apart without holding them")
	}
}

func BenchmarkLimiterWait(b *testing.B) {
	c := NewClient("", nil)
	c.testLimit = newLimiter(1 << 30)
	ctx := context.Background()
	for b.Loop() {
		release, err := c.limiter("sk_test_bench").Acquire(ctx, limitKey("sk_test_bench"))
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// TestClientNetworkErrorKeepsInputOutOfMessage: a failed request's error
// (logged, and kept as the execution's last error) leaves out the query,
// which holds the customer's email or the promotion code.
func TestClientNetworkErrorKeepsInputOutOfMessage(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close()
	c := NewClient(ts.URL, &http.Client{Timeout: 5 * time.Second})
	ctx := context.Background()
	_, findErr := c.FindCustomersByEmail(ctx, testKey, "jane.private@example.com")
	_, listErr := c.ListPromotionCodes(ctx, testKey, "SECRETCODE42")
	for _, err := range []error{findErr, listErr} {
		if err == nil || !actions.Transient(err) {
			t.Fatalf("call to a closed server = %v, want a transient network error", err)
		}
		if strings.Contains(err.Error(), "jane.private") || strings.Contains(err.Error(), "SECRETCODE42") {
			t.Errorf("error %q repeats the input", err)
		}
	}
}
