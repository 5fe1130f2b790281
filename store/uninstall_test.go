package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
)

// TestPortalUninstallStates: uninstalling and uninstalled keep the time the
// uninstall was first asked for, a cancel or a reinstall forgets it, and
// the lists find portals past a time with secrets left, or stalled.
func TestPortalUninstallStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	setClock(db, t0)
	for _, id := range []int64{1, 2, 3} {
		write(t, db, func(tx *Tx) error { return tx.UpsertPortal(ctx, Portal{PortalID: id}) })
	}
	write(t, db, func(tx *Tx) error {
		return tx.SaveAPIKey(ctx, APIKey{PortalID: 1, Provider: "stripe", Secret: "sk_test_1", Hint: "sk…1"})
	})
	write(t, db, func(tx *Tx) error { return tx.MarkPortalUninstalling(ctx, 1, "asked") })
	setClock(db, t0.Add(time.Hour))
	write(t, db, func(tx *Tx) error { return tx.MarkPortalUninstalled(ctx, 1, "done") })
	p, err := db.GetPortal(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != StatusUninstalled || p.StatusReason != "done" || !p.UninstalledAt.Equal(t0) {
		t.Errorf("after uninstalling then uninstalled: %s (%s) at %v, want uninstalled (done) at %v", p.Status, p.StatusReason, p.UninstalledAt, t0)
	}
	// Portal 2 is uninstalled in HubSpot, with no secrets left: not listed.
	write(t, db, func(tx *Tx) error { return tx.MarkPortalUninstalled(ctx, 2, "invalid_grant") })
	// Portal 3 stalls while uninstalling.
	write(t, db, func(tx *Tx) error { return tx.MarkPortalUninstalling(ctx, 3, "asked") })

	ids, err := db.ListUninstalledWithSecrets(ctx, t0)
	if err != nil || !cmp.Equal(ids, []int64{1}) {
		t.Errorf("ListUninstalledWithSecrets(t0) = %v, %v; want [1]", ids, err)
	}
	if ids, _ := db.ListUninstalledWithSecrets(ctx, t0.Add(-time.Millisecond)); len(ids) != 0 {
		t.Errorf("ListUninstalledWithSecrets(before t0) = %v, want none", ids)
	}
	if ids, _ := db.ListStalledUninstalls(ctx, t0.Add(time.Hour)); !cmp.Equal(ids, []int64{3}) {
		t.Errorf("ListStalledUninstalls = %v, want [3]", ids)
	}
	if ids, _ := db.ListStalledUninstalls(ctx, t0.Add(time.Hour-time.Millisecond)); len(ids) != 0 {
		t.Errorf("ListStalledUninstalls before its last change = %v, want none", ids)
	}

	var cancelled bool
	write(t, db, func(tx *Tx) error {
		var err error
		cancelled, err = tx.CancelUninstall(ctx, 3)
		return err
	})
	write(t, db, func(tx *Tx) error {
		again, err := tx.CancelUninstall(ctx, 1) // uninstalled: left alone
		if again {
			t.Error("CancelUninstall of an uninstalled portal = true")
		}
		return err
	})
	if p, _ := db.GetPortal(ctx, 3); !cancelled || p.Status != StatusActive || !p.UninstalledAt.IsZero() {
		t.Errorf("after CancelUninstall: %v, %s at %v; want active, no uninstall time", cancelled, p.Status, p.UninstalledAt)
	}
	// A reinstall brings portal 1 back.
	write(t, db, func(tx *Tx) error { return tx.UpsertPortal(ctx, Portal{PortalID: 1}) })
	if p, _ := db.GetPortal(ctx, 1); p.Status != StatusActive || !p.UninstalledAt.IsZero() {
		t.Errorf("after a reinstall: %s at %v; want active, no uninstall time", p.Status, p.UninstalledAt)
	}
	err = db.Write(ctx, func(tx *Tx) error { return tx.MarkPortalUninstalled(ctx, 42, "x") })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkPortalUninstalled(unknown) = %v, want ErrNotFound", err)
	}
}

