package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

type appSecretRow struct {
	Name   string `db:"name"`
	Secret string `db:"secret"` // sealed
	KeyID  string `db:"key_id"`
}

// AddAppSecret stores value, sealed, as the app's secret of that name unless
// one of that name exists, and returns the one stored (value, or the earlier
// one), in clear. A secret, once stored, never changes: key rotations re-seal
// it (see Reseal) but keep its value.
func (tx *Tx) AddAppSecret(ctx context.Context, name, value string) (string, error) {
	sealed, id, err := tx.keys.seal(value, appSecretPlace(name))
	if err != nil {
		return "", fmt.Errorf("store: add app secret %s: %w", name, err)
	}
	const ins = `INSERT INTO app_secrets (name, secret, key_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`
	if _, err := tx.x.ExecContext(ctx, ins, name, sealed, id, ms(tx.now)); err != nil {
		return "", fmt.Errorf("store: add app secret %s: %w", name, err)
	}
	const q = `SELECT name, secret, key_id FROM app_secrets WHERE name = ?`
	var r appSecretRow
	if err := sqlx.GetContext(ctx, tx.x, &r, q, name); err != nil {
		return "", fmt.Errorf("store: read app secret %s: %w", name, mapErr(err))
	}
	plain, err := tx.keys.open(r.Secret, r.KeyID, appSecretPlace(r.Name))
	if err != nil {
		return "", err
	}
	return plain, nil
}
