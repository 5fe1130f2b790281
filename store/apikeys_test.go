package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	setClock(db, t0)
	k := APIKey{PortalID: 3, Provider: "stripe", Secret: "sk_test_51Hx4242", Hint: "sk_test_…4242", VerifiedAt: t0}
	write(t, db, func(tx *Tx) error {
		if err := tx.SaveAPIKey(ctx, k); err != nil {
			return err
		}
		return tx.SaveAPIKey(ctx, APIKey{PortalID: 3, Provider: "clearbit", Secret: "sk_abcdabcd", Hint: "sk_…abcd"})
	})
	got, err := db.GetAPIKey(ctx, 3, "stripe")
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	want := k
	want.UpdatedAt = t0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetAPIKey() mismatch (-want +got):\n%s", diff)
	}
	list, err := db.ListAPIKeys(ctx, 3)
	if err != nil || len(list) != 2 || list[0].Provider != "clearbit" {
		t.Errorf("ListAPIKeys() = %+v, %v; want clearbit then stripe", list, err)
	}
	for _, k := range list {
		if k.Secret != "" {
			t.Errorf("ListAPIKeys() returned the %s key in clear, want it left empty", k.Provider)
		}
	}
	var ok bool
	var n int64
	write(t, db, func(tx *Tx) error {
		if ok, err = tx.DeleteAPIKey(ctx, 3, "clearbit"); err != nil {
			return err
		}
		n, err = tx.DeleteAPIKeys(ctx, 3)
		return err
	})
	if !ok || n != 1 {
		t.Errorf("DeleteAPIKey = %v, DeleteAPIKeys = %d; want true, 1", ok, n)
	}
	if _, err := db.GetAPIKey(ctx, 3, "stripe"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetAPIKey after delete = %v, want ErrNotFound", err)
	}
}
