package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrNotConnected means a portal has no usable grant: it never installed the
// app, removed it, or its refresh token was rejected (invalid_grant) and an
// admin must reinstall. Errors that wrap it say which.
var ErrNotConnected = errors.New("oauth: not connected")

// APIError is an unexpected HTTP answer from an outbound API. Body holds the
// start of the response body; RetryAfter is the server's Retry-After, if any.
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
const MaxErrorBody = 2048

// NewAPIError builds an APIError from a response whose body has already been
// read (at most MaxErrorBody bytes of it).
func NewAPIError(resp *http.Response, body []byte, now time.Time) *APIError {
	b := strings.TrimSpace(string(body))
	if len(b) > MaxErrorBody {
		b = b[:MaxErrorBody]
	}
	return &APIError{Status: resp.StatusCode, Body: b, RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now)}
}

// ParseRetryAfter reads a Retry-After header value, in delay seconds or as an
// HTTP date. It returns 0 when the value is absent or unreadable.
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
