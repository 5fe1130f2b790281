package stripe

import "hubspot-actions/actions"

// The setup guide's words for when the Stripe actions answer each error
// code.
var (
	checkErrors = map[actions.Code]string{
		actions.CodeValidation:   "The discount code is empty or not a code Stripe could have issued.",
		actions.CodeNotConnected: "No Stripe key is set up: enter one on the settings page (or the app's operator sets a default key).",
		actions.CodeNotFound:     "Stripe could not find the code's coupon while reading it. (A code that does not exist is not an error: Code exists is false.)",
		actions.CodeRejected:     "Stripe refused the key (invalid, or a restricted key without read access to promotion codes) or the request.",
		actions.CodeRateLimited:  "Stripe kept rate limiting the app until retries ran out.",
		actions.CodeUnavailable:  "Stripe could not be reached, or kept failing, until retries ran out.",
	}
	createErrors = map[actions.Code]string{
		actions.CodeValidation:   "A discount setting is missing or contradicts another (type, percent or amount, currency, duration, expiry, prefix); the message names it.",
		actions.CodeNotConnected: "No Stripe key is set up: enter one on the settings page (or the app's operator sets a default key).",
		actions.CodeNotFound:     "Stripe could not find something the discount code needs.",
		actions.CodeRejected:     "Stripe refused the key (invalid, or a restricted key without write access to coupons and promotion codes) or the discount.",
		actions.CodeRateLimited:  "Stripe kept rate limiting the app until retries ran out; no code was created.",
		actions.CodeUnavailable:  "Stripe could not be reached, or kept failing, until retries ran out; no code was created.",
	}
)
