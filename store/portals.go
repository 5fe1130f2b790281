package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Connection statuses, shared by portals and OAuth grants.
const (
	// StatusActive: the portal (or grant) can be called.
	StatusActive = "active"
	// StatusNeedsReinstall: HubSpot (or the provider) rejected the refresh
	// token; an admin must install or connect again.
	StatusNeedsReinstall = "needs_reinstall"
	// StatusRemoved: an operator removed the portal; its secrets are gone.
	// (Older releases' "portals remove"; uninstalls now end uninstalled.)
	StatusRemoved = "removed"
	// StatusUninstalling: an uninstall was asked for and has not finished;
	// the portal runs no actions. Running the uninstall again finishes it.
	StatusUninstalling = "uninstalling"
	// StatusUninstalled: the app is no longer installed in the portal
	// (uninstalled from here, or in HubSpot: its refresh token was
	// rejected). The portal runs no actions; what secrets remain are
	// deleted after the grace period, and a reinstall makes it active.
	StatusUninstalled = "uninstalled"
)

// Portal is a HubSpot account that installed the app.
type Portal struct {
	PortalID         int64
	HubDomain        string
	InstalledByEmail string
	InstalledByID    int64
	Scopes           []string // granted scopes
	Status           string   // StatusActive, StatusUninstalling, StatusUninstalled (or, from older releases, StatusNeedsReinstall, StatusRemoved)
	StatusReason     string
	InstalledAt      time.Time // first install
	UpdatedAt        time.Time
	// UninstalledAt is when the uninstall was asked for or noticed; zero
	// while installed.
	UninstalledAt time.Time
}

type portalRow struct {
	PortalID         int64  `db:"portal_id"`
	HubDomain        string `db:"hub_domain"`
	InstalledByEmail string `db:"installed_by_email"`
	InstalledByID    int64  `db:"installed_by_id"`
	Scopes           string `db:"scopes"`
	Status           string `db:"status"`
	StatusReason     string `db:"status_reason"`
	InstalledAt      int64  `db:"installed_at"`
	UpdatedAt        int64  `db:"updated_at"`
	UninstalledAt    int64  `db:"uninstalled_at"`
}

const portalColumns = `portal_id, hub_domain, installed_by_email, installed_by_id, scopes, status, status_reason, installed_at, updated_at, uninstalled_at`

func (r portalRow) portal() Portal {
	return Portal{
		PortalID:         r.PortalID,
		HubDomain:        r.HubDomain,
		InstalledByEmail: r.InstalledByEmail,
		InstalledByID:    r.InstalledByID,
		Scopes:           strings.Fields(r.Scopes),
		Status:           r.Status,
		StatusReason:     r.StatusReason,
		InstalledAt:      fromMS(r.InstalledAt),
		UpdatedAt:        fromMS(r.UpdatedAt),
		UninstalledAt:    fromMS(r.UninstalledAt),
	}
}

// UpsertPortal records an install. A reinstall updates the same row: the
// installer, domain and scopes are replaced and the status goes back to
// active (an uninstall is forgotten); InstalledAt keeps the first
// install's time.
func (tx *Tx) UpsertPortal(ctx context.Context, p Portal) error {
	const q = `INSERT INTO portals (portal_id, hub_domain, installed_by_email, installed_by_id, scopes,
		status, status_reason, installed_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'active', '', ?, ?)
		ON CONFLICT (portal_id) DO UPDATE SET hub_domain = excluded.hub_domain,
			installed_by_email = excluded.installed_by_email, installed_by_id = excluded.installed_by_id,
			scopes = excluded.scopes, status = 'active', status_reason = '', updated_at = excluded.updated_at,
			uninstalled_at = 0`
	now := ms(tx.now)
	if _, err := tx.x.ExecContext(ctx, q, p.PortalID, p.HubDomain, p.InstalledByEmail, p.InstalledByID,
		strings.Join(p.Scopes, " "), now, now); err != nil {
		return fmt.Errorf("store: upsert portal %d: %w", p.PortalID, mapErr(err))
	}
	return nil
}

// SetPortalStatus changes a portal's status and says why. It returns
// ErrNotFound when the portal is unknown.
func (tx *Tx) SetPortalStatus(ctx context.Context, portalID int64, status, reason string) error {
	const q = `UPDATE portals SET status = ?, status_reason = ?, updated_at = ? WHERE portal_id = ?`
	ok, err := tx.execOne(ctx, fmt.Sprintf("set portal %d status", portalID), q, status, truncate(reason, 1000), ms(tx.now), portalID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("store: set portal %d status: %w", portalID, ErrNotFound)
	}
	return nil
}

func getPortal(ctx context.Context, q sqlx.QueryerContext, portalID int64) (Portal, error) {
	const sel = `SELECT ` + portalColumns + ` FROM portals WHERE portal_id = ?`
	var r portalRow
	if err := sqlx.GetContext(ctx, q, &r, sel, portalID); err != nil {
		return Portal{}, fmt.Errorf("store: get portal %d: %w", portalID, mapErr(err))
	}
	return r.portal(), nil
}

// GetPortal returns one portal, or ErrNotFound.
func (db *DB) GetPortal(ctx context.Context, portalID int64) (Portal, error) {
	return getPortal(ctx, db.r, portalID)
}

