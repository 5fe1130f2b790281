// Package upstream describes what goes wrong when the app calls another
// system's HTTP API: the unexpected answer (APIError), when the server asked
// to be called again (Retry-After), and whether a failure is worth retrying
// (Transient). It imports only the standard library, so every client — the
// OAuth grants, the HubSpot client and each provider — can share it.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is an unexpected HTTP answer from an outbound API. Body holds the
// start of the response body (at most MaxErrorBody bytes); RetryAfter is the
// server's Retry-After, if any, or a wait the client chose itself (a local
// rate limit, say).
type APIError struct {
	Status     int
	Body       string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("http %d", e.Status)
	}
	return fmt.Sprintf("http %d: %s", e.Status, e.Body)
}

// MaxErrorBody is how much of an error response body an APIError keeps.
// Clients read error bodies through io.LimitReader(resp.Body, MaxErrorBody).
const MaxErrorBody = 2048

// NewAPIError builds an APIError from a response whose body has already been
// read (at most MaxErrorBody bytes of it). now is the time Retry-After dates
// are measured from.
func NewAPIError(resp *http.Response, body []byte, now time.Time) *APIError {
	b := strings.TrimSpace(string(body))
	if len(b) > MaxErrorBody {
		b = b[:MaxErrorBody]
	}
	return &APIError{Status: resp.StatusCode, Body: b, RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now)}
}

// ParseRetryAfter reads a Retry-After header value, in delay seconds
// (fractions allowed) or as an HTTP date. It returns 0 when the value is
// absent, unreadable or in the past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Transient reports whether err is worth retrying: an *APIError with status
// 429 or 5xx, a timeout or cancellation, or a network error. Any other
// *APIError is permanent, and so is nil.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// RetryAfter returns how long the upstream asked us to wait, if it did: the
// RetryAfter of the *APIError err wraps, when positive.
func RetryAfter(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}