// TestMigrationUninstallsRejectedPortals: migration 0009 turns portals a
// rejected refresh token left needs_reinstall into uninstalled portals
// whose grace period counts from their last change.
func TestMigrationUninstallsRejectedPortals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sqlx.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	names, err := migrationNames(false)
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, name := range names {
		v := strings.TrimSuffix(filepath.Base(name), ".sql")
		if v >= "0009" {
			break
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("apply %s: %v", v, err)
		}
		applied = append(applied, v)
	}
	if _, err := old.ExecContext(ctx, `CREATE TABLE schema_migrations (version TEXT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, v := range applied {
		if _, err := old.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, 1)`, v); err != nil {
			t.Fatal(err)
		}
	}
	const ins = `INSERT INTO portals (portal_id, status, status_reason, installed_at, updated_at) VALUES (?, ?, ?, 1000, ?)`
	if _, err := old.ExecContext(ctx, ins, 1, "needs_reinstall", "invalid_grant", 5000); err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, ins, 2, "active", "", 6000); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db := openTestDB(t, path)
	p1, err := db.GetPortal(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Status != StatusUninstalled || p1.StatusReason != "invalid_grant" || p1.UninstalledAt.UnixMilli() != 5000 {
		t.Errorf("needs_reinstall portal migrated to %s (%s) at %v, want uninstalled since its last change", p1.Status, p1.StatusReason, p1.UninstalledAt)
	}
	if p2, _ := db.GetPortal(ctx, 2); p2.Status != StatusActive || !p2.UninstalledAt.IsZero() {
		t.Errorf("active portal migrated to %s at %v, want untouched", p2.Status, p2.UninstalledAt)
	}
}

// TestNoSecretsForAPortalGoing: a provider's grant or an API key saved
// while its portal is being uninstalled, or after, is refused (a connect
// flow or key form begun before the uninstall would otherwise leave a
// secret behind it); HubSpot's own grant, which the uninstall refreshes to
// call HubSpot, and a reinstalled portal's secrets are saved.
func TestNoSecretsForAPortalGoing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	write(t, db, func(tx *Tx) error { return tx.UpsertPortal(ctx, Portal{PortalID: 1}) })
	key := APIKey{PortalID: 1, Provider: "stripe", Secret: "sk_test_1", Hint: "sk…1"}
	grant := func(provider string) Token {
		return Token{PortalID: 1, Provider: provider, AccountID: "9130", AccessToken: "a", RefreshToken: "r", ExpiresAt: time.Now().Add(time.Hour)}
	}
	for _, mark := range []func(tx *Tx) error{
		func(tx *Tx) error { return tx.MarkPortalUninstalling(ctx, 1, "asked") },
		func(tx *Tx) error { return tx.MarkPortalUninstalled(ctx, 1, "done") },
	} {
		write(t, db, mark)
		if err := db.Write(ctx, func(tx *Tx) error { return tx.SaveAPIKey(ctx, key) }); !errors.Is(err, ErrPortalGone) {
			t.Errorf("SaveAPIKey for a portal going = %v, want ErrPortalGone", err)
		}
		if err := db.Write(ctx, func(tx *Tx) error { _, err := tx.SaveToken(ctx, grant("quickbooks")); return err }); !errors.Is(err, ErrPortalGone) {
			t.Errorf("SaveToken(quickbooks) for a portal going = %v, want ErrPortalGone", err)
		}
		write(t, db, func(tx *Tx) error { _, err := tx.SaveToken(ctx, grant("hubspot")); return err })
	}
	// Reinstalled: active again, secrets are taken.
	write(t, db, func(tx *Tx) error { return tx.UpsertPortal(ctx, Portal{PortalID: 1}) })
	write(t, db, func(tx *Tx) error { return tx.SaveAPIKey(ctx, key) })
	write(t, db, func(tx *Tx) error { _, err := tx.SaveToken(ctx, grant("quickbooks")); return err })
	// No portal row yet: taken.
	write(t, db, func(tx *Tx) error {
		return tx.SaveAPIKey(ctx, APIKey{PortalID: 2, Provider: "stripe", Secret: "sk_test_2", Hint: "sk…2"})
	})
}
