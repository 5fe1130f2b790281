package stripetest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions/stripe/stripetest"
)

const key = "sk_test_fake"

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) err() map[string]any {
	e, _ := a.body["error"].(map[string]any)
	return e
}

// call sends one request to base. form is the body of a POST or the query
// of a GET; hdr adds headers (Idempotency-Key, Stripe-Version, …).
func call(t *testing.T, base, method, path, apiKey string, form url.Values, hdr map[string]string) answer {
	t.Helper()
	u := base + path
	var body *strings.Reader
	if method == http.MethodGet {
		if len(form) > 0 {
			u += "?" + form.Encode()
		}
		body = strings.NewReader("")
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if _, ok := hdr["Stripe-Version"]; !ok {
		req.Header.Set("Stripe-Version", stripetest.APIVersion)
	}
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: m}
}

func couponForm(id string) url.Values {
	return url.Values{"id": {id}, "percent_off": {"15"}, "duration": {"once"}}
}

func promoForm(coupon, code string) url.Values {
	return url.Values{"promotion[type]": {"coupon"}, "promotion[coupon]": {coupon}, "code": {code}}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	fake, base := stripetest.Start(t, stripetest.Options{})
	idem := map[string]string{"Idempotency-Key": "k1"}

	first := call(t, base, "POST", "/v1/coupons", key, couponForm("c1"), idem)
	if first.status != 200 || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first = %d %v", first.status, first.body)
	}
	again := call(t, base, "POST", "/v1/coupons", key, couponForm("c1"), idem)
	if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || again.body["created"] != first.body["created"] {
		t.Errorf("replay = %d %v %v, want the first answer replayed", again.status, again.header, again.body)
	}
	if n := len(fake.Coupons()); n != 7 { // 6 fixtures + c1
		t.Errorf("coupons = %d, want 7", n)
	}
	// Same key, other parameters.
	mismatch := call(t, base, "POST", "/v1/coupons", key, couponForm("c2"), idem)
	if mismatch.status != 400 || mismatch.err()["type"] != "idempotency_error" {
		t.Errorf("mismatch = %d %v, want 400 idempotency_error", mismatch.status, mismatch.body)
	}
	// Keys are scoped per API key.
	other := call(t, base, "POST", "/v1/coupons", "sk_test_other", couponForm("c2"), idem)
	if other.status != 200 {
		t.Errorf("same key for another account = %d %v", other.status, other.body)
	}
	// Validation failures are not saved: a corrected retry succeeds.
	bad := call(t, base, "POST", "/v1/coupons", key, url.Values{"id": {"c3"}, "percent_off": {"150"}}, map[string]string{"Idempotency-Key": "k3"})
	if bad.status != 400 || bad.err()["param"] != "percent_off" {
		t.Errorf("bad = %d %v", bad.status, bad.body)
	}
	fixed := call(t, base, "POST", "/v1/coupons", key, url.Values{"id": {"c3"}, "percent_off": {"15"}}, map[string]string{"Idempotency-Key": "k3"})
	if fixed.status != 200 {
		t.Errorf("corrected retry = %d %v", fixed.status, fixed.body)
	}
	// Execution errors are saved and replayed, 500s included.
	fake.Inject(stripetest.Fault{Method: "POST", Path: "/v1/coupons", Status: 500, Saved: true})
	boom := call(t, base, "POST", "/v1/coupons", key, couponForm("c4"), map[string]string{"Idempotency-Key": "k4"})
	replay := call(t, base, "POST", "/v1/coupons", key, couponForm("c4"), map[string]string{"Idempotency-Key": "k4"})
	if boom.status != 500 || replay.status != 500 || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("500 then replay = %d, %d %v", boom.status, replay.status, replay.header)
	}
	fresh := call(t, base, "POST", "/v1/coupons", key, couponForm("c4"), map[string]string{"Idempotency-Key": "k5"})
	if fresh.status != 200 {
		t.Errorf("new key after a saved 500 = %d %v", fresh.status, fresh.body)
	}
	long := call(t, base, "POST", "/v1/coupons", key, couponForm("c6"), map[string]string{"Idempotency-Key": strings.Repeat("k", 256)})
	if long.status != 400 {
		t.Errorf("256-character key = %d", long.status)
	}
}

