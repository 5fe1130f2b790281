package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
)

// Token is one portal's OAuth grant with one provider. AccessToken and
// RefreshToken are in clear here; the store seals them before they reach
// the database and opens them when GetToken reads them. ListTokens and
// ListPortalTokens leave them empty: listing grants never opens secrets.
type Token struct {
	PortalID     int64
	Provider     string
	AccountID    string    // the provider's id for the account (HubSpot: the hub id)
	AccountName  string    // a name to show (HubSpot: the hub domain)
	AccessToken  string    // in clear; never log it
	RefreshToken string    // in clear; never log it
	ExpiresAt    time.Time // of the access token
	// Version grows by one whenever the tokens change (install or refresh);
	// conditional updates on it let exactly one refresher win.
	Version int64
	// RefreshLockUntil is when the current refresher's claim lapses (or, after
	// a 429 from the token endpoint, when the next refresh may be tried).
	RefreshLockUntil time.Time
	Status           string // StatusActive, StatusNeedsReinstall, or (HubSpot grants) StatusUninstalled
	StatusReason     string
	UpdatedAt        time.Time
}

// String describes the grant without its tokens, so printing a Token
// (%v, %+v) never shows them.
func (t Token) String() string {
	return fmt.Sprintf("%s grant of portal %d (version %d, %s, expires %s)", t.Provider, t.PortalID, t.Version, t.Status, t.ExpiresAt.Format(time.RFC3339))
}

// LogValue logs the grant without its tokens.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("portal_id", t.PortalID), slog.String("provider", t.Provider),
		slog.Int64("version", t.Version), slog.String("status", t.Status), slog.Time("expires_at", t.ExpiresAt))
}

type tokenRow struct {
	PortalID         int64  `db:"portal_id"`
	Provider         string `db:"provider"`
	AccountID        string `db:"account_id"`
	AccountName      string `db:"account_name"`
	AccessToken      string `db:"access_token"`  // sealed
	RefreshToken     string `db:"refresh_token"` // sealed
	KeyID            string `db:"key_id"`
	ExpiresAt        int64  `db:"expires_at"`
	Version          int64  `db:"version"`
	RefreshLockUntil int64  `db:"refresh_lock_until"`
	Status           string `db:"status"`
	StatusReason     string `db:"status_reason"`
	UpdatedAt        int64  `db:"updated_at"`
}

const tokenColumns = `portal_id, provider, account_id, account_name, access_token, refresh_token, key_id,
	expires_at, version, refresh_lock_until, status, status_reason, updated_at`

// token is the row without its secrets; openToken adds them.
func (r tokenRow) token() Token {
	return Token{
		PortalID:         r.PortalID,
		Provider:         r.Provider,
		AccountID:        r.AccountID,
		AccountName:      r.AccountName,
		ExpiresAt:        fromMS(r.ExpiresAt),
		Version:          r.Version,
		RefreshLockUntil: fromMS(r.RefreshLockUntil),
		Status:           r.Status,
		StatusReason:     r.StatusReason,
		UpdatedAt:        fromMS(r.UpdatedAt),
	}
}

func getToken(ctx context.Context, q sqlx.QueryerContext, keys *keyring, portalID int64, provider string) (Token, error) {
	const sel = `SELECT ` + tokenColumns + ` FROM oauth_tokens WHERE portal_id = ? AND provider = ?`
	var r tokenRow
	if err := sqlx.GetContext(ctx, q, &r, sel, portalID, provider); err != nil {
		return Token{}, fmt.Errorf("store: get %s token for portal %d: %w", provider, portalID, mapErr(err))
	}
	return keys.openToken(r)
}

// GetToken returns a portal's grant with provider, its tokens opened, or
// ErrNotFound. It fails when the grant was sealed under a key the store was
// not given, and with ErrMisplaced when a stored token was sealed for
// another row (copied from another portal's, say).
func (db *DB) GetToken(ctx context.Context, portalID int64, provider string) (Token, error) {
	return getToken(ctx, db.r, db.keys, portalID, provider)
}

// GetToken is GetToken inside the write transaction.
func (tx *Tx) GetToken(ctx context.Context, portalID int64, provider string) (Token, error) {
	return getToken(ctx, tx.x, tx.keys, portalID, provider)
}

