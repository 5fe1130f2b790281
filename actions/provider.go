package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions/hubspot"
	"hubspot-actions/store"
)

// Provider is one external system the app talks to (Clearbit, QuickBooks,
// Stripe): the actions it serves, the routes it owns (an OAuth connect and
// callback) and its part of the settings page. Every provider is one
// package under actions/ that exports a Module; cmd lists the modules once.
type Provider interface {
	// Name is the provider's id in the database, routes and the settings
	// page, such as "clearbit". It never changes.
	Name() string
	// Register adds the provider's actions to r.
	Register(r *Registry) error
	// Routes mounts the provider's own routes on e (most have none).
	Routes(e *echo.Echo)
	// Card is the provider's part of the settings page for one portal. It
	// may make one cheap call to the provider, bounded by ctx; it fails
	// only when the store cannot be read.
	Card(ctx context.Context, portalID int64) (Card, error)
	// Guide is the provider's part of the public setup guide: how an admin
	// connects and disconnects it. It reads nothing and holds no secret.
	Guide() ProviderGuide
}

// ProviderGuide is a provider's part of the public setup guide, in plain
// words for a portal admin.
type ProviderGuide struct {
	Label   string // display name, as on its settings card
	Summary string // what the app does with the service, and what it needs
	// Connect are the steps to connect the service, in order.
	Connect []string
	// Disconnect are the steps to disconnect it and what happens then.
	Disconnect []string
	// TestMode says what the provider's actions do while a portal is in
	// test mode: which stand-in answers them, and what their outputs look
	// like. Empty when the provider has no test-mode twin.
	TestMode []string
}

// KeyProvider is a provider whose API key each portal's admin enters on the
// settings page. The settings page saves and removes keys through it.
type KeyProvider interface {
	Provider
	// Keys is the provider's per-portal key store.
	Keys() *APIKeys
	// VerifyKey checks a key with one cheap call to the provider before it
	// is saved. Errors are *Error with a message in plain words, or
	// transient.
	VerifyKey(ctx context.Context, key string) error
}

// Disconnector is a provider each portal connects through OAuth; the
// settings page offers to disconnect it.
type Disconnector interface {
	Provider
	// Connected reports whether a grant is stored for the portal (it may
	// need reconnecting).
	Connected(ctx context.Context, portalID int64) (bool, error)
	// Disconnect revokes the portal's grant upstream and forgets it. When the
	// grant was forgotten but could not be revoked, the error wraps
	// ErrNotRevoked.
	Disconnect(ctx context.Context, portalID int64) error
}

// ErrNotRevoked means a connection was removed here but the provider could
// not be reached to revoke the app's access.
var ErrNotRevoked = errors.New("disconnected here, but not revoked upstream")

// CardStatus is the state a settings card shows in its badge.
type CardStatus string

// Card statuses. The values are also the badge's CSS class suffix.
const (
	CardConnected      CardStatus = "active"          // the portal's own key or connection works
	CardDefault        CardStatus = "default"         // the app's default key is in use
	CardNeedsReconnect CardStatus = "needs_reinstall" // the provider no longer accepts the grant
	CardNotConnected   CardStatus = "not_connected"   // nothing set up: actions answer NOT_CONNECTED
	CardUnavailable    CardStatus = "unavailable"     // the operator has not configured the provider
)

// Card is a provider's part of the settings page: a status and the forms
// that apply. It holds no secret.
type Card struct {
	Provider string // Name()
	Label    string // display name, e.g. "QuickBooks Online"
	Short    string // short name for buttons, e.g. "QuickBooks"
	Status   CardStatus
	Badge    string // the badge's words, e.g. "Connected"
	Detail   string // plain words after the badge
	// Key is set for providers whose API key the admin enters.
	Key *KeyCard
	// Connect is set for providers connected through OAuth.
	Connect *ConnectCard
}

// KeyCard is the API-key form of a card.
type KeyCard struct {
	Help       string    // where to find the key
	Own        bool      // the portal entered a key
	Hint       string    // the masked key
	VerifiedAt time.Time // when the portal's key was last checked
	HasDefault bool      // an app-wide default key exists
}

