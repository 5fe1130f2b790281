package quickbooks_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// TestTwinAnswersWithoutRealGrants: the test-mode twin finds or creates a
// customer and creates an invoice in its fake's company, with
// quickbookstest.TestModeToken alone, for a portal that connected nothing
// and for one whose real grant has expired: that grant's tokens are never
// sent, it is neither refreshed nor revoked nor marked, its row is
// unchanged, and nothing of the live configuration (API, token and revoke
// URLs) is called.
func TestTwinAnswersWithoutRealGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const (
		connected, nothing        = 7400001, 7400002
		realAccess, realRefresh   = "real-qbo-access-token", "real-qbo-refresh-token"
		realRealm, realClientSecr = "4620816365000000000", "real-qbo-client-secret"
	)
	db, err := store.Open(ctx, storetest.URL(t), store.WithKeys(bytes.Repeat([]byte{7}, 32), nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	trap := actionstest.Unreachable(t, "QuickBooks")
	live := &quickbooks.Config{ClientID: "real-qbo-client", ClientSecret: realClientSecr, Environment: "production",
		APIBaseURL: trap, AuthorizeURL: trap + "/authorize", TokenURL: trap + "/token", RevokeURL: trap + "/revoke"}
	liveBefore := *live
	lcfg := *live
	lcfg.PublicBaseURL = "https://app.example"
	grants := oauth.NewGrants(quickbooks.ID, quickbooks.OAuthConfig(lcfg), db, &http.Client{Timeout: 5 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	expired := &oauth2.Token{AccessToken: realAccess, RefreshToken: realRefresh, Expiry: time.Now().Add(-time.Hour)}
	if err := grants.Save(ctx, connected, expired, realRealm, "Real Company"); err != nil {
		t.Fatal(err)
	}
	before, err := db.ListTokens(ctx, quickbooks.ID)
	if err != nil {
		t.Fatal(err)
	}

	deps := actions.Deps{DB: db, PublicBaseURL: "https://app.example",
		HTTPClient: func(string, time.Duration) *http.Client { return &http.Client{Timeout: 10 * time.Second} }}
	twin, handler := actionstest.TestTwin(t, quickbooks.Module(), live, deps)
	fakes := handler.(*actions.PortalFakes)
	if diff := cmp.Diff(liveBefore, *live); diff != "" {
		t.Errorf("TestFake changed the live configuration (-before +after):\n%s", diff)
	}
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := twin.Register(r); err != nil {
			t.Fatal(err)
		}
	}, actionstest.Options{})
	for _, portal := range []int64{connected, nothing} {
		cu := h.Run(t, quickbooks.KeyFindOrCreateCustomer, actionstest.NewRequest(portal, "CONTACT",
			map[string]any{quickbooks.InEmail: "test-mode@example.com", quickbooks.InDisplayName: "Test Mode"}, nil), 30*time.Second)
		// Each portal has a company of its own: the other's customer
		// with the same email is never found.
		if cu[actions.OutputState] != actions.StateSuccess || cu[quickbooks.OutCustomerID] == "" || cu[quickbooks.OutCreated] != "true" {
			t.Errorf("twin find-or-create for portal %d = %v, want SUCCESS with a customer created in its own company", portal, cu)
		}
		inv := h.Run(t, quickbooks.KeyCreateInvoice, actionstest.NewRequest(portal, "DEAL",
			map[string]any{quickbooks.InItemID: "1", quickbooks.InAmount: "12.50", quickbooks.InCustomerEmail: "test-mode@example.com"}, nil), 30*time.Second)
		if inv[actions.OutputState] != actions.StateSuccess || inv[quickbooks.OutInvoiceID] == "" {
			t.Errorf("twin invoice for portal %d = %v, want SUCCESS with an invoice", portal, inv)
		}
	}
	var reqs []quickbookstest.Request
	for _, portal := range []int64{connected, nothing} {
		fake, ok := fakes.Portal(portal).(*quickbookstest.Server)
		if !ok {
			t.Fatalf("portal %d has no test fake", portal)
		}
		reqs = append(reqs, fake.Requests()...)
	}
	for _, r := range reqs {
		if r.Path == quickbookstest.TokenPath || r.Path == quickbookstest.RevokePath {
			t.Errorf("the twin called %s %s: it never refreshes or revokes", r.Method, r.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+quickbookstest.TestModeToken {
			t.Errorf("test fake request %s %s: Authorization = %q, want the test-mode token", r.Method, r.Path, got)
		}
		if strings.Contains(r.Path, realRealm) {
			t.Errorf("test fake request %s %s names the real company", r.Method, r.Path)
		}
		for _, real := range []string{realAccess, realRefresh, realClientSecr} {
			if strings.Contains(r.Body, real) || strings.Contains(r.Header.Get("Authorization"), real) {
				t.Errorf("test fake request %s %s carries a real credential", r.Method, r.Path)
			}
		}
	}
	after, err := db.ListTokens(ctx, quickbooks.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("stored grants changed (-before +after):\n%s", diff)
	}
	if card, err := twin.Card(ctx, nothing); err != nil || card.Status != actions.CardConnected {
		t.Errorf("twin Card = %+v, %v; want the test-mode card", card, err)
	}
	if d, ok := twin.(actions.Disconnector); ok {
		if err := d.Disconnect(ctx, connected); err != nil {
			t.Errorf("twin Disconnect = %v, want nil (nothing to do)", err)
		}
	}
	if after, _ := db.ListTokens(ctx, quickbooks.ID); len(after) != len(before) {
		t.Errorf("twin Disconnect removed a grant: %d grants left, want %d", len(after), len(before))
	}
}
