package oauth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// TestInstallDoesNotPruneStates: starting an install writes its one state
// and deletes nothing; expired states are the prune job's work, off the
// request path anyone can call.
func TestInstallDoesNotPruneStates(t *testing.T) {
	t.Parallel()
	env := newInstallEnv(t, false, hubspottest.Config{})
	ctx := context.Background()
	err := env.db.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertState(ctx, store.State{Hash: "expired", Provider: ProviderHubSpot, ExpiresAt: env.clock.Now().Add(-time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := get(t, env.browser(t), env.app.URL+"/oauth/hubspot/install"); a.status != http.StatusFound {
		t.Fatalf("install = %d, want 302", a.status)
	}
	var n int
	if err := env.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM oauth_states`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("oauth_states rows after an install = %d, want 2 (the expired one untouched, the new one)", n)
	}
}