func TestConcurrentSameKeyIs409(t *testing.T) {
	t.Parallel()
	fake, base := stripetest.Start(t, stripetest.Options{})
	arrived, release := fake.Hold("POST", "/v1/coupons")
	idem := map[string]string{"Idempotency-Key": "k"}
	var first answer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = call(t, base, "POST", "/v1/coupons", key, couponForm("held"), idem)
	}()
	<-arrived
	second := call(t, base, "POST", "/v1/coupons", key, couponForm("held"), idem)
	release()
	wg.Wait()
	if second.status != 409 || second.err()["code"] != "idempotency_key_in_use" {
		t.Errorf("concurrent = %d %v, want 409 idempotency_key_in_use", second.status, second.body)
	}
	if first.status != 200 {
		t.Errorf("held request = %d %v", first.status, first.body)
	}
	if third := call(t, base, "POST", "/v1/coupons", key, couponForm("held"), idem); third.status != 200 || third.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("after it finished = %d %v", third.status, third.header)
	}
}

func TestPromotionCodes(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	fake, base := stripetest.Start(t, stripetest.Options{Now: func() time.Time { return now }})
	call(t, base, "POST", "/v1/coupons", key, couponForm("c"), nil)

	created := call(t, base, "POST", "/v1/promotion_codes", key, promoForm("c", "Spring1"), nil)
	if created.status != 200 {
		t.Fatalf("create = %d %v", created.status, created.body)
	}
	promotion := created.body["promotion"].(map[string]any)
	if promotion["coupon"] != "c" || promotion["type"] != "coupon" || created.body["expires_at"] != nil {
		t.Errorf("created = %v", created.body)
	}
	dup := call(t, base, "POST", "/v1/promotion_codes", key, promoForm("c", "SPRING1"), nil)
	if dup.status != 400 || dup.err()["param"] != "code" || dup.err()["code"] != "resource_already_exists" {
		t.Errorf("duplicate (other case) = %d %v", dup.status, dup.body)
	}
	jane := fake.AddCustomer("jane2@example.com")
	forJane := promoForm("c", "SPRING1")
	forJane.Set("customer", jane.ID)
	if r := call(t, base, "POST", "/v1/promotion_codes", key, forJane, nil); r.status != 200 {
		t.Errorf("same code for a customer = %d %v, want 200 (unique per customer)", r.status, r.body)
	}
	list := call(t, base, "GET", "/v1/promotion_codes", key, url.Values{"code": {"spring1"}, "expand[]": {"data.promotion.coupon"}}, nil)
	data := list.body["data"].([]any)
	if len(data) != 2 {
		t.Fatalf("list by code = %v", list.body)
	}
	newest := data[0].(map[string]any)
	if newest["customer"] != jane.ID {
		t.Errorf("list is not newest first: %v", newest)
	}
	if cp, ok := newest["promotion"].(map[string]any)["coupon"].(map[string]any); !ok || cp["percent_off"] != 15.0 || cp["valid"] != true {
		t.Errorf("expanded coupon = %v", newest["promotion"])
	}

	tests := []struct {
		name  string
		form  url.Values
		param string
		code  string
	}{
		{"missing coupon", promoForm("nope", "X1"), "promotion[coupon]", "resource_missing"},
		{"old top-level coupon", url.Values{"coupon": {"c"}, "code": {"X2"}}, "coupon", ""},
		{"bad characters", promoForm("c", "NO SPACES"), "code", ""},
		{"past expiry", func() url.Values { f := promoForm("c", "X3"); f.Set("expires_at", "1700000000"); return f }(), "expires_at", ""},
		{"unknown customer", func() url.Values { f := promoForm("c", "X4"); f.Set("customer", "cus_nope"); return f }(), "customer", "resource_missing"},
		{"zero max", func() url.Values { f := promoForm("c", "X5"); f.Set("max_redemptions", "0"); return f }(), "max_redemptions", ""},
		{"ill-typed", func() url.Values { f := promoForm("c", "X6"); f.Set("max_redemptions", "one"); return f }(), "max_redemptions", ""},
		{"unknown expand", func() url.Values { f := promoForm("c", "X7"); f.Set("expand[]", "bogus"); return f }(), "expand[]", ""},
	}
	for _, tt := range tests {
		r := call(t, base, "POST", "/v1/promotion_codes", key, tt.form, nil)
		if r.status != 400 || r.err()["param"] != tt.param || (tt.code != "" && r.err()["code"] != tt.code) || r.err()["message"] == "" {
			t.Errorf("%s: %d %v, want 400 on %s", tt.name, r.status, r.body, tt.param)
		}
	}

	// Accounts default to an old API version, where a promotion code takes
	// a top-level coupon and embeds the coupon object.
	old := call(t, base, "POST", "/v1/promotion_codes", key, url.Values{"coupon": {"c"}, "code": {"OLD1"}}, map[string]string{"Stripe-Version": ""})
	if old.status != 200 || old.body["coupon"].(map[string]any)["id"] != "c" || old.body["promotion"] != nil {
		t.Errorf("old version create = %d %v", old.status, old.body)
	}
	newShapeOnOld := call(t, base, "POST", "/v1/promotion_codes", key, promoForm("c", "OLD2"), map[string]string{"Stripe-Version": ""})
	if newShapeOnOld.status != 400 || !strings.Contains(newShapeOnOld.err()["message"].(string), "unknown parameter: promotion") {
		t.Errorf("promotion[...] on the old default version = %d %v", newShapeOnOld.status, newShapeOnOld.body)
	}
	if r := call(t, base, "GET", "/v1/coupons", key, nil, map[string]string{"Stripe-Version": "1999-01-01"}); r.status != 400 {
		t.Errorf("unknown version = %d", r.status)
	}
}

