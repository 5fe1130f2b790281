// Package salesforce connects a HubSpot portal to a Salesforce org (OAuth
// 2.0 web server flow with PKCE, one grant per portal) and serves the
// salesforce-upsert-lead workflow action.
//
// The grant keeps the org's instance URL (checked to be Salesforce's, or
// the configured login host's), and its tokens are refreshed through the
// shared oauth.Grants, exactly once however many callers and replicas ask.
// Salesforce's access tokens carry no lifetime: they last the org's session
// timeout, so a token is assumed to last SessionLifetime and a 401
// INVALID_SESSION_ID forces one refresh. Every call uses APIVersion. The
// fake in salesforcetest serves tests and the sandbox.
package salesforce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
)

// ID is Salesforce's id in the database (grants), OAuth state, routes and
// the settings page.
const ID = "salesforce"

// Routes of the connect flow, relative to the public base URL.
const (
	ConnectPath  = "/oauth/salesforce/connect"
	CallbackPath = "/oauth/salesforce/callback"
)

// APIVersion is the REST API version every call uses. From v46.0 an
// upsert that updates answers 200 with created:false.
const APIVersion = "v63.0"

// Defaults of the configuration.
const (
	DefaultLoginURL        = "https://login.salesforce.com"
	SandboxLoginURL        = "https://test.salesforce.com"
	DefaultExternalIDField = "HubSpot_Contact_ID__c"
)

// Scopes are the OAuth scopes the app asks for: the REST API, and a refresh
// token so the app can act while no admin is signed in.
var Scopes = []string{"api", "refresh_token"}

// SessionLifetime is how long an access token is assumed to last.
// Salesforce does not say (its token answers have no expires_in): a token
// lasts the org's session timeout, 2 hours unless an admin changed it (15
// minutes to 24 hours). A token that dies sooner is refused with
// INVALID_SESSION_ID, which forces one refresh.
const SessionLifetime = 2 * time.Hour

// Config configures the Salesforce connection: Salesforce's part of the
// environment (the `env` tags), plus what the app supplies.
type Config struct {
	ClientID     string         `env:"SALESFORCE_CLIENT_ID"`
	ClientSecret actions.Secret `env:"SALESFORCE_CLIENT_SECRET"`
	// LoginURL is where admins sign in and tokens are issued:
	// https://login.salesforce.com, https://test.salesforce.com for sandbox
	// orgs, or a My Domain login URL.
	LoginURL string `env:"SALESFORCE_LOGIN_URL" default:"https://login.salesforce.com"`
	// ExternalIDField is the Lead field (External ID, Unique) that holds
	// the HubSpot contact id, upserts' key.
	ExternalIDField string `env:"SALESFORCE_LEAD_EXTERNAL_ID_FIELD" default:"HubSpot_Contact_ID__c"`
	// PublicBaseURL is the service's public origin; the redirect URI and
	// the settings link in messages are built from it. New takes it from
	// the app.
	PublicBaseURL string
	// RequestsPerMinute and MaxConcurrent pace requests per org (defaults
	// DefaultRequestsPerMinute and DefaultMaxConcurrent).
	RequestsPerMinute int
	MaxConcurrent     int
}

