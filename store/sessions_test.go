package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"hubspot-actions/store/storetest"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	setClock(db, t0)
	insert := func(id string, portalID int64, email string) {
		t.Helper()
		write(t, db, func(tx *Tx) error {
			return tx.InsertSession(ctx, id, AdminSession{PortalID: portalID, UserID: 7, UserEmail: email, ExpiresAt: t0.Add(12 * time.Hour)})
		})
	}
	valid := func(id string, at time.Time) bool {
		t.Helper()
		_, err := db.GetSession(ctx, id, at)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetSession(%s) = %v", id, err)
		}
		return err == nil
	}
	insert("a-session-id", 5, "admin@acme.test")
	insert("b-session-id", 5, "")
	insert("c-session-id", 6, "other@beta.test")

	s, err := db.GetSession(ctx, "a-session-id", t0)
	if err != nil || s.PortalID != 5 || s.UserID != 7 || s.UserEmail != "admin@acme.test" || !s.CreatedAt.Equal(t0) || !s.ExpiresAt.Equal(t0.Add(12*time.Hour)) {
		t.Fatalf("GetSession() = %+v, %v", s, err)
	}
	if valid("a-session-id", t0.Add(12*time.Hour)) {
		t.Error("session valid at its expiry")
	}
	if valid("", t0) || valid("unknown", t0) {
		t.Error("an unknown or empty id is valid")
	}

	// Neither the id nor the email is stored in clear.
	var hashes, emails []string
	if err := sqlx.SelectContext(ctx, db.r, &hashes, `SELECT id_hash FROM admin_sessions`); err != nil {
		t.Fatal(err)
	}
	if err := sqlx.SelectContext(ctx, db.r, &emails, `SELECT user_email FROM admin_sessions`); err != nil {
		t.Fatal(err)
	}
	for _, v := range append(hashes, emails...) {
		if strings.Contains(v, "session-id") || strings.Contains(v, "@") {
			t.Errorf("stored %q, want neither a session id nor an email in clear", v)
		}
	}
	if len(hashes) != 3 || len(hashes[0]) != 64 {
		t.Errorf("id hashes = %q, want three SHA-256 hex digests", hashes)
	}

	// Sign-out ends one session.
	var ok bool
	write(t, db, func(tx *Tx) error { ok, err = tx.DeleteSession(ctx, "b-session-id"); return err })
	if !ok || valid("b-session-id", t0) || !valid("a-session-id", t0) {
		t.Errorf("after DeleteSession(b): deleted %v, b valid %v, a valid %v; want b alone gone", ok, valid("b-session-id", t0), valid("a-session-id", t0))
	}

	// Ending a portal's sessions ends them all, and only that portal's.
	n, err := db.EndPortalSessions(ctx, 5)
	if err != nil || n != 1 {
		t.Fatalf("EndPortalSessions(5) = %d, %v; want 1", n, err)
	}
	if valid("a-session-id", t0) || !valid("c-session-id", t0) {
		t.Error("EndPortalSessions(5) did not end portal 5's session alone")
	}
	// A new session after that works; ending again ends it.
	insert("d-session-id", 5, "")
	if !valid("d-session-id", t0) {
		t.Error("a session started after EndPortalSessions is refused")
	}
	if n, err := db.EndPortalSessions(ctx, 5); err != nil || n != 1 || valid("d-session-id", t0) {
		t.Errorf("second EndPortalSessions(5) = %d, %v, session still valid %v", n, err, valid("d-session-id", t0))
	}
	// A portal that never had a session can be ended too.
	if _, err := db.EndPortalSessions(ctx, 99); err != nil {
		t.Errorf("EndPortalSessions(99) = %v", err)
	}
}

// TestSessionGeneration: a row written under an older generation (a
// sign-in racing a removal on another replica) is refused even though it
// exists.
func TestSessionGeneration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	setClock(db, t0)
	write(t, db, func(tx *Tx) error {
		return tx.InsertSession(ctx, "stale", AdminSession{PortalID: 5, ExpiresAt: t0.Add(time.Hour)})
	})
	write(t, db, func(tx *Tx) error {
		_, err := tx.x.ExecContext(ctx, `INSERT INTO admin_session_generations (portal_id, generation, updated_at) VALUES (5, 1, 0)`)
		return err
	})
	if _, err := db.GetSession(ctx, "stale", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSession(older generation) = %v, want ErrNotFound", err)
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	setClock(db, t0)
	for i, exp := range []time.Duration{-time.Hour, -time.Minute, 0, time.Hour} {
		write(t, db, func(tx *Tx) error {
			return tx.InsertSession(ctx, "id"+string(rune('a'+i)), AdminSession{PortalID: 5, ExpiresAt: t0.Add(exp)})
		})
	}
	var n int64
	write(t, db, func(tx *Tx) error { var err error; n, err = tx.DeleteExpiredSessions(ctx, t0, 1); return err })
	if n != 1 {
		t.Errorf("DeleteExpiredSessions(limit 1) = %d, want 1", n)
	}
	write(t, db, func(tx *Tx) error { var err error; n, err = tx.DeleteExpiredSessions(ctx, t0, 100); return err })
	if n != 2 {
		t.Errorf("DeleteExpiredSessions() = %d, want the 2 other expired sessions", n)
	}
	if _, err := db.GetSession(ctx, "idd", t0); err != nil {
		t.Errorf("the live session was pruned: %v", err)
	}
}

// TestSessionAfterKeyRotation: a session sealed under a key the store no
// longer has is over (ErrNotFound, so the admin signs in again), not an
// error on every page.
func TestSessionAfterKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := storetest.URL(t)
	old := openTestDB(t, path, WithKeys(testKey("old"), nil))
	write(t, old, func(tx *Tx) error {
		return tx.InsertSession(ctx, "sealed-under-old", AdminSession{PortalID: 5, UserEmail: "a@b.c", ExpiresAt: time.Now().Add(time.Hour)})
	})
	rotated := openTestDB(t, path, WithKeys(testKey("new"), testKey("old")))
	if s, err := rotated.GetSession(ctx, "sealed-under-old", time.Now()); err != nil || s.UserEmail != "a@b.c" {
		t.Errorf("GetSession() with the old key as previous = %+v, %v", s, err)
	}
	dropped := openTestDB(t, path, WithKeys(testKey("new"), nil))
	if _, err := dropped.GetSession(ctx, "sealed-under-old", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSession() once the old key is dropped = %v, want ErrNotFound", err)
	}
}
