package clearbit_test

import (
	"context"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/clearbit"
	"hubspot-actions/actions/clearbit/clearbittest"
	"hubspot-actions/store"
)

// Portals of the test-mode tests.
const (
	testKeyed   = 8300001 // entered a real key of its own
	testNothing = 8300002 // connected nothing
)

// TestTwinAnswersWithoutRealKeys: the test-mode twin answers every
// Clearbit action for a portal that entered no key, and for one that did,
// from its fake with clearbittest.TestModeKey alone: the portal's key and
// the app's key are never sent, no app-key use is counted, the stored key
// is unchanged, and the live base URL is never called.
func TestTwinAnswersWithoutRealKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const portalKey, liveAppKey = "sk_live_portal_real_key", "sk_live_app_real_key"
	db := actionstest.SealedDB(t, 5)
	live := &clearbit.Config{APIKey: liveAppKey, AppKeyPortals: actions.AllPortals, AppKeyDailyQuota: 1,
		BaseURL: actionstest.Unreachable(t, "Clearbit")}
	deps := actionstest.TwinDeps(db, 5*time.Second)
	lp, err := clearbit.New(*live, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.Keys().Save(ctx, testKeyed, portalKey); err != nil {
		t.Fatal(err)
	}
	keyUnchanged := actionstest.Unchanged(t, "stored key", func() (store.APIKey, error) { return db.GetAPIKey(ctx, testKeyed, clearbit.ID) })

	twin, handler, h := actionstest.Twin(t, clearbit.Module(), live, deps)
	fake := handler.(*clearbittest.Server)
	for _, portal := range []int64{testKeyed, testNothing} {
		for i, run := range runs {
			for range 2 { // twice: a quota of one would refuse the second
				got := h.Run(t, run.action, actionstest.NewRequest(portal, objectType(run.action), run.inputs(i+int(portal)), nil), 30*time.Second)
				if got[actions.OutputState] != actions.StateSuccess {
					t.Errorf("twin %s for portal %d = %v, want SUCCESS", run.action, portal, got)
				}
			}
		}
	}
	reqs := fake.Requests()
	if len(reqs) == 0 {
		t.Fatal("the test fake received no request")
	}
	for _, r := range reqs {
		if r.Key != clearbittest.TestModeKey {
			t.Errorf("test fake request %s %s used key %q, want %q", r.Method, r.Path, r.Key, clearbittest.TestModeKey)
		}
		actionstest.NoSecrets(t, "test fake request "+r.Method+" "+r.Path, r.Header, "", portalKey, liveAppKey)
	}
	keyUnchanged()
	if n, err := db.AppKeyUsed(ctx, clearbit.ID, testNothing); err != nil || n != 0 {
		t.Errorf("AppKeyUsed(portal without key) = %d, %v; want 0: the twin counts no quota", n, err)
	}
	actionstest.WantTestCard(t, twin, testNothing)
}