func TestRedeemAndState(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	fake, base := stripetest.Start(t, stripetest.Options{Now: func() time.Time { return now }})
	if err := fake.Redeem("welcome10"); err != nil {
		t.Errorf("Redeem(WELCOME10) = %v", err)
	}
	if err := fake.Redeem("USEDUP"); err == nil {
		t.Errorf("Redeem(USEDUP) succeeded")
	}
	if err := fake.Redeem("EXPIRED20"); err == nil {
		t.Errorf("Redeem(EXPIRED20) succeeded")
	}
	if err := fake.Redeem("PAUSED"); err == nil {
		t.Errorf("Redeem(PAUSED) succeeded")
	}
	r := call(t, base, "GET", "/v1/promotion_codes", key, url.Values{"code": {"WELCOME10"}}, nil)
	if pc := r.body["data"].([]any)[0].(map[string]any); pc["times_redeemed"] != 1.0 {
		t.Errorf("after Redeem: %v", pc)
	}
	if err := fake.SetActive("welcome10", false); err != nil {
		t.Fatal(err)
	}
	r = call(t, base, "GET", "/v1/promotion_codes", key, url.Values{"code": {"WELCOME10"}, "active": {"true"}}, nil)
	if n := len(r.body["data"].([]any)); n != 0 {
		t.Errorf("active=true after SetActive(false): %d codes", n)
	}
	// Deleted coupons disappear and their codes' coupon is no longer valid.
	if r := call(t, base, "DELETE", "/v1/coupons/fixture_10usd", key, nil, nil); r.status != 200 || r.body["deleted"] != true {
		t.Errorf("delete = %d %v", r.status, r.body)
	}
	if r := call(t, base, "GET", "/v1/coupons/fixture_10usd", key, nil, nil); r.status != 404 || r.err()["code"] != "resource_missing" {
		t.Errorf("get deleted = %d %v", r.status, r.body)
	}
	r = call(t, base, "GET", "/v1/promotion_codes", key, url.Values{"code": {"TENOFF"}, "expand[]": {"data.promotion.coupon"}}, nil)
	cp := r.body["data"].([]any)[0].(map[string]any)["promotion"].(map[string]any)["coupon"].(map[string]any)
	if cp["valid"] != false {
		t.Errorf("coupon of a deleted coupon's code = %v, want valid false", cp)
	}
}

