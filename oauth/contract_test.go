package oauth_test

import (
	"hubspot-actions/actions"
	"hubspot-actions/oauth"
)

// The runtime's callback completions and portal checks go through the
// HubSpot client.
var _ actions.HubSpot = (*oauth.HubSpot)(nil)
