package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"golang.org/x/sync/singleflight"

	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// Uninstaller uninstalls the app from portals: the settings page's
// "Uninstall from HubSpot" button and `portals remove` both go through
// Uninstall. It also owns what follows an uninstall noticed in HubSpot (a
// refresh refused with invalid_grant): after the grace period the portal's
// secrets are deleted (Sweep). It is safe for concurrent use.
type Uninstaller struct {
	flow      *oauth.Flow
	db        *store.DB
	providers []Provider
	grace     time.Duration
	log       *slog.Logger
	now       func() time.Time
	// flights joins concurrent uninstalls of one portal in this process (a
	// double click), so one cannot undo what the other does.
	flights singleflight.Group
}

// Timing of Sweep.
const (
	// SweepUninstallsEvery is how often Sweep runs as a chore.
	SweepUninstallsEvery = 10 * time.Minute
	// stalledAfter: an uninstall still unfinished this long after its last
	// step is taken up again by Sweep (a crash, or HubSpot unreachable).
	stalledAfter = 15 * time.Minute
	// sweepBatch bounds the portals one Sweep handles of each kind, so it
	// ends well within its job's timeout (each may call HubSpot and the
	// providers); the next sweep takes the rest.
	sweepBatch = 20
	// sweepBudget: a sweep starts no new portal after running this long.
	sweepBudget = 30 * time.Second
	// idleAfter: an installed portal whose HubSpot access token expired
	// this long ago has not needed HubSpot since; Sweep renews its token,
	// once a day at most, so that an uninstall in HubSpot (which sends no
	// notice) is noticed by the refused refresh even when no action of the
	// portal ever calls HubSpot.
	idleAfter = 24 * time.Hour
	// idleBatch bounds the idle portals one Sweep renews (one token
	// request each, within sweepBudget): 14,400 a day.
	idleBatch = 100
)

// ErrUninstallIncomplete means the app was uninstalled in HubSpot (or was
// already), but deleting the portal's secrets here did not finish; the
// portal stays uninstalling, runs no actions, and running Uninstall again
// (or the next Sweep) finishes.
var ErrUninstallIncomplete = errors.New("the app is uninstalled in HubSpot, but deleting its secrets here did not finish")

// errReinstalled: the portal was reinstalled while its uninstall ran.
var errReinstalled = errors.New("the portal was reinstalled meanwhile; nothing more was deleted")

// NewUninstaller returns the uninstaller. providers are revoked upstream
// (Disconnector) and forget their keys (KeyProvider) at an uninstall; grace
// is how long a portal uninstalled in HubSpot keeps its secrets
// (UNINSTALLED_GRACE).
func NewUninstaller(flow *oauth.Flow, db *store.DB, providers []Provider, grace time.Duration, log *slog.Logger) *Uninstaller {
	return &Uninstaller{flow: flow, db: db, providers: providers, grace: grace, log: log.With("component", "uninstall"), now: time.Now}
}

// Uninstall is what Uninstall did.
type Uninstall struct {
	PortalID int64
	// HubSpot is what HubSpot's uninstall API did.
	HubSpot oauth.AppUninstall
	// RefreshRevoked is true when HubSpot revoked the refresh token;
	// RevokeNote says why not otherwise.
	RefreshRevoked bool
	RevokeNote     string
	// Disconnected lists the providers whose grant was revoked upstream and
	// deleted; NotRevoked those whose grant was deleted but could not be
	// revoked upstream.
	Disconnected []string
	NotRevoked   []string
	Grants       int  // OAuth grants deleted (HubSpot's and every provider's)
	APIKeys      int  // API keys deleted
	Sessions     int  // admin sessions ended (on every replica: they live in the store)
	Reinstalled  bool // the portal was reinstalled meanwhile: nothing was deleted
}

// Uninstall uninstalls the app from the portal, on behalf of by (who asked,
// for the record): it records the uninstall first (the portal runs no
// actions from then on), asks HubSpot to uninstall the app with the
// portal's token, revokes the HubSpot refresh token, revokes and deletes
// every provider connection, deletes every grant and API key, marks the
// portal uninstalled and ends its admin sessions. The history stays until
// the retention prunes it.
//
// Every step is idempotent, so a crash at any point is finished by running
// Uninstall again (Sweep does it for uninstalls left unfinished). When
// HubSpot cannot uninstall the app (unreachable, or refusing), nothing is
// deleted, the portal goes back to active if it was, and the error says
// so; past that point, errors wrap ErrUninstallIncomplete. An unknown
// portal is an error wrapping store.ErrNotFound.
func (u *Uninstaller) Uninstall(ctx context.Context, portalID int64, by string) (Uninstall, error) {
	v, err, _ := u.flights.Do(strconv.FormatInt(portalID, 10), func() (any, error) {
		return u.uninstall(ctx, portalID, by)
	})
	return v.(Uninstall), err
}

