package stripe

import (
	"errors"
	"net/http"
	"time"

	"hubspot-actions/actions"
)

// msgBadKey explains a 401. The KeyFunc does not say whether the key is the
// portal's own or the app's default, so the message names both places.
const msgBadKey = "Stripe did not accept the secret key in use for this HubSpot account. " +
	"A HubSpot admin should check the Stripe key in the app's settings " +
	"(the account's own key, or the app's default key when none was entered)."

// busyRetry is how soon to try again when Stripe is still working on an
// earlier request with the same Idempotency-Key.
const busyRetry = time.Second

// classify turns an error from the client into what the runtime should
// see. Transient failures (network, 429, 5xx) pass through unchanged for
// the runtime to retry; 409 (a request with the same Idempotency-Key is
// still running) is retried as pending; definite refusals become
// *actions.Error. fields maps Stripe parameter names to the action's input
// names, so a 400 about one of them is a VALIDATION_FAILED naming the
// input; doing says what we were doing, for messages ("create the coupon").
func classify(err error, fields map[string]string, doing string) error {
	var se *Error
	if !errors.As(err, &se) {
		return err
	}
	msg := clipMessage(se.Message)
	switch s := se.API.Status; {
	case s == http.StatusTooManyRequests || s >= 500:
		return err
	case s == http.StatusUnauthorized:
		return actions.Fail(actions.CodeRejected, "%s", msgBadKey).With(err)
	case s == http.StatusForbidden:
		return actions.Fail(actions.CodeRejected,
			"The Stripe key in use may not %s. Use a secret key, or a restricted key with write access to Coupons, Promotion codes and Customers.", doing).With(err)
	case s == http.StatusPaymentRequired:
		return actions.Fail(actions.CodeRejected, "Stripe declined to %s: %s", doing, msg).With(err)
	case s == http.StatusNotFound:
		return actions.Fail(actions.CodeNotFound, "Stripe could not find what was needed to %s: %s", doing, msg).With(err)
	case s == http.StatusConflict:
		return actions.Pending(busyRetry, "Stripe is still processing an earlier attempt to "+doing)
	case se.Type == "idempotency_error":
		return actions.Fail(actions.CodeInternal, "An earlier attempt of this execution asked Stripe to %s with different settings.", doing).With(err)
	case s == http.StatusBadRequest:
		if field, ok := fields[se.Param]; ok {
			return actions.Invalid(field, "Stripe refused it: %s", msg).With(err)
		}
		return actions.Fail(actions.CodeRejected, "Stripe refused to %s: %s", doing, msg).With(err)
	}
	return actions.Fail(actions.CodeRejected, "Stripe refused to %s (HTTP %d): %s", doing, se.API.Status, msg).With(err)
}

func clipMessage(s string) string {
	if s == "" {
		return "no reason given"
	}
	if r := []rune(s); len(r) > 300 {
		return string(r[:300]) + "…"
	}
	return s
}

// isStatus reports whether err is a Stripe answer with the given status.
func isStatus(err error, status int) bool { return Status(err) == status }

// replayedFailure reports whether err is a 5xx that Stripe replayed for an
// Idempotency-Key: an earlier attempt failed there, and the same key will
// keep answering the same failure.
func replayedFailure(err error) bool {
	var se *Error
	return errors.As(err, &se) && se.Replayed && se.API.Status >= 500
}

// rejected reports whether err is a 400 (any refusal of the parameters,
// including an idempotency_error), after which a lookup may show that an
// earlier run already created what we asked for.
func rejected(err error) bool { return isStatus(err, http.StatusBadRequest) }
