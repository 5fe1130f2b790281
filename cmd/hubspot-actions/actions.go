package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"hubspot-actions/actions"
	"hubspot-actions/actions/loopback"
	"hubspot-actions/actions/sandbox"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
)

// buildProviders builds every provider of the list and registers its
// actions in reg. In sandbox mode the diagnostic actions are added, and
// each provider the operator did not point elsewhere is served by its fake
// on loopback.
func buildProviders(reg *actions.Registry, cfg config, deps actions.Deps, a *app, log *slog.Logger) error {
	if cfg.Sandbox {
		if err := sandbox.Register(reg); err != nil {
			return err
		}
	}
	for _, pc := range cfg.Providers {
		if cfg.Sandbox {
			if f := pc.module.Sandbox(pc.cfg); f != nil {
				url, err := a.serveFake(pc.module.Name(), f.Handler, log)
				if err != nil {
					return err
				}
				a.notes = append(a.notes, f.Use(url))
			}
		}
		p, err := pc.module.New(pc.cfg, deps)
		if err != nil {
			return err
		}
		if err := p.Register(reg); err != nil {
			return fmt.Errorf("register %s actions: %w", p.Name(), err)
		}
		a.providers = append(a.providers, p)
	}
	return nil
}

// serveFake serves a provider's fake on a loopback port until the app
// closes, and returns its URL.
func (a *app) serveFake(name string, h http.Handler, log *slog.Logger) (string, error) {
	srv, err := loopback.Serve(h)
	if err != nil {
		return "", fmt.Errorf("serve the %s fake: %w", name, err)
	}
	a.closers = append(a.closers, func() {
		if err := srv.Stop(); err != nil {
			log.Error("sandbox fake stopped", "provider", name, "err", err)
		}
	})
	return srv.URL, nil
}

// Sandbox HubSpot account: the portal and admin the fake installs.
const (
	sandboxClientID  = "sandbox-app"
	sandboxPortalID  = 1000001
	sandboxUserEmail = "admin@sandbox.test"
)

// sandboxHubSpot points a sandbox's OAuth flow at an in-process fake of
// HubSpot's authorize, token, introspect and revoke endpoints, so that the
// install flow and settings page work without a HubSpot account.
func sandboxHubSpot(oc *oauth.Config, a *app, log *slog.Logger) error {
	oc.ClientID = sandboxClientID
	fake := hubspottest.NewServer(hubspottest.Config{
		ClientID:      oc.ClientID,
		ClientSecret:  oc.ClientSecret,
		RedirectURL:   oc.RedirectURL,
		PortalID:      sandboxPortalID,
		HubDomain:     "sandbox.hubspot.test",
		UserID:        1,
		UserEmail:     sandboxUserEmail,
		SandboxTokens: true,
	})
	url, err := a.serveFake("hubspot", fake, log)
	if err != nil {
		return err
	}
	oc.AuthorizeURL = url + "/oauth/authorize"
	oc.TokenBaseURL = url
	a.notes = append(a.notes, fmt.Sprintf("Install and settings: open %s/oauth/hubspot/install (a fake HubSpot installs portal %d as %s).", strings.TrimSuffix(oc.RedirectURL, "/oauth/hubspot/callback"), sandboxPortalID, sandboxUserEmail))
	return nil
}
