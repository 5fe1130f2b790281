package quickbooks

import (
	"context"

	"github.com/labstack/echo/v4"
)

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
// HubSpot API (cmd adapts hubspot.Client to it).
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