// Validate reports every problem with the environment's part of the
// configuration, naming the variables.
func (c Config) Validate() error {
	var errs []error
	if (c.ClientID == "") != (c.ClientSecret == "") {
		errs = append(errs, errors.New("SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET go together: set both or neither"))
	}
	if c.LoginURL != "" {
		if err := actions.CheckURL("SALESFORCE_LOGIN_URL", c.LoginURL); err != nil {
			errs = append(errs, err)
		} else if u, _ := url.Parse(c.LoginURL); c.ClientID != "" && u.Scheme != "https" && !loopbackHost(u.Hostname()) {
			errs = append(errs, errors.New("SALESFORCE_LOGIN_URL must be an https URL, such as https://login.salesforce.com"))
		} else if u.Path != "" && u.Path != "/" {
			errs = append(errs, errors.New("SALESFORCE_LOGIN_URL is an origin without a path, such as https://test.salesforce.com"))
		}
	}
	if c.ExternalIDField != "" && !validFieldName(c.ExternalIDField) {
		errs = append(errs, fmt.Errorf("SALESFORCE_LEAD_EXTERNAL_ID_FIELD must be a field's API name, such as %s", DefaultExternalIDField))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if (c.ClientID == "") != (c.ClientSecret == "") {
		errs = append(errs, errors.New("salesforce: client id and client secret go together"))
	}
	if c.PublicBaseURL == "" {
		errs = append(errs, errors.New("salesforce: public base URL is required"))
	}
	if c.LoginURL == "" {
		c.LoginURL = DefaultLoginURL
	}
	if c.ExternalIDField == "" {
		c.ExternalIDField = DefaultExternalIDField
	}
	if !validFieldName(c.ExternalIDField) {
		errs = append(errs, fmt.Errorf("salesforce: external id field %q is not a field name", c.ExternalIDField))
	}
	c.LoginURL = strings.TrimRight(c.LoginURL, "/")
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	return c, errors.Join(errs...)
}

// validFieldName reports whether s is a Salesforce field API name: a
// letter, then letters, digits and single underscores (custom fields end
// in __c), so it is safe in a URL path and in SOQL.
func validFieldName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case (r >= '0' && r <= '9') || r == '_':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// OAuthConfig returns the oauth2.Config for Salesforce: the client id and
// secret in the token request's body, the api and refresh_token scopes,
// and the callback under PublicBaseURL. Build the provider's oauth.Grants
// with it, under the name ID.
func OAuthConfig(cfg Config) *oauth2.Config {
	cfg, _ = cfg.withDefaults()
	return &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret.Reveal(),
		Endpoint: oauth2.Endpoint{
			AuthURL:   cfg.LoginURL + "/services/oauth2/authorize",
			TokenURL:  cfg.LoginURL + "/services/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: cfg.PublicBaseURL + CallbackPath,
		Scopes:      Scopes,
	}
}

// Provider is the Salesforce connection of every portal and the action that
// uses it. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	conf     *oauth2.Config
	grants   *oauth.Grants
	sessions actions.Sessions
	secret   func(ctx context.Context, name string) ([]byte, error)
	hc       *http.Client
	lim      actions.Limiter
	log      *slog.Logger
	now      func() time.Time
	public   []echo.MiddlewareFunc // on the routes anyone may call (Deps.Public)
	test     *testAccess           // set in the test-mode twin, which has no grants

	mu      sync.Mutex
	usage   map[string]Usage     // the last Sforce-Limit-Info seen, by org id
	noField map[string]time.Time // orgs without the external id field, until when
}

// newProvider returns the provider. grants holds each portal's grant
// (built with oauth.NewGrants(ID, OAuthConfig(cfg), …, GrantsClient(…))):
// its tokens, sealed, with the org id as the account id and the instance
// URL as the account name. secret is the app's secret store, which keys
// the PKCE verifiers. hc is used for the code exchange and revocation
// (set its timeout); API calls go through grants.Client.
func newProvider(cfg Config, grants *oauth.Grants, sessions actions.Sessions, secret func(ctx context.Context, name string) ([]byte, error), hc *http.Client, log *slog.Logger) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Provider{
		cfg:      cfg,
		conf:     OAuthConfig(cfg),
		grants:   grants,
		sessions: sessions,
		secret:   secret,
		hc:       hc,
		lim:      actions.NewLimiter(limit(cfg.RequestsPerMinute, cfg.MaxConcurrent)),
		log:      log.With("provider", ID),
		now:      time.Now,
		usage:    map[string]Usage{},
		noField:  map[string]time.Time{},
	}, nil
}

// Configured reports whether the app has Salesforce credentials. Without
// them the action is still registered (it is part of the app's
// definition) but answers NOT_CONNECTED, and connecting is refused.
func (s *Provider) Configured() bool {
	return s.cfg.ClientID != "" && (s.grants != nil || s.test != nil)
}

// Register adds the Salesforce action to r.
func (s *Provider) Register(r *actions.Registry) error {
	return actions.Register(r, s.upsertLeadSpec())
}

// settingsURL is where an admin connects Salesforce.
func (s *Provider) settingsURL() string { return s.cfg.PublicBaseURL + actions.SettingsPath }

func (s *Provider) notConnected(err error) *actions.Error {
	return actions.Fail(actions.CodeNotConnected,
		"Salesforce is not connected to this HubSpot account. An admin can connect it on the app's settings page: %s", s.settingsURL()).With(err)
}