func (u *Uninstaller) uninstall(ctx context.Context, portalID int64, by string) (Uninstall, error) {
	r := Uninstall{PortalID: portalID}
	p, err := u.db.GetPortal(ctx, portalID)
	if err != nil {
		return r, fmt.Errorf("actions: uninstall portal %d: %w", portalID, err)
	}
	reason := "uninstalled by " + by
	if p.Status == store.StatusUninstalling && p.StatusReason != "" {
		reason = p.StatusReason // a re-run keeps who asked
	}
	if err := u.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkPortalUninstalling(ctx, portalID, reason) }); err != nil {
		return r, fmt.Errorf("actions: uninstall portal %d: record it: %w", portalID, err)
	}
	u.flow.Forget(portalID)
	r.HubSpot, err = u.flow.UninstallApp(ctx, portalID)
	if err != nil {
		if p.Status == store.StatusActive {
			if cerr := u.db.Write(ctx, func(tx *store.Tx) error { _, err := tx.CancelUninstall(ctx, portalID); return err }); cerr != nil {
				u.log.Error("cancel uninstall", "portal_id", portalID, "err", cerr)
			}
			u.flow.Forget(portalID)
		}
		return r, fmt.Errorf("actions: uninstall portal %d: HubSpot did not uninstall the app, so nothing was deleted: %w", portalID, err)
	}
	// The app is gone from HubSpot: its admins' sessions end now, before
	// the steps that may fail and leave the uninstall for the sweep.
	if n, err := u.db.EndPortalSessions(ctx, portalID); err != nil {
		u.log.Warn("end admin sessions after uninstall", "portal_id", portalID, "err", err)
	} else {
		r.Sessions += int(n)
	}
	r.RefreshRevoked, r.RevokeNote, err = u.flow.RevokeRefreshToken(ctx, portalID)
	if err != nil {
		// The app is uninstalled, which ends the grant at HubSpot anyway;
		// the token is deleted here next.
		u.log.Warn("revoke refresh token after uninstall", "portal_id", portalID, "err", err)
		r.RevokeNote = "HubSpot could not be reached to revoke the refresh token"
	}
	if err := u.deleteSecrets(ctx, portalID, reason, &r); err != nil {
		if errors.Is(err, errReinstalled) {
			r.Reinstalled = true
			return r, nil
		}
		return r, fmt.Errorf("actions: uninstall portal %d: %w: %w", portalID, ErrUninstallIncomplete, err)
	}
	u.log.Info("portal uninstalled", "portal_id", portalID, "hubspot_uninstalled", r.HubSpot.Uninstalled,
		"refresh_revoked", r.RefreshRevoked, "grants", r.Grants, "api_keys", r.APIKeys)
	return r, nil
}

// deleteSecrets revokes and deletes every provider connection of a portal
// being (or already) uninstalled, deletes its grants and keys, marks it
// uninstalled with reason and ends its sessions. It stops with
// errReinstalled, deleting nothing more, when the portal was reinstalled.
func (u *Uninstaller) deleteSecrets(ctx context.Context, portalID int64, reason string, r *Uninstall) error {
	stillUninstalled := func(p store.Portal) error {
		if p.Status != store.StatusUninstalling && p.Status != store.StatusUninstalled {
			return errReinstalled
		}
		return nil
	}
	p, err := u.db.GetPortal(ctx, portalID)
	if err != nil {
		return err
	}
	if err := stillUninstalled(p); err != nil {
		return err
	}
	toks, err := u.db.ListPortalTokens(ctx, portalID)
	if err != nil {
		return err
	}
	keys, err := u.db.ListAPIKeys(ctx, portalID)
	if err != nil {
		return err
	}
	r.Grants, r.APIKeys = len(toks), len(keys)
	for _, pr := range u.providers {
		if d, ok := pr.(Disconnector); ok {
			connected, err := d.Connected(ctx, portalID)
			if err != nil {
				return fmt.Errorf("%s connection: %w", pr.Name(), err)
			}
			if connected {
				err := d.Disconnect(ctx, portalID)
				switch {
				case err == nil:
					r.Disconnected = append(r.Disconnected, pr.Name())
				case errors.Is(err, ErrNotRevoked):
					u.log.Warn("provider connection deleted but not revoked upstream", "portal_id", portalID, "provider", pr.Name(), "err", err)
					r.NotRevoked = append(r.NotRevoked, pr.Name())
				default:
					return fmt.Errorf("disconnect %s: %w", pr.Name(), err)
				}
			}
		}
		if k, ok := pr.(KeyProvider); ok {
			// Through the key store, which forgets the key it keeps in memory.
			if err := k.Keys().Delete(ctx, portalID); err != nil {
				return fmt.Errorf("delete %s key: %w", pr.Name(), err)
			}
		}
	}
	err = u.db.Write(ctx, func(tx *store.Tx) error {
		p, err := tx.GetPortal(ctx, portalID)
		if err != nil {
			return err
		}
		if err := stillUninstalled(p); err != nil {
			return err
		}
		if _, err := tx.DeleteTokens(ctx, portalID); err != nil {
			return err
		}
		if _, err := tx.DeleteAPIKeys(ctx, portalID); err != nil {
			return err
		}
		// The test-mode setting goes with them: a reinstall starts live,
		// and the admin who changed it is no longer kept.
		if _, err := tx.DeleteTestMode(ctx, portalID); err != nil {
			return err
		}
		// Every admin session of the portal ends with its secrets, and a
		// copied cookie with them.
		n, err := tx.EndPortalSessions(ctx, portalID)
		if err != nil {
			return err
		}
		r.Sessions += int(n)
		return tx.MarkPortalUninstalled(ctx, portalID, reason)
	})
	u.flow.Forget(portalID)
	return err
}

