// Package quickbooks connects a HubSpot portal to a QuickBooks Online
// company (Intuit OAuth 2.0, one grant per portal) and serves the QuickBooks
// workflow actions: find or create a customer, and create (and optionally
// email) an invoice for a deal.
//
// Every write carries Intuit's requestid, derived from the execution's
// callbackId, so a retried or resumed execution never creates a second
// customer or invoice. Requests are paced per company (realm) under
// Intuit's limits by a shared actions.Limiter. The fake in quickbookstest serves
// tests and the sandbox.
package quickbooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
)

// ID is QuickBooks' id in the database (grants), OAuth state, routes and
// the settings page.
const ID = "quickbooks"

// Routes of the connect flow, relative to the public base URL.
const (
	ConnectPath  = "/oauth/quickbooks/connect"
	CallbackPath = "/oauth/quickbooks/callback"
	// SettingsPath is where admins connect and disconnect QuickBooks.
	SettingsPath = "/settings"
	// InstallPath is where a browser without a settings session is sent.
	InstallPath = "/oauth/hubspot/install"
)

// Scope is the OAuth scope the app asks for.
const Scope = "com.intuit.quickbooks.accounting"

// Intuit's OAuth endpoints.
const (
	IntuitAuthorizeURL = "https://appcenter.intuit.com/connect/oauth2"
	IntuitTokenURL     = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
	IntuitRevokeURL    = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
)

// Config configures the QuickBooks connection: QuickBooks' part of the
// environment (the `env` tags), plus what the app supplies. Empty URLs take
// Intuit's.
type Config struct {
	ClientID     string         `env:"QUICKBOOKS_CLIENT_ID"`
	ClientSecret actions.Secret `env:"QUICKBOOKS_CLIENT_SECRET"`
	// Environment is "sandbox" or "production"; it picks the API base URL.
	// It must be said with real Intuit credentials: a wrong guess looks
	// like every company needing to reconnect.
	Environment  string `env:"QUICKBOOKS_ENVIRONMENT"`
	APIBaseURL   string `env:"QUICKBOOKS_API_BASE_URL"`
	AuthorizeURL string `env:"INTUIT_AUTHORIZE_URL"`
	TokenURL     string `env:"INTUIT_TOKEN_URL"`
	RevokeURL    string `env:"INTUIT_REVOKE_URL"`
	// PublicBaseURL is the service's public origin, e.g.
	// https://actions.example.com; the redirect URI and the settings link
	// in messages are built from it. New takes it from the app.
	PublicBaseURL string
	// RequestsPerMinute and MaxConcurrent pace requests per company
	// (defaults: Intuit's 500 and 10).
	RequestsPerMinute int
	MaxConcurrent     int
}

// Validate reports every problem with the environment's part of the
// configuration, naming the variables.
func (c Config) Validate() error {
	var errs []error
	if (c.ClientID == "") != (c.ClientSecret == "") {
		errs = append(errs, errors.New("QUICKBOOKS_CLIENT_ID and QUICKBOOKS_CLIENT_SECRET go together: set both or neither"))
	}
	switch c.Environment {
	case "sandbox", "production":
	case "":
		if c.ClientID != "" {
			errs = append(errs, errors.New("QUICKBOOKS_ENVIRONMENT is required with QUICKBOOKS_CLIENT_ID (sandbox or production)"))
		}
	default:
		errs = append(errs, fmt.Errorf("QUICKBOOKS_ENVIRONMENT must be sandbox or production, not %q", c.Environment))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if (c.ClientID == "") != (c.ClientSecret == "") {
		errs = append(errs, errors.New("quickbooks: client id and client secret go together"))
	}
	if c.Environment == "" && c.ClientID == "" {
		c.Environment = "sandbox" // nothing to call without credentials
	}
	if c.PublicBaseURL == "" {
		errs = append(errs, errors.New("quickbooks: public base URL is required"))
	}
	if c.APIBaseURL == "" {
		switch c.Environment {
		case "sandbox":
			c.APIBaseURL = SandboxBaseURL
		case "production":
			c.APIBaseURL = ProductionBaseURL
		default:
			errs = append(errs, fmt.Errorf("quickbooks: environment %q must be sandbox or production", c.Environment))
		}
	}
	if c.AuthorizeURL == "" {
		c.AuthorizeURL = IntuitAuthorizeURL
	}
	if c.TokenURL == "" {
		c.TokenURL = IntuitTokenURL
	}
	if c.RevokeURL == "" {
		c.RevokeURL = IntuitRevokeURL
	}
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	return c, errors.Join(errs...)
}

// OAuthConfig returns the oauth2.Config for Intuit: Basic client
// authentication at the token endpoint, the accounting scope, and the
// callback under PublicBaseURL. Build the provider's oauth.Grants with it,
// under the name ID.
func OAuthConfig(cfg Config) *oauth2.Config {
	cfg, _ = cfg.withDefaults()
	return &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret.Reveal(),
		Endpoint: oauth2.Endpoint{
			AuthURL:   cfg.AuthorizeURL,
			TokenURL:  cfg.TokenURL,
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: cfg.PublicBaseURL + CallbackPath,
		Scopes:      []string{Scope},
	}
}

// Provider is the QuickBooks connection of every portal and the actions
// that use it. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	conf     *oauth2.Config
	grants   *oauth.Grants
	sessions actions.Sessions
	crm      CRM
	hc       *http.Client
	lim      actions.Limiter
	log      *slog.Logger
	now      func() time.Time
	public   []echo.MiddlewareFunc // on the routes anyone may call (Deps.Public)
	test     *testAccess           // set in the test-mode twin, which has no grants
}

