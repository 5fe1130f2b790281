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

// routesExtra holds the routes of features wired in their own files, and
// middleware wire builds for routes.
type routesExtra struct {
	register []func(e *echo.Echo)
	// unauth paces each client on the routes anyone may call
	// (actions.LimitPerClient); providers get the same through Deps.
	unauth echo.MiddlewareFunc
	// public paces each client on the read-only pages anyone may load (the
	// guide, the stylesheet, the signed-out page): a budget of their own,
	// generous, since an admin's browsing loads them.
	public echo.MiddlewareFunc
}

// addRoutes lists the whole HTTP surface of the service.
// Metrics are not here: they have their own listener (metricsServer).
// bodies caps the bodies read before their caller is authenticated; every
// route reading one that way takes bodies.LimitBodies() first.
func addRoutes(e *echo.Echo, log *slog.Logger, cfg config, db *store.DB, rt *actions.Runtime, flow *oauth.Flow, providers []actions.Provider, u *actions.Uninstaller, m *actions.Metrics, extra routesExtra, bodies *actions.BodyGuard) {
	// Operations.
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", handleReady(db))

	// HubSpot calls these; every request must carry a valid signature,
	// checked over the body: so the body is read before the caller is known.
	hs := e.Group("/hubspot/actions", bodies.LimitBodies(), actions.VerifySignature(cfg.HubSpotClientSecret.Reveal(), cfg.PublicBaseURL, time.Now, log, m))
	hs.POST("/:action", rt.HandleExecute())
	hs.POST("/:action/options/:field", rt.HandleOptions())

	// Portal admins install the app here. Anyone may call these, and each
	// call writes: each client is paced (429 with Retry-After past it).
	// (POST /hubspot/webhooks has a pace of its own: webhookMiddleware.)
	e.GET("/oauth/hubspot/install", flow.HandleInstall(), extra.unauth)
	e.GET("/oauth/hubspot/callback", flow.HandleCallback(), extra.unauth)

	// Each provider's own routes: admins connect an account (QuickBooks)
	// from the settings page.
	for _, p := range providers {
		p.Routes(e)
	}

	// The portal admin's pages: server-rendered HTML under a strict CSP.
	// The session comes from the install flow; forms carry a CSRF token
	// bound to it; every handler acts on the session's portal only.
	w := admin.New(flow, adminSessions(cfg, db), admin.DeriveKey(cfg.EncryptionKey, "csrf"), log,
		admin.WithTestMode(db, rt.TestModeAvailable()))
	e.GET("/static/:file", w.HandleStatic(), extra.public, w.Secure)
	e.GET("/signed-out", w.HandleSignedOut(), extra.public, w.Secure)
	// The public setup guide (no session), generated from the registry.
	facts := guideFacts(cfg, rt.Registry())
	facts.TestActions = rt.TestActions()
	e.GET(actions.GuidePath, admin.HandleGuide(w, rt.Registry(), providers, facts), extra.public, w.Secure)
	settings := e.Group("/settings", w.Secure, w.RequireSession, w.CheckCSRF)
	settings.GET("", admin.HandleSettings(w, flow, providers, cfg.HistoryRetention))
	// Key checks are paced per portal, shared by the replicas on
	// PostgreSQL as the upstream budgets are.
	newLimiter, _ := limiters(db, log)
	keyChecks := newLimiter("key_checks", admin.KeyCheckLimit())
	settings.POST("/keys/:provider", admin.HandleSaveKey(w, flow, providers, cfg.HistoryRetention, keyChecks))
	settings.POST("/keys/:provider/delete", admin.HandleDeleteKey(w, providers))
	settings.POST("/:provider/disconnect", admin.HandleDisconnect(w, flow, providers))
	settings.POST("/test-mode", admin.HandleTestMode(w, flow))
	settings.GET("/uninstall", admin.HandleUninstallConfirm(w, flow, cfg.HistoryRetention))
	settings.POST("/uninstall", admin.HandleUninstall(w, flow, u, cfg.HistoryRetention))
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

// adminSessions signs admins in to the admin pages, with sessions kept in
// db (which seals what they hold with ENCRYPTION_KEY); the install flow
// starts the sessions, the pages read them.
func adminSessions(cfg config, db *store.DB) *admin.Sessions {
	return admin.NewSessions(db, strings.HasPrefix(cfg.PublicBaseURL, "https://"))
}
