package quickbooks

import (
	"errors"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks/quickbookstest"
)

// testFake serves the test-mode twin from fresh fakes of Intuit's OAuth
// endpoints and the Accounting API, whatever the live configuration
// points at: one fake per portal (actions.PortalFakes), so no portal sees
// another's test customers or invoices. The twin calls a portal's fake
// with quickbookstest.TestModeToken for its default company.
func testFake(cfg *Config) *actions.Fake {
	*cfg = Config{ClientID: "test-mode-quickbooks", ClientSecret: "test-mode-quickbooks-secret", Environment: "sandbox"}
	opts := quickbookstest.Options{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(), StaticToken: quickbookstest.TestModeToken}
	return &actions.Fake{
		Handler: actions.NewPortalFakes(func() http.Handler { return quickbookstest.NewServer(opts) }, 0),
		Use: func(url string) string {
			cfg.APIBaseURL = url
			cfg.AuthorizeURL = url + quickbookstest.AuthorizePath
			cfg.TokenURL = url + quickbookstest.TokenPath
			cfg.RevokeURL = url + quickbookstest.RevokePath
			return "QuickBooks' test mode is answered by its fake at " + url + "."
		},
	}
}

// testAccess is the fixed company and access token of the test-mode twin.
type testAccess struct {
	token string
	realm string
}

// newTwin returns the test-mode twin: each portal's calls go to its fake
// under cfg.APIBaseURL (actions.PortalFakePath), as its default company with
// quickbookstest.TestModeToken. It has no grants: it reads, refreshes,
// revokes and marks none, and mounts no connect routes. Invoices still
// read the deal's contact through HubSpot, which writes nothing.
func newTwin(cfg Config, deps actions.Deps) (*Provider, error) {
	if cfg.APIBaseURL == "" || cfg.APIBaseURL == SandboxBaseURL || cfg.APIBaseURL == ProductionBaseURL {
		return nil, errors.New("test mode needs the fake's URL (Module.TestFake), not Intuit's")
	}
	cfg.PublicBaseURL = deps.PublicBaseURL
	var crm CRM
	if deps.HubSpot != nil {
		crm = hubspotCRM{deps.HubSpot}
	}
	p, err := newProvider(cfg, nil, nil, crm, deps.Client("quickbooks-test", 30*time.Second), deps.Logger())
	if err != nil {
		return nil, err
	}
	p.test = &testAccess{token: quickbookstest.TestModeToken, realm: quickbookstest.DefaultRealm}
	return p, nil
}

// testCompany is company for the twin.
func (s *Provider) testCompany(portalID int64) (*Client, string) {
	hc := &http.Client{Timeout: s.hc.Timeout, CheckRedirect: s.hc.CheckRedirect, Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.test.token, TokenType: "Bearer"}),
		Base:   s.hc.Transport,
	}}
	c := NewClient(s.cfg.APIBaseURL+actions.PortalFakePath(portalID), hc, s.lim)
	c.now = s.now
	return c, s.test.realm
}
