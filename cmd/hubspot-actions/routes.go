package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// routesExtra holds the routes of features wired in their own files.
type routesExtra struct {
	register []func(e *echo.Echo)
}

// addRoutes lists the whole HTTP surface of the service.
func addRoutes(e *echo.Echo, log *slog.Logger, cfg config, db *store.DB, rt *actions.Runtime, flow *oauth.Flow, qb *quickbooks.Service, keyed []keyProvider, m *actions.Metrics, promReg *prometheus.Registry, extra routesExtra) {
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

	// Admins connect their QuickBooks company (from the settings page).
	e.GET(quickbooks.ConnectPath, qb.HandleConnect())
	e.GET(quickbooks.CallbackPath, qb.HandleCallback())

	// The portal admin's pages: server-rendered HTML under a strict CSP.
	// The session comes from the install flow; forms carry a CSRF token
	// bound to it; every handler acts on the session's portal only.
	w := newWeb(flow, oauth.DeriveKey(cfg.EncryptionKey, "csrf"), log)
	e.GET("/static/:file", w.handleStatic(), w.secure)
	e.GET("/signed-out", w.handleSignedOut(), w.secure)
	admin := e.Group("/settings", w.secure, w.requireSession, w.checkCSRF)
	admin.GET("", handleSettings(w, flow, qb, keyed, cfg.HistoryRetention))
	admin.POST("/keys/:provider", handleSaveKey(w, flow, qb, keyed, cfg.HistoryRetention))
	admin.POST("/keys/:provider/delete", handleDeleteKey(w, keyed))
	admin.POST("/quickbooks/disconnect", handleDisconnectQuickBooks(w, flow, qb))
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
