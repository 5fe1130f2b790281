package clearbit

import (
	"context"
	"errors"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/clearbit/clearbittest"
)

// ID is Clearbit's id in the database, routes and the settings page.
const ID = "clearbit"

// Config is Clearbit's part of the environment.
type Config struct {
	// APIKey is the app-wide default key, used by portals that entered
	// none of their own.
	APIKey actions.Secret `env:"CLEARBIT_API_KEY"`
	// AppKeyPortals is who may use APIKey: "all", a list of portal IDs, or
	// nobody when empty (sandbox mode: all).
	AppKeyPortals string `env:"CLEARBIT_APP_KEY_PORTALS"`
	// AppKeyDailyQuota is how many executions a day each allowed portal may
	// run with APIKey; 0 is no limit.
	AppKeyDailyQuota int64 `env:"CLEARBIT_APP_KEY_DAILY_QUOTA" default:"100"`
	// BaseURL sends every request there instead of Clearbit's hosts.
	BaseURL string `env:"CLEARBIT_BASE_URL"`
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	_, err := c.access()
	if c.BaseURL != "" {
		err = errors.Join(err, actions.CheckURL("CLEARBIT_BASE_URL", c.BaseURL))
	}
	return err
}

// access is who may use the app-wide key.
func (c Config) access() (actions.AppKeyAccess, error) {
	return actions.ParseAppKeyAccess("CLEARBIT_APP_KEY_PORTALS", c.AppKeyPortals, "CLEARBIT_APP_KEY_DAILY_QUOTA", c.AppKeyDailyQuota)
}

// Module is Clearbit's entry in cmd's list of providers.
func Module() actions.Module {
	return actions.WithTestFake(actions.NewModule(ID, New, sandbox), testFake)
}

// testFake serves the test-mode twin from a fresh fake, whatever
// CLEARBIT_BASE_URL says; the twin sends clearbittest.TestModeKey.
func testFake(cfg *Config) *actions.Fake {
	return &actions.Fake{
		Handler: clearbittest.NewServer(clearbittest.Options{Keys: []string{clearbittest.TestModeKey}}),
		Use: func(url string) string {
			*cfg = Config{BaseURL: url}
			return "Clearbit's test mode is answered by its fake at " + url + "."
		},
	}
}

// sandbox serves Clearbit from its fake unless CLEARBIT_BASE_URL is set.
func sandbox(cfg *Config) *actions.Fake {
	if cfg.BaseURL != "" {
		return nil
	}
	return &actions.Fake{
		Handler: clearbittest.NewServer(clearbittest.Options{}),
		Use: func(url string) string {
			cfg.BaseURL = url
			if cfg.APIKey == "" {
				cfg.APIKey = "sk_sandbox_clearbit"
			}
			if cfg.AppKeyPortals == "" {
				cfg.AppKeyPortals = actions.AllPortals // the sandbox's portals share the fake's key
			}
			return "Clearbit is faked at " + url + ": any email or domain enriches; try queued@…, unknown@… or info@… for a 202, 404 or 422."
		},
	}
}

// Provider serves the Clearbit actions with each portal's key (or the
// app's default) and its card on the settings page. It is safe for
// concurrent use.
type Provider struct {
	actions.KeyedProvider // the key card; zero when built for a test with its own keys
	c                     *Client
	keys                  actions.KeyFunc
	opts                  Options
}

// keyHelp says where an admin finds the key.
const keyHelp = "Your Clearbit secret API key, from the API page of your Clearbit dashboard (it starts with sk_)."

// New returns the Clearbit provider.
func New(cfg Config, deps actions.Deps) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.TestMode {
		return newTwin(cfg, deps)
	}
	access, err := cfg.access()
	if err != nil {
		return nil, err
	}
	if cfg.APIKey != "" && access.None() {
		deps.Logger().Warn("CLEARBIT_API_KEY is set but CLEARBIT_APP_KEY_PORTALS allows no portal, so only portals that enter their own Clearbit key can enrich; "+
			"set CLEARBIT_APP_KEY_PORTALS=all (or a list of portal IDs) to let portals use the app's key", "provider", ID)
	} else if cfg.APIKey != "" {
		deps.Logger().Info("the app-wide key serves "+access.String(), "provider", ID)
	}
	apiKeys := actions.NewAPIKeys(deps.DB, ID, "Clearbit", cfg.APIKey.Reveal(), deps.SettingsURL()).WithAppKeyAccess(access)
	c := NewClient(cfg.BaseURL, deps.Client("clearbit", 10*time.Second)).
		WithLimiter(deps.Limiter(ID, Limit(RequestsPerMinute, defaultBurst)))
	p, err := newProvider(c, apiKeys.Use, Options{
		SettingsURL: deps.SettingsURL(),
		KeyOwner: func(ctx context.Context, portalID int64) KeyOwner {
			if apiKeys.PortalOwned(ctx, portalID) {
				return OwnerPortal
			}
			return OwnerApp
		},
	})
	if err != nil {
		return nil, err
	}
	p.KeyedProvider = actions.NewKeyedProvider(apiKeys, keyHelp, p.c.VerifyKey)
	return p, nil
}

// newTwin returns the test-mode twin: every portal's lookups go to
// cfg.BaseURL (the test fake) with clearbittest.TestModeKey; no key is
// read from the store and no app-key use is counted.
func newTwin(cfg Config, deps actions.Deps) (*Provider, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("test mode needs the fake's URL (Module.TestFake), not Clearbit's hosts")
	}
	c := NewClient(cfg.BaseURL, deps.Client("clearbit-test", 10*time.Second)).
		WithLimiter(actions.TestLimiter(ID, Limit(RequestsPerMinute, defaultBurst)))
	p, err := newProvider(c, actions.TestKey(clearbittest.TestModeKey), Options{SettingsURL: deps.SettingsURL()})
	if err != nil {
		return nil, err
	}
	p.KeyedProvider = actions.NewTestKeyedProvider(ID, "Clearbit")
	return p, nil
}

// Name is Clearbit's id.
func (p *Provider) Name() string { return ID }
