// Package shopify connects a HubSpot portal to one Shopify shop (Shopify's
// OAuth for public apps, an offline access token per portal) and serves the
// Shopify workflow actions: look up a customer by email, and create a
// discount code through the Admin GraphQL API.
//
// The shop is only ever a <name>.myshopify.com host the admin typed and
// Shopify's signed callback confirmed, so no other host is ever called.
// Discount codes are derived from the execution's callbackId, so a retried
// execution finds the code it made (codeDiscountNodeByCode) rather than
// making another. Requests honour the shop's calculated query cost: each
// answer's throttleStatus paces the next request to that shop, and a
// THROTTLED answer is retried after the time the bucket needs. The fake in
// shopifytest serves tests and the sandbox.
package shopify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/shopify/shopifytest"
	"hubspot-actions/store"
)

// ID is Shopify's id in the database (token rows), OAuth state, routes and
// the settings page.
const ID = "shopify"

// formState names the single-use token of the connect form (a state of
// its own, so the form's cookie and the OAuth flow's never clash).
const formState = "shopify-form"

// APIVersion is the Admin API version every call is made against. It is
// pinned: Shopify changes fields between versions.
const APIVersion = shopifytest.APIVersion

// Scopes the app asks a shop for.
const Scopes = "read_customers,read_discounts,write_discounts"

// Routes of the connect flow, relative to the public base URL.
const (
	ConnectPath  = "/oauth/shopify/connect"
	CallbackPath = "/oauth/shopify/callback"
)

// codeSecretName names the app secret discount-code suffixes are derived
// from. It must never change: retried executions would ask for other codes.
const codeSecretName = "shopify discount codes"

// Config is Shopify's part of the environment.
type Config struct {
	ClientID     string         `env:"SHOPIFY_CLIENT_ID"`
	ClientSecret actions.Secret `env:"SHOPIFY_CLIENT_SECRET"`
	// APIBaseURL, when set, replaces https://<shop> for every call (OAuth
	// and Admin API): for tests and sandbox mode.
	APIBaseURL string `env:"SHOPIFY_API_BASE_URL"`
}

// Validate reports every problem with the configuration, naming the
// variables.
func (c Config) Validate() error {
	var errs []error
	if (c.ClientID == "") != (c.ClientSecret == "") {
		errs = append(errs, errors.New("SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET go together: set both or neither"))
	}
	if c.APIBaseURL != "" {
		errs = append(errs, actions.CheckURL("SHOPIFY_API_BASE_URL", c.APIBaseURL))
	}
	return errors.Join(errs...)
}

// Module is Shopify's entry in cmd's list of providers.
func Module() actions.Module {
	return actions.WithTestFake(actions.NewModule(ID, New, sandbox), testFake)
}

// sandbox serves Shopify's OAuth and Admin API from the fake unless the
// operator set Shopify credentials.
func sandbox(cfg *Config) *actions.Fake {
	if cfg.ClientID != "" {
		return nil
	}
	cfg.ClientID, cfg.ClientSecret = "sandbox-shopify", "sandbox-shopify-secret"
	return &actions.Fake{
		Handler: shopifytest.NewServer(shopifytest.Options{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(), Sandbox: true}),
		Use: func(url string) string {
			cfg.APIBaseURL = url
			return "Shopify is faked at " + url + ": connect any <name>.myshopify.com shop from the settings page; customer " +
				shopifytest.SandboxCustomerEmail + " exists with orders."
		},
	}
}

// Provider is the Shopify connection of every portal and the actions that
// use it. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	db       *store.DB
	sessions actions.Sessions
	hc       *http.Client
	log      *slog.Logger
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	public   []echo.MiddlewareFunc
	settings string // the settings page's address, for messages
	secret   func(ctx context.Context) ([]byte, error)
	buckets  *buckets
	lim      actions.Limiter // per shop: requests a second and in flight; THROTTLED pauses it
	test     bool            // the test-mode twin: each portal's TestShop, no token rows

	mu   sync.Mutex
	mint minter
}

// New builds the Shopify provider. Each portal's offline access token is a
// row of the store's grants under ID (sealed by the store; Shopify's
// offline tokens neither expire nor refresh), the settings page's sessions
// guard the connect flow, and discount-code suffixes are an HMAC of the
// callbackId under the app's own secret.
func New(cfg Config, deps actions.Deps) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.TestMode {
		return newTwin(cfg, deps)
	}
	cfg.APIBaseURL = strings.TrimRight(cfg.APIBaseURL, "/")
	p := &Provider{
		cfg:      cfg,
		db:       deps.DB,
		sessions: deps.Sessions,
		hc:       noRedirects(deps.Client("shopify", 30*time.Second)),
		log:      deps.Logger().With("provider", ID),
		now:      time.Now,
		sleep:    sleepCtx,
		public:   deps.Public(),
		settings: deps.SettingsURL(),
		buckets:  newBuckets(),
	}
	p.lim = deps.Limiter(ID, limit())
	p.secret = func(ctx context.Context) ([]byte, error) {
		if deps.AppSecret == nil {
			return nil, errors.New("no app secret store")
		}
		return deps.AppSecret(ctx, codeSecretName)
	}
	return p, nil
}

