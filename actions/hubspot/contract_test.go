package hubspot_test

import (
	"hubspot-actions/actions"
	"hubspot-actions/actions/hubspot"
)

// The runtime's callback completions and portal checks go through the
// HubSpot client.
var _ actions.HubSpot = (*hubspot.Client)(nil)
