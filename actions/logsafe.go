package actions

import (
	"strings"

	"hubspot-actions/actions/upstream"
)

// logErr is how an execution's error is logged: its text with every
// provider answer (an APIError's body, a ProviderTexter's words) and every
// message meant for the marketer (an Error's Message) withheld, since either may quote what the
// execution carried (a name, an email). Logs are not a store that privacy
// erasure reaches; the execution's history keeps those texts, erasable.
func logErr(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var withheld []string
	walkErr(err, func(e error) {
		switch e := e.(type) {
		case *upstream.APIError:
			withheld = append(withheld, e.Body)
		case *Error:
			withheld = append(withheld, e.Message)
		case ProviderTexter:
			withheld = append(withheld, e.ProviderText()...)
		}
	})
	for _, w := range withheld {
		if strings.TrimSpace(w) != "" {
			s = strings.ReplaceAll(s, w, "[withheld]")
		}
	}
	return s
}

// ProviderTexter is an error of a provider's client that quotes the
// provider's own words (its error message, a validation detail), which may
// quote what the request carried: logErr withholds them.
type ProviderTexter interface {
	error
	ProviderText() []string
}

// walkErr calls fn on err and everything it wraps.
func walkErr(err error, fn func(error)) {
	for err != nil {
		fn(err)
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walkErr(e, fn)
			}
			return
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return
		}
	}
}
