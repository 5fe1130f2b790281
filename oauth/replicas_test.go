package oauth

import (
	"context"
	"errors"
	"testing"
	"time"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store/storetest"
)

// Tests of two replicas: two Grants or Flows, each on its own *store.DB
// opened on one database (one SQLite file, or one PostgreSQL schema), as
// two serve processes are.

// TestGrantReplacedOnAnotherReplica: a replica that keeps a portal's
// access token in memory takes up a grant another replica saved (a
// reconnect) or deleted (a disconnect) within cacheTTL, not when the
// token it holds expires.
func TestGrantReplacedOnAnotherReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	path := storetest.URL(t)
	a := newTestGrants(t, hsURL, openTestDB(t, path))
	b := newTestGrants(t, hsURL, openTestDB(t, path))
	clock := newFakeClock()
	a.now, b.now = clock.Now, clock.Now

	first := hs.Grant(testPortal)
	saveGrant(t, a, first, testPortal, clock.Now().Add(time.Hour))
	if tok, err := b.Token(ctx, testPortal); err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("replica B Token() = %v, %v; want the saved token", tok, err)
	}

	second := hs.Grant(testPortal)
	saveGrant(t, a, second, testPortal, clock.Now().Add(time.Hour))
	clock.Advance(cacheTTL)
	if tok, err := b.Token(ctx, testPortal); err != nil || tok.AccessToken != second.AccessToken {
		t.Errorf("replica B Token() %v after replica A saved a new grant = %v, %v; want the new token", cacheTTL, tok, err)
	}

	if err := a.Delete(ctx, testPortal); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	clock.Advance(cacheTTL)
	if tok, err := b.Token(ctx, testPortal); !errors.Is(err, ErrNotConnected) {
		t.Errorf("replica B Token() %v after replica A deleted the grant = %v, %v; want ErrNotConnected", cacheTTL, tok, err)
	}
	if n := hs.RefreshCalls(); n != 0 {
		t.Errorf("refresh calls = %d, want 0", n)
	}
}
