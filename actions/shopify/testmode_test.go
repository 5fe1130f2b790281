package shopify_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/shopify"
	"hubspot-actions/actions/shopify/shopifytest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
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
	db, err := store.Open(ctx, storetest.URL(t), store.WithKeys(bytes.Repeat([]byte{9}, 32), nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.SaveToken(ctx, store.Token{PortalID: connected, Provider: shopify.ID, AccountID: realShop, AccountName: realShop, AccessToken: realToken})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before, err := db.ListTokens(ctx, shopify.ID)
	if err != nil {
		t.Fatal(err)
	}
	live := &shopify.Config{ClientID: clientID, ClientSecret: realSecret, APIBaseURL: actionstest.Unreachable(t, "Shopify")}
	liveBefore := *live
	deps := actions.Deps{DB: db, PublicBaseURL: "https://app.example",
		HTTPClient: func(string, time.Duration) *http.Client { return &http.Client{Timeout: 10 * time.Second} },
		AppSecret: func(context.Context, string) ([]byte, error) {
			t.Errorf("the twin asked for the app's secret")
			return bytes.Repeat([]byte{1}, 32), nil
		}}
	twin, handler := actionstest.TestTwin(t, shopify.Module(), live, deps)
	fake := handler.(*shopifytest.Fake)
	if diff := cmp.Diff(liveBefore, *live); diff != "" {
		t.Errorf("TestFake changed the live configuration (-before +after):\n%s", diff)
	}
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := twin.Register(r); err != nil {
			t.Fatal(err)
		}
	}, actionstest.Options{})
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
	after, err := db.ListTokens(ctx, shopify.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("stored tokens changed (-before +after):\n%s", diff)
	}
	if d, ok := twin.(actions.Disconnector); ok {
		if err := d.Disconnect(ctx, connected); err != nil {
			t.Errorf("twin Disconnect = %v, want nil (nothing to do)", err)
		}
	}
	if after, _ := db.ListTokens(ctx, shopify.ID); len(after) != len(before) {
		t.Errorf("twin Disconnect removed a token: %d left, want %d", len(after), len(before))
	}
	if card, err := twin.Card(ctx, connected); err != nil || card.Status != actions.CardConnected {
		t.Errorf("twin Card = %+v, %v; want the test-mode card", card, err)
	}
}