// Name is Shopify's id.
func (p *Provider) Name() string { return ID }

// Configured reports whether the app has Shopify credentials. Without
// them the actions are still registered but answer NOT_CONNECTED, and
// connecting is refused.
func (p *Provider) Configured() bool { return p.cfg.ClientID != "" }

// Register adds the Shopify actions to r.
func (p *Provider) Register(r *actions.Registry) error {
	if err := actions.Register(r, p.lookupSpec()); err != nil {
		return fmt.Errorf("shopify: %w", err)
	}
	if err := actions.Register(r, p.createSpec()); err != nil {
		return fmt.Errorf("shopify: %w", err)
	}
	return nil
}

// Routes mounts the connect flow: the settings page links to ConnectPath
// (a form where the admin types the shop), the form posts back to it, and
// Shopify sends the admin to CallbackPath. Anyone may call them, so each
// is paced per client (Deps.Public).
func (p *Provider) Routes(e *echo.Echo) {
	if p.test {
		return // the twin has nothing to connect
	}
	e.GET(ConnectPath, p.HandleConnectForm(), p.public...)
	e.POST(ConnectPath, p.HandleConnect(), p.public...)
	e.GET(CallbackPath, p.HandleCallback(), p.public...)
}

// Connected reports whether a token is stored for the portal.
func (p *Provider) Connected(ctx context.Context, portalID int64) (bool, error) {
	_, ok, err := p.grant(ctx, portalID)
	return ok, err
}

// grant describes the portal's stored token without opening it.
func (p *Provider) grant(ctx context.Context, portalID int64) (store.Token, bool, error) {
	if p.db == nil {
		return store.Token{}, false, nil
	}
	rows, err := p.db.ListPortalTokens(ctx, portalID)
	if err != nil {
		return store.Token{}, false, fmt.Errorf("shopify: read grant of portal %d: %w", portalID, err)
	}
	for _, r := range rows {
		if r.Provider == ID {
			return r, true, nil
		}
	}
	return store.Token{}, false, nil
}

// Card is Shopify's part of the settings page: the connected shop, and the
// links to connect, reconnect or disconnect it.
func (p *Provider) Card(ctx context.Context, portalID int64) (actions.Card, error) {
	if p.test {
		return actions.TestModeCard(ID, "Shopify"), nil
	}
	c := actions.Card{Provider: ID, Label: "Shopify", Short: "Shopify", Connect: &actions.ConnectCard{AccountLabel: "Shop"}}
	if !p.Configured() {
		c.Status, c.Badge = actions.CardUnavailable, "Not available"
		c.Detail = "Shopify is not available in this installation of the app: its operator has not set up Shopify credentials."
		return c, nil
	}
	row, ok, err := p.grant(ctx, portalID)
	if err != nil {
		return c, err
	}
	if !ok {
		c.Status, c.Badge = actions.CardNotConnected, "Not connected"
		c.Detail = "Shopify actions fail with NOT_CONNECTED until you connect a Shopify shop."
		c.Connect.ConnectURL, c.Connect.ConnectLabel = ConnectPath, "Connect Shopify"
		return c, nil
	}
	c.Connect.Connected, c.Connect.Account = true, row.AccountName
	if row.Status != store.StatusActive {
		c.Status, c.Badge = actions.CardNeedsReconnect, "Needs reconnecting"
		c.Detail = "Shopify no longer accepts the app's access to this shop. Reconnect Shopify; until then, Shopify actions fail with NOT_CONNECTED."
		c.Connect.ConnectURL, c.Connect.ConnectLabel = ConnectPath, "Reconnect Shopify"
		return c, nil
	}
	c.Status, c.Badge = actions.CardConnected, "Connected"
	return c, nil
}

// minter returns the code minter, reading the app secret on first use.
func (p *Provider) minter(ctx context.Context) (minter, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mint.secret != nil {
		return p.mint, nil
	}
	s, err := p.secret(ctx)
	if err != nil {
		return minter{}, fmt.Errorf("shopify: read the code secret: %w", err)
	}
	if len(s) < minSecretLen {
		return minter{}, fmt.Errorf("shopify: the code secret must be at least %d bytes", minSecretLen)
	}
	p.mint = minter{secret: append([]byte(nil), s...)}
	return p.mint, nil
}

// limit paces each shop (keyed by its domain) on top of the query-cost
// bucket: Shopify's GraphQL limit is in points, so this only caps bursts
// and requests in flight; a THROTTLED answer pauses the shop for every
// replica sharing the limiter.
func limit() actions.Limit {
	return actions.Limit{
		Every:      50 * time.Millisecond,
		Burst:      20,
		Concurrent: 10,
		MaxWait:    maxWait,
		Refusal:    "Shopify request budget for this shop is used up (our own pacing, nothing was sent)",
	}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noRedirects returns a copy of hc that never follows a redirect: a
// redirect would carry X-Shopify-Access-Token (which Go keeps on a
// cross-host redirect, unlike Authorization) or, for a 307 of the code
// exchange, the client secret to a host other than the shop's. A 3xx is
// an answer like any other, and fails the call.
func noRedirects(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