// newProvider returns the provider. grants holds each portal's QuickBooks
// grant (built with oauth.NewGrants(ID, OAuthConfig(cfg), …)): its tokens,
// sealed, with the company's realmId and name as the account. hc is used
// for the code exchange, the company lookup that follows it and revocation
// (set its timeout); API calls go through grants.Client.
func newProvider(cfg Config, grants *oauth.Grants, sessions actions.Sessions, crm CRM, hc *http.Client, log *slog.Logger) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Provider{
		cfg:      cfg,
		conf:     OAuthConfig(cfg),
		grants:   grants,
		sessions: sessions,
		crm:      crm,
		hc:       hc,
		lim:      actions.NewLimiter(limit(cfg.RequestsPerMinute, cfg.MaxConcurrent)),
		log:      log.With("provider", ID),
		now:      time.Now,
	}, nil
}

// Configured reports whether the app has QuickBooks credentials. Without
// them the actions are still registered (they are part of the app's
// definition) but answer NOT_CONNECTED, and connecting is refused.
func (s *Provider) Configured() bool { return s.cfg.ClientID != "" }

// Register adds the QuickBooks actions to r.
func (s *Provider) Register(r *actions.Registry) error {
	if err := actions.Register(r, s.findOrCreateCustomerSpec()); err != nil {
		return err
	}
	return actions.Register(r, s.createInvoiceSpec())
}

// settingsURL is where an admin connects QuickBooks.
func (s *Provider) settingsURL() string { return s.cfg.PublicBaseURL + SettingsPath }

// notConnected is the error for a portal without a usable QuickBooks grant.
func (s *Provider) notConnected(err error) *actions.Error {
	return actions.Fail(actions.CodeNotConnected,
		"QuickBooks is not connected to this HubSpot account. An admin can connect it on the app's settings page: %s", s.settingsURL()).With(err)
}

// reconnect is the error for a grant Intuit no longer accepts.
func (s *Provider) reconnect(err error) *actions.Error {
	return actions.Fail(actions.CodeNotConnected,
		"QuickBooks no longer accepts the app's access to this company (it was disconnected or its authorization expired). An admin must reconnect QuickBooks on the app's settings page: %s", s.settingsURL()).With(err)
}

// company returns a client for the portal's company and its realmId.
func (s *Provider) company(ctx context.Context, portalID int64) (*Client, string, error) {
	if !s.Configured() {
		return nil, "", actions.Fail(actions.CodeNotConnected,
			"QuickBooks is not available in this installation of the app (its operator has not set up QuickBooks credentials).")
	}
	if s.test != nil {
		c, realm := s.testCompany(portalID)
		return c, realm, nil
	}
	st, err := s.grants.Status(ctx, portalID)
	if err != nil {
		return nil, "", s.grantError(err)
	}
	if st.Status != oauth.StatusActive {
		return nil, "", s.grantError(fmt.Errorf("quickbooks grant of portal %d is %s: %w", portalID, st.Status, oauth.ErrNotConnected))
	}
	hc, err := s.grants.Client(ctx, portalID)
	if err != nil {
		return nil, "", s.grantError(err)
	}
	c := NewClient(s.cfg.APIBaseURL, hc, s.lim)
	c.now = s.now
	return c, st.AccountID, nil
}