// ListTokens returns provider's grants (every provider's when provider is
// empty), by portal, without their tokens.
func (db *DB) ListTokens(ctx context.Context, provider string) ([]Token, error) {
	const all = `SELECT ` + tokenColumns + ` FROM oauth_tokens ORDER BY portal_id, provider`
	const one = `SELECT ` + tokenColumns + ` FROM oauth_tokens WHERE provider = ? ORDER BY portal_id`
	q, args := all, []any{}
	if provider != "" {
		q, args = one, []any{provider}
	}
	var rows []tokenRow
	if err := sqlx.SelectContext(ctx, db.r, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("store: list %s tokens: %w", provider, err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// ListPortalTokens returns every grant of one portal, by provider, without
// their tokens.
func (db *DB) ListPortalTokens(ctx context.Context, portalID int64) ([]Token, error) {
	const q = `SELECT ` + tokenColumns + ` FROM oauth_tokens WHERE portal_id = ? ORDER BY provider`
	var rows []tokenRow
	if err := sqlx.SelectContext(ctx, db.r, &rows, q, portalID); err != nil {
		return nil, fmt.Errorf("store: list tokens of portal %d: %w", portalID, err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// SaveToken records a new grant (an install or a reconnect), replacing any
// earlier one of the same portal and provider. The version grows, which makes
// any refresh in flight for the old grant lose; the status goes back to
// active and any refresh lock is dropped. It returns the new version. The
// tokens are sealed under the current key.
func (tx *Tx) SaveToken(ctx context.Context, t Token) (int64, error) {
	// HubSpot's own grant is left alone: an install makes the portal
	// active in the same write, and an uninstall refreshes it to call
	// HubSpot's uninstall API.
	if t.Provider != "hubspot" {
		if err := tx.takesSecrets(ctx, t.PortalID); err != nil {
			return 0, err
		}
	}
	r, err := tx.keys.sealToken(t)
	if err != nil {
		return 0, fmt.Errorf("store: save %s token for portal %d: %w", t.Provider, t.PortalID, err)
	}
	const q = `INSERT INTO oauth_tokens (portal_id, provider, account_id, account_name, access_token,
		refresh_token, key_id, expires_at, version, refresh_lock_until, status, status_reason, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0, 'active', '', ?)
		ON CONFLICT (portal_id, provider) DO UPDATE SET account_id = excluded.account_id,
			account_name = excluded.account_name, access_token = excluded.access_token,
			refresh_token = excluded.refresh_token, key_id = excluded.key_id, expires_at = excluded.expires_at,
			version = oauth_tokens.version + 1, refresh_lock_until = 0, status = 'active', status_reason = '',
			updated_at = excluded.updated_at
		RETURNING version`
	var version int64
	err = tx.x.QueryRowxContext(ctx, q, r.PortalID, r.Provider, r.AccountID, r.AccountName, r.AccessToken,
		r.RefreshToken, r.KeyID, r.ExpiresAt, ms(tx.now)).Scan(&version)
	if err != nil {
		return 0, fmt.Errorf("store: save %s token for portal %d: %w", t.Provider, t.PortalID, mapErr(err))
	}
	return version, nil
}

// LockTokenRefresh claims the right to refresh a grant: it succeeds only
// while the grant is active, still at version, and nobody else's claim runs
// past now. The claim lasts until the given time.
func (tx *Tx) LockTokenRefresh(ctx context.Context, portalID int64, provider string, version int64, now, until time.Time) (bool, error) {
	const q = `UPDATE oauth_tokens SET refresh_lock_until = ?
		WHERE portal_id = ? AND provider = ? AND version = ? AND refresh_lock_until <= ? AND status = 'active'`
	return tx.execOne(ctx, fmt.Sprintf("lock %s token refresh for portal %d", provider, portalID), q,
		ms(until), portalID, provider, version, ms(now))
}

// UpdateRefreshedToken stores the outcome of a refresh claimed at version:
// the new tokens (sealed under the current key) and expiry, version+1, and
// no lock. It reports false, and changes nothing, when the grant moved on
// meanwhile.
func (tx *Tx) UpdateRefreshedToken(ctx context.Context, t Token, version int64) (bool, error) {
	r, err := tx.keys.sealToken(t)
	if err != nil {
		return false, fmt.Errorf("store: update refreshed %s token for portal %d: %w", t.Provider, t.PortalID, err)
	}
	const q = `UPDATE oauth_tokens SET access_token = ?, refresh_token = ?, key_id = ?, expires_at = ?,
		version = version + 1, refresh_lock_until = 0, updated_at = ?
		WHERE portal_id = ? AND provider = ? AND version = ?`
	return tx.execOne(ctx, fmt.Sprintf("update refreshed %s token for portal %d", t.Provider, t.PortalID), q,
		r.AccessToken, r.RefreshToken, r.KeyID, r.ExpiresAt, ms(tx.now), t.PortalID, t.Provider, version)
}

// ReleaseTokenRefresh ends a refresh claim at version without new tokens;
// no one may try again before retryAt (the zero time: at once).
func (tx *Tx) ReleaseTokenRefresh(ctx context.Context, portalID int64, provider string, version int64, retryAt time.Time) (bool, error) {
	const q = `UPDATE oauth_tokens SET refresh_lock_until = ? WHERE portal_id = ? AND provider = ? AND version = ?`
	return tx.execOne(ctx, fmt.Sprintf("release %s token refresh for portal %d", provider, portalID), q,
		msOrZero(retryAt), portalID, provider, version)
}

// MarkTokenStatus sets the status of a grant still at version, says why and
// drops any refresh lock. It reports false when the grant moved on (a
// reinstall, say) and was left alone.
func (tx *Tx) MarkTokenStatus(ctx context.Context, portalID int64, provider string, version int64, status, reason string) (bool, error) {
	const q = `UPDATE oauth_tokens SET status = ?, status_reason = ?, refresh_lock_until = 0, updated_at = ?
		WHERE portal_id = ? AND provider = ? AND version = ?`
	return tx.execOne(ctx, fmt.Sprintf("mark %s token of portal %d %s", provider, portalID, status), q,
		status, truncate(reason, 1000), ms(tx.now), portalID, provider, version)
}

// DeleteToken deletes a portal's grant with provider and reports whether
// there was one.
func (tx *Tx) DeleteToken(ctx context.Context, portalID int64, provider string) (bool, error) {
	const q = `DELETE FROM oauth_tokens WHERE portal_id = ? AND provider = ?`
	return tx.execOne(ctx, fmt.Sprintf("delete %s token of portal %d", provider, portalID), q, portalID, provider)
}

// DeleteTokens deletes every grant of a portal and returns how many went.
func (tx *Tx) DeleteTokens(ctx context.Context, portalID int64) (int64, error) {
	const q = `DELETE FROM oauth_tokens WHERE portal_id = ?`
	res, err := tx.x.ExecContext(ctx, q, portalID)
	if err != nil {
		return 0, fmt.Errorf("store: delete tokens of portal %d: %w", portalID, err)
	}
	return res.RowsAffected()
}
