package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// AdminSession is a signed-in admin of one portal's settings pages. The
// session's id (the cookie's value) is never stored: rows are keyed by its
// SHA-256, and UserEmail is sealed.
type AdminSession struct {
	PortalID  int64
	UserID    int64
	UserEmail string
	CreatedAt time.Time
	ExpiresAt time.Time
}

type adminSessionRow struct {
	PortalID  int64  `db:"portal_id"`
	UserID    int64  `db:"user_id"`
	UserEmail string `db:"user_email"` // sealed, or ''
	KeyID     string `db:"key_id"`
	CreatedAt int64  `db:"created_at"`
	ExpiresAt int64  `db:"expires_at"`
}

// sessionIDHash is what the table keeps of a session id.
func sessionIDHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// errEmptySessionID refuses an id that would make every empty cookie a key.
var errEmptySessionID = errors.New("store: empty session id")

// InsertSession records a new session under id (a random value of at
// least 128 bits the caller made; only its hash is stored), at its portal's
// current generation.
func (tx *Tx) InsertSession(ctx context.Context, id string, s AdminSession) error {
	if id == "" {
		return errEmptySessionID
	}
	email, keyID := "", ""
	if s.UserEmail != "" {
		var err error
		if email, keyID, err = tx.keys.seal(s.UserEmail, sessionPlace(s.PortalID, sessionIDHash(id))); err != nil {
			return fmt.Errorf("store: insert session of portal %d: %w", s.PortalID, err)
		}
	}
	const q = `INSERT INTO admin_sessions (id_hash, portal_id, user_id, user_email, key_id, generation, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, COALESCE((SELECT generation FROM admin_session_generations WHERE portal_id = ?), 0), ?, ?)`
	_, err := tx.x.ExecContext(ctx, q, sessionIDHash(id), s.PortalID, s.UserID, email, keyID, s.PortalID, ms(tx.now), ms(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: insert session of portal %d: %w", s.PortalID, mapErr(err))
	}
	return nil
}

// GetSession returns the session with the given id if it is valid at now:
// its row exists, it has not expired and it carries its portal's current
// generation. Otherwise it returns ErrNotFound, as it does for a session
// sealed under a key the store was not given.
func (db *DB) GetSession(ctx context.Context, id string, now time.Time) (AdminSession, error) {
	if id == "" {
		return AdminSession{}, fmt.Errorf("store: get session: %w", ErrNotFound)
	}
	const q = `SELECT s.portal_id, s.user_id, s.user_email, s.key_id, s.created_at, s.expires_at
		FROM admin_sessions s LEFT JOIN admin_session_generations g ON g.portal_id = s.portal_id
		WHERE s.id_hash = ? AND s.expires_at > ? AND s.generation = COALESCE(g.generation, 0)`
	var r adminSessionRow
	if err := sqlx.GetContext(ctx, db.r, &r, q, sessionIDHash(id), ms(now)); err != nil {
		return AdminSession{}, fmt.Errorf("store: get session: %w", mapErr(err))
	}
	s := AdminSession{PortalID: r.PortalID, UserID: r.UserID, CreatedAt: fromMS(r.CreatedAt), ExpiresAt: fromMS(r.ExpiresAt)}
	if r.UserEmail != "" {
		var err error
		if s.UserEmail, err = db.keys.open(r.UserEmail, r.KeyID, sessionPlace(r.PortalID, sessionIDHash(id))); err != nil {
			// Sealed under a key the store no longer has (a rotation
			// finished within the session's 12 hours; Reseal leaves
			// short-lived sessions alone): the session is over, and the
			// admin signs in again.
			return AdminSession{}, fmt.Errorf("store: open session of portal %d: %v: %w", r.PortalID, err, ErrNotFound)
		}
	}
	return s, nil
}

// DeleteSession ends one session (sign-out) and reports whether it
// existed.
func (tx *Tx) DeleteSession(ctx context.Context, id string) (bool, error) {
	const q = `DELETE FROM admin_sessions WHERE id_hash = ?`
	return tx.execOne(ctx, "delete session", q, sessionIDHash(id))
}

// EndPortalSessions ends every session of a portal: it raises the portal's
// generation, which refuses every session written before, and deletes
// their rows. It returns how many rows went.
func (tx *Tx) EndPortalSessions(ctx context.Context, portalID int64) (int64, error) {
	const bump = `INSERT INTO admin_session_generations (portal_id, generation, updated_at) VALUES (?, 1, ?)
		ON CONFLICT (portal_id) DO UPDATE SET generation = admin_session_generations.generation + 1,
			updated_at = excluded.updated_at`
	if _, err := tx.x.ExecContext(ctx, bump, portalID, ms(tx.now)); err != nil {
		return 0, fmt.Errorf("store: end sessions of portal %d: %w", portalID, mapErr(err))
	}
	const del = `DELETE FROM admin_sessions WHERE portal_id = ?`
	res, err := tx.x.ExecContext(ctx, del, portalID)
	if err != nil {
		return 0, fmt.Errorf("store: end sessions of portal %d: %w", portalID, err)
	}
	return res.RowsAffected()
}

// EndUserSessions ends every session one HubSpot user has in a portal
// (deletes their rows), leaving the portal's other admins signed in. It
// returns how many rows went.
func (tx *Tx) EndUserSessions(ctx context.Context, portalID, userID int64) (int64, error) {
	const del = `DELETE FROM admin_sessions WHERE portal_id = ? AND user_id = ?`
	res, err := tx.x.ExecContext(ctx, del, portalID, userID)
	if err != nil {
		return 0, fmt.Errorf("store: end sessions of user %d in portal %d: %w", userID, portalID, mapErr(err))
	}
	return res.RowsAffected()
}

// EndPortalSessions is Tx.EndPortalSessions in a write of its own.
func (db *DB) EndPortalSessions(ctx context.Context, portalID int64) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.EndPortalSessions(ctx, portalID)
		return err
	})
	return n, err
}

// DeleteExpiredSessions deletes up to limit sessions that expired before
// the given time and returns how many went.
func (tx *Tx) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error) {
	const q = `DELETE FROM admin_sessions WHERE id_hash IN
		(SELECT id_hash FROM admin_sessions WHERE expires_at <= ? LIMIT ?)`
	res, err := tx.x.ExecContext(ctx, q, ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// CountSessions returns how many session rows a portal has, expired ones
// included (they go when pruned).
func (db *DB) CountSessions(ctx context.Context, portalID int64) (int, error) {
	const q = `SELECT COUNT(*) FROM admin_sessions WHERE portal_id = ?`
	var n int
	if err := db.r.QueryRowxContext(ctx, q, portalID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count sessions of portal %d: %w", portalID, err)
	}
	return n, nil
}
