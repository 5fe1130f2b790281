package main

import (
	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/providers"
)

// providerConfig is one provider's configuration, read from the
// environment.
type providerConfig struct {
	module actions.Module
	cfg    actions.ProviderConfig
}

// loadProviders reads every provider's configuration from the variables
// its Config declares, and validates it. Every problem is reported.
func loadProviders(getenv func(string) string) ([]providerConfig, []error) {
	var out []providerConfig
	var errs []error
	for _, m := range providers.List() {
		cfg := m.NewConfig()
		bad := providers.LoadEnv(getenv, cfg)
		if len(bad) == 0 {
			if err := cfg.Validate(); err != nil {
				bad = append(bad, err)
			}
		}
		errs = append(errs, bad...)
		out = append(out, providerConfig{module: m, cfg: cfg})
	}
	return out, errs
}
