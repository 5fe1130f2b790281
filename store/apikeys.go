package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
)

// APIKey is a portal's API key for one provider (clearbit, stripe). Secret
// is the key in clear: the store seals it before it reaches the database and
// GetAPIKey opens it (ListAPIKeys leaves it empty). Hint is a masked form
// that is safe to show.
type APIKey struct {
	PortalID   int64
	Provider   string
	Secret     string // in clear; never log it
	Hint       string
	VerifiedAt time.Time
	UpdatedAt  time.Time
}

// String describes the key by its hint only, so printing an APIKey (%v,
// %+v) never shows the secret.
func (k APIKey) String() string {
	return fmt.Sprintf("%s key %s of portal %d", k.Provider, k.Hint, k.PortalID)
}

// LogValue logs the key by its hint only.
func (k APIKey) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("portal_id", k.PortalID), slog.String("provider", k.Provider), slog.String("hint", k.Hint))
}

type apiKeyRow struct {
	PortalID   int64  `db:"portal_id"`
	Provider   string `db:"provider"`
	Secret     string `db:"secret"` // sealed
	KeyID      string `db:"key_id"`
	Hint       string `db:"hint"`
	VerifiedAt int64  `db:"verified_at"`
	UpdatedAt  int64  `db:"updated_at"`
}

const apiKeyColumns = `portal_id, provider, secret, key_id, hint, verified_at, updated_at`

// apiKey is the row without its secret; openAPIKey adds it.
func (r apiKeyRow) apiKey() APIKey {
	return APIKey{
		PortalID:   r.PortalID,
		Provider:   r.Provider,
		Hint:       r.Hint,
		VerifiedAt: fromMS(r.VerifiedAt),
		UpdatedAt:  fromMS(r.UpdatedAt),
	}
}

// SaveAPIKey stores a portal's key for a provider, sealed under the current
// key, replacing any earlier one.
func (tx *Tx) SaveAPIKey(ctx context.Context, k APIKey) error {
	if err := tx.takesSecrets(ctx, k.PortalID); err != nil {
		return err
	}
	secret, id, err := tx.keys.seal(k.Secret, apiKeyPlace(k.PortalID, k.Provider))
	if err != nil {
		return fmt.Errorf("store: save %s key for portal %d: %w", k.Provider, k.PortalID, err)
	}
	const q = `INSERT INTO api_keys (portal_id, provider, secret, key_id, hint, verified_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (portal_id, provider) DO UPDATE SET secret = excluded.secret, key_id = excluded.key_id,
			hint = excluded.hint, verified_at = excluded.verified_at, updated_at = excluded.updated_at`
	_, err = tx.x.ExecContext(ctx, q, k.PortalID, k.Provider, secret, id, k.Hint, msOrZero(k.VerifiedAt), ms(tx.now))
	if err != nil {
		return fmt.Errorf("store: save %s key for portal %d: %w", k.Provider, k.PortalID, mapErr(err))
	}
	return nil
}

// GetAPIKey returns a portal's key for a provider, opened, or ErrNotFound.
// It fails when the key was sealed under a key the store was not given, and
// with ErrMisplaced when the stored value was sealed for another row.
func (db *DB) GetAPIKey(ctx context.Context, portalID int64, provider string) (APIKey, error) {
	const q = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE portal_id = ? AND provider = ?`
	var r apiKeyRow
	err := sqlx.GetContext(ctx, db.r, &r, q, portalID, provider)
	if err != nil {
		return APIKey{}, fmt.Errorf("store: get %s key for portal %d: %w", provider, portalID, mapErr(err))
	}
	k := r.apiKey()
	if k.Secret, err = db.keys.open(r.Secret, r.KeyID, apiKeyPlace(r.PortalID, r.Provider)); err != nil {
		return APIKey{}, err
	}
	return k, nil
}

// ListAPIKeys returns a portal's keys, by provider, without their secrets.
func (db *DB) ListAPIKeys(ctx context.Context, portalID int64) ([]APIKey, error) {
	const q = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE portal_id = ? ORDER BY provider`
	var rows []apiKeyRow
	if err := sqlx.SelectContext(ctx, db.r, &rows, q, portalID); err != nil {
		return nil, fmt.Errorf("store: list keys of portal %d: %w", portalID, err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.apiKey()
	}
	return out, nil
}

// DeleteAPIKey deletes a portal's key for a provider and reports whether
// there was one.
func (tx *Tx) DeleteAPIKey(ctx context.Context, portalID int64, provider string) (bool, error) {
	const q = `DELETE FROM api_keys WHERE portal_id = ? AND provider = ?`
	return tx.execOne(ctx, fmt.Sprintf("delete %s key of portal %d", provider, portalID), q, portalID, provider)
}

// DeleteAPIKeys deletes every key of a portal and returns how many went.
func (tx *Tx) DeleteAPIKeys(ctx context.Context, portalID int64) (int64, error) {
	const q = `DELETE FROM api_keys WHERE portal_id = ?`
	res, err := tx.x.ExecContext(ctx, q, portalID)
	if err != nil {
		return 0, fmt.Errorf("store: delete keys of portal %d: %w", portalID, err)
	}
	return res.RowsAffected()
}
