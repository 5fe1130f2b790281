package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/store/storetest"
)

func newTestDB(t *testing.T) *DB {
	t.Helper()
	return openTestDB(t, storetest.URL(t), WithKeys(testKey("current"), nil))
}

// newSQLiteTestDB opens a SQLite test database whatever TEST_DATABASE_URL
// says, for tests of SQLite's own files, PRAGMAs and plans.
func newSQLiteTestDB(t *testing.T) *DB {
	t.Helper()
	return openTestDB(t, filepath.Join(t.TempDir(), "test.db"), WithKeys(testKey("current"), nil))
}

func openTestDB(t *testing.T, path string, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// setClock fixes the store's clock at t (to the millisecond).
func setClock(db *DB, t time.Time) {
	db.SetClock(func() time.Time { return t })
}

func write(t *testing.T, db *DB, fn func(tx *Tx) error) {
	t.Helper()
	if err := db.Write(context.Background(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func TestUpsertPortal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	setClock(db, t0)
	write(t, db, func(tx *Tx) error {
		return tx.UpsertPortal(ctx, Portal{PortalID: 42, HubDomain: "acme.hubspot.com", InstalledByEmail: "a@acme.com", InstalledByID: 7, Scopes: []string{"oauth", "automation"}})
	})
	write(t, db, func(tx *Tx) error { return tx.SetPortalStatus(ctx, 42, StatusNeedsReinstall, "refresh token revoked") })
	got, err := db.GetPortal(ctx, 42)
	if err != nil {
		t.Fatalf("GetPortal: %v", err)
	}
	if got.Status != StatusNeedsReinstall || got.StatusReason != "refresh token revoked" {
		t.Errorf("GetPortal status = %q %q, want needs_reinstall with reason", got.Status, got.StatusReason)
	}

	// A reinstall updates the same row and makes it active again.
	t1 := t0.Add(time.Hour)
	setClock(db, t1)
	write(t, db, func(tx *Tx) error {
		return tx.UpsertPortal(ctx, Portal{PortalID: 42, HubDomain: "acme.hubspot.com", InstalledByEmail: "b@acme.com", InstalledByID: 8, Scopes: []string{"oauth", "automation", "crm.objects.deals.read"}})
	})
	list, err := db.ListPortals(ctx)
	if err != nil {
		t.Fatalf("ListPortals: %v", err)
	}
	want := []Portal{{PortalID: 42, HubDomain: "acme.hubspot.com", InstalledByEmail: "b@acme.com", InstalledByID: 8,
		Scopes: []string{"oauth", "automation", "crm.objects.deals.read"}, Status: StatusActive, InstalledAt: t0, UpdatedAt: t1}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("ListPortals() mismatch (-want +got):\n%s", diff)
	}

	err = db.Write(ctx, func(tx *Tx) error { return tx.SetPortalStatus(ctx, 99, StatusRemoved, "") })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPortalStatus(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := db.GetPortal(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetPortal(unknown) = %v, want ErrNotFound", err)
	}
}
