package store

import (
	"context"
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
	StatusRemoved = "removed"
)

// Portal is a HubSpot account that installed the app.
type Portal struct {
	PortalID         int64
	HubDomain        string
	InstalledByEmail string
	InstalledByID    int64
	Scopes           []string // granted scopes
	Status           string   // StatusActive, StatusNeedsReinstall or StatusRemoved
	StatusReason     string
	InstalledAt      time.Time // first install
	UpdatedAt        time.Time
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
}

const portalColumns = `portal_id, hub_domain, installed_by_email, installed_by_id, scopes, status, status_reason, installed_at, updated_at`

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
	}
}

// UpsertPortal records an install. A reinstall updates the same row: the
// installer, domain and scopes are replaced and the status goes back to
// active; InstalledAt keeps the first install's time.
func (tx *Tx) UpsertPortal(ctx context.Context, p Portal) error {
	const q = `INSERT INTO portals (portal_id, hub_domain, installed_by_email, installed_by_id, scopes,
		status, status_reason, installed_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'active', '', ?, ?)
		ON CONFLICT (portal_id) DO UPDATE SET hub_domain = excluded.hub_domain,
			installed_by_email = excluded.installed_by_email, installed_by_id = excluded.installed_by_id,
			scopes = excluded.scopes, status = 'active', status_reason = '', updated_at = excluded.updated_at`
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
