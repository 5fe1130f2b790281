package shopify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/shopify/shopifytest"
)

// testFake serves the test-mode twin from a fresh fake, whatever the live
// configuration points at. The twin calls it with
// shopifytest.TestModeToken for a shop of the portal's own (TestShop), so
// no portal sees another's test discounts; every shop has the sandbox's
// customer.
func testFake(cfg *Config) *actions.Fake {
	*cfg = Config{ClientID: "test-mode-shopify", ClientSecret: "test-mode-shopify-secret"}
	return &actions.Fake{
		Handler: shopifytest.NewServer(shopifytest.Options{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(),
			Sandbox: true, StaticToken: shopifytest.TestModeToken}),
		Use: func(url string) string {
			cfg.APIBaseURL = url
			return "Shopify's test mode is answered by its fake at " + url + "."
		},
	}
}

// TestShop is the shop a portal's test-mode executions use.
func TestShop(portalID int64) string { return fmt.Sprintf("test-mode-%d.myshopify.com", portalID) }

// newTwin returns the test-mode twin: every portal's calls go to
// cfg.APIBaseURL (the test fake) for its TestShop with
// shopifytest.TestModeToken, and codes are derived from a fixed test
// secret. It reads no token row, marks none, revokes nothing and mounts
// no connect routes.
func newTwin(cfg Config, deps actions.Deps) (*Provider, error) {
	if cfg.APIBaseURL == "" {
		return nil, errors.New("test mode needs the fake's URL (Module.TestFake), not the shops'")
	}
	secret := actions.TestSecret(codeSecretName)
	p := &Provider{
		cfg:      Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, APIBaseURL: strings.TrimRight(cfg.APIBaseURL, "/")},
		hc:       noRedirects(deps.Client("shopify-test", 30*time.Second)),
		log:      deps.Logger().With("provider", ID, "test_mode", true),
		now:      time.Now,
		sleep:    sleepCtx,
		settings: deps.SettingsURL(),
		buckets:  newBuckets(),
		lim:      actions.TestLimiter(ID, limit()),
		secret:   func(context.Context) ([]byte, error) { return secret, nil },
		test:     true,
	}
	return p, nil
}
