package oauth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// TestInvalidGrantEndsSessions: an uninstall in HubSpot, seen as
// invalid_grant on a refresh, ends every admin session of the portal (a
// copied cookie included) in the write that marks the portal uninstalled;
// another portal's sessions stay.
func TestInvalidGrantEndsSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	db := newTestDB(t)
	log, _ := newTestLogger(t)
	f := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, TokenBaseURL: hsURL}, db, &http.Client{Timeout: 10 * time.Second}, log)
	const other = testPortal + 1
	upsertPortal(t, db, testPortal)
	upsertPortal(t, db, other)
	saveGrant(t, f.Grants(), hs.Grant(testPortal), testPortal, time.Now().Add(-time.Minute))
	ids := map[int64]string{testPortal: "session-id-of-the-admin-0123456789", other: "session-id-of-another-portal-98765"}
	for p, id := range ids {
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertSession(ctx, id, store.AdminSession{PortalID: p, UserEmail: "admin@example.com", ExpiresAt: time.Now().Add(12 * time.Hour)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	hs.RevokePortal(testPortal) // the app was uninstalled in HubSpot

	if _, err := f.Grants().Token(ctx, testPortal); !errors.Is(err, ErrUninstalled) {
		t.Fatalf("Token() = %v, want ErrUninstalled", err)
	}
	if _, err := db.GetSession(ctx, ids[testPortal], time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the admin session after the uninstall in HubSpot: %v, want ErrNotFound (ended)", err)
	}
	if n, err := db.CountSessions(ctx, testPortal); err != nil || n != 0 {
		t.Errorf("sessions of the uninstalled portal = %d, %v; want 0", n, err)
	}
	if _, err := db.GetSession(ctx, ids[other], time.Now()); err != nil {
		t.Errorf("another portal's session: %v, want it kept", err)
	}
}
