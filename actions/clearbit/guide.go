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
		TestMode: []string{
			"A stand-in for Clearbit answers: no Clearbit key is used, and nothing counts against a Clearbit plan or the app's daily allowance.",
			"Any plausible email address or domain is found, with a made-up person or company that is the same every time for the same input; a free email provider's address (such as gmail.com) gives a person without a company.",
			"To see the other answers, use queued@\u2026 (Clearbit is still looking: the action waits and finishes a few minutes later), unknown@\u2026 (NOT_FOUND) or info@\u2026 (VALIDATION_FAILED).",
		},
	}
}
