package quickbookstest

import (
	"net/http/httptest"
	"testing"
)

// Fake is a Server running on a loopback httptest.Server.
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

// Start runs a fake for the length of a test.
func Start(t testing.TB, opts Options) *Fake {
	t.Helper()
	s := NewServer(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &Fake{Server: s, URL: ts.URL}
}
