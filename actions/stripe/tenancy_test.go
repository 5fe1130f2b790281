package stripe

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/stripe/stripetest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// The shared-key tests' portals and keys. stripetest keeps one account
// whatever the key, so every key below sees every object: what tells the
// portals apart is the app's marker alone.
const (
	sharedKey   = "sk_test_app_shared"
	portalA     = 7200001 // allowed to use the app's key
	portalB     = 7200002 // allowed too
	portalC     = 7200003 // not on STRIPE_APP_KEY_PORTALS
	portalOwn   = 7200004 // allowed, but entered its own key
	portalOwnIn = "sk_test_portal_own_d"
)

type sharedEnv struct {
	h    *actionstest.Harness
	fake *stripetest.Server
	p    *Provider
}

// newSharedEnv builds the provider as cmd does, from a Config and a store
// that seals keys: A, B and the own-key portal may use the app's key,
// quota executions a day each (0: no limit).
func newSharedEnv(t *testing.T, quota int64) sharedEnv {
	t.Helper()
	fake, base := stripetest.Start(t, stripetest.Options{RateLimit: -1})
	db, err := store.Open(context.Background(), storetest.URL(t), store.WithKeys(bytes.Repeat([]byte{5}, 32), nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := Config{SecretKey: sharedKey, BaseURL: base, AppKeyDailyQuota: quota,
		AppKeyPortals: fmt.Sprintf("%d,%d,%d", portalA, portalB, portalOwn)}
	p, err := New(cfg, actions.Deps{DB: db, PublicBaseURL: "https://app.example",
		HTTPClient: func(string, time.Duration) *http.Client { return &http.Client{Timeout: 10 * time.Second} },
		AppSecret:  func(context.Context, string) ([]byte, error) { return testSecret, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Keys().Save(context.Background(), portalOwn, portalOwnIn); err != nil {
		t.Fatal(err)
	}
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := p.Register(r); err != nil {
			t.Fatal(err)
		}
	}, actionstest.Options{Config: actions.Config{InlineBudget: 5 * time.Second, MaxAttempts: 2}})
	return sharedEnv{h: h, fake: fake, p: p}
}

func (e sharedEnv) create(t *testing.T, portal int64, callbackID string, inputs map[string]any) map[string]string {
	t.Helper()
	got := e.h.Run(t, ActionCreatePromotionCode, request(portal, callbackID, inputs), 30*time.Second)
	if got[actions.OutputState] != actions.StateSuccess {
		t.Fatalf("portal %d create %s = %v, want SUCCESS", portal, callbackID, got)
	}
	return got
}

func (e sharedEnv) check(t *testing.T, portal int64, callbackID, code string) map[string]string {
	t.Helper()
	got := e.h.Run(t, ActionCheckPromotionCode, request(portal, callbackID, map[string]any{InCode: code}), 30*time.Second)
	if got[actions.OutputState] != actions.StateSuccess {
		t.Fatalf("portal %d check %s = %v, want SUCCESS", portal, code, got)
	}
	return got
}

// restrictedTo returns the customer the promotion code code is limited to.
func (e sharedEnv) restrictedTo(t *testing.T, code string) stripetest.Customer {
	t.Helper()
	var id string
	for _, pc := range e.fake.PromotionCodes() {
		if pc.Code == code {
			id = pc.Customer
		}
	}
	for _, c := range e.fake.Customers() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("code %s is restricted to no known customer (%q)", code, id)
	return stripetest.Customer{}
}

// TestSharedKeyIsolation runs both Stripe actions for two portals sharing
// the app's key: neither finds, reuses or learns of the other's codes,
// customers or coupons, nor of the operator's own objects.
func TestSharedKeyIsolation(t *testing.T) {
	t.Parallel()
	e := newSharedEnv(t, 0)
	terms := map[string]any{InDiscountType: "percent", InPercentOff: "100", InDuration: "forever", InCustomerEmail: "jane@example.com"}

	a := e.create(t, portalA, "ap-shared-a", terms)
	// A's customer is its own: not the operator's jane@example.com.
	custA := e.restrictedTo(t, a[OutCode])
	if custA.ID == "cus_fixture_jane" || custA.Metadata["hubspot_portal_id"] != "7200001" {
		t.Errorf("A's code is restricted to %+v, want a customer made for A", custA)
	}
	// B: same terms, same email: its own coupon and customer.
	b := e.create(t, portalB, "ap-shared-b", terms)
	custB := e.restrictedTo(t, b[OutCode])
	if b[OutCouponID] == a[OutCouponID] {
		t.Errorf("A and B share the coupon %s", a[OutCouponID])
	}
	if custB.ID == custA.ID || custB.ID == "cus_fixture_jane" || custB.Metadata["hubspot_portal_id"] != "7200002" {
		t.Errorf("B's code is restricted to %+v (A's customer %s), want a customer made for B", custB, custA.ID)
	}
	// A again reuses its own coupon and customer.
	a2 := e.create(t, portalA, "ap-shared-a2", terms)
	if a2[OutCouponID] != a[OutCouponID] || e.restrictedTo(t, a2[OutCode]).ID != custA.ID {
		t.Errorf("A's second code: coupon %s customer %s, want A's %s and %s", a2[OutCouponID], e.restrictedTo(t, a2[OutCode]).ID, a[OutCouponID], custA.ID)
	}
	for _, c := range e.fake.Coupons() {
		if strings.HasPrefix(c.ID, "hubspot_") && c.Metadata["hubspot_portal_id"] == "" {
			t.Errorf("coupon %s carries no portal marker", c.ID)
		}
	}

	// Checks: each portal finds its own code only; B learns nothing of A's.
	if got := e.check(t, portalA, "ap-check-a", a[OutCode]); got[OutFound] != "true" || got[OutPercentOff] != "100" {
		t.Errorf("A checks its code: %v", got)
	}
	empty := map[string]string{OutFound: "false", OutActive: "false", OutPercentOff: "", OutAmountOff: "", OutTimesRedeemed: "", OutMaxRedemptions: "", OutExpiresAt: "", OutCurrency: ""}
	for i, code := range []string{a[OutCode], strings.ToLower(a2[OutCode]), "WELCOME10", "TENOFF"} {
		got := e.check(t, portalB, fmt.Sprintf("ap-check-b-%d", i), code)
		for k, v := range empty {
			if got[k] != v {
				t.Errorf("B checks %s (A's or the operator's): %s = %q, want %q", code, k, got[k], v)
			}
		}
	}

	// No Idempotency-Key is used by two portals.
	seen := map[string]string{}
	for _, r := range e.fake.Requests() {
		k := r.Header.Get("Idempotency-Key")
		if k == "" {
			continue
		}
		portal := r.Form.Get("metadata[hubspot_portal_id]")
		if p, ok := seen[k]; ok && p != portal {
			t.Errorf("Idempotency-Key %s used for portals %s and %s", k, p, portal)
		}
		seen[k] = portal
	}
}

// TestOwnKeySeesNoOtherPortal: with its own key a portal still finds the
// merchant's own codes and customers (unmarked), but never an object the
// app made for another portal, even when both keys reach one account.
func TestOwnKeySeesNoOtherPortal(t *testing.T) {
	t.Parallel()
	e := newSharedEnv(t, 1)
	a := e.create(t, portalA, "ap-own-a", map[string]any{InDiscountType: "percent", InPercentOff: "20", InCustomerEmail: "jane@example.com"})
	custA := e.restrictedTo(t, a[OutCode])

	if got := e.check(t, portalOwn, "ap-own-check-a", a[OutCode]); got[OutFound] != "false" {
		t.Errorf("own key checks A's code: %v, want found=false", got)
	}
	if got := e.check(t, portalOwn, "ap-own-check-w", "WELCOME10"); got[OutFound] != "true" {
		t.Errorf("own key checks the merchant's WELCOME10: %v, want found", got)
	}
	// jane@example.com: A's customer is the newest, but not D's to use; the
	// merchant's own one is.
	d := e.create(t, portalOwn, "ap-own-d", map[string]any{InDiscountType: "percent", InPercentOff: "20", InCustomerEmail: "jane@example.com"})
	if got := e.restrictedTo(t, d[OutCode]); got.ID != "cus_fixture_jane" || got.ID == custA.ID {
		t.Errorf("own key's code restricted to %s, want the merchant's cus_fixture_jane (not A's %s)", got.ID, custA.ID)
	}
	if d[OutCouponID] == a[OutCouponID] {
		t.Errorf("own-key portal shares A's coupon %s", a[OutCouponID])
	}
	// The quota of one does not apply to a portal's own key.
	for i := range 3 {
		e.create(t, portalOwn, fmt.Sprintf("ap-own-more-%d", i), map[string]any{InDiscountType: "percent", InPercentOff: "20"})
	}
	for _, r := range e.fake.Requests() {
		if auth := r.Header.Get("Authorization"); strings.Contains(r.Form.Get("metadata[hubspot_portal_id]"), "7200004") && auth != "Bearer "+portalOwnIn {
			t.Errorf("portal D's request %s %s sent with %q, want its own key", r.Method, r.Path, auth)
		}
	}
}

// TestSharedKeyAccess: a portal not allowed gets NOT_CONNECTED from every
// Stripe action, and an allowed one RATE_LIMITED once its daily quota is
// used up, whichever action spent it; neither sends anything to Stripe.
func TestSharedKeyAccess(t *testing.T) {
	t.Parallel()
	e := newSharedEnv(t, 2)
	run := func(portal int64, action, callbackID string) map[string]string {
		inputs := map[string]any{InDiscountType: "percent", InPercentOff: "10"}
		if action == ActionCheckPromotionCode {
			inputs = map[string]any{InCode: "WELCOME10"}
		}
		return e.h.Run(t, action, request(portal, callbackID, inputs), 30*time.Second)
	}
	actionKeys := []string{ActionCreatePromotionCode, ActionCheckPromotionCode}
	for _, action := range actionKeys {
		got := run(portalC, action, "ap-c-"+action)
		msg := got[actions.OutputErrorMsg]
		if got[actions.OutputErrorCode] != string(actions.CodeNotConnected) || !strings.Contains(msg, "shared Stripe key is not available") ||
			!strings.Contains(msg, "own Stripe API key") || !strings.Contains(msg, "https://app.example/settings") {
			t.Errorf("%s for a portal not allowed = %v, want NOT_CONNECTED telling the admin to enter a key", action, got)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests reached Stripe for a portal not allowed", n)
	}
	// actionKeys covers every action the provider registers.
	for _, a := range e.h.Registry.All() {
		if a.Key != ActionCreatePromotionCode && a.Key != ActionCheckPromotionCode {
			t.Errorf("action %s is not run by the shared-key tests", a.Key)
		}
	}
	// A spends its two on one of each action; B's quota is its own.
	for _, action := range actionKeys {
		if got := run(portalA, action, "ap-qa-"+action); got[actions.OutputState] != actions.StateSuccess {
			t.Fatalf("A %s within quota = %v", action, got)
		}
	}
	before := len(e.fake.Requests())
	for _, action := range actionKeys {
		got := run(portalA, action, "ap-qa-over-"+action)
		msg := got[actions.OutputErrorMsg]
		if got[actions.OutputErrorCode] != string(actions.CodeRateLimited) || !strings.Contains(msg, "2 actions a day") ||
			!strings.Contains(msg, "own Stripe API key") || !strings.Contains(msg, "https://app.example/settings") {
			t.Errorf("A %s over quota = %v, want RATE_LIMITED saying the admin can enter the account's own key", action, got)
		}
	}
	if n := len(e.fake.Requests()) - before; n != 0 {
		t.Errorf("%d requests reached Stripe over the quota, want none", n)
	}
	if got := run(portalB, ActionCreatePromotionCode, "ap-qb"); got[actions.OutputState] != actions.StateSuccess {
		t.Errorf("B within its own quota = %v", got)
	}
}

func TestVisible(t *testing.T) {
	t.Parallel()
	shared, own := actions.SharedKey("sk"), actions.OwnKey("sk")
	tests := []struct {
		name string
		key  actions.Key
		md   map[string]string
		want bool
	}{
		{"shared key, marked for the portal", shared, map[string]string{"hubspot_portal_id": "5"}, true},
		{"shared key, marked for another portal", shared, map[string]string{"hubspot_portal_id": "6"}, false},
		{"shared key, unmarked (the operator's)", shared, nil, false},
		{"own key, marked for the portal", own, map[string]string{"hubspot_portal_id": "5"}, true},
		{"own key, marked for another portal", own, map[string]string{"hubspot_portal_id": "55"}, false},
		{"own key, unmarked (the merchant's)", own, map[string]string{"campaign": "x"}, true},
	}
	for _, tt := range tests {
		if got := visible(tt.key, 5, tt.md); got != tt.want {
			t.Errorf("%s: visible() = %v, want %v", tt.name, got, tt.want)
		}
	}
	a := &actions.Execution{CallbackID: "cb-1", PortalID: 5}
	b := &actions.Execution{CallbackID: "cb-1", PortalID: 6}
	if idempotencyKey(a, "stripe-coupon") == idempotencyKey(b, "stripe-coupon") || retryKey(a, "x") == retryKey(b, "x") {
		t.Errorf("two portals' executions with one callbackId share an Idempotency-Key")
	}
}

func TestConfigAppKeySettings(t *testing.T) {
	t.Parallel()
	err := Config{BaseURL: DefaultBaseURL, AppKeyPortals: "12,x", AppKeyDailyQuota: -1}.Validate()
	for _, want := range []string{"STRIPE_APP_KEY_PORTALS", "STRIPE_APP_KEY_DAILY_QUOTA"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want an error naming %s", err, want)
		}
	}
}

// TestNewWarnsWhenNoPortalAllowed: an operator who upgrades with
// STRIPE_SECRET_KEY set and no allow-list is told at start-up, without
// the key.
func TestNewWarnsWhenNoPortalAllowed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		portals string
		warn    bool
	}{{"", true}, {"7200001", false}} {
		var logs bytes.Buffer
		_, err := New(Config{SecretKey: sharedKey, BaseURL: DefaultBaseURL, AppKeyPortals: tt.portals, AppKeyDailyQuota: 100},
			actions.Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "STRIPE_APP_KEY_PORTALS allows no portal"); got != tt.warn {
			t.Errorf("portals %q: warned = %v, want %v; logs: %s", tt.portals, got, tt.warn, logs.String())
		}
		if strings.Contains(logs.String(), sharedKey) {
			t.Errorf("logs show the key: %s", logs.String())
		}
	}
}
