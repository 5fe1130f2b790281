package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

func newUninstallFlow(t *testing.T) (*Flow, *hubspottest.Server, *store.DB) {
	t.Helper()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	db := newTestDB(t)
	f := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, TokenBaseURL: hsURL}, db, &http.Client{Timeout: 10 * time.Second}, newDiscardLogger())
	return f, hs, db
}

// TestUninstallApp: the app uninstall API is called with the portal's own
// access token (the fake checks it and its oauth scope); asking again, once
// HubSpot refuses the tokens, is a success that says the app was already
// gone.
func TestUninstallApp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, hs, db := newUninstallFlow(t)
	upsertPortal(t, db, testPortal)
	tok := hs.Grant(testPortal)
	saveGrant(t, f.Grants(), tok, testPortal, time.Now().Add(time.Hour))
	other := hs.Grant(testPortal + 1)
	saveGrant(t, f.Grants(), other, testPortal+1, time.Now().Add(time.Hour))

	got, err := f.UninstallApp(ctx, testPortal)
	if err != nil || !got.Uninstalled {
		t.Fatalf("UninstallApp = %+v, %v; want uninstalled", got, err)
	}
	if u := hs.Uninstalls(); len(u) != 1 || u[0] != testPortal {
		t.Errorf("HubSpot uninstalled %v, want [%d] only", u, testPortal)
	}
	if hs.RefreshTokenLive(tok.RefreshToken) || !hs.RefreshTokenLive(other.RefreshToken) {
		t.Error("after the uninstall, want the portal's refresh token dead and the other portal's live")
	}

	// Again (a re-run after a crash): the access token in hand gets a 401,
	// the refresh invalid_grant, so the app is known to be gone.
	got, err = f.UninstallApp(ctx, testPortal)
	if err != nil || got.Uninstalled || !strings.Contains(got.Note, "already uninstalled") {
		t.Errorf("UninstallApp again = %+v, %v; want no error, a note that it was already uninstalled", got, err)
	}
	if n := len(hs.Uninstalls()); n != 1 {
		t.Errorf("HubSpot uninstalled %d times, want 1", n)
	}
	if p, _ := db.GetPortal(ctx, testPortal); p.Status != store.StatusUninstalled {
		t.Errorf("portal after the refused refresh: %s, want uninstalled", p.Status)
	}
	// And with nothing stored at all.
	got, err = f.UninstallApp(ctx, 4242)
	if err != nil || got.Uninstalled || !strings.Contains(got.Note, "no HubSpot token") {
		t.Errorf("UninstallApp(no grant) = %+v, %v; want a note that no token was stored", got, err)
	}
}

// TestUninstallAppRefused: HubSpot down or refusing (the token lacks the
// oauth scope) is an error, and the app stays installed.
func TestUninstallAppRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, hs, db := newUninstallFlow(t)
	upsertPortal(t, db, testPortal)
	saveGrant(t, f.Grants(), hs.Grant(testPortal, "automation"), testPortal, time.Now().Add(time.Hour))
	_, err := f.UninstallApp(ctx, testPortal)
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Errorf("UninstallApp without the oauth scope = %v, want a 403", err)
	}
	saveGrant(t, f.Grants(), hs.Grant(testPortal), testPortal, time.Now().Add(time.Hour))
	hs.Fail(hubspottest.EndpointUninstall, 1, http.StatusServiceUnavailable, 0)
	if _, err := f.UninstallApp(ctx, testPortal); !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Errorf("UninstallApp with HubSpot down = %v, want a 503", err)
	}
	if n := len(hs.Uninstalls()); n != 0 {
		t.Errorf("HubSpot uninstalled %d times, want none", n)
	}
}

func TestRevokeRefreshToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, hs, db := newUninstallFlow(t)
	upsertPortal(t, db, testPortal)
	tok := hs.Grant(testPortal)
	saveGrant(t, f.Grants(), tok, testPortal, time.Now().Add(time.Hour))
	revoked, note, err := f.RevokeRefreshToken(ctx, testPortal)
	if err != nil || !revoked || hs.RefreshTokenLive(tok.RefreshToken) {
		t.Errorf("RevokeRefreshToken = %v, %q, %v; want revoked", revoked, note, err)
	}
	if revoked, note, err := f.RevokeRefreshToken(ctx, 4242); err != nil || revoked || note == "" {
		t.Errorf("RevokeRefreshToken(no grant) = %v, %q, %v; want a note", revoked, note, err)
	}
}

// TestCheckPortalMemoryBound: checking any number of portal ids (they come
// from signed requests, but a sandbox signs anything) keeps at most
// maxChecks answers in memory.
func TestCheckPortalMemoryBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, _, _ := newUninstallFlow(t)
	for id := range int64(maxChecks + 50) {
		_ = f.CheckPortal(ctx, id+1)
	}
	f.mu.Lock()
	n := len(f.checks)
	f.mu.Unlock()
	if n > maxChecks {
		t.Errorf("CheckPortal keeps %d answers, want at most %d", n, maxChecks)
	}
}
