package quickbooks

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/oauth"
)

// Grants stores each portal's QuickBooks grant (tokens encrypted at rest,
// with the company's realmId and name) and hands out authorized clients.
// The oauth package's Grants, built with OAuthConfig, satisfies it through a
// small adapter. Methods return errors wrapping oauth.ErrNotConnected when
// the portal has no usable grant (never connected, disconnected, or its
// refresh token was rejected with invalid_grant).
type Grants interface {
	// Save stores a new grant for portalID, replacing any other.
	Save(ctx context.Context, portalID int64, tok *oauth2.Token, realmID, companyName string) error
	// Token returns the portal's current token, refreshed if it expired.
	Token(ctx context.Context, portalID int64) (*oauth2.Token, error)
	// Client returns an *http.Client that sends the portal's access token,
	// refreshing it (once, however many callers) when it expires and saving
	// the rotated refresh token before using it.
	Client(ctx context.Context, portalID int64) (*http.Client, error)
	// Status describes the grant (active or needing reconnection, the
	// company's name); errors wrap oauth.ErrNotConnected when there is none.
	Status(ctx context.Context, portalID int64) (oauth.GrantStatus, error)
	// Account returns the realmId and company name saved with the grant.
	Account(ctx context.Context, portalID int64) (realmID, companyName string, err error)
	// Refresh forces a refresh after Intuit rejected the access token (401)
	// although it had not expired by our clock. An implementation may skip
	// the refresh when the token changed since the rejected request.
	Refresh(ctx context.Context, portalID int64) error
	// Delete forgets the portal's grant.
	Delete(ctx context.Context, portalID int64) error
}

// Sessions is what the connect flow needs of the admin settings session
// and of the OAuth state helpers (signed cookie, single-use, 10 minutes).
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

// CRM reads the HubSpot records an action needs through the portal's
// HubSpot API (cmd adapts oauth.HubSpot to it).
type CRM interface {
	// DealContact returns the first contact associated with the deal that
	// has an email address, or a zero Contact when there is none.
	DealContact(ctx context.Context, portalID int64, dealID string) (Contact, error)
}

// Contact is a HubSpot contact, as far as invoices need one.
type Contact struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	Company   string
	Phone     string
}
