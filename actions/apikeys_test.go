package actions

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"

	"hubspot-actions/store"
)

func newKeysDB(t testing.TB, path string) *store.DB {
	t.Helper()
	key := sha256.Sum256([]byte("api keys test key"))
	db, err := store.Open(context.Background(), path, store.WithKeys(key[:], nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkAPIKeysKey is the cost of finding a portal's own key, which every
// execution of a keyed provider's action pays.
func BenchmarkAPIKeysKey(b *testing.B) {
	ctx := context.Background()
	db := newKeysDB(b, filepath.Join(b.TempDir(), "test.db"))
	keys := NewAPIKeys(db, "clearbit", "Clearbit", "", "https://actions.example.test/settings")
	if err := keys.Save(ctx, 5, "sk_live_portal5key1234"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := keys.Key(ctx, 5); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestAPIKeyRemovalSeenAtOnce: a key removed by another process (here a
// second store on the same file, as `portals remove` opens one) or through
// the settings page is not used again, not even once, after the removal
// commits; the app default applies, or NOT_CONNECTED without one.
func TestAPIKeyRemovalSeenAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	all, err := ParseAppKeyAccess("STRIPE_APP_KEY_PORTALS", AllPortals, "STRIPE_APP_KEY_DAILY_QUOTA", 0)
	if err != nil {
		t.Fatal(err)
	}
	serving := NewAPIKeys(newKeysDB(t, path), "stripe", "Stripe", "sk_test_appdefault", "https://actions.example.test/settings").WithAppKeyAccess(all)
	noDefault := NewAPIKeys(serving.db, "clearbit", "Clearbit", "", "https://actions.example.test/settings")
	cli := newKeysDB(t, path)

	for _, k := range []*APIKeys{serving, noDefault} {
		if err := k.Save(ctx, 5, "sk_live_portal5own1234"); err != nil {
			t.Fatal(err)
		}
		if got, err := k.Key(ctx, 5); err != nil || got != "sk_live_portal5own1234" || !k.PortalOwned(ctx, 5) {
			t.Fatalf("%s Key() = %q, %v; want the portal's own key", k.provider, got, err)
		}
	}
	// `portals remove` deletes the keys from another process.
	if err := cli.Write(ctx, func(tx *store.Tx) error { _, err := tx.DeleteAPIKeys(ctx, 5); return err }); err != nil {
		t.Fatal(err)
	}
	if got, err := serving.Key(ctx, 5); err != nil || got != "sk_test_appdefault" || serving.PortalOwned(ctx, 5) {
		t.Errorf("stripe Key() right after removal elsewhere = %q, %v; want the app default", got, err)
	}
	var ae *Error
	if got, err := noDefault.Key(ctx, 5); !errors.As(err, &ae) || ae.Code != CodeNotConnected || got != "" {
		t.Errorf("clearbit Key() right after removal elsewhere = %q, %v; want NOT_CONNECTED", got, err)
	}

	// In the serving process: the settings page's delete.
	if err := serving.Save(ctx, 6, "sk_live_portal6own5678"); err != nil {
		t.Fatal(err)
	}
	if got, _ := serving.Key(ctx, 6); got != "sk_live_portal6own5678" {
		t.Fatalf("Key(6) = %q, want the portal's own key", got)
	}
	if err := serving.Delete(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if got, err := serving.Key(ctx, 6); err != nil || got != "sk_test_appdefault" {
		t.Errorf("Key(6) right after Delete = %q, %v; want the app default", got, err)
	}
}
