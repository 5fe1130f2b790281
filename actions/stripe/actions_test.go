package stripe

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/stripe/stripetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Portals of the tests and the keys their KeyFunc returns.
const (
	portalOK       = 7100001
	portalNoKey    = 7100002
	portalBadKey   = 7100003
	portalReadOnly = 7100004
	portalKey      = "sk_test_portal"
)

var testSecret = []byte("test-code-secret-0123456789abcdef")

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	h     *actionstest.Harness
	fake  *stripetest.Server
	app   *Provider
	clock *clock
}

// testKeys gives each test portal its own key.
func testKeys(ctx context.Context, ex *actions.Execution) (actions.Key, error) {
	switch ex.PortalID {
	case portalNoKey:
		return actions.Key{}, actions.Fail(actions.CodeNotConnected, "No Stripe key is set for this HubSpot account; a HubSpot admin can add one in the app's settings.")
	case portalBadKey:
		return actions.OwnKey(stripetest.KeyInvalid), nil
	case portalReadOnly:
		return actions.OwnKey(stripetest.KeyReadOnly), nil
	}
	return actions.OwnKey(portalKey), nil
}

func newEnv(t *testing.T, cfg actions.Config) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 10, 14, 25, 7, 0, time.UTC)}
	fake, base := stripetest.Start(t, stripetest.Options{Now: clk.Now, RateLimit: -1})
	a := &Provider{c: NewClient(base, &http.Client{Timeout: 10 * time.Second}), keys: testKeys, mint: minter{secret: testSecret}, now: clk.Now}
	if cfg.InlineBudget == 0 {
		cfg.InlineBudget = 5 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := a.Register(r); err != nil {
			t.Fatalf("Register: %v", err)
		}
	}, actionstest.Options{Config: cfg})
	return &env{h: h, fake: fake, app: a, clock: clk}
}

// request returns an execution request with a fixed callbackId, so codes
// and golden files are stable.
func request(portalID int64, callbackID string, inputs map[string]any) actions.Request {
	req := actionstest.NewRequest(portalID, "CONTACT", inputs, map[string]string{"email": "jane@example.com"})
	req.CallbackID = callbackID
	req.Object.ObjectID = "901"
	return req
}

func (e *env) ref(t *testing.T, callbackID string) string {
	t.Helper()
	ex, err := e.h.DB.GetExecution(context.Background(), callbackID)
	if err != nil {
		t.Fatalf("get execution %s: %v", callbackID, err)
	}
	return ex.Ref
}

