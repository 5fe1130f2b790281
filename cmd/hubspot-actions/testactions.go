package main

import (
	"fmt"
	"log/slog"

	"hubspot-actions/actions"
	"hubspot-actions/actions/sandbox"
)

// buildTestActions builds the registry of test mode: every provider's
// twin (the same action keys as the live registry's, answered by the
// provider's fake with fixed test credentials) and, in sandbox mode, the
// diagnostic actions. Each provider's test fake is served on loopback
// until the app closes, whatever the live configuration points at.
//
// The twins get no store, no app secrets and no sessions: they cannot
// read, write or refresh a portal's keys, grants or connections, nor
// count app-key quotas. They keep deps' outbound clients (counted under
// "<provider>-test") and its HubSpot client: a QuickBooks invoice without
// a customer email still reads the deal's contact from the portal's
// HubSpot, which writes nothing.
func buildTestActions(cfg config, deps actions.Deps, a *app, log *slog.Logger) (*actions.Registry, error) {
	reg := actions.NewRegistry()
	if cfg.Sandbox {
		if err := sandbox.Register(reg); err != nil {
			return nil, err
		}
	}
	deps.TestMode = true
	deps.DB, deps.AppSecret, deps.Sessions, deps.Limiters = nil, nil, nil, nil
	for _, pc := range cfg.Providers {
		tcfg, f := pc.module.TestFake(pc.cfg)
		if f == nil {
			return nil, fmt.Errorf("%s has no test-mode fake", pc.module.Name())
		}
		url, err := a.serveFake(pc.module.Name()+"-test", f.Handler, log)
		if err != nil {
			return nil, err
		}
		f.Use(url)
		p, err := pc.module.New(tcfg, deps)
		if err != nil {
			return nil, fmt.Errorf("test mode: %w", err)
		}
		if err := p.Register(reg); err != nil {
			return nil, fmt.Errorf("register %s test-mode actions: %w", p.Name(), err)
		}
	}
	return reg, nil
}
