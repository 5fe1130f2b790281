package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// routesExtra holds the routes of features wired in their own files.
type routesExtra struct {
	register []func(e *echo.Echo)
}

// addRoutes lists the whole HTTP surface of the service.
func addRoutes(e *echo.Echo, log *slog.Logger, cfg config, db *store.DB, rt *actions.Runtime, flow *oauth.Flow, providers []actions.Provider, m *actions.Metrics, promReg *prometheus.Registry, extra routesExtra) {
	// Operations.
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", handleReady(db))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(promReg, promhttp.HandlerOpts{})))

	// HubSpot calls these; every request must carry a valid signature.
	hs := e.Group("/hubspot/actions", actions.VerifySignature(cfg.HubSpotClientSecret.reveal(), cfg.PublicBaseURL, time.Now, log, m))
	hs.POST("/:action", rt.HandleExecute())
	hs.POST("/:action/options/:field", rt.HandleOptions())

	// Portal admins install the app here.
	e.GET("/oauth/hubspot/install", flow.HandleInstall())
	e.GET("/oauth/hubspot/callback", flow.HandleCallback())

	// Each provider's own routes: admins connect an account (QuickBooks)
	// from the settings page.
	for _, p := range providers {
		p.Routes(e)
	}

	// The portal admin's pages: server-rendered HTML under a strict CSP.
	// The session comes from the install flow; forms carry a CSRF token
	// bound to it; every handler acts on the session's portal only.
	w := newWeb(flow, oauth.DeriveKey(cfg.EncryptionKey, "csrf"), log)
	e.GET("/static/:file", w.handleStatic(), w.secure)
	e.GET("/signed-out", w.handleSignedOut(), w.secure)
	admin := e.Group("/settings", w.secure, w.requireSession, w.checkCSRF)
	admin.GET("", handleSettings(w, flow, providers, cfg.HistoryRetention))
	admin.POST("/keys/:provider", handleSaveKey(w, flow, providers, cfg.HistoryRetention))
	admin.POST("/keys/:provider/delete", handleDeleteKey(w, providers))
	admin.POST("/:provider/disconnect", handleDisconnect(w, flow, providers))
	admin.GET("/history", handleHistory(w, db, rt.Registry(), cfg.HistoryRetention))
	admin.GET("/history/:id", handleExecution(w, db, rt.Registry()))
	admin.POST("/logout", w.handleLogout())

	for _, r := range extra.register {
		r(e)
	}
}

func handleReady(db *store.DB) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := db.Ready(c.Request().Context()); err != nil {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "not ready: database unavailable or migrations pending").SetInternal(err)
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
}

// newServer returns an Echo server with the service's middleware, error
// handler and validator.
func newServer(log *slog.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Validator = &echoValidator{v: validator.New(validator.WithRequiredStructEnabled())}
	e.HTTPErrorHandler = httpErrorHandler(log)
	e.Use(middleware.RequestID())
	e.Use(middleware.Recover())
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogMethod:    true,
		LogURIPath:   true, // never the query: OAuth callbacks carry codes in it
		LogLatency:   true,
		LogRequestID: true,
		LogError:     true,
		HandleError:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []slog.Attr{
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Float64("latency_ms", float64(v.Latency.Microseconds())/1000),
				slog.String("request_id", v.RequestID),
			}
			for _, k := range []string{"portal_id", "action", "callback_id", "hs_execution_state"} {
				if val := c.Get(k); val != nil {
					attrs = append(attrs, slog.Any(k, val))
				}
			}
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	}))
	return e
}

type echoValidator struct{ v *validator.Validate }

func (ev *echoValidator) Validate(i any) error { return ev.v.Struct(i) }

// httpErrorHandler turns a handler's error into the one JSON error shape:
// HTTP errors keep their code and public message, store.ErrNotFound is a
// 404, validation errors a 400 naming the fields, anything else a 500
// "internal error". 5xx are logged with the full chain.
func httpErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, body := http.StatusInternalServerError, map[string]any{"error": "internal error"}
		var he *echo.HTTPError
		var ve validator.ValidationErrors
		switch {
		case errors.As(err, &he):
			code = he.Code
			if msg, ok := he.Message.(string); ok {
				body = map[string]any{"error": msg}
			} else {
				body = map[string]any{"error": http.StatusText(code)}
			}
		case errors.Is(err, store.ErrNotFound):
			code, body = http.StatusNotFound, map[string]any{"error": "not found"}
		case errors.As(err, &ve):
			fields := map[string]string{}
			for _, fe := range ve {
				fields[fe.Field()] = fe.Tag()
			}
			code, body = http.StatusBadRequest, map[string]any{"error": "invalid request", "fields": fields}
		}
		if w, ok := c.Get(ctxWeb).(*web); ok && c.Request().Method != http.MethodHead {
			// An admin page: the browser gets an HTML page, not JSON.
			msg, _ := body["error"].(string)
			if code == http.StatusBadRequest && errors.As(err, &ve) {
				msg = "Some of the values in the address are not valid."
			}
			logRefusal(log, c, code, err)
			if err := w.errorPage(c, code, msg); err != nil {
				log.Error("write error page", "err", err)
			}
			return
		}
		logRefusal(log, c, code, err)
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(code)
		} else {
			err = c.JSON(code, body)
		}
		if err != nil {
			log.Error("write error response", "err", err)
		}
	}
}

// logRefusal logs a failed request: 5xx at Error with the full chain, the
// rest at Info.
func logRefusal(log *slog.Logger, c echo.Context, code int, err error) {
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	if code >= 500 {
		log.Error("request failed", "status", code, "path", c.Request().URL.Path, "request_id", rid, "err", err)
	} else {
		log.Info("request refused", "status", code, "path", c.Request().URL.Path, "request_id", rid, "err", err)
	}
}
