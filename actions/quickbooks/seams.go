package quickbooks

import (
	"context"
)

// CRM reads the HubSpot records an action needs through the portal's
// HubSpot API (New adapts the app's hubspot.Client to it).
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
