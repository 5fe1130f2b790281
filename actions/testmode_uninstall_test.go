package actions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// TestUninstallDeletesTestMode: an uninstall forgets the portal's test
// mode with its secrets (a reinstall starts live) and leaves other
// portals' alone; an uninstall noticed in HubSpot keeps it through the
// grace period, as it keeps the keys, and the sweep deletes it after.
func TestUninstallDeletesTestMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	for _, id := range []int64{7000001, 7000002} {
		setTestMode(t, env.db, id, true)
	}
	testModeOn := func(id int64) bool {
		t.Helper()
		tm, err := env.db.GetTestMode(ctx, id)
		if err != nil {
			t.Fatalf("GetTestMode(%d): %v", id, err)
		}
		return tm.Enabled || !tm.ChangedAt.IsZero()
	}
	if _, err := env.u.Uninstall(ctx, 7000001, "admin@example.com on the settings page"); err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
	if testModeOn(7000001) {
		t.Errorf("portal 7000001 keeps its test-mode setting after its uninstall")
	}
	if !testModeOn(7000002) {
		t.Errorf("portal 7000002 lost its test-mode setting in another portal's uninstall")
	}
	err := env.db.Write(ctx, func(tx *store.Tx) error { return tx.SetTestMode(ctx, 7000001, true, 1, "late@example.com") })
	if !errors.Is(err, store.ErrPortalGone) {
		t.Errorf("SetTestMode after the uninstall = %v, want ErrPortalGone", err)
	}

	// Uninstalled in HubSpot: kept through the grace period, then deleted.
	t0 := time.Now()
	clock := t0
	env.db.SetClock(func() time.Time { return clock })
	env.u.SetClock(func() time.Time { return clock })
	env.hs.RevokePortal(7000002)
	if _, err := env.flow.Grants().ForceRefresh(ctx, 7000002, ""); !errors.Is(err, oauth.ErrUninstalled) {
		t.Fatalf("refresh after an uninstall in HubSpot = %v, want ErrUninstalled", err)
	}
	clock = t0.Add(29 * 24 * time.Hour)
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if !testModeOn(7000002) {
		t.Errorf("within the grace period the test-mode setting is gone")
	}
	clock = t0.Add(30*24*time.Hour + time.Minute)
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if testModeOn(7000002) {
		t.Errorf("after the grace period the test-mode setting is kept")
	}
}