// posts returns the fake's POST requests to path.
func (e *env) posts(path string) []stripetest.Request {
	var out []stripetest.Request
	for _, r := range e.fake.Requests() {
		if r.Method == http.MethodPost && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestCreatePercentCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	req := request(portalOK, "ap-7100001-create-percent", map[string]any{
		InDiscountType: "percent", InPercentOff: "15", InExpiresInDays: 7, InMaxRedemptions: "1", InCodePrefix: "spring",
	})
	got := e.h.Execute(t, ActionCreatePromotionCode, req)
	golden(t, "create_percent", got)

	code := got[OutCode]
	if !strings.HasPrefix(code, "SPRING") || len(code) != len("SPRING")+suffixLen || strings.Trim(code[6:], codeAlphabet) != "" {
		t.Errorf("code = %q, want SPRING and %d characters of %s", code, suffixLen, codeAlphabet)
	}
	if code != "SPRING"+e.app.mint.suffix(req.CallbackID) {
		t.Errorf("code = %q, want the HMAC suffix of the callbackId", code)
	}
	if got[OutExpiresAt] != "2026-03-17T15:00:00Z" {
		t.Errorf("expires_at = %q, want 7 days later rounded up to the hour", got[OutExpiresAt])
	}
	couponID := e.app.mint.couponID(portalOK, terms{percentOff: 15, duration: "once"})
	if got[OutCouponID] != couponID {
		t.Errorf("coupon_id = %q, want %q", got[OutCouponID], couponID)
	}

	// Every request: the coupon is looked up, then created, then the code.
	var calls []string
	for _, r := range e.fake.Requests() {
		calls = append(calls, r.Method+" "+r.Path)
		if r.Header.Get("Authorization") != "Bearer "+portalKey || r.Header.Get("Stripe-Version") != APIVersion {
			t.Errorf("%s %s: auth %q version %q", r.Method, r.Path, r.Header.Get("Authorization"), r.Header.Get("Stripe-Version"))
		}
		if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Idempotency-Key"), "hs-") {
			t.Errorf("%s %s: Idempotency-Key = %q", r.Method, r.Path, r.Header.Get("Idempotency-Key"))
		}
	}
	want := []string{"GET /v1/coupons/" + couponID, "POST /v1/coupons", "POST /v1/promotion_codes"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	coupon := e.posts("/v1/coupons")[0]
	wantCoupon := url.Values{"id": {couponID}, "name": {"15% off"}, "percent_off": {"15"}, "duration": {"once"}, "metadata[created_by]": {"hubspot-actions"}, "metadata[hubspot_portal_id]": {"7100001"}}
	if diff := cmp.Diff(wantCoupon, coupon.Form); diff != "" {
		t.Errorf("coupon body (-want +got):\n%s", diff)
	}
	promo := e.posts("/v1/promotion_codes")[0]
	wantPromo := url.Values{
		"promotion[type]": {"coupon"}, "promotion[coupon]": {couponID}, "code": {code},
		"expires_at": {fmt.Sprint(time.Date(2026, 3, 17, 15, 0, 0, 0, time.UTC).Unix())}, "max_redemptions": {"1"},
		"metadata[created_by]": {"hubspot-actions"}, "metadata[hubspot_ref]": {e.ref(t, req.CallbackID)},
		"metadata[hubspot_portal_id]": {"7100001"}, "metadata[hubspot_object_id]": {"901"},
	}
	if diff := cmp.Diff(wantPromo, promo.Form); diff != "" {
		t.Errorf("promotion code body (-want +got):\n%s", diff)
	}
	if coupon.Header.Get("Idempotency-Key") == promo.Header.Get("Idempotency-Key") {
		t.Errorf("the coupon and the code share an Idempotency-Key")
	}
}

func TestCreateAmountCodesShareCoupons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	usd := map[string]any{InDiscountType: "amount", InAmountOff: "10.50", InCurrency: "usd", InDuration: "repeating", InDurationInMonths: 3}
	first := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-amount-1", usd))
	second := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-amount-2", usd))
	yen := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-amount-3", map[string]any{
		InDiscountType: "amount", InAmountOff: 500, InCurrency: "JPY",
	}))
	golden(t, "create_amount", first)
	for _, got := range []map[string]string{first, second, yen} {
		if got[actions.OutputState] != actions.StateSuccess || got[OutExpiresAt] != "" || len(got[OutCode]) != suffixLen {
			t.Errorf("outputs = %v, want SUCCESS, a bare %d-character code, no expiry", got, suffixLen)
		}
	}
	if first[OutCouponID] != second[OutCouponID] || first[OutCode] == second[OutCode] || yen[OutCouponID] == first[OutCouponID] {
		t.Errorf("coupons %s %s %s, codes %s %s: codes with the same terms must share a coupon", first[OutCouponID], second[OutCouponID], yen[OutCouponID], first[OutCode], second[OutCode])
	}
	if n := len(e.posts("/v1/coupons")); n != 2 {
		t.Errorf("coupons created = %d, want 2 (USD shared, JPY)", n)
	}
	var names []string
	for _, c := range e.fake.Coupons() {
		if strings.HasPrefix(c.ID, "hubspot_") {
			names = append(names, fmt.Sprintf("%s %d %s", c.Name, c.AmountOff, c.Currency))
		}
	}
	if diff := cmp.Diff([]string{"10.50 USD off for 3 months 1050 usd", "500 JPY off 500 jpy"}, names); diff != "" {
		t.Errorf("coupons (-want +got):\n%s", diff)
	}
}

func TestCreateForCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	tests := []struct {
		name     string
		email    string
		customer func() string // the customer the code must be restricted to
		created  bool
	}{
		{"existing customer", "jane@example.com", func() string { return "cus_fixture_jane" }, false},
		{"existing customer, email in other case", "Jane@Example.COM", func() string { return "cus_fixture_jane" }, false},
		{"new customer", "new.lead@example.com", nil, true},
	}
	for i, tt := range tests {
		before := len(e.posts("/v1/customers"))
		req := request(portalOK, fmt.Sprintf("ap-customer-%d", i), map[string]any{InDiscountType: "percent", InPercentOff: 20, InCustomerEmail: tt.email})
		got := e.h.Execute(t, ActionCreatePromotionCode, req)
		if got[actions.OutputState] != actions.StateSuccess {
			t.Fatalf("%s: %v", tt.name, got)
		}
		posts := e.posts("/v1/customers")
		if created := len(posts) > before; created != tt.created {
			t.Errorf("%s: created a customer = %v, want %v", tt.name, created, tt.created)
		}
		want := ""
		if tt.customer != nil {
			want = tt.customer()
		} else {
			custs := e.fake.Customers()
			last := custs[len(custs)-1]
			want = last.ID
			if last.Email != tt.email || last.Metadata["created_by"] != "hubspot-actions" || last.Metadata["hubspot_object_id"] != "901" {
				t.Errorf("%s: created customer %+v", tt.name, last)
			}
		}
		var restricted string
		for _, pc := range e.fake.PromotionCodes() {
			if pc.Code == got[OutCode] {
				restricted = pc.Customer
			}
		}
		if restricted != want {
			t.Errorf("%s: code restricted to %q, want %q", tt.name, restricted, want)
		}
	}
}

// TestCreateIsIdempotent delivers the same execution twice through the
// handler and runs the action's side effects again as a crashed and
// resumed process would: one coupon, one code, the same code every time.
func TestCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	inputs := map[string]any{InDiscountType: "percent", InPercentOff: "25", InExpiresInDays: "30", InCodePrefix: "VIP", InCustomerEmail: "first.time@example.com"}
	req := request(portalOK, "ap-idempotent", inputs)
	first := e.h.Execute(t, ActionCreatePromotionCode, req)
	again := e.h.Execute(t, ActionCreatePromotionCode, req)
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("repeated delivery (-first +again):\n%s", diff)
	}
	if n := len(e.posts("/v1/promotion_codes")); n != 1 {
		t.Errorf("a repeated delivery sent %d promotion code creations, want 1", n)
	}

	// A crash after the side effects: the resumed run sends the same
	// requests under the same keys and gets Stripe's saved answers.
	ex := &actions.Execution{CallbackID: req.CallbackID, Ref: e.ref(t, req.CallbackID), PortalID: portalOK, Attempt: 2, Object: req.Object}
	in := createIn{DiscountType: "percent", PercentOff: "25", ExpiresInDays: 30, CodePrefix: "VIP", CustomerEmail: "first.time@example.com"}
	rerun, err := e.app.create(context.Background(), ex, in)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if rerun.Code != first[OutCode] || rerun.PromotionCodeID != first[OutPromotionCodeID] || rerun.CouponID != first[OutCouponID] || rerun.ExpiresAt != first[OutExpiresAt] {
		t.Errorf("re-run = %+v, first = %v", rerun, first)
	}
	// Two hours later the expiry differs: Stripe answers idempotency_error
	// and the code is found by lookup.
	e.clock.Add(2 * time.Hour)
	later, err := e.app.create(context.Background(), ex, in)
	if err != nil || later.Code != first[OutCode] || later.PromotionCodeID != first[OutPromotionCodeID] {
		t.Errorf("re-run two hours later = %+v, %v", later, err)
	}
	// After Stripe pruned the keys (24 h), the coupon is found by ID, the
	// customer by email and the code by lookup.
	e.fake.PruneIdempotencyKeys()
	pruned, err := e.app.create(context.Background(), ex, in)
	if err != nil || pruned.Code != first[OutCode] || pruned.PromotionCodeID != first[OutPromotionCodeID] {
		t.Errorf("re-run after pruning = %+v, %v", pruned, err)
	}

	var mine int
	for _, pc := range e.fake.PromotionCodes() {
		if pc.Metadata["hubspot_ref"] != "" {
			mine++
		}
	}
	var coupons int
	for _, c := range e.fake.Coupons() {
		if strings.HasPrefix(c.ID, "hubspot_") {
			coupons++
		}
	}
	customers := 0
	for _, c := range e.fake.Customers() {
		if c.Email == "first.time@example.com" {
			customers++
		}
	}
	if mine != 1 || coupons != 1 || customers != 1 {
		t.Errorf("after 4 runs: %d codes, %d coupons, %d customers; want 1 of each", mine, coupons, customers)
	}
}

