package quickbooks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/oauth"
)

// These tests run the QuickBooks connection on the real oauth.Grants
// against the fake's token endpoint, which rotates the refresh token on
// every refresh as Intuit does: the old one then answers invalid_grant.

// expireGrant saves the portal's grant again with an access token that our
// clock considers expired (Intuit still accepts it).
func (e *env) expireGrant(t *testing.T, portalID int64) (access, refresh string) {
	t.Helper()
	ctx := context.Background()
	tok, err := e.grants.Token(ctx, portalID)
	if err != nil {
		t.Fatalf("Token() = %v", err)
	}
	st, err := e.grants.Status(ctx, portalID)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	refresh = e.refreshToken(t, portalID)
	expired := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: refresh, Expiry: time.Now().Add(-time.Minute)}
	if err := e.grants.Save(ctx, portalID, expired, st.AccountID, st.AccountName); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	return tok.AccessToken, refresh
}

// TestRefreshAfterExpirySavesRotatedTokenFirst: an expired access token is
// refreshed before the API call, and the rotated refresh token is in the
// store by the time Intuit sees the new access token.
func TestRefreshAfterExpirySavesRotatedTokenFirst(t *testing.T) {
	t.Parallel()
	type seen struct {
		auth, stored string
		err          error
	}
	var (
		e    *env
		mu   sync.Mutex
		reqs []seen
	)
	fs := quickbookstest.NewServer(quickbookstest.Options{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v3/") {
			rt, err := storedRefreshToken(r.Context(), e.grants, 7)
			mu.Lock()
			reqs = append(reqs, seen{r.Header.Get("Authorization"), rt, err})
			mu.Unlock()
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	e = newEnvOn(t, &quickbookstest.Fake{Server: fs, URL: ts.URL}, "")
	e.connect(t, 7)
	oldAccess, oldRefresh := e.expireGrant(t, 7)
	ctx := context.Background()

	name, err := e.svc.VerifyConnection(ctx, 7)
	if err != nil || name != quickbookstest.DefaultCompanyName {
		t.Fatalf("VerifyConnection() = %q, %v, want %q", name, err, quickbookstest.DefaultCompanyName)
	}
	if n := fs.Refreshes(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	if !fs.Revoked(oldRefresh) {
		t.Errorf("the old refresh token is still live at Intuit; it should have rotated away")
	}
	tok, err := e.grants.Token(ctx, 7)
	if err != nil {
		t.Fatalf("Token() = %v", err)
	}
	if tok.AccessToken == oldAccess || time.Until(tok.Expiry) < 50*time.Minute {
		t.Errorf("access token after the refresh = %+v, want a new one for an hour", tok)
	}
	rotated := e.refreshToken(t, 7)
	if rotated == oldRefresh || fs.Revoked(rotated) {
		t.Errorf("stored refresh token = %q, want the rotated, live one (old %q)", rotated, oldRefresh)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 1 {
		t.Fatalf("API requests = %+v, want 1", reqs)
	}
	if got := reqs[0]; got.err != nil || got.auth != "Bearer "+tok.AccessToken || got.stored != rotated {
		t.Errorf("when Intuit got the call: auth %q, stored refresh token %q (%v); want the new access token %q with %q already stored",
			got.auth, got.stored, got.err, tok.AccessToken, rotated)
	}
}

// TestRejectedTokenForcesOneRefresh: when Intuit answers 401 for an access
// token our clock still considers valid, concurrent callers cause exactly
// one refresh and all succeed with the new token.
func TestRejectedTokenForcesOneRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quickbookstest.Options{}, "")
	e.connect(t, 7)
	oldRefresh := e.refreshToken(t, 7)
	e.fake.ExpireAccessTokens()

	const callers = 8
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			_, errs[i] = e.svc.VerifyConnection(context.Background(), 7)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("VerifyConnection() #%d = %v", i, err)
		}
	}
	if n := e.fake.Refreshes(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	if rt := e.refreshToken(t, 7); rt == oldRefresh || e.fake.Revoked(rt) {
		t.Errorf("stored refresh token = %q, want the rotated, live one", rt)
	}
	// A second rejection of the new token is not refreshed again: the
	// admin must reconnect.
	e.fake.FailNext(http.StatusUnauthorized, 2)
	_, err := e.svc.VerifyConnection(context.Background(), 7)
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Code != actions.CodeNotConnected || !strings.Contains(ae.Message, "must reconnect") {
		t.Errorf("VerifyConnection() after two 401s = %v, want NOT_CONNECTED asking to reconnect", err)
	}
	if n := e.fake.Refreshes(); n != 2 {
		t.Errorf("refreshes = %d, want 2 (one per first rejection)", n)
	}
}

// TestRefreshRejectedNeedsReconnect: when Intuit answers invalid_grant to a
// refresh, the grant is marked as needing a reconnect, the action answers
// NOT_CONNECTED, and the token endpoint is not asked again.
func TestRefreshRejectedNeedsReconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env)
	}{
		// Intuit rejects the access token (401), then its refresh.
		{"revoked at Intuit", func(t *testing.T, e *env) { e.fake.RevokeGrants() }},
		// Our clock says the token expired; the refresh is rejected.
		{"expired and revoked", func(t *testing.T, e *env) {
			e.expireGrant(t, portal)
			e.fake.RevokeGrants()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, quickbookstest.Options{}, actions.Config{})
			tt.setup(t, h.env)
			before := h.tokenRequests()
			in := map[string]any{"customer_email": "jordan.lee@example.com", "amount": "10", "item_id": "7"}
			_, got := h.run(t, KeyCreateInvoice, "DEAL", in, nil)
			wantFailure(t, got, actions.CodeNotConnected, "https://actions.example.test/settings")
			if n := h.tokenRequests() - before; n != 1 {
				t.Errorf("token requests = %d, want 1 refresh attempt", n)
			}
			st, err := h.grants.Status(context.Background(), portal)
			if err != nil || st.Status != oauth.StatusNeedsReinstall || !strings.Contains(st.StatusReason, "invalid_grant") {
				t.Errorf("grant = %+v, %v, want it marked %s for invalid_grant", st, err, oauth.StatusNeedsReinstall)
			}
			// Later executions answer NOT_CONNECTED without asking Intuit.
			_, got = h.run(t, KeyCreateInvoice, "DEAL", in, nil)
			wantFailure(t, got, actions.CodeNotConnected, "https://actions.example.test/settings")
			if n := h.tokenRequests() - before; n != 1 {
				t.Errorf("token requests after a second execution = %d, want still 1", n)
			}
		})
	}
}
