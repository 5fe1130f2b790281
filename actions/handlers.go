package actions

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
)

// HandleExecute serves an action's actionUrl, POST
// /hubspot/actions/:action. It must sit behind VerifySignature.
func (rt *Runtime) HandleExecute() echo.HandlerFunc {
	return func(c echo.Context) error {
		a, ok := rt.reg.Get(c.Param("action"))
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "unknown action "+c.Param("action"))
		}
		req, err := DecodeRequest(RawBody(c))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		// For the request log.
		c.Set("portal_id", int64(req.Origin.PortalID))
		c.Set("action", a.Key)
		c.Set("callback_id", req.CallbackID)
		res, err := rt.Execute(c.Request().Context(), a, req)
		if err != nil {
			if ErrUnavailable(err) {
				c.Response().Header().Set("Retry-After", "5")
				return echo.NewHTTPError(http.StatusServiceUnavailable, "temporarily unable to record the execution; retry later").SetInternal(err)
			}
			return err
		}
		c.Set("hs_execution_state", res.OutputFields[OutputState])
		return c.JSONBlob(http.StatusOK, res.appendJSON(make([]byte, 0, 512)))
	}
}

// HandleOptions serves a dynamic field's optionsUrl, POST
// /hubspot/actions/:action/options/:field. It must sit behind
// VerifySignature. Failures are answered as a single explanatory option,
// which is where the marketer is looking.
func (rt *Runtime) HandleOptions() echo.HandlerFunc {
	return func(c echo.Context) error {
		a, ok := rt.reg.Get(c.Param("action"))
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "unknown action "+c.Param("action"))
		}
		field := c.Param("field")
		fn, ok := a.options[field]
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "action "+a.Key+" has no options for field "+field)
		}
		req, err := DecodeOptionsRequest(RawBody(c))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		ctx := c.Request().Context()
		if err := rt.hs.CheckPortal(ctx, int64(req.Origin.PortalID)); err != nil && errors.Is(err, oauth.ErrNotConnected) {
			return c.JSON(http.StatusOK, problemOptions(publicError(err)))
		}
		// A portal in test mode gets its choices from the test-mode twin
		// (the fakes), as its executions will run there.
		tm, err := rt.db.GetTestMode(ctx, int64(req.Origin.PortalID))
		if err != nil {
			rt.log.Error("options: read test mode", "portal_id", int64(req.Origin.PortalID), "action", a.Key, "err", err)
			return c.JSON(http.StatusOK, problemOptions(Fail(CodeUnavailable, "The app could not load these choices; try again.")))
		}
		if tm.Enabled {
			if fn, ok = rt.inMode(a, true).options[field]; !ok {
				return c.JSON(http.StatusOK, problemOptions(Fail(CodeUnavailable, noTwinMessage)))
			}
		}
		page, err := fn(ctx, req)
		if err != nil {
			pe := publicError(err)
			if pe.Code == CodeInternal {
				rt.log.Error("options failed", "portal_id", int64(req.Origin.PortalID), "action", a.Key, "field", field, "err", err)
			} else {
				rt.log.Info("options failed", "portal_id", int64(req.Origin.PortalID), "action", a.Key, "field", field, "error_code", string(pe.Code), "err", err)
			}
			return c.JSON(http.StatusOK, problemOptions(pe))
		}
		if page.Options == nil {
			page.Options = []Option{}
		}
		return c.JSON(http.StatusOK, page)
	}
}

// problemOptions shows an error inside the dropdown itself. Its value is
// empty, so choosing it leaves the field unset.
func problemOptions(e *Error) OptionsPage {
	return OptionsPage{Options: []Option{{Label: oneLine(e.Message), Value: "", Description: string(e.Code)}}}
}
