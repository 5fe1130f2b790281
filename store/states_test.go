package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStatesWorkOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	setClock(db, t0)
	write(t, db, func(tx *Tx) error {
		if err := tx.InsertState(ctx, State{Hash: "h1", Provider: "hubspot", ExpiresAt: t0.Add(10 * time.Minute)}); err != nil {
			return err
		}
		return tx.InsertState(ctx, State{Hash: "h2", Provider: "quickbooks", PortalID: 5, ExpiresAt: t0.Add(-time.Second)})
	})
	consume := func(hash, provider string) (State, error) {
		var s State
		err := db.Write(ctx, func(tx *Tx) error {
			var err error
			s, err = tx.ConsumeState(ctx, hash, provider)
			return err
		})
		return s, err
	}
	if _, err := consume("h1", "quickbooks"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ConsumeState(other provider) = %v, want ErrNotFound", err)
	}
	s, err := consume("h1", "hubspot")
	if err != nil || !s.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("ConsumeState(h1) = %+v, %v; want its expiry", s, err)
	}
	if _, err := consume("h1", "hubspot"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ConsumeState(h1) again = %v, want ErrNotFound", err)
	}
	var n int64
	write(t, db, func(tx *Tx) error {
		n, err = tx.DeleteExpiredStates(ctx, t0)
		return err
	})
	if n != 1 {
		t.Errorf("DeleteExpiredStates() = %d, want 1", n)
	}
}