// Sweep finishes uninstalls left unfinished (by a crash, or HubSpot being
// unreachable), deletes the secrets of portals uninstalled for longer
// than the grace period (those uninstalled in HubSpot keep theirs until
// then, so a reinstall brings their connections back), and renews the
// HubSpot token of installs idle for a day, so that an uninstall in
// HubSpot is noticed even by a portal whose actions never call HubSpot
// (checkIdle). A portal's failure
// is logged and tried again at the next sweep; the error reports that the
// store could not be read.
func (u *Uninstaller) Sweep(ctx context.Context) error {
	now := u.now()
	started := time.Now()
	// Stop taking up portals once the sweep has run a while: its job must
	// end well before River's timeout, and the next sweep goes on.
	more := func() bool { return ctx.Err() == nil && time.Since(started) < sweepBudget }
	// Deleting expired secrets first: it needs no HubSpot, so an outage
	// there (which slows every unfinished uninstall) never holds it up.
	due, err := u.db.ListUninstalledWithSecrets(ctx, now.Add(-u.grace))
	if err != nil {
		return err
	}
	// Portals whose deletion keeps failing come first every time (the list
	// is by portal id): the batch counts deletions done, so they cannot
	// hold up the portals after them.
	done := 0
	for _, id := range due {
		if done >= sweepBatch || !more() {
			break
		}
		p, err := u.db.GetPortal(ctx, id)
		if err != nil {
			u.log.Warn("read uninstalled portal", "portal_id", id, "err", err)
			continue
		}
		r := Uninstall{PortalID: id}
		if err := u.deleteSecrets(ctx, id, p.StatusReason, &r); err != nil && !errors.Is(err, errReinstalled) {
			u.log.Warn("delete secrets of an uninstalled portal", "portal_id", id, "err", err)
			continue
		}
		done++
		u.log.Info("deleted the secrets of a portal uninstalled longer than the grace period", "portal_id", id,
			"uninstalled_at", p.UninstalledAt, "grants", r.Grants, "api_keys", r.APIKeys)
	}
	if err := u.checkIdle(ctx, now, more); err != nil {
		return err
	}
	stalled, err := u.db.ListStalledUninstalls(ctx, now.Add(-stalledAfter))
	if err != nil {
		return err
	}
	for _, id := range stalled[:min(len(stalled), sweepBatch)] {
		if !more() {
			return nil
		}
		if _, err := u.Uninstall(ctx, id, "the app"); err != nil {
			u.log.Warn("finish an unfinished uninstall", "portal_id", id, "err", err)
		}
	}
	return nil
}

// checkIdle renews the HubSpot token of up to idleBatch installed
// portals that have not used it for idleAfter: HubSpot refusing the
// refresh (invalid_grant) marks the portal uninstalled, from when its
// grace period counts. Other failures are logged and tried at the next
// sweep.
func (u *Uninstaller) checkIdle(ctx context.Context, now time.Time, more func() bool) error {
	if u.flow.Sandbox() {
		// A sandbox's HubSpot is a fake that forgets its grants when the
		// process ends: renewing would uninstall every sandbox portal.
		return nil
	}
	toks, err := u.db.ListTokens(ctx, oauth.ProviderHubSpot)
	if err != nil {
		return err
	}
	n := 0
	for _, t := range toks {
		if t.Status != store.StatusActive || !t.ExpiresAt.Before(now.Add(-idleAfter)) {
			continue
		}
		if n >= idleBatch || !more() {
			return nil
		}
		// Only answers count toward the batch: a token that keeps failing
		// (it comes first every time) cannot hold up the others.
		_, err := u.flow.Grants().Token(ctx, t.PortalID)
		switch {
		case errors.Is(err, oauth.ErrUninstalled):
			n++
			u.log.Info("an idle portal uninstalled the app in HubSpot: its secrets are deleted after the grace period", "portal_id", t.PortalID)
		case err != nil:
			u.log.Warn("renew the HubSpot token of an idle portal", "portal_id", t.PortalID, "err", logErr(err))
		default:
			n++
		}
	}
	return nil
}

// Chore is Sweep as a chore of the runtime, every SweepUninstallsEvery.
func (u *Uninstaller) Chore() Chore {
	return Chore{Name: "uninstalls", Every: SweepUninstallsEvery, Run: u.Sweep}
}

// SetClock replaces the uninstaller's clock (tests).
func (u *Uninstaller) SetClock(now func() time.Time) { u.now = now }
