// Package publish keeps the app's HubSpot side in step with the code: it
// generates (and checks) the HubSpot project in app-definition/, and
// creates or updates the app's action definitions through HubSpot's
// Automation Actions API, refusing changes that break live workflows.
package publish

import "errors"

// ErrUsage is returned after a command printed its usage.
var ErrUsage = errors.New("usage")

// DefaultScopes returns the scopes the app requires unless HUBSPOT_SCOPES
// says otherwise: oauth and automation for the actions and callbacks, and
// the CRM reads the actions make. Each call returns a new slice.
func DefaultScopes() []string {
	return []string{"oauth", "automation", "crm.objects.contacts.read", "crm.objects.companies.read", "crm.objects.deals.read"}
}