func TestCreateConcurrentSameTerms(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	var wg sync.WaitGroup
	outs := make([]map[string]string, 8)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, fmt.Sprintf("ap-concurrent-%d", i), map[string]any{InDiscountType: "percent", InPercentOff: "33.33"}))
		}()
	}
	wg.Wait()
	codes := map[string]bool{}
	for _, o := range outs {
		if o[actions.OutputState] != actions.StateSuccess || o[OutCouponID] != outs[0][OutCouponID] {
			t.Errorf("outputs = %v", o)
		}
		codes[o[OutCode]] = true
	}
	if len(codes) != len(outs) {
		t.Errorf("%d distinct codes for %d executions", len(codes), len(outs))
	}
	n := 0
	for _, c := range e.fake.Coupons() {
		if strings.HasPrefix(c.ID, "hubspot_") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("coupons = %d, want 1 shared by every code", n)
	}
}

func TestCreateValidationFailsBeforeAnyCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	tests := []struct {
		name   string
		inputs map[string]any
		field  string
	}{
		{"percent over 100", map[string]any{InDiscountType: "percent", InPercentOff: "150"}, InPercentOff},
		{"amount without currency", map[string]any{InDiscountType: "amount", InAmountOff: "10"}, InCurrency},
		{"unknown currency, for a customer", map[string]any{InDiscountType: "amount", InAmountOff: "5", InCurrency: "xyz", InCustomerEmail: "new.lead@example.com"}, InCurrency},
		{"repeating without months", map[string]any{InDiscountType: "percent", InPercentOff: 10, InDuration: "repeating"}, InDurationInMonths},
		{"negative days", map[string]any{InDiscountType: "percent", InPercentOff: 10, InExpiresInDays: "-3"}, InExpiresInDays},
		{"fractional uses", map[string]any{InDiscountType: "percent", InPercentOff: 10, InMaxRedemptions: "1.5"}, InMaxRedemptions},
		{"bad email", map[string]any{InDiscountType: "percent", InPercentOff: 10, InCustomerEmail: "not-an-email"}, InCustomerEmail},
		{"bad prefix", map[string]any{InDiscountType: "percent", InPercentOff: 10, InCodePrefix: "50%OFF"}, InCodePrefix},
		{"unknown type", map[string]any{InDiscountType: "free-shipping"}, InDiscountType},
	}
	for i, tt := range tests {
		got := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, fmt.Sprintf("ap-invalid-%d", i), tt.inputs))
		if got[actions.OutputState] != actions.StateFailContinue || got[actions.OutputErrorCode] != string(actions.CodeValidation) ||
			!strings.HasPrefix(got[actions.OutputErrorMsg], tt.field+": ") || !strings.Contains(got[actions.OutputErrorMsg], "(ref EX-") {
			t.Errorf("%s: %v, want VALIDATION_FAILED naming %s", tt.name, got, tt.field)
		}
		if got[OutCode] != "" {
			t.Errorf("%s: code = %q", tt.name, got[OutCode])
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("invalid inputs sent %d requests to Stripe", n)
	}
	golden(t, "create_invalid", e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-invalid-golden", map[string]any{InDiscountType: "amount", InAmountOff: "10,50", InCurrency: "EUR"})))
}

func TestCreateFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	pct := map[string]any{InDiscountType: "percent", InPercentOff: "10"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{InDiscountType: "percent", InPercentOff: "10"}
		m[k] = v
		return m
	}
	tests := []struct {
		name   string
		portal int64
		inputs map[string]any
		fault  *stripetest.Fault
		code   actions.Code
		says   string
	}{
		{"no key", portalNoKey, pct, nil, actions.CodeNotConnected, "No Stripe key"},
		{"invalid key", portalBadKey, pct, nil, actions.CodeRejected, "did not accept the secret key"},
		{"read-only key", portalReadOnly, pct, nil, actions.CodeRejected, "may not create the Stripe coupon"},
		{"blocked customer", portalOK, with(InCustomerEmail, "x@blocked.example"), nil, actions.CodeRejected, "Stripe declined to create the Stripe customer"},
		{"Stripe refuses the currency", portalOK, map[string]any{InDiscountType: "amount", InAmountOff: "5", InCurrency: "kpw", InCustomerEmail: "kim@new.example"}, nil, actions.CodeValidation, "currency: Stripe refused it: Invalid currency: kpw"},
		{"Stripe refuses the code", portalOK, pct, &stripetest.Fault{Method: "POST", Path: "/v1/promotion_codes", Status: 400, Param: "code", Message: "That code is reserved."}, actions.CodeValidation, "code_prefix: Stripe refused it: That code is reserved."},
		{"Stripe refuses something else", portalOK, with(InCodePrefix, "OTHER"), &stripetest.Fault{Method: "POST", Path: "/v1/promotion_codes", Status: 400, Param: "restrictions", Message: "Nope."}, actions.CodeRejected, "Stripe refused to create the promotion code: Nope."},
		{"permission on one endpoint", portalOK, with(InCodePrefix, "PERM"), &stripetest.Fault{Method: "POST", Path: "/v1/promotion_codes", Status: 403, Message: "no"}, actions.CodeRejected, "may not create the promotion code"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				e.fake.Inject(*tt.fault)
			}
			got := e.h.Execute(t, ActionCreatePromotionCode, request(tt.portal, fmt.Sprintf("ap-fail-%d", i), tt.inputs))
			if got[actions.OutputState] != actions.StateFailContinue || got[actions.OutputErrorCode] != string(tt.code) || !strings.Contains(got[actions.OutputErrorMsg], tt.says) {
				t.Errorf("outputs = %v, want %s saying %q", got, tt.code, tt.says)
			}
			if strings.Contains(got[actions.OutputErrorMsg], "sk_test") || strings.Contains(got[actions.OutputErrorMsg], "rk_test") {
				t.Errorf("the message shows a key: %q", got[actions.OutputErrorMsg])
			}
		})
	}
	// A refused coupon leaves no customer behind: the coupon comes first.
	for _, c := range e.fake.Customers() {
		if c.Email == "kim@new.example" {
			t.Errorf("customer %s created for a code that was never made", c.ID)
		}
	}
}

func TestCreateCouponConflicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	ctx := context.Background()
	// Someone made a coupon with the ID of 40% off, but other terms.
	id := e.app.mint.couponID(portalOK, terms{percentOff: 40, duration: "once"})
	if _, err := e.app.c.CreateCoupon(ctx, portalKey, "manual", CouponParams{ID: id, PercentOff: 45, Duration: "once", Metadata: map[string]string{"hubspot_portal_id": "7100001"}}); err != nil {
		t.Fatal(err)
	}
	got := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-conflict", map[string]any{InDiscountType: "percent", InPercentOff: "40"}))
	if got[actions.OutputErrorCode] != string(actions.CodeRejected) || !strings.Contains(got[actions.OutputErrorMsg], "exists with other terms") {
		t.Errorf("conflicting coupon: %v", got)
	}
	// A coupon with the ID and the terms, but not marked for the portal, is
	// not used.
	id = e.app.mint.couponID(portalOK, terms{percentOff: 41, duration: "once"})
	if _, err := e.app.c.CreateCoupon(ctx, portalKey, "manual-2", CouponParams{ID: id, PercentOff: 41, Duration: "once"}); err != nil {
		t.Fatal(err)
	}
	got = e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-unmarked", map[string]any{InDiscountType: "percent", InPercentOff: "41"}))
	if got[actions.OutputErrorCode] != string(actions.CodeRejected) || !strings.Contains(got[actions.OutputErrorMsg], "did not make for this HubSpot account") {
		t.Errorf("unmarked coupon: %v", got)
	}
	// A deleted coupon is created again.
	first := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-deleted-1", map[string]any{InDiscountType: "percent", InPercentOff: "5"}))
	if err := e.app.c.do(ctx, portalKey, http.MethodDelete, "/v1/coupons/"+first[OutCouponID], nil, "", nil); err != nil {
		t.Fatal(err)
	}
	second := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-deleted-2", map[string]any{InDiscountType: "percent", InPercentOff: "5"}))
	if second[actions.OutputState] != actions.StateSuccess || second[OutCouponID] != first[OutCouponID] {
		t.Errorf("after the coupon was deleted: %v", second)
	}
}

func TestCreateRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix string
		fault  *stripetest.Fault
		state  string
		code   actions.Code
	}{
		{"rate limited until retries run out", stripetest.PrefixRateLimit, nil, actions.StateFailContinue, actions.CodeRateLimited},
		{"unavailable until retries run out", stripetest.PrefixDown, nil, actions.StateFailContinue, actions.CodeUnavailable},
		{"a saved 500 is replayed, then sent under a fresh key", stripetest.PrefixFlaky, nil, actions.StateSuccess, ""},
		{"503 then fine", "BLIP", &stripetest.Fault{Method: "POST", Path: "/v1/coupons", Status: 503, RetryAfter: "0.05"}, actions.StateSuccess, ""},
		{"in progress elsewhere (409) then fine", "BUSY", &stripetest.Fault{Method: "POST", Path: "/v1/promotion_codes", Status: 409, Code: "idempotency_key_in_use"}, actions.StateSuccess, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, actions.Config{InlineBudget: 2 * time.Second})
			if tt.fault != nil {
				e.fake.Inject(*tt.fault)
			}
			// Each case its own terms, so the coupon step runs in each.
			req := request(portalOK, fmt.Sprintf("ap-retry-%d", i), map[string]any{InDiscountType: "percent", InPercentOff: fmt.Sprint(60 + i), InCodePrefix: tt.prefix})
			got := e.h.Run(t, ActionCreatePromotionCode, req, 30*time.Second)
			if got[actions.OutputState] != tt.state || got[actions.OutputErrorCode] != string(tt.code) {
				t.Errorf("outcome = %v, want %s %s", got, tt.state, tt.code)
			}
			if tt.state == actions.StateSuccess && !strings.HasPrefix(got[OutCode], tt.prefix) {
				t.Errorf("code = %q", got[OutCode])
			}
			if tt.prefix == stripetest.PrefixFlaky {
				// 500 (saved); next attempt: replayed 500, lookup, new key.
				posts := e.posts("/v1/promotion_codes")
				if len(posts) != 3 || posts[0].Header.Get("Idempotency-Key") != posts[1].Header.Get("Idempotency-Key") ||
					posts[2].Header.Get("Idempotency-Key") == posts[1].Header.Get("Idempotency-Key") || posts[1].Status != 500 {
					t.Errorf("FLAKY: %d creations", len(posts))
				}
			}
			if tt.state == actions.StateSuccess && len(e.fake.PromotionCodes()) != 7 {
				t.Errorf("promotion codes = %d, want the 6 fixtures and 1 new", len(e.fake.PromotionCodes()))
			}
		})
	}
}

func TestCheckCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	codes := []string{"WELCOME10", "tenoff", "YEN500", "EXPIRED20", "USEDUP", "PAUSED", "NOSUCHCODE", "not a code!"}
	all := map[string]map[string]string{}
	for i, code := range codes {
		got := e.h.Execute(t, ActionCheckPromotionCode, request(portalOK, fmt.Sprintf("ap-check-%d", i), map[string]any{InCode: code}))
		delete(got, actions.OutputState)
		all[code] = got
	}
	golden(t, "check_fixtures", all)

	want := map[string][2]string{ // found, active
		"WELCOME10": {"true", "true"}, "tenoff": {"true", "true"}, "YEN500": {"true", "true"},
		"EXPIRED20": {"true", "false"}, "USEDUP": {"true", "false"}, "PAUSED": {"true", "false"},
		"NOSUCHCODE": {"false", "false"}, "not a code!": {"false", "false"},
	}
	for code, w := range want {
		got := all[code]
		if got[OutFound] != w[0] || got[OutActive] != w[1] || got[actions.OutputErrorCode] != "" {
			t.Errorf("check %q = %v, want found %s active %s, no error", code, got, w[0], w[1])
		}
	}
	if all["tenoff"][OutAmountOff] != "10.00" || all["tenoff"][OutCurrency] != "USD" || all["tenoff"][OutTimesRedeemed] != "3" || all["tenoff"][OutMaxRedemptions] != "100" {
		t.Errorf("TENOFF = %v", all["tenoff"])
	}
	if all["YEN500"][OutAmountOff] != "500" || all["YEN500"][OutCurrency] != "JPY" {
		t.Errorf("YEN500 = %v", all["YEN500"])
	}
	if all["WELCOME10"][OutPercentOff] != "10" || all["WELCOME10"][OutMaxRedemptions] != "" || all["WELCOME10"][OutExpiresAt] != "" {
		t.Errorf("WELCOME10 = %v", all["WELCOME10"])
	}
	if all["EXPIRED20"][OutExpiresAt] != "2026-03-09T14:25:07Z" {
		t.Errorf("EXPIRED20 expires_at = %q", all["EXPIRED20"][OutExpiresAt])
	}
	for _, r := range e.fake.Requests() {
		if r.Query.Get("code") == "not a code!" {
			t.Errorf("a code Stripe cannot hold was looked up")
		}
	}
}

func TestCheckCreatedCodeLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	created := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-life", map[string]any{
		InDiscountType: "percent", InPercentOff: "15", InExpiresInDays: 2, InMaxRedemptions: 1, InCodePrefix: "LIFE",
	}))
	n := 0
	check := func() map[string]string {
		n++
		return e.h.Execute(t, ActionCheckPromotionCode, request(portalOK, fmt.Sprintf("ap-life-check-%d", n), map[string]any{InCode: strings.ToLower(created[OutCode])}))
	}
	if got := check(); got[OutFound] != "true" || got[OutActive] != "true" || got[OutTimesRedeemed] != "0" || got[OutMaxRedemptions] != "1" || got[OutExpiresAt] != created[OutExpiresAt] || got[OutPercentOff] != "15" {
		t.Errorf("fresh code = %v", got)
	}
	if err := e.fake.Redeem(created[OutCode]); err != nil {
		t.Fatal(err)
	}
	if got := check(); got[OutActive] != "false" || got[OutTimesRedeemed] != "1" {
		t.Errorf("used-up code = %v", got)
	}
	// A second code with the same text for another customer, still usable,
	// wins over the used one.
	jane := "cus_fixture_jane"
	if _, err := e.app.c.CreatePromotionCode(context.Background(), portalKey, "dup", PromotionCodeParams{CouponID: created[OutCouponID], Code: created[OutCode], Customer: jane}); err != nil {
		t.Fatal(err)
	}
	if got := check(); got[OutActive] != "true" || got[OutTimesRedeemed] != "0" {
		t.Errorf("with a usable duplicate = %v", got)
	}
	e.clock.Add(72 * time.Hour)
	if got := check(); got[OutActive] != "true" {
		t.Errorf("the duplicate never expires, got %v", got)
	}
	if err := e.fake.SetActive(created[OutCode], false); err != nil {
		t.Fatal(err)
	}
	if got := check(); got[OutFound] != "true" || got[OutActive] != "false" {
		t.Errorf("deactivated = %v", got)
	}
}

func TestCheckFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{InlineBudget: 2 * time.Second})
	tests := []struct {
		name   string
		portal int64
		code   string
		state  string
		err    actions.Code
	}{
		{"empty code", portalOK, "  ", actions.StateFailContinue, actions.CodeValidation},
		{"no key", portalNoKey, "WELCOME10", actions.StateFailContinue, actions.CodeNotConnected},
		{"invalid key", portalBadKey, "WELCOME10", actions.StateFailContinue, actions.CodeRejected},
		{"read-only key may read", portalReadOnly, "WELCOME10", actions.StateSuccess, ""},
		{"rate limited", portalOK, "RATELIMIT1", actions.StateFailContinue, actions.CodeRateLimited},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := e.h.Run(t, ActionCheckPromotionCode, request(tt.portal, fmt.Sprintf("ap-check-fail-%d", i), map[string]any{InCode: tt.code}), 30*time.Second)
			if got[actions.OutputState] != tt.state || got[actions.OutputErrorCode] != string(tt.err) {
				t.Errorf("outputs = %v, want %s %s", got, tt.state, tt.err)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	// The code secret is the app's own, read on first use: a short one is
	// refused before any call to Stripe.
	short, err := New(Config{BaseURL: "http://127.0.0.1:1"}, actions.Deps{
		AppSecret: func(context.Context, string) ([]byte, error) { return []byte("short"), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.minter(context.Background()); err == nil {
		t.Errorf("minter() accepted a short code secret")
	}
	if _, err := New(Config{BaseURL: "not a url"}, actions.Deps{}); err == nil {
		t.Errorf("New accepted a base URL that is not one")
	}
	p, err := New(Config{BaseURL: "http://127.0.0.1:1"}, actions.Deps{
		AppSecret: func(_ context.Context, name string) ([]byte, error) {
			if name != codeSecretName {
				return nil, fmt.Errorf("app secret %q", name)
			}
			return testSecret, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := p.minter(context.Background()); err != nil || string(m.secret) != string(testSecret) {
		t.Errorf("minter() = %v, %v, want the app secret", m, err)
	}
	r := actions.NewRegistry()
	if err := p.Register(r); err != nil {
		t.Fatalf("Register() = %v", err)
	}
	var keys []string
	for _, a := range r.All() {
		keys = append(keys, a.Key)
	}
	if diff := cmp.Diff([]string{"stripe-check-promotion-code", "stripe-create-promotion-code"}, keys); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	// The public contract: input and output names.
	contract := map[string][2][]string{
		ActionCreatePromotionCode: {
			{"discount_type", "percent_off", "amount_off", "currency", "duration", "duration_in_months", "expires_in_days", "max_redemptions", "code_prefix", "customer_email"},
			{"code", "promotion_code_id", "coupon_id", "expires_at", "error_code", "error_message", "test_mode"},
		},
		ActionCheckPromotionCode: {
			{"code"},
			{"found", "active", "times_redeemed", "max_redemptions", "percent_off", "amount_off", "currency", "expires_at", "error_code", "error_message", "test_mode"},
		},
	}
	for key, io := range contract {
		a, _ := r.Get(key)
		var in, out []string
		for _, f := range a.Inputs {
			in = append(in, f.Name)
			if f.Label == "" || f.Description == "" {
				t.Errorf("%s input %s lacks a label or description", key, f.Name)
			}
		}
		for _, f := range a.Outputs {
			out = append(out, f.Name)
		}
		if diff := cmp.Diff(io[0], in); diff != "" {
			t.Errorf("%s inputs (-want +got):\n%s", key, diff)
		}
		if diff := cmp.Diff(io[1], out); diff != "" {
			t.Errorf("%s outputs (-want +got):\n%s", key, diff)
		}
	}
}

// TestCheckReadsUnexpandedCoupon covers a promotion code whose coupon comes
// back as an ID (a proxy or an API version that ignores the expansion):
// the check reads the coupon itself.
func TestCheckReadsUnexpandedCoupon(t *testing.T) {
	t.Parallel()
	fake := stripetest.NewServer(stripetest.Options{RateLimit: -1})
	strip := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("expand[]")
		r.URL.RawQuery = q.Encode()
		fake.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(strip)
	t.Cleanup(ts.Close)
	a := &Provider{c: NewClient(ts.URL, ts.Client()), keys: testKeys, mint: minter{secret: testSecret}, now: time.Now}
	ex := &actions.Execution{CallbackID: "ap-unexpanded", PortalID: portalOK}
	got, err := a.check(context.Background(), ex, checkIn{Code: "TENOFF"})
	want := checkOut{Found: true, Active: true, TimesRedeemed: "3", MaxRedemptions: "100", AmountOff: "10.00", Currency: "USD"}
	if err != nil || got != want {
		t.Errorf("check(TENOFF) = %+v, %v, want %+v", got, err, want)
	}
	if fake.Count(http.MethodGet, "/v1/coupons/fixture_10usd") != 1 {
		t.Errorf("the coupon was not read")
	}
}

// TestCreateIgnoresHiddenStaleInputs: a marketer who first chose a fixed
// amount for 3 months, then switched to a percentage once, leaves values
// HubSpot no longer shows; they must not fail (or shape) the discount.
func TestCreateIgnoresHiddenStaleInputs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	got := e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-stale-1", map[string]any{
		InDiscountType: "percent", InPercentOff: "15", InAmountOff: "10,50", InCurrency: "euro",
		InDuration: "once", InDurationInMonths: 3,
	}))
	if got[actions.OutputState] != actions.StateSuccess {
		t.Fatalf("percent with a stale amount = %v, want SUCCESS", got)
	}
	if want := e.app.mint.couponID(portalOK, terms{percentOff: 15, duration: "once"}); got[OutCouponID] != want {
		t.Errorf("coupon_id = %q, want the 15%% once coupon %q", got[OutCouponID], want)
	}
	if c := e.posts("/v1/coupons"); len(c) != 1 || c[0].Form.Get("amount_off") != "" || c[0].Form.Get("currency") != "" || c[0].Form.Get("duration_in_months") != "" {
		t.Errorf("coupons posted = %v, want one percent coupon without the hidden inputs", c)
	}
	// Shown again (amount), the same stale values are checked and named.
	got = e.h.Execute(t, ActionCreatePromotionCode, request(portalOK, "ap-stale-2", map[string]any{
		InDiscountType: "amount", InAmountOff: "10", InCurrency: "euro", InPercentOff: "15",
	}))
	if got[actions.OutputErrorCode] != string(actions.CodeValidation) || !strings.HasPrefix(got[actions.OutputErrorMsg], InCurrency+": ") {
		t.Errorf("amount with currency euro = %v, want VALIDATION_FAILED naming %s (the hidden percent_off ignored)", got, InCurrency)
	}
}
