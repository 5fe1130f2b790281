package main

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// routesExtra holds the routes of features wired in their own files.
type routesExtra struct {
	register []func(e *echo.Echo)
}

// addRoutes lists the whole HTTP surface of the service.
// Metrics are not here: they have their own listener (metricsServer).
// bodies caps the bodies read before their caller is authenticated; every
// route reading one that way takes bodies.LimitBodies() first.
func addRoutes(e *echo.Echo, log *slog.Logger, cfg config, db *store.DB, rt *actions.Runtime, flow *oauth.Flow, providers []actions.Provider, m *actions.Metrics, extra routesExtra, bodies *actions.BodyGuard) {
	// Operations.
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", handleReady(db))

	// HubSpot calls these; every request must carry a valid signature,
	// checked over the body: so the body is read before the caller is known.
	hs := e.Group("/hubspot/actions", bodies.LimitBodies(), actions.VerifySignature(cfg.HubSpotClientSecret.Reveal(), cfg.PublicBaseURL, time.Now, log, m))
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
	w := admin.New(flow, adminSessions(cfg), admin.DeriveKey(cfg.EncryptionKey, "csrf"), log)
	e.GET("/static/:file", w.HandleStatic(), w.Secure)
	e.GET("/signed-out", w.HandleSignedOut(), w.Secure)
	settings := e.Group("/settings", w.Secure, w.RequireSession, w.CheckCSRF)
	settings.GET("", admin.HandleSettings(w, flow, providers, cfg.HistoryRetention))
	settings.POST("/keys/:provider", admin.HandleSaveKey(w, flow, providers, cfg.HistoryRetention))
	settings.POST("/keys/:provider/delete", admin.HandleDeleteKey(w, providers))
	settings.POST("/:provider/disconnect", admin.HandleDisconnect(w, flow, providers))
	settings.GET("/history", admin.HandleHistory(w, db, rt.Registry(), cfg.HistoryRetention))
	settings.GET("/history/:id", admin.HandleExecution(w, db, rt.Registry()))
	settings.POST("/logout", w.HandleLogout())

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

// adminSessions signs admins in to the admin pages, with a key derived from
// ENCRYPTION_KEY; the install flow starts the sessions, the pages read them.
func adminSessions(cfg config) *admin.Sessions {
	var key []byte
	if cfg.EncryptionKey != nil {
		key = admin.DeriveKey(cfg.EncryptionKey, "session")
	}
	return admin.NewSessions(key, strings.HasPrefix(cfg.PublicBaseURL, "https://"))
}
