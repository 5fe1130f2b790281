package oauth

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// TestMovedGrantMustReconnect: portal A's sealed tokens copied, in the
// SQLite file, into portal B's row do not give B a token: B must reconnect
// (ErrNotConnected, with store.ErrMisplaced naming the row underneath), A
// keeps working, and revoking B's grant never hands A's refresh token to
// the revocation endpoint.
func TestMovedGrantMustReconnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	path := filepath.Join(t.TempDir(), "app.db")
	db := openTestDB(t, path)
	g := newTestGrants(t, hsURL, db)
	const a, b = testPortal, testPortal + 1
	saveGrant(t, g, hs.Grant(a), a, time.Now().Add(time.Hour))
	saveGrant(t, g, hs.Grant(b), b, time.Now().Add(time.Hour))

	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE oauth_tokens SET access_token = (SELECT access_token FROM oauth_tokens WHERE portal_id = ?),
		refresh_token = (SELECT refresh_token FROM oauth_tokens WHERE portal_id = ?) WHERE portal_id = ?`, a, a, b); err != nil {
		t.Fatal(err)
	}

	_, err = g.Token(ctx, b)
	if !errors.Is(err, ErrNotConnected) || !errors.Is(err, store.ErrMisplaced) || !strings.Contains(err.Error(), "oauth_tokens.access_token of portal 7000002 (hubspot)") {
		t.Errorf("Token(portal holding another's tokens) = %v, want ErrNotConnected over ErrMisplaced naming the row", err)
	}
	if _, err := g.Token(ctx, a); err != nil {
		t.Errorf("Token(the tokens' own portal) = %v", err)
	}
	revoked := false
	err = g.Revoke(ctx, b, func(context.Context, string) error { revoked = true; return nil })
	if revoked || !errors.Is(err, store.ErrMisplaced) {
		t.Errorf("Revoke(portal holding another's tokens) = %v, revoked %v; want ErrMisplaced and nothing revoked", err, revoked)
	}
}
