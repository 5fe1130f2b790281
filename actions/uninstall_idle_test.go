package actions_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// TestSweepNoticesIdleUninstall: a portal that uninstalled the app in
// HubSpot, and whose actions never call HubSpot (so its token is never
// refreshed on their behalf), is noticed by the sweep, which renews the
// token of installs idle for a day: HubSpot refuses, the portal is
// uninstalled, and its secrets go once the grace period has passed. A live
// idle portal gets a new token and stays; a portal that used HubSpot
// lately is left alone.
func TestSweepNoticesIdleUninstall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t) // portals 7000001 and 7000002
	env.install(t, 7000003)
	t0 := time.Now()
	clock := t0
	env.db.SetClock(func() time.Time { return clock })
	env.u.SetClock(func() time.Time { return clock })
	idle := func(portalID int64) {
		t.Helper()
		tok := env.hs.Grant(portalID)
		if err := env.flow.Grants().Save(ctx, portalID, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: t0.Add(-48 * time.Hour)}, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	idle(7000001)
	idle(7000002)
	env.hs.RevokePortal(7000001) // uninstalled in HubSpot, which says nothing
	env.hs.RevokePortal(7000003) // too, but it used its token an hour ago
	before := env.hs.RefreshCalls()

	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if p := env.portal(t, 7000001); p.Status != store.StatusUninstalled {
		t.Errorf("idle portal uninstalled in HubSpot: %s, want uninstalled", p.Status)
	}
	if p := env.portal(t, 7000002); p.Status != store.StatusActive {
		t.Errorf("idle live portal: %s, want active", p.Status)
	}
	if tok, err := env.db.GetToken(ctx, 7000002, "hubspot"); err != nil || !tok.ExpiresAt.After(t0) {
		t.Errorf("idle live portal's token expires %v (%v), want a renewed one", tok.ExpiresAt, err)
	}
	if n := env.hs.RefreshCalls() - before; n != 2 {
		t.Errorf("the sweep asked for %d refreshes, want 2 (the idle portals only)", n)
	}
	if g, k := env.secrets(t, 7000001); g != 2 || k != 1 {
		t.Errorf("within the grace period: %d grants, %d keys; want them kept", g, k)
	}

	// A second sweep soon after renews nothing.
	before = env.hs.RefreshCalls()
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := env.hs.RefreshCalls() - before; n != 0 {
		t.Errorf("a second sweep asked for %d refreshes, want none", n)
	}

	clock = t0.Add(30*24*time.Hour + time.Minute)
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if g, k := env.secrets(t, 7000001); g != 0 || k != 0 {
		t.Errorf("after the grace period: %d grants, %d keys; want none", g, k)
	}
	if g, k := env.secrets(t, 7000002); g != 2 || k != 1 {
		t.Errorf("live portal 7000002: %d grants, %d keys; want them kept", g, k)
	}
}

// TestSweepLeavesSandboxPortalsAlone: a sandbox's HubSpot is a fake that
// forgets its grants when the process ends, so the sweep renews nothing
// there (it would uninstall every sandbox portal after a weekend away).
func TestSweepLeavesSandboxPortalsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	flow := oauth.New(oauth.Config{ClientID: "cid", ClientSecret: "csecret", TokenBaseURL: env.hs.URL(), Sandbox: true}, env.db, &http.Client{Timeout: 10 * time.Second}, slog.New(slog.DiscardHandler))
	tok := env.hs.Grant(7000001)
	if err := flow.Grants().Save(ctx, 7000001, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-48 * time.Hour)}, "", ""); err != nil {
		t.Fatal(err)
	}
	env.hs.RevokePortal(7000001) // the fake of an earlier process
	before := env.hs.RefreshCalls()
	if err := actions.NewUninstaller(flow, env.db, nil, 30*24*time.Hour, slog.New(slog.DiscardHandler)).Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := env.hs.RefreshCalls() - before; n != 0 {
		t.Errorf("a sandbox's sweep asked for %d refreshes, want none", n)
	}
	if p := env.portal(t, 7000001); p.Status != store.StatusActive {
		t.Errorf("sandbox portal after a sweep: %s, want active", p.Status)
	}
}
