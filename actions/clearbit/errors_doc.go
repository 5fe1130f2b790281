package clearbit

import "hubspot-actions/actions"

// errorCases says when the Clearbit actions answer each error code, for
// the setup guide; what is the email address or domain looked up.
func errorCases(what string) map[actions.Code]string {
	return map[actions.Code]string{
		actions.CodeValidation:   "The " + what + " is empty (and the record has none), is not valid, or Clearbit cannot look it up.",
		actions.CodeNotConnected: "No Clearbit API key is set up: enter one on the settings page (or the app's operator sets a default key).",
		actions.CodeNotFound:     "Clearbit has no data for the " + what + ". Enriched is false.",
		actions.CodeRejected:     "Clearbit refused the key (invalid, or over its quota) or the request.",
		actions.CodeRateLimited:  "Clearbit kept rate limiting the app until retries ran out.",
		actions.CodeUnavailable:  "Clearbit could not be reached, or kept failing, until retries ran out.",
	}
}
