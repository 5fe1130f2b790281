package main

import (
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"hubspot-actions/actions"
	"hubspot-actions/actions/webhooks"
	"hubspot-actions/store"
)

// wireWebhooks builds the webhook receiver, whose jobs the runtime runs,
// and lists its route, POST /hubspot/webhooks, among the extra routes.
// Call it before the runtime is built; the route is added once it is.
func wireWebhooks(a *app, cfg config, db *store.DB, log *slog.Logger, m *actions.Metrics, promReg prometheus.Registerer) *webhooks.Receiver {
	recv := webhooks.New(db, log, promReg)
	a.extra.register = append(a.extra.register, func(e *echo.Echo) {
		recv.Routes(e, a.runtime, cfg.HubSpotClientSecret.Reveal(), cfg.PublicBaseURL, m, webhookMiddleware()...)
	})
	return recv
}

// webhookMiddleware is what runs before the webhooks route's signature
// check: the limits every unauthenticated route has.
func webhookMiddleware() []echo.MiddlewareFunc {
	// lead: wire the per-client rate limit of unauthenticated routes
	// (unauth-limits) and the cap on concurrent unauthenticated body reads
	// (http-hardening) here, outermost first.
	return nil
}