func (s *Provider) grantError(err error) error {
	if errors.Is(err, oauth.ErrNotConnected) {
		return s.notConnected(err)
	}
	return fmt.Errorf("quickbooks: grant: %w", err)
}

// withCompany runs fn with a client for the portal's company. When Intuit
// rejects the access token, it refreshes once and runs fn again (fn must be
// idempotent: queries and requestid writes are); a second rejection means
// the admin must reconnect.
func (s *Provider) withCompany(ctx context.Context, portalID int64, fn func(c *Client, realm string) error) error {
	for attempt := 0; ; attempt++ {
		c, realm, err := s.company(ctx, portalID)
		if err != nil {
			return err
		}
		err = fn(c, realm)
		if errors.Is(err, oauth.ErrNotConnected) {
			// The grant failed to refresh inside the transport.
			return s.grantError(err)
		}
		var f *Fault
		if !errors.As(err, &f) || !f.Auth() {
			return err
		}
		if attempt > 0 || s.test != nil {
			return s.reconnect(err)
		}
		// A stored token other than the rejected one is new (a concurrent
		// caller refreshed after the same rejection, or an admin
		// reconnected): then the retry uses it without another refresh.
		if _, err := s.grants.ForceRefresh(ctx, portalID, f.rejected); err != nil {
			if errors.Is(err, oauth.ErrNotConnected) {
				return s.reconnect(err)
			}
			return fmt.Errorf("quickbooks: refresh after %v: %w", f, err)
		}
	}
}

// VerifyConnection calls QuickBooks as the portal and returns the
// connected company's name: for the settings page. Errors are
// *actions.Error (NOT_CONNECTED when the admin must connect or reconnect)
// or transient.
func (s *Provider) VerifyConnection(ctx context.Context, portalID int64) (companyName string, err error) {
	err = s.withCompany(ctx, portalID, func(c *Client, realm string) error {
		info, err := c.CompanyInfo(ctx, realm)
		companyName = info.CompanyName
		return err
	})
	if err != nil {
		return "", s.classify(err, hints{})
	}
	return companyName, nil
}

// hints say which input a fault is about.
type hints struct {
	emailField string // input holding the customer's email
	itemField  string // input holding the item id
	itemID     string
}

// classify turns an error from the API into what the marketer sees:
// throttling and system faults stay transient (the runtime retries them
// with backoff); validation faults become VALIDATION_FAILED when they are
// about an input, else UPSTREAM_REJECTED.
func (s *Provider) classify(err error, h hints) error {
	var f *Fault
	if !errors.As(err, &f) {
		return err
	}
	if f.Throttled() || f.api.Status >= 500 {
		return err
	}
	fe := f.First()
	switch {
	case f.Auth():
		return s.reconnect(err)
	case f.Has("2210") && h.emailField != "":
		return actions.Invalid(h.emailField, "QuickBooks does not accept this email address; use a single valid address such as jane@example.com").With(err)
	case f.Has("610") && h.itemField != "" && (strings.Contains(fe.Element, "Item") || !strings.Contains(fe.Element, "Customer")):
		return (&actions.Error{Code: actions.CodeNotFound, Field: h.itemField,
			Message: fmt.Sprintf("%s: the QuickBooks product or service %q does not exist or is inactive; pick another one in the action's settings", h.itemField, h.itemID)}).With(err)
	case f.Has("610"):
		return actions.Fail(actions.CodeNotFound, "QuickBooks could not find a record the request refers to, or it is inactive (%s).", plain(fe)).With(err)
	case f.api.Status == http.StatusForbidden || strings.EqualFold(f.Type, "AuthorizationFault"):
		return actions.Fail(actions.CodeRejected, "QuickBooks refused access (%s). The connected QuickBooks user may lack permission or the subscription may have lapsed.", plain(fe)).With(err)
	}
	return actions.Fail(actions.CodeRejected, "QuickBooks rejected the request: %s", plain(fe)).With(err)
}

// plain describes a fault error for a marketer, without internals.
func plain(fe FaultError) string {
	msg := strings.TrimSpace(fe.Message)
	if d := strings.TrimSpace(fe.Detail); d != "" && !strings.EqualFold(d, msg) {
		msg += ": " + d
	}
	if msg == "" {
		msg = "no details given"
	}
	if fe.Code != "" {
		msg += " (code " + fe.Code + ")"
	}
	if c, short := cut(msg, 300); short {
		msg = c + "…"
	}
	return msg
}
