package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
		n, err = tx.DeleteExpiredStates(ctx, t0, 100)
		return err
	})
	if n != 1 {
		t.Errorf("DeleteExpiredStates() = %d, want 1", n)
	}
}

// TestDeleteExpiredStatesInBatches: each call deletes at most its limit,
// only expired states, and finds them through the expiry index.
func TestDeleteExpiredStatesInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	write(t, db, func(tx *Tx) error {
		for i := range 7 {
			if err := tx.InsertState(ctx, State{Hash: fmt.Sprintf("old%d", i), Provider: "hubspot", ExpiresAt: t0.Add(-time.Duration(i+1) * time.Second)}); err != nil {
				return err
			}
		}
		return tx.InsertState(ctx, State{Hash: "live", Provider: "hubspot", ExpiresAt: t0.Add(time.Minute)})
	})
	var got []int64
	for range 4 {
		write(t, db, func(tx *Tx) error {
			n, err := tx.DeleteExpiredStates(ctx, t0, 3)
			got = append(got, n)
			return err
		})
	}
	if want := []int64{3, 3, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("DeleteExpiredStates(limit 3) x4 = %v, want %v", got, want)
	}
	err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.ConsumeState(ctx, "live", "hubspot")
		return err
	})
	if err != nil {
		t.Errorf("ConsumeState(live) after pruning = %v, want the unexpired state kept", err)
	}
}

// TestStatesExpiryIndex: migration 0006 indexes oauth_states by expiry, and
// the pruning query uses it rather than scanning the table.
func TestStatesExpiryIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newSQLiteTestDB(t)
	var sqlText string
	err := db.SQL().QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'oauth_states_expires'`).Scan(&sqlText)
	if err != nil {
		t.Fatalf("index oauth_states_expires: %v", err)
	}
	if !strings.Contains(sqlText, "oauth_states (expires_at)") {
		t.Errorf("index oauth_states_expires = %q, want it on oauth_states (expires_at)", sqlText)
	}
	rows, err := db.SQL().QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT state_hash FROM oauth_states WHERE expires_at < ? LIMIT ?`, 1, 10)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("explain: %v", err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "oauth_states_expires") {
		t.Errorf("plan of the pruning query = %q, want it to use oauth_states_expires", p)
	}
}
