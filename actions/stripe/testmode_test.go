package stripe_test

import (
	"context"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/stripe"
	"hubspot-actions/actions/stripe/stripetest"
	"hubspot-actions/store"
)

// TestTwinAnswersWithoutRealKeys: the test-mode twin creates and checks
// promotion codes in a fresh in-process stripetest fake, with
// stripetest.TestModeKey alone, for a portal that entered no key and for
// one that did: neither the portal's key nor the app's is sent, no app-key
// use is counted, the app's own code secret is never asked for, the stored
// key is unchanged, and the live base URL is never called.
func TestTwinAnswersWithoutRealKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const (
		keyed, nothing        = 7300001, 7300002
		portalKey, liveAppKey = "sk_live_portal_real_key", "sk_live_app_real_key"
	)
	db := actionstest.SealedDB(t, 6)
	live := &stripe.Config{SecretKey: liveAppKey, AppKeyPortals: actions.AllPortals, AppKeyDailyQuota: 1,
		BaseURL: actionstest.Unreachable(t, "Stripe")}
	deps := actionstest.TwinDeps(db, 10*time.Second)
	deps.AppSecret = actionstest.ForbidAppSecret(t)
	lp, err := stripe.New(*live, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.Keys().Save(ctx, keyed, portalKey); err != nil {
		t.Fatal(err)
	}
	keyUnchanged := actionstest.Unchanged(t, "stored key", func() (store.APIKey, error) { return db.GetAPIKey(ctx, keyed, stripe.ID) })

	_, handler, h := actionstest.Twin(t, stripe.Module(), live, deps)
	fake := handler.(*stripetest.Server)
	for _, portal := range []int64{keyed, nothing} {
		for i := range 2 { // twice: a quota of one would refuse the second
			req := actionstest.NewRequest(portal, "CONTACT", map[string]any{
				stripe.InDiscountType: stripe.DiscountPercent, stripe.InPercentOff: "15", stripe.InDuration: "once"}, nil)
			got := h.Run(t, stripe.ActionCreatePromotionCode, req, 30*time.Second)
			if got[actions.OutputState] != actions.StateSuccess || got[stripe.OutCode] == "" {
				t.Errorf("twin create #%d for portal %d = %v, want SUCCESS with a code", i, portal, got)
			}
			check := h.Run(t, stripe.ActionCheckPromotionCode, actionstest.NewRequest(portal, "CONTACT", map[string]any{stripe.InCode: "WELCOME10"}, nil), 30*time.Second)
			if check[actions.OutputState] != actions.StateSuccess || check[stripe.OutFound] != "true" {
				t.Errorf("twin check WELCOME10 #%d for portal %d = %v, want SUCCESS, found", i, portal, check)
			}
		}
	}
	reqs := fake.Requests()
	if len(reqs) == 0 {
		t.Fatal("the test fake received no request")
	}
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer "+stripetest.TestModeKey {
			t.Errorf("test fake request %s %s: Authorization = %q, want the test-mode key", r.Method, r.Path, got)
		}
		actionstest.NoSecrets(t, "test fake request "+r.Method+" "+r.Path, r.Header, "", portalKey, liveAppKey)
	}
	keyUnchanged()
	if n, err := db.AppKeyUsed(ctx, stripe.ID, nothing); err != nil || n != 0 {
		t.Errorf("AppKeyUsed(portal without key) = %d, %v; want 0: the twin counts no quota", n, err)
	}
}
