package clearbittest

import (
	"net/http/httptest"
	"testing"
)

// Start serves a new fake on a loopback httptest server until the test
// ends; the client's base URL is the returned URL.
func Start(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	s := NewServer(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// AssertCalls fails the test unless the fake received want lookups of
// input (an email or a domain).
func (s *Server) AssertCalls(t testing.TB, input string, want int) {
	t.Helper()
	if got := s.Calls(input); got != want {
		t.Errorf("Clearbit lookups of %q = %d, want %d", input, got, want)
	}
}

// AssertKeyCalls fails the test unless the fake received want requests
// made with key.
func (s *Server) AssertKeyCalls(t testing.TB, key string, want int) {
	t.Helper()
	if got := s.KeyCalls(key); got != want {
		t.Errorf("Clearbit requests with key %q = %d, want %d", key, got, want)
	}
}

// LastRequest returns the last request received, failing the test when
// there is none.
func (s *Server) LastRequest(t testing.TB) Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatalf("Clearbit received no request")
	}
	return reqs[len(reqs)-1]
}
