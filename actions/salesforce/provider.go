package salesforce

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/salesforce/salesforcetest"
	"hubspot-actions/oauth"
)

// Module is Salesforce's entry in cmd's list of providers.
func Module() actions.Module {
	return actions.WithTestFake(actions.NewModule(ID, New, sandbox), testFake)
}

// sandbox serves Salesforce's OAuth endpoints and REST API from the fake
// unless the operator set Salesforce credentials.
func sandbox(cfg *Config) *actions.Fake {
	if cfg.ClientID != "" {
		return nil
	}
	cfg.ClientID, cfg.ClientSecret = "sandbox-salesforce", "sandbox-salesforce-secret"
	return &actions.Fake{
		Handler: salesforcetest.NewServer(salesforcetest.Options{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(), AdoptUnknownGrants: true,
		}),
		Use: func(url string) string {
			cfg.LoginURL = url
			return "Salesforce is faked at " + url + ": connect it from the settings page; leads are kept in memory until the service stops."
		},
	}
}

// New builds the Salesforce provider from its configuration and the app's
// parts: each portal's grant is kept by an oauth.Grants on the app's store,
// the settings page's sessions guard the connect flow, and the app's
// secret store keys the PKCE verifiers.
func New(cfg Config, deps actions.Deps) (*Provider, error) {
	if deps.TestMode {
		return newTwin(cfg, deps)
	}
	cfg.PublicBaseURL = deps.PublicBaseURL
	log := deps.Logger()
	hc := GrantsClient(deps.Client("salesforce", 30*time.Second), OAuthConfig(cfg).Endpoint.TokenURL)
	var grants *oauth.Grants
	if deps.DB != nil {
		grants = oauth.NewGrants(ID, OAuthConfig(cfg), deps.DB, hc, log)
	}
	secret := deps.AppSecret
	if secret == nil {
		secret = processSecret()
	}
	p, err := newProvider(cfg, grants, deps.Sessions, secret, hc, log)
	if err != nil {
		return nil, err
	}
	p.lim = deps.Limiter(ID, limit(p.cfg.RequestsPerMinute, p.cfg.MaxConcurrent))
	p.public = deps.Public()
	return p, nil
}

// processSecret is a secret of this process alone, for a provider built
// without the app's secret store (the definitions command, which never
// connects anything).
func processSecret() func(context.Context, string) ([]byte, error) {
	key := make([]byte, 32)
	rand.Read(key)
	return func(context.Context, string) ([]byte, error) { return key, nil }
}

// Name is Salesforce's id.
func (s *Provider) Name() string { return ID }

// Routes mounts the connect flow: the settings page links to ConnectPath,
// and Salesforce sends the admin back to CallbackPath. Anyone may call both
// (a callback writes), so both are paced per client (Deps.Public).
func (s *Provider) Routes(e *echo.Echo) {
	if s.test != nil {
		return // the twin has nothing to connect
	}
	e.GET(ConnectPath, s.HandleConnect(), s.public...)
	e.GET(CallbackPath, s.HandleCallback(), s.public...)
}

// Connected reports whether a grant is stored for the portal.
func (s *Provider) Connected(ctx context.Context, portalID int64) (bool, error) {
	if s.grants == nil {
		return false, nil
	}
	_, err := s.grants.Status(ctx, portalID)
	if errors.Is(err, oauth.ErrNotConnected) {
		return false, nil
	}
	return err == nil, err
}

// checkTimeout bounds the Salesforce call made for the settings card.
const checkTimeout = 4 * time.Second

// VerifyConnection calls Salesforce as the portal and returns the org's API
// usage: for the settings page. Errors are *actions.Error (NOT_CONNECTED
// when the admin must connect or reconnect) or transient.
func (s *Provider) VerifyConnection(ctx context.Context, portalID int64) (Usage, error) {
	var u Usage
	err := s.withOrg(ctx, portalID, func(c *Client) error {
		var err error
		u, err = c.Limits(ctx)
		return err
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Auth() {
			return u, s.reconnect(err)
		}
		return u, err
	}
	return u, nil
}

// Card is Salesforce's part of the settings page: whether the portal's org
// is connected (confirmed by one cheap call, which also reads the org's API
// usage), and the connect or disconnect button.
func (s *Provider) Card(ctx context.Context, portalID int64) (actions.Card, error) {
	if s.test != nil {
		return actions.TestModeCard(ID, "Salesforce"), nil
	}
	c := actions.Card{Provider: ID, Label: "Salesforce", Short: "Salesforce",
		Connect: &actions.ConnectCard{AccountLabel: "Org"}}
	if !s.Configured() {
		c.Status, c.Badge = actions.CardUnavailable, "Not available"
		c.Detail = "Salesforce is not available in this installation of the app: its operator has not set up Salesforce credentials."
		return c, nil
	}
	st, err := s.grants.Status(ctx, portalID)
	if errors.Is(err, oauth.ErrNotConnected) {
		c.Status, c.Badge = actions.CardNotConnected, "Not connected"
		c.Detail = "The Salesforce action fails with NOT_CONNECTED until you connect a Salesforce org."
		c.Connect.ConnectURL, c.Connect.ConnectLabel = ConnectPath, "Connect Salesforce"
		return c, nil
	}
	if err != nil {
		return c, err
	}
	const lost = "Salesforce no longer accepts the app's access to this org. Reconnect Salesforce; until then, the Salesforce action fails with NOT_CONNECTED."
	c.Connect.Connected, c.Connect.Account = true, accountName(st.AccountName)
	healthy := false
	if st.Status != oauth.StatusActive {
		c.Detail = lost
	} else {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		u, err := s.VerifyConnection(cctx, portalID)
		cancel()
		var ae *actions.Error
		switch {
		case err == nil:
			healthy = true
			if u.NearlySpent() {
				c.Detail = fmt.Sprintf("The org has used %s; when it runs out, Salesforce refuses every integration's requests until the allocation frees up.", u)
			}
		case errors.As(err, &ae) && ae.Code == actions.CodeNotConnected:
			c.Detail = lost
		default:
			healthy = true // as far as we know: the grant is active
			c.Detail = "Salesforce could not be reached just now to confirm the connection."
		}
	}
	if healthy {
		c.Status, c.Badge = actions.CardConnected, "Connected"
	} else {
		c.Status, c.Badge = actions.CardNeedsReconnect, "Needs reconnecting"
		c.Connect.ConnectURL, c.Connect.ConnectLabel = ConnectPath, "Reconnect Salesforce"
	}
	return c, nil
}

// accountName is what the card shows of an org: its instance's host.
func accountName(instance string) string {
	if u, err := url.Parse(instance); err == nil && u.Host != "" {
		return u.Host
	}
	return instance
}