func (s *Provider) reconnect(err error) *actions.Error {
	return actions.Fail(actions.CodeNotConnected,
		"Salesforce no longer accepts the app's access to this org (it was revoked, the connected user's session policies refuse it, or the refresh token expired). An admin must reconnect Salesforce on the app's settings page: %s", s.settingsURL()).With(err)
}

// org returns a client for the portal's org and the org's id.
func (s *Provider) org(ctx context.Context, portalID int64) (*Client, string, error) {
	if !s.Configured() {
		return nil, "", actions.Fail(actions.CodeNotConnected,
			"Salesforce is not available in this installation of the app (its operator has not set up Salesforce credentials).")
	}
	if s.test != nil {
		c, orgID := s.testOrg(portalID)
		return c, orgID, nil
	}
	st, err := s.grants.Status(ctx, portalID)
	if err != nil {
		return nil, "", s.grantError(err)
	}
	if st.Status != oauth.StatusActive {
		return nil, "", s.grantError(fmt.Errorf("salesforce grant of portal %d is %s: %w", portalID, st.Status, oauth.ErrNotConnected))
	}
	// The instance URL was checked when it was saved; it is checked again
	// so a row changed behind our back cannot point calls elsewhere.
	instance := s.localInstance(st.AccountName)
	if err := s.checkInstanceURL(instance); err != nil {
		return nil, "", s.reconnect(err)
	}
	hc, err := s.grants.Client(ctx, portalID)
	if err != nil {
		return nil, "", s.grantError(err)
	}
	c := NewClient(instance, hc, s.lim, st.AccountID)
	c.now = s.now
	c.observe = s.observe
	return c, st.AccountID, nil
}

// localInstance returns the instance URL to call for a stored one: itself,
// except that a loopback instance (the sandbox's fake) is the configured
// loopback login URL, where the fake now listens, so that a sandbox's
// connections survive a restart that moved the fake to another port.
func (s *Provider) localInstance(stored string) string {
	u, err := url.Parse(stored)
	login, lerr := url.Parse(s.cfg.LoginURL)
	if err == nil && lerr == nil && loopbackHost(u.Hostname()) && loopbackHost(login.Hostname()) {
		return s.cfg.LoginURL
	}
	return stored
}

func (s *Provider) grantError(err error) error {
	if errors.Is(err, oauth.ErrNotConnected) {
		return s.notConnected(err)
	}
	return fmt.Errorf("salesforce: grant: %w", err)
}

// withOrg runs fn with a client for the portal's org. When Salesforce
// refuses the access token (401 INVALID_SESSION_ID: the session timed out
// or was ended), it forces one refresh and runs fn again (fn must be
// idempotent: queries and external-id upserts are); a second refusal means
// the admin must reconnect.
func (s *Provider) withOrg(ctx context.Context, portalID int64, fn func(c *Client) error) error {
	for attempt := 0; ; attempt++ {
		c, _, err := s.org(ctx, portalID)
		if err != nil {
			return err
		}
		err = fn(c)
		if errors.Is(err, oauth.ErrNotConnected) {
			// The grant failed to refresh inside the transport.
			return s.grantError(err)
		}
		var ae *APIError
		if !errors.As(err, &ae) || !ae.Auth() {
			return err
		}
		if attempt > 0 || s.test != nil {
			return s.reconnect(err)
		}
		// A stored token other than the rejected one is new (a concurrent
		// caller refreshed after the same refusal, or an admin
		// reconnected): the retry uses it without another refresh.
		if _, err := s.grants.ForceRefresh(ctx, portalID, ae.rejected); err != nil {
			if errors.Is(err, oauth.ErrNotConnected) {
				return s.reconnect(err)
			}
			return fmt.Errorf("salesforce: refresh after %v: %w", ae, err)
		}
	}
}

// observe records an org's API usage from a Sforce-Limit-Info header and
// warns once it crosses NearlySpent.
func (s *Provider) observe(orgID string, u Usage) {
	s.mu.Lock()
	prev, had := s.usage[orgID]
	s.usage[orgID] = u
	s.mu.Unlock()
	if u.NearlySpent() && (!had || !prev.NearlySpent()) {
		s.log.Warn("salesforce org's daily API allocation nearly spent", "org_id", orgID, "api_used", u.Used, "api_limit", u.Limit)
	}
}

// lastUsage returns the org's API usage as last seen, if any.
func (s *Provider) lastUsage(orgID string) (Usage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.usage[orgID]
	return u, ok
}
