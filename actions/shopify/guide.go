package shopify

import (
	"hubspot-actions/actions"
	"hubspot-actions/actions/shopify/shopifytest"
)

// Guide is Shopify's part of the public setup guide.
func (p *Provider) Guide() actions.ProviderGuide {
	return actions.ProviderGuide{
		Label:   "Shopify",
		Summary: "The Shopify actions look up customers and create discount codes in one Shopify shop, connected through Shopify's app authorization. The app never sees your Shopify password.",
		Connect: []string{
			"On the app's settings page, choose Connect Shopify and enter your shop's address, your-shop-name.myshopify.com.",
			"Shopify asks you, as the shop's owner or a staff member allowed to install apps, to allow the app to read customers and discounts and to create discounts. Shopify then sends you back to the settings page, which shows the shop.",
			"If the page later says Needs reconnecting (the app was uninstalled from the shop), choose Reconnect Shopify and do the same.",
		},
		Disconnect: []string{
			"On the settings page, choose Disconnect Shopify. The app uninstalls itself from the shop, which revokes its access, and deletes its token at once.",
			"The Shopify actions then fail with NOT_CONNECTED. Discount codes already created stay in Shopify.",
		},
		TestMode: []string{
			"A stand-in shop of this HubSpot account's own answers, whether or not a shop is connected: no discount code is created in your shop.",
			"The customer " + shopifytest.SandboxCustomerEmail + " exists in it, with 3 orders; any other email is not found. Created discount codes look like real ones, with made-up IDs.",
		},
	}
}
