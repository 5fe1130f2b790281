package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrQuotaExhausted is returned by UseAppKey when the portal has used the
// app key's whole daily quota.
var ErrQuotaExhausted = errors.New("store: daily quota of the app key used up")

// appKeyUseDays is how many days of app-key counts are kept. Which
// executions were counted must outlive HubSpot's retries of one (up to 3
// days, across 4 calendar days), or a late retry would be counted again.
const appKeyUseDays = 5

// AppKeyUse is what UseAppKey counted.
type AppKeyUse struct {
	Day  string // the UTC day counted, YYYY-MM-DD
	Used int64  // executions of the portal counted that day, this one included
	// Again is set when the execution had already been counted (a retry):
	// nothing was added and Used is 0.
	Again bool
}

// UseAppKey counts one execution (callbackID) of a portal using provider's
// app-wide key against the portal's quota for the current UTC day, limit
// executions a day (limit < 1: no limit, only counted). An execution is
// counted once, whatever the day it runs again. The count and the record of
// the execution are one write: when the quota is used up it returns
// ErrQuotaExhausted and records nothing, so another process counting at the
// same moment can never take the portal past limit.
func (tx *Tx) UseAppKey(ctx context.Context, provider string, portalID int64, callbackID string, limit int64) (AppKeyUse, error) {
	day := tx.now.UTC().Format(time.DateOnly)
	fail := func(err error) (AppKeyUse, error) {
		return AppKeyUse{}, fmt.Errorf("store: count %s app key use of portal %d: %w", provider, portalID, err)
	}
	const mark = `INSERT INTO app_key_uses (provider, callback_id, portal_id, day) VALUES (?, ?, ?, ?)
		ON CONFLICT (provider, callback_id) DO NOTHING`
	res, err := tx.x.ExecContext(ctx, mark, provider, callbackID, portalID, day)
	if err != nil {
		return fail(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail(err)
	} else if n == 0 {
		return AppKeyUse{Day: day, Again: true}, nil
	}
	if limit < 1 {
		limit = 1<<63 - 1
	}
	// One statement takes the turn, so concurrent writers (several
	// processes on PostgreSQL) serialize on the counter's row.
	const count = `INSERT INTO app_key_quota (provider, portal_id, day, used) VALUES (?, ?, ?, 1)
		ON CONFLICT (provider, portal_id, day) DO UPDATE SET used = app_key_quota.used + 1
		WHERE app_key_quota.used < ?
		RETURNING used`
	var used int64
	rows, err := tx.x.QueryContext(ctx, count, provider, portalID, day, limit)
	if err != nil {
		return fail(err)
	}
	ok := rows.Next()
	if ok {
		err = rows.Scan(&used)
	}
	err = errors.Join(err, rows.Err(), rows.Close())
	if err != nil {
		return fail(err)
	}
	if !ok {
		// Undo the mark: the caller's write fails with this error anyway,
		// but a caller that goes on must not find the execution counted.
		const unmark = `DELETE FROM app_key_uses WHERE provider = ? AND callback_id = ?`
		if _, err := tx.x.ExecContext(ctx, unmark, provider, callbackID); err != nil {
			return fail(err)
		}
		return AppKeyUse{Day: day}, ErrQuotaExhausted
	}
	if used == 1 {
		// The portal's first use of the day: forget its old days.
		oldest := tx.now.UTC().AddDate(0, 0, -(appKeyUseDays - 1)).Format(time.DateOnly)
		const prune = `DELETE FROM app_key_uses WHERE provider = ? AND portal_id = ? AND day < ?`
		const pruneQuota = `DELETE FROM app_key_quota WHERE provider = ? AND portal_id = ? AND day < ?`
		for _, q := range []string{prune, pruneQuota} {
			if _, err := tx.x.ExecContext(ctx, q, provider, portalID, oldest); err != nil {
				return fail(err)
			}
		}
	}
	return AppKeyUse{Day: day, Used: used}, nil
}

// AppKeyUsed returns how many executions of a portal used provider's app
// key on the current UTC day.
func (db *DB) AppKeyUsed(ctx context.Context, provider string, portalID int64) (int64, error) {
	day := db.Now().Format(time.DateOnly)
	const q = `SELECT used FROM app_key_quota WHERE provider = ? AND portal_id = ? AND day = ?`
	var used int64
	err := db.r.QueryRowxContext(ctx, q, provider, portalID, day).Scan(&used)
	if err != nil && !errors.Is(mapErr(err), ErrNotFound) {
		return 0, fmt.Errorf("store: read %s app key use of portal %d: %w", provider, portalID, err)
	}
	return used, nil
}
