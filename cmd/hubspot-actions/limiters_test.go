package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// TestLimitersFollowTheStore: on PostgreSQL every budget's limiter is
// shared through the database and its idle rows are pruned; on SQLite it
// stays in-process.
func TestLimitersFollowTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	newLimiter, chores := limiters(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	l := newLimiter("hubspot", actions.Limit{Every: time.Second, Burst: 1})
	_, shared := l.(*actions.SharedLimiter)
	_, local := l.(*actions.LocalLimiter)
	if db.Postgres() {
		if !shared || len(chores) != 1 || chores[0].Name != "prune_rate_limits" {
			t.Errorf("limiters() on PostgreSQL = %T, %v chores, want a *actions.SharedLimiter and the prune chore", l, len(chores))
		}
		release, err := l.Acquire(ctx, "portal-1")
		if err != nil {
			t.Fatalf("Acquire() = %v", err)
		}
		release()
		if err := chores[0].Run(ctx); err != nil {
			t.Errorf("prune chore: %v", err)
		}
		return
	}
	if !local || len(chores) != 0 {
		t.Errorf("limiters() on SQLite = %T, %v chores, want a *actions.LocalLimiter and none", l, len(chores))
	}
}
