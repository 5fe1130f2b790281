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
		recv.Routes(e, a.runtime, cfg.HubSpotClientSecret.Reveal(), cfg.PublicBaseURL, m, webhookMiddleware(cfg, a.bodies)...)
	})
	return recv
}

// webhookMiddleware is what runs before the webhooks route's signature
// check, outermost first: each client's pace (WEBHOOK_RATE_LIMIT, its own
// budget: HubSpot sends every portal's events from a few addresses, so the
// install route's pace would hold HubSpot back), then the cap on bodies read
// before their caller is authenticated.
func webhookMiddleware(cfg config, bodies *actions.BodyGuard) []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{
		actions.LimitPerClient(actions.NewClientLimiter(cfg.WebhookLimit)),
		bodies.LimitBodies(),
	}
}
