package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTokenRefreshProtocol(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	setClock(db, t0)
	tok := Token{PortalID: 1, Provider: "hubspot", AccountID: "1", AccountName: "x.hubspot.com",
		AccessToken: "access-a1", RefreshToken: "refresh-r1", ExpiresAt: t0.Add(30 * time.Minute)}
	var v int64
	write(t, db, func(tx *Tx) error {
		var err error
		v, err = tx.SaveToken(ctx, tok)
		return err
	})
	if v != 1 {
		t.Fatalf("SaveToken() version = %d, want 1", v)
	}

	lock := func(version int64, now time.Time) bool {
		t.Helper()
		var ok bool
		write(t, db, func(tx *Tx) error {
			var err error
			ok, err = tx.LockTokenRefresh(ctx, 1, "hubspot", version, now, now.Add(time.Minute))
			return err
		})
		return ok
	}
	if !lock(1, t0) {
		t.Fatal("LockTokenRefresh(v1) = false, want true")
	}
	if lock(1, t0.Add(time.Second)) {
		t.Error("second LockTokenRefresh(v1) while held = true, want false")
	}
	if lock(2, t0.Add(2*time.Minute)) {
		t.Error("LockTokenRefresh(wrong version) = true, want false")
	}

	next := tok
	next.AccessToken, next.RefreshToken, next.ExpiresAt = "access-a2", "refresh-r2", t0.Add(time.Hour)
	var ok bool
	write(t, db, func(tx *Tx) error {
		var err error
		ok, err = tx.UpdateRefreshedToken(ctx, next, 1)
		return err
	})
	if !ok {
		t.Fatal("UpdateRefreshedToken(v1) = false, want true")
	}
	write(t, db, func(tx *Tx) error {
		var err error
		ok, err = tx.UpdateRefreshedToken(ctx, next, 1)
		return err
	})
	if ok {
		t.Error("UpdateRefreshedToken(stale v1) = true, want false")
	}
	got, err := db.GetToken(ctx, 1, "hubspot")
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	want := next
	want.Version, want.Status, want.UpdatedAt = 2, StatusActive, t0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetToken() mismatch (-want +got):\n%s", diff)
	}

	// A 429 backoff: released with a retry time, nobody may lock before it.
	if !lock(2, t0) {
		t.Fatal("LockTokenRefresh(v2) = false, want true")
	}
	write(t, db, func(tx *Tx) error {
		_, err := tx.ReleaseTokenRefresh(ctx, 1, "hubspot", 2, t0.Add(10*time.Second))
		return err
	})
	if lock(2, t0.Add(5*time.Second)) {
		t.Error("LockTokenRefresh during backoff = true, want false")
	}
	if !lock(2, t0.Add(10*time.Second)) {
		t.Error("LockTokenRefresh after backoff = false, want true")
	}

	write(t, db, func(tx *Tx) error {
		ok, err = tx.MarkTokenStatus(ctx, 1, "hubspot", 2, StatusNeedsReinstall, "invalid_grant")
		return err
	})
	if !ok {
		t.Fatal("MarkTokenStatus(v2) = false, want true")
	}
	if lock(2, t0.Add(time.Hour)) {
		t.Error("LockTokenRefresh on needs_reinstall grant = true, want false")
	}

	// A reinstall bumps the version and reactivates.
	write(t, db, func(tx *Tx) error {
		v, err = tx.SaveToken(ctx, tok)
		return err
	})
	got, _ = db.GetToken(ctx, 1, "hubspot")
	if v != 3 || got.Status != StatusActive || got.StatusReason != "" || !got.RefreshLockUntil.IsZero() {
		t.Errorf("after reinstall: version %d status %q reason %q lock %v, want 3 active, no reason, no lock", v, got.Status, got.StatusReason, got.RefreshLockUntil)
	}

	write(t, db, func(tx *Tx) error {
		_, err := tx.SaveToken(ctx, Token{PortalID: 1, Provider: "quickbooks", AccessToken: "a", RefreshToken: "r", ExpiresAt: t0})
		return err
	})
	all, err := db.ListTokens(ctx, "")
	if err != nil || len(all) != 2 {
		t.Errorf("ListTokens(all) = %d tokens, %v; want 2", len(all), err)
	}
	for _, tok := range all {
		if tok.AccessToken != "" || tok.RefreshToken != "" {
			t.Errorf("ListTokens() returned the tokens of %s grant of portal %d, want them left empty", tok.Provider, tok.PortalID)
		}
	}
	hs, err := db.ListTokens(ctx, "hubspot")
	if err != nil || len(hs) != 1 {
		t.Errorf("ListTokens(hubspot) = %d tokens, %v; want 1", len(hs), err)
	}
	var n int64
	write(t, db, func(tx *Tx) error {
		n, err = tx.DeleteTokens(ctx, 1)
		return err
	})
	if n != 2 {
		t.Errorf("DeleteTokens() = %d, want 2", n)
	}
	if _, err := db.GetToken(ctx, 1, "hubspot"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetToken after delete = %v, want ErrNotFound", err)
	}
}
