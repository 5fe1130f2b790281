package actions

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
)

// Code is an error code from the one taxonomy every action shares. It is
// answered to HubSpot in the error_code output, where execution rules turn
// it into a workflow-history message, and marketers can branch on it.
type Code string

// The error taxonomy. Codes are a public contract: workflows branch on them.
const (
	// CodeValidation: an input is missing or wrong; the message names the field.
	CodeValidation Code = "VALIDATION_FAILED"
	// CodeNotConnected: the app or a provider is not connected for this portal.
	CodeNotConnected Code = "NOT_CONNECTED"
	// CodeNotFound: what the action looked up does not exist.
	CodeNotFound Code = "NOT_FOUND"
	// CodeRejected: the provider refused the request (bad key, plan, business rule).
	CodeRejected Code = "UPSTREAM_REJECTED"
	// CodeRateLimited: the provider kept rate limiting us until retries ran out.
	CodeRateLimited Code = "RATE_LIMITED"
	// CodeUnavailable: the provider could not be reached, or kept failing, until retries ran out.
	CodeUnavailable Code = "UPSTREAM_UNAVAILABLE"
	// CodeInternal: something went wrong on our side.
	CodeInternal Code = "INTERNAL_ERROR"
)

// Codes lists every code of the taxonomy, in the order execution rules are
// generated.
var Codes = []Code{CodeValidation, CodeNotConnected, CodeNotFound, CodeRejected, CodeRateLimited, CodeUnavailable, CodeInternal}

// Error is a failure the marketer should see: the execution finishes with
// FAIL_CONTINUE, error_code Code and error_message Message. Message must say
// in plain words what went wrong and what to do; it never holds secrets.
type Error struct {
	Code    Code
	Field   string // the input field at fault, for VALIDATION_FAILED
	Message string
	Err     error // internal cause, logged but never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Fail returns an *Error with the given code and message.
func Fail(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a VALIDATION_FAILED error about one input field. The
// message names the field: `amount: must be greater than 0`.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeValidation, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// With returns a copy of e that carries an internal cause.
func (e *Error) With(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// PendingError asks the runtime to run the action again later: the
// provider accepted the work but has no answer yet (Clearbit's 202, say).
// The execution answers BLOCK and River retries it after After.
type PendingError struct {
	After  time.Duration
	Reason string
}

func (e *PendingError) Error() string { return "pending: " + e.Reason }

// Pending returns a *PendingError.
func Pending(after time.Duration, reason string) error {
	return &PendingError{After: after, Reason: reason}
}

// Transient reports whether err is worth retrying: upstream.Transient
// (network errors, timeouts, 429 and 5xx answers), except that an *Error is
// never transient — an action that classified its failure for the marketer
// has decided it is final, whatever upstream answer it wraps.
func Transient(err error) bool {
	var ce *Error
	if errors.As(err, &ce) {
		return false
	}
	return upstream.Transient(err)
}

// rateLimited reports whether err is an upstream 429.
func rateLimited(err error) bool {
	var ae *upstream.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests
}

// publicError turns any error from an action into what the marketer sees.
// Errors that are not *Error are our fault or an unclassified upstream
// answer, so the message stays generic.
func publicError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, oauth.ErrUninstalled) {
		return &Error{Code: CodeNotConnected, Err: err,
			Message: "The app was uninstalled from this HubSpot account, so the action did not run. A HubSpot super admin can reinstall the app."}
	}
	if errors.Is(err, oauth.ErrNotConnected) {
		return &Error{Code: CodeNotConnected, Err: err,
			Message: "This HubSpot account's connection to the app has expired or was revoked. A HubSpot super admin must reinstall the app."}
	}
	var ae *upstream.APIError
	if errors.As(err, &ae) {
		if ae.Status == http.StatusTooManyRequests {
			return &Error{Code: CodeRateLimited, Err: err, Message: "The service kept rate limiting our requests; try again later."}
		}
		if ae.Status >= 500 {
			return &Error{Code: CodeUnavailable, Err: err, Message: "The service kept failing (HTTP " + strconv.Itoa(ae.Status) + "); try again later."}
		}
		return &Error{Code: CodeRejected, Err: err, Message: "The service refused the request (HTTP " + strconv.Itoa(ae.Status) + ")."}
	}
	if Transient(err) {
		return &Error{Code: CodeUnavailable, Err: err, Message: "The service could not be reached; try again later."}
	}
	return &Error{Code: CodeInternal, Err: err, Message: "An unexpected error occurred in the app."}
}

// oneLine flattens a message for use in a single output value.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
