package clearbittest

import "hubspot-actions/actions/loopback"

// TB is the part of testing.TB that Start and the Assert helpers use;
// *testing.T and *testing.B satisfy it. It is declared here so that the
// service binary, which serves this fake in sandbox mode, does not link
// package testing.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Start serves a new fake on a loopback port until the test ends; the
// client's base URL is the returned URL.
func Start(t TB, opts Options) (*Server, string) {
	t.Helper()
	s := NewServer(opts)
	url := loopback.ServeTest(t, s)
	return s, url
}

// AssertCalls fails the test unless the fake received want lookups of
// input (an email or a domain).
func (s *Server) AssertCalls(t TB, input string, want int) {
	t.Helper()
	if got := s.Calls(input); got != want {
		t.Errorf("Clearbit lookups of %q = %d, want %d", input, got, want)
	}
}

// AssertKeyCalls fails the test unless the fake received want requests
// made with key.
func (s *Server) AssertKeyCalls(t TB, key string, want int) {
	t.Helper()
	if got := s.KeyCalls(key); got != want {
		t.Errorf("Clearbit requests with key %q = %d, want %d", key, got, want)
	}
}

// LastRequest returns the last request received, failing the test when
// there is none.
func (s *Server) LastRequest(t TB) Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatalf("Clearbit received no request")
	}
	return reqs[len(reqs)-1]
}
