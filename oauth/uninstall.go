package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
)

// uninstallPath is HubSpot's app uninstall API, under Config.TokenBaseURL
// (HUBSPOT_API_BASE_URL): DELETE with the portal's access token, which
// needs the oauth scope; 204 when done.
const uninstallPath = "/appinstalls/2026-03/external-install"

// uninstalled reports whether a portal status means the app is not (or
// soon not) installed there, so the portal runs no actions.
func uninstalled(status string) bool {
	switch status {
	case store.StatusUninstalling, store.StatusUninstalled, store.StatusRemoved:
		return true
	}
	return false
}

// AppUninstall says what HubSpot's uninstall API did for a portal.
type AppUninstall struct {
	// Uninstalled is true when HubSpot uninstalled the app (204).
	Uninstalled bool
	// Note says why HubSpot was not asked, when Uninstalled is false:
	// there was no token, HubSpot no longer accepted it (the app was
	// already uninstalled there), or this is a sandbox.
	Note string
}

// UninstallApp uninstalls the app from the portal in HubSpot (DELETE
// /appinstalls/2026-03/external-install with the portal's access token,
// refreshed first when due). It is idempotent: when HubSpot no longer
// accepts the portal's tokens, the app is already uninstalled there and
// the answer says so without an error. Any other failure is an error and
// HubSpot may not have uninstalled the app.
func (f *Flow) UninstallApp(ctx context.Context, portalID int64) (AppUninstall, error) {
	if f.cfg.Sandbox {
		return AppUninstall{Note: "sandbox: there is no HubSpot app to uninstall from"}, nil
	}
	hc, err := f.grants.Client(ctx, portalID)
	if errors.Is(err, ErrNotConnected) {
		return f.alreadyGone(ctx, portalID)
	}
	if err != nil {
		return AppUninstall{}, fmt.Errorf("oauth: uninstall the app from portal %d: %w", portalID, err)
	}
	err = f.deleteInstall(ctx, hc)
	var ae *upstream.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		// The access token died before its time (HubSpot revokes them all
		// at an uninstall). Whether the app is still installed is what a
		// refresh says: invalid_grant means it is gone.
		_, ferr := f.grants.ForceRefresh(ctx, portalID, "")
		if ferr != nil && !errors.Is(ferr, ErrNotConnected) {
			return AppUninstall{}, fmt.Errorf("oauth: uninstall the app from portal %d: refresh after a 401: %w", portalID, ferr)
		}
		err = ferr
		if ferr == nil {
			err = f.deleteInstall(ctx, hc)
		}
	}
	f.forgetCheck(portalID)
	switch {
	case err == nil:
		f.log.Info("app uninstalled in HubSpot", "portal_id", portalID)
		return AppUninstall{Uninstalled: true}, nil
	case errors.Is(err, ErrNotConnected):
		// The refresh behind the request was refused.
		return f.alreadyGone(ctx, portalID)
	}
	return AppUninstall{}, fmt.Errorf("oauth: uninstall the app from portal %d: %w", portalID, err)
}

// alreadyGone describes a portal whose tokens HubSpot no longer takes, or
// that has none.
func (f *Flow) alreadyGone(ctx context.Context, portalID int64) (AppUninstall, error) {
	if _, err := f.grants.Status(ctx, portalID); errors.Is(err, ErrNotConnected) {
		return AppUninstall{Note: "no HubSpot token was stored, so HubSpot could not be asked"}, nil
	} else if err != nil {
		return AppUninstall{}, fmt.Errorf("oauth: uninstall the app from portal %d: %w", portalID, err)
	}
	return AppUninstall{Note: "HubSpot no longer accepts the app's token: the app was already uninstalled there"}, nil
}

// deleteInstall sends the uninstall request through the portal's client.
func (f *Flow) deleteInstall(ctx context.Context, hc *http.Client) error {
	u := strings.TrimRight(f.cfg.TokenBaseURL, "/") + uninstallPath
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
		return upstream.NewAPIError(resp, b, f.now())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return nil
}

// RevokeRefreshToken revokes the portal's stored HubSpot refresh token
// (/oauth/2026-03/token/revoke), whatever the grant's status. It reports
// whether HubSpot revoked it, or in note why nothing was revoked: no token
// was stored, HubSpot no longer knew it, or this is a sandbox. It deletes
// nothing here.
func (f *Flow) RevokeRefreshToken(ctx context.Context, portalID int64) (revoked bool, note string, err error) {
	rt, err := f.grants.refreshToken(ctx, portalID)
	switch {
	case errors.Is(err, ErrNotConnected):
		return false, "no HubSpot token was stored", nil
	case errors.Is(err, store.ErrMisplaced):
		// Another portal's token copied into this row: never revoke it.
		return false, "the stored HubSpot token does not belong to this portal", nil
	case err != nil:
		return false, "", fmt.Errorf("oauth: revoke the refresh token of portal %d: %w", portalID, err)
	case f.cfg.Sandbox:
		return false, "sandbox: there is no HubSpot app to revoke at", nil
	}
	err = f.revoke(ctx, rt)
	var ae *upstream.APIError
	switch {
	case err == nil:
		return true, "", nil
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest && invalidTokenAnswer(ae.Body):
		return false, "HubSpot no longer knew the refresh token", nil
	}
	return false, "", fmt.Errorf("oauth: revoke the refresh token of portal %d: %w", portalID, err)
}

// Forget drops what the flow keeps in memory about a portal (its access
// token, its CheckPortal answer), after its grant or status changed
// outside the flow.
func (f *Flow) Forget(portalID int64) {
	f.grants.forget(portalID)
	f.forgetCheck(portalID)
}
