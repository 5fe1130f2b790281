package quickbookstest

import (
	"context"
	"net"
	"net/http"
	"time"
)

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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("quickbookstest: listen: %v", err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln) // http.ErrServerClosed once the test ends
	}()
	t.Cleanup(func() {
		// Like httptest.Server.Close: let requests in flight finish.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
		<-done
	})
	return &Fake{Server: s, URL: "http://" + ln.Addr().String()}
}
