package quickbookstest

import "hubspot-actions/actions/loopback"

// Fake is a Server running on a loopback port.
type Fake struct {
	*Server
	URL string
}

// AuthorizeURL is the fake's authorize endpoint.
func (f *Fake) AuthorizeURL() string { return f.URL + AuthorizePath }

// TokenURL is the fake's token endpoint.
func (f *Fake) TokenURL() string { return f.URL + TokenPath }

// RevokeURL is the fake's revoke endpoint.
func (f *Fake) RevokeURL() string { return f.URL + RevokePath }

// APIBaseURL is the base URL of the fake's Accounting API.
func (f *Fake) APIBaseURL() string { return f.URL }

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
