package store

import (
	"context"
	"fmt"
	"time"
)

// State is an OAuth state value waiting for its callback. Only a hash of
// the value is stored.
type State struct {
	Hash      string
	Provider  string
	PortalID  int64 // the portal the flow was started for, or 0 (a HubSpot install)
	ExpiresAt time.Time
}

// InsertState records a state that works once, until it expires.
func (tx *Tx) InsertState(ctx context.Context, s State) error {
	const q = `INSERT INTO oauth_states (state_hash, provider, portal_id, expires_at) VALUES (?, ?, ?, ?)`
	if _, err := tx.x.ExecContext(ctx, q, s.Hash, s.Provider, s.PortalID, ms(s.ExpiresAt)); err != nil {
		return fmt.Errorf("store: insert %s state: %w", s.Provider, mapErr(err))
	}
	return nil
}

// ConsumeState deletes the state with the given hash and provider and
// returns it, so that it cannot be used again. It returns ErrNotFound when
// there is no such state (never issued, or used already); the caller checks
// ExpiresAt.
func (tx *Tx) ConsumeState(ctx context.Context, hash, provider string) (State, error) {
	const q = `DELETE FROM oauth_states WHERE state_hash = ? AND provider = ?
		RETURNING state_hash, provider, portal_id, expires_at`
	var r struct {
		Hash      string `db:"state_hash"`
		Provider  string `db:"provider"`
		PortalID  int64  `db:"portal_id"`
		ExpiresAt int64  `db:"expires_at"`
	}
	if err := tx.x.QueryRowxContext(ctx, q, hash, provider).StructScan(&r); err != nil {
		return State{}, fmt.Errorf("store: consume %s state: %w", provider, mapErr(err))
	}
	return State{Hash: r.Hash, Provider: r.Provider, PortalID: r.PortalID, ExpiresAt: fromMS(r.ExpiresAt)}, nil
}

// DeleteExpiredStates deletes at most limit states that expired before the
// given time and returns how many went. It is background work (the prune
// job), never done on a request: the bounded batch, found through the
// oauth_states_expires index, keeps each call short however many states a
// flood of install requests left behind.
func (tx *Tx) DeleteExpiredStates(ctx context.Context, before time.Time, limit int) (int64, error) {
	const q = `DELETE FROM oauth_states WHERE state_hash IN (
		SELECT state_hash FROM oauth_states WHERE expires_at < ? LIMIT ?)`
	res, err := tx.x.ExecContext(ctx, q, ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired states: %w", err)
	}
	return res.RowsAffected()
}
