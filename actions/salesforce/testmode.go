package salesforce

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/salesforce/salesforcetest"
)

// testFake serves the test-mode twin from fresh fakes of Salesforce's
// OAuth endpoints and REST API, whatever the live configuration points
// at: one fake org per portal (actions.PortalFakes), so no portal sees or
// changes another's test leads. The twin calls a portal's fake as its
// default org with salesforcetest.TestModeToken. The fake knows the
// configured external id field, so upserts behave as in a prepared org.
func testFake(cfg *Config) *actions.Fake {
	field := cfg.ExternalIDField
	if field == "" {
		field = salesforcetest.DefaultExternalIDField
	}
	*cfg = Config{ClientID: "test-mode-salesforce", ClientSecret: "test-mode-salesforce-secret", ExternalIDField: field}
	opts := salesforcetest.Options{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(),
		ExternalIDFields: []string{field}, StaticToken: salesforcetest.TestModeToken}
	return &actions.Fake{
		Handler: actions.NewPortalFakes(func() http.Handler { return salesforcetest.NewServer(opts) }, 0),
		Use: func(url string) string {
			cfg.LoginURL = url
			return "Salesforce's test mode is answered by its fake at " + url + "."
		},
	}
}

// testAccess is the fixed org and access token of the test-mode twin.
type testAccess struct {
	token string
	orgID string
}

// newTwin returns the test-mode twin: each portal's calls go to its fake
// under cfg.LoginURL (actions.PortalFakePath), its instance, as its
// default org with salesforcetest.TestModeToken. It has no grants: it reads,
// refreshes, revokes and marks none, and mounts no connect routes.
func newTwin(cfg Config, deps actions.Deps) (*Provider, error) {
	if cfg.LoginURL == "" || cfg.LoginURL == DefaultLoginURL {
		return nil, errors.New("test mode needs the fake's URL (Module.TestFake), not Salesforce's")
	}
	cfg.PublicBaseURL = deps.PublicBaseURL
	p, err := newProvider(cfg, nil, nil, processSecret(), deps.Client("salesforce-test", 30*time.Second), deps.Logger())
	if err != nil {
		return nil, err
	}
	p.test = &testAccess{token: salesforcetest.TestModeToken, orgID: salesforcetest.DefaultOrgID}
	return p, nil
}

// testOrg is org for the twin.
func (s *Provider) testOrg(portalID int64) (*Client, string) {
	hc := &http.Client{Timeout: s.hc.Timeout, CheckRedirect: s.hc.CheckRedirect, Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.test.token, TokenType: "Bearer"}),
		Base:   s.hc.Transport,
	}}
	// Each portal's fake is an org of its own: what the provider remembers
	// per org (API usage, a missing field) is kept per portal.
	org := s.test.orgID + "/" + strconv.FormatInt(portalID, 10)
	c := NewClient(strings.TrimRight(s.cfg.LoginURL, "/")+actions.PortalFakePath(portalID), hc, s.lim, org)
	c.now = s.now
	c.observe = s.observe
	return c, org
}
