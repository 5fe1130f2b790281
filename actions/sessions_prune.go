package actions

import (
	"context"
	"time"

	"hubspot-actions/store"
)

// pruneSessions deletes the admin sessions that have expired, in batches,
// from the periodic prune job: off the request path, and on whichever
// replica runs the job (the sessions live in the database).
func (rt *Runtime) pruneSessions(ctx context.Context) error {
	now := rt.now()
	var total int64
	for {
		var n int64
		err := rt.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.DeleteExpiredSessions(ctx, now, pruneBatch)
			return err
		})
		if err != nil {
			return err
		}
		total += n
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		rt.log.Info("pruned expired admin sessions", "deleted", total, "expired_before", now.Format(time.RFC3339))
	}
	return nil
}
