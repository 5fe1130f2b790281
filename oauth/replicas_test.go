package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
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

// replicaFlow is the install flow of one replica, on its own *store.DB
// opened on path.
func replicaFlow(t *testing.T, path, appURL, hsURL string) *Flow {
	t.Helper()
	return New(Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURL:  appURL + "/oauth/hubspot/callback",
		AuthorizeURL: hsURL + "/oauth/authorize",
		TokenBaseURL: hsURL,
		Scopes:       testScopes,
	}, openTestDB(t, path), &http.Client{Timeout: 10 * time.Second}, newDiscardLogger())
}

// TestInstallAcrossReplicas: an install that starts on replica A and whose
// callback comes back to replica B (a load balancer without affinity)
// completes on B, and both replicas then serve the portal; the state it
// used works once, on any replica.
func TestInstallAcrossReplicas(t *testing.T) {
	t.Parallel()
	app := httptest.NewUnstartedServer(nil)
	app.Start()
	t.Cleanup(app.Close)
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{RedirectURL: app.URL + "/oauth/hubspot/callback"}, 0)
	path := storetest.URL(t)
	a := replicaFlow(t, path, app.URL, hsURL)
	b := replicaFlow(t, path, app.URL, hsURL)
	ea, eb := echo.New(), echo.New()
	ea.GET("/oauth/hubspot/install", a.HandleInstall())
	ea.GET("/oauth/hubspot/callback", a.HandleCallback())
	eb.GET("/oauth/hubspot/install", b.HandleInstall())
	eb.GET("/oauth/hubspot/callback", b.HandleCallback())
	var callbacks atomic.Int32
	app.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The install goes to A, the first callback to B, a replay of
		// it to A.
		if r.URL.Path == "/oauth/hubspot/callback" && callbacks.Add(1) == 1 {
			eb.ServeHTTP(w, r)
			return
		}
		ea.ServeHTTP(w, r)
	})
	env := &installEnv{app: app}
	c := env.browser(t)

	cb, cbURL := env.install(t, c)
	if cb.status != http.StatusOK || !strings.Contains(cb.body, "installed") {
		t.Fatalf("callback on replica B = %d %q, want 200 saying the app is installed", cb.status, cb.body)
	}
	if n := hs.Calls(hubspottest.EndpointExchange); n != 1 {
		t.Errorf("code exchanges = %d, want 1", n)
	}
	ctx := context.Background()
	for name, f := range map[string]*Flow{"A": a, "B": b} {
		if err := f.CheckPortal(ctx, testPortal); err != nil {
			t.Errorf("replica %s CheckPortal() = %v, want nil", name, err)
		}
		if _, err := f.Grants().Token(ctx, testPortal); err != nil {
			t.Errorf("replica %s Token() = %v, want the installed grant's token", name, err)
		}
	}

	// The same callback again, to A: its state was used on B.
	again := get(t, c, cbURL)
	if again.status != http.StatusBadRequest {
		t.Errorf("the callback replayed on replica A = %d %q, want 400", again.status, again.body)
	}
	if n := hs.Calls(hubspottest.EndpointExchange); n != 1 {
		t.Errorf("code exchanges after the replay = %d, want 1", n)
	}
}

// TestCheckPortalAfterUninstallOnAnotherReplica: replica B keeps its
// answer about a portal for at most checkTTL, so a portal uninstalled
// through replica A is refused on B from checkTTL after the uninstall
// commits (and at once on A, which forgets its answer).
func TestCheckPortalAfterUninstallOnAnotherReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	path := storetest.URL(t)
	a := replicaFlow(t, path, "http://app.test", hsURL)
	b := replicaFlow(t, path, "http://app.test", hsURL)
	clock := newFakeClock()
	a.now, b.now = clock.Now, clock.Now
	upsertPortal(t, a.db, testPortal)
	saveGrant(t, a.grants, hs.Grant(testPortal), testPortal, time.Now().Add(time.Hour))
	if err := b.CheckPortal(ctx, testPortal); err != nil {
		t.Fatalf("replica B CheckPortal() = %v, want nil", err)
	}

	err := a.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkPortalUninstalled(ctx, testPortal, "uninstalled by a test") })
	if err != nil {
		t.Fatalf("MarkPortalUninstalled: %v", err)
	}
	a.Forget(testPortal)
	if err := a.CheckPortal(ctx, testPortal); !errors.Is(err, ErrNotConnected) {
		t.Errorf("replica A CheckPortal() after its uninstall = %v, want ErrNotConnected", err)
	}
	clock.Advance(checkTTL)
	if err := b.CheckPortal(ctx, testPortal); !errors.Is(err, ErrNotConnected) {
		t.Errorf("replica B CheckPortal() %v after the uninstall on A = %v, want ErrNotConnected", checkTTL, err)
	}
}
