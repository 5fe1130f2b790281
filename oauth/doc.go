// Package oauth holds OAuth: the HubSpot install flow (Flow: install,
// callback, removal, the portal check) and the per-portal token grants with
// exactly-once refresh for every OAuth provider (Grants). The HubSpot API
// client that uses the grants is actions/hubspot; oauth/hubspottest is a
// fake HubSpot.
package oauth
