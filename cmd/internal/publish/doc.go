// Package publish keeps the app's HubSpot side in step with the code: it
// generates (and checks) the HubSpot project in app-definition/, and
// creates or updates the app's action definitions through HubSpot's
// Automation Actions API, refusing changes that break live workflows.
package publish

import (
	"errors"

	"hubspot-actions/actions"
)

// ErrUsage is returned after a command printed its usage.
var ErrUsage = errors.New("usage")

// DefaultScopes returns the scopes the app requires unless HUBSPOT_SCOPES
// says otherwise: those reg's actions and features declare
// (actions.Registry.Scopes), so a scope no code needs is never asked for.
// Each call returns a new slice.
func DefaultScopes(reg *actions.Registry) []string {
	return reg.ScopeNames()
}
