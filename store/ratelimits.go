package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrSharedLimitsUnsupported is returned by the rate-limit methods on
// SQLite, where one process owns the file and keeps its limits in memory.
var ErrSharedLimitsUnsupported = errors.New("store: shared rate limits need PostgreSQL")

// RateTurn is what TakeRateTurn decided for one request.
type RateTurn struct {
	// Wait is how long until the request's turn (0: now).
	Wait time.Duration
	// Allowed is set when the turn was taken: it came within the allowed
	// wait. When it is not, nothing was reserved and Wait is the wait that
	// would have been needed.
	Allowed bool
	// TAT identifies the turn for GiveBackRateTurn.
	TAT int64
}

// TakeRateTurn takes key's next turn under the named limit, a generic cell
// rate algorithm of one turn every every and bursts of burst, in one
// statement, so that every process sharing the database shares the budget:
// the turn is max(tat + every - burst*every, paused_until), and it is taken
// (tat moves on by every) only when it is no later than now + maxWait. now
// is the caller's clock. every is rounded up to the microsecond.
func (db *DB) TakeRateTurn(ctx context.Context, name, key string, now time.Time, every time.Duration, burst int, maxWait time.Duration) (RateTurn, error) {
	if !db.Postgres() {
		return RateTurn{}, ErrSharedLimitsUnsupported
	}
	t := ceilMicros(every)
	span := t * int64(max(burst, 1))
	n := now.UnixMicro()
	// A new row is a full bucket: its turn is now at the latest.
	const q = `INSERT INTO rate_limits AS r (name, key, tat_us, paused_until_us, turn_us)
VALUES ($1, $2, $3::bigint + $4::bigint, 0, $3::bigint + $4::bigint - $5::bigint)
ON CONFLICT (name, key) DO UPDATE SET
  turn_us = greatest(greatest(r.tat_us, $3::bigint) + $4::bigint - $5::bigint, r.paused_until_us),
  tat_us = CASE WHEN greatest(greatest(r.tat_us, $3::bigint) + $4::bigint - $5::bigint, r.paused_until_us) <= $3::bigint + $6::bigint
    THEN greatest(r.tat_us, $3::bigint) + $4::bigint ELSE r.tat_us END
RETURNING turn_us, tat_us`
	var turn, tat int64
	if err := db.w.QueryRowxContext(ctx, q, name, key, n, t, span, maxWait.Microseconds()).Scan(&turn, &tat); err != nil {
		return RateTurn{}, fmt.Errorf("store: take rate turn of %s: %w", name, err)
	}
	wait := time.Duration(max(turn-n, 0)) * time.Microsecond
	return RateTurn{Wait: wait, Allowed: turn <= n+maxWait.Microseconds(), TAT: tat}, nil
}

// GiveBackRateTurn hands back a turn taken and not used (its wait was cut
// short), when no later turn of key was taken since: then the next request
// gets it. A turn with later ones behind it is kept, so that the budget is
// never exceeded.
func (db *DB) GiveBackRateTurn(ctx context.Context, name, key string, turn RateTurn, every time.Duration) error {
	if !db.Postgres() {
		return ErrSharedLimitsUnsupported
	}
	const q = `UPDATE rate_limits SET tat_us = tat_us - $3 WHERE name = $1 AND key = $2 AND tat_us = $4`
	if _, err := db.w.ExecContext(ctx, q, name, key, ceilMicros(every), turn.TAT); err != nil {
		return fmt.Errorf("store: give back rate turn of %s: %w", name, err)
	}
	return nil
}

// PauseRateLimit holds key's turns under the named limit until until; it
// never shortens a longer pause.
func (db *DB) PauseRateLimit(ctx context.Context, name, key string, now, until time.Time) error {
	if !db.Postgres() {
		return ErrSharedLimitsUnsupported
	}
	const q = `INSERT INTO rate_limits AS r (name, key, tat_us, paused_until_us, turn_us) VALUES ($1, $2, $3, $4, $3)
ON CONFLICT (name, key) DO UPDATE SET paused_until_us = greatest(r.paused_until_us, excluded.paused_until_us)`
	if _, err := db.w.ExecContext(ctx, q, name, key, now.UnixMicro(), until.UnixMicro()); err != nil {
		return fmt.Errorf("store: pause rate limit %s: %w", name, err)
	}
	return nil
}

// TakeRateLease takes one of key's slots under the named limit's cap of
// slots requests in flight, for holder, until expires (after which the
// slot is free again, so a process that died holding it cannot keep it).
// One statement: a slot is a row, so two processes can never hold the
// same one. It returns false when no free slot was found (all held, or
// another process took the one tried); the caller tries again later.
func (db *DB) TakeRateLease(ctx context.Context, name, key string, slots int, holder string, now, expires time.Time) (slot int, ok bool, err error) {
	if !db.Postgres() {
		return 0, false, ErrSharedLimitsUnsupported
	}
	const q = `INSERT INTO rate_limit_leases AS l (name, key, slot, holder, expires_us)
SELECT $1, $2, s, $3, $5 FROM generate_series(0, $6::int - 1) s
WHERE NOT EXISTS (SELECT 1 FROM rate_limit_leases h WHERE h.name = $1 AND h.key = $2 AND h.slot = s AND h.expires_us > $4)
ORDER BY random() LIMIT 1
ON CONFLICT (name, key, slot) DO UPDATE SET holder = excluded.holder, expires_us = excluded.expires_us
  WHERE l.expires_us <= $4
RETURNING slot`
	err = db.w.QueryRowxContext(ctx, q, name, key, holder, now.UnixMicro(), expires.UnixMicro(), slots).Scan(&slot)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: take rate lease of %s: %w", name, err)
	}
	return slot, true, nil
}

// ReleaseRateLease frees a slot taken by TakeRateLease, if holder still
// holds it.
func (db *DB) ReleaseRateLease(ctx context.Context, name, key string, slot int, holder string) error {
	if !db.Postgres() {
		return ErrSharedLimitsUnsupported
	}
	const q = `DELETE FROM rate_limit_leases WHERE name = $1 AND key = $2 AND slot = $3 AND holder = $4`
	if _, err := db.w.ExecContext(ctx, q, name, key, slot, holder); err != nil {
		return fmt.Errorf("store: release rate lease of %s: %w", name, err)
	}
	return nil
}

// PruneRateLimits deletes the rate-limit rows idle since before (their
// turns and pauses past, so a fresh row equals them) and the leases that
// expired before it, and returns how many rows went. On SQLite it does
// nothing.
func (db *DB) PruneRateLimits(ctx context.Context, before time.Time) (int64, error) {
	if !db.Postgres() {
		return 0, nil
	}
	b := before.UnixMicro()
	const q1 = `DELETE FROM rate_limits WHERE tat_us < $1 AND paused_until_us < $1`
	res, err := db.w.ExecContext(ctx, q1, b)
	if err != nil {
		return 0, fmt.Errorf("store: prune rate limits: %w", err)
	}
	n, _ := res.RowsAffected()
	const q2 = `DELETE FROM rate_limit_leases WHERE expires_us < $1`
	res, err = db.w.ExecContext(ctx, q2, b)
	if err != nil {
		return n, fmt.Errorf("store: prune rate leases: %w", err)
	}
	m, _ := res.RowsAffected()
	return n + m, nil
}

// ceilMicros is d in whole microseconds, rounded up (a limit rounded down
// would let more through than asked); 0 for d <= 0.
func ceilMicros(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}
