package shopify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/shopify"
	"hubspot-actions/actions/shopify/shopifytest"
	"hubspot-actions/store"
)

// TestTwinAnswersWithoutRealTokens: the test-mode twin looks customers up
// and creates discount codes in its fake, with shopifytest.TestModeToken
// for a shop of the portal's own, for a portal that connected nothing and
// for one that connected a real shop: that shop and its token are never
// sent, its row is neither read for a call nor marked nor deleted, the
// app's own code secret is never asked for, and the live base URL is
// never called.
func TestTwinAnswersWithoutRealTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const (
		connected, nothing   = 7600001, 7600002
		realToken, realShop  = "shpat_real_shop_token", "real-shop.myshopify.com"
		realSecret, clientID = "real-shopify-secret", "real-shopify-client"
	)
	db := actionstest.SealedDB(t, 9)
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.SaveToken(ctx, store.Token{PortalID: connected, Provider: shopify.ID, AccountID: realShop, AccountName: realShop, AccessToken: realToken})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tokensUnchanged := actionstest.Unchanged(t, "stored tokens", func() ([]store.Token, error) { return db.ListTokens(ctx, shopify.ID) })
	live := &shopify.Config{ClientID: clientID, ClientSecret: realSecret, APIBaseURL: actionstest.Unreachable(t, "Shopify")}
	deps := actionstest.TwinDeps(db, 10*time.Second)
	deps.AppSecret = actionstest.ForbidAppSecret(t)
	twin, handler, h := actionstest.Twin(t, shopify.Module(), live, deps)
	fake := handler.(*shopifytest.Fake)
	for _, portal := range []int64{connected, nothing} {
		got := h.Run(t, shopify.ActionLookupCustomer, actionstest.NewRequest(portal, "CONTACT",
			map[string]any{shopify.InEmail: shopifytest.SandboxCustomerEmail}, nil), 30*time.Second)
		if got[actions.OutputState] != actions.StateSuccess || got[shopify.OutFound] != "true" {
			t.Errorf("twin lookup for portal %d = %v, want SUCCESS, found", portal, got)
		}
		got = h.Run(t, shopify.ActionCreateDiscountCode, actionstest.NewRequest(portal, "CONTACT",
			map[string]any{shopify.InDiscountType: "percent", shopify.InPercentOff: "10"}, nil), 30*time.Second)
		if got[actions.OutputState] != actions.StateSuccess || got[shopify.OutCode] == "" {
			t.Errorf("twin create for portal %d = %v, want SUCCESS with a code", portal, got)
		}
		// Each portal's codes are in a shop of its own.
		if n := len(fake.Discounts(shopify.TestShop(portal))); n != 1 {
			t.Errorf("portal %d's test shop holds %d discounts, want 1", portal, n)
		}
	}
	if n := len(fake.Discounts(realShop)); n != 0 {
		t.Errorf("the real shop's name got %d discounts in the fake, want none", n)
	}
	reqs := fake.Requests()
	if len(reqs) == 0 {
		t.Fatal("the test fake received no request")
	}
	for _, r := range reqs {
		if r.Path != shopifytest.GraphQLPath {
			t.Errorf("the twin called %s %s: it only calls the Admin API", r.Method, r.Path)
		}
		if r.Token != shopifytest.TestModeToken || strings.Contains(r.Token, realToken) {
			t.Errorf("test fake request %s %s: token %q, want the test-mode token", r.Method, r.Op, r.Token)
		}
		if r.Shop == realShop || !strings.HasPrefix(r.Shop, "test-mode-") {
			t.Errorf("test fake request %s %s named shop %q, want a test shop", r.Method, r.Op, r.Shop)
		}
	}
	tokensUnchanged()
	actionstest.DisconnectNoop(t, twin, connected)
	tokensUnchanged()
	actionstest.WantTestCard(t, twin, connected)
}
