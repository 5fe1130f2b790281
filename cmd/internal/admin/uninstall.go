package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// uninstallTimeout bounds an uninstall started from the settings page; it
// goes on if the browser leaves, as a half-done uninstall helps nobody.
const uninstallTimeout = 2 * time.Minute

// uninstallPage is the data of the uninstall confirmation template.
type uninstallPage struct {
	page
	Portal    portalView
	Retention string
	Problem   string // why the uninstall just asked for did not happen
}

// HandleUninstallConfirm serves GET /settings/uninstall: what uninstalling
// does, and the button that does it. A portal already uninstalled goes back
// to the settings page, which says so.
func HandleUninstallConfirm(w *Pages, flow *oauth.Flow, retention time.Duration) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := uninstallData(c, w, flow, retention)
		if errors.Is(err, store.ErrNotFound) {
			return reinstall(c, w, flow)
		}
		if err != nil {
			return err
		}
		if p.Portal.Health == oauth.StatusUninstalled || p.Portal.Health == oauth.StatusRemoved {
			return c.Redirect(http.StatusSeeOther, actions.SettingsPath)
		}
		return w.render(c, http.StatusOK, "uninstall", p)
	}
}

// HandleUninstall serves POST /settings/uninstall, sent by the
// confirmation page's button: the app is uninstalled from the session's
// portal (in HubSpot, then every secret here), the browser is signed out
// and lands on a page saying it is done. When HubSpot does not uninstall
// the app nothing changes, and the confirmation page says why.
func HandleUninstall(w *Pages, flow *oauth.Flow, u *actions.Uninstaller, retention time.Duration) echo.HandlerFunc {
	type request struct {
		Confirm string `form:"confirm"`
	}
	return func(c echo.Context) error {
		var req request
		if err := c.Bind(&req); err != nil {
			return err
		}
		if req.Confirm != "yes" {
			return echo.NewHTTPError(http.StatusBadRequest, `confirm: the app is only uninstalled from the confirmation page's "Uninstall from HubSpot" button.`)
		}
		s := sessionOf(c)
		by := "a portal admin on the settings page"
		if s.UserID != 0 {
			by = "a portal admin (HubSpot user " + strconv.FormatInt(s.UserID, 10) + ") on the settings page"
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), uninstallTimeout)
		defer cancel()
		_, err := u.Uninstall(ctx, s.PortalID, by)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return reinstall(c, w, flow)
		case errors.Is(err, actions.ErrUninstallIncomplete):
			// Uninstalled in HubSpot; the sweep finishes the rest.
			w.log.Error("uninstall did not finish", "portal_id", s.PortalID, "err", err)
			w.sessions.Clear(c)
			return c.Redirect(http.StatusSeeOther, "/signed-out?notice=uninstall-finishing")
		case err != nil:
			w.log.Warn("uninstall refused", "portal_id", s.PortalID, "err", err)
			p, perr := uninstallData(c, w, flow, retention)
			if perr != nil {
				return errors.Join(err, perr)
			}
			p.Title = "Error: " + p.Title
			p.Problem = "HubSpot did not uninstall the app (it could not be reached, or refused), so nothing was changed. " +
				"Try again in a minute, or uninstall the app in HubSpot's Connected apps settings."
			return w.render(c, http.StatusBadGateway, "uninstall", p)
		}
		w.log.Info("uninstalled from the settings page", "portal_id", s.PortalID)
		w.sessions.Clear(c)
		return c.Redirect(http.StatusSeeOther, "/signed-out?notice=uninstalled")
	}
}

func uninstallData(c echo.Context, w *Pages, flow *oauth.Flow, retention time.Duration) (uninstallPage, error) {
	info, err := flow.Portal(c.Request().Context(), sessionOf(c).PortalID)
	if err != nil {
		return uninstallPage{}, err
	}
	return uninstallPage{page: w.newPage(c, "Uninstall the app", "settings"), Portal: newPortalView(info, time.Now()),
		Retention: fmtPeriod(retention)}, nil
}
