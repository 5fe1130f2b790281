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
		TestMode: []string{
			"A stand-in QuickBooks company of this HubSpot account's own answers, whether or not QuickBooks is connected: nothing is created in your QuickBooks company, and no invoice is emailed.",
			"Items 1 to 30 exist (item 31 is inactive). Customers found or created and invoices created get made-up IDs and numbers; they are kept while the app runs, and are forgotten when it restarts.",
			"An invoice without a customer email still reads the deal's contact from HubSpot, as it does outside test mode.",
		},
	}
}