// ConnectCard is the OAuth part of a card.
type ConnectCard struct {
	AccountLabel string // what the account is, e.g. "Company"
	Account      string // the connected account's name
	Connected    bool   // a grant is stored (offer to disconnect)
	ConnectURL   string // where the connect link leads; "" when not offered
	ConnectLabel string // the link's words, e.g. "Reconnect QuickBooks"
}

// Deps is what a provider may need of the app. cmd fills it once; a
// provider keeps what it uses. Constructors do no I/O.
type Deps struct {
	// DB is the app's store; it seals and opens secrets itself.
	DB *store.DB
	// HubSpot reads a portal's CRM records.
	HubSpot *hubspot.Client
	// Sessions are the settings page's admin sessions and OAuth states,
	// for connect flows.
	Sessions Sessions
	// HTTPClient returns an outbound client for the named upstream with
	// the given timeout, its requests counted in the metrics.
	HTTPClient func(upstream string, timeout time.Duration) *http.Client
	// Limiters builds the rate limiter of one upstream budget, named for
	// the provider (and the budget, e.g. "stripe-live") with its limits.
	// nil builds in-process LocalLimiters; several replicas pass one that
	// shares each budget through the database.
	Limiters func(name string, l Limit) Limiter
	// AppSecret returns the app's own long-lived secret of that name (32
	// bytes, generated and stored sealed on first use).
	AppSecret func(ctx context.Context, name string) ([]byte, error)
	// PublicBaseURL is the service's public origin, without a trailing /.
	PublicBaseURL string
	// Unauthenticated is the middleware of routes anyone may call (an
	// OAuth callback): the per-client rate limit, LimitPerClient. nil adds
	// none.
	Unauthenticated echo.MiddlewareFunc
	Log             *slog.Logger
	// TestMode builds the provider's test-mode twin, from a configuration
	// returned by Module.TestFake: the same actions, answered by the fake
	// with fixed test credentials it accepts, for every portal. A twin
	// never reads or writes the store's keys, grants or connections, never
	// refreshes or revokes a token, never marks a connection as needing a
	// reconnect and counts no app-key quota; its limiters are in-process.
	TestMode bool
}

// SettingsURL is the settings page's address, where messages send admins.
func (d Deps) SettingsURL() string { return d.PublicBaseURL + SettingsPath }

// Client returns the outbound HTTP client a provider uses for upstream:
// d.HTTPClient's, or a plain client with that timeout when none is set
// (the definitions command, which never calls out).
func (d Deps) Client(upstream string, timeout time.Duration) *http.Client {
	if d.HTTPClient == nil {
		return &http.Client{Timeout: timeout}
	}
	return d.HTTPClient(upstream, timeout)
}

// Limiter returns the limiter of the named budget: d.Limiters', or an
// in-process LocalLimiter when none is set.
func (d Deps) Limiter(name string, l Limit) Limiter {
	if d.Limiters == nil {
		return NewLimiter(l)
	}
	return d.Limiters(name, l)
}

// Public returns the middleware a provider puts on each route anyone may
// call: d.Unauthenticated, when set.
func (d Deps) Public() []echo.MiddlewareFunc {
	if d.Unauthenticated == nil {
		return nil
	}
	return []echo.MiddlewareFunc{d.Unauthenticated}
}

// Logger returns d.Log, or a logger that discards when none is set.
func (d Deps) Logger() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

// Routes every provider may point at.
const (
	// SettingsPath is the settings page.
	SettingsPath = "/settings"
	// InstallPath is where a browser without a settings session is sent.
	InstallPath = "/oauth/hubspot/install"
	// GuidePath is the public setup guide, the app's documentation and
	// support page.
	GuidePath = "/guide"
)

// Sessions is what a provider's connect flow needs of the settings page's
// admin session and of the OAuth state helpers (single use, bound to the
// browser, 10 minutes).
type Sessions interface {
	// PortalID returns the portal of the admin signed in to the settings
	// page, if any.
	PortalID(c echo.Context) (int64, bool)
	// NewState returns a fresh state for provider, bound to this browser
	// and to the session's portal.
	NewState(c echo.Context, provider string) (string, error)
	// ConsumeState checks state (and uses it up) and returns the portal it
	// was issued for.
	ConsumeState(c echo.Context, provider, state string) (int64, error)
}

