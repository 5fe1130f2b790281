package quickbooks

import (
	"context"
	"errors"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/hubspot"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/oauth"
)

// Module is QuickBooks' entry in cmd's list of providers.
func Module() actions.Module {
	return actions.WithTestFake(actions.NewModule(ID, New, sandbox), testFake)
}

// sandbox serves Intuit's OAuth endpoints and the Accounting API from the
// fake unless the operator set QuickBooks credentials.
func sandbox(cfg *Config) *actions.Fake {
	if cfg.ClientID != "" {
		return nil
	}
	cfg.ClientID, cfg.ClientSecret = "sandbox-quickbooks", "sandbox-quickbooks-secret"
	return &actions.Fake{
		Handler: quickbookstest.NewServer(quickbookstest.Options{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(), AdoptUnknownGrants: true,
		}),
		Use: func(url string) string {
			cfg.Environment = "sandbox"
			cfg.APIBaseURL = url
			cfg.AuthorizeURL = url + quickbookstest.AuthorizePath
			cfg.TokenURL = url + quickbookstest.TokenPath
			cfg.RevokeURL = url + quickbookstest.RevokePath
			return "QuickBooks is faked at " + url + ": connect it from the settings page; items 1-30 exist, item 31 is inactive."
		},
	}
}

// New builds the QuickBooks provider from its configuration and the app's
// parts: each
// portal's grant is kept by an oauth.Grants on the app's store, the
// settings page's sessions guard the connect flow, and invoices read
// deals' contacts through the portal's HubSpot API.
func New(cfg Config, deps actions.Deps) (*Provider, error) {
	if deps.TestMode {
		return newTwin(cfg, deps)
	}
	cfg.PublicBaseURL = deps.PublicBaseURL
	hc := deps.Client("quickbooks", 30*time.Second)
	log := deps.Logger()
	var grants *oauth.Grants
	var crm CRM
	if deps.DB != nil {
		grants = oauth.NewGrants(ID, OAuthConfig(cfg), deps.DB, hc, log)
	}
	if deps.HubSpot != nil {
		crm = hubspotCRM{deps.HubSpot}
	}
	p, err := newProvider(cfg, grants, deps.Sessions, crm, hc, log)
	if err != nil {
		return nil, err
	}
	p.lim = deps.Limiter(ID, limit(p.cfg.RequestsPerMinute, p.cfg.MaxConcurrent))
	p.public = deps.Public()
	return p, nil
}

// Name is QuickBooks' id.
func (s *Provider) Name() string { return ID }

// Routes mounts the connect flow: the settings page links to ConnectPath,
// and Intuit sends the admin back to CallbackPath. Anyone may call both (a
// callback writes), so both are paced per client (Deps.Public).
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

// checkTimeout bounds the QuickBooks call made to show the company's name:
// the page renders without it rather than wait.
const checkTimeout = 4 * time.Second

// Card is QuickBooks' part of the settings page: whether the portal's
// company is connected (confirmed by one cheap call that reads its current
// name), and the links to connect, reconnect or disconnect it.
func (s *Provider) Card(ctx context.Context, portalID int64) (actions.Card, error) {
	if s.test != nil {
		return actions.TestModeCard(ID, "QuickBooks Online"), nil
	}
	c := actions.Card{Provider: ID, Label: "QuickBooks Online", Short: "QuickBooks", Connect: &actions.ConnectCard{AccountLabel: "Company"}}
	if !s.Configured() {
		c.Status, c.Badge = actions.CardUnavailable, "Not available"
		c.Detail = "QuickBooks is not available in this installation of the app: its operator has not set up QuickBooks credentials."
		return c, nil
	}
	st, err := s.grants.Status(ctx, portalID)
	if errors.Is(err, oauth.ErrNotConnected) {
		c.Status, c.Badge = actions.CardNotConnected, "Not connected"
		c.Detail = "QuickBooks actions fail with NOT_CONNECTED until you connect a QuickBooks company."
		c.Connect.ConnectURL, c.Connect.ConnectLabel = ConnectPath, "Connect QuickBooks"
		return c, nil
	}
	if err != nil {
		return c, err
	}
	const lost = "QuickBooks no longer accepts the app's access to this company. Reconnect QuickBooks; until then, QuickBooks actions fail with NOT_CONNECTED."
	c.Connect.Connected, c.Connect.Account = true, st.AccountName
	healthy := false
	if st.Status != oauth.StatusActive {
		c.Detail = lost
	} else {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		name, err := s.VerifyConnection(cctx, portalID)
		cancel()
		var ae *actions.Error
		switch {
		case err == nil:
			healthy = true
			if name != "" {
				c.Connect.Account = name
			}
		case errors.As(err, &ae) && ae.Code == actions.CodeNotConnected:
			c.Detail = lost
		default:
			healthy = true // as far as we know: the grant is active
			c.Detail = "QuickBooks could not be reached just now to confirm the connection."
		}
	}
	if healthy {
		c.Status, c.Badge = actions.CardConnected, "Connected"
	} else {
		c.Status, c.Badge = actions.CardNeedsReconnect, "Needs reconnecting"
		c.Connect.ConnectURL, c.Connect.ConnectLabel = ConnectPath, "Reconnect QuickBooks"
	}
	return c, nil
}

// hubspotCRM adapts the HubSpot API client to CRM.
type hubspotCRM struct{ h *hubspot.Client }

func (a hubspotCRM) DealContact(ctx context.Context, portalID int64, dealID string) (Contact, error) {
	o, err := a.h.DealContact(ctx, portalID, dealID)
	if errors.Is(err, hubspot.ErrNotFound) {
		return Contact{}, nil
	}
	if err != nil {
		return Contact{}, err
	}
	p := o.Properties
	return Contact{ID: o.ID, Email: p["email"], FirstName: p["firstname"], LastName: p["lastname"], Company: p["company"], Phone: p["phone"]}, nil
}
