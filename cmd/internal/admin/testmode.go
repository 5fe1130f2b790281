package admin

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// Option configures Pages.
type Option func(*Pages)

// WithTestMode gives the pages each portal's test-mode setting, in db, and
// says whether it can be switched on (the runtime has test-mode actions:
// actions.Runtime.TestModeAvailable). Without it the settings page says
// test mode is not available and shows no banner.
func WithTestMode(db *store.DB, available bool) Option {
	return func(w *Pages) { w.testModes = &testModes{db: db, available: available} }
}

type testModes struct {
	db        *store.DB
	available bool
}

// testModeView is the test-mode card and banner of the settings page.
type testModeView struct {
	// Available: the form can switch test mode on (it can always switch
	// it off).
	Available bool
	Enabled   bool
	ChangedBy string
	ChangedAt string
}

// testModeNotices confirm a change of test mode on the settings page.
var testModeNotices = map[string]string{
	"test-mode-on":  "Test mode switched on: workflow actions that start from now on run against the test versions of the services.",
	"test-mode-off": "Test mode switched off: workflow actions that start from now on call the real services again.",
}

// testModeOf returns what the settings page shows of the portal's test mode.
func (w *Pages) testModeOf(c echo.Context, portalID int64) (testModeView, error) {
	if w.testModes == nil {
		return testModeView{}, nil
	}
	tm, err := w.testModes.db.GetTestMode(c.Request().Context(), portalID)
	if err != nil {
		return testModeView{}, err
	}
	v := testModeView{Available: w.testModes.available, Enabled: tm.Enabled}
	if !tm.ChangedAt.IsZero() {
		v.ChangedAt = fmtTime(tm.ChangedAt)
		v.ChangedBy = tm.ChangedByEmail
		if v.ChangedBy == "" && tm.ChangedByID != 0 {
			v.ChangedBy = "a HubSpot user"
		}
	}
	return v, nil
}

// HandleTestMode serves POST /settings/test-mode: the session's admin
// switches the portal's test mode on (test_mode=on) or off (off). Only
// executions that start afterwards follow the new setting. Switching on is
// refused (409) where the app has no test-mode actions; switching off is
// always possible.
func HandleTestMode(w *Pages, flow *oauth.Flow) echo.HandlerFunc {
	type request struct {
		TestMode string `form:"test_mode" validate:"required,oneof=on off"`
	}
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		s := sessionOf(c)
		var req request
		if err := c.Bind(&req); err != nil {
			return err
		}
		if err := c.Validate(&req); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "Choose whether test mode is on or off.").WithInternal(err)
		}
		if w.testModes == nil {
			return echo.NewHTTPError(http.StatusConflict, "Test mode is not available in this app.")
		}
		on := req.TestMode == "on"
		if on && !w.testModes.available {
			return echo.NewHTTPError(http.StatusConflict, "Test mode is not available in this app: it has no test versions of its services, so it was not switched on.")
		}
		if info, err := flow.Portal(ctx, s.PortalID); errors.Is(err, store.ErrNotFound) || err == nil && (info.Status == oauth.StatusUninstalled || info.Status == oauth.StatusUninstalling) {
			return reinstall(c, w, flow)
		} else if err != nil {
			return err
		}
		err := w.testModes.db.Write(ctx, func(tx *store.Tx) error {
			return tx.SetTestMode(ctx, s.PortalID, on, s.UserID, s.UserEmail)
		})
		if errors.Is(err, store.ErrPortalGone) {
			return reinstall(c, w, flow)
		} else if err != nil {
			return err
		}
		w.log.Info("test mode switched", "portal_id", s.PortalID, "test_mode", on)
		notice := "test-mode-off"
		if on {
			notice = "test-mode-on"
		}
		return c.Redirect(http.StatusSeeOther, settingsNoticeURL(notice, ""))
	}
}
