package stripetest

import (
	"net/http/httptest"
	"testing"
)

// Start runs a fake on a local httptest server for the rest of the test
// and returns it with its base URL (for stripe.NewClient).
func Start(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	s := NewServer(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}
