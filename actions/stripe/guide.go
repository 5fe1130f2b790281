package stripe

import "hubspot-actions/actions"

// Guide is Stripe's part of the public setup guide.
func (p *Provider) Guide() actions.ProviderGuide {
	return actions.ProviderGuide{
		Label:   "Stripe",
		Summary: "The Stripe actions create and check promotion codes (discount codes) in your Stripe account. They use your Stripe secret key, or the app's default key when its operator set one up.",
		Connect: []string{
			"In the Stripe Dashboard, open Developers, then API keys, and copy a secret key (sk_) or a restricted key (rk_) with write access to Coupons, Promotion codes and Customers.",
			"On the app's settings page, paste it into Stripe API key and choose Verify and save. The app checks the key with Stripe before it saves it, stores it encrypted and shows only its last characters.",
		},
		Disconnect: []string{
			"On the settings page, choose Remove your Stripe key. The key is deleted at once; you can also roll the key in the Stripe Dashboard.",
			"The Stripe actions then use the app's default key if there is one, and otherwise fail with NOT_CONNECTED. Codes already created stay in Stripe.",
		},
		TestMode: []string{
			"A stand-in for Stripe answers: no Stripe key is used, and no code, coupon or customer is created in any Stripe account.",
			"Created codes look like real ones, with made-up IDs, and can be checked by the check action while test mode is on. The codes WELCOME10, TENOFF and EXPIRED20 exist for checking (EXPIRED20 has expired).",
			"A code prefix of RATELIMIT shows what happens when Stripe keeps limiting requests (RATE_LIMITED).",
		},
	}
}
