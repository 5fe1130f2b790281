package stripetest

import "hubspot-actions/actions/loopback"

// TB is the part of testing.TB that Start uses; *testing.T and *testing.B
// satisfy it. It is declared here so that the service binary, which serves
// this fake in sandbox mode, does not link package testing.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Start runs a fake on a loopback port for the rest of the test and
// returns it with its base URL (for stripe.NewClient).
func Start(t TB, opts Options) (*Server, string) {
	t.Helper()
	s := NewServer(opts)
	url := loopback.ServeTest(t, s)
	return s, url
}
