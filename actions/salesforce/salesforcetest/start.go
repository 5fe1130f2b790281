package salesforcetest

import "hubspot-actions/actions/loopback"

// Fake is a Server running on a loopback port.
type Fake struct {
	*Server
	URL string
}

// LoginURL is the fake's login host (SALESFORCE_LOGIN_URL), which serves
// the OAuth endpoints; instance URLs point at the same host.
func (f *Fake) LoginURL() string { return f.URL }

// TB is the part of testing.TB that Start uses; *testing.T and *testing.B
// satisfy it. It is declared here so that the service binary, which serves
// this fake in sandbox mode, does not link package testing.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Start runs a fake on a loopback port for the length of a test.
func Start(t TB, opts Options) *Fake {
	t.Helper()
	s := NewServer(opts)
	url := loopback.ServeTest(t, s)
	return &Fake{Server: s, URL: url}
}
