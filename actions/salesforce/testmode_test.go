package salesforce_test

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
	"hubspot-actions/actions/salesforce"
	"hubspot-actions/actions/salesforce/salesforcetest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
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
	db, err := store.Open(ctx, storetest.URL(t), store.WithKeys(bytes.Repeat([]byte{8}, 32), nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	trap := actionstest.Unreachable(t, "Salesforce")
	live := &salesforce.Config{ClientID: "real-sf-client", ClientSecret: realSecret, LoginURL: trap, ExternalIDField: field}
	liveBefore := *live
	lcfg := *live
	lcfg.PublicBaseURL = "https://app.example"
	grants := oauth.NewGrants(salesforce.ID, salesforce.OAuthConfig(lcfg), db, &http.Client{Timeout: 5 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	expired := &oauth2.Token{AccessToken: realAccess, RefreshToken: realRefresh, Expiry: time.Now().Add(-time.Hour)}
	if err := grants.Save(ctx, connected, expired, "00Dreal0000000AAA", trap); err != nil {
		t.Fatal(err)
	}
	before, err := db.ListTokens(ctx, salesforce.ID)
	if err != nil {
		t.Fatal(err)
	}

	deps := actions.Deps{DB: db, PublicBaseURL: "https://app.example",
		HTTPClient: func(string, time.Duration) *http.Client { return &http.Client{Timeout: 10 * time.Second} }}
	twin, handler := actionstest.TestTwin(t, salesforce.Module(), live, deps)
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
		fake, ok := fakes.Portal(portal).(*salesforcetest.Server)
		if !ok {
			t.Fatalf("portal %d has no test fake", portal)
		}
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
		for _, real := range []string{realAccess, realRefresh, realSecret} {
			if strings.Contains(r.Body, real) || strings.Contains(r.Header.Get("Authorization"), real) {
				t.Errorf("test fake request %s %s carries a real credential", r.Method, r.Path)
			}
		}
	}
	after, err := db.ListTokens(ctx, salesforce.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("stored grants changed (-before +after):\n%s", diff)
	}
	if card, err := twin.Card(ctx, nothing); err != nil || card.Status != actions.CardConnected {
		t.Errorf("twin Card = %+v, %v; want the test-mode card", card, err)
	}
}