// GetPortal is GetPortal inside the write transaction.
func (tx *Tx) GetPortal(ctx context.Context, portalID int64) (Portal, error) {
	return getPortal(ctx, tx.x, portalID)
}

// ListPortals returns every portal that ever installed the app, by id.
func (db *DB) ListPortals(ctx context.Context) ([]Portal, error) {
	const q = `SELECT ` + portalColumns + ` FROM portals ORDER BY portal_id`
	var rows []portalRow
	if err := sqlx.SelectContext(ctx, db.r, &rows, q); err != nil {
		return nil, fmt.Errorf("store: list portals: %w", err)
	}
	out := make([]Portal, len(rows))
	for i, r := range rows {
		out[i] = r.portal()
	}
	return out, nil
}

// MarkPortalUninstalling records that the portal's uninstall has started,
// and why. UninstalledAt is set unless the portal was already uninstalled
// (or uninstalling), which keeps the first time. It returns ErrNotFound
// when the portal is unknown.
func (tx *Tx) MarkPortalUninstalling(ctx context.Context, portalID int64, reason string) error {
	return tx.markUninstall(ctx, portalID, StatusUninstalling, reason)
}

// MarkPortalUninstalled records that the app is no longer installed in the
// portal, and why; UninstalledAt as for MarkPortalUninstalling. It returns
// ErrNotFound when the portal is unknown.
func (tx *Tx) MarkPortalUninstalled(ctx context.Context, portalID int64, reason string) error {
	return tx.markUninstall(ctx, portalID, StatusUninstalled, reason)
}

func (tx *Tx) markUninstall(ctx context.Context, portalID int64, status, reason string) error {
	const q = `UPDATE portals SET status = ?, status_reason = ?, updated_at = ?,
		uninstalled_at = CASE WHEN status IN ('uninstalling', 'uninstalled') AND uninstalled_at <> 0 THEN uninstalled_at ELSE ? END
		WHERE portal_id = ?`
	now := ms(tx.now)
	ok, err := tx.execOne(ctx, fmt.Sprintf("mark portal %d %s", portalID, status), q, status, truncate(reason, 1000), now, now, portalID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("store: mark portal %d %s: %w", portalID, status, ErrNotFound)
	}
	return nil
}

// CancelUninstall makes a portal whose uninstall has started, and did
// nothing yet, active again. It reports false, and changes nothing, when
// the portal is not uninstalling.
func (tx *Tx) CancelUninstall(ctx context.Context, portalID int64) (bool, error) {
	const q = `UPDATE portals SET status = 'active', status_reason = '', updated_at = ?, uninstalled_at = 0
		WHERE portal_id = ? AND status = 'uninstalling'`
	return tx.execOne(ctx, fmt.Sprintf("cancel uninstall of portal %d", portalID), q, ms(tx.now), portalID)
}

// ListUninstalledWithSecrets returns, by id, the uninstalled portals whose
// uninstall was asked for or noticed at or before before and that still
// have an OAuth grant, an API key or a test-mode setting.
func (db *DB) ListUninstalledWithSecrets(ctx context.Context, before time.Time) ([]int64, error) {
	const q = `SELECT p.portal_id FROM portals p
		WHERE p.status = 'uninstalled' AND p.uninstalled_at <= ?
		AND (EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.portal_id = p.portal_id)
			OR EXISTS (SELECT 1 FROM api_keys k WHERE k.portal_id = p.portal_id)
			OR EXISTS (SELECT 1 FROM portal_test_modes m WHERE m.portal_id = p.portal_id))
		ORDER BY p.portal_id`
	var ids []int64
	if err := sqlx.SelectContext(ctx, db.r, &ids, q, ms(before)); err != nil {
		return nil, fmt.Errorf("store: list uninstalled portals with secrets: %w", err)
	}
	return ids, nil
}

// ListStalledUninstalls returns, by id, the portals still uninstalling
// whose row has not changed since before: an uninstall a crash (or a
// failure) left unfinished.
func (db *DB) ListStalledUninstalls(ctx context.Context, before time.Time) ([]int64, error) {
	const q = `SELECT portal_id FROM portals WHERE status = 'uninstalling' AND updated_at <= ? ORDER BY portal_id`
	var ids []int64
	if err := sqlx.SelectContext(ctx, db.r, &ids, q, ms(before)); err != nil {
		return nil, fmt.Errorf("store: list stalled uninstalls: %w", err)
	}
	return ids, nil
}

// takesSecrets refuses, with ErrPortalGone, a secret for a portal that is
// being or was uninstalled (or removed): checked in the write that saves
// the secret, so an uninstall's last write and the save never both win. A
// portal without a row (a test, a sandbox before its install) takes them.
func (tx *Tx) takesSecrets(ctx context.Context, portalID int64) error {
	var status string
	err := tx.x.QueryRowxContext(ctx, `SELECT status FROM portals WHERE portal_id = ?`, portalID).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("store: read portal %d: %w", portalID, mapErr(err))
	case status == StatusUninstalling || status == StatusUninstalled || status == StatusRemoved:
		return fmt.Errorf("store: portal %d is %s: %w", portalID, status, ErrPortalGone)
	}
	return nil
}
