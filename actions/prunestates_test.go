package actions_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/store"
)

// TestPruneJobDeletesExpiredStates: the periodic prune job deletes expired
// OAuth states, more than one batch of them, and keeps the live ones.
func TestPruneJobDeletesExpiredStates(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{PruneEvery: 100 * time.Millisecond})
	ctx := context.Background()
	now := time.Now()
	const expired = 1234 // more than one batch of 500
	err := h.DB.Write(ctx, func(tx *store.Tx) error {
		for i := range expired {
			s := store.State{Hash: fmt.Sprintf("old-%d", i), Provider: "hubspot", ExpiresAt: now.Add(-time.Minute)}
			if err := tx.InsertState(ctx, s); err != nil {
				return err
			}
		}
		return tx.InsertState(ctx, store.State{Hash: "live", Provider: "quickbooks", PortalID: 7, ExpiresAt: now.Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := h.DB.SQL().QueryRowContext(ctx, `SELECT count(*) FROM oauth_states`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && count() > 1; {
		time.Sleep(50 * time.Millisecond)
	}
	if n := count(); n != 1 {
		t.Fatalf("oauth_states rows after pruning = %d, want 1 (the live state)", n)
	}
	err = h.DB.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ConsumeState(ctx, "live", "quickbooks")
		return err
	})
	if err != nil {
		t.Errorf("ConsumeState(live) = %v, want it kept by the prune job", err)
	}
}
