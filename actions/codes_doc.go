package actions

import "slices"

// RuntimeCodes are the error codes the runtime may answer for any action,
// whatever its Run returns: an input that does not bind or validate
// (VALIDATION_FAILED), a HubSpot connection that is gone (NOT_CONNECTED),
// an upstream answer the action did not classify (UPSTREAM_REJECTED,
// RATE_LIMITED, UPSTREAM_UNAVAILABLE) and a failure of our own
// (INTERNAL_ERROR). Any other code an action answers must be declared in
// its Spec.Errors.
var RuntimeCodes = []Code{CodeValidation, CodeNotConnected, CodeRejected, CodeRateLimited, CodeUnavailable, CodeInternal}

// CodeMeaning is what an error code means for any action, in plain words.
func CodeMeaning(c Code) string { return codeMeanings[c] }

var codeMeanings = map[Code]string{
	CodeValidation:   "An input is missing or wrong; the message names the field.",
	CodeNotConnected: "The app must be reinstalled, or the service connected or given a key on the settings page.",
	CodeNotFound:     "What the action looked up does not exist.",
	CodeRejected:     "The service refused the request (key, plan, business rule).",
	CodeRateLimited:  "The service kept rate limiting the app until retries ran out.",
	CodeUnavailable:  "The service could not be reached, or kept failing, until retries ran out.",
	CodeInternal:     "Something went wrong in the app.",
}

// ErrorCase is one error code an action can answer and when.
type ErrorCase struct {
	Code Code
	When string
}

// Errors returns every error code the action can answer, in the order of
// Codes: the runtime's (RuntimeCodes) and those its spec declares, each
// with the action's own words when it gave some, else the code's meaning.
func (a *Action) Errors() []ErrorCase {
	var out []ErrorCase
	for _, c := range Codes {
		when, declared := a.errors[c]
		if !declared && !slices.Contains(RuntimeCodes, c) {
			continue
		}
		if !declared {
			when = codeMeanings[c]
		}
		out = append(out, ErrorCase{Code: c, When: when})
	}
	return out
}

// Returns reports whether the action can answer error code c (see Errors).
func (a *Action) Returns(c Code) bool {
	_, declared := a.errors[c]
	return declared || slices.Contains(RuntimeCodes, c)
}
