package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// RecordProperties returns the properties the app last made sure exist in
// a portal for objectType (a CRM name such as "contacts"), sorted; none
// when it never did, or forgot.
func (db *DB) RecordProperties(ctx context.Context, portalID int64, objectType string) ([]string, error) {
	const q = `SELECT properties FROM record_properties WHERE portal_id = ? AND object_type = ?`
	var names string
	err := sqlx.GetContext(ctx, db.r, &names, q, portalID, objectType)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read record properties of portal %d, %s: %w", portalID, objectType, err)
	}
	return strings.Fields(names), nil
}

// SaveRecordProperties records that the named properties exist in a
// portal for objectType, replacing what was recorded.
func (tx *Tx) SaveRecordProperties(ctx context.Context, portalID int64, objectType string, names []string) error {
	const q = `INSERT INTO record_properties (portal_id, object_type, properties, ensured_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (portal_id, object_type) DO UPDATE SET properties = excluded.properties, ensured_at = excluded.ensured_at`
	if _, err := tx.x.ExecContext(ctx, q, portalID, objectType, strings.Join(names, " "), ms(tx.now)); err != nil {
		return fmt.Errorf("store: save record properties of portal %d, %s: %w", portalID, objectType, mapErr(err))
	}
	return nil
}

// ForgetRecordProperties forgets what SaveRecordProperties recorded for a
// portal's objectType (an admin deleted a property), so that the next save
// makes sure of them again.
func (tx *Tx) ForgetRecordProperties(ctx context.Context, portalID int64, objectType string) error {
	const q = `DELETE FROM record_properties WHERE portal_id = ? AND object_type = ?`
	if _, err := tx.x.ExecContext(ctx, q, portalID, objectType); err != nil {
		return fmt.Errorf("store: forget record properties of portal %d, %s: %w", portalID, objectType, err)
	}
	return nil
}
