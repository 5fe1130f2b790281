package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// TestMode is a portal's test-mode setting: while Enabled, the portal's
// new executions run against the providers' fakes. The zero value (no row)
// is off, never changed.
type TestMode struct {
	PortalID       int64
	Enabled        bool
	ChangedByID    int64
	ChangedByEmail string
	ChangedAt      time.Time // zero: never changed
}

type testModeRow struct {
	PortalID       int64  `db:"portal_id"`
	Enabled        int    `db:"enabled"`
	ChangedByID    int64  `db:"changed_by_id"`
	ChangedByEmail string `db:"changed_by_email"`
	ChangedAt      int64  `db:"changed_at"`
}

func getTestMode(ctx context.Context, q sqlx.QueryerContext, portalID int64) (TestMode, error) {
	const sel = `SELECT portal_id, enabled, changed_by_id, changed_by_email, changed_at FROM portal_test_modes WHERE portal_id = ?`
	var r testModeRow
	if err := sqlx.GetContext(ctx, q, &r, sel, portalID); err != nil {
		if err = mapErr(err); errors.Is(err, ErrNotFound) {
			return TestMode{PortalID: portalID}, nil
		}
		return TestMode{}, fmt.Errorf("store: get test mode of portal %d: %w", portalID, err)
	}
	return TestMode{PortalID: r.PortalID, Enabled: r.Enabled != 0, ChangedByID: r.ChangedByID,
		ChangedByEmail: r.ChangedByEmail, ChangedAt: fromMS(r.ChangedAt)}, nil
}

// GetTestMode returns the portal's test-mode setting; a portal that never
// changed it is off.
func (db *DB) GetTestMode(ctx context.Context, portalID int64) (TestMode, error) {
	return getTestMode(ctx, db.r, portalID)
}

// GetTestMode is GetTestMode inside the write transaction: what the
// runtime reads when it records an execution.
func (tx *Tx) GetTestMode(ctx context.Context, portalID int64) (TestMode, error) {
	return getTestMode(ctx, tx.x, portalID)
}

// SetTestMode switches the portal's test mode on or off on behalf of the
// admin byID, byEmail, at the transaction's time. Executions already
// recorded keep their mode. It returns ErrPortalGone for a portal that is
// being or was uninstalled.
func (tx *Tx) SetTestMode(ctx context.Context, portalID int64, enabled bool, byID int64, byEmail string) error {
	if err := tx.takesSecrets(ctx, portalID); err != nil {
		return err
	}
	const q = `INSERT INTO portal_test_modes (portal_id, enabled, changed_by_id, changed_by_email, changed_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (portal_id) DO UPDATE SET enabled = excluded.enabled, changed_by_id = excluded.changed_by_id,
			changed_by_email = excluded.changed_by_email, changed_at = excluded.changed_at`
	if _, err := tx.x.ExecContext(ctx, q, portalID, boolInt(enabled), byID, truncate(byEmail, 320), ms(tx.now)); err != nil {
		return fmt.Errorf("store: set test mode of portal %d: %w", portalID, mapErr(err))
	}
	return nil
}

// DeleteTestMode forgets the portal's test-mode setting (an uninstall's
// last write does it): the portal is live again, and who changed it last
// is no longer kept. It reports whether there was a setting.
func (tx *Tx) DeleteTestMode(ctx context.Context, portalID int64) (bool, error) {
	const q = `DELETE FROM portal_test_modes WHERE portal_id = ?`
	return tx.execOne(ctx, fmt.Sprintf("delete test mode of portal %d", portalID), q, portalID)
}
