package clearbit

import "hubspot-actions/actions"

// Guide is Clearbit's part of the public setup guide.
func (p *Provider) Guide() actions.ProviderGuide {
	return actions.ProviderGuide{
		Label:   "Clearbit",
		Summary: "The Clearbit actions look up a contact's email address or a company's domain in Clearbit. They use your Clearbit secret API key, or the app's default key when its operator set one up.",
		Connect: []string{
			"In your Clearbit dashboard, open the API page and copy your secret API key (it starts with sk_).",
			"On the app's settings page, paste it into Clearbit API key and choose Verify and save. The app checks the key with Clearbit before it saves it, stores it encrypted and shows only its last characters.",
		},
		Disconnect: []string{
			"On the settings page, choose Remove your Clearbit key. The key is deleted at once.",
			"The Clearbit actions then use the app's default key if there is one, and otherwise fail with NOT_CONNECTED.",
		},
	}
}
