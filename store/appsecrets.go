package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// AppSecret is a secret the app generated for itself, sealed.
type AppSecret struct {
	Name   string `db:"name"`
	Secret string `db:"secret"` // sealed
	KeyID  string `db:"key_id"`
}

// AddAppSecret stores a secret unless one of that name exists, and returns
// the one stored (the caller's, or the earlier one).
func (tx *Tx) AddAppSecret(ctx context.Context, s AppSecret) (AppSecret, error) {
	const ins = `INSERT INTO app_secrets (name, secret, key_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`
	if _, err := tx.x.ExecContext(ctx, ins, s.Name, s.Secret, s.KeyID, ms(tx.now)); err != nil {
		return AppSecret{}, fmt.Errorf("store: add app secret %s: %w", s.Name, err)
	}
	const q = `SELECT name, secret, key_id FROM app_secrets WHERE name = ?`
	var out AppSecret
	if err := sqlx.GetContext(ctx, tx.x, &out, q, s.Name); err != nil {
		return AppSecret{}, fmt.Errorf("store: read app secret %s: %w", s.Name, mapErr(err))
	}
	return out, nil
}

// AppSecretsNotUnder lists the app secrets sealed with a key other than
// keyID, for re-sealing after a key rotation.
func (db *DB) AppSecretsNotUnder(ctx context.Context, keyID string) ([]AppSecret, error) {
	const q = `SELECT name, secret, key_id FROM app_secrets WHERE key_id <> ? ORDER BY name`
	var out []AppSecret
	if err := sqlx.SelectContext(ctx, db.r, &out, q, keyID); err != nil {
		return nil, fmt.Errorf("store: list app secrets: %w", err)
	}
	return out, nil
}

// ResealAppSecret replaces a secret's ciphertext if it is still sealed
// under oldKeyID.
func (tx *Tx) ResealAppSecret(ctx context.Context, s AppSecret, oldKeyID string) error {
	const q = `UPDATE app_secrets SET secret = ?, key_id = ? WHERE name = ? AND key_id = ?`
	_, err := tx.execOne(ctx, "reseal app secret", q, s.Secret, s.KeyID, s.Name, oldKeyID)
	return err
}

// APIKeysNotUnder lists every portal's API keys sealed with a key other
// than keyID, for re-sealing after a key rotation.
func (db *DB) APIKeysNotUnder(ctx context.Context, keyID string) ([]APIKey, error) {
	const q = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE key_id <> ?`
	var rows []apiKeyRow
	if err := sqlx.SelectContext(ctx, db.r, &rows, q, keyID); err != nil {
		return nil, fmt.Errorf("store: list api keys to reseal: %w", err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.apiKey()
	}
	return out, nil
}

// ResealAPIKey replaces a key's ciphertext if it is still sealed under
// oldKeyID.
func (tx *Tx) ResealAPIKey(ctx context.Context, k APIKey, oldKeyID string) error {
	const q = `UPDATE api_keys SET secret = ?, key_id = ? WHERE portal_id = ? AND provider = ? AND key_id = ?`
	_, err := tx.execOne(ctx, "reseal api key", q, k.Secret, k.KeyID, k.PortalID, k.Provider, oldKeyID)
	return err
}
