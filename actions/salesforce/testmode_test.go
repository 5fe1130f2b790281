package salesforce_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/salesforce"
	"hubspot-actions/actions/salesforce/salesforcetest"
	"hubspot-actions/store"
)

// TestTwinAnswersWithoutRealGrants: the test-mode twin upserts leads in
// its fake org (which knows the configured external id field), with
// salesforcetest.TestModeToken alone, for a portal that connected nothing
// and for one whose real grant has expired: that grant's tokens are never
// sent, it is neither refreshed nor revoked nor marked, its row is
// unchanged, and the live login URL and instance are never called.
func TestTwinAnswersWithoutRealGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const (
		connected, nothing      = 7500001, 7500002
		realAccess, realRefresh = "00Dreal!real-sf-access-token", "real-sf-refresh-token"
		realSecret, field       = "real-sf-client-secret", "Custom_HubSpot_Id__c"
	)
	db := actionstest.SealedDB(t, 8)
	trap := actionstest.Unreachable(t, "Salesforce")
	live := &salesforce.Config{ClientID: "real-sf-client", ClientSecret: realSecret, LoginURL: trap, ExternalIDField: field}
	lcfg := *live
	lcfg.PublicBaseURL = "https://app.example"
	actionstest.SaveExpiredGrant(t, db, salesforce.ID, salesforce.OAuthConfig(lcfg), connected, realAccess, realRefresh, "00Dreal0000000AAA", trap)
	grantsUnchanged := actionstest.Unchanged(t, "stored grants", func() ([]store.Token, error) { return db.ListTokens(ctx, salesforce.ID) })

	twin, handler, h := actionstest.Twin(t, salesforce.Module(), live, actionstest.TwinDeps(db, 10*time.Second))
	fakes := handler.(*actions.PortalFakes)
	for _, portal := range []int64{connected, nothing} {
		// Both portals' contacts have the same id, which is the external
		// id: the second portal's first run still creates its own lead.
		for _, created := range []string{"true", "false"} { // the second run updates the lead the first made
			req := actionstest.NewRequest(portal, "CONTACT", map[string]any{
				salesforce.InEmail: "test-mode@example.com", salesforce.InLastName: "Mode", salesforce.InCompany: "Test Co"}, nil)
			req.Object.ObjectID = "4242"
			got := h.Run(t, salesforce.KeyUpsertLead, req, 30*time.Second)
			if got[actions.OutputState] != actions.StateSuccess || got[salesforce.OutLeadID] == "" || got[salesforce.OutCreated] != created {
				t.Errorf("twin upsert for portal %d = %v, want SUCCESS with created %s", portal, got, created)
			}
			if !strings.HasPrefix(got[salesforce.OutLeadURL], "http://127.0.0.1:") || !strings.Contains(got[salesforce.OutLeadURL], actions.PortalFakePath(portal)+"/") {
				t.Errorf("twin lead_url = %q, want one on the loopback fake", got[salesforce.OutLeadURL])
			}
		}
	}
	var reqs []salesforcetest.Request
	for _, portal := range []int64{connected, nothing} {
		fake := actionstest.PortalFake[*salesforcetest.Server](t, fakes, portal)
		// Each portal's org holds its own lead alone, though both used
		// the same email.
		if n := len(fake.Leads()); n != 1 {
			t.Errorf("portal %d's fake org holds %d leads, want 1", portal, n)
		}
		reqs = append(reqs, fake.Requests()...)
	}
	for _, r := range reqs {
		if strings.Contains(r.Path, "/services/oauth2/") {
			t.Errorf("the twin called %s %s: it never refreshes or revokes", r.Method, r.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+salesforcetest.TestModeToken {
			t.Errorf("test fake request %s %s: Authorization = %q, want the test-mode token", r.Method, r.Path, got)
		}
		actionstest.NoSecrets(t, "test fake request "+r.Method+" "+r.Path, r.Header, r.Body, realAccess, realRefresh, realSecret)
	}
	grantsUnchanged()
	actionstest.WantTestCard(t, twin, nothing)
}
