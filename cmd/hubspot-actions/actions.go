package main

import (
	"context"
	"log/slog"

	"hubspot-actions/actions"
	"hubspot-actions/actions/sandbox"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// registerActions adds every action the service serves to reg, with its
// client, and in sandbox mode starts the providers' fakes.
func registerActions(ctx context.Context, reg *actions.Registry, cfg config, db *store.DB, keys *oauth.Keyring, a *app, log *slog.Logger, m *actions.Metrics) error {
	if cfg.Sandbox {
		if err := sandbox.Register(reg); err != nil {
			return err
		}
	}
	return nil
}

// sandboxHubSpot points a sandbox's OAuth flow at an in-process fake of
// HubSpot's authorize and token endpoints.
func sandboxHubSpot(ctx context.Context, oc *oauth.Config, a *app) error {
	return nil
}
