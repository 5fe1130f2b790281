package quickbooks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/store"
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
	db := actionstest.SealedDB(t, 7)
	trap := actionstest.Unreachable(t, "QuickBooks")
	live := &quickbooks.Config{ClientID: "real-qbo-client", ClientSecret: realClientSecr, Environment: "production",
		APIBaseURL: trap, AuthorizeURL: trap + "/authorize", TokenURL: trap + "/token", RevokeURL: trap + "/revoke"}
	lcfg := *live
	lcfg.PublicBaseURL = "https://app.example"
	actionstest.SaveExpiredGrant(t, db, quickbooks.ID, quickbooks.OAuthConfig(lcfg), connected, realAccess, realRefresh, realRealm, "Real Company")
	grantsUnchanged := actionstest.Unchanged(t, "stored grants", func() ([]store.Token, error) { return db.ListTokens(ctx, quickbooks.ID) })

	twin, handler, h := actionstest.Twin(t, quickbooks.Module(), live, actionstest.TwinDeps(db, 10*time.Second))
	fakes := handler.(*actions.PortalFakes)
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
		fake := actionstest.PortalFake[*quickbookstest.Server](t, fakes, portal)
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
		actionstest.NoSecrets(t, "test fake request "+r.Method+" "+r.Path, r.Header, r.Body, realAccess, realRefresh, realClientSecr)
	}
	grantsUnchanged()
	actionstest.WantTestCard(t, twin, nothing)
	actionstest.DisconnectNoop(t, twin, connected)
	grantsUnchanged()
}
