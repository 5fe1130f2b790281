package stripe

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/stripe/stripetest"
)

// ID is Stripe's id in the database, routes and the settings page.
const ID = "stripe"

// codeSecretName names the app secret promotion-code suffixes and coupon
// IDs are derived from. It must never change: retried executions would ask
// for other codes.
const codeSecretName = "stripe promotion codes"

// Config is Stripe's part of the environment.
type Config struct {
	// SecretKey is the app-wide default key, used by portals that entered
	// none of their own.
	SecretKey actions.Secret `env:"STRIPE_SECRET_KEY"`
	// AppKeyPortals is who may use SecretKey: "all", a list of portal IDs,
	// or nobody when empty (sandbox mode: all).
	AppKeyPortals string `env:"STRIPE_APP_KEY_PORTALS"`
	// AppKeyDailyQuota is how many executions a day each allowed portal may
	// run with SecretKey; 0 is no limit.
	AppKeyDailyQuota int64 `env:"STRIPE_APP_KEY_DAILY_QUOTA" default:"100"`
	// BaseURL is Stripe's API origin.
	BaseURL string `env:"STRIPE_API_BASE_URL" default:"https://api.stripe.com"`
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	_, err := c.access()
	return errors.Join(err, actions.CheckURL("STRIPE_API_BASE_URL", c.BaseURL))
}

// access is who may use the app-wide key.
func (c Config) access() (actions.AppKeyAccess, error) {
	return actions.ParseAppKeyAccess("STRIPE_APP_KEY_PORTALS", c.AppKeyPortals, "STRIPE_APP_KEY_DAILY_QUOTA", c.AppKeyDailyQuota)
}

// Module is Stripe's entry in cmd's list of providers.
func Module() actions.Module {
	return actions.WithTestFake(actions.NewModule(ID, New, sandbox), testFake)
}

// testFake serves the test-mode twin from a fresh in-process stripetest
// fake, whatever STRIPE_API_BASE_URL says; the twin sends
// stripetest.TestModeKey.
func testFake(cfg *Config) *actions.Fake {
	return &actions.Fake{
		Handler: stripetest.NewServer(stripetest.Options{}),
		Use: func(url string) string {
			*cfg = Config{BaseURL: url}
			return "Stripe's test mode is answered by its fake at " + url + "."
		},
	}
}

// sandbox serves Stripe from its fake unless STRIPE_API_BASE_URL points
// elsewhere than Stripe.
func sandbox(cfg *Config) *actions.Fake {
	if strings.TrimRight(cfg.BaseURL, "/") != DefaultBaseURL {
		return nil
	}
	return &actions.Fake{
		Handler: stripetest.NewServer(stripetest.Options{}),
		Use: func(url string) string {
			cfg.BaseURL = url
			if cfg.SecretKey == "" {
				cfg.SecretKey = stripetest.SandboxKey
			}
			if cfg.AppKeyPortals == "" {
				cfg.AppKeyPortals = actions.AllPortals // the sandbox's portals share the fake's key
			}
			return "Stripe is faked at " + url + ": codes WELCOME10, TENOFF and EXPIRED20 exist for a portal that enters its own key (any sk_test_ key; the shared key sees only codes the app made for the portal); a code_prefix of RATELIMIT gets a 429."
		},
	}
}

// Provider serves the Stripe promotion-code actions with each portal's key
// (or the app's default) and its card on the settings page. It is safe for
// concurrent use.
type Provider struct {
	actions.KeyedProvider // the key card; zero when built for a test with its own keys
	c                     *Client
	keys                  actions.KeyFunc                           // the key store's Use, or a test's
	secret                func(ctx context.Context) ([]byte, error) // the code secret, read once
	now                   func() time.Time

	mu   sync.Mutex
	mint minter // set once the secret is read
}

// keyHelp says where an admin finds the key.
const keyHelp = "Your Stripe secret key, from Developers → API keys (it starts with sk_ or rk_)."

// New returns the Stripe provider. Promotion-code suffixes are an HMAC of
// the callbackId under the app's own secret (deps.AppSecret, read on first
// use): unguessable, yet the same on every retry of an execution.
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
	if cfg.SecretKey != "" && access.None() {
		deps.Logger().Warn("STRIPE_SECRET_KEY is set but STRIPE_APP_KEY_PORTALS allows no portal, so only portals that enter their own Stripe key can create or check codes; "+
			"set STRIPE_APP_KEY_PORTALS=all (or a list of portal IDs) to let portals use the app's key", "provider", ID)
	} else if cfg.SecretKey != "" {
		deps.Logger().Info("the app-wide key serves "+access.String(), "provider", ID)
	}
	apiKeys := actions.NewAPIKeys(deps.DB, ID, "Stripe", cfg.SecretKey.Reveal(), deps.SettingsURL()).WithAppKeyAccess(access)
	p := &Provider{
		c:    NewClient(strings.TrimRight(cfg.BaseURL, "/"), deps.Client("stripe", 30*time.Second)).WithLimiters(deps.Limiter),
		keys: apiKeys.Use,
		now:  time.Now,
	}
	p.KeyedProvider = actions.NewKeyedProvider(apiKeys, keyHelp, p.c.VerifyKey)
	p.secret = func(ctx context.Context) ([]byte, error) {
		if deps.AppSecret == nil {
			return nil, errors.New("no app secret store")
		}
		return deps.AppSecret(ctx, codeSecretName)
	}
	return p, nil
}

// newTwin returns the test-mode twin: every portal's calls go to
// cfg.BaseURL (the test fake) with stripetest.TestModeKey, as the portal's
// own key; codes are derived from a fixed test secret, so neither a key
// nor the app's secret is read from the store, and no app-key use is
// counted.
func newTwin(cfg Config, deps actions.Deps) (*Provider, error) {
	if strings.TrimRight(cfg.BaseURL, "/") == DefaultBaseURL {
		return nil, errors.New("test mode needs the fake's URL (Module.TestFake), not Stripe's")
	}
	p := &Provider{
		c:    NewClient(strings.TrimRight(cfg.BaseURL, "/"), deps.Client("stripe-test", 30*time.Second)).WithLimiters(actions.TestLimiter),
		keys: actions.TestKey(stripetest.TestModeKey),
		now:  time.Now,
	}
	p.KeyedProvider = actions.NewTestKeyedProvider(ID, "Stripe")
	secret := actions.TestSecret(codeSecretName)
	p.secret = func(context.Context) ([]byte, error) { return secret, nil }
	return p, nil
}

// Name is Stripe's id.
func (p *Provider) Name() string { return ID }
