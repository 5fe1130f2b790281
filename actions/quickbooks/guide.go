package quickbooks

import "hubspot-actions/actions"

// Guide is QuickBooks' part of the public setup guide.
func (s *Provider) Guide() actions.ProviderGuide {
	return actions.ProviderGuide{
		Label:   "QuickBooks Online",
		Summary: "The QuickBooks actions find or create customers and create invoices in one QuickBooks Online company, connected through Intuit's sign-in. The app never sees your Intuit password.",
		Connect: []string{
			"On the app's settings page, choose Connect QuickBooks.",
			"Sign in to Intuit as a QuickBooks admin, pick the company and allow access. Intuit sends you back to the settings page, which shows the company's name.",
			"If the page later says Needs reconnecting (for example after Intuit's access expired or was revoked), choose Reconnect QuickBooks and do the same.",
		},
		Disconnect: []string{
			"On the settings page, choose Disconnect QuickBooks. The app revokes its access at Intuit and deletes its tokens at once.",
			"The QuickBooks actions then fail with NOT_CONNECTED. Customers and invoices already created stay in QuickBooks.",
		},
	}
}