func TestAuthMagicAndLimits(t *testing.T) {
	t.Parallel()
	_, base := stripetest.Start(t, stripetest.Options{RateLimit: 3})
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		form   url.Values
		status int
		retry  string
	}{
		{"no key", "GET", "/v1/coupons", "", nil, 401, ""},
		{"invalid key", "GET", "/v1/coupons", stripetest.KeyInvalid, nil, 401, ""},
		{"live key", "GET", "/v1/coupons", "sk_live_abc", nil, 401, ""},
		{"read-only key writes", "POST", "/v1/coupons", stripetest.KeyReadOnly, couponForm("ro"), 403, ""},
		{"read-only key reads", "GET", "/v1/coupons", stripetest.KeyReadOnly, nil, 200, ""},
		{"rate limit magic", "POST", "/v1/promotion_codes", "sk_test_m1", promoForm("fixture_10pct", "RATELIMITX"), 429, "1"},
		{"rate limit magic on list", "GET", "/v1/promotion_codes", "sk_test_m1", url.Values{"code": {"ratelimit1"}}, 429, "1"},
		{"unavailable magic", "POST", "/v1/promotion_codes", "sk_test_m2", promoForm("fixture_10pct", "UNAVAILABLEX"), 503, ""},
		{"blocked customer", "POST", "/v1/customers", "sk_test_m2", url.Values{"email": {"x@blocked.example"}}, 402, ""},
		{"unknown route", "GET", "/v1/charges", "sk_test_m3", nil, 404, ""},
		{"unknown list param", "GET", "/v1/customers", "sk_test_m3", url.Values{"emial": {"x"}}, 400, ""},
	}
	for _, tt := range tests {
		r := call(t, base, tt.method, tt.path, tt.key, tt.form, nil)
		if r.status != tt.status || r.header.Get("Retry-After") != tt.retry || r.err() == nil && tt.status != 200 {
			t.Errorf("%s: %d %v %v, want %d", tt.name, r.status, r.header.Get("Retry-After"), r.body, tt.status)
		}
	}
	// 3 requests a second per key: the fourth in a burst is refused.
	var statuses []int
	for range 4 {
		statuses = append(statuses, call(t, base, "GET", "/v1/coupons", "sk_test_burst", nil, nil).status)
	}
	if statuses[3] != 429 || statuses[0] != 200 {
		t.Errorf("burst statuses = %v, want the 4th to be 429", statuses)
	}
}

func TestFlakyFailsOncePerCode(t *testing.T) {
	t.Parallel()
	_, base := stripetest.Start(t, stripetest.Options{})
	form := promoForm("fixture_10pct", "FLAKY123")
	first := call(t, base, "POST", "/v1/promotion_codes", key, form, map[string]string{"Idempotency-Key": "a"})
	replay := call(t, base, "POST", "/v1/promotion_codes", key, form, map[string]string{"Idempotency-Key": "a"})
	fresh := call(t, base, "POST", "/v1/promotion_codes", key, form, map[string]string{"Idempotency-Key": "b"})
	if first.status != 500 || replay.status != 500 || replay.header.Get("Idempotent-Replayed") != "true" || fresh.status != 200 {
		t.Errorf("FLAKY: %d, replay %d, new key %d; want 500, replayed 500, 200", first.status, replay.status, fresh.status)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	fake, base := stripetest.Start(t, stripetest.Options{NoFixtures: true, RateLimit: -1})
	for range 5 {
		fake.AddCustomer("same@example.com")
	}
	first := call(t, base, "GET", "/v1/customers", key, url.Values{"email": {"same@example.com"}, "limit": {"2"}}, nil)
	data := first.body["data"].([]any)
	if len(data) != 2 || first.body["has_more"] != true {
		t.Fatalf("first page = %v", first.body)
	}
	last := data[1].(map[string]any)["id"].(string)
	next := call(t, base, "GET", "/v1/customers", key, url.Values{"email": {"same@example.com"}, "limit": {"10"}, "starting_after": {last}}, nil)
	if n := len(next.body["data"].([]any)); n != 3 || next.body["has_more"] != false {
		t.Errorf("second page = %d items, has_more %v", n, next.body["has_more"])
	}
	if r := call(t, base, "GET", "/v1/customers", key, url.Values{"limit": {"101"}}, nil); r.status != 400 {
		t.Errorf("limit 101 = %d", r.status)
	}
}
