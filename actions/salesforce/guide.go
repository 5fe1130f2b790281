package salesforce

import "hubspot-actions/actions"

// Guide is Salesforce's part of the public setup guide.
func (s *Provider) Guide() actions.ProviderGuide {
	return actions.ProviderGuide{
		Label:   "Salesforce",
		Summary: "The Salesforce action creates or updates leads in one Salesforce org, connected through Salesforce's sign-in. The app never sees your Salesforce password. For the best matching, add a text field " + s.cfg.ExternalIDField + " to leads, marked External ID and Unique: the app stores each HubSpot contact's ID in it.",
		Connect: []string{
			"On the app's settings page, choose Connect Salesforce.",
			"Sign in to Salesforce as a user who may create and edit leads and allow access. Salesforce sends you back to the settings page, which shows the org's address.",
			"If the page later says Needs reconnecting (the access was revoked, or the connected user's password or policies changed), choose Reconnect Salesforce and do the same.",
		},
		Disconnect: []string{
			"On the settings page, choose Disconnect Salesforce. The app revokes its access at Salesforce and deletes its tokens at once.",
			"The Salesforce action then fails with NOT_CONNECTED. Leads already created stay in Salesforce.",
		},
		TestMode: []string{
			"A stand-in Salesforce org of this HubSpot account's own answers, whether or not Salesforce is connected: no lead is created or changed in your org.",
			"The first run for a record creates a lead and later runs update it, as in an org set up as this guide describes. Lead IDs are made up, and the lead link points at the stand-in, not at Salesforce.",
		},
	}
}