// ProviderConfig is a provider's part of the environment: a struct whose
// fields carry `env:"NAME"` tags (and `default:"…"` where there is one),
// filled by cmd. Validate reports every problem at once, naming the
// variables.
type ProviderConfig interface {
	Validate() error
}

// Module is what cmd's one list of providers holds: how to read a
// provider's configuration, how to fake it in sandbox mode, and how to
// build it. Build one with NewModule.
type Module struct {
	name    string
	config  func() ProviderConfig
	build   func(cfg ProviderConfig, deps Deps) (Provider, error)
	sandbox func(cfg ProviderConfig) *Fake
	test    func(cfg ProviderConfig) (ProviderConfig, *Fake)
}

// Fake is a provider's stand-in for sandbox mode: a plain handler that cmd
// serves on loopback, and what to change in the configuration once its URL
// is known.
type Fake struct {
	Handler http.Handler
	// Use points the configuration at the fake served at url and returns
	// a line for the sandbox banner.
	Use func(url string) (note string)
}

// NewModule returns the module of a provider named name whose
// configuration is C: build makes the provider from a validated C, and
// sandbox (optional) returns the fake that stands in for it in sandbox
// mode, or nil when cfg already points somewhere real.
func NewModule[C any, PC interface {
	*C
	ProviderConfig
}, P Provider](name string, build func(cfg C, deps Deps) (P, error), sandbox func(cfg *C) *Fake) Module {
	m := Module{
		name:   name,
		config: func() ProviderConfig { return PC(new(C)) },
		build: func(cfg ProviderConfig, deps Deps) (Provider, error) {
			c, ok := cfg.(PC)
			if !ok {
				return nil, fmt.Errorf("%s: configuration of type %T", name, cfg)
			}
			p, err := build(*c, deps)
			if err != nil {
				return nil, err
			}
			return p, nil
		},
	}
	if sandbox != nil {
		m.sandbox = func(cfg ProviderConfig) *Fake {
			c, ok := cfg.(PC)
			if !ok {
				return nil
			}
			return sandbox(c)
		}
	}
	return m
}

// WithTestFake returns m with the fake that answers its test-mode twin
// (Module.TestFake): fake is given a copy of the live configuration, must
// return a fresh fake whatever that configuration points at, and its Use
// must point the copy at the fake and clear every real credential in it.
func WithTestFake[C any, PC interface {
	*C
	ProviderConfig
}](m Module, fake func(cfg *C) *Fake) Module {
	m.test = func(cfg ProviderConfig) (ProviderConfig, *Fake) {
		c, ok := cfg.(PC)
		if !ok {
			return nil, nil
		}
		cp := *c
		return PC(&cp), fake(&cp)
	}
	return m
}

// Name is the provider's id.
func (m Module) Name() string { return m.name }

// NewConfig returns a pointer to a zero configuration for cmd to fill from
// the environment (through its `env` and `default` tags) and validate.
func (m Module) NewConfig() ProviderConfig { return m.config() }

// New builds the provider from a configuration returned by NewConfig.
func (m Module) New(cfg ProviderConfig, deps Deps) (Provider, error) {
	p, err := m.build(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	return p, nil
}

// Sandbox returns the fake that stands in for the provider in sandbox mode
// given its configuration, or nil when the provider is not faked.
func (m Module) Sandbox(cfg ProviderConfig) *Fake {
	if m.sandbox == nil {
		return nil
	}
	return m.sandbox(cfg)
}

// TestFake returns, for test mode, a copy of cfg (which is left as it is)
// and a fresh fake to serve; once its Use has the fake's URL, the copy
// points at the fake alone, with no real credential, and builds the twin
// with New and Deps.TestMode. It returns nil, nil when the provider has no
// test fake.
func (m Module) TestFake(cfg ProviderConfig) (ProviderConfig, *Fake) {
	if m.test == nil {
		return nil, nil
	}
	return m.test(cfg)
}

// CheckURL reports, naming the variable, a value that is not an http or
// https URL with a host.
func CheckURL(variable, value string) error {
	if u, err := url.Parse(value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s must be an http or https URL, such as https://api.example.com", variable)
	}
	return nil
}

// Secret is a configuration value that must never be printed or logged.
type Secret string

func (Secret) String() string       { return "[redacted]" }
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Reveal returns the value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }
