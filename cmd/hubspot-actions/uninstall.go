package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// newUninstaller is the one uninstall operation, shared by the settings
// page's button, `portals remove` and the sweep that deletes the secrets of
// portals uninstalled in HubSpot after UNINSTALLED_GRACE.
func newUninstaller(cfg config, flow *oauth.Flow, db *store.DB, providers []actions.Provider, log *slog.Logger) *actions.Uninstaller {
	return actions.NewUninstaller(flow, db, providers, cfg.UninstalledGrace, log)
}

// cliProviders builds the providers for a command that acts on portals
// outside serve (portals remove), so their connections are revoked
// upstream. A sandbox's providers are fakes that only serve runs: none.
func cliProviders(cfg config, db *store.DB, log *slog.Logger) ([]actions.Provider, error) {
	if cfg.Sandbox {
		return nil, nil
	}
	deps := actions.Deps{
		DB:            db,
		PublicBaseURL: cfg.PublicBaseURL,
		Log:           log,
		HTTPClient: func(string, time.Duration) *http.Client {
			return &http.Client{Timeout: 30 * time.Second}
		},
	}
	var out []actions.Provider
	for _, pc := range cfg.Providers {
		p, err := pc.module.New(pc.cfg, deps)
		if err != nil {
			return nil, fmt.Errorf("build the %s provider: %w", pc.module.Name(), err)
		}
		out = append(out, p)
	}
	return out, nil
}
